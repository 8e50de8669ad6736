//! TLS to the broker (`url = "mqtts://..."`): the rustls client configuration rumqttc
//! connects with, built from `ca_file` (else the system's trust store) and the optional
//! client certificate `cert_file` + `key_file`.
//!
//! The configuration is built here rather than by rumqttc (`TlsConfiguration::Simple`)
//! because rumqttc's builder needs a process-wide default crypto provider, which a plugin
//! must not install for the whole host: this one names the `ring` provider itself. Every
//! error names the key and the file, so the host's config check reports it at start.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::config::{read_private, Config};

/// The client configuration for `config`'s broker; `None` for plain `mqtt://`.
pub(crate) fn client_config(config: &Config) -> Result<Option<Arc<ClientConfig>>, String> {
    if !config.broker()?.tls {
        return Ok(None);
    }
    let roots = match &config.ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates("ca_file", path)? {
                roots.add(cert).map_err(|err| {
                    format!(
                        "[mqtt] ca_file: {}: not a CA certificate: {err}",
                        path.display()
                    )
                })?;
            }
            roots
        }
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("[mqtt] url: TLS cannot be set up: {err}"))?
        .with_root_certificates(roots);
    let client = match (&config.cert_file, &config.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = certificates("cert_file", cert_file)?;
            let key = private_key(key_file)?;
            builder.with_client_auth_cert(chain, key).map_err(|err| {
                format!(
                    "[mqtt] key_file: {} does not go with cert_file {}: {err}",
                    key_file.display(),
                    cert_file.display()
                )
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Some(Arc::new(client)))
}

/// Every certificate of a PEM file (`key` names it in errors); at least one.
fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let text =
        std::fs::read(path).map_err(|err| format!("[mqtt] {key}: cannot read {shown}: {err}"))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("[mqtt] {key}: {shown} is not PEM: {err}"))?;
    if certs.is_empty() {
        return Err(format!(
            "[mqtt] {key}: {shown} holds no certificate (expected -----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1), which others may not read.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let shown = path.display();
    let text = read_private("key_file", path)?;
    PrivateKeyDer::from_pem_slice(text.as_bytes())
        .map_err(|err| format!("[mqtt] key_file: {shown} holds no private key: {err}"))
}

/// The system's trust store (for a broker with a certificate from a public CA).
fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "[mqtt] ca_file: not set and the system's trust store has no certificate ({:?}); set ca_file to the CA of the broker's certificate",
            found.errors.first().map(ToString::to_string)
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(table: serde_json::Value) -> Config {
        Config::parse(table).unwrap()
    }

    #[test]
    fn plain_mqtt_has_no_tls() {
        let plain = config(json!({"url": "mqtt://a", "lab": "l"}));
        assert!(client_config(&plain).unwrap().is_none());
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "hello\n").unwrap();
        let err = client_config(&config(
            json!({"url": "mqtts://a", "lab": "l", "ca_file": not_pem}),
        ))
        .unwrap_err();
        assert!(
            err.contains("[mqtt] ca_file") && err.contains("no certificate"),
            "{err}"
        );
        let missing = dir.path().join("missing.pem");
        let err = client_config(&config(
            json!({"url": "mqtts://a", "lab": "l", "ca_file": missing}),
        ))
        .unwrap_err();
        assert!(
            err.contains("ca_file") && err.contains("missing.pem"),
            "{err}"
        );
    }
}

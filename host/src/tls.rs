//! TLS for the TCP front ends that carry it (native and HTTP, SPEC §10), and for the
//! clients that talk to them.
//!
//! The server side is [`ServerTls`]: the certificate chain and key from `[tls]`, loaded
//! at start (a bad file stops the start with a message naming it) and again on SIGHUP
//! ([`ServerTls::reload`]: new handshakes use the new certificate, connections already
//! open keep theirs, and a bad new file is refused with the old one kept). Every
//! accepted connection goes through [`ServerTls::accept`] on its own task, bounded by
//! the handshake time limit, so a client that never finishes its handshake (or speaks
//! plain text to a TLS port) costs one slot for at most that long and never delays
//! anyone else.
//!
//! The client side is [`client_config`]: the CAs a client trusts, from a PEM file or the
//! system's store.
//!
//! rustls with the `ring` provider: memory-safe, well kept, and it builds with the C
//! compiler alone (`aws-lc-rs` needs cmake on top).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// A server-side TLS connection.
pub type ServerStream = tokio_rustls::server::TlsStream<TcpStream>;

/// How long a client may take over its handshake when `[tls]` does not say.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider every config here is built with.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's certificate and key, reloadable while it runs.
pub struct ServerTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    handshake_timeout: Duration,
    /// What new handshakes use. Each handshake clones the `Arc`, so a reload never
    /// touches a handshake in progress or a connection already open.
    current: RwLock<Arc<ServerConfig>>,
}

impl ServerTls {
    /// Loads `cert_file` (PEM, the certificate first, then any intermediates) and
    /// `key_file` (PEM, PKCS#8, PKCS#1 or SEC1). The error names the file at fault.
    pub fn load(
        cert_file: &Path,
        key_file: &Path,
        handshake_timeout: Duration,
    ) -> Result<ServerTls, String> {
        let config = server_config(cert_file, key_file)?;
        Ok(ServerTls {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            handshake_timeout,
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads the files again; on success new handshakes use them. On failure the
    /// certificate in use is kept and the error says why.
    pub fn reload(&self) -> Result<(), String> {
        let config = server_config(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// The certificate file, for messages.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// The handshake on an accepted connection, within the time limit. A failure (a
    /// plain-text client, a client that does not trust the certificate, one too slow) is
    /// logged at debug level, with `front_end` and the peer, and gives `None`: the
    /// connection is then dropped.
    pub async fn accept(
        &self,
        stream: TcpStream,
        front_end: &str,
        peer: SocketAddr,
    ) -> Option<ServerStream> {
        let config = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let handshake = TlsAcceptor::from(config).accept(stream);
        match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(err)) => {
                tracing::debug!(%peer, "{front_end}: TLS handshake failed: {err}");
                None
            }
            Err(_) => {
                tracing::debug!(
                    %peer,
                    "{front_end}: TLS handshake not finished within {:?}; closing",
                    self.handshake_timeout
                );
                None
            }
        }
    }
}

fn server_config(cert_file: &Path, key_file: &Path) -> Result<ServerConfig, String> {
    let chain = certificates(cert_file)?;
    let pem = read(key_file, "key")?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|err| {
        format!(
            "{} holds no PEM private key (-----BEGIN PRIVATE KEY-----): {err}",
            key_file.display()
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS set-up failed: {err}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|err| {
            format!(
                "the key in {} does not fit the certificate in {}: {err}",
                key_file.display(),
                cert_file.display()
            )
        })?;
    // No TLS 1.3 session tickets: clients hold long connections, so resumption saves
    // little, and tickets are records sent unasked right after the handshake — a client
    // reading and writing one socket from two threads (Python's `ssl` in the client's
    // reader and caller threads) then processes them while its first request is being
    // written, which made that request's reply go missing now and then.
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// Every certificate in a PEM file (at least one).
fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(file, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{} is not a PEM certificate file: {err}", file.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            file.display()
        ));
    }
    Ok(chain)
}

fn read(file: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(file)
        .map_err(|err| format!("cannot read the {what} file {}: {err}", file.display()))
}

/// What a client trusts: the CAs in `ca_file` (PEM), or the system's.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(file) => {
            for certificate in certificates(file)? {
                roots.add(certificate).map_err(|err| {
                    format!("{}: not a usable CA certificate: {err}", file.display())
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            // Unreadable entries are skipped: one bad file must not hide the others.
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "no trusted CA certificates found on this system; give the server's CA with --ca-file"
                        .to_owned(),
                );
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS set-up failed: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS connection over `stream` to `host` (a DNS name or an IP address, checked
/// against the certificate).
pub async fn connect(
    config: Arc<ClientConfig>,
    host: &str,
    stream: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_owned()).map_err(|err| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("'{host}' is not a valid TLS server name: {err}"),
        )
    })?;
    TlsConnector::from(config).connect(name, stream).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("labsocket-tls-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn bad_files_are_named() {
        let dir = temp("bad");
        let cert = dir.join("server.crt");
        let key = dir.join("server.key");
        let err = ServerTls::load(&cert, &key, DEFAULT_HANDSHAKE_TIMEOUT)
            .err()
            .unwrap();
        assert!(
            err.contains("cannot read the certificate file") && err.contains("server.crt"),
            "{err}"
        );
        std::fs::write(&cert, "not a certificate\n").unwrap();
        let err = ServerTls::load(&cert, &key, DEFAULT_HANDSHAKE_TIMEOUT)
            .err()
            .unwrap();
        assert!(
            err.contains("no PEM certificate") && err.contains("server.crt"),
            "{err}"
        );
        let err = client_config(Some(&cert)).err().unwrap();
        assert!(err.contains("server.crt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

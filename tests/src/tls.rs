//! TLS for the tests: certificates made by the `openssl` commands of `docs/security.md`
//! (so the documented commands are the tested ones), a rustls client configuration, and
//! [`Relay`], a local plain-to-TLS relay through which every plain-TCP test client
//! ([`crate::RpcClient`], [`crate::http_get`], the hostile generators) reaches a TLS port
//! unchanged.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};

use crate::build::workspace_root;

/// The two `sh` blocks of `docs/security.md`'s `## TLS` section: the lab CA, then the
/// self-signed certificate.
fn documented_blocks() -> Vec<String> {
    let path = workspace_root().join("docs/security.md");
    let text = std::fs::read_to_string(&path).expect("docs/security.md is readable");
    let section = text
        .split("\n## ")
        .find(|section| section.starts_with("TLS\n"))
        .expect("docs/security.md has a ## TLS section");
    let blocks: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(blocks.len(), 2, "## TLS should have two sh blocks");
    blocks
}

/// Runs a documented block with `sh` in `dir`, for a server named `localhost` and
/// `127.0.0.1` (the block's own `NAME=`/`IP=` lines, for a real lab, are replaced).
fn run_sh(dir: &Path, block: &str) {
    let commands: Vec<&str> = block
        .lines()
        .filter(|line| !line.starts_with("NAME=") && !line.starts_with("IP="))
        .collect();
    let script = format!(
        "set -e\nNAME=localhost\nIP=127.0.0.1\n{}",
        commands.join("\n")
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("sh cannot run: {err}"));
    assert!(
        output.status.success(),
        "the documented openssl commands failed (is openssl installed? `apt-get install \
         openssl`):\n{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes `lab-ca.crt`/`lab-ca.key` and a `server.crt`/`server.key` it signed for
/// `localhost` and `127.0.0.1`, in `dir`, with the documented commands.
pub fn make_lab_ca(dir: &Path) {
    run_sh(dir, &documented_blocks()[0]);
}

/// Makes a self-signed `server.crt`/`server.key` for `localhost` and `127.0.0.1` in
/// `dir`, with the documented command.
pub fn make_self_signed(dir: &Path) {
    run_sh(dir, &documented_blocks()[1]);
}

/// The `[tls]` table for `server.crt`/`server.key` (relative: the server's config file
/// sits next to them when the test makes them in the server's folder).
pub fn tls_table(dir: &Path, handshake_timeout_secs: f64) -> String {
    format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\nhandshake_timeout_secs = {handshake_timeout_secs}\n",
        dir.join("server.crt"),
        dir.join("server.key")
    )
}

/// A rustls client that trusts the certificates in `ca_file`.
pub fn client_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).expect("CA file readable") {
        roots
            .add(certificate.expect("a PEM certificate"))
            .expect("a usable CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A TLS connection to `server` for `localhost`, on the caller's tokio runtime.
pub async fn connect(
    server: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(server).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost").expect("a server name");
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// A loopback port whose plain-TCP connections are carried over TLS to a server: each
/// accepted connection makes its own TLS connection (checked against the CA it was
/// given) and the bytes are copied both ways, half-closes included. A connection whose
/// handshake fails is closed without a byte. Stops when dropped.
pub struct Relay {
    pub address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Relay {
    pub fn start(server: SocketAddr, ca_file: &Path) -> Relay {
        let config = client_config(ca_file);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("relay binds");
        let address = listener.local_addr().expect("relay address");
        runtime.spawn(async move {
            while let Ok((mut plain, _)) = listener.accept().await {
                let config = config.clone();
                tokio::spawn(async move {
                    let _ = plain.set_nodelay(true);
                    if let Ok(mut tls) = connect(server, config).await {
                        let _ = tokio::io::copy_bidirectional(&mut plain, &mut tls).await;
                    }
                });
            }
        });
        Relay {
            address,
            _runtime: runtime,
        }
    }
}

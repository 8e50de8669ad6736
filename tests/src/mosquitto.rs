//! A real Mosquitto broker for the federation tests: its own config file in a temp folder,
//! a free loopback port, stopped (SIGKILL) by its PID, restartable on the same port.
//! [`Options`] give it a TLS listener (certificates from [`Pki`], made with the `openssl`
//! CLI) and a password file (`mosquitto_passwd`) with anonymous clients refused.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::TempDir;
use crate::WAIT;

/// The `mosquitto` binary: on PATH, else Debian's `/usr/sbin/mosquitto`.
pub fn mosquitto_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/mosquitto");
    if sbin.exists() {
        return sbin;
    }
    PathBuf::from("mosquitto")
}

/// How a broker is set up beyond a plain anonymous listener.
#[derive(Default, Clone)]
pub struct Options {
    /// Speak TLS only, with this broker certificate (`mqtts://`).
    pub tls: Option<BrokerTls>,
    /// Accept only these `(username, password)` (Mosquitto `password_file`,
    /// `allow_anonymous false`).
    pub users: Vec<(String, String)>,
}

/// The broker's side of TLS.
#[derive(Clone)]
pub struct BrokerTls {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Clients must present a certificate signed by `ca_file`.
    pub require_certificate: bool,
}

/// A running broker (killed when dropped).
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    options: Options,
}

impl Mosquitto {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with(Options::default())
    }

    /// Starts a broker set up as `options` say.
    pub fn start_with(options: Options) -> Mosquitto {
        let port = crate::free_port();
        let mut broker = Mosquitto {
            child: None,
            port,
            dir: TempDir::new("mosquitto"),
            options,
        };
        broker.restart();
        broker
    }

    /// `mqtt://127.0.0.1:<port>` (`mqtts://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "mqtts"
        } else {
            "mqtt"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's log (errors and warnings), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The running broker's process id (benchmarks read its CPU time), if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port, with no retained state (`persistence false`).
    /// `set_tcp_nodelay true`, as the user guide recommends for a lab: with Nagle's
    /// algorithm on the broker's side, a `batch` written right after a `pt` to a subscriber
    /// waited for that subscriber's delayed ACK, ~40 ms.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("mosquitto.conf");
        std::fs::write(&config, self.config_text()).expect("broker config can be written");
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log file");
        let deadline = Instant::now() + WAIT;
        // The port was just released by the previous broker: binding may need a moment.
        loop {
            let mut child = Command::new(mosquitto_binary())
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log.try_clone().expect("log handle"))
                .spawn()
                .expect("mosquitto can be started (apt-get install mosquitto)");
            loop {
                if TcpStream::connect_timeout(&self.address(), Duration::from_millis(200)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Some(status) = child.try_wait().expect("broker can be waited for") {
                    assert!(
                        Instant::now() < deadline,
                        "mosquitto exited ({status}); log:\n{}",
                        std::fs::read_to_string(self.dir.path().join("mosquitto.log"))
                            .unwrap_or_default()
                    );
                    break; // try again: the port may still be in TIME_WAIT use
                }
                assert!(
                    Instant::now() < deadline,
                    "mosquitto did not listen in time"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Mosquitto {
    /// The broker's config file for its options.
    fn config_text(&self) -> String {
        // set_tcp_nodelay: as the user guide recommends; without it a small message behind
        // another waits for a delayed ACK (a remote workspace write took 43 ms, not 4 ms).
        let mut text = format!(
            "set_tcp_nodelay true\nlistener {} 127.0.0.1\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n",
            self.port
        );
        if let Some(tls) = &self.options.tls {
            text.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {}\n",
                tls.ca_file.display(),
                tls.cert_file.display(),
                tls.key_file.display(),
                tls.require_certificate
            ));
        }
        if self.options.users.is_empty() {
            text.push_str("allow_anonymous true\n");
        } else {
            let passwords = self.dir.path().join("passwords");
            let _ = std::fs::remove_file(&passwords);
            for (i, (user, password)) in self.options.users.iter().enumerate() {
                let mut command = Command::new("mosquitto_passwd");
                if i == 0 {
                    command.arg("-c");
                }
                run(command.arg("-b").arg(&passwords).arg(user).arg(password));
            }
            text.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                passwords.display()
            ));
        }
        text
    }
}

/// A throw-away lab PKI made with the `openssl` CLI: a CA, a broker certificate for
/// `127.0.0.1`/`localhost` signed by it, a client certificate signed by it, and an
/// unrelated second CA (the "wrong CA" of a misconfigured host). Keys are P-256.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new("pki"),
        };
        pki.self_signed_ca("ca");
        pki.self_signed_ca("other-ca");
        pki.signed(
            "server",
            "localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
        );
        pki.signed("client", "pc1", "extendedKeyUsage=clientAuth");
        // The broker's key must be readable: Mosquitto started as root reads it after
        // switching to its own user (openssl writes keys with mode 600).
        pki.set_mode("server.key", 0o644);
        pki
    }

    /// `<name>.crt` or `<name>.key` (`name`: ca, other-ca, server, client).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The broker's TLS setup: the server certificate and the CA.
    pub fn broker(&self, require_certificate: bool) -> BrokerTls {
        BrokerTls {
            ca_file: self.file("ca.crt"),
            cert_file: self.file("server.crt"),
            key_file: self.file("server.key"),
            require_certificate,
        }
    }

    fn self_signed_ca(&self, name: &str) {
        run(Command::new("openssl")
            .current_dir(self.dir.path())
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "30", "-subj"])
            .arg(format!("/CN=labsocket test {name}"))
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(format!("{name}.key"))
            .arg("-out")
            .arg(format!("{name}.crt")));
    }

    fn signed(&self, name: &str, common_name: &str, extensions: &str) {
        let ext = self.dir.path().join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{extensions}\n"
            ),
        )
        .expect("extensions file");
        run(Command::new("openssl")
            .current_dir(self.dir.path())
            .args([
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ])
            .arg("-subj")
            .arg(format!("/CN={common_name}"))
            .arg("-keyout")
            .arg(format!("{name}.key"))
            .arg("-out")
            .arg(format!("{name}.csr")));
        run(Command::new("openssl")
            .current_dir(self.dir.path())
            .args([
                "x509", "-req", "-days", "30", "-CA", "ca.crt", "-CAkey", "ca.key",
            ])
            .args(["-CAcreateserial", "-in"])
            .arg(format!("{name}.csr"))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(format!("{name}.crt")));
    }

    fn set_mode(&self, name: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.file(name), std::fs::Permissions::from_mode(mode))
            .expect("key mode");
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

/// Runs a setup tool, failing with its output when it fails.
fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|err| {
        panic!("{command:?} cannot be run ({err}); install openssl and mosquitto-clients")
    });
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

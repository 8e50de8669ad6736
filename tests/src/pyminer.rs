//! A raw PyMiner client for tests: it sends exact bytes and reads exact frames, the way
//! PyMiner's G1 and G2 clients do, so tests can compare reply bytes.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::WAIT;

/// The frame terminator.
pub const PMEND: &[u8] = b"PMEND";

/// One PyMiner connection.
pub struct PmConnection {
    stream: TcpStream,
    /// Bytes received but not yet returned.
    buffer: Vec<u8>,
}

impl PmConnection {
    /// Connects without sending anything.
    pub fn connect(address: SocketAddr) -> PmConnection {
        let stream = TcpStream::connect(address).expect("server accepts PyMiner connections");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        PmConnection {
            stream,
            buffer: Vec::new(),
        }
    }

    /// A G1 long connection (`long_conn`; G1 answers nothing).
    pub fn g1_long(address: SocketAddr) -> PmConnection {
        let mut connection = Self::connect(address);
        connection.send(b"long_conn");
        connection
    }

    /// A G2 long connection as pmgwidgets' `GeneralClient` opens it; returns the
    /// connection and the server's reply.
    pub fn g2_long(address: SocketAddr, name: &str) -> (PmConnection, Value) {
        let mut connection = Self::connect(address);
        let handshake = serde_json::json!({
            "method": "start_long_connection", "name": name, "params": [], "id": 0
        });
        connection.send_frame(handshake.to_string().as_bytes());
        let reply = connection.read_json();
        (connection, reply)
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Writes `payload` + `PMEND`.
    pub fn send_frame(&mut self, payload: &[u8]) {
        let mut frame = payload.to_vec();
        frame.extend_from_slice(PMEND);
        self.send(&frame);
    }

    /// Reads exactly `n` bytes (handshake replies have no terminator).
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() < n {
            assert!(
                self.fill(),
                "server closed the connection after {:?}",
                self.buffer
            );
        }
        self.buffer.drain(..n).collect()
    }

    /// Reads the next frame, without its terminator; `None` at EOF.
    pub fn read_frame(&mut self) -> Option<Vec<u8>> {
        // Only bytes that arrived since the last search are new (a terminator may
        // straddle the boundary): big frames are searched once, not once per read.
        let mut searched = 0usize;
        loop {
            let from = searched.saturating_sub(PMEND.len() - 1);
            if let Some(at) = find(&self.buffer[from..], PMEND) {
                let at = from + at;
                let frame = self.buffer[..at].to_vec();
                self.buffer.drain(..at + PMEND.len());
                return Some(frame);
            }
            searched = self.buffer.len();
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads the next frame as text, panicking at EOF.
    pub fn read_text(&mut self) -> String {
        let frame = self.read_frame().expect("server closed the connection");
        String::from_utf8(frame).expect("frames are UTF-8")
    }

    /// Reads the next frame as JSON.
    pub fn read_json(&mut self) -> Value {
        let text = self.read_text();
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
    }

    /// The next frame that is not a heartbeat.
    pub fn read_text_skipping_heartbeats(&mut self) -> String {
        loop {
            let text = self.read_text();
            if text != HEARTBEAT {
                return text;
            }
        }
    }

    /// Reads until the server closes the connection; returns what came before.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buffer)
    }

    /// Whether the server closed the connection, reading for at most `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 65536];
            let read = self.stream.read(&mut chunk);
            self.stream.set_read_timeout(Some(WAIT)).unwrap();
            match read {
                Ok(0) => return true,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }

    /// Closes both directions (a client going away).
    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Closes the sending direction only.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Sets how long reads wait.
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    /// Reads once more into the buffer; false at EOF. Panics after the read timeout.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(err) => panic!(
                "no bytes from the server: {err}; have {:?}",
                String::from_utf8_lossy(&self.buffer)
            ),
        }
    }
}

/// The heartbeat frame (without its terminator).
pub const HEARTBEAT: &str = r#"{"name": "broadcast", "message": "Are you alive?"}"#;

/// One G1 request as PyMiner's `BaseClient` makes it: `request_data`, the raw
/// `conn_established`, the request frame, the reply frame. Returns the reply's bytes.
pub fn g1_request(address: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut connection = PmConnection::connect(address);
    connection.send(b"request_data");
    assert_eq!(connection.read_exact(16), b"conn_established");
    connection.send_frame(request);
    connection.read_frame().expect("a reply frame")
}

/// A G1 request `{"method", "params", "jsonrpc", "id"}`; the reply as text.
pub fn g1_call_text(address: SocketAddr, method: &str, params: Value) -> String {
    let request =
        serde_json::json!({"method": method, "params": params, "jsonrpc": "2.0", "id": 0});
    String::from_utf8(g1_request(address, request.to_string().as_bytes())).expect("UTF-8 reply")
}

/// A G1 request; the reply as JSON.
pub fn g1_call(address: SocketAddr, method: &str, params: Value) -> Value {
    let text = g1_call_text(address, method, params);
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// One G2 request as pmgwidgets 0.9's `BaseClient` makes it: its JSON template as the
/// handshake, then the request frame. Returns (handshake reply, reply).
pub fn g2_call(address: SocketAddr, method: &str, params: Value) -> (Value, Value) {
    let mut connection = PmConnection::connect(address);
    let template = serde_json::json!({
        "timestamp": 1.5, "name": "Anonymous BaseClient", "contents": "", "method": "request_data"
    });
    connection.send(template.to_string().as_bytes());
    let greeting = connection.read_json();
    let request = serde_json::json!({
        "timestamp": 1.5, "name": "Anonymous BaseClient", "contents": "", "method": method, "params": params
    });
    connection.send_frame(request.to_string().as_bytes());
    (greeting, connection.read_json())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

//! A blocking native-protocol client for tests: it sends exact bytes and reads lines.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::WAIT;

/// One native-protocol connection.
pub struct RpcClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: i64,
    /// Lines that were read while looking for something else, oldest first.
    unread: std::collections::VecDeque<String>,
}

impl RpcClient {
    pub fn connect(address: SocketAddr) -> RpcClient {
        let stream = TcpStream::connect(address).expect("server accepts connections");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        RpcClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            next_id: 1,
            unread: Default::default(),
        }
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Reads the next line (without `\n`), panicking after [`WAIT`]. `None` at EOF.
    pub fn read_line(&mut self) -> Option<String> {
        if let Some(line) = self.unread.pop_front() {
            return Some(line);
        }
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
            Err(err) => panic!("no line from the server within {WAIT:?}: {err}"),
        }
    }

    /// Reads exactly `count` raw bytes (a binary reply's bytes after its line).
    pub fn read_bytes(&mut self, count: usize) -> Vec<u8> {
        use std::io::Read;
        let mut bytes = vec![0; count];
        self.reader
            .read_exact(&mut bytes)
            .unwrap_or_else(|err| panic!("{count} raw bytes not read within {WAIT:?}: {err}"));
        bytes
    }

    /// Reads the next line as JSON.
    pub fn read_json(&mut self) -> Value {
        let line = self.read_line().expect("server closed the connection");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
    }

    /// Sends a request and returns the whole reply object for its id (notifications that
    /// arrive first are kept for [`RpcClient::next_notification`]).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(format!("{request}\n").as_bytes());
        self.reply_for(&json!(id))
    }

    /// Reads until the reply with `id` arrives (other lines are kept for later reads).
    pub fn reply_for(&mut self, id: &Value) -> Value {
        if let Some(position) = self.unread.iter().position(|line| is_reply(line, id)) {
            let line = self.unread.remove(position).unwrap();
            return serde_json::from_str(&line).unwrap();
        }
        loop {
            let line = self.reader_line();
            if is_reply(&line, id) {
                return serde_json::from_str(&line).unwrap();
            }
            self.unread.push_back(line);
        }
    }

    /// Calls `method` and returns its `result`, panicking on an error reply.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let reply = self.request(method, params);
        match reply.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {reply}"),
        }
    }

    /// Calls `method` and returns its `error` object, panicking on success.
    pub fn call_err(&mut self, method: &str, params: Value) -> Value {
        let reply = self.request(method, params);
        match reply.get("error") {
            Some(error) => error.clone(),
            None => panic!("{method} unexpectedly succeeded: {reply}"),
        }
    }

    /// The next notification with `method` (e.g. `event`, `heartbeat`) within `timeout`,
    /// skipping others.
    pub fn next_notification(&mut self, method: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(position) = self
                .unread
                .iter()
                .position(|line| is_notification(line, method))
            {
                let line = self.unread.remove(position).unwrap();
                return serde_json::from_str(&line).unwrap();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no '{method}' notification within {timeout:?}"
            );
            self.writer.set_read_timeout(Some(left)).unwrap();
            let mut line = String::new();
            let read = self.reader.read_line(&mut line);
            self.writer.set_read_timeout(Some(WAIT)).unwrap();
            match read {
                Ok(0) => panic!("server closed the connection while waiting for '{method}'"),
                Ok(_) => self
                    .unread
                    .push_back(line.trim_end_matches('\n').to_owned()),
                Err(err) => panic!("no '{method}' notification within {timeout:?}: {err}"),
            }
        }
    }

    fn reader_line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("server closed the connection"),
            Ok(_) => line.trim_end_matches('\n').to_owned(),
            Err(err) => panic!("no reply within {WAIT:?}: {err}"),
        }
    }
}

fn is_reply(line: &str, id: &Value) -> bool {
    serde_json::from_str::<Value>(line)
        .map(|message| message.get("id") == Some(id) && message.get("method").is_none())
        .unwrap_or(false)
}

fn is_notification(line: &str, method: &str) -> bool {
    serde_json::from_str::<Value>(line)
        .map(|message| message.get("method").and_then(Value::as_str) == Some(method))
        .unwrap_or(false)
}

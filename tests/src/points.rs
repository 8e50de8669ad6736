//! Setting many points fast over the native protocol, for load tests.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::WAIT;

/// This machine's clock as a Unix time (what the server stamps points with).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A native connection that pipelines `set_point`s; replies are read and dropped by a
/// thread so the server is never held up by us.
pub struct PointSetter {
    stream: TcpStream,
    next_id: u64,
    drained: thread::JoinHandle<u64>,
}

impl PointSetter {
    pub fn connect(native: SocketAddr) -> PointSetter {
        let stream = TcpStream::connect(native).unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = stream.try_clone().unwrap();
        reader.set_read_timeout(Some(WAIT)).unwrap();
        let drained = thread::spawn(move || {
            let mut replies = 0;
            for line in BufReader::new(reader).lines() {
                match line {
                    Ok(line) => {
                        assert!(line.contains("\"result\":true"), "{line}");
                        replies += 1;
                    }
                    Err(_) => break,
                }
            }
            replies
        });
        PointSetter {
            stream,
            next_id: 1,
            drained,
        }
    }

    /// Sends one `set_point` per `(codename, y_json)`, all with x = now, in one write.
    pub fn set_all(&mut self, points: impl Iterator<Item = (String, String)>) {
        let x = now();
        let mut batch = String::new();
        for (codename, y) in points {
            batch.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"set_point\",\"params\":[\"{codename}\",{x},{y}]}}\n",
                self.next_id
            ));
            self.next_id += 1;
        }
        self.stream.write_all(batch.as_bytes()).unwrap();
    }

    /// Closes the connection and returns how many replies came back.
    pub fn finish(self) -> u64 {
        self.stream.shutdown(std::net::Shutdown::Write).unwrap();
        self.drained.join().unwrap()
    }
}

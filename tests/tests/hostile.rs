//! Hostile clients at every front end at once: over a million random, truncated, oversized
//! and malformed lines, frames, handshakes, datagrams, HTTP requests and WebSocket
//! messages. Meanwhile a well-behaved client is served every reply, and afterwards the
//! server is alive, its memory is bounded and the stored state (points, workspace,
//! settings, push and live state) is exactly what it was.
//!
//! The generators never send a complete valid write: writes only appear truncated (a
//! strict prefix of a JSON object is never valid JSON) or with values the server refuses,
//! and mutations of read requests only insert or change punctuation, which cannot turn a
//! read into a write. So any change of the stored state is a server bug.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use labsocket_e2e::pyminer::{g1_call, g1_call_text};
use labsocket_e2e::{RpcClient, Server, UdpClient};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[native]
heartbeat_secs = 0
[pyminer]
heartbeat_secs = 0
[http]
enabled = true
[live_server]
enabled = true
[limits]
max_line_bytes = 16384
max_frame_bytes = 16384
max_datagram = 2048

[[pull_socket]]
name = "hostile pull"
port = 0
codenames = ["a", "b"]

[[push_socket]]
name = "hostile push"
port = 0
"#;

/// Messages per front end; their sum is asserted to be at least a million.
const NATIVE_LINES: u64 = 420_000;
const PYMINER_FRAMES: u64 = 200_000;
const PYMINER_HANDSHAKES: u64 = 2_000;
const PULL_DATAGRAMS: u64 = 180_000;
const PUSH_DATAGRAMS: u64 = 140_000;
const LIVE_DATAGRAMS: u64 = 60_000;
const HTTP_REQUESTS: u64 = 2_000;
const WS_MESSAGES: u64 = 2_000;

/// Requests that only read. Mutations of these stay reads.
const READS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    r#"{"jsonrpc":"2.0","id":"x","method":"echo","params":[1,2.5,"é",null,true,{"k":[NaN]}]}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"get_point","params":["a"]}"#,
    r#"{"jsonrpc":"2.0","id":4,"method":"workspace.list","params":{}}"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"workspace.get","params":{"name":"v1"}}"#,
    r#"{"jsonrpc":"2.0","id":6,"method":"settings.get","params":{}}"#,
    r#"{"jsonrpc":"2.0","id":7,"method":"no.such.method","params":[]}"#,
    r#"[{"jsonrpc":"2.0","id":8,"method":"ping"},{"jsonrpc":"2.0","id":9,"method":"echo","params":{"a":1}}]"#,
];

/// Requests that write: only ever sent truncated.
const WRITES: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"set_point_now","params":["a",5]}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"set_point","params":{"codename":"zz","x":1,"y":2}}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"workspace.set","params":{"name":"evil","value":[1,2]}}"#,
    r#"{"jsonrpc":"2.0","id":4,"method":"workspace.delete","params":{"name":"v1"}}"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"settings.set","params":{"name":"locale","value":"xx"}}"#,
];

/// PyMiner requests that only read (G1 shapes).
const PM_READS: &[&str] = &[
    r#"{"method": "read_p", "params": ["v1"]}"#,
    r#"{"method": "get_all_public_variable_names", "params": []}"#,
    r#"{"method": "get_settings", "params": []}"#,
    r#"{"method": "get_all_var_names_of_type", "params": ["array"]}"#,
    r#"{"method": "no_such_method", "params": [1, 2]}"#,
];

/// PyMiner writes the server refuses (bad pickles, bad names): complete but storing
/// nothing, and truncations of valid writes.
const PM_REFUSED_WRITES: &[&str] = &[
    r#"{"method": "write_p", "params": ["x", "gAVOLg=="]}"#,
    r#"{"method": "write_p", "params": ["x", "%%%"]}"#,
    r#"{"method": "write_p", "params": ["1bad", "gASVBQAAAAAAAABLKi4="]}"#,
    r#"{"method": "write_var_dic", "params": ["gAVOLg=="]}"#,
    r#"{"method": "delete_variable", "params": ["no_such_variable"]}"#,
    r#"{"method": "set_settings_param", "params": ["no_such_setting", 1]}"#,
];
const PM_WRITES: &[&str] = &[
    r#"{"method": "write_p", "params": ["evil", "gASVBQAAAAAAAABLKi4="]}"#,
    r#"{"method": "delete_variable", "params": ["v1"]}"#,
    r#"{"method": "set_settings_param", "params": ["locale", "xx"]}"#,
];

/// Random, truncated, oversized and malformed messages.
struct Hostile {
    rng: fastrand::Rng,
}

impl Hostile {
    fn new(seed: u64) -> Hostile {
        Hostile {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.usize(..from.len())]
    }

    fn random_bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.rng.usize(..=max);
        (0..len).map(|_| self.rng.u8(..)).collect()
    }

    /// A strict prefix of `text` (never the whole, so never valid JSON).
    fn truncated(&mut self, text: &str) -> Vec<u8> {
        text.as_bytes()[..self.rng.usize(1..text.len())].to_vec()
    }

    /// `text` with punctuation inserted, a byte replaced by punctuation, or a byte cut.
    fn mutated(&mut self, text: &str) -> Vec<u8> {
        const PUNCTUATION: &[u8] = b"{}[]\",:\\ 0-.eE\t";
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..self.rng.usize(1..4) {
            let at = self.rng.usize(..bytes.len());
            let punctuation = PUNCTUATION[self.rng.usize(..PUNCTUATION.len())];
            match self.rng.u8(..3) {
                0 => bytes.insert(at, punctuation),
                1 => bytes[at] = punctuation,
                _ => {
                    bytes.remove(at);
                }
            }
        }
        bytes
    }

    /// `text` with bytes other than brackets, quotes and backslashes replaced by
    /// punctuation: malformed, but its brackets still balance (a PyMiner frame with
    /// unbalanced JSON would swallow the frames after it).
    fn mutated_in_place(&mut self, text: &str) -> Vec<u8> {
        const PUNCTUATION: &[u8] = b",:0-.eE \t";
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..self.rng.usize(1..4) {
            let at = self.rng.usize(..bytes.len());
            if !b"{}[]\"\\".contains(&bytes[at]) {
                bytes[at] = PUNCTUATION[self.rng.usize(..PUNCTUATION.len())];
            }
        }
        bytes
    }

    fn deep_nesting(&mut self) -> Vec<u8> {
        let depth = self.rng.usize(513..3000);
        let (open, close) = if self.rng.bool() {
            ("[", "]")
        } else {
            ("{\"a\":", "}")
        };
        let mut text = open.repeat(depth);
        if self.rng.bool() {
            text.push('1');
            text.push_str(&close.repeat(depth));
        }
        text.into_bytes()
    }

    fn invalid_utf8(&mut self) -> Vec<u8> {
        let mut bytes = br#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[""#.to_vec();
        let bad: &[&[u8]] = &[
            b"\xff",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xe2\x82",
        ];
        bytes.extend_from_slice(bad[self.rng.usize(..bad.len())]);
        bytes.extend_from_slice(br#""]}"#);
        bytes
    }

    fn huge_numbers(&mut self) -> Vec<u8> {
        let digits = "9".repeat(self.rng.usize(20..5000));
        let number = match self.rng.u8(..4) {
            0 => format!("1e{digits}"),
            1 => format!("-{digits}"),
            2 => format!("{digits}.{digits}"),
            _ => "1e999999".to_owned(),
        };
        let text = if self.rng.bool() {
            format!(r#"{{"jsonrpc":"2.0","id":{number},"method":"ping"}}"#)
        } else {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"echo","params":[{number}]}}"#)
        };
        text.into_bytes()
    }

    /// A request line body (no newline) for the native protocol, within the line limit.
    fn native_line(&mut self) -> Vec<u8> {
        // Percentages; the costly kinds (deep, huge) are rarer so a million fit in a
        // test run.
        let mut line = match self.rng.u8(..100) {
            0..=29 => self.random_bytes(300),
            30..=44 => {
                let text = self.pick(WRITES);
                self.truncated(text)
            }
            45..=59 => {
                let text = self.pick(READS);
                self.truncated(text)
            }
            60..=79 => {
                let text = self.pick(READS);
                self.mutated(text)
            }
            80..=85 => self.invalid_utf8(),
            86..=90 => {
                br#"[1,{"jsonrpc":"2.0"},[],"x",{"jsonrpc":"2.0","id":{},"method":1}]"#.to_vec()
            }
            91..=95 => {
                br#"{"jsonrpc":"2.0","method":"no.such.notification","params":[1]}"#.to_vec()
            }
            96..=97 => self.deep_nesting(),
            _ => self.huge_numbers(),
        };
        line.retain(|byte| *byte != b'\n');
        line.truncate(16_000);
        line
    }

    /// A PyMiner frame body (no `PMEND` inside), within the frame limit.
    fn pyminer_frame(&mut self) -> Vec<u8> {
        // Percentages, as for native lines.
        let mut frame = match self.rng.u8(..100) {
            0..=39 => {
                // Random bytes that do not start a JSON value.
                let mut bytes = self.random_bytes(300);
                bytes.retain(|b| *b != b'{' && *b != b'[');
                bytes
            }
            40..=49 => self.pick(PM_REFUSED_WRITES).as_bytes().to_vec(),
            50..=59 => self.pick(PM_READS).as_bytes().to_vec(),
            60..=69 => {
                let text = self.pick(PM_READS);
                self.mutated_in_place(text)
            }
            70..=71 => {
                // Balanced deep nesting, so the frame still ends at its terminator.
                let depth = self.rng.usize(513..2000);
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
            }
            72..=79 => br#"{"method": "read_p", "params": ["\xff\xfe"]}"#.to_vec(),
            80..=81 => format!(
                r#"{{"method": "read_p", "params": [{}]}}"#,
                "9".repeat(5000)
            )
            .into_bytes(),
            82..=89 => b"  \n ".to_vec(),
            _ => br#"["method", "read_p"]"#.to_vec(),
        };
        while let Some(at) = frame.windows(5).position(|w| w == b"PMEND") {
            frame.remove(at);
        }
        // Cutting would unbalance the JSON: a frame must fit as it is.
        assert!(frame.len() < 16_000);
        frame
    }

    /// A frame that ends a connection: unbalanced JSON (a truncated request) would
    /// swallow the frames after it until the frame limit, and an oversized one is refused
    /// with the connection closed.
    fn last_pyminer_frame(&mut self) -> Vec<u8> {
        match self.rng.u8(..3) {
            0 => {
                let text = self.pick(PM_WRITES);
                self.truncated(text)
            }
            1 => {
                let text = self.pick(PM_READS);
                self.truncated(text)
            }
            _ => vec![b'y'; 20_000], // over max_frame_bytes
        }
    }

    fn pull_datagram(&mut self) -> Vec<u8> {
        match self.rng.u8(..7) {
            0 => self.random_bytes(200),
            1 => self.truncated("codenames_json"),
            2 => b"a#raw#json".to_vec(),
            3 => b"b#xml".to_vec(),
            4 => vec![b'r'; 3000], // over max_datagram
            5 => "raw_wn".repeat(self.rng.usize(1..300)).into_bytes(),
            _ => self.mutated("json_wn"),
        }
    }

    /// Never a valid `json_wn#`/`raw_wn#` write.
    fn push_datagram(&mut self) -> Vec<u8> {
        let mut datagram = match self.rng.u8(..10) {
            0 => {
                let mut bytes = self.random_bytes(200);
                if bytes.starts_with(b"json_wn#") || bytes.starts_with(b"raw_wn#") {
                    bytes.clear();
                }
                bytes
            }
            1 => [
                b"json_wn#".as_slice(),
                &self.truncated(r#"{"a": 1, "b": [2.5, "x"]}"#),
            ]
            .concat(),
            2 => b"json_wn#[1, 2, 3]".to_vec(),
            3 => [b"json_wn#".as_slice(), &self.deep_nesting()].concat(),
            4 => b"raw_wn#a:complex:1j".to_vec(),
            5 => b"raw_wn#a:int:1x,2;b:float:1.5".to_vec(),
            6 => b"raw_wn#a:bool:maybe".to_vec(),
            7 => b"raw_wn#only:two".to_vec(),
            8 => [b"json_wn#".as_slice(), &vec![b' '; 3000]].concat(), // over max_datagram
            _ => b"json_wn#{\"a\"#: 1}".to_vec(),
        };
        datagram.truncate(3000);
        datagram
    }

    /// Never a valid LiveSocket update.
    fn live_datagram(&mut self) -> Vec<u8> {
        match self.rng.u8(..8) {
            0 => self.random_bytes(300),
            1 => self.truncated(r#"{"host": "h", "data": {"a": [1.0, 2.5]}}"#),
            2 => br#"{"host": 1, "data": {}}"#.to_vec(),
            3 => br#"{"host": "h", "data": [1, 2]}"#.to_vec(),
            4 => "[".repeat(self.rng.usize(513..1500)).into_bytes(), // nesting too deep
            5 => br#"{"host": "h\xff", "data": {"a": [1, 2]}"#.to_vec(),
            6 => vec![b'{'; 3000], // over max_datagram
            _ => format!("[{}]", "9".repeat(5000)).into_bytes(),
        }
    }

    fn pyminer_handshake(&mut self) -> Vec<u8> {
        match self.rng.u8(..6) {
            0 => self.random_bytes(200),
            1 => self.truncated("long_connPMEND"),
            2 => self.truncated("request_data"),
            3 => br#"{"method": "start_long_connection", "name": null}PMEND"#.to_vec(),
            4 => self.truncated(r#"{"method": "start_long_connection", "name": "x"}"#),
            _ => self.deep_nesting(),
        }
    }

    fn http_request(&mut self) -> Vec<u8> {
        match self.rng.u8(..8) {
            0 => self.random_bytes(500),
            1 => b"GET /api/points HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ".iter().copied()
                .chain(std::iter::repeat_n(b'a', 200_000))
                .chain(b"\r\n\r\n".iter().copied())
                .collect(),
            2 => b"POST /api/points HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\nxx".to_vec(),
            3 => b"GET /assets/../../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            4 => b"GET /\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            5 => b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
            6 => self.truncated("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
            _ => b"BREW /pot HTTP/9.9\r\n\r\n".to_vec(),
        }
    }
}

/// What a hostile worker did.
#[derive(Default, Clone, Copy, Debug)]
struct Sent {
    messages: u64,
    replies: u64,
}

fn read_timeout(stream: &TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
}

/// Counts `marker`s the server sends until it closes the connection.
fn count_replies(mut stream: TcpStream, marker: &'static [u8]) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 256 * 1024];
        let mut tail: Vec<u8> = Vec::new();
        let mut count = 0;
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buffer[..n]);
            let mut last_end = 0;
            let mut from = 0;
            while let Some(at) = tail[from..]
                .windows(marker.len())
                .position(|window| window == marker)
            {
                count += 1;
                from += at + marker.len();
                last_end = from;
            }
            tail.drain(..last_end.max(tail.len().saturating_sub(marker.len() - 1)));
        }
        count
    })
}

/// Pipelined hostile lines on native connections; an oversized line ends a connection
/// (the server refuses it and closes) and the next one starts.
fn native_connection(address: SocketAddr, seed: u64, lines: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    while sent.messages < lines {
        let stream = TcpStream::connect(address).unwrap();
        read_timeout(&stream);
        let replies = count_replies(stream.try_clone().unwrap(), b"\n");
        let mut writer = stream.try_clone().unwrap();
        let mut batch = Vec::with_capacity(256 * 1024);
        'connection: while sent.messages < lines {
            batch.clear();
            for _ in 0..500 {
                if sent.messages == lines {
                    break;
                }
                sent.messages += 1;
                if hostile.rng.u32(..2000) == 0 {
                    batch.extend(std::iter::repeat_n(b'x', 20_000));
                    batch.push(b'\n');
                    let _ = writer.write_all(&batch);
                    break 'connection;
                }
                batch.extend_from_slice(&hostile.native_line());
                batch.push(b'\n');
            }
            if writer.write_all(&batch).is_err() {
                break;
            }
        }
        let _ = stream.shutdown(Shutdown::Write);
        sent.replies += replies.join().unwrap();
    }
    sent
}

/// Hostile frames on G1 request connections, pipelined.
fn pyminer_connection(address: SocketAddr, seed: u64, frames: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    while sent.messages < frames {
        let stream = TcpStream::connect(address).unwrap();
        read_timeout(&stream);
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(b"request_data").unwrap();
        let mut greeting = [0u8; 16];
        if stream
            .try_clone()
            .unwrap()
            .read_exact(&mut greeting)
            .is_err()
        {
            continue;
        }
        assert_eq!(&greeting, b"conn_established");
        let replies = count_replies(stream.try_clone().unwrap(), b"PMEND");
        let mut batch = Vec::with_capacity(256 * 1024);
        'connection: while sent.messages < frames {
            batch.clear();
            for _ in 0..200 {
                if sent.messages == frames {
                    break;
                }
                sent.messages += 1;
                if hostile.rng.u32(..2000) == 0 {
                    batch.extend_from_slice(&hostile.last_pyminer_frame());
                    batch.extend_from_slice(b"PMEND");
                    let _ = writer.write_all(&batch);
                    break 'connection;
                }
                batch.extend_from_slice(&hostile.pyminer_frame());
                batch.extend_from_slice(b"PMEND");
            }
            if writer.write_all(&batch).is_err() {
                break;
            }
        }
        let _ = stream.shutdown(Shutdown::Write);
        sent.replies += replies.join().unwrap();
    }
    sent
}

fn pyminer_handshakes(address: SocketAddr, seed: u64, count: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = stream.write_all(&hostile.pyminer_handshake());
        let _ = stream.shutdown(Shutdown::Write);
        let mut reply = Vec::new();
        if stream.read_to_end(&mut reply).is_ok() && !reply.is_empty() {
            sent.replies += 1;
        }
        sent.messages += 1;
    }
    sent
}

/// Datagrams in windows of 16, waiting for the replies each window should get (every
/// ASCII request is answered; the rest are not) before the next, so none is dropped.
fn udp_sender(
    server: SocketAddr,
    seed: u64,
    count: u64,
    generate: fn(&mut Hostile) -> Vec<u8>,
    answered: fn(&[u8]) -> bool,
) -> Sent {
    let mut hostile = Hostile::new(seed);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut sent = Sent::default();
    let mut buffer = vec![0u8; 70_000];
    while sent.messages < count {
        let mut expected = 0;
        for _ in 0..16.min(count - sent.messages) {
            let datagram = generate(&mut hostile);
            socket.send(&datagram).unwrap();
            sent.messages += 1;
            expected += u64::from(answered(&datagram));
        }
        for _ in 0..expected {
            if socket.recv(&mut buffer).is_err() {
                break;
            }
            sent.replies += 1;
        }
    }
    sent
}

/// Live-server datagrams in windows of 32, each waited for through the server's own
/// count of malformed datagrams (the live server never replies). A window the server
/// stops counting within 50 ms lost datagrams in the kernel: they are not counted.
fn live_sender(server: SocketAddr, native: SocketAddr, seed: u64, count: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rpc = RpcClient::connect(native);
    let malformed = |rpc: &mut RpcClient| {
        rpc.call("status", json!([]))["live_server"]["malformed"]
            .as_u64()
            .unwrap()
    };
    let already = malformed(&mut rpc);
    let mut sent = Sent::default();
    while sent.messages < count {
        for _ in 0..32.min(count - sent.messages) {
            socket.send_to(&hostile.live_datagram(), server).unwrap();
            sent.messages += 1;
        }
        let mut progress = Instant::now();
        loop {
            let seen = malformed(&mut rpc) - already;
            if seen > sent.replies {
                sent.replies = seen;
                progress = Instant::now();
            }
            if seen >= sent.messages || progress.elapsed() > Duration::from_millis(50) {
                break;
            }
        }
    }
    sent
}

fn http_requests(address: SocketAddr, seed: u64, count: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    for _ in 0..count {
        let mut stream = TcpStream::connect(address).unwrap();
        read_timeout(&stream);
        let _ = stream.write_all(&hostile.http_request());
        let _ = stream.shutdown(Shutdown::Write);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        if reply.starts_with(b"HTTP/1.1 ") {
            sent.replies += 1;
        }
        sent.messages += 1;
    }
    sent
}

fn websocket_messages(address: SocketAddr, seed: u64, count: u64) -> Sent {
    use tungstenite::Message;
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    while sent.messages < count {
        let stream = TcpStream::connect(address).unwrap();
        read_timeout(&stream);
        let Ok((mut socket, _)) = tungstenite::client(format!("ws://{address}/ws"), stream) else {
            continue;
        };
        sent.replies += 1;
        while sent.messages < count {
            let message = match hostile.rng.u8(..5) {
                0 => Message::Binary(hostile.random_bytes(500).into()),
                1 => Message::Text(
                    String::from_utf8_lossy(&hostile.deep_nesting())
                        .into_owned()
                        .into(),
                ),
                2 => Message::Text("{\"topics\": [1, {}, null]}".into()),
                3 if hostile.rng.u8(..50) == 0 => Message::Text("x".repeat(100_000).into()),
                _ => Message::Text(
                    String::from_utf8_lossy(&hostile.random_bytes(200))
                        .into_owned()
                        .into(),
                ),
            };
            sent.messages += 1;
            if socket.send(message).is_err() {
                break;
            }
        }
    }
    sent
}

/// Everything the server stores that a client can see, read through `native`.
fn stored_state(server: &Server, native: SocketAddr) -> Value {
    let mut rpc = RpcClient::connect(native);
    let push_port = server.address("push.0").port();
    let variables = rpc.call("workspace.list", json!({}));
    let values: Vec<Value> = variables
        .as_array()
        .unwrap()
        .iter()
        .map(|meta| rpc.call("workspace.get", json!({"name": meta["name"]})))
        .collect();
    let status = rpc.call("status", json!([]));
    let points: Vec<Value> = ["a", "b", "zz"]
        .iter()
        .map(|codename| rpc.request("get_point", json!([codename]))["result"].clone())
        .collect();
    json!({
        "point_count": status["points"],
        "points": points,
        "variables": variables,
        "values": values,
        "settings": rpc.call("settings.get", json!({})),
        "push": rpc.call("push_state", json!([push_port])),
        "live_hosts": status["live_server"]["hosts"],
        "live_series": status["live_server"]["series"],
    })
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// A client that keeps calling (native ones through `native`) and checks every reply,
/// until `stop`.
fn well_behaved(
    server: &Server,
    native: SocketAddr,
    stop: Arc<AtomicBool>,
) -> JoinHandle<(u64, Duration)> {
    let (pyminer, pull) = (server.pyminer(), server.address("pull.0"));
    std::thread::spawn(move || {
        let mut rpc = RpcClient::connect(native);
        let pull = UdpClient::new(pull);
        let mut calls = 0u64;
        let mut slowest = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let payload = json!([calls, "é", {"k": [1.5, null]}]);
            assert_eq!(rpc.call("echo", payload.clone()), payload);
            assert_eq!(rpc.call("get_point", json!(["a"]))["y"], json!(42));
            assert_eq!(pull.request("a#raw"), "1.5,42");
            if calls.is_multiple_of(20) {
                assert_eq!(
                    g1_call(pyminer, "read_p", json!(["v2"]))["message"],
                    "success"
                );
            }
            slowest = slowest.max(started.elapsed());
            calls += 1;
            // A client, not a load generator: the hostile workers are the load.
            std::thread::sleep(Duration::from_millis(2));
        }
        (calls, slowest)
    })
}

#[test]
fn a_million_hostile_messages_change_nothing_and_hurt_no_one() {
    let server = Server::start(CONFIG);
    let mut rpc = server.rpc();
    rpc.call("set_point", json!(["a", 1.5, 42]));
    rpc.call("set_point", json!(["b", 2.5, "text"]));
    rpc.call(
        "workspace.set",
        json!({"name": "v1", "value": {"k": [1, 2.5, "é"]}}),
    );
    let pickled = base64::engine::general_purpose::STANDARD.encode(b"\x80\x04K\x07.");
    assert_eq!(
        g1_call_text(server.pyminer(), "write_p", json!(["v2", pickled])),
        r#"{"message": "success"}"#
    );
    rpc.call("settings.set", json!({"name": "locale", "value": "de"}));
    let before = stored_state(&server, server.native());

    let stop = Arc::new(AtomicBool::new(false));
    let good = well_behaved(&server, server.native(), stop.clone());
    let started = Instant::now();
    let native = server.native();
    let pyminer = server.pyminer();
    let (pull, push, live, http) = (
        server.address("pull.0"),
        server.address("push.0"),
        server.address("live_server"),
        server.address("http"),
    );
    let ascii = |datagram: &[u8]| datagram.is_ascii();
    let timed = |name: &'static str, work: Box<dyn FnOnce() -> Sent + Send>| {
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let sent = work();
            (sent, started.elapsed())
        });
        (name, handle)
    };
    let workers: Vec<(&str, JoinHandle<(Sent, Duration)>)> = vec![
        timed(
            "native",
            Box::new(move || native_connection(native, 1, NATIVE_LINES / 2)),
        ),
        timed(
            "native",
            Box::new(move || native_connection(native, 2, NATIVE_LINES / 2)),
        ),
        timed(
            "pyminer frames",
            Box::new(move || pyminer_connection(pyminer, 3, PYMINER_FRAMES / 4)),
        ),
        timed(
            "pyminer frames",
            Box::new(move || pyminer_connection(pyminer, 4, PYMINER_FRAMES / 4)),
        ),
        timed(
            "pyminer frames",
            Box::new(move || pyminer_connection(pyminer, 11, PYMINER_FRAMES / 4)),
        ),
        timed(
            "pyminer frames",
            Box::new(move || pyminer_connection(pyminer, 12, PYMINER_FRAMES / 4)),
        ),
        timed(
            "pyminer handshakes",
            Box::new(move || pyminer_handshakes(pyminer, 5, PYMINER_HANDSHAKES)),
        ),
        timed(
            "pull",
            Box::new(move || udp_sender(pull, 6, PULL_DATAGRAMS, Hostile::pull_datagram, ascii)),
        ),
        timed(
            "push",
            Box::new(move || udp_sender(push, 7, PUSH_DATAGRAMS, Hostile::push_datagram, ascii)),
        ),
        timed(
            "live server",
            Box::new(move || live_sender(live, native, 8, LIVE_DATAGRAMS)),
        ),
        timed(
            "http",
            Box::new(move || http_requests(http, 9, HTTP_REQUESTS)),
        ),
        timed(
            "websocket",
            Box::new(move || websocket_messages(http, 10, WS_MESSAGES)),
        ),
    ];
    let total = AtomicU64::new(0);
    let mut report = Vec::new();
    for (name, worker) in workers {
        let (sent, took) = worker
            .join()
            .unwrap_or_else(|_| panic!("the {name} worker failed"));
        total.fetch_add(sent.messages, Ordering::Relaxed);
        report.push(format!(
            "{name}: {} sent, {} answered in {took:.1?}",
            sent.messages, sent.replies
        ));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (good_calls, slowest) = good
        .join()
        .expect("the well-behaved client got every reply");
    let total = total.into_inner();
    let rss = rss_kib(server.pid());
    eprintln!(
        "hostile: {total} messages in {elapsed:.1?}; {}; well-behaved client: {good_calls} \
         rounds, slowest {slowest:.1?}; server RSS {} MiB",
        report.join("; "),
        rss / 1024
    );

    assert!(total >= 1_000_000, "only {total} hostile messages");
    assert!(good_calls > 0, "the well-behaved client was never served");
    assert!(rss < 512 * 1024, "server RSS grew to {} MiB", rss / 1024);
    assert_eq!(
        stored_state(&server, server.native()),
        before,
        "the hostile traffic changed stored state"
    );
    assert_eq!(server.rpc().call("ping", json!([])), "pong");
    // Refusals are logged rate-limited: a flood must not be able to fill the disk.
    let log_lines = server.stderr().lines().count();
    assert!(
        log_lines < 500,
        "the hostile traffic wrote {log_lines} log lines"
    );
    let status = server.rpc().call("status", json!([]));
    assert!(
        status["live_server"]["malformed"].as_u64().unwrap() >= LIVE_DATAGRAMS * 99 / 100,
        "the live server saw too few datagrams: {status}"
    );
}

/// Messages of the TLS run, per kind: the same generators, through TLS, fewer of them
/// (every byte is encrypted twice, by the relay and the server, on a shared machine).
const TLS_NATIVE_LINES: u64 = 100_000;
const TLS_HTTP_REQUESTS: u64 = 500;
const TLS_WS_MESSAGES: u64 = 1_000;
const TLS_RAW_CLIENTS: u64 = 1_000;

/// Hostile bytes sent without TLS straight to a TLS port: plain requests of either
/// protocol, random bytes, and TLS records cut short or filled with junk.
fn raw_to_tls_port(address: SocketAddr, seed: u64, count: u64) -> Sent {
    let mut hostile = Hostile::new(seed);
    let mut sent = Sent::default();
    for _ in 0..count {
        let bytes = match hostile.rng.u8(..5) {
            0 => hostile.native_line(),
            1 => hostile.http_request(),
            2 => hostile.random_bytes(600),
            // A handshake record header claiming more than follows.
            3 => [
                &[0x16, 0x03, 0x01, 0x40, 0x00][..],
                &hostile.random_bytes(300),
            ]
            .concat(),
            // A handshake record of junk.
            _ => {
                let body = hostile.random_bytes(200);
                let length = (body.len() as u16).to_be_bytes();
                [&[0x16, 0x03, 0x03, length[0], length[1]][..], &body].concat()
            }
        };
        let mut stream = TcpStream::connect(address).unwrap();
        read_timeout(&stream);
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(Shutdown::Write);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        // A TLS alert at most: never a JSON-RPC or HTTP answer.
        assert!(
            !reply.windows(8).any(|w| w == b"jsonrpc\"") && !reply.starts_with(b"HTTP/"),
            "a plain client got an answer from a TLS port: {:?}",
            String::from_utf8_lossy(&reply)
        );
        sent.messages += 1;
        sent.replies += u64::from(!reply.is_empty());
    }
    sent
}

#[test]
fn hostile_messages_through_tls_change_nothing_and_hurt_no_one() {
    use labsocket_e2e::tls::{make_lab_ca, tls_table, Relay};
    let pki = labsocket_e2e::TempDir::new("hostile-tls");
    make_lab_ca(pki.path());
    let ca = pki.path().join("lab-ca.crt");
    let server = Server::start(&format!("{}{CONFIG}", tls_table(pki.path(), 2.0)));
    let native = Relay::start(server.native(), &ca);
    let http = Relay::start(server.address("http"), &ca);
    let mut rpc = RpcClient::connect(native.address);
    rpc.call("set_point", json!(["a", 1.5, 42]));
    rpc.call(
        "workspace.set",
        json!({"name": "v1", "value": {"k": [1, 2.5, "é"]}}),
    );
    let pickled = base64::engine::general_purpose::STANDARD.encode(b"\x80\x04K\x07.");
    assert_eq!(
        g1_call_text(server.pyminer(), "write_p", json!(["v2", pickled])),
        r#"{"message": "success"}"#
    );
    let before = stored_state(&server, native.address);

    let stop = Arc::new(AtomicBool::new(false));
    let good = well_behaved(&server, native.address, stop.clone());
    let started = Instant::now();
    let (relay_native, relay_http) = (native.address, http.address);
    let (tls_native, tls_http) = (server.native(), server.address("http"));
    let workers: Vec<(&str, JoinHandle<Sent>)> = vec![
        (
            "native over TLS",
            std::thread::spawn(move || native_connection(relay_native, 21, TLS_NATIVE_LINES)),
        ),
        (
            "http over TLS",
            std::thread::spawn(move || http_requests(relay_http, 22, TLS_HTTP_REQUESTS)),
        ),
        (
            "websocket over TLS",
            std::thread::spawn(move || websocket_messages(relay_http, 23, TLS_WS_MESSAGES)),
        ),
        (
            "plain to the native TLS port",
            std::thread::spawn(move || raw_to_tls_port(tls_native, 24, TLS_RAW_CLIENTS)),
        ),
        (
            "plain to the HTTPS port",
            std::thread::spawn(move || raw_to_tls_port(tls_http, 25, TLS_RAW_CLIENTS)),
        ),
    ];
    let mut report = Vec::new();
    for (name, worker) in workers {
        let sent = worker
            .join()
            .unwrap_or_else(|_| panic!("the {name} worker failed"));
        assert!(sent.messages > 0, "{name} sent nothing");
        report.push(format!(
            "{name}: {} sent, {} answered",
            sent.messages, sent.replies
        ));
    }
    stop.store(true, Ordering::Relaxed);
    let (good_calls, slowest) = good
        .join()
        .expect("the well-behaved client got every reply");
    let rss = rss_kib(server.pid());
    eprintln!(
        "hostile over TLS in {:.1?}: {}; well-behaved client: {good_calls} rounds, slowest \
         {slowest:.1?}; server RSS {} MiB",
        started.elapsed(),
        report.join("; "),
        rss / 1024
    );
    assert!(good_calls > 0, "the well-behaved client was never served");
    assert!(rss < 512 * 1024, "server RSS grew to {} MiB", rss / 1024);
    assert_eq!(
        stored_state(&server, native.address),
        before,
        "the hostile traffic changed stored state"
    );
    assert_eq!(
        RpcClient::connect(native.address).call("ping", json!([])),
        "pong"
    );
    let log_lines = server.stderr().lines().count();
    assert!(
        log_lines < 500,
        "the hostile traffic wrote {log_lines} log lines"
    );
}

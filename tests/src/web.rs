//! Clients for the HTTP front end: a one-shot `GET` and the live view's WebSocket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::{Message, WebSocket};

use crate::WAIT;

/// A response: status code, headers (lower-case names) and body.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }

    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// `GET path` with `Host: <addr>` (or `host`), HTTP/1.1, `Connection: close`.
pub fn http_get(addr: SocketAddr, path: &str, host: Option<&str>) -> HttpResponse {
    let host = host.map_or_else(|| addr.to_string(), str::to_owned);
    http_get_with(addr, path, &[("Host", &host)])
}

/// `GET path` with exactly `headers` (give `Host`), HTTP/1.1, `Connection: close`.
pub fn http_get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("the http front end accepts");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("a complete response");
    let text = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A WebSocket connection to `/ws`.
pub struct LiveViewClient {
    socket: WebSocket<TcpStream>,
}

impl LiveViewClient {
    /// Connects to `ws://addr{path}` (`/ws` or `/ws?topics=...`).
    pub fn connect(addr: SocketAddr, path: &str) -> LiveViewClient {
        Self::try_connect(addr, path, &[]).expect("the WebSocket handshake succeeds")
    }

    /// Connects with extra handshake headers; the error is the refusal's status and body.
    pub fn try_connect(
        addr: SocketAddr,
        path: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<LiveViewClient, String> {
        let stream = TcpStream::connect(addr).expect("the http front end accepts");
        stream.set_nodelay(true).unwrap();
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{addr}{path}"
        ))
        .unwrap();
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("a valid header value"));
        }
        match tungstenite::client(request, stream) {
            Ok((socket, _)) => Ok(LiveViewClient { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err(format!("{} {body}", response.status().as_u16()))
            }
            Err(err) => Err(err.to_string()),
        }
    }

    /// The next text message as JSON, or `None` if none arrives within `timeout`.
    pub fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return Some(
                        serde_json::from_str(&text)
                            .unwrap_or_else(|err| panic!("not JSON ({err}): {text}")),
                    )
                }
                Ok(Message::Close(frame)) => panic!("the server closed the WebSocket: {frame:?}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(err) => panic!("WebSocket read failed: {err}"),
            }
        }
    }

    /// The next text message as JSON (fails the test after [`WAIT`]).
    pub fn next_message(&mut self) -> Value {
        self.next_within(WAIT)
            .unwrap_or_else(|| panic!("no WebSocket message within {WAIT:?}"))
    }

    /// The next message for which `wanted` holds, skipping others.
    pub fn next_matching(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_within(left) {
                Some(message) if wanted(&message) => return message,
                Some(_) => {}
                None => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    /// Reads until the server closes the WebSocket (a close frame or the end of the
    /// stream); fails the test if it is still open after [`WAIT`].
    pub fn wait_closed(&mut self) {
        self.socket.get_mut().set_read_timeout(Some(WAIT)).unwrap();
        loop {
            match self.socket.read() {
                Ok(Message::Close(_)) => return,
                Ok(_) => {}
                Err(tungstenite::Error::Io(err))
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("the WebSocket is still open after {WAIT:?}")
                }
                Err(_) => return,
            }
        }
    }

    /// The underlying TCP stream (to stop reading, or to read it raw).
    pub fn stream(&mut self) -> &mut TcpStream {
        self.socket.get_mut()
    }
}

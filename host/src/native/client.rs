//! A small native-protocol client: what `labsocket call` and `labsocket watch` use.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

use crate::call::CallError;
use crate::pyjson::{self, Value};

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent something that is not JSON-RPC: {0}")]
    Protocol(String),
    #[error("{0}")]
    Remote(CallError),
}

/// A server notification (`event`, `heartbeat`).
#[derive(Debug)]
pub struct Notification {
    pub method: String,
    pub params: Value,
}

/// The connection a [`Client`] talks over: plain TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin> Stream for S {}

/// One connection to a labsocket native front end.
pub struct Client {
    reader: BufReader<ReadHalf<Box<dyn Stream>>>,
    writer: WriteHalf<Box<dyn Stream>>,
    next_id: i64,
    /// Notifications that arrived while waiting for a reply, oldest first.
    backlog: std::collections::VecDeque<Notification>,
}

impl Client {
    /// A plain TCP connection.
    pub async fn connect(address: impl ToSocketAddrs) -> Result<Client, ClientError> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self::over(Box::new(stream)))
    }

    /// A TLS connection to `host:port`, trusting the CAs of `tls`; the certificate must
    /// name `host`.
    pub async fn connect_tls(
        host: &str,
        port: u16,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Client, ClientError> {
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        let stream = crate::tls::connect(tls, host, stream)
            .await
            .map_err(ClientError::Tls)?;
        Ok(Self::over(Box::new(stream)))
    }

    fn over(stream: Box<dyn Stream>) -> Client {
        let (reader, writer) = tokio::io::split(stream);
        Client {
            reader: BufReader::new(reader),
            writer,
            next_id: 1,
            backlog: Default::default(),
        }
    }

    /// Sends the server's shared secret (`auth`); the server closes the connection after
    /// repeated failures.
    pub async fn authenticate(&mut self, token: &str) -> Result<(), ClientError> {
        let params = crate::call::object([("token", Value::Str(token.to_owned()))]);
        self.call(super::auth::METHOD, params).await.map(drop)
    }

    /// Calls `method` and waits for its reply.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut fields = indexmap::IndexMap::new();
        fields.insert("jsonrpc".to_owned(), Value::Str("2.0".to_owned()));
        fields.insert("id".to_owned(), Value::Int(id));
        fields.insert("method".to_owned(), Value::Str(method.to_owned()));
        if params != Value::Null {
            fields.insert("params".to_owned(), params);
        }
        let mut line = pyjson::to_compact_json(&Value::Dict(fields));
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        // TLS may keep the end of a write buffered until flushed.
        self.writer.flush().await?;
        loop {
            let mut message = self.read_message().await?;
            if let Some(method) = message.shift_remove("method") {
                let method = method.as_str().unwrap_or_default().to_owned();
                let params = message.shift_remove("params").unwrap_or(Value::Null);
                self.backlog.push_back(Notification { method, params });
                continue;
            }
            if message.get("id") != Some(&Value::Int(id)) {
                return Err(ClientError::Protocol(format!(
                    "reply for another request: {}",
                    pyjson::to_compact_json(&Value::Dict(message))
                )));
            }
            if let Some(error) = message.shift_remove("error") {
                return Err(ClientError::Remote(call_error(error)));
            }
            return message
                .shift_remove("result")
                .ok_or_else(|| ClientError::Protocol("reply without result or error".to_owned()));
        }
    }

    /// The next server notification.
    pub async fn next_notification(&mut self) -> Result<Notification, ClientError> {
        if let Some(notification) = self.backlog.pop_front() {
            return Ok(notification);
        }
        loop {
            let mut message = self.read_message().await?;
            if let Some(Value::Str(method)) = message.shift_remove("method") {
                let params = message.shift_remove("params").unwrap_or(Value::Null);
                return Ok(Notification { method, params });
            }
        }
    }

    async fn read_message(&mut self) -> Result<indexmap::IndexMap<String, Value>, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Err(ClientError::Closed);
        }
        match pyjson::parse(line.trim_end()) {
            Ok(Value::Dict(message)) => Ok(message),
            Ok(_) | Err(_) => Err(ClientError::Protocol(line.trim_end().to_owned())),
        }
    }
}

fn call_error(error: Value) -> CallError {
    let code = error.get("code").and_then(Value::as_f64).unwrap_or(0.0) as i64;
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("error without a message")
        .to_owned();
    CallError {
        code,
        message,
        data: error.get("data").cloned(),
    }
}

//! A closed-loop TCP load generator: `connections` connections, each sending `depth`
//! requests in one write and waiting for all `depth` replies before sending again.
//!
//! Every connection is a task of one single-threaded tokio runtime, so the whole client
//! is one thread multiplexing its sockets with epoll, like `redis-benchmark`. On this
//! 2-core machine the client shares the CPUs with the server; a thread per connection
//! spent more time switching between client threads than the server spent answering.
//!
//! Every reply is compared byte for byte with the expected one, so a benchmark can never
//! report the speed of error replies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stats::RunStats;

/// How replies are delimited on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// Ends with this byte sequence (`\n` for the native protocol, `PMEND` for PyMiner).
    Suffix(&'static [u8]),
    /// One RESP reply (Redis): `$<n>\r\n<n bytes>\r\n`, or a `+`/`-`/`:` line.
    Resp,
}

impl Framing {
    /// The length of the first complete reply in `bytes`, if there is one.
    fn frame_len(self, bytes: &[u8]) -> Option<usize> {
        match self {
            Framing::Suffix(suffix) => find(bytes, suffix).map(|at| at + suffix.len()),
            Framing::Resp => {
                let line_end = find(bytes, b"\r\n")? + 2;
                if bytes.first() != Some(&b'$') {
                    return Some(line_end);
                }
                let length: i64 = std::str::from_utf8(&bytes[1..line_end - 2])
                    .ok()?
                    .parse()
                    .ok()?;
                if length < 0 {
                    return Some(line_end);
                }
                let end = line_end + length as usize + 2;
                (bytes.len() >= end).then_some(end)
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    // SIMD search: a byte-by-byte search of 1.4 KB PyMiner replies was a visible share
    // of the client's own CPU time, which the server shares on this machine.
    memchr::memmem::find(haystack, needle)
}

/// What every connection of a run does.
#[derive(Clone, Debug)]
pub struct Load {
    pub connections: usize,
    /// Requests sent at once on each connection (1: no pipelining).
    pub depth: usize,
    pub duration: Duration,
    /// Written once right after connecting (a PyMiner handshake), if any.
    pub hello: Vec<u8>,
    /// One request.
    pub request: Vec<u8>,
    /// The exact reply expected for every request.
    pub reply: Vec<u8>,
    pub framing: Framing,
    /// Connect with TLS (to `localhost`, trusting this config's CAs); the handshakes are
    /// done before the clock starts.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A connection of the load: plain TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// Runs `load` against `address` and returns its throughput and latency. With
/// pipelining, each reply's latency is its burst's round trip.
pub fn run(address: SocketAddr, load: &Load) -> RunStats {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(load.connections);
        for _ in 0..load.connections {
            let mut stream: Box<dyn Stream> = match &load.tls {
                None => {
                    let stream = TcpStream::connect(address).await.expect("connect");
                    stream.set_nodelay(true).expect("TCP_NODELAY");
                    Box::new(stream)
                }
                Some(config) => Box::new(
                    crate::tls::connect(address, config.clone())
                        .await
                        .expect("TLS connect"),
                ),
            };
            if !load.hello.is_empty() {
                stream.write_all(&load.hello).await.expect("hello");
                stream.flush().await.expect("hello");
            }
            streams.push(stream);
        }
        let started = Instant::now();
        let deadline = started + load.duration;
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|stream| tokio::spawn(connection(stream, load.clone(), deadline)))
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("client task"));
        }
        RunStats::from_latencies(latencies, started.elapsed())
    })
}

/// One connection's loop until `deadline`; the latency of every reply.
async fn connection(mut stream: Box<dyn Stream>, load: Load, deadline: Instant) -> Vec<Duration> {
    let burst = load.request.repeat(load.depth);
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut latencies = Vec::with_capacity(1 << 16);
    while Instant::now() < deadline {
        let sent = Instant::now();
        stream.write_all(&burst).await.expect("send");
        // TLS may keep the end of a write buffered (a no-op on TCP).
        stream.flush().await.expect("send");
        let mut replies = 0;
        let mut start = 0;
        while replies < load.depth {
            match load.framing.frame_len(&buffer[start..]) {
                Some(length) => {
                    let reply = &buffer[start..start + length];
                    assert!(
                        reply == load.reply.as_slice(),
                        "unexpected reply {:?}",
                        String::from_utf8_lossy(reply)
                    );
                    start += length;
                    replies += 1;
                }
                None => {
                    buffer.drain(..start);
                    start = 0;
                    let read = stream.read_buf(&mut buffer).await.expect("receive");
                    assert!(read > 0, "the server closed the connection");
                }
            }
        }
        buffer.drain(..start);
        latencies.extend(std::iter::repeat_n(sent.elapsed(), load.depth));
    }
    latencies
}

//! One native-protocol connection: read lines, answer in order, forward events and
//! heartbeats.
//!
//! Replies are rendered straight into the connection's output buffer, which is written
//! with one `write` per wake-up: a 16-deep pipeline costs one syscall, not sixteen, and
//! so do several events that arrived together.
//!
//! Every request line goes through one `answer`, which says whether its reply is ready
//! `Answer::Now` or must be awaited (`Answer::Later`), and every reply goes through
//! one queue (`Replies::queue`). A request whose command completes at once (core
//! commands, `inline` plugin commands: `dispatch::call_now`) is answered on the spot,
//! without a future, rendered straight into the output buffer. A command that must be
//! awaited becomes a future in a `FuturesOrdered`, so slow plugin calls run concurrently
//! while replies still leave in request order: while any future is pending, later
//! immediate replies queue behind it instead of jumping ahead. Reading pauses when
//! [`MAX_IN_FLIGHT`] replies are pending (back-pressure instead of unbounded memory).
//!
//! A request the connection refuses for good (a line over `max_line_bytes`, too many
//! failed authentications) is queued like any reply: the connection stops reading,
//! sends every earlier pipelined reply in order, then the refusal, then closes.
//!
//! A binary request (raw bytes after its line, or a binary reply: [`super::binary`]) is
//! one more pending reply in the same order; while its raw bytes arrive they go straight
//! into its frame, not through the line buffer.
//!
//! Events reach the connection through its own bus subscription, made on the first
//! `subscribe`. If the client reads too slowly, the subscription lags and the client gets
//! an `events_lost` event with the count, while publishers and other clients carry on.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::future::{self, BoxFuture, FutureExt};
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::auth::Gated;
use super::binary::{self, Frame, Intercepted, Outgoing};
use super::rpc::{self, Incoming};
use crate::call::{self, CallError};
use crate::dispatch::{self, Immediate};
use crate::events::Event;
use crate::host_core::{Core, Traffic};
use crate::pyjson::Value;
use labsocket_plugin_api::codes;

/// Replies a connection may owe before it stops reading further requests.
pub const MAX_IN_FLIGHT: usize = 256;
/// Bytes of output gathered before they are written: events are drained into one write
/// up to about this much.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Per-front-end settings every connection shares.
pub struct Settings {
    pub heartbeat: Option<Duration>,
    pub max_line_bytes: usize,
    /// The tokens connections must authenticate with first (empty: no authentication).
    pub tokens: Arc<crate::access::Tokens>,
    /// Largest raw-byte frame a request may announce (`{"$binary": N}`).
    pub binary_limit: BinaryLimit,
    /// `[tls]`: every connection is TLS (`None`: plain TCP).
    pub tls: Option<Arc<crate::tls::ServerTls>>,
}

/// The largest raw-byte frame, and the setting that sets it (named in refusals).
#[derive(Clone, Copy, Debug)]
pub struct BinaryLimit {
    pub bytes: usize,
    pub setting: &'static str,
}

pub(crate) type PendingReply = BoxFuture<'static, Option<Outgoing>>;

/// What a connection runs over: plain TCP, or TLS over TCP (`[tls]`).
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    /// Waits for input and reads what is there into `buffer`, which it grows first.
    /// `None`: woken without input after all (wait again). Cancel-safe: nothing is
    /// read unless the future completes.
    fn read_into<'a>(
        &'a mut self,
        buffer: &'a mut BytesMut,
    ) -> impl Future<Output = Option<io::Result<usize>>> + Send + 'a;
}

/// The read buffer's growth: at least 4 KiB, at most 64 KiB at a time.
fn grow(buffer: &mut BytesMut) {
    buffer.reserve(buffer.len().clamp(4096, 64 * 1024));
}

impl Transport for TcpStream {
    async fn read_into(&mut self, buffer: &mut BytesMut) -> Option<io::Result<usize>> {
        // The buffer is allocated only once bytes arrive: an idle connection holds no
        // read buffer (`bench-pyminer --only idle --idle-protocol native`).
        if let Err(err) = self.readable().await {
            return Some(Err(err));
        }
        grow(buffer);
        // A poll, not `try_read_buf`: after a short read tokio then knows the socket is
        // drained, instead of trying once more and getting EAGAIN (an extra syscall per
        // request).
        self.read_buf(buffer).now_or_never()
    }
}

impl Transport for crate::tls::ServerStream {
    async fn read_into(&mut self, buffer: &mut BytesMut) -> Option<io::Result<usize>> {
        // As for TCP: wait for the socket, then one poll. But decrypted bytes may already
        // wait inside rustls (it decrypts whole records), and then the socket's
        // readiness says nothing: rustls wants to read only when it holds none.
        let (socket, session) = self.get_ref();
        if session.wants_read() {
            if let Err(err) = socket.readable().await {
                return Some(Err(err));
            }
        }
        grow(buffer);
        self.read_buf(buffer).now_or_never()
    }
}

/// Serves one connection until the client leaves, an I/O error, or shutdown.
pub async fn serve<S: Transport>(
    core: Arc<Core>,
    mut stream: S,
    settings: Arc<Settings>,
    traffic: Arc<Traffic>,
    shutdown: CancellationToken,
) {
    // Given back once every line is consumed (see `Transport::read_into`).
    let mut buffer = BytesMut::new();
    let mut out = String::new();
    let mut pending: FuturesOrdered<PendingReply> = FuturesOrdered::new();
    let mut subscription = Subscription::default();
    let mut gate = super::auth::Gate::new(settings.tokens.clone());
    let mut heartbeat = settings.heartbeat.map(|period| {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    // The binary request whose raw bytes are being read.
    let mut frame: Option<Frame> = None;
    let mut reading = true;
    // Set when the connection refused a request for good: close once the replies are out.
    let mut refused = false;
    // One wait on the shutdown token for the connection's life, not one per wake-up.
    let stopped = shutdown.cancelled();
    tokio::pin!(stopped);

    loop {
        // Gather every reply that is already done, then write everything at once.
        while let Some(Some(reply)) = pending.next().now_or_never() {
            if let Some(reply) = reply {
                if binary::emit(&mut stream, &mut out, reply).await.is_err() {
                    return;
                }
            }
        }
        if !out.is_empty() {
            // `flush`: TLS may keep the end of a write buffered (a no-op on TCP).
            if stream.write_all(out.as_bytes()).await.is_err() || stream.flush().await.is_err() {
                return;
            }
            out.clear();
            // Keep one large reply from pinning memory on an idle connection.
            if out.capacity() > WRITE_BATCH_BYTES {
                out = String::new();
            }
        }
        if !reading && pending.is_empty() {
            if refused {
                linger(&mut stream).await;
            }
            return;
        }
        tokio::select! {
            _ = &mut stopped => return,
            Some(reply) = pending.next(), if !pending.is_empty() => {
                if let Some(reply) = reply {
                    if binary::emit(&mut stream, &mut out, reply).await.is_err() {
                        return;
                    }
                }
            }
            read = async {
                // A frame's raw bytes skip the line buffer (it is empty then: the frame
                // took what arrived with its line). Both reads are cancel-safe: nothing
                // is consumed unless the future completes.
                match frame.as_mut().filter(|frame| frame.reads_directly()) {
                    Some(frame) => Some(frame.read(&mut stream).await).map(|read| (read, true)),
                    None => stream.read_into(&mut buffer).await.map(|read| (read, false)),
                }
            }, if reading && pending.len() < MAX_IN_FLIGHT => {
                let (read, direct) = match read {
                    Some((read, direct)) => (Some(read), direct),
                    None => (None, false),
                };
                match read {
                    None => {}
                    // The end of the stream (a frame cut short is dropped unanswered: its
                    // command never sees its bytes).
                    Some(Ok(0) | Err(_)) => reading = false,
                    Some(Ok(read)) => {
                        // Bytes of a frame are not new bytes of the line buffer.
                        let read = if direct { 0 } else { read };
                        let mut replies = Replies { out: &mut out, pending: &mut pending };
                        if let Err(refusal) = take_lines(&core, &traffic, &mut buffer, read, &settings, &mut gate, &mut subscription, &mut frame, &mut replies) {
                            // The stream cannot be resynchronised: read no more, queue the
                            // refusal behind the replies still owed, and close once they
                            // and it are written (the loop's `!reading` exit).
                            replies.queue(Answer::Line(refusal));
                            reading = false;
                            refused = true;
                            buffer = BytesMut::new();
                        }
                    }
                }
            }
            event = subscription.next(), if subscription.is_active() => {
                let mut event = event;
                // Drain what else is already queued into the same write.
                loop {
                    match event {
                        Ok(event) => {
                            if subscription.wants(&event.topic) {
                                push_bytes(&mut out, event.native_line());
                            }
                        }
                        Err(RecvError::Lagged(lost)) => {
                            core.bus.count_lost(lost);
                            push_bytes(&mut out, lost_notice(lost).native_line());
                        }
                        Err(RecvError::Closed) => {
                            subscription.close();
                            break;
                        }
                    }
                    if out.len() >= WRITE_BATCH_BYTES {
                        break;
                    }
                    match subscription.try_next() {
                        Some(next) => event = next,
                        None => break,
                    }
                }
            }
            _ = tick(&mut heartbeat), if heartbeat.is_some() => {
                let params = call::object([("ts", Value::Float(labsocket_plugin_api::unix_now()))]);
                out.push_str(&rpc::notification_line("heartbeat", &params));
            }
        }
    }
}

/// How long a refused connection's unread input is discarded before it is dropped.
const LINGER: Duration = Duration::from_secs(1);
/// The most unread input discarded then.
const LINGER_BYTES: usize = 1 << 20;

/// Closes a connection the server refused, so that the client still reads the replies and
/// the refusal: closing a socket with unread input makes the kernel send a reset, which
/// makes the client's kernel drop what it has not read yet. So: send FIN, then discard
/// what the client still sends, for a bounded time and amount.
async fn linger<S: Transport>(stream: &mut S) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut discarded = 0;
    let _ = tokio::time::timeout(LINGER, async {
        while discarded < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(read) => discarded += read,
            }
        }
    })
    .await;
}

/// Appends a rendered line (always UTF-8: it was rendered from a `String`).
fn push_bytes(out: &mut String, line: &[u8]) {
    out.push_str(std::str::from_utf8(line).unwrap_or_default());
}

/// A request's reply, as [`answer`] gives it.
enum Answer {
    /// Ready now: the outcome of a call with an id (rendered where it is queued).
    Now(Value, Result<Value, CallError>),
    /// Ready now, already rendered (an auth refusal, an invalid request).
    Line(String),
    /// Must be awaited; `None` from the future means no reply (a notification).
    Later(PendingReply),
    /// No reply (a notification).
    Nothing,
}

/// Where a connection's replies go, in request order: straight into the output buffer
/// while nothing is pending, behind the pending futures otherwise.
struct Replies<'a> {
    out: &'a mut String,
    pending: &'a mut FuturesOrdered<PendingReply>,
}

impl Replies<'_> {
    /// Queues one reply after every earlier one.
    fn queue(&mut self, answer: Answer) {
        match answer {
            // Rendered in place, without an intermediate `String`, when nothing is owed.
            Answer::Now(id, outcome) if self.pending.is_empty() => {
                rpc::write_reply_line(&id, &outcome, self.out)
            }
            Answer::Now(id, outcome) => self
                .pending
                .push_back(future::ready(Some(rpc::reply_line(&id, &outcome).into())).boxed()),
            Answer::Line(line) if self.pending.is_empty() => self.out.push_str(&line),
            Answer::Line(line) => self
                .pending
                .push_back(future::ready(Some(line.into())).boxed()),
            Answer::Later(reply) => self.pending.push_back(reply),
            Answer::Nothing => {}
        }
    }
}

async fn tick(heartbeat: &mut Option<tokio::time::Interval>) {
    match heartbeat {
        Some(interval) => {
            interval.tick().await;
        }
        None => future::pending().await,
    }
}

fn lost_notice(lost: u64) -> Event {
    Event::new(
        "events_lost",
        call::object([("count", Value::Int(lost.min(i64::MAX as u64) as i64))]),
    )
}

/// Parses every complete line in `buffer` into a pending reply, and gives a binary
/// request's `frame` its raw bytes first. Returns the refusal line when the client sent
/// a line longer than the limit.
#[allow(clippy::too_many_arguments)] // one connection's parts, borrowed separately
fn take_lines(
    core: &Arc<Core>,
    traffic: &Arc<Traffic>,
    buffer: &mut BytesMut,
    read: usize,
    settings: &Settings,
    gate: &mut super::auth::Gate,
    subscription: &mut Subscription,
    frame: &mut Option<Frame>,
    replies: &mut Replies<'_>,
) -> Result<(), String> {
    // Only the `read` new bytes can hold a newline: the ones before were searched by the
    // previous call (a long line arriving in many reads is not searched from its start
    // on every read).
    let mut from = buffer.len() - read;
    loop {
        if let Some(mut binary) = frame.take() {
            binary.take_from(buffer);
            if !binary.is_complete() {
                *frame = Some(binary);
                break;
            }
            if let Some(reply) = binary.answer(core, traffic) {
                replies.queue(Answer::Later(reply));
            }
            // What follows the frame was never searched.
            from = 0;
        }
        let Some(at) = memchr::memchr(b'\n', &buffer[from..]) else {
            break;
        };
        let end = from + at;
        from = 0;
        let line = buffer.split_to(end + 1);
        let mut line = &line[..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > settings.max_line_bytes {
            traffic.request();
            traffic.error();
            return Err(too_long(settings.max_line_bytes));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        traffic.request();
        let incoming = rpc::parse_line(line);
        let announced = binary::announced(&incoming);
        let reply = match gate.admit(core, incoming) {
            Gated::Admit(Incoming::Batch(items)) if binary::batch_has_input(&items) => {
                traffic.error();
                return Err(batched_binary());
            }
            Gated::Admit(incoming) => {
                match binary::intercept(core, traffic, incoming, settings.binary_limit) {
                    Intercepted::Plain(incoming) => answer(core, traffic, incoming, subscription),
                    Intercepted::Reply(reply) => Answer::Later(reply),
                    Intercepted::Frame(binary, refusal) => {
                        if let Some(refusal) = refusal {
                            replies.queue(Answer::Later(refusal));
                        }
                        *frame = Some(binary);
                        from = 0;
                        continue;
                    }
                }
            }
            Gated::Answer(reply) => {
                traffic.error();
                // A refused binary request's raw bytes are skipped, not read as lines.
                *frame = announced.map(Frame::discard);
                reply.map_or(Answer::Nothing, Answer::Line)
            }
            Gated::Close(refusal) => {
                traffic.error();
                return Err(refusal);
            }
        };
        replies.queue(reply);
    }
    if buffer.len() > settings.max_line_bytes {
        return Err(too_long(settings.max_line_bytes));
    }
    // Nothing left over: hold no memory until the next bytes arrive.
    if buffer.is_empty() {
        *buffer = BytesMut::new();
    }
    Ok(())
}

fn batched_binary() -> String {
    let error = CallError::new(
        codes::INVALID_REQUEST,
        "a batch cannot carry binary data ({\"$binary\": N}); closing the connection",
    );
    rpc::reply_line(&Value::Null, &Err(error))
}

fn too_long(limit: usize) -> String {
    let error = CallError::new(
        codes::INVALID_REQUEST,
        format!("request line longer than max_line_bytes ({limit}); closing the connection"),
    );
    rpc::reply_line(&Value::Null, &Err(error))
}

/// Answers one request: at once when its command completes at once, else with a
/// future. Batches take the future path as a whole, since their reply is one array line.
///
/// Counts an error on `traffic` for every call that fails (each member of a batch).
fn answer(
    core: &Arc<Core>,
    traffic: &Arc<Traffic>,
    incoming: Incoming,
    subscription: &mut Subscription,
) -> Answer {
    match incoming {
        Incoming::Invalid { id, error } => {
            traffic.error();
            Answer::Now(id, Err(error))
        }
        Incoming::Call { id, method, params } => {
            let outcome = match subscription.handle(core, &method, &params) {
                Some(outcome) => outcome,
                None => match dispatch::call_now(core, &method, params) {
                    Immediate::Done(outcome) => outcome,
                    Immediate::Later(params) => {
                        let (core, traffic) = (core.clone(), traffic.clone());
                        return Answer::Later(
                            async move {
                                let outcome = dispatch::call_later(&core, &method, params).await;
                                if outcome.is_err() {
                                    traffic.error();
                                }
                                id.map(|id| rpc::reply_line(&id, &outcome).into())
                            }
                            .boxed(),
                        );
                    }
                },
            };
            if outcome.is_err() {
                traffic.error();
            }
            match id {
                Some(id) => Answer::Now(id, outcome),
                None => Answer::Nothing,
            }
        }
        Incoming::Batch(items) => {
            let parts: Vec<PendingReply> = items
                .into_iter()
                .map(|item| match item {
                    Incoming::Batch(_) => {
                        traffic.error();
                        ready(Answer::Now(
                            Value::Null,
                            Err(CallError::new(
                                codes::INVALID_REQUEST,
                                "invalid request: nested batch",
                            )),
                        ))
                    }
                    item => ready(answer(core, traffic, item, subscription)),
                })
                .collect();
            Answer::Later(
                async move {
                    let lines: Vec<String> = future::join_all(parts)
                        .await
                        .into_iter()
                        .flatten()
                        .map(|reply| reply.line)
                        .collect();
                    if lines.is_empty() {
                        return None;
                    }
                    let body: Vec<&str> = lines.iter().map(|line| line.trim_end()).collect();
                    Some(format!("[{}]\n", body.join(",")).into())
                }
                .boxed(),
            )
        }
    }
}

/// `answer` as a future of its reply line, for one member of a batch.
fn ready(answer: Answer) -> PendingReply {
    match answer {
        Answer::Now(id, outcome) => {
            future::ready(Some(rpc::reply_line(&id, &outcome).into())).boxed()
        }
        Answer::Line(line) => future::ready(Some(line.into())).boxed(),
        Answer::Later(reply) => reply,
        Answer::Nothing => future::ready(None).boxed(),
    }
}

/// A connection's topics and its bus subscription (made on the first `subscribe`).
#[derive(Default)]
struct Subscription {
    topics: HashSet<String>,
    receiver: Option<broadcast::Receiver<Arc<Event>>>,
}

impl Subscription {
    fn is_active(&self) -> bool {
        self.receiver.is_some()
    }

    fn wants(&self, topic: &str) -> bool {
        self.topics.contains(topic) || self.topics.contains("*")
    }

    async fn next(&mut self) -> Result<Arc<Event>, RecvError> {
        match &mut self.receiver {
            Some(receiver) => receiver.recv().await,
            None => future::pending().await,
        }
    }

    /// The next event if one is already queued.
    fn try_next(&mut self) -> Option<Result<Arc<Event>, RecvError>> {
        use broadcast::error::TryRecvError;
        match self.receiver.as_mut()?.try_recv() {
            Ok(event) => Some(Ok(event)),
            Err(TryRecvError::Lagged(lost)) => Some(Err(RecvError::Lagged(lost))),
            Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
            Err(TryRecvError::Empty) => None,
        }
    }

    fn close(&mut self) {
        self.receiver = None;
    }

    /// Answers `subscribe`/`unsubscribe`; `None` for every other method.
    fn handle(
        &mut self,
        core: &Core,
        method: &str,
        params: &Value,
    ) -> Option<Result<Value, CallError>> {
        let subscribing = match method {
            "subscribe" => true,
            "unsubscribe" => false,
            _ => return None,
        };
        let topics = match topics_param(params) {
            Ok(topics) => topics,
            Err(error) => return Some(Err(error)),
        };
        if subscribing {
            self.topics.extend(topics);
            if self.receiver.is_none() {
                self.receiver = Some(core.bus.subscribe());
            }
        } else {
            for topic in &topics {
                self.topics.remove(topic);
            }
            if self.topics.is_empty() {
                self.receiver = None;
            }
        }
        let mut current: Vec<&String> = self.topics.iter().collect();
        current.sort();
        Some(Ok(call::object([(
            "topics",
            Value::List(current.into_iter().map(|t| Value::Str(t.clone())).collect()),
        )])))
    }
}

/// `{"topics": [...]}` or `[[...]]` or `["a", "b"]`.
fn topics_param(params: &Value) -> Result<Vec<String>, CallError> {
    let list = match params {
        Value::Dict(fields) => fields.get("topics"),
        Value::List(items) => match items.first() {
            Some(inner @ Value::List(_)) if items.len() == 1 => Some(inner),
            _ => Some(params),
        },
        _ => None,
    };
    let Some(Value::List(items)) = list else {
        return Err(CallError::invalid_params(
            "expected {\"topics\": [\"topic\", ...]}",
        ));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Str(topic) if !topic.is_empty() => Ok(topic.clone()),
            _ => Err(CallError::invalid_params(
                "every topic must be a non-empty string",
            )),
        })
        .collect()
}

//! One PyMiner connection: handshake, then requests and (on long connections) pushed
//! frames, until the client leaves.
//!
//! Each connection is its own task, so a slow, silent or hostile client only ever holds
//! itself up (the original handled every short request inline on its accept thread: one
//! client that connected and said nothing froze the server). Requests are answered in
//! order, one at a time, on the connection they came on, long connections included (G1
//! allowed requests there); while a request runs, pushed frames keep flowing. All writes go
//! through this task, so a reply and a broadcast can never interleave mid-frame. Every
//! failure is answered (see [`super::reply`]); a connection is closed only when the stream
//! cannot be resynchronised (a frame over the size limit) or the client is gone.
//!
//! Costs per connection and per request are kept small, as measured by `bench-pyminer`:
//! an idle connection waits for readability without a read buffer (the buffer is taken
//! only when bytes arrive and given back once every frame is consumed), a command that
//! completes at once (`dispatch::call_now`) is answered without a future, and pushed
//! frames already queued are written together in one `write`.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::{BoxFuture, FutureExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::broadcast::{LongConnections, Membership};
use super::framing::FrameDecoder;
use super::handshake::{self, Classified, Generation, Handshake};
use super::reply;
use crate::annotations;
use crate::call::CallError;
use crate::dispatch::{self, Immediate};
use crate::host_core::{Core, Traffic};
use crate::pyjson::{self, Value};

/// How long a client may take to send its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a frame that ends in `PMEND` inside still-open JSON waits for more bytes
/// before it is taken as a (malformed) frame.
pub const OPEN_JSON_GRACE: Duration = Duration::from_millis(500);
/// How long a closing connection may take to flush its last reply.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What every connection of the front end shares.
pub struct Shared {
    pub core: Arc<Core>,
    /// This front end's request and error counters.
    pub traffic: Arc<Traffic>,
    pub long_connections: Arc<LongConnections>,
    pub max_frame_bytes: usize,
}

type PendingReply = BoxFuture<'static, Bytes>;

/// Serves one connection until the client leaves, it is dropped, or shutdown.
pub async fn serve(shared: Arc<Shared>, stream: TcpStream, shutdown: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let stop = shutdown.child_token();
    let Some((handshake, leftover)) = read_handshake(&mut reader, &stop).await else {
        return;
    };
    let generation = handshake.generation();
    let mut membership: Option<Membership> = None;
    let greeting: Option<Bytes> = match &handshake {
        Handshake::G1Long => {
            membership = shared.long_connections.join(None, stop.clone()).ok();
            None
        }
        Handshake::G1Short => Some(Bytes::from_static(b"conn_established")),
        Handshake::G2Long { name: None } => {
            let refusal = reply::g2_status("failed", "socket name is None");
            close_with(writer, reader, refusal).await;
            return;
        }
        Handshake::G2Long { name: Some(name) } => {
            match shared
                .long_connections
                .join(Some(name.clone()), stop.clone())
            {
                Ok(joined) => {
                    membership = Some(joined);
                    Some(reply::g2_status("succeeded", "socket connected"))
                }
                Err(refusal) => {
                    close_with(writer, reader, reply::g2_status("failed", &refusal)).await;
                    return;
                }
            }
        }
        Handshake::G2Short => Some(reply::g2_status("succeeded", "connection established")),
    };
    if let Some(greeting) = greeting {
        if !send(&mut writer, &greeting, &stop).await {
            return;
        }
    }
    tracing::debug!(?handshake, "pyminer: connection established");
    let mut decoder = FrameDecoder::new(shared.max_frame_bytes);
    decoder.extend(&leftover);
    // The leftover shares the handshake's read buffer: let it go now.
    drop(leftover);
    let mut pending: Option<PendingReply> = None;
    let mut reading = true;
    let mut grace_ends: Option<tokio::time::Instant> = None;
    // One wait on the stop token for the connection's life, not one per wake-up.
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    loop {
        if pending.is_none() {
            match decoder.next_frame() {
                // A stray terminator (`long_conn` then `PMEND` in a later packet) asks nothing.
                Ok(Some(frame)) if frame.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Some(frame)) => {
                    match answer(&shared, generation, frame) {
                        Answer::Now(reply) => {
                            if !send(&mut writer, &reply, &stop).await {
                                return;
                            }
                        }
                        Answer::Later(reply) => pending = Some(reply),
                    }
                    continue;
                }
                Ok(None) => {}
                Err(too_large) => {
                    let reason = format!(
                        "request frame larger than the limit, [limits] max_frame_bytes = {}; closing the connection",
                        crate::call::human_size(too_large.limit as u64)
                    );
                    close_with(writer, reader, reply::failure(generation, None, &reason)).await;
                    return;
                }
            }
            if !reading {
                if decoder.has_partial_frame() {
                    let reason = "the request ended without its PMEND terminator";
                    let _ = send(
                        &mut writer,
                        &reply::failure(generation, None, reason),
                        &stop,
                    )
                    .await;
                }
                return;
            }
        }
        // The grace period runs from when the bytes stopped at the terminator, however
        // many pushed frames are written meanwhile.
        let waiting = reading && pending.is_none() && decoder.waiting_at_terminator();
        grace_ends = match (waiting, grace_ends) {
            (false, _) => None,
            (true, Some(deadline)) => Some(deadline),
            (true, None) => Some(tokio::time::Instant::now() + OPEN_JSON_GRACE),
        };
        tokio::select! {
            _ = &mut stopped => return,
            reply = async { pending.as_mut().expect("guarded").await }, if pending.is_some() => {
                pending = None;
                if !send(&mut writer, &reply, &stop).await {
                    return;
                }
            }
            pushed = async { membership.as_mut().expect("guarded").queue.recv().await }, if membership.is_some() => {
                let Some(frame) = pushed else {
                    return;
                };
                let queue = &mut membership.as_mut().expect("guarded").queue;
                if !send_pushed(&mut writer, frame, queue, &stop).await {
                    return;
                }
            }
            ready = reader.readable(), if reading && pending.is_none() => {
                // Readiness first, the buffer only once there are bytes to put in it. A
                // poll, not `try_read_buf`: after a short read tokio then knows the socket
                // is drained, instead of trying once more and getting EAGAIN (an extra
                // syscall per request). Not ready after all: wait again.
                let read = match ready {
                    Ok(()) => reader.read_buf(decoder.buffer_mut()).now_or_never(),
                    Err(err) => Some(Err(err)),
                };
                match read {
                    None | Some(Ok(1..)) => {}
                    Some(Ok(0) | Err(_)) => reading = false,
                }
            }
            _ = tokio::time::sleep_until(grace_ends.unwrap_or_else(tokio::time::Instant::now)), if grace_ends.is_some() => {
                match decoder.cut_at_terminator() {
                    Ok(frame) => match answer(&shared, generation, frame) {
                        Answer::Now(reply) => {
                            if !send(&mut writer, &reply, &stop).await {
                                return;
                            }
                        }
                        Answer::Later(reply) => pending = Some(reply),
                    },
                    Err(_) => return,
                }
            }
        }
    }
}

/// Reads until the first bytes can be classified; `None` if the client left or said
/// nothing in time (it then gets a failure reply where possible).
async fn read_handshake(
    reader: &mut OwnedReadHalf,
    stop: &CancellationToken,
) -> Option<(Handshake, BytesMut)> {
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    let mut bytes = BytesMut::with_capacity(1024);
    loop {
        let complete = tokio::select! {
            _ = stop.cancelled() => return None,
            read = tokio::time::timeout_at(deadline, reader.read_buf(&mut bytes)) => match read {
                Ok(Ok(n)) if n > 0 && bytes.len() <= 64 * 1024 => false,
                // EOF, error, time up or an endless first message: decide with what came.
                _ => true,
            },
        };
        if bytes.is_empty() {
            return None;
        }
        if let Classified::Done { handshake, used } = handshake::classify(&bytes, complete) {
            let leftover = bytes.split_off(used);
            return Some((handshake, leftover));
        }
    }
}

/// A request's reply: ready now, or to be awaited.
enum Answer {
    Now(Bytes),
    Later(PendingReply),
}

/// Parses a request frame and answers it, at once when its command completes at once.
fn answer(shared: &Shared, generation: Generation, frame: BytesMut) -> Answer {
    let (core, traffic) = (&shared.core, &shared.traffic);
    traffic.request();
    let (method, params) = match parse_request(&frame) {
        Ok(request) => request,
        Err(reason) => {
            traffic.error();
            return Answer::Now(reply::failure(generation, None, &reason));
        }
    };
    match dispatch::call_now(core, &method, params) {
        Immediate::Done(outcome) => {
            Answer::Now(reply_to(core, traffic, generation, &method, outcome))
        }
        Immediate::Later(params) => {
            let (core, traffic) = (core.clone(), traffic.clone());
            Answer::Later(
                async move {
                    let outcome = dispatch::call_later(&core, &method, params).await;
                    reply_to(&core, &traffic, generation, &method, outcome)
                }
                .boxed(),
            )
        }
    }
}

/// The reply frame to `method`'s outcome; a G1 failure asks the command's annotations
/// for its own reply (only then: success is the hot path).
fn reply_to(
    core: &Core,
    traffic: &Traffic,
    generation: Generation,
    method: &str,
    outcome: Result<Value, CallError>,
) -> Bytes {
    if outcome.is_err() {
        traffic.error();
    }
    let g1_failure = match (&outcome, generation) {
        (Err(_), Generation::G1) => annotations::pyminer_g1_failure(core, method),
        _ => None,
    };
    reply::outcome(generation, method, g1_failure.as_deref(), outcome)
}

/// `{"method": M, "params": [...]}` (G1) or G2's template; other keys are ignored.
fn parse_request(frame: &[u8]) -> Result<(String, Value), String> {
    let request = pyjson::parse_bytes(frame).map_err(|err| {
        let shown = String::from_utf8_lossy(&frame[..frame.len().min(200)]).into_owned();
        format!("invalid request json: {err}: {shown:?}")
    })?;
    let Value::Dict(mut fields) = request else {
        return Err(
            "invalid request: expected a JSON object with \"method\" and \"params\"".to_owned(),
        );
    };
    let method = match fields.shift_remove("method") {
        Some(Value::Str(method)) => method,
        _ => return Err("invalid request: \"method\" (a string) is required".to_owned()),
    };
    let params = match fields.shift_remove("params") {
        None | Some(Value::Null) => Value::List(Vec::new()),
        Some(params @ (Value::List(_) | Value::Dict(_))) => params,
        Some(_) => return Err("invalid request: \"params\" must be a list".to_owned()),
    };
    Ok((method, params))
}

/// Bytes of pushed frames gathered into one write.
const PUSH_BATCH_BYTES: usize = 64 * 1024;

/// Writes `first` and every frame already queued behind it (up to about
/// [`PUSH_BATCH_BYTES`]) with one write; false if the peer is gone or the connection
/// must stop.
async fn send_pushed(
    writer: &mut OwnedWriteHalf,
    first: Bytes,
    queue: &mut tokio::sync::mpsc::Receiver<Bytes>,
    stop: &CancellationToken,
) -> bool {
    let Ok(second) = queue.try_recv() else {
        return send(writer, &first, stop).await;
    };
    let mut batch = Vec::with_capacity(first.len() * 4);
    batch.extend_from_slice(&first);
    batch.extend_from_slice(&second);
    while batch.len() < PUSH_BATCH_BYTES {
        match queue.try_recv() {
            Ok(frame) => batch.extend_from_slice(&frame),
            Err(_) => break,
        }
    }
    send(writer, &batch, stop).await
}

/// Writes `bytes`; false if the peer is gone or the connection must stop.
async fn send(writer: &mut OwnedWriteHalf, mut bytes: &[u8], stop: &CancellationToken) -> bool {
    // Nearly always the socket takes the whole frame at once: write it without setting up
    // a wait on the stop token (one lock and unlock of the token per write, a visible
    // share of a fan-out to 10,000 connections).
    match writer.try_write(bytes) {
        Ok(written) if written == bytes.len() => return !stop.is_cancelled(),
        Ok(written) => bytes = &bytes[written..],
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(_) => return false,
    }
    tokio::select! {
        _ = stop.cancelled() => false,
        written = writer.write_all(bytes) => written.is_ok(),
    }
}

/// Sends a last reply and closes so that the client can read it: half-close, then read
/// and discard what the client still sends (closing with unread data would reset the
/// connection and could destroy the reply in flight).
async fn close_with(mut writer: OwnedWriteHalf, mut reader: OwnedReadHalf, last: Bytes) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if writer.write_all(&last).await.is_ok() {
            let _ = writer.shutdown().await;
            let mut sink = vec![0u8; 64 * 1024];
            while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_of_both_generations_parse() {
        let (method, params) =
            parse_request(br#"{"method": "read_p", "params": ["x"], "jsonrpc": "2.0", "id": 0}"#)
                .unwrap();
        assert_eq!(
            (method.as_str(), params),
            ("read_p", Value::List(vec![Value::Str("x".into())]))
        );
        let (method, params) = parse_request(
            br#"{"timestamp": 1.5, "name": "A", "contents": "", "method": "get_var_dic"}"#,
        )
        .unwrap();
        assert_eq!(
            (method.as_str(), params),
            ("get_var_dic", Value::List(vec![]))
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert!(parse_request(b"nope")
            .unwrap_err()
            .starts_with("invalid request json: "));
        assert!(parse_request(b"[1]").unwrap_err().contains("JSON object"));
        assert!(parse_request(br#"{"params": []}"#)
            .unwrap_err()
            .contains("\"method\""));
        assert!(parse_request(br#"{"method": "m", "params": 3}"#)
            .unwrap_err()
            .contains("\"params\""));
    }
}

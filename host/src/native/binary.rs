//! Binary frames: raw bytes beside a JSON-RPC line, so large values (a 256 MiB numpy
//! array) travel without base64 inside one JSON line (issue 11, docs/protocol.md).
//!
//! - A request whose params hold one top-level member `{"$binary": N}` (an object field
//!   or an array item) is followed on the stream by exactly N raw bytes. The command
//!   receives them beside its params (plugin ABI 1.2 `attachment`); the marker stays in
//!   the params, so the command knows where the bytes belong.
//! - A request whose params object has `"binary": true` accepts a binary reply: the
//!   command may attach bytes to its result (`attach_reply`); the result line then holds
//!   `{"$binary": N}` where they belong and exactly N raw bytes follow the line.
//!
//! N over `[limits] max_binary_bytes` is refused before the bytes are read, with an error
//! naming the limit, its value and the request's `name`; the connection then reads and
//! discards the N bytes and stays usable. A client that disconnects mid-frame sends
//! nothing to any command: the bytes of a frame reach its command only once complete.
//! Everything else on the connection (pipelining, reply order) is unchanged: a binary
//! request is one more pending reply in order.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::future::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::connection::{BinaryLimit, PendingReply};
use super::rpc::{self, Incoming};
use crate::call::{human_size, CallError};
use crate::dispatch;
use crate::host_core::{Core, Traffic};
use crate::plugins::host_api::PluginBytes;
use crate::pyjson::Value;
use labsocket_plugin_api::codes;
use std::sync::Arc;

/// The key of the marker object that stands for raw bytes: `{"$binary": N}`.
pub(crate) const MARKER: &str = "$binary";

/// The largest chunk the frame buffer grows by at once: a client that announces 256 MiB
/// and sends little holds little memory.
const GROWTH: usize = 8 << 20;

/// One reply as the connection writes it: the line, then the raw bytes of a binary reply.
pub struct Outgoing {
    pub(crate) line: String,
    pub(crate) bytes: Option<PluginBytes>,
}

impl From<String> for Outgoing {
    fn from(line: String) -> Self {
        Outgoing { line, bytes: None }
    }
}

/// Appends `reply` to `out`; when it carries raw bytes, writes `out` and then the bytes
/// (they must follow their line, before anything else).
pub(crate) async fn emit<W: AsyncWrite + Unpin>(
    writer: &mut W,
    out: &mut String,
    reply: Outgoing,
) -> std::io::Result<()> {
    out.push_str(&reply.line);
    if let Some(bytes) = reply.bytes {
        writer.write_all(out.as_bytes()).await?;
        out.clear();
        writer.write_all(&bytes).await?;
        // TLS may keep the end of a write buffered, and `out` (whose write flushes) may
        // stay empty after this reply (a no-op on TCP).
        writer.flush().await?;
    }
    Ok(())
}

/// What a request says about raw bytes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Framing {
    /// N of a `{"$binary": N}` member: raw bytes follow the line.
    pub(crate) input: Option<u64>,
    /// `"binary": true` in the params object: the reply may carry raw bytes.
    pub(crate) accepts_reply: bool,
}

impl Framing {
    fn is_plain(&self) -> bool {
        self.input.is_none() && !self.accepts_reply
    }
}

/// N when `value` is a marker `{"$binary": N}`; an error when it is a malformed one.
fn marker(value: &Value) -> Result<Option<u64>, CallError> {
    let Value::Dict(fields) = value else {
        return Ok(None);
    };
    let Some(size) = fields.get(MARKER) else {
        return Ok(None);
    };
    match size {
        Value::Int(n) if fields.len() == 1 && *n >= 0 => Ok(Some(*n as u64)),
        _ => Err(CallError::invalid_params(
            "a binary marker is {\"$binary\": N}, N the number of raw bytes after the line",
        )),
    }
}

/// Reads the framing of a call from its params' top-level members (no allocation: every
/// request passes here).
pub(crate) fn framing(params: &Value) -> Result<Framing, CallError> {
    let mut framing = Framing::default();
    let mut found = |member: &Value| -> Result<(), CallError> {
        if let Some(size) = marker(member)? {
            if framing.input.replace(size).is_some() {
                return Err(CallError::invalid_params(
                    "one {\"$binary\": N} per request: send the other values in requests of their own",
                ));
            }
        }
        Ok(())
    };
    match params {
        Value::Dict(fields) => {
            let mut accepts_reply = false;
            for (key, member) in fields {
                accepts_reply |= key == "binary" && *member == Value::Bool(true);
                found(member)?;
            }
            framing.accepts_reply = accepts_reply;
        }
        Value::List(items) => items.iter().try_for_each(found)?,
        _ => {}
    }
    Ok(framing)
}

/// The N of a call that announces raw bytes (for skipping them when it is refused).
pub(crate) fn announced(incoming: &Incoming) -> Option<u64> {
    match incoming {
        Incoming::Call { params, .. } => framing(params).ok()?.input,
        _ => None,
    }
}

/// Whether any call of a batch announces raw bytes (a batch cannot carry them: the
/// connection could not tell whose bytes come first).
pub(crate) fn batch_has_input(items: &[Incoming]) -> bool {
    items.iter().any(|item| match item {
        Incoming::Call { params, .. } => {
            matches!(framing(params), Ok(Framing { input: Some(_), .. }))
        }
        _ => false,
    })
}

/// The refusal of a frame over the limit, naming the key (the request's `name`), the
/// limit's setting and its value, in the words of the workspace's own refusal.
fn too_big(params: &Value, method: &str, size: u64, limit: BinaryLimit) -> CallError {
    let what = match params {
        Value::Dict(fields) => match fields.get("name") {
            Some(Value::Str(name)) => format!("value of '{name}'"),
            _ => format!("binary data of the {method} request"),
        },
        _ => format!("binary data of the {method} request"),
    };
    CallError::new(
        codes::INVALID_PARAMS,
        format!(
            "{what} is {}; the limit is {} = {}",
            human_size(size),
            limit.setting,
            human_size(limit.bytes as u64)
        ),
    )
}

/// What the connection does with a request after [`intercept`].
pub(crate) enum Intercepted {
    /// A plain request: answered as before.
    Plain(Incoming),
    /// A binary request whose reply is ready to queue.
    Reply(PendingReply),
    /// Raw bytes follow: read them into the frame first. A frame refused at once (over
    /// the limit) comes with its refusal, to queue now: the client learns it before it
    /// sends the bytes, which are then read and discarded.
    Frame(Frame, Option<PendingReply>),
}

/// Sorts out binary requests: those with raw bytes to read become a [`Frame`], those that
/// only accept a binary reply are called at once, all others pass unchanged.
pub(crate) fn intercept(
    core: &Arc<Core>,
    traffic: &Arc<Traffic>,
    incoming: Incoming,
    limit: BinaryLimit,
) -> Intercepted {
    let Incoming::Call { id, method, params } = incoming else {
        return Intercepted::Plain(incoming);
    };
    let framing = match framing(&params) {
        Ok(framing) if framing.is_plain() => {
            return Intercepted::Plain(Incoming::Call { id, method, params })
        }
        Ok(framing) => framing,
        Err(error) => {
            traffic.error();
            let id = id.unwrap_or(Value::Null);
            return Intercepted::Reply(
                futures_util::future::ready(Some(rpc::reply_line(&id, &Err(error)).into())).boxed(),
            );
        }
    };
    let Some(size) = framing.input else {
        return Intercepted::Reply(call(core, traffic, id, method, params, None, true));
    };
    if size > limit.bytes as u64 {
        traffic.error();
        let error = too_big(&params, &method, size, limit);
        let refusal = id.map(|id| {
            futures_util::future::ready(Some(rpc::reply_line(&id, &Err(error)).into())).boxed()
        });
        return Intercepted::Frame(Frame::discard(size), refusal);
    }
    Intercepted::Frame(
        Frame {
            id,
            method,
            params,
            accepts_reply: framing.accepts_reply,
            remaining: size as usize,
            bytes: Some(BytesMut::with_capacity((size as usize).min(GROWTH))),
        },
        None,
    )
}

/// A binary request whose raw bytes are being read.
pub(crate) struct Frame {
    id: Option<Value>,
    method: String,
    params: Value,
    accepts_reply: bool,
    /// Bytes still to come.
    remaining: usize,
    /// Where they go; `None` when the frame was refused and they are discarded.
    bytes: Option<BytesMut>,
}

impl Frame {
    /// A frame of `size` bytes to read and drop (its request was refused).
    pub(crate) fn discard(size: u64) -> Frame {
        Frame {
            id: None,
            method: String::new(),
            params: Value::Null,
            accepts_reply: false,
            remaining: size as usize,
            bytes: None,
        }
    }

    /// Whether every byte has arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.remaining == 0
    }

    /// Takes the frame's bytes from the front of `buffer` (what arrived with the line).
    pub(crate) fn take_from(&mut self, buffer: &mut BytesMut) {
        let take = self.remaining.min(buffer.len());
        let chunk = buffer.split_to(take);
        if let Some(bytes) = &mut self.bytes {
            bytes.extend_from_slice(&chunk);
        }
        self.remaining -= take;
    }

    /// Whether the next read should go straight into the frame (its bytes are kept and the
    /// connection's buffer holds nothing before them).
    pub(crate) fn reads_directly(&self) -> bool {
        self.bytes.is_some() && !self.is_complete()
    }

    /// Reads the next bytes of the frame straight from `reader`, growing its buffer by at
    /// most [`GROWTH`] at a time; 0 at the end of the stream.
    pub(crate) async fn read<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
    ) -> std::io::Result<usize> {
        let Some(bytes) = &mut self.bytes else {
            return Ok(0);
        };
        if bytes.capacity() == bytes.len() {
            bytes.reserve(self.remaining.min(bytes.len().max(GROWTH)));
        }
        let spare = (bytes.capacity() - bytes.len()).min(self.remaining);
        let read = reader.read_buf(&mut (&mut *bytes).limit(spare)).await?;
        self.remaining -= read;
        Ok(read)
    }

    /// The reply of a complete frame: the command called with its bytes; `None` for a
    /// refused frame (its refusal was queued when it began).
    pub(crate) fn answer(self, core: &Arc<Core>, traffic: &Arc<Traffic>) -> Option<PendingReply> {
        let bytes = self.bytes?.freeze();
        Some(call(
            core,
            traffic,
            self.id,
            self.method,
            self.params,
            Some(bytes),
            self.accepts_reply,
        ))
    }
}

/// Calls `method` through [`dispatch::call_binary`] and renders its reply: a line, and
/// the raw bytes behind it when the command attached some.
fn call(
    core: &Arc<Core>,
    traffic: &Arc<Traffic>,
    id: Option<Value>,
    method: String,
    params: Value,
    input: Option<Bytes>,
    accepts_reply: bool,
) -> PendingReply {
    let (core, traffic) = (core.clone(), traffic.clone());
    async move {
        let outcome = dispatch::call_binary(&core, &method, params, input, accepts_reply).await;
        if outcome.is_err() {
            traffic.error();
        }
        let id = id?;
        Some(match outcome {
            Ok((result, bytes)) => Outgoing {
                line: rpc::reply_line(&id, &Ok(result)),
                bytes,
            },
            Err(error) => rpc::reply_line(&id, &Err(error)).into(),
        })
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson;

    fn framing_of(params: &str) -> Result<Framing, CallError> {
        framing(&pyjson::parse(params).unwrap())
    }

    #[test]
    fn finds_the_marker_and_the_reply_flag_at_the_top_level_only() {
        assert_eq!(
            framing_of(r#"{"name": "x", "value": 1}"#).unwrap(),
            Framing::default()
        );
        assert_eq!(
            framing_of(r#"{"name": "x", "data": {"$binary": 5}}"#).unwrap(),
            Framing {
                input: Some(5),
                accepts_reply: false
            }
        );
        assert_eq!(
            framing_of(r#"["x", {"$binary": 0}]"#).unwrap().input,
            Some(0)
        );
        assert!(
            framing_of(r#"{"name": "x", "binary": true}"#)
                .unwrap()
                .accepts_reply
        );
        assert!(
            !framing_of(r#"{"name": "x", "binary": 1}"#)
                .unwrap()
                .accepts_reply
        );
        // Deeper down it is an ordinary JSON value.
        assert_eq!(
            framing_of(r#"{"value": {"inner": {"$binary": 5}}}"#).unwrap(),
            Framing::default()
        );
    }

    #[test]
    fn refuses_malformed_and_repeated_markers() {
        for params in [
            r#"{"data": {"$binary": -1}}"#,
            r#"{"data": {"$binary": "5"}}"#,
            r#"{"data": {"$binary": 5, "x": 1}}"#,
            r#"{"a": {"$binary": 1}, "b": {"$binary": 2}}"#,
        ] {
            let error = framing_of(params).unwrap_err();
            assert_eq!(error.code, codes::INVALID_PARAMS, "{params}");
        }
    }

    #[test]
    fn a_frame_over_the_limit_names_the_limit_and_the_key() {
        let limit = BinaryLimit {
            bytes: 256 << 20,
            setting: "[limits] max_binary_bytes",
        };
        let params = pyjson::parse(r#"{"name": "x"}"#).unwrap();
        assert_eq!(
            too_big(&params, "workspace.set", 300 << 20, limit).message,
            "value of 'x' is 300 MiB; the limit is [limits] max_binary_bytes = 256 MiB"
        );
        let params = pyjson::parse(r#"["x"]"#).unwrap();
        assert_eq!(
            too_big(&params, "m", 1 << 30, limit).message,
            "binary data of the m request is 1 GiB; the limit is [limits] max_binary_bytes = 256 MiB"
        );
    }
}

//! `PMEND` framing: splitting the byte stream into frames and writing frames safely.
//!
//! PyMiner frames are `<JSON>PMEND` with no length prefix and no escaping. The original
//! server found the end by checking whether a `recv` chunk *ended with* `PMEND` and
//! stripped it as a character set, so a terminator split across reads hung it and a chunk
//! starting with `P`, `M`, `E`, `N` or `D` lost data (reference §5.2, defects 2–4).
//! [`FrameDecoder`] fixes all three:
//!
//! - it keeps the bytes across reads and finds `PMEND` anywhere, also when it arrives in
//!   pieces, and splits several coalesced frames;
//! - a frame that starts with `{` or `[` is scanned as JSON: a `PMEND` inside a JSON
//!   string (base64 contains those letters: about a 9 % chance per 100 MB) does not end
//!   the frame, only one after the JSON value has closed does. If a client stops sending
//!   right after a `PMEND` while the JSON is still open (malformed JSON), the caller can
//!   cut the frame there after a short grace period ([`FrameDecoder::waiting_at_terminator`]),
//!   so the client still gets an error reply;
//! - frames are limited to `max_frame_bytes`.
//!
//! [`encode`] never emits a raw `PMEND` inside a frame: in JSON text that sequence can
//! only occur inside a string, where `P` is written as the equivalent escape `\u0050`,
//! which every JSON parser (Python's `json.loads` included) reads back as `P`.

use bytes::{Bytes, BytesMut};
use memchr::memmem;

/// The frame terminator.
pub const TERMINATOR: &[u8] = b"PMEND";

/// The frame is larger than the limit; the stream cannot be resynchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: usize,
}

/// Where the scanner is inside the current frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// No significant byte of the frame seen yet.
    Start,
    /// Inside a JSON value: the terminator only counts once it is closed.
    Json {
        depth: usize,
        in_string: bool,
        escaped: bool,
    },
    /// Not JSON, or the JSON value has closed: the next `PMEND` ends the frame.
    Plain,
}

/// Splits a byte stream into `PMEND` frames.
pub struct FrameDecoder {
    buffer: BytesMut,
    /// Bytes of `buffer` already scanned for the current frame.
    scanned: usize,
    scan: Scan,
    max_frame_bytes: usize,
}

impl FrameDecoder {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            // Allocated on the first read: an idle long connection holds no buffer.
            buffer: BytesMut::new(),
            scanned: 0,
            scan: Scan::Start,
            max_frame_bytes,
        }
    }

    /// The buffer to read into, with room for a read as large as what is already
    /// buffered (between 8 and 64 KB): small for the usual small request, so the
    /// allocation is cheap to make and give back, and growing for a large frame.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        self.buffer
            .reserve(self.buffer.len().clamp(8 * 1024, 64 * 1024));
        &mut self.buffer
    }

    /// Appends received bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished frame are buffered.
    pub fn has_partial_frame(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next complete frame (without its terminator), if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<BytesMut>, TooLarge> {
        while self.scanned < self.buffer.len() {
            match self.scan {
                Scan::Start => {
                    let byte = self.buffer[self.scanned];
                    if byte.is_ascii_whitespace() {
                        self.scanned += 1;
                    } else if byte == b'{' || byte == b'[' {
                        self.scan = Scan::Json {
                            depth: 0,
                            in_string: false,
                            escaped: false,
                        };
                    } else {
                        self.scan = Scan::Plain;
                    }
                }
                Scan::Json { .. } => self.scan_json(),
                Scan::Plain => {
                    // The terminator may have started in bytes scanned before.
                    let from = self.scanned.saturating_sub(TERMINATOR.len() - 1);
                    match memmem::find(&self.buffer[from..], TERMINATOR) {
                        Some(at) => return self.take(from + at).map(Some),
                        None => self.scanned = self.buffer.len(),
                    }
                }
            }
        }
        if self.buffer.len() > self.max_frame_bytes + TERMINATOR.len() {
            return Err(TooLarge {
                limit: self.max_frame_bytes,
            });
        }
        Ok(None)
    }

    /// Scans JSON bytes from `scanned` until the value closes or the buffer ends.
    fn scan_json(&mut self) {
        let Scan::Json {
            mut depth,
            mut in_string,
            mut escaped,
        } = self.scan
        else {
            return;
        };
        let bytes = &self.buffer[..];
        let mut at = self.scanned;
        while at < bytes.len() {
            if in_string {
                if escaped {
                    escaped = false;
                    at += 1;
                    continue;
                }
                // Jump to the next quote or backslash: long base64 strings go fast.
                match memchr::memchr2(b'"', b'\\', &bytes[at..]) {
                    Some(offset) => {
                        at += offset;
                        if bytes[at] == b'"' {
                            in_string = false;
                        } else {
                            escaped = true;
                        }
                        at += 1;
                    }
                    None => at = bytes.len(),
                }
                continue;
            }
            match bytes[at] {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.scanned = at + 1;
                        self.scan = Scan::Plain;
                        return;
                    }
                }
                _ => {}
            }
            at += 1;
        }
        self.scanned = at;
        self.scan = Scan::Json {
            depth,
            in_string,
            escaped,
        };
    }

    /// Whether the buffered bytes end with `PMEND` inside a JSON value that has not
    /// closed. A well-formed frame's sender keeps sending; a malformed one's waits for a
    /// reply, so after a grace period the caller cuts the frame with
    /// [`FrameDecoder::cut_at_terminator`].
    pub fn waiting_at_terminator(&self) -> bool {
        matches!(self.scan, Scan::Json { .. })
            && self.scanned == self.buffer.len()
            && self.buffer.ends_with(TERMINATOR)
    }

    /// Ends the current frame at the `PMEND` the buffer ends with.
    pub fn cut_at_terminator(&mut self) -> Result<BytesMut, TooLarge> {
        let end = self.buffer.len() - TERMINATOR.len();
        self.take(end)
    }

    /// Removes the frame ending at `end` (where its terminator starts).
    fn take(&mut self, end: usize) -> Result<BytesMut, TooLarge> {
        let mut frame = self.buffer.split_to(end + TERMINATOR.len());
        frame.truncate(end);
        self.scanned = 0;
        self.scan = Scan::Start;
        // Nothing buffered: hold no memory while the connection waits (thousands of idle
        // long connections each kept a 64 KB read buffer), the next read allocates anew.
        if self.buffer.is_empty() {
            self.buffer = BytesMut::new();
        }
        if frame.len() > self.max_frame_bytes {
            return Err(TooLarge {
                limit: self.max_frame_bytes,
            });
        }
        Ok(frame)
    }
}

/// Frames JSON text: `PMEND` inside it becomes `\u0050MEND`, then the terminator.
pub fn encode(json: String) -> Bytes {
    let mut bytes = json.into_bytes();
    if memmem::find(&bytes, TERMINATOR).is_some() {
        let mut escaped = Vec::with_capacity(bytes.len() + 64);
        let mut rest = &bytes[..];
        while let Some(at) = memmem::find(rest, TERMINATOR) {
            escaped.extend_from_slice(&rest[..at]);
            escaped.extend_from_slice(b"\\u0050MEND");
            rest = &rest[at + TERMINATOR.len()..];
        }
        escaped.extend_from_slice(rest);
        bytes = escaped;
    }
    bytes.extend_from_slice(TERMINATOR);
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(decoder: &mut FrameDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(frame) = decoder.next_frame().unwrap() {
            out.push(String::from_utf8(frame.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn coalesced_frames_are_split() {
        let mut decoder = FrameDecoder::new(1024);
        decoder.extend(b"{\"a\": 1}PMEND{\"b\": 2}PMENDnot jsonPMEND{\"c\"");
        assert_eq!(
            frames(&mut decoder),
            ["{\"a\": 1}", "{\"b\": 2}", "not json"]
        );
        decoder.extend(b": 3}PMEND");
        assert_eq!(frames(&mut decoder), ["{\"c\": 3}"]);
        assert!(!decoder.has_partial_frame());
    }

    #[test]
    fn a_terminator_split_at_every_position_is_found() {
        let stream = b"{\"method\": \"read_p\", \"params\": [\"x\"]}PMENDplainPMEND";
        for cut in 0..=stream.len() {
            for second_cut in cut..=stream.len() {
                let mut decoder = FrameDecoder::new(1024);
                let mut got = Vec::new();
                for piece in [
                    &stream[..cut],
                    &stream[cut..second_cut],
                    &stream[second_cut..],
                ] {
                    decoder.extend(piece);
                    got.extend(frames(&mut decoder));
                }
                assert_eq!(
                    got,
                    ["{\"method\": \"read_p\", \"params\": [\"x\"]}", "plain"],
                    "cuts at {cut} and {second_cut}"
                );
            }
        }
    }

    #[test]
    fn pmend_inside_a_json_string_does_not_end_the_frame() {
        let frame = b"{\"params\": [\"abcPMENDdef\\\"PMEND\", {\"k\": \"]}PMEND\"}]}";
        let mut stream = frame.to_vec();
        stream.extend_from_slice(b"PMEND");
        for cut in 0..=stream.len() {
            let mut decoder = FrameDecoder::new(1024);
            decoder.extend(&stream[..cut]);
            let mut got = frames(&mut decoder);
            decoder.extend(&stream[cut..]);
            got.extend(frames(&mut decoder));
            assert_eq!(
                got,
                [String::from_utf8(frame.to_vec()).unwrap()],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn malformed_json_waiting_at_a_terminator_can_be_cut() {
        let mut decoder = FrameDecoder::new(1024);
        decoder.extend(b"{\"method\": \"x\"PMEND");
        assert!(frames(&mut decoder).is_empty());
        assert!(decoder.waiting_at_terminator());
        let frame = decoder.cut_at_terminator().unwrap();
        assert_eq!(&frame[..], b"{\"method\": \"x\"");
        assert!(!decoder.has_partial_frame());
        decoder.extend(b"{\"a\": \"PMEND");
        assert!(decoder.next_frame().unwrap().is_none());
        assert!(decoder.waiting_at_terminator());
        decoder.extend(b"x\"}PMEND");
        assert!(!decoder.waiting_at_terminator());
        assert_eq!(frames(&mut decoder), ["{\"a\": \"PMENDx\"}"]);
    }

    #[test]
    fn whitespace_and_empty_frames() {
        let mut decoder = FrameDecoder::new(1024);
        decoder.extend(b"PMEND \n{}PMEND");
        assert_eq!(frames(&mut decoder), ["", " \n{}"]);
    }

    #[test]
    fn frames_over_the_limit_are_refused() {
        let mut decoder = FrameDecoder::new(8);
        decoder.extend(b"12345678PMEND");
        assert_eq!(frames(&mut decoder), ["12345678"]);
        decoder.extend(b"123456789PMEND");
        assert_eq!(decoder.next_frame(), Err(TooLarge { limit: 8 }));
        let mut decoder = FrameDecoder::new(8);
        decoder.extend(b"{\"a\": \"long string without an end");
        assert_eq!(decoder.next_frame(), Err(TooLarge { limit: 8 }));
    }

    #[test]
    fn encode_escapes_pmend_inside_strings() {
        assert_eq!(&encode("{\"a\": 1}".into())[..], b"{\"a\": 1}PMEND");
        let framed = encode("{\"x\": \"aPMENDbPMEND\"}".into());
        assert_eq!(&framed[..], b"{\"x\": \"a\\u0050MENDb\\u0050MEND\"}PMEND");
        let json = &framed[..framed.len() - 5];
        let value = crate::pyjson::parse_bytes(json).unwrap();
        assert_eq!(
            value.get("x").and_then(|v| v.as_str()),
            Some("aPMENDbPMEND")
        );
    }
}

//! The first bytes of a connection: which PyMiner generation, which kind of connection.
//!
//! Both generations are served on one port (reference §9). The original servers took
//! whatever one `recv(1024)` returned as the handshake; here the bytes are read until they
//! can be classified (a handshake split across reads, or followed at once by a request,
//! is handled), with a trailing `PMEND` tolerated:
//!
//! | first bytes | connection | reply |
//! |---|---|---|
//! | `long_conn` | G1 long | nothing (G1 sent nothing) |
//! | `{"method": "start_long_connection", "name": N, ...}` | G2 long | `{"message": "succeeded", "content": "socket connected", ...}` |
//! | any other JSON object (G2's request template) | G2 short | `{"message": "succeeded", "content": "connection established", ...}` |
//! | anything else (`request_data`, ...) | G1 short | the raw bytes `conn_established` |

use serde_json::Value;

use super::framing::TERMINATOR;

/// The G1 long-connection handshake.
const LONG_CONN: &[u8] = b"long_conn";
/// The G1 request handshake.
const REQUEST_DATA: &[u8] = b"request_data";

/// Which client generation a connection speaks; it decides the status words of replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// PyMiner's plugin of 2020-10 and its clients.
    G1,
    /// pmgwidgets 0.9 clients.
    G2,
}

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// G1 `long_conn`.
    G1Long,
    /// G1 request connection (`request_data` or any other first bytes).
    G1Short,
    /// G2 `start_long_connection` with a name (`None`: missing or null).
    G2Long { name: Option<String> },
    /// G2 request connection (any other JSON object).
    G2Short,
}

impl Handshake {
    pub fn generation(&self) -> Generation {
        match self {
            Handshake::G1Long | Handshake::G1Short => Generation::G1,
            Handshake::G2Long { .. } | Handshake::G2Short => Generation::G2,
        }
    }
}

/// The outcome of looking at the first bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Classified {
    /// The handshake, and how many leading bytes it used (the rest are request bytes).
    Done { handshake: Handshake, used: usize },
    /// The bytes could still become a different handshake: read more.
    NeedMore,
}

/// Classifies the first bytes of a connection. `complete` means no more bytes will come
/// (EOF, or the handshake time is up): decide with what is there.
pub fn classify(bytes: &[u8], complete: bool) -> Classified {
    let undecided = if complete {
        Classified::Done {
            handshake: Handshake::G1Short,
            used: bytes.len(),
        }
    } else {
        Classified::NeedMore
    };
    for (word, handshake) in [
        (LONG_CONN, Handshake::G1Long),
        (REQUEST_DATA, Handshake::G1Short),
    ] {
        if bytes.len() < word.len() {
            if word.starts_with(bytes) {
                return undecided;
            }
            continue;
        }
        if !bytes.starts_with(word) {
            continue;
        }
        let rest = &bytes[word.len()..];
        if rest.starts_with(TERMINATOR) {
            return Classified::Done {
                handshake,
                used: word.len() + TERMINATOR.len(),
            };
        }
        if !rest.is_empty() && TERMINATOR.starts_with(rest) && !complete {
            return Classified::NeedMore;
        }
        if rest.is_empty() || handshake == Handshake::G1Short || rest.starts_with(b"{") {
            // The word directly followed by a request (both in one packet): the rest is
            // the request.
            return Classified::Done {
                handshake,
                used: word.len(),
            };
        }
        // `long_connX...` is not `long_conn`: G1 treated it as a request connection.
        return Classified::Done {
            handshake: Handshake::G1Short,
            used: bytes.len(),
        };
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return if bytes.iter().all(u8::is_ascii_whitespace) {
            undecided
        } else {
            Classified::Done {
                handshake: Handshake::G1Short,
                used: bytes.len(),
            }
        };
    }
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let object = match values.next() {
        Some(Ok(Value::Object(object))) => object,
        Some(Err(err)) if err.is_eof() => return undecided,
        // Not a JSON object: G1 accepted any first bytes as a request handshake.
        _ => {
            return Classified::Done {
                handshake: Handshake::G1Short,
                used: bytes.len(),
            }
        }
    };
    let mut used = values.byte_offset();
    let after = &bytes[used..];
    let spaces = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let rest = &after[spaces..];
    if rest.starts_with(TERMINATOR) {
        used += spaces + TERMINATOR.len();
    } else if !rest.is_empty() && TERMINATOR.starts_with(rest) && !complete {
        return Classified::NeedMore;
    }
    let handshake = match object.get("method").and_then(Value::as_str) {
        Some("start_long_connection") => Handshake::G2Long {
            name: match object.get("name") {
                None | Some(Value::Null) => None,
                Some(Value::String(name)) => Some(name.clone()),
                // Python used any JSON value as the dict key; its str() is the name.
                Some(other) => Some(other.to_string()),
            },
        },
        _ => Handshake::G2Short,
    };
    Classified::Done { handshake, used }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(handshake: Handshake, used: usize) -> Classified {
        Classified::Done { handshake, used }
    }

    #[test]
    fn g1_words_exactly_with_optional_terminator() {
        for (sent, handshake, used) in [
            (&b"long_conn"[..], Handshake::G1Long, 9),
            (b"long_connPMEND", Handshake::G1Long, 14),
            (b"request_data", Handshake::G1Short, 12),
            (
                b"request_data{\"method\": \"x\"}PMEND",
                Handshake::G1Short,
                12,
            ),
            (b"long_connection", Handshake::G1Short, 15),
        ] {
            assert_eq!(classify(sent, false), done(handshake, used), "{sent:?}");
        }
    }

    #[test]
    fn prefixes_wait_for_more_unless_complete() {
        for prefix in [
            &b"long_"[..],
            b"request_",
            b"long_connPM",
            b"{\"method\": ",
            b" ",
        ] {
            assert_eq!(classify(prefix, false), Classified::NeedMore, "{prefix:?}");
            assert_eq!(
                classify(prefix, true),
                done(Handshake::G1Short, prefix.len()),
                "{prefix:?}"
            );
        }
    }

    #[test]
    fn anything_else_is_a_g1_request_connection() {
        assert_eq!(classify(b"hello", false), done(Handshake::G1Short, 5));
        assert_eq!(classify(b"123", false), done(Handshake::G1Short, 3));
        assert_eq!(classify(b"{bad json", false), done(Handshake::G1Short, 9));
        assert_eq!(classify(b"[1, 2]", false), done(Handshake::G1Short, 6));
    }

    #[test]
    fn g2_handshakes() {
        let long = b"{\"method\": \"start_long_connection\", \"name\": \"A\", \"params\": [], \"id\": 0}PMEND";
        assert_eq!(
            classify(long, false),
            done(
                Handshake::G2Long {
                    name: Some("A".into())
                },
                long.len()
            )
        );
        let nameless = b"{\"method\": \"start_long_connection\", \"name\": null}";
        assert_eq!(
            classify(nameless, false),
            done(Handshake::G2Long { name: None }, nameless.len())
        );
        let template = b"{\"timestamp\": 1.5, \"name\": \"Anonymous BaseClient\", \"contents\": \"\", \"method\": \"request_data\"}";
        assert_eq!(
            classify(template, false),
            done(Handshake::G2Short, template.len())
        );
        let mut with_request = template.to_vec();
        with_request.extend_from_slice(b"{\"method\": \"read_p\"}PMEND");
        assert_eq!(
            classify(&with_request, false),
            done(Handshake::G2Short, template.len())
        );
        assert_eq!(
            classify(&long[..long.len() - 2], false),
            Classified::NeedMore
        );
    }

    #[test]
    fn generations() {
        assert_eq!(Handshake::G1Long.generation(), Generation::G1);
        assert_eq!(Handshake::G2Short.generation(), Generation::G2);
    }
}

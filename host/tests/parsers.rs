//! Property tests of the parsers every client can reach: whatever bytes arrive, parsing
//! returns a value or an error (never a panic), and what the writers produce parses back.

use labsocket::config::Config;
use labsocket::native::plain_request;
use labsocket::native::rpc::{self, Incoming};
use labsocket::pyjson::{self, Value};
use proptest::prelude::*;

/// Arbitrary JSON values, non-finite floats included (our protocol allows them).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec((".{0,6}", inner), 0..6)
                .prop_map(|pairs| Value::Dict(pairs.into_iter().collect())),
        ]
    })
}

/// NaN is not equal to itself; compare through the compact text instead.
fn same(a: &Value, b: &Value) -> bool {
    pyjson::to_compact_json(a) == pyjson::to_compact_json(b)
}

proptest! {
    #[test]
    fn rpc_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = rpc::parse_line(&bytes);
    }

    #[test]
    fn json_text_never_panics(text in ".{0,200}") {
        let _ = pyjson::parse(&text);
    }

    #[test]
    fn compact_and_python_json_round_trip(value in json_value()) {
        let compact = pyjson::parse(&pyjson::to_compact_json(&value)).unwrap();
        prop_assert!(same(&compact, &value));
        let python = pyjson::parse(&pyjson::to_python_json(&value)).unwrap();
        prop_assert!(same(&python, &value));
    }

    #[test]
    fn any_request_echoes_its_params(params in json_value(), id in any::<i64>()) {
        let params = match params {
            list @ Value::List(_) => list,
            other => Value::List(vec![other]),
        };
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"echo\",\"params\":{}}}",
            pyjson::to_compact_json(&params)
        );
        match rpc::parse_line(line.as_bytes()) {
            Incoming::Call { id: Some(Value::Int(got)), method, params: parsed } => {
                prop_assert_eq!(got, id);
                prop_assert_eq!(method, "echo");
                prop_assert!(same(&parsed, &params));
            }
            other => prop_assert!(false, "not a call: {:?}", other),
        }
    }

    #[test]
    fn config_text_never_panics(text in "[\\[\\]a-z_=\"0-9. \n]{0,200}") {
        let _ = Config::parse(&text, "fuzz.toml");
    }
}

/// The native fast path ([`plain_request`]) either declines a line or gives exactly what the
/// full parser gives; it never panics (issue 11: a string ending in a lone backslash did).
fn fast_path_agrees(line: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = plain_request::parse(line) {
        prop_assert_eq!(
            format!("{fast:?}"),
            format!("{:?}", rpc::parse_general(line)),
            "for {:?}",
            String::from_utf8_lossy(line)
        );
    }
    Ok(())
}

/// Strings rich in what JSON escapes (quotes, backslashes, control and non-ASCII characters).
fn escapable_text() -> impl Strategy<Value = String> {
    "[a-z\\\\\"\n\t\u{1}\u{e9}\u{1F600}/]{0,8}"
}

/// A JSON string literal for `text`, escaped by `pyjson` or, half the time, with every
/// character written as `\uXXXX` (so truncations also end inside `\u` escapes).
fn string_literal(text: &str, unicode_escapes: bool) -> String {
    if !unicode_escapes {
        return pyjson::to_compact_json(&Value::Str(text.to_owned()));
    }
    let escaped: String = text
        .encode_utf16()
        .map(|unit| format!("\\u{unit:04x}"))
        .collect();
    format!("\"{escaped}\"")
}

/// Valid request lines of every shape the fast path looks at: fields in any order, with
/// or without spaces, ids of every type, methods and params with escapes or without.
fn request_line() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        any::<i64>().prop_map(|id| id.to_string()),
        Just("null".to_owned()),
        Just("123456789012345678901234".to_owned()),
        (escapable_text(), any::<bool>()).prop_map(|(text, u)| string_literal(&text, u)),
    ];
    let method = (escapable_text(), any::<bool>()).prop_map(|(text, u)| string_literal(&text, u));
    let params = json_value().prop_map(|value| match value {
        list @ (Value::List(_) | Value::Dict(_)) => pyjson::to_compact_json(&list),
        other => pyjson::to_compact_json(&Value::List(vec![other])),
    });
    (
        prop::option::of(id),
        method,
        prop::option::of(params),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(id, method, params, spaced, order)| {
            let mut fields = vec![("jsonrpc", "\"2.0\"".to_owned()), ("method", method)];
            fields.extend(id.map(|id| ("id", id)));
            fields.extend(params.map(|params| ("params", params)));
            // A cheap shuffle driven by `order` (proptest shrinks it towards the plain order).
            let len = fields.len();
            fields.rotate_left((order % len as u64) as usize);
            if order & 0x100 != 0 {
                fields.swap(0, len - 1);
            }
            let gap = if spaced { " " } else { "" };
            let body: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{gap}\"{key}\"{gap}:{gap}{value}{gap}"))
                .collect();
            format!("{gap}{{{}}}{gap}", body.join(","))
        })
}

proptest! {
    #[test]
    fn fast_path_agrees_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        fast_path_agrees(&bytes)?;
    }

    #[test]
    fn fast_path_agrees_on_json_like_bytes(text in "[{}\\[\\]\":,\\\\ a-z0-9.u-]{0,64}") {
        fast_path_agrees(text.as_bytes())?;
    }

    #[test]
    fn fast_path_agrees_on_every_truncation_of_a_request(line in request_line()) {
        let bytes = line.as_bytes();
        // The whole line is a valid call whichever path takes it.
        prop_assert!(
            matches!(rpc::parse_line(bytes), Incoming::Call { .. }),
            "not a call: {}", line
        );
        for end in 0..=bytes.len() {
            fast_path_agrees(&bytes[..end])?;
        }
    }
}

#[test]
fn a_string_ending_in_a_lone_backslash_is_a_parse_error() {
    for line in [
        "{\"jsonrpc\":\"2.0\",\"id\":\"\\",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[\"\\",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\\",
    ] {
        assert!(plain_request::parse(line.as_bytes()).is_none(), "{line}");
        match rpc::parse_line(line.as_bytes()) {
            Incoming::Invalid { error, .. } => {
                assert!(
                    error.message.starts_with("parse error"),
                    "{line}: {error:?}"
                )
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

mod pmend_framer {
    use labsocket::pyminer::framing::{encode, FrameDecoder};
    use proptest::prelude::*;

    use super::{json_value, same};
    use labsocket::pyjson;

    /// Every frame of `stream`, fed in pieces of the sizes in `cuts` (cycled).
    fn frames(stream: &[u8], cuts: &[usize], limit: usize) -> Option<Vec<Vec<u8>>> {
        let mut decoder = FrameDecoder::new(limit);
        let mut found = Vec::new();
        let mut rest = stream;
        let mut sizes = cuts.iter().cycle();
        while !rest.is_empty() {
            let size = sizes.next().copied().unwrap_or(rest.len()).max(1);
            let (piece, tail) = rest.split_at(size.min(rest.len()));
            rest = tail;
            decoder.extend(piece);
            while let Some(frame) = decoder.next_frame().ok()? {
                found.push(frame.to_vec());
            }
        }
        Some(found)
    }

    /// Bytes that are mostly frame-shaped: JSON punctuation, quotes, escapes and the
    /// letters of the terminator.
    fn framey_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b'{'),
                Just(b'}'),
                Just(b'['),
                Just(b']'),
                Just(b'"'),
                Just(b'\\'),
                Just(b' '),
                Just(b'P'),
                Just(b'M'),
                Just(b'E'),
                Just(b'N'),
                Just(b'D'),
                any::<u8>(),
            ],
            0..200,
        )
    }

    proptest! {
        #[test]
        fn frames_do_not_depend_on_how_the_stream_is_cut(
            stream in framey_bytes(),
            cuts in prop::collection::vec(1usize..16, 0..6),
        ) {
            let whole = frames(&stream, &[], 1 << 20);
            let pieces = frames(&stream, &cuts, 1 << 20);
            prop_assert_eq!(whole, pieces);
        }

        #[test]
        fn frames_never_exceed_the_limit(stream in framey_bytes(), limit in 1usize..64) {
            if let Some(found) = frames(&stream, &[7], limit) {
                prop_assert!(found.iter().all(|frame| frame.len() <= limit));
            }
        }

        #[test]
        fn encoded_values_come_back_as_one_frame_each(
            values in prop::collection::vec(json_value(), 1..4),
            cut in 1usize..32,
        ) {
            let mut stream = Vec::new();
            for value in &values {
                stream.extend_from_slice(&encode(pyjson::to_python_json(value)));
            }
            let found = frames(&stream, &[cut], stream.len()).expect("within the limit");
            prop_assert_eq!(found.len(), values.len());
            for (frame, value) in found.iter().zip(&values) {
                prop_assert!(same(&pyjson::parse_bytes(frame).unwrap(), value));
            }
        }
    }
}

mod pull_commands {
    use std::collections::BTreeMap;

    use labsocket::events::EventBus;
    use labsocket::points::PointTable;
    use labsocket::pyexplabsys::config::{PullKind, PullSocketConfig};
    use labsocket::pyexplabsys::pull::{Answer, PullSocket};
    use labsocket::pyjson::Value;
    use proptest::prelude::*;

    fn socket() -> PullSocket {
        let config = PullSocketConfig {
            name: "prop".to_owned(),
            kind: PullKind::Data,
            port: None,
            codenames: vec!["a".to_owned(), "b".to_owned()],
            timeouts: BTreeMap::new(),
            timeout: None,
            check_activity: true,
            activity_timeout: 900.0,
            allow: None,
        };
        let points = PointTable::new(EventBus::new());
        points.set("a", Value::Float(1.5), Value::Int(7), Some(1.0));
        PullSocket::new(&config, points)
    }

    proptest! {
        #[test]
        fn any_request_gets_a_reply_status_or_nothing(request in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut out = String::new();
            match socket().answer(&request, 2.0, &mut out) {
                Answer::Reply => prop_assert!(!out.is_empty()),
                Answer::Status => prop_assert_eq!(&request[..], b"status"),
                Answer::Nothing => prop_assert!(!request.is_ascii()),
            }
        }

        #[test]
        fn unknown_commands_get_unknown_commmand(request in "[a-z_#]{0,20}") {
            let known = ["raw", "json", "raw_wn", "json_wn", "codenames_raw", "codenames_json",
                "name", "status", "a#raw", "a#json", "b#raw", "b#json"];
            prop_assume!(!known.contains(&request.as_str()));
            let mut out = String::new();
            prop_assert_eq!(socket().answer(request.as_bytes(), 2.0, &mut out), Answer::Reply);
            prop_assert_eq!(out, "UNKNOWN_COMMMAND");
        }
    }

    #[test]
    fn a_codename_reads_its_point() {
        let mut out = String::new();
        socket().answer(b"a#raw", 2.0, &mut out);
        assert_eq!(out, "1.5,7");
    }
}

mod push_payloads {
    use labsocket::pyexplabsys::push::{parse_json_wn, parse_raw_wn};
    use labsocket::pyjson::{self, Value};
    use proptest::prelude::*;

    use super::{json_value, same};

    proptest! {
        #[test]
        fn json_wn_never_panics(text in ".{0,200}") {
            let _ = parse_json_wn(&text);
        }

        #[test]
        fn raw_wn_never_panics(text in "[a-z0-9:;,._+eEx -]{0,120}") {
            let _ = parse_raw_wn(&text);
        }

        #[test]
        fn json_wn_reads_back_any_dict(
            pairs in prop::collection::vec(("[a-z]{1,6}", json_value()), 0..6),
        ) {
            let dict = Value::Dict(pairs.into_iter().collect());
            let parsed = parse_json_wn(&pyjson::to_python_json(&dict)).unwrap();
            prop_assert!(same(&Value::Dict(parsed), &dict));
        }

        #[test]
        fn json_wn_refuses_what_is_not_a_dict(value in json_value()) {
            prop_assume!(!matches!(value, Value::Dict(_)));
            prop_assert!(parse_json_wn(&pyjson::to_python_json(&value)).is_err());
        }

        #[test]
        fn raw_wn_reads_back_ints(
            fields in prop::collection::vec(prop::collection::vec(any::<i64>(), 1..4), 1..5),
        ) {
            let text: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, ints)| {
                    let values: Vec<String> = ints.iter().map(i64::to_string).collect();
                    format!("n{i}:int:{}", values.join(","))
                })
                .collect();
            let parsed = parse_raw_wn(&text.join(";")).unwrap();
            prop_assert_eq!(parsed.len(), fields.len());
            for (i, ints) in fields.iter().enumerate() {
                let expected = match &ints[..] {
                    [one] => Value::Int(*one),
                    many => Value::List(many.iter().map(|i| Value::Int(*i)).collect()),
                };
                prop_assert_eq!(parsed.get(&format!("n{i}")), Some(&expected));
            }
        }
    }
}

mod pickles {
    use proptest::prelude::*;
    use workspace::pickle::{
        check_opcodes, is_pickled_none, read_str_dict, type_hint, write_str_list,
    };

    /// Bytes that are mostly pickle opcodes and small arguments.
    fn pickle_like() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(0x80u8),
                Just(b'}'),
                Just(b'('),
                Just(b'X'),
                Just(b'N'),
                Just(b'u'),
                Just(b's'),
                Just(b'.'),
                Just(0x8c),
                Just(0x94),
                Just(b'q'),
                Just(b'c'),
                Just(b'R'),
                any::<u8>(),
            ],
            0..128,
        )
    }

    proptest! {
        #[test]
        fn the_pickle_readers_never_panic(bytes in pickle_like()) {
            let _ = read_str_dict(&bytes);
            let _ = check_opcodes(&bytes);
            let _ = is_pickled_none(&bytes);
            prop_assert!(["string", "array", "table", "numeric", "other"].contains(&type_hint(&bytes)));
        }

        #[test]
        fn written_string_lists_are_well_formed(items in prop::collection::vec(".{0,12}", 0..8)) {
            let refs: Vec<&str> = items.iter().map(String::as_str).collect();
            let pickle = write_str_list(&refs);
            prop_assert!(check_opcodes(&pickle).is_ok());
            prop_assert!(read_str_dict(&pickle).is_err(), "a list is not a dict");
        }
    }
}

mod pyminer_handshakes_and_live_datagrams {
    use labsocket::live_server::datagram;
    use labsocket::pyminer::handshake::{classify, Classified};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn handshakes_never_use_more_bytes_than_sent(bytes in prop::collection::vec(any::<u8>(), 0..64), complete in any::<bool>()) {
            if let Classified::Done { used, .. } = classify(&bytes, complete) {
                prop_assert!(used <= bytes.len());
            }
            if complete {
                let decided = matches!(classify(&bytes, true), Classified::Done { .. });
                prop_assert!(decided, "complete bytes are always classified");
            }
        }

        #[test]
        fn live_datagrams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = datagram::parse(&bytes);
        }
    }
}

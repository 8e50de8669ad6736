//! Tests of the pickle module. Vectors produced by real Python live in
//! `test_vectors.rs`. The hand-built pickles below were run through CPython
//! 3.11's `pickle.loads` when they were written: those read successfully load
//! to the value noted, the broken ones fail there too, except where a comment
//! says this module is stricter.

use std::collections::HashMap;

use super::opcodes::{self as op, Tokenizer};
use super::test_vectors::*;
use super::*;

type Dict = Vec<(String, Option<String>)>;

fn dict(items: &[(&str, Option<&str>)]) -> Dict {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

// ---------------------------------------------------------------- read_str_dict

#[test]
fn reads_the_pyminer_dict_at_every_protocol_and_with_cloudpickle() {
    let expected = dict(&[
        ("a", Some("gASVBQAAAAAAAABLAS4=")),
        ("b", None),
        ("ünï", Some("x")),
    ]);
    for (name, vector) in [
        ("p0", DICT_P0),
        ("p1", DICT_P1),
        ("p2", DICT_P2),
        ("p3", DICT_P3),
        ("p4", DICT_P4),
        ("p5", DICT_P5),
        ("cloudpickle", DICT_CLOUDPICKLE),
    ] {
        assert_eq!(read_str_dict(vector).as_ref(), Ok(&expected), "{name}");
    }
}

#[test]
fn reads_the_empty_dict_at_every_protocol() {
    // pickle.dumps({}, protocol=0..=5) (cloudpickle's is the protocol-5 one).
    for vector in [
        &b"(dp0\n."[..],
        b"}q\x00.",
        b"\x80\x02}q\x00.",
        b"\x80\x03}q\x00.",
        b"\x80\x04}\x94.",
        b"\x80\x05}\x94.",
    ] {
        assert_eq!(read_str_dict(vector), Ok(vec![]), "{vector:?}");
    }
}

#[test]
fn memo_gets_of_a_reused_string_object_work() {
    let expected = dict(&[("zz", Some("zz")), ("q", Some("zz"))]);
    for vector in [MEMO_P0, MEMO_P1, MEMO_P4] {
        assert_eq!(read_str_dict(vector).as_ref(), Ok(&expected), "{vector:?}");
    }
}

#[test]
fn protocol_0_raw_unicode_escapes_are_decoded() {
    let expected = dict(&[("a\n\\\u{1234}\u{1f600} \0é", Some("x"))]);
    assert_eq!(read_str_dict(ESCAPES_P0), Ok(expected));
    // An escape counts only after an odd number of backslashes, like Python:
    // {'\\\\u0041': '\\\\A'}.
    let vector = b"(dp0\nV\\\\u0041\np1\nV\\\\\\u0041\np2\ns.";
    assert_eq!(
        read_str_dict(vector),
        Ok(dict(&[("\\\\u0041", Some("\\\\A"))]))
    );
}

#[test]
fn python_2_str_opcodes_are_read_as_ascii_like_python_3() {
    // {'a': 'bA\n'}
    let vector = b"(dp0\nS'a'\np1\nS\"b\\x41\\n\"\np2\ns.";
    assert_eq!(read_str_dict(vector), Ok(dict(&[("a", Some("bA\n"))])));
    // {'a': 'b'} with SHORT_BINSTRING and BINSTRING.
    let vector = b"}(U\x01aT\x01\x00\x00\x00bu.";
    assert_eq!(read_str_dict(vector), Ok(dict(&[("a", Some("b"))])));
    // Python 3 refuses non-ASCII here ('ascii' codec can't decode byte 0xe9).
    let vector = b"(dp0\nS'a'\np1\nS'\\xe9'\np2\ns.";
    assert!(matches!(
        read_str_dict(vector),
        Err(PickleError::Malformed { offset: 13, .. })
    ));
    // "the STRING opcode argument must be quoted"
    let vector = b"(dp0\nS'a\np1\nS'b'\np2\ns.";
    assert!(matches!(
        read_str_dict(vector),
        Err(PickleError::Malformed { offset: 5, .. })
    ));
}

#[test]
fn a_repeated_key_keeps_its_first_position_and_last_value() {
    // {'a': 'z', 'b': 'y'}: protocol 0 with a memo GET of the key.
    let vector = b"(dp0\nVa\np1\nVx\np2\nsVb\np3\nVy\np4\nsg1\nVz\np5\ns.";
    let expected = dict(&[("a", Some("z")), ("b", Some("y"))]);
    assert_eq!(read_str_dict(vector), Ok(expected));
    // {'a': 'z', 'b': None}: protocol 2, one SETITEMS batch.
    let vector = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00xq\x02\
        X\x01\x00\x00\x00bq\x03NX\x01\x00\x00\x00aX\x01\x00\x00\x00zu.";
    let expected = dict(&[("a", Some("z")), ("b", None)]);
    assert_eq!(read_str_dict(vector), Ok(expected));
}

#[test]
fn dict_opcode_with_items_binunicode8_and_frames_are_read() {
    // {'a': 'b'} built by DICT from the marked items.
    assert_eq!(read_str_dict(b"(Va\nVb\nd."), Ok(dict(&[("a", Some("b"))])));
    // {'a': 'b'}: two FRAMEs and a BINUNICODE8 key.
    let vector = b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00}\x94(\
        \x95\x11\x00\x00\x00\x00\x00\x00\x00\x8d\x01\x00\x00\x00\x00\x00\x00\x00a\x94\
        \x8c\x01b\x94u.";
    assert_eq!(read_str_dict(vector), Ok(dict(&[("a", Some("b"))])));
}

#[test]
fn bytes_after_stop_are_ignored_like_pickle_loads() {
    let mut vector = DICT_P2.to_vec();
    vector.extend_from_slice(b"trailing garbage");
    assert_eq!(read_str_dict(&vector).map(|d| d.len()), Ok(3));
}

/// FNV-1a, 64 bits: lets a test compare with a long CPython pickle by digest.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes a dict of str exactly as CPython 3.11's C pickler does at protocol
/// 2, treating equal strings as one (interned) object: the dict is memo 0,
/// each new string gets the next memo index (BINPUT, then LONG_BINPUT from
/// 256) and a reused one a BINGET / LONG_BINGET; items go in SETITEMS batches
/// of 1000, or one SETITEM for a single-item dict.
fn cpython_protocol_2_dict(entries: &Dict) -> Vec<u8> {
    fn save_str(out: &mut Vec<u8>, memo: &mut HashMap<String, u32>, s: &str) {
        let (short, long) = match memo.get(s) {
            Some(&index) => ((op::BINGET, index), (op::LONG_BINGET, index)),
            None => {
                out.push(op::BINUNICODE);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
                let index = memo.len() as u32 + 1;
                memo.insert(s.to_string(), index);
                ((op::BINPUT, index), (op::LONG_BINPUT, index))
            }
        };
        match u8::try_from(short.1) {
            Ok(index) => out.extend_from_slice(&[short.0, index]),
            Err(_) => {
                out.push(long.0);
                out.extend_from_slice(&long.1.to_le_bytes());
            }
        }
    }
    let mut memo = HashMap::new();
    let mut out = vec![op::PROTO, 2, op::EMPTY_DICT, op::BINPUT, 0];
    let mut save_item = |out: &mut Vec<u8>, (k, v): &(String, Option<String>)| {
        save_str(out, &mut memo, k);
        match v {
            Some(v) => save_str(out, &mut memo, v),
            None => out.push(op::NONE),
        }
    };
    if entries.len() == 1 {
        save_item(&mut out, &entries[0]);
        out.push(op::SETITEM);
    } else {
        for batch in entries.chunks(1000) {
            out.push(op::MARK);
            for item in batch {
                save_item(&mut out, item);
            }
            out.push(op::SETITEMS);
        }
    }
    out.push(op::STOP);
    out
}

#[test]
fn reads_a_1001_entry_cpython_dict_with_long_memo_indices() {
    // keys = [sys.intern(f'k{i:04}') for i in range(1001)]; value None if
    // i % 7 == 0, else keys[i - 1] if i % 5 == 0, else
    // sys.intern('v' * (i % 300) + 'ü'); pickle.dumps(d, 2) is 55614 bytes
    // with FNV-1a 0x3918672af6171dc5, 365 LONG_BINGETs and 253 BINGETs.
    let keys: Vec<String> = (0..1001).map(|i| format!("k{i:04}")).collect();
    let entries: Dict = (0..1001)
        .map(|i| {
            let value = if i % 7 == 0 {
                None
            } else if i % 5 == 0 {
                Some(keys[i - 1].clone())
            } else {
                Some(format!("{}ü", "v".repeat(i % 300)))
            };
            (keys[i].clone(), value)
        })
        .collect();
    let vector = cpython_protocol_2_dict(&entries);
    assert_eq!(vector.len(), 55614);
    assert_eq!(fnv1a(&vector), 0x3918_672a_f617_1dc5);
    assert_eq!(read_str_dict(&vector), Ok(entries));
}

#[test]
fn single_item_dicts_use_setitem() {
    let entries = dict(&[("x", Some("y"))]);
    let vector = cpython_protocol_2_dict(&entries);
    // pickle.dumps({'x': 'y'}, 2)
    assert_eq!(
        vector,
        b"\x80\x02}q\x00X\x01\x00\x00\x00xq\x01X\x01\x00\x00\x00yq\x02s."
    );
    assert_eq!(read_str_dict(&vector), Ok(entries));
}

#[test]
fn code_execution_opcodes_are_refused_with_their_name() {
    let exploit = b"cos\nsystem\n(S'echo hi'\ntR.";
    let err = read_str_dict(exploit).unwrap_err();
    assert_eq!(
        err,
        PickleError::UnsupportedOpcode {
            opcode: b'c',
            name: "GLOBAL",
            offset: 0
        }
    );
    assert_eq!(
        err.to_string(),
        "unsupported pickle opcode 'c' (GLOBAL) at byte 0: the server never executes pickles"
    );
    // cloudpickle.dumps({'a': 1+2j}) has a STACK_GLOBAL at byte 38.
    let complex_value = b"\x80\x05\x955\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94\
        \x8c\x08builtins\x94\x8c\x07complex\x94\x93\x94G?\xf0\x00\x00\x00\x00\x00\x00\
        G@\x00\x00\x00\x00\x00\x00\x00\x86\x94R\x94s.";
    assert_eq!(
        read_str_dict(complex_value).unwrap_err().to_string(),
        "unsupported pickle opcode 0x93 (STACK_GLOBAL) at byte 38: \
         the server never executes pickles"
    );
    // Every other opcode that is not part of a dict of str, right after `}`.
    for (name, bytes) in [
        ("GLOBAL", &b"cos\nsystem\n"[..]),
        ("STACK_GLOBAL", b"\x93"),
        ("REDUCE", b"R"),
        ("BUILD", b"b"),
        ("INST", b"ios\nsystem\n"),
        ("OBJ", b"o"),
        ("NEWOBJ", b"\x81"),
        ("NEWOBJ_EX", b"\x92"),
        ("EXT1", b"\x82\x01"),
        ("EXT4", b"\x84\x01\x00\x00\x00"),
        ("PERSID", b"P1\n"),
        ("BINPERSID", b"Q"),
        ("EMPTY_LIST", b"]"),
        ("APPEND", b"a"),
        ("BININT1", b"K\x01"),
        ("LONG1", b"\x8a\x01\x01"),
        ("BINFLOAT", b"G\x00\x00\x00\x00\x00\x00\x00\x00"),
        ("NEWTRUE", b"\x88"),
        ("SHORT_BINBYTES", b"C\x01a"),
        ("BYTEARRAY8", b"\x96\x00\x00\x00\x00\x00\x00\x00\x00"),
        ("NEXT_BUFFER", b"\x97"),
        ("POP", b"0"),
        ("DUP", b"2"),
        ("TUPLE1", b"\x85"),
        ("EMPTY_SET", b"\x8f"),
    ] {
        let mut vector = b"\x80\x02}".to_vec();
        vector.extend_from_slice(bytes);
        vector.push(op::STOP);
        match read_str_dict(&vector) {
            Err(PickleError::UnsupportedOpcode {
                name: got,
                offset: 3,
                ..
            }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn valid_pickles_of_other_shapes_are_not_a_dict_of_str() {
    let not_str_dict = |vector: &[u8]| match read_str_dict(vector) {
        Err(PickleError::NotStrDict(reason)) => reason,
        other => panic!("{vector:?}: {other:?}"),
    };
    // {None: 'a'}
    assert_eq!(
        not_str_dict(b"}(NX\x01\x00\x00\x00au."),
        "a key is None, not str"
    );
    // 'a' (a str, not a dict)
    assert_eq!(
        not_str_dict(b"\x80\x04\x8c\x01a\x94."),
        "the pickle holds a str, not a dict"
    );
    // {'a': {}}
    assert!(not_str_dict(b"}(Va\n}u.").starts_with("a second dict at byte 5"));
    // d = {}; d['a'] = d
    assert_eq!(
        not_str_dict(b"}q\x00(Va\nh\x00u."),
        "the value of key \"a\" is a dict, not str or None"
    );
    assert_eq!(
        PickleError::NotStrDict("x".into()).to_string(),
        "not a dict of str: x"
    );
}

#[test]
fn malformed_pickles_give_errors() {
    assert_eq!(read_str_dict(b""), Err(PickleError::MissingStop));
    assert_eq!(read_str_dict(b"\x80\x02}"), Err(PickleError::MissingStop));
    assert_eq!(
        read_str_dict(b"\x80\x06}."),
        Err(PickleError::UnsupportedProtocol(6))
    );
    assert_eq!(
        read_str_dict(b"\x80\x02}\xff."),
        Err(PickleError::UnknownOpcode {
            opcode: 0xff,
            offset: 3
        })
    );
    // Lengths far past the end are refused before anything is allocated.
    assert_eq!(
        read_str_dict(b"\x80\x02}X\xff\xff\xff\xff."),
        Err(PickleError::Truncated { offset: 3 })
    );
    assert_eq!(
        read_str_dict(b"\x80\x04}\x8d\xff\xff\xff\xff\xff\xff\xff\xffa."),
        Err(PickleError::Truncated { offset: 3 })
    );
    // A line argument without its newline, a FRAME longer than the data.
    assert_eq!(
        read_str_dict(b"}(Vau."),
        Err(PickleError::Truncated { offset: 2 })
    );
    assert_eq!(
        read_str_dict(b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00}."),
        Err(PickleError::Truncated { offset: 2 })
    );
    assert_eq!(
        PickleError::Truncated { offset: 3 }.to_string(),
        "truncated pickle: the opcode at byte 3 runs past the end of the data"
    );
    let malformed_at = |vector: &[u8]| match read_str_dict(vector) {
        Err(PickleError::Malformed { offset, .. }) => offset,
        other => panic!("{vector:?}: {other:?}"),
    };
    assert_eq!(malformed_at(b"}h\x05."), 1); // memo key never stored
    assert_eq!(malformed_at(b"}Va\ns."), 4); // SETITEM with one value
    assert_eq!(malformed_at(b"}(Va\nu."), 5); // odd number of items
    assert_eq!(malformed_at(b"}u."), 1); // SETITEMS without MARK
    assert_eq!(malformed_at(b"}X\x02\x00\x00\x00\xc3(N."), 1); // bad UTF-8
                                                               // Stricter than CPython: a MARK left open at STOP, and lone surrogates
                                                               // (CPython accepts them, a Rust String cannot hold them).
    assert_eq!(malformed_at(b"(}."), 2);
    assert_eq!(malformed_at(b"}X\x03\x00\x00\x00\xed\xa0\x80N."), 1);
    assert_eq!(malformed_at(b"}V\\ud800\nNs."), 1);
    assert_eq!(malformed_at(b"}V\\u00\nNs."), 1); // truncated escape
    assert_eq!(malformed_at(b"}pX\n."), 1); // PUT index not decimal
}

#[test]
fn memo_amplification_is_capped() {
    // A 1 MiB value referenced by 16 keys through the memo would decode to
    // 16 MiB from a ~1 MiB pickle.
    let big = "x".repeat(1 << 20);
    let mut vector = b"\x80\x02}(X\x01\x00\x00\x00aX".to_vec();
    vector.extend_from_slice(&(big.len() as u32).to_le_bytes());
    vector.extend_from_slice(big.as_bytes());
    vector.extend_from_slice(b"q\x01");
    for i in 0..16u8 {
        vector.extend_from_slice(&[op::SHORT_BINUNICODE, 2, b'k', b'a' + i, op::BINGET, 1]);
    }
    vector.extend_from_slice(b"u.");
    let limit = vector.len() * 4 + (1 << 20);
    assert_eq!(read_str_dict(&vector), Err(PickleError::TooLarge { limit }));
}

#[test]
fn the_stack_is_capped() {
    let vector = vec![op::MARK; 2 << 20];
    assert!(matches!(
        read_str_dict(&vector),
        Err(PickleError::Malformed { offset, .. }) if offset == 1 << 20
    ));
    assert_eq!(type_hint(&vector), "other");
}

#[test]
fn every_truncation_of_a_valid_dict_is_an_error() {
    for vector in [DICT_P0, DICT_P1, DICT_P2, DICT_P4, MEMO_P0, ESCAPES_P0] {
        for end in 0..vector.len() {
            assert!(
                read_str_dict(&vector[..end]).is_err(),
                "{:?}",
                &vector[..end]
            );
        }
    }
}

// ---------------------------------------------------------------- is_pickled_none

#[test]
fn recognises_none_at_every_protocol() {
    // pickle.dumps(None, protocol=0..=5) and cloudpickle.dumps(None).
    for vector in [
        &b"N."[..],
        b"\x80\x02N.",
        b"\x80\x03N.",
        b"\x80\x04N.",
        b"\x80\x05N.",
        NONE_CLOUDPICKLE,
        b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.",
        b"N.trailing",
    ] {
        assert!(is_pickled_none(vector), "{vector:?}");
    }
    for vector in [
        &b""[..],
        b".",
        b"N",
        b"NN.", // stricter than CPython, which returns the top None
        b"\x80\x06N.",
        b"\x80\x04\x8c\x04None\x94.",
        b"\x80\x04K\x00.",
        b"\x80\x04\x89.",
        b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.",
        DICT_P2,
        b"cbuiltins\nprint\n.",
    ] {
        assert!(!is_pickled_none(vector), "{vector:?}");
    }
}

// ---------------------------------------------------------------- writers

/// Walks the output of `write_dict_of_pickles`, checking its exact opcode
/// layout, and returns the (name, blob) pairs it encodes.
fn parse_dict_of_pickles(pickle: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tokens = Tokenizer::new(pickle);
    let mut next = || tokens.next_op().expect("valid opcode");
    let mut entries = Vec::new();
    let (proto, dict) = (next(), next());
    assert_eq!(
        (proto.code, proto.arg, dict.code),
        (op::PROTO, &[4u8][..], op::EMPTY_DICT)
    );
    let mut op = next();
    if op.code == op::MARK {
        op = next();
        while op.code != op::SETITEMS {
            let name = String::from_utf8(op.arg.to_vec()).unwrap();
            assert!(matches!(
                op.code,
                op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8
            ));
            let callable = next();
            if entries.is_empty() {
                let (module, function) = (callable, next());
                assert_eq!((module.arg, function.arg), (&b"pickle"[..], &b"loads"[..]));
                assert_eq!((next().code, next().code), (op::STACK_GLOBAL, op::MEMOIZE));
            } else {
                assert_eq!((callable.code, callable.arg), (op::BINGET, &[0u8][..]));
            }
            let blob = next();
            assert!(matches!(
                blob.code,
                op::SHORT_BINBYTES | op::BINBYTES | op::BINBYTES8
            ));
            assert_eq!((next().code, next().code), (op::TUPLE1, op::REDUCE));
            entries.push((name, blob.arg.to_vec()));
            op = next();
        }
        op = next();
    }
    assert_eq!(op.code, op::STOP);
    assert_eq!(op.pos + 1, pickle.len());
    entries
}

#[test]
fn writes_small_dicts_of_pickles_exactly() {
    // pickle.loads(...) == {} and == {'a': 1, 'ü': None} (also cloudpickle.loads).
    assert_eq!(write_dict_of_pickles(&[]), b"\x80\x04}.");
    let written = write_dict_of_pickles(&[("a", b"\x80\x04K\x01."), ("ü", b"N.")]);
    assert_eq!(
        written,
        b"\x80\x04}(\x8c\x01a\x8c\x06pickle\x8c\x05loads\x93\x94C\x05\x80\x04K\x01.\x85R\
          \x8c\x02\xc3\xbch\x00C\x02N.\x85Ru."
    );
}

#[test]
fn writes_real_stored_values() {
    // pickle.loads(...) == {'arr': array([1, 2, 3], dtype=int8), 'df': <2x2
    // DataFrame>, 'f': <the lambda>} with numpy 2.4 / pandas 3.1.
    let entries: Vec<(&str, &[u8])> = vec![
        ("arr", NP2_ARRAY_CLOUDPICKLE),
        ("df", PD3_DATAFRAME_CLOUDPICKLE),
        ("f", LAMBDA_CLOUDPICKLE),
    ];
    let written = write_dict_of_pickles(&entries);
    let parsed = parse_dict_of_pickles(&written);
    let expected: Vec<(String, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.to_string(), b.to_vec()))
        .collect();
    assert_eq!(parsed, expected);
    // The server's own readers see code in it and refuse / don't classify it.
    assert!(matches!(
        read_str_dict(&written),
        Err(PickleError::UnsupportedOpcode {
            name: "STACK_GLOBAL",
            ..
        })
    ));
    assert_eq!(type_hint(&written), "other");
}

#[test]
fn writes_1000_entries_and_every_length_class() {
    let names: Vec<String> = (0..1000).map(|i| format!("var_{i}")).collect();
    let blobs: Vec<Vec<u8>> = (0..1000)
        .map(|i| vec![(i % 251) as u8; (i * 7) % 600])
        .collect();
    let long_name = "n".repeat(256);
    let mut entries: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&blobs)
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let edge_blobs = [vec![1u8; 255], vec![2u8; 256], vec![3u8; 70_000], vec![]];
    entries.push((&long_name, &edge_blobs[0]));
    entries.push(("n255", &edge_blobs[1]));
    entries.push(("n70000", &edge_blobs[2]));
    entries.push(("", &edge_blobs[3]));
    let written = write_dict_of_pickles(&entries);
    let parsed = parse_dict_of_pickles(&written);
    assert_eq!(parsed.len(), entries.len());
    for ((name, blob), (got_name, got_blob)) in entries.iter().zip(&parsed) {
        assert_eq!((*name, *blob), (got_name.as_str(), got_blob.as_slice()));
    }
    // The 256-byte name needs BINUNICODE, the 256-byte blob BINBYTES.
    let long_name_at = written
        .windows(5)
        .position(|w| w == b"X\x00\x01\x00\x00")
        .expect("BINUNICODE header");
    assert_eq!(&written[long_name_at + 5..long_name_at + 7], b"nn");
    assert!(written.windows(6).any(|w| w == b"B\x00\x01\x00\x00\x02"));
}

#[test]
fn writes_a_large_blob_without_changing_it() {
    let blob: Vec<u8> = (0..(48u32 << 20)).map(|i| (i % 253) as u8).collect();
    let written = write_dict_of_pickles(&[("big", &blob)]);
    let header = b"\x80\x04}(\x8c\x03big\x8c\x06pickle\x8c\x05loads\x93\x94B\x00\x00\x00\x03";
    assert_eq!(&written[..header.len()], header);
    assert_eq!(&written[header.len()..header.len() + blob.len()], &blob[..]);
    assert_eq!(&written[header.len() + blob.len()..], b"\x85Ru.");
}

#[test]
fn writes_str_lists() {
    // pickle.loads(...) == [] and == ['a', 'ünï', 'n' * 256].
    assert_eq!(write_str_list(&[]), b"\x80\x04].");
    let long = "n".repeat(256);
    let written = write_str_list(&["a", "ünï", &long]);
    let mut expected = b"\x80\x04](\x8c\x01a\x8c\x05\xc3\xbcn\xc3\xafX\x00\x01\x00\x00".to_vec();
    expected.extend_from_slice(long.as_bytes());
    expected.extend_from_slice(b"e.");
    assert_eq!(written, expected);
    assert_eq!(type_hint(&written), "other");

    let names: Vec<String> = (0..1000).map(|i| format!("name_{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let written = write_str_list(&refs);
    let mut tokens = Tokenizer::new(&written);
    let mut strings = Vec::new();
    loop {
        let op = tokens.next_op().unwrap();
        match op.code {
            op::STOP => break,
            op::SHORT_BINUNICODE => strings.push(String::from_utf8(op.arg.to_vec()).unwrap()),
            code => assert!([op::PROTO, op::EMPTY_LIST, op::MARK, op::APPENDS].contains(&code)),
        }
    }
    assert_eq!(strings, names);
}

// ---------------------------------------------------------------- type_hint

#[test]
fn classifies_real_pickles() {
    for (name, vector, expected) in TYPE_HINT_CASES {
        assert_eq!(type_hint(vector), *expected, "{name}");
    }
}

#[test]
fn classifies_hand_built_edge_cases() {
    for (vector, expected) in [
        (&b"Vabc\n."[..], "string"),
        (b"S'abc'\n.", "string"),
        (b"I5\n.", "numeric"),
        (b"I01\n.", "numeric"),
        (b"F1.5\n.", "numeric"),
        (b"L5L\n.", "numeric"),
        (b"\x80\x02\x88.", "numeric"),
        // The ndarray class itself is not an array.
        (b"\x80\x04\x8c\x05numpy\x8c\x07ndarray\x93.", "other"),
        // copy_reg._reconstructor(pandas.DataFrame, object, None)
        (
            b"ccopy_reg\n_reconstructor\n(cpandas.core.frame\nDataFrame\nc__builtin__\nobject\nNtR.",
            "table",
        ),
        // numpy.dtype('M8') scalars are not numeric.
        (
            b"cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nVM8\n\x89\x88\x87RC\x00\x86R.",
            "other",
        ),
        // STACK_GLOBAL needs two str.
        (b"\x80\x04K\x01K\x02\x93.", "other"),
        (b"\x80\x06K\x01.", "other"),
        (b"K\x01", "other"),
        (b"", "other"),
        (b".", "other"),
        (b"h\x00.", "other"),
    ] {
        assert_eq!(type_hint(vector), expected, "{vector:?}");
    }
}

#[test]
fn every_truncation_of_a_stored_value_is_other() {
    for (name, vector, _) in TYPE_HINT_CASES {
        for end in 0..vector.len() {
            assert_eq!(type_hint(&vector[..end]), "other", "{name} cut at {end}");
        }
    }
}

// ---------------------------------------------------------------- hostile input

/// xorshift64*: a deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn run_all_readers(input: &[u8]) {
    if let Ok(entries) = read_str_dict(input) {
        let bytes: usize = entries
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len))
            .sum();
        assert!(bytes <= input.len() * 4 + (1 << 20));
    }
    let hint = type_hint(input);
    assert!(["string", "numeric", "array", "table", "other"].contains(&hint));
    let _ = is_pickled_none(input);
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Bytes that are opcodes or their usual arguments, to get past the first byte.
    let alphabet: Vec<u8> = b"(.012FIJKLMNPQRSTUVXabcdegh}ijl]opqrstu)GBC\n\\'\"0123456789"
        .iter()
        .copied()
        .chain(0x80..=0x98)
        .chain([0x00, 0x01, 0x02, 0xff])
        .collect();
    for _ in 0..20_000 {
        let len = rng.below(64);
        let input: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(4) == 0 {
                    rng.next() as u8
                } else {
                    alphabet[rng.below(alphabet.len())]
                }
            })
            .collect();
        run_all_readers(&input);
    }
    let seeds: Vec<&[u8]> = [DICT_P0, DICT_P2, DICT_P4, MEMO_P0, MEMO_P1, ESCAPES_P0]
        .into_iter()
        .chain(TYPE_HINT_CASES.iter().map(|(_, v, _)| *v))
        .collect();
    for seed in seeds {
        for _ in 0..300 {
            let mut input = seed.to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(input.len() + 1);
                match rng.below(4) {
                    0 if at < input.len() => input[at] = rng.next() as u8,
                    1 if at < input.len() => input[at] = alphabet[rng.below(alphabet.len())],
                    2 => input.insert(at, rng.next() as u8),
                    _ => input.truncate(at),
                }
            }
            run_all_readers(&input);
        }
    }
}

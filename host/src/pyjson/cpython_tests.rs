//! Conformance tests against CPython 3.11, plus round-trip and robustness
//! tests across the whole module.
//!
//! The expectation tables were produced once with CPython 3.11.7
//! (`json.loads`, `json.dumps`, `repr`, `str`) over hand-picked documents,
//! random documents and random mutations of them; they are literals so the
//! tests need no Python.

use super::*;

/// Deterministic xorshift64* generator: reproducible tests, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '\'',
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\u{8}',
    '\u{c}',
    '\0',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{a0}',
    '\u{ad}',
    'é',
    'µ',
    '°',
    '€',
    '\u{2028}',
    '\u{feff}',
    '\u{3000}',
    '中',
    '\u{e000}',
    '\u{ffff}',
    '\u{fffd}',
    '😀',
    '\u{e0001}',
    '\u{10ffff}',
];

fn random_string(rng: &mut Rng) -> String {
    (0..rng.below(8)).map(|_| *rng.pick(CHARS)).collect()
}

/// A random value without NaN (NaN != NaN would defeat `==`).
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth < 3 { 10 } else { 6 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::Int(rng.next() as i64 >> rng.below(64)),
        3 => {
            let f = f64::from_bits(rng.next());
            Value::Float(if f.is_nan() { f64::INFINITY } else { f })
        }
        4 => match rng.below(3) {
            0 => Value::BigInt(format!(
                "-{}{}",
                9_223_372_036_854_775_809u64 + rng.below(1000) as u64,
                rng.below(10)
            )),
            1 => Value::BigInt((u64::MAX - rng.below(1000) as u64).to_string()),
            _ => Value::Float(rng.below(1_000_000) as f64 / 8.0),
        },
        5 => Value::Str(random_string(rng)),
        6 | 7 => Value::List(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Dict(
            (0..rng.below(4))
                .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn has_nan(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_nan(),
        Value::List(items) => items.iter().any(has_nan),
        Value::Dict(map) => map.values().any(has_nan),
        _ => false,
    }
}

#[test]
fn values_match_cpython() {
    for &(input, dumps, compact, repr, str_) in CPYTHON_VALUES {
        let v = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(to_python_json(&v), dumps, "json.dumps of {input:?}");
        assert_eq!(to_compact_json(&v), compact, "compact of {input:?}");
        assert_eq!(python_repr(&v), repr, "repr of {input:?}");
        assert_eq!(python_str(&v), str_, "str of {input:?}");
        let from_bytes = parse_bytes(input.as_bytes()).unwrap();
        assert_eq!(to_python_json(&from_bytes), dumps, "bytes {input:?}");
    }
}

#[test]
fn errors_match_cpython() {
    for &(input, want) in CPYTHON_ERRORS {
        match parse(input) {
            Ok(v) => panic!("{input:?} parsed as {v:?}, Python says {want}"),
            Err(e) => assert_eq!(e.to_string(), want, "{input:?}"),
        }
    }
}

#[test]
fn round_trips() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let table = CPYTHON_VALUES
        .iter()
        .filter_map(|row| parse(row.0).ok())
        .filter(|v| !has_nan(v));
    let random = (0..2000).map(|_| random_value(&mut rng, 0));
    let mut out = String::new();
    for v in table.chain(random) {
        let compact = to_compact_json(&v);
        assert_eq!(parse(&compact).as_ref(), Ok(&v), "{compact}");
        let python = to_python_json(&v);
        assert!(python.is_ascii());
        assert_eq!(parse(&python).as_ref(), Ok(&v), "{python}");
        // The writers append; the same buffer can be reused.
        out.clear();
        write_compact_json(&v, &mut out);
        assert_eq!(out, compact);
        out.clear();
        write_python_json(&v, &mut out);
        assert_eq!(out, python);
    }
}

#[test]
fn hostile_input_never_panics() {
    const ALPHABET: &[u8] = b"{}[],:\"\\ \t\n0123456789.eE+-nultrfasNIyu\x01\x7f\xc3\xa9\xed\xa0\x80\xf0\x9f\x98\x80\xff\xef\xbb\xbf";
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let mut samples: Vec<Vec<u8>> = CPYTHON_VALUES
        .iter()
        .map(|row| row.0)
        .chain(CPYTHON_ERRORS.iter().map(|row| row.0))
        .map(|text| text.as_bytes().to_vec())
        .collect();
    for _ in 0..200 {
        samples.push(to_compact_json(&random_value(&mut rng, 0)).into_bytes());
    }
    let mut checked = 0;
    for round in 0..30_000 {
        let mut input = if round % 3 == 0 {
            (0..rng.below(24)).map(|_| *rng.pick(ALPHABET)).collect()
        } else {
            rng.pick(&samples).clone()
        };
        match rng.below(4) {
            0 => input.truncate(rng.below(input.len() + 1)),
            1 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] = *rng.pick(ALPHABET);
            }
            2 => {
                let i = rng.below(input.len() + 1);
                input.insert(i, *rng.pick(ALPHABET));
            }
            _ => {}
        }
        let results = [
            Some(parse_bytes(&input)),
            std::str::from_utf8(&input).ok().map(parse),
        ];
        for result in results.into_iter().flatten() {
            match result {
                Ok(v) => {
                    // Whatever parses must also write without panicking.
                    let _ = (to_python_json(&v), to_compact_json(&v), python_repr(&v));
                }
                Err(e) => {
                    assert!(!e.message().is_empty());
                    assert!(e.byte_pos() <= input.len());
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 30_000);
}

/// (input, `json.dumps(v)`, `json.dumps(v, separators=(",", ":"), ensure_ascii=False)`,
/// `repr(v)`, `str(v)`) for `v = json.loads(input)` in CPython 3.11.7.
const CPYTHON_VALUES: &[(&str, &str, &str, &str, &str)] = &[
    (r#"{"temperature": 21.5, "unit": "\u00b0C", "time": 1795238169.2582886}"#, r#"{"temperature": 21.5, "unit": "\u00b0C", "time": 1795238169.2582886}"#, r#"{"temperature":21.5,"unit":"°C","time":1795238169.2582886}"#, "{'temperature': 21.5, 'unit': '°C', 'time': 1795238169.2582886}", "{'temperature': 21.5, 'unit': '°C', 'time': 1795238169.2582886}"),
    ("[1795238169.2582886, 42.0]", "[1795238169.2582886, 42.0]", "[1795238169.2582886,42.0]", "[1795238169.2582886, 42.0]", "[1795238169.2582886, 42.0]"),
    (r#"{"a":1,"b":2,"a":3}"#, r#"{"a": 3, "b": 2}"#, r#"{"a":3,"b":2}"#, "{'a': 3, 'b': 2}", "{'a': 3, 'b': 2}"),
    (r#"{"pressure": 1e-05, "ok": true, "error": null, "counts": [1, 2, 3]}"#, r#"{"pressure": 1e-05, "ok": true, "error": null, "counts": [1, 2, 3]}"#, r#"{"pressure":1e-05,"ok":true,"error":null,"counts":[1,2,3]}"#, "{'pressure': 1e-05, 'ok': True, 'error': None, 'counts': [1, 2, 3]}", "{'pressure': 1e-05, 'ok': True, 'error': None, 'counts': [1, 2, 3]}"),
    ("[1e16, 1.5e16, 1e-5, 0.0001, 1E2, -0.0, 5e-324, 1.7976931348623157e+308, 1e400, -1e400]", "[1e+16, 1.5e+16, 1e-05, 0.0001, 100.0, -0.0, 5e-324, 1.7976931348623157e+308, Infinity, -Infinity]", "[1e+16,1.5e+16,1e-05,0.0001,100.0,-0.0,5e-324,1.7976931348623157e+308,Infinity,-Infinity]", "[1e+16, 1.5e+16, 1e-05, 0.0001, 100.0, -0.0, 5e-324, 1.7976931348623157e+308, inf, -inf]", "[1e+16, 1.5e+16, 1e-05, 0.0001, 100.0, -0.0, 5e-324, 1.7976931348623157e+308, inf, -inf]"),
    ("[NaN, Infinity, -Infinity]", "[NaN, Infinity, -Infinity]", "[NaN,Infinity,-Infinity]", "[nan, inf, -inf]", "[nan, inf, -inf]"),
    ("[9223372036854775807, 9223372036854775808, -9223372036854775809, 123456789012345678901234567890]", "[9223372036854775807, 9223372036854775808, -9223372036854775809, 123456789012345678901234567890]", "[9223372036854775807,9223372036854775808,-9223372036854775809,123456789012345678901234567890]", "[9223372036854775807, 9223372036854775808, -9223372036854775809, 123456789012345678901234567890]", "[9223372036854775807, 9223372036854775808, -9223372036854775809, 123456789012345678901234567890]"),
    (r#""it's""#, r#""it's""#, r#""it's""#, r#""it's""#, "it's"),
    (r#""say \"hi\"""#, r#""say \"hi\"""#, r#""say \"hi\"""#, r#"'say "hi"'"#, r#"say "hi""#),
    (r#""it's \"x\"""#, r#""it's \"x\"""#, r#""it's \"x\"""#, r#"'it\'s "x"'"#, r#"it's "x""#),
    (r#""tab\there\nnew\\line""#, r#""tab\there\nnew\\line""#, r#""tab\there\nnew\\line""#, r"'tab\there\nnew\\line'", "tab\there\nnew\\line"),
    (r#""\u00e9 \u00b5 \u20ac \ud83d\ude00 \u2028 \u200b \ufeff \u00a0 \u007f \u0000""#, r#""\u00e9 \u00b5 \u20ac \ud83d\ude00 \u2028 \u200b \ufeff \u00a0 \u007f \u0000""#, "\"é µ € 😀 \u{2028} \u{200b} \u{feff} \u{a0} \u{7f} \\u0000\"", r"'é µ € 😀 \u2028 \u200b \ufeff \xa0 \x7f \x00'", "é µ € 😀 \u{2028} \u{200b} \u{feff} \u{a0} \u{7f} \0"),
    (r#"{"\u00e9": {"k'": ["v\"", 1.0]}}"#, r#"{"\u00e9": {"k'": ["v\"", 1.0]}}"#, r#"{"é":{"k'":["v\"",1.0]}}"#, r#"{'é': {"k'": ['v"', 1.0]}}"#, r#"{'é': {"k'": ['v"', 1.0]}}"#),
    (r#"  {"a" : 1 }  "#, r#"{"a": 1}"#, r#"{"a":1}"#, "{'a': 1}", "{'a': 1}"),
    ("[]", "[]", "[]", "[]", "[]"),
    ("{}", "{}", "{}", "{}", "{}"),
    ("[[], {}, [[]]]", "[[], {}, [[]]]", "[[],{},[[]]]", "[[], {}, [[]]]", "[[], {}, [[]]]"),
    (r#""""#, r#""""#, r#""""#, "''", ""),
    (r#"{"nested": {"list": [1, 2.5, "x", null, true, false], "dict": {"x": {"y": {}}}}}"#, r#"{"nested": {"list": [1, 2.5, "x", null, true, false], "dict": {"x": {"y": {}}}}}"#, r#"{"nested":{"list":[1,2.5,"x",null,true,false],"dict":{"x":{"y":{}}}}}"#, "{'nested': {'list': [1, 2.5, 'x', None, True, False], 'dict': {'x': {'y': {}}}}}", "{'nested': {'list': [1, 2.5, 'x', None, True, False], 'dict': {'x': {'y': {}}}}}"),
    ("[{\"😀\" :\t2308264020198401.0 , \"\\t\\u0001é\" :\t\",\\\\µ�\"}]", r#"[{"\ud83d\ude00": 2308264020198401.0, "\t\u0001\u00e9": ",\\\u00b5\ufffd"}]"#, r#"[{"😀":2308264020198401.0,"\t\u0001é":",\\µ�"}]"#, r"[{'😀': 2308264020198401.0, '\t\x01é': ',\\µ�'}]", r"[{'😀': 2308264020198401.0, '\t\x01é': ',\\µ�'}]"),
    ("78.79447480380465", "78.79447480380465", "78.79447480380465", "78.79447480380465", "78.79447480380465"),
    (r#"[true,"\r\t\u0378",-7.295151748643212e-06]"#, r#"[true, "\r\t\u0378", -7.295151748643212e-06]"#, "[true,\"\\r\\t\u{378}\",-7.295151748643212e-06]", r"[True, '\r\t\u0378', -7.295151748643212e-06]", r"[True, '\r\t\u0378', -7.295151748643212e-06]"),
    ("5.915823902656395e-31", "5.915823902656395e-31", "5.915823902656395e-31", "5.915823902656395e-31", "5.915823902656395e-31"),
    ("{\"\": \"\u{2028}\u{10ffff}:;\u{80}\", \"9.\": \"\u{2028}\u{feff} \", \"\\f\u{200b}\": \"��\"}", r#"{"": "\u2028\udbff\udfff:;\u0080", "9.": "\u2028\ufeff ", "\f\u200b": "\ufffd\ufffd"}"#, "{\"\":\"\u{2028}\u{10ffff}:;\u{80}\",\"9.\":\"\u{2028}\u{feff} \",\"\\f\u{200b}\":\"��\"}", r"{'': '\u2028\U0010ffff:;\x80', '9.': '\u2028\ufeff ', '\x0c\u200b': '��'}", r"{'': '\u2028\U0010ffff:;\x80', '9.': '\u2028\ufeff ', '\x0c\u200b': '��'}"),
    (r#""\u20ac""#, r#""\u20ac""#, r#""€""#, "'€'", "€"),
    ("null", "null", "null", "None", "None"),
    (r#""Z""#, r#""Z""#, r#""Z""#, "'Z'", "Z"),
    (r#"[[".Y\\", -9223372036854775809, 1006227479351065.5], 644832.0]"#, r#"[[".Y\\", -9223372036854775809, 1006227479351065.5], 644832.0]"#, r#"[[".Y\\",-9223372036854775809,1006227479351065.5],644832.0]"#, r"[['.Y\\', -9223372036854775809, 1006227479351065.5], 644832.0]", r"[['.Y\\', -9223372036854775809, 1006227479351065.5], 644832.0]"),
    (r#""\udb40\udc01\uffff""#, r#""\udb40\udc01\uffff""#, "\"\u{e0001}\u{ffff}\"", r"'\U000e0001\uffff'", "\u{e0001}\u{ffff}"),
    ("true", "true", "true", "True", "True"),
    ("6.1235407185035155e+26", "6.1235407185035155e+26", "6.1235407185035155e+26", "6.1235407185035155e+26", "6.1235407185035155e+26"),
    ("{\"Z\" :\t52}", r#"{"Z": 52}"#, r#"{"Z":52}"#, "{'Z': 52}", "{'Z': 52}"),
    ("{\"a1\" :\t7.368638379554599e-233}", r#"{"a1": 7.368638379554599e-233}"#, r#"{"a1":7.368638379554599e-233}"#, "{'a1': 7.368638379554599e-233}", "{'a1': 7.368638379554599e-233}"),
    ("{\"\u{80}\" :\t3765744647741030208868482634188352925032}", r#"{"\u0080": 3765744647741030208868482634188352925032}"#, "{\"\u{80}\":3765744647741030208868482634188352925032}", r"{'\x80': 3765744647741030208868482634188352925032}", r"{'\x80': 3765744647741030208868482634188352925032}"),
    ("[[true] , 1437691451789756.8 , \"\u{e000}a1\"]", r#"[[true], 1437691451789756.8, "\ue000a1"]"#, "[[true],1437691451789756.8,\"\u{e000}a1\"]", r"[[True], 1437691451789756.8, '\ue000a1']", r"[[True], 1437691451789756.8, '\ue000a1']"),
    ("-3270181555.9801397", "-3270181555.9801397", "-3270181555.9801397", "-3270181555.9801397", "-3270181555.9801397"),
    ("{\n  \"\":[\n    null,\n    -9248601052.116295\n  ],\n  \":\":{},\n  \"Y9-\":null\n}", r#"{"": [null, -9248601052.116295], ":": {}, "Y9-": null}"#, r#"{"":[null,-9248601052.116295],":":{},"Y9-":null}"#, "{'': [None, -9248601052.116295], ':': {}, 'Y9-': None}", "{'': [None, -9248601052.116295], ':': {}, 'Y9-': None}"),
    ("[\"\\u001f\u{a0}\u{200b}\"]", r#"["\u001f\u00a0\u200b"]"#, "[\"\\u001f\u{a0}\u{200b}\"]", r"['\x1f\xa0\u200b']", r"['\x1f\xa0\u200b']"),
    ("true", "true", "true", "True", "True"),
    ("{}", "{}", "{}", "{}", "{}"),
    ("null", "null", "null", "None", "None"),
    (r#""\u00fc9,\u00fc""#, r#""\u00fc9,\u00fc""#, r#""ü9,ü""#, "'ü9,ü'", "ü9,ü"),
    ("{\n\t\"°_\u{e0001}\": 3.0510253677591648e-155,\n\t\"\\f\": {\n\t\t\"ü\u{378}-\": \"°\",\n\t\t\"'€\": 6469031747837633786678621518757735981230,\n\t\t\"\\n\u{ad}\": -500797.0\n\t}\n}", r#"{"\u00b0_\udb40\udc01": 3.0510253677591648e-155, "\f": {"\u00fc\u0378-": "\u00b0", "'\u20ac": 6469031747837633786678621518757735981230, "\n\u00ad": -500797.0}}"#, "{\"°_\u{e0001}\":3.0510253677591648e-155,\"\\f\":{\"ü\u{378}-\":\"°\",\"'€\":6469031747837633786678621518757735981230,\"\\n\u{ad}\":-500797.0}}", r#"{'°_\U000e0001': 3.0510253677591648e-155, '\x0c': {'ü\u0378-': '°', "'€": 6469031747837633786678621518757735981230, '\n\xad': -500797.0}}"#, r#"{'°_\U000e0001': 3.0510253677591648e-155, '\x0c': {'ü\u0378-': '°', "'€": 6469031747837633786678621518757735981230, '\n\xad': -500797.0}}"#),
    ("[-17794.0,{}]", "[-17794.0, {}]", "[-17794.0,{}]", "[-17794.0, {}]", "[-17794.0, {}]"),
    ("1392055288.6961827", "1392055288.6961827", "1392055288.6961827", "1392055288.6961827", "1392055288.6961827"),
    ("true", "true", "true", "True", "True"),
    ("358712.0", "358712.0", "358712.0", "358712.0", "358712.0"),
    ("2941308906052068110982236802088386545945", "2941308906052068110982236802088386545945", "2941308906052068110982236802088386545945", "2941308906052068110982236802088386545945", "2941308906052068110982236802088386545945"),
    ("8", "8", "8", "8", "8"),
    ("{\n\t\"\": 3.1484587654198814e+26,\n\t\"_.�\": [\n\t\tnull,\n\t\tInfinity\n\t]\n}", r#"{"": 3.1484587654198814e+26, "_.\ufffd": [null, Infinity]}"#, r#"{"":3.1484587654198814e+26,"_.�":[null,Infinity]}"#, "{'': 3.1484587654198814e+26, '_.�': [None, inf]}", "{'': 3.1484587654198814e+26, '_.�': [None, inf]}"),
    ("{}", "{}", "{}", "{}", "{}"),
    ("-9223372036854775809", "-9223372036854775809", "-9223372036854775809", "-9223372036854775809", "-9223372036854775809"),
    ("-9223372036854775808", "-9223372036854775808", "-9223372036854775808", "-9223372036854775808", "-9223372036854775808"),
    (r#"{"": {"9\u00fc'": false, "\u00b0": false}}"#, r#"{"": {"9\u00fc'": false, "\u00b0": false}}"#, r#"{"":{"9ü'":false,"°":false}}"#, r#"{'': {"9ü'": False, '°': False}}"#, r#"{'': {"9ü'": False, '°': False}}"#),
    ("5846941227037250.0", "5846941227037250.0", "5846941227037250.0", "5846941227037250.0", "5846941227037250.0"),
    ("null", "null", "null", "None", "None"),
    ("\"\\t\\\"\u{9f}\"", r#""\t\"\u009f""#, "\"\\t\\\"\u{9f}\"", r#"'\t"\x9f'"#, "\t\"\u{9f}"),
    ("1.448613069073201e-308", "1.448613069073201e-308", "1.448613069073201e-308", "1.448613069073201e-308", "1.448613069073201e-308"),
    ("{\"_Y\" :\t{\"-\" :\t-18834891.106617503 , \"\\ud83d\\ude00\" :\tnull} , \"X\\\"\\udb40\\udc01\" :\ttrue , \"\\u0080,\\u00e9\" :\t{\"\\u3000\\u00ad\" :\t\"\\u00a0\\\"\"}}", r#"{"_Y": {"-": -18834891.106617503, "\ud83d\ude00": null}, "X\"\udb40\udc01": true, "\u0080,\u00e9": {"\u3000\u00ad": "\u00a0\""}}"#, "{\"_Y\":{\"-\":-18834891.106617503,\"😀\":null},\"X\\\"\u{e0001}\":true,\"\u{80},é\":{\"\u{3000}\u{ad}\":\"\u{a0}\\\"\"}}", r#"{'_Y': {'-': -18834891.106617503, '😀': None}, 'X"\U000e0001': True, '\x80,é': {'\u3000\xad': '\xa0"'}}"#, r#"{'_Y': {'-': -18834891.106617503, '😀': None}, 'X"\U000e0001': True, '\x80,é': {'\u3000\xad': '\xa0"'}}"#),
    ("{\n\t\"\\\\\": \"\\rc\",\n\t\"\\u200b\": {\n\t\t\"\\t \": null,\n\t\t\"a\\u200b\": -9223372036854775809\n\t},\n\t\"\\\"\": []\n}", r#"{"\\": "\rc", "\u200b": {"\t ": null, "a\u200b": -9223372036854775809}, "\"": []}"#, "{\"\\\\\":\"\\rc\",\"\u{200b}\":{\"\\t \":null,\"a\u{200b}\":-9223372036854775809},\"\\\"\":[]}", r#"{'\\': '\rc', '\u200b': {'\t ': None, 'a\u200b': -9223372036854775809}, '"': []}"#, r#"{'\\': '\rc', '\u200b': {'\t ': None, 'a\u200b': -9223372036854775809}, '"': []}"#),
    ("5.559993731859868e-06", "5.559993731859868e-06", "5.559993731859868e-06", "5.559993731859868e-06", "5.559993731859868e-06"),
    ("null", "null", "null", "None", "None"),
    ("5e-324", "5e-324", "5e-324", "5e-324", "5e-324"),
    ("{\".91\": {\"\\u0000\u{a0}\u{7f}\": \"c\", \"中\u{feff}é\": null, \"\u{e0001}1\": 9223372036854775808}, \"\u{378}\u{9f}\": {\"\u{3000}\\u0001\": \"\u{ad}\u{feff}/\", \"\": null, \"é\": \"\\u001f_\u{e0001} .\"}, \"\": null}", r#"{".91": {"\u0000\u00a0\u007f": "c", "\u4e2d\ufeff\u00e9": null, "\udb40\udc011": 9223372036854775808}, "\u0378\u009f": {"\u3000\u0001": "\u00ad\ufeff/", "": null, "\u00e9": "\u001f_\udb40\udc01 ."}, "": null}"#, "{\".91\":{\"\\u0000\u{a0}\u{7f}\":\"c\",\"中\u{feff}é\":null,\"\u{e0001}1\":9223372036854775808},\"\u{378}\u{9f}\":{\"\u{3000}\\u0001\":\"\u{ad}\u{feff}/\",\"\":null,\"é\":\"\\u001f_\u{e0001} .\"},\"\":null}", r"{'.91': {'\x00\xa0\x7f': 'c', '中\ufeffé': None, '\U000e00011': 9223372036854775808}, '\u0378\x9f': {'\u3000\x01': '\xad\ufeff/', '': None, 'é': '\x1f_\U000e0001 .'}, '': None}", r"{'.91': {'\x00\xa0\x7f': 'c', '中\ufeffé': None, '\U000e00011': 9223372036854775808}, '\u0378\x9f': {'\u3000\x01': '\xad\ufeff/', '': None, 'é': '\x1f_\U000e0001 .'}, '': None}"),
    (r#"":""#, r#"":""#, r#"":""#, "':'", ":"),
    ("true", "true", "true", "True", "True"),
    ("false", "false", "false", "False", "False"),
    ("-5.08803576238752e+75", "-5.08803576238752e+75", "-5.08803576238752e+75", "-5.08803576238752e+75", "-5.08803576238752e+75"),
    ("null", "null", "null", "None", "None"),
    ("{}", "{}", "{}", "{}", "{}"),
    ("[]", "[]", "[]", "[]", "[]"),
    ("true", "true", "true", "True", "True"),
    ("9.523041286395904e-210", "9.523041286395904e-210", "9.523041286395904e-210", "9.523041286395904e-210", "9.523041286395904e-210"),
    ("-515182.0", "-515182.0", "-515182.0", "-515182.0", "-515182.0"),
    ("[\n\t{\n\t\t\";\":-370991745284472357,\n\t\t\"'\":431967.0\n\t},\n\t[\n\t\t\"\\f\",\n\t\t45469706075041.08,\n\t\t1424480359759481.5\n\t],\n\tfalse\n]", r#"[{";": -370991745284472357, "'": 431967.0}, ["\f", 45469706075041.08, 1424480359759481.5], false]"#, r#"[{";":-370991745284472357,"'":431967.0},["\f",45469706075041.08,1424480359759481.5],false]"#, r#"[{';': -370991745284472357, "'": 431967.0}, ['\x0c', 45469706075041.08, 1424480359759481.5], False]"#, r#"[{';': -370991745284472357, "'": 431967.0}, ['\x0c', 45469706075041.08, 1424480359759481.5], False]"#),
    ("true", "true", "true", "True", "True"),
    ("[]", "[]", "[]", "[]", "[]"),
    ("[\n  \"\\n\u{200b}é;\" , \n  -1588896312229552493 , \n  {\n    \"c\\\\\" :\t\"\u{ffff}\" , \n    \"::\" :\t-8.391110972927486e+26 , \n    \"\\té\u{ffff}\" :\tnull\n  }\n]", r#"["\n\u200b\u00e9;", -1588896312229552493, {"c\\": "\uffff", "::": -8.391110972927486e+26, "\t\u00e9\uffff": null}]"#, "[\"\\n\u{200b}é;\",-1588896312229552493,{\"c\\\\\":\"\u{ffff}\",\"::\":-8.391110972927486e+26,\"\\té\u{ffff}\":null}]", r"['\n\u200bé;', -1588896312229552493, {'c\\': '\uffff', '::': -8.391110972927486e+26, '\té\uffff': None}]", r"['\n\u200bé;', -1588896312229552493, {'c\\': '\uffff', '::': -8.391110972927486e+26, '\té\uffff': None}]"),
    (r#""""#, r#""""#, r#""""#, "''", ""),
    ("3947089986840667.0", "3947089986840667.0", "3947089986840667.0", "3947089986840667.0", "3947089986840667.0"),
    ("{\n  \"'\\u00ad\" :\t\"\" , \n  \".\" :\ttrue , \n  \"\\ue000,\\u3000\" :\t-4468347961374226097\n}", r#"{"'\u00ad": "", ".": true, "\ue000,\u3000": -4468347961374226097}"#, "{\"'\u{ad}\":\"\",\".\":true,\"\u{e000},\u{3000}\":-4468347961374226097}", r#"{"'\xad": '', '.': True, '\ue000,\u3000': -4468347961374226097}"#, r#"{"'\xad": '', '.': True, '\ue000,\u3000': -4468347961374226097}"#),
    ("-0.33025045690738136", "-0.33025045690738136", "-0.33025045690738136", "-0.33025045690738136", "-0.33025045690738136"),
    ("[true , null , [true , null]]", "[true, null, [true, null]]", "[true,null,[true,null]]", "[True, None, [True, None]]", "[True, None, [True, None]]"),
    ("-Infinity", "-Infinity", "-Infinity", "-inf", "-inf"),
    ("null", "null", "null", "None", "None"),
    ("{\"\u{9f}\" :\t-1.1399720496971243e-20 , \"\\f\u{10ffff}\" :\t-4.908277311542874e+129 , \"\\b\\n\\u0001\" :\t{\" Z\\\"\" :\t\"1_\u{e000}\u{e000}:\"}}", r#"{"\u009f": -1.1399720496971243e-20, "\f\udbff\udfff": -4.908277311542874e+129, "\b\n\u0001": {" Z\"": "1_\ue000\ue000:"}}"#, "{\"\u{9f}\":-1.1399720496971243e-20,\"\\f\u{10ffff}\":-4.908277311542874e+129,\"\\b\\n\\u0001\":{\" Z\\\"\":\"1_\u{e000}\u{e000}:\"}}", r#"{'\x9f': -1.1399720496971243e-20, '\x0c\U0010ffff': -4.908277311542874e+129, '\x08\n\x01': {' Z"': '1_\ue000\ue000:'}}"#, r#"{'\x9f': -1.1399720496971243e-20, '\x0c\U0010ffff': -4.908277311542874e+129, '\x08\n\x01': {' Z"': '1_\ue000\ue000:'}}"#),
    (r#"["9"]"#, r#"["9"]"#, r#"["9"]"#, "['9']", "['9']"),
    ("5641413145734379471", "5641413145734379471", "5641413145734379471", "5641413145734379471", "5641413145734379471"),
    ("[\n  [\n    null\n  ],\n  null\n]", "[[null], null]", "[[null],null]", "[[None], None]", "[[None], None]"),
    ("91866245281078", "91866245281078", "91866245281078", "91866245281078", "91866245281078"),
    (r#"{"\u00ad": [299852369167704.8]}"#, r#"{"\u00ad": [299852369167704.8]}"#, "{\"\u{ad}\":[299852369167704.8]}", r"{'\xad': [299852369167704.8]}", r"{'\xad': [299852369167704.8]}"),
    ("null", "null", "null", "None", "None"),
    (r#""b\u00fc\u21028\u00a0X""#, r#""b\u00fc\u21028\u00a0X""#, "\"büℂ8\u{a0}X\"", r"'büℂ8\xa0X'", "büℂ8\u{a0}X"),
    ("true", "true", "true", "True", "True"),
    ("7289938", "7289938", "7289938", "7289938", "7289938"),
    ("3980", "3980", "3980", "3980", "3980"),
    ("-8.57320092", "-8.57320092", "-8.57320092", "-8.57320092", "-8.57320092"),
    ("[\n  null,\n  3946595145618881163,\n  [\n    1.1964514848642e-309,\n    -3.135056414991364e+24\n  ]\n]", "[null, 3946595145618881163, [1.1964514848642e-309, -3.135056414991364e+24]]", "[null,3946595145618881163,[1.1964514848642e-309,-3.135056414991364e+24]]", "[None, 3946595145618881163, [1.1964514848642e-309, -3.135056414991364e+24]]", "[None, 3946595145618881163, [1.1964514848642e-309, -3.135056414991364e+24]]"),
    ("1.0", "1.0", "1.0", "1.0", "1.0"),
    ("\"\\r\u{80}😀\u{7f}u\"", r#""\r\u0080\ud83d\ude00\u007fu""#, "\"\\r\u{80}😀\u{7f}u\"", r"'\r\x80😀\x7fu'", "\r\u{80}😀\u{7f}u"),
    ("null", "null", "null", "None", "None"),
    ("[\n null,\n  false\n]", "[null, false]", "[null,false]", "[None, False]", "[None, False]"),
    ("{}", "{}", "{}", "{}", "{}"),
    ("false", "false", "false", "False", "False"),
    ("{\n  \"°°\u{9f}\":-13,\n  \"c3\":{},\n  \"\u{10ffff}\":[\n    6.330234296074e-30,\n    null\n  ]\n}", r#"{"\u00b0\u00b0\u009f": -13, "c3": {}, "\udbff\udfff": [6.330234296074e-30, null]}"#, "{\"°°\u{9f}\":-13,\"c3\":{},\"\u{10ffff}\":[6.330234296074e-30,null]}", r"{'°°\x9f': -13, 'c3': {}, '\U0010ffff': [6.330234296074e-30, None]}", r"{'°°\x9f': -13, 'c3': {}, '\U0010ffff': [6.330234296074e-30, None]}"),
    ("1.79769313", "1.79769313", "1.79769313", "1.79769313", "1.79769313"),
    ("{\n  \"\\\\ufeff\\u00fc\":null,\n  \"\":false\n}", r#"{"\\ufeff\u00fc": null, "": false}"#, r#"{"\\ufeffü":null,"":false}"#, r"{'\\ufeffü': None, '': False}", r"{'\\ufeffü': None, '': False}"),
    (r#""x0\n""#, r#""x0\n""#, r#""x0\n""#, r"'x0\n'", "x0\n"),
    ("-605299290055589368100049650093787457150", "-605299290055589368100049650093787457150", "-605299290055589368100049650093787457150", "-605299290055589368100049650093787457150", "-605299290055589368100049650093787457150"),
    ("1.30230756828255e-309", "1.30230756828255e-309", "1.30230756828255e-309", "1.30230756828255e-309", "1.30230756828255e-309"),
    ("1e+16", "1e+16", "1e+16", "1e+16", "1e+16"),
    ("1667186273188263849667171495", "1667186273188263849667171495", "1667186273188263849667171495", "1667186273188263849667171495", "1667186273188263849667171495"),
    ("true", "true", "true", "True", "True"),
    ("6.0329154271958e-309", "6.0329154271958e-309", "6.0329154271958e-309", "6.0329154271958e-309", "6.0329154271958e-309"),
    ("[[]]", "[[]]", "[[]]", "[[]]", "[[]]"),
    ("null", "null", "null", "None", "None"),
    ("[51416279045409352728,{\"\u{80}\u{e000}\\f\":null,\"\":18}]", r#"[51416279045409352728, {"\u0080\ue000\f": null, "": 18}]"#, "[51416279045409352728,{\"\u{80}\u{e000}\\f\":null,\"\":18}]", r"[51416279045409352728, {'\x80\ue000\x0c': None, '': 18}]", r"[51416279045409352728, {'\x80\ue000\x0c': None, '': 18}]"),
    ("[3]", "[3]", "[3]", "[3]", "[3]"),
    ("0.0", "0.0", "0.0", "0.0", "0.0"),
    ("3.0870722261", "3.0870722261", "3.0870722261", "3.0870722261", "3.0870722261"),
    ("9223", "9223", "9223", "9223", "9223"),
    (r#"{"\u20ac\f\u200b": {"\u4e2d_": 541765.0}, "\u2028\ue000\ufffd": -413629375183352970055014473078879671330, "\u3000.\ue000": 81}"#, r#"{"\u20ac\f\u200b": {"\u4e2d_": 541765.0}, "\u2028\ue000\ufffd": -413629375183352970055014473078879671330, "\u3000.\ue000": 81}"#, "{\"€\\f\u{200b}\":{\"中_\":541765.0},\"\u{2028}\u{e000}�\":-413629375183352970055014473078879671330,\"\u{3000}.\u{e000}\":81}", r"{'€\x0c\u200b': {'中_': 541765.0}, '\u2028\ue000�': -413629375183352970055014473078879671330, '\u3000.\ue000': 81}", r"{'€\x0c\u200b': {'中_': 541765.0}, '\u2028\ue000�': -413629375183352970055014473078879671330, '\u3000.\ue000': 81}"),
    ("\"X😀\u{10ffff}\"\n", r#""X\ud83d\ude00\udbff\udfff""#, "\"X😀\u{10ffff}\"", r"'X😀\U0010ffff'", "X😀\u{10ffff}"),
    (r#""Zr;\u200b""#, r#""Zr;\u200b""#, "\"Zr;\u{200b}\"", r"'Zr;\u200b'", "Zr;\u{200b}"),
    ("1.156416015292853e-21", "1.156416015292853e-21", "1.156416015292853e-21", "1.156416015292853e-21", "1.156416015292853e-21"),
    ("-9223372036858775808", "-9223372036858775808", "-9223372036858775808", "-9223372036858775808", "-9223372036858775808"),
    (" 2.1068006315125408e+20", "2.1068006315125408e+20", "2.1068006315125408e+20", "2.1068006315125408e+20", "2.1068006315125408e+20"),
    ("-6", "-6", "-6", "-6", "-6"),
    ("1.74107137666667e-308", "1.74107137666667e-308", "1.74107137666667e-308", "1.74107137666667e-308", "1.74107137666667e-308"),
];

/// (input, `str(e)` for the exception `json.loads(input)` raises) in CPython 3.11.7.
const CPYTHON_ERRORS: &[(&str, &str)] = &[
    ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
    ("01", "Extra data: line 1 column 2 (char 1)"),
    ("-", "Expecting value: line 1 column 1 (char 0)"),
    (r#""\ud83d\ude0""#, r"Invalid \uXXXX escape: line 1 column 9 (char 8)"),
    (r#"{"a" 1}"#, "Expecting ':' delimiter: line 1 column 6 (char 5)"),
    ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
    (r#"{"a":1,}"#, "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"),
    (r#""\q""#, r"Invalid \escape: line 1 column 2 (char 1)"),
    ("\"a\u{1}\"", "Invalid control character at: line 1 column 3 (char 2)"),
    ("\u{feff}[]", "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
    ("[\n1,\n2,,]", "Expecting value: line 3 column 3 (char 7)"),
    ("[ntll]", "Expecting value: line 1 column 2 (char 1)"),
    ("{\n\t\"X°\" :\tnul\n}", "Expecting value: line 2 column 9 (char 10)"),
    ("]", "Expecting value: line 1 column 1 (char 0)"),
    ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ("2850716680623.25.0", "Extra data: line 1 column 17 (char 16)"),
    ("0}", "Extra data: line 1 column 2 (char 1)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("fa😀se", "Expecting value: line 1 column 1 (char 0)"),
    ("trul", "Expecting value: line 1 column 1 (char 0)"),
    ("fal\rse", "Expecting value: line 1 column 1 (char 0)"),
    ("u\n  -899719.0\n]", "Expecting value: line 1 column 1 (char 0)"),
    ("[1", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
    ("[\n\t1390123270600714.8", "Expecting ',' delimiter: line 2 column 20 (char 21)"),
    ("nul", "Expecting value: line 1 column 1 (char 0)"),
    ("{\n\t\"/X\u{ffff}\" :\t[] , \n\t\"\u{2028}\" :6{\n\t\t\"€0\" :\t3.779139297001978e+16 , \n\t\t\"\" :\t\"\\nY\\n\" , \n\t\t\"\\u001f\u{ffff}\" :\t5858697301007309980219909676016488778775\n\t} , \n\t\"\" :\t2.9433938490724847e+28\n}", "Expecting ',' delimiter: line 3 column 8 (char 24)"),
    ("[\n  []{, \n  true\n]", "Expecting ',' delimiter: line 2 column 5 (char 6)"),
    ("Na", "Expecting value: line 1 column 1 (char 0)"),
    ("ull", "Expecting value: line 1 column 1 (char 0)"),
    ("[\n\tfalse,\n", "Expecting value: line 3 column 1 (char 10)"),
    (".]", "Expecting value: line 1 column 1 (char 0)"),
    (r#"x"/\b\uffff""#, "Expecting value: line 1 column 1 (char 0)"),
    ("9223372036854775807a", "Extra data: line 1 column 20 (char 19)"),
    ("{\"\": false, \"c\u{feff}\\u0000\": {\" 1\": -39, \"c\\r😀\": -3.755417851926619e+20, \" \\b\\u001f\": -0.0011415161t356944687}, \"1😀\": [\"\\t.中:\\r\"]}", "Expecting ',' delimiter: line 1 column 95 (char 94)"),
    ("-107771N0", "Extra data: line 1 column 8 (char 7)"),
    (r#""b,9\u4e"#, r"Invalid \uXXXX escape: line 1 column 6 (char 5)"),
    ("nu", "Expecting value: line 1 column 1 (char 0)"),
    ("tfue", "Expecting value: line 1 column 1 (char 0)"),
    ("alse", "Expecting value: line 1 column 1 (char 0)"),
    ("alse", "Expecting value: line 1 column 1 (char 0)"),
    ("I", "Expecting value: line 1 column 1 (char 0)"),
    (r#""\u2n28\udbff\udfffc""#, r"Invalid \uXXXX escape: line 1 column 3 (char 2)"),
    ("{\"\\u2028\" :\t[] , \"\\ufeff\n \\u200b\" :\ttrue}", "Invalid control character at: line 1 column 25 (char 24)"),
    ("-11021.0x", "Extra data: line 1 column 9 (char 8)"),
    ("]", "Expecting value: line 1 column 1 (char 0)"),
    ("]", "Expecting value: line 1 column 1 (char 0)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("{}r", "Extra data: line 1 column 3 (char 2)"),
    ("falseN", "Extra data: line 1 column 6 (char 5)"),
    ("\n\"\u{7f}\u{3000}�\": null, \"\": null}", "Extra data: line 2 column 6 (char 6)"),
    ("\"\u{3000}a\"\\", "Extra data: line 1 column 5 (char 4)"),
    ("2574123767261.592{", "Extra data: line 1 column 18 (char 17)"),
    ("[\n  2.208505471545\\4206e-308,\n  null,\n  []\n]", "Expecting ',' delimiter: line 2 column 17 (char 18)"),
    ("{7}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ("fal\re", "Expecting value: line 1 column 1 (char 0)"),
    ("{\"0\u{ffff}\":[1.7976931348623157e+308,true,1.0208124014785784e-22],\"", "Unterminated string starting at: line 1 column 61 (char 60)"),
    ("nul]l", "Expecting value: line 1 column 1 (char 0)"),
    ("{\"c\\\"\u{80}\":false,\".\":{\"\":null},\"c\u{3000}'\":463375776533049120852", "Expecting ',' delimiter: line 1 column 56 (char 55)"),
    ("{\n\t\" é\" :\t-34.31732196731684 , \n\t\" :\t[\n\t\t-Infinity\n\t]\n}", "Invalid control character at: line 3 column 5 (char 36)"),
    ("103061532r5695682.2", "Extra data: line 1 column 10 (char 9)"),
    (" .8062869293177854e-30", "Expecting value: line 1 column 2 (char 1)"),
    ("[\n\tfa", "Expecting value: line 2 column 2 (char 3)"),
    ("{\n\t\"\u{200b}\"}:[]\n}", "Expecting ':' delimiter: line 2 column 5 (char 6)"),
    ("null8", "Extra data: line 1 column 5 (char 4)"),
    (r#""X\t\ud83d\ude00"r"#, "Extra data: line 1 column 18 (char 17)"),
    ("[\n  nul\n]", "Expecting value: line 2 column 3 (char 4)"),
    ("5.669597850463160 e-06", "Extra data: line 1 column 19 (char 18)"),
    ("[\n\t{\n\tx\"\": null\n\t},\n\t{},\n\t-2.749585646674086e-16\n]", "Expecting property name enclosed in double quotes: line 3 column 2 (char 6)"),
    ("nu4l", "Expecting value: line 1 column 1 (char 0)"),
    ("fal6e", "Expecting value: line 1 column 1 (char 0)"),
    ("{}y", "Extra data: line 1 column 3 (char 2)"),
    ("[\n\t{\n\t\t\"\":1e-05\n\t}\nI", "Expecting ',' delimiter: line 5 column 1 (char 19)"),
    ("{\n\t\"Y\u{9f}\": tru1\n}", "Expecting value: line 2 column 8 (char 9)"),
    ("+]", "Expecting value: line 1 column 1 (char 0)"),
    ("-73086505f2324533381614555838333095758964", "Extra data: line 1 column 10 (char 9)"),
    ("nul", "Expecting value: line 1 column 1 (char 0)"),
    (r#"-1.2236237692234938"-17"#, "Extra data: line 1 column 20 (char 19)"),
    ("{\n\t\u{a0}\u{2028}\": \"\",\n\t\"\": -774515.0,\n\t\"'😀/\": {\n\t\t\"\\b\": \"�\u{200b}ü\\\"\",\n\t\t\"-Y\u{2028}\": 1.57493668243819e-308,\n\t\t\"c/\u{3000}\": 1.0718558614164263e-51\n\t}\n}", "Expecting property name enclosed in double quotes: line 2 column 2 (char 3)"),
    ("nurll", "Expecting value: line 1 column 1 (char 0)"),
    ("[\n  \"\u{7f}\"1,\n  {},\n  31741.0\n]", "Expecting ',' delimiter: line 2 column 6 (char 7)"),
    (r#"["Y"#, "Unterminated string starting at: line 1 column 2 (char 1)"),
    ("[\n  {\n    \"\" :\t7479863637914170.0 , \n    \"\\\\-\\u0001\" :\t-9223372036854775808\n  }r]", "Expecting ',' delimiter: line 5 column 4 (char 79)"),
    (r#"{".": tull, "é": NaN, "b\b": {"😀": null, "中": -39}}"#, "Expecting value: line 1 column 7 (char 6)"),
    ("flse", "Expecting value: line 1 column 1 (char 0)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("}", "Expecting value: line 1 column 1 (char 0)"),
    ("{n", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ("{\n  \"\\u0000Z\\u3000\" :\t[] , \n  \"\\u00ad0\" :\t{\n", "Expecting property name enclosed in double quotes: line 4 column 1 (char 44)"),
    (r#""\uffffb\b1\u,fff""#, r"Invalid \uXXXX escape: line 1 column 13 (char 12)"),
    ("251\t561341367.3372", "Extra data: line 1 column 5 (char 4)"),
    ("[{\"/0\":\"\",\"\u{e000}\":-365639.0,\"😀\":-5.5832753214+48114e-28}]", "Expecting ',' delimiter: line 1 column 42 (char 41)"),
    ("{}.", "Extra data: line 1 column 3 (char 2)"),
    ("{\n\t\"\u{10ffff}\": {\n\t\t\"\": null\n\t}", "Expecting ',' delimiter: line 4 column 3 (char 23)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("fase", "Expecting value: line 1 column 1 (char 0)"),
    ("tre", "Expecting value: line 1 column 1 (char 0)"),
    ("[-4\t984174123979725016]", "Expecting ',' delimiter: line 1 column 5 (char 4)"),
    ("-92233720368547r5809", "Extra data: line 1 column 16 (char 15)"),
    ("16.178088\r3836047", "Extra data: line 1 column 11 (char 10)"),
    ("4y14992786101.1963", "Extra data: line 1 column 2 (char 1)"),
    (r#""\u00b5r"#, "Unterminated string starting at: line 1 column 1 (char 0)"),
    ("null6", "Extra data: line 1 column 5 (char 4)"),
    ("-Isfinity", "Expecting value: line 1 column 1 (char 0)"),
    ("80894254912-5847596", "Extra data: line 1 column 12 (char 11)"),
    ("{\"\" :\t{} , \"\\u00e9\\u4e2d\" :\t{}\r", "Expecting ',' delimiter: line 1 column 32 (char 31)"),
    ("t4ue", "Expecting value: line 1 column 1 (char 0)"),
    ("\"\u{1}\\\\\"", "Invalid control character at: line 1 column 2 (char 1)"),
    (" }", "Expecting value: line 1 column 2 (char 1)"),
    ("[\n  true,\n  \"\\n°\\", "Unterminated string starting at: line 3 column 3 (char 12)"),
    ("[:]", "Expecting value: line 1 column 2 (char 1)"),
    ("fal se", "Expecting value: line 1 column 1 (char 0)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("1true", "Extra data: line 1 column 2 (char 1)"),
    ("{\n  \"", "Unterminated string starting at: line 2 column 3 (char 4)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("[", "Expecting value: line 1 column 2 (char 1)"),
    ("[]3", "Extra data: line 1 column 3 (char 2)"),
    ("true7", "Extra data: line 1 column 5 (char 4)"),
    ("1t.8757615918957103e+62", "Extra data: line 1 column 2 (char 1)"),
    ("", "Expecting value: line 1 column 1 (char 0)"),
    ("\",\u{a0}\"r", "Extra data: line 1 column 5 (char 4)"),
    ("}\"c\u{10ffff}😀\\b\"", "Expecting value: line 1 column 1 (char 0)"),
    ("1.\n761913086003972e+27", "Extra data: line 1 column 2 (char 1)"),
    ("[\n\t824092.0,\n\t[\n\t\t557392178", "Expecting ',' delimiter: line 4 column 12 (char 27)"),
    ("{\n  \"\\f.\u{e000}\": 1.928077126439217e-308\nf}", "Expecting ',' delimiter: line 3 column 1 (char 35)"),
    ("n", "Expecting value: line 1 column 1 (char 0)"),
    ("}", "Expecting value: line 1 column 1 (char 0)"),
    ("-2a6704820388321075e-28", "Extra data: line 1 column 3 (char 2)"),
    ("2.0511093188043374ee+18", "Extra data: line 1 column 19 (char 18)"),
    ("[\n  -2,\n  null\n\\", "Expecting ',' delimiter: line 4 column 1 (char 15)"),
];

//! PyExpLabSys pull socket commands: any datagram gets a reply, `status`, or nothing,
//! and never a panic, whatever the stored points hold.
#![no_main]

use std::collections::BTreeMap;

use labsocket::events::EventBus;
use labsocket::points::PointTable;
use labsocket::pyexplabsys::config::{PullKind, PullSocketConfig};
use labsocket::pyexplabsys::pull::{Answer, PullSocket};
use labsocket::pyjson::Value;
use libfuzzer_sys::fuzz_target;

fn socket(kind: PullKind) -> PullSocket {
    let config = PullSocketConfig {
        name: "fuzz".to_owned(),
        kind,
        port: None,
        codenames: ["a", "b#", "c:d", "\u{e9}"].map(str::to_owned).to_vec(),
        timeouts: BTreeMap::from([("a".to_owned(), 1.0)]),
        timeout: None,
        check_activity: true,
        activity_timeout: 900.0,
        allow: None,
    };
    let points = PointTable::new(EventBus::new());
    points.set(
        "a",
        Value::Float(f64::NAN),
        Value::Str("x\"y".into()),
        Some(1.0),
    );
    points.set("b#", Value::Int(-1), Value::BigInt("1".repeat(40)), None);
    points.set(
        "c:d",
        Value::Str("s".into()),
        Value::List(vec![Value::Null]),
        None,
    );
    PullSocket::new(&config, points)
}

fuzz_target!(|data: &[u8]| {
    let mut out = String::new();
    for kind in [PullKind::Date, PullKind::Data] {
        let answer = socket(kind).answer(data, 2.0, &mut out);
        match answer {
            Answer::Reply => assert!(!out.is_empty()),
            Answer::Status => assert!(data == b"status"),
            Answer::Nothing => assert!(!data.is_ascii()),
        }
    }
});

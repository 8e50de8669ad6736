//! The native protocol's request line parser, and the reply it leads to: any bytes give
//! a call or an error, the fast path for plain requests either declines a line or gives
//! exactly what the full parser gives, and every reply line is valid JSON.
#![no_main]

use labsocket::call::CallError;
use labsocket::native::plain_request;
use labsocket::native::rpc::{self, Incoming};
use labsocket::pyjson::{self, Value};
use libfuzzer_sys::fuzz_target;

fn check(incoming: &Incoming) {
    match incoming {
        Incoming::Call { id, method, params } => {
            assert!(matches!(
                params,
                Value::Null | Value::List(_) | Value::Dict(_)
            ));
            let echo = Value::Str(method.clone());
            let reply = rpc::reply_line(id.as_ref().unwrap_or(&Value::Null), &Ok(echo));
            assert!(reply.ends_with('\n'));
            pyjson::parse(reply.trim_end()).expect("a reply line is JSON");
            let notice = rpc::notification_line(method, params);
            pyjson::parse(notice.trim_end()).expect("a notification line is JSON");
        }
        Incoming::Invalid { id, error } => {
            let reply =
                rpc::reply_line(id, &Err(CallError::new(error.code, error.message.clone())));
            pyjson::parse(reply.trim_end()).expect("an error line is JSON");
        }
        Incoming::Batch(items) => items.iter().for_each(check),
    }
}

fuzz_target!(|data: &[u8]| {
    // The fast path on its own (parse_line also tries it first): it must agree with the
    // full parser whenever it accepts a line.
    if let Some(fast) = plain_request::parse(data) {
        assert_eq!(
            format!("{fast:?}"),
            format!("{:?}", rpc::parse_general(data)),
            "the fast path and the full parser disagree"
        );
    }
    check(&rpc::parse_line(data));
});

//! Malformed request lines that reach the native fast path (issue 11): each gets its
//! JSON-RPC parse error on the same connection, which keeps serving.

use labsocket_e2e::Server;
use serde_json::{json, Value};

#[test]
fn truncated_escapes_get_a_parse_error_and_the_connection_goes_on() {
    let server = Server::start("");
    let mut client = server.rpc();
    for line in [
        // The line from the issue: a string ending in a lone backslash.
        "{\"jsonrpc\":\"2.0\",\"id\":\"\\\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[\"\\\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\\\n",
    ] {
        client.send_raw(line.as_bytes());
        let reply = client.read_json();
        assert_eq!(reply["id"], Value::Null, "for {line:?}: {reply}");
        assert_eq!(
            reply["error"]["code"],
            json!(-32700),
            "for {line:?}: {reply}"
        );
        // The same connection still answers.
        assert_eq!(client.call("ping", json!([])), json!("pong"));
    }
    assert!(
        !server.stderr().contains("panicked"),
        "the server logged a panic:\n{}",
        server.stderr()
    );
}

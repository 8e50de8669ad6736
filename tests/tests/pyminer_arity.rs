//! PyMiner commands called with more positional arguments than they take are refused with
//! `failed` (issue 11), as PyMiner's `handler(*params)` raised on them; nothing is stored.
//! The settings getters too: PyMiner's `get_settings` and `get_style_sheet` took no
//! arguments (reference: "a wrong `params` arity" closed the connection with no reply).

use labsocket_e2e::pyminer::{g1_call, g2_call};
use labsocket_e2e::Server;
use serde_json::{json, Value};

/// `pickle.dumps(42)` (protocol 5), base64.
const PICKLED_42: &str = "gAVLKi4=";

#[test]
fn extra_arguments_answer_failed_in_both_generations() {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0\n");
    let pm = server.pyminer();
    assert_eq!(
        g1_call(pm, "write_p", json!(["x", PICKLED_42]))["message"],
        "success"
    );
    for (method, params) in [
        ("read_p", json!(["x", "extra"])),
        ("write_p", json!(["y", PICKLED_42, "server", "extra"])),
        ("get_var_dic", json!(["extra"])),
        ("get_all_variable_names", json!([1])),
        ("delete_variable", json!(["x", "unknown", "extra"])),
        ("get_all_var_names_of_type", json!(["numeric", "extra"])),
        ("get_settings", json!(["extra"])),
        ("get_style_sheet", json!(["extra"])),
        (
            "set_settings_param",
            json!(["theme", "Qdarkstyle", "extra"]),
        ),
    ] {
        let g1 = g1_call(pm, method, params.clone());
        assert_eq!(g1["message"], "failed", "G1 {method} {params}: {g1}");
        // G1 writes answer the bare {"message":"failed"}, as PyMiner did.
        if method != "write_p" {
            let content = g1["content"].as_str().unwrap_or_default();
            assert!(content.contains("too many arguments"), "{method}: {g1}");
        }
        let (_, g2) = g2_call(pm, method, params.clone());
        assert_eq!(g2["message"], "failed", "G2 {method} {params}: {g2}");
    }
    // The refused delete deleted nothing, the refused write wrote nothing.
    let names = g1_call(pm, "get_all_public_variable_names", json!([]));
    assert_eq!(names["var_names"], json!(["x"]), "{names}");
    // The right arity still works, and the refused settings change changed nothing.
    let read = g1_call(pm, "read_p", json!(["x"]));
    assert_eq!(read["x"], Value::from(PICKLED_42), "{read}");
    let settings = g1_call(pm, "get_settings", json!([]));
    assert_eq!(settings["settings"]["theme"], "Fusion", "{settings}");
    assert_eq!(
        g1_call(pm, "get_style_sheet", json!([]))["message"],
        "succeed"
    );
}

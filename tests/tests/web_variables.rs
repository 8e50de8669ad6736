//! The live web view's workspace panel in a real browser (headless Chromium): small
//! variables show their values, and a changed value shows up without a reload.

use labsocket_e2e::browser::Chromium;
use labsocket_e2e::Server;
use serde_json::json;

#[test]
fn page_shows_small_workspace_values_and_their_changes() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    rpc.call(
        "workspace.set",
        json!({"name": "gain", "value": {"channel": 3, "gain": 1.5}}),
    );
    rpc.call(
        "workspace.set",
        json!({"name": "spectrum", "value": vec![1234567.5; 1000]}),
    );

    let mut browser = Chromium::launch(1280, 900);
    let tab = browser.open(&format!("http://{}/", server.address("http")));
    let cell = |name: &str| {
        format!(
            "(() => {{ const td = document.querySelector('[data-variable=\"{name}\"] td.var-value'); \
                       return td ? {{text: td.textContent, title: td.title}} : null; }})()"
        )
    };
    let gain = browser.wait_for(&tab, &cell("gain"), |v| !v.is_null());
    assert_eq!(gain["text"], r#"{"channel":3,"gain":1.5}"#, "{gain}");
    // Too large to include: metadata only, and the cell says why.
    let spectrum = browser.eval(&tab, &cell("spectrum"));
    assert_eq!(spectrum["text"], "—", "{spectrum}");
    assert_eq!(spectrum["title"], "too large to show here");

    // A new value reaches the open page (the workspace's change event reloads the list).
    rpc.call(
        "workspace.set",
        json!({"name": "gain", "value": {"channel": 3, "gain": 2.5}}),
    );
    browser.wait_for(&tab, &cell("gain"), |v| {
        v["text"] == r#"{"channel":3,"gain":2.5}"#
    });
    // A long value is cut to one line; the tooltip has all of it.
    let long = "x".repeat(200);
    rpc.call("workspace.set", json!({"name": "note", "value": long}));
    let note = browser.wait_for(&tab, &cell("note"), |v| !v.is_null());
    let text = note["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 80, "{text}");
    assert!(text.ends_with('…'), "{text}");
    assert_eq!(note["title"], format!("\"{long}\""));
}

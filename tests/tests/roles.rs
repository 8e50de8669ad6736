//! Named tokens with roles (SPEC §10) against the real binary: every role against every
//! command family on the native protocol (table-driven), the legacy `[native]
//! auth_token_file` as an admin token, bearer tokens on HTTP (`/api/*`, `/metrics`, `/ws`,
//! read vs none vs wrong), the page asking for a token in a real browser, and token files
//! that stop the start.

use std::os::unix::fs::PermissionsExt;

use labsocket_e2e::browser::Chromium;
use labsocket_e2e::{http_get, http_get_with, LiveViewClient, RpcClient, Server, TempDir};
use serde_json::{json, Value};

const READER: &str = "reader-token-5b1e0c9d2a7f4e38";
const WRITER: &str = "writer-token-0d4c8a1f6e2b9735";
const ADMIN: &str = "admin-token-7f3e9b2c5d1a8046";
const LEGACY: &str = "legacy-token-2c6a0e8f4b9d1357";

/// A folder with a private file per token.
fn token_dir() -> TempDir {
    let dir = TempDir::new("roles");
    for (file, token) in [
        ("reader.token", READER),
        ("writer.token", WRITER),
        ("admin.token", ADMIN),
        ("legacy.token", LEGACY),
    ] {
        write_private(&dir, file, token);
    }
    dir
}

fn write_private(dir: &TempDir, file: &str, text: &str) {
    let path = dir.path().join(file);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const TOKENS: &str = r#"
[[auth.token]]
name = "reader"
token_file = "reader.token"
role = "read"

[[auth.token]]
name = "writer"
token_file = "writer.token"
role = "write"

[[auth.token]]
name = "boss"
token_file = "admin.token"
role = "admin"
"#;

fn config() -> String {
    format!("[native]\nauth_token_file = \"legacy.token\"\nheartbeat_secs = 0\n{TOKENS}")
}

fn start() -> Server {
    Server::start_in(token_dir(), &config(), &[]).unwrap_or_else(|failure| {
        panic!("server did not start: {}", failure.stderr);
    })
}

#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// Every command family, with params and the role it needs (SPEC §10).
fn commands() -> Vec<(&'static str, Value, Role)> {
    use Role::*;
    vec![
        ("ping", json!([]), Read),
        ("status", json!([]), Read),
        ("commands", json!([]), Read),
        ("plugins", json!([]), Read),
        ("subscribe", json!({"topics": ["points"]}), Read),
        ("unsubscribe", json!({"topics": ["points"]}), Read),
        ("get_point", json!(["roles.a"]), Read),
        ("workspace.list", json!({}), Read),
        ("workspace.get", json!({"name": "v"}), Read),
        ("workspace.meta", json!({"name": "v"}), Read),
        ("history.codenames", json!({}), Read),
        (
            "history.query",
            json!({"codenames": ["roles.a"], "from": 0}),
            Read,
        ),
        ("settings.get", json!({}), Read),
        ("push_state", json!([1]), Read),
        // A plugin command declared read-only.
        ("hello.greet", json!({"name": "Ada"}), Read),
        ("set_point_now", json!(["roles.a", 1]), Write),
        ("set_point", json!(["roles.a", 1.0, 2]), Write),
        (
            "set_stale",
            json!({"prefix": "roles.", "stale": false}),
            Write,
        ),
        ("workspace.set", json!({"name": "v", "value": 1}), Write),
        ("workspace.delete", json!({"name": "v"}), Write),
        ("push_take", json!([1, 1]), Write),
        ("history.flush", json!({}), Write),
        // A plugin command not declared read-only.
        (
            "hello.measure",
            json!({"codename": "roles.b", "value": 1}),
            Write,
        ),
        ("settings.set", json!({"name": "nope", "value": 1}), Admin),
        ("set_settings_param", json!(["nope", 1]), Admin),
        ("live_reset", json!([["roles.a"]]), Admin),
    ]
}

fn error_code(reply: &Value) -> Option<i64> {
    reply["error"]["code"].as_i64()
}

/// Authenticates a new connection with `token`; checks the role `auth` reports.
fn connect_as(server: &Server, token: &str, role: Role) -> RpcClient {
    let mut rpc = server.rpc();
    let reply = rpc.call("auth", json!({"token": token}));
    assert_eq!(
        reply,
        json!({"authenticated": true, "required": true, "role": role.name()})
    );
    rpc
}

#[test]
fn every_role_against_every_command_family_on_native() {
    let server = start();
    let tokens = [
        ("reader", READER, Role::Read),
        ("writer", WRITER, Role::Write),
        ("boss", ADMIN, Role::Admin),
        // The legacy [native] auth_token_file is an admin token.
        ("[native] auth_token", LEGACY, Role::Admin),
    ];
    for (name, token, role) in tokens {
        let mut rpc = connect_as(&server, token, role);
        for (method, params, needed) in commands() {
            let reply = rpc.request(method, params);
            if needed <= role {
                assert_ne!(
                    error_code(&reply),
                    Some(-32003),
                    "{name} ({role:?}) may call {method}: {reply}"
                );
            } else {
                assert_eq!(
                    error_code(&reply),
                    Some(-32003),
                    "{name} ({role:?}) may not call {method}: {reply}"
                );
                let message = reply["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("needs a token with the {} role", needed.name())),
                    "{message}"
                );
            }
        }
        // Refusals are not failed logins: the connection is still open and served.
        assert_eq!(rpc.call("ping", json!([])), "pong", "{name}");
    }
    // A refused write did not happen: the point the reader tried to set is the writer's.
    let mut admin = connect_as(&server, ADMIN, Role::Admin);
    let point = admin.call("get_point", json!(["roles.a"]));
    assert_eq!(point["y"], 2, "{point}");

    // Without a token nothing runs, whatever the command.
    let mut anonymous = server.rpc();
    let reply = anonymous.request("ping", json!([]));
    assert_eq!(error_code(&reply), Some(-32003), "{reply}");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("authentication required"));

    // The log names the token of a refusal, never a secret.
    let log = server.stderr();
    assert!(
        log.contains("token 'reader' (role read) refused 'set_point_now': it needs the write role"),
        "{log}"
    );
    for secret in [READER, WRITER, ADMIN, LEGACY] {
        assert!(!log.contains(secret), "a secret in the log:\n{log}");
    }
}

#[test]
fn batches_are_checked_call_by_call_and_a_wrong_token_drops_the_role() {
    let server = start();
    let mut rpc = connect_as(&server, READER, Role::Read);
    rpc.send_raw(
        b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},\
           {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"set_point_now\",\"params\":[\"b\",1]},\
           {\"jsonrpc\":\"2.0\",\"method\":\"set_point_now\",\"params\":[\"b\",2]}]\n",
    );
    let replies = rpc.read_json();
    let replies = replies.as_array().expect("a batch reply");
    assert_eq!(
        replies.len(),
        2,
        "no reply for the notification: {replies:?}"
    );
    assert_eq!(replies[0]["result"], "pong");
    assert_eq!(replies[1]["id"], 2);
    assert_eq!(error_code(&replies[1]), Some(-32003));
    let mut writer = connect_as(&server, WRITER, Role::Write);
    let missing = writer.request("get_point", json!(["b"]));
    assert_eq!(
        error_code(&missing),
        Some(-32004),
        "nothing was set: {missing}"
    );

    // Re-authenticating with a wrong token leaves the connection without a role.
    let wrong = rpc.request("auth", json!({"token": "wrong-wrong-wrong-wrong"}));
    assert_eq!(error_code(&wrong), Some(-32003), "{wrong}");
    let reply = rpc.request("ping", json!([]));
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("authentication required"));
    // And a write token picks the write role on the same connection.
    let mut again = connect_as(&server, WRITER, Role::Write);
    assert_eq!(
        error_code(&again.request("set_point_now", json!(["b", 3]))),
        None
    );
}

#[test]
fn http_needs_a_bearer_token_once_tokens_are_named() {
    let server = start();
    let http = server.address("http");
    let host = http.to_string();
    let get = |path: &str, token: Option<&str>| {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Host", host.as_str())];
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer.as_str()));
        }
        http_get_with(http, path, &headers)
    };
    for path in ["/api/status", "/api/points", "/api/variables", "/metrics"] {
        let none = get(path, None);
        assert_eq!(none.status, 401, "{path} without a token: {}", none.body);
        assert!(none
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
        assert_eq!(none.json()["error"]["code"], -32003);
        let wrong = get(path, Some("wrong-wrong-wrong-wrong"));
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        assert!(wrong
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token"));
        for token in [READER, WRITER, ADMIN, LEGACY] {
            let ok = get(path, Some(token));
            assert_eq!(ok.status, 200, "{path} with {token}: {}", ok.body);
        }
    }
    assert!(get("/metrics", Some(READER))
        .body
        .contains("labsocket_uptime_seconds"));
    // The page itself loads without a token (it asks for one).
    let page = get("/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("token-form"));
    assert_eq!(get("/assets/app.js", None).status, 200);

    // The WebSocket: header, query parameter, none, wrong.
    let refused = LiveViewClient::try_connect(http, "/ws", &[]).err().unwrap();
    assert!(refused.starts_with("401"), "{refused}");
    let wrong = LiveViewClient::try_connect(http, "/ws?access_token=wrong-wrong-wrong", &[]);
    assert!(wrong.err().unwrap().starts_with("401"));
    let mut by_query = LiveViewClient::connect(http, &format!("/ws?access_token={READER}"));
    assert_eq!(by_query.next_message()["type"], "snapshot");
    let bearer = format!("Bearer {READER}");
    let mut by_header =
        LiveViewClient::try_connect(http, "/ws?topics=*", &[("authorization", &bearer)]).unwrap();
    assert_eq!(by_header.next_message()["type"], "snapshot");

    // A write over HTTP (there is none yet) would need the write role: a read token is
    // refused before routing, a write token reaches the router (which has no POST).
    let post = |token: &str| {
        let mut stream = std::net::TcpStream::connect(http).unwrap();
        let request = format!(
            "POST /api/status HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
        let mut reply = String::new();
        std::io::Read::read_to_string(&mut stream, &mut reply).unwrap();
        reply
    };
    let refused = post(READER);
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused.contains("needs a token with the write role"),
        "{refused}"
    );
    assert!(post(WRITER).starts_with("HTTP/1.1 405"));

    // Refused requests count as HTTP errors in /metrics.
    let metrics = get("/metrics", Some(ADMIN)).body;
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("labsocket_request_errors_total{front_end=\"http\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    assert!(errors >= 8.0, "{metrics}");
}

#[test]
fn only_the_legacy_token_leaves_http_open_and_is_an_admin_token() {
    let dir = token_dir();
    let server = Server::start_in(
        dir,
        "[native]\nauth_token_file = \"legacy.token\"\nheartbeat_secs = 0\n",
        &[],
    )
    .unwrap();
    let http = server.address("http");
    assert_eq!(http_get(http, "/api/status", None).status, 200);
    assert_eq!(http_get(http, "/metrics", None).status, 200);
    let mut ws = LiveViewClient::connect(http, "/ws");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let mut rpc = connect_as(&server, LEGACY, Role::Admin);
    let reply = rpc.request("settings.set", json!({"name": "nope", "value": 1}));
    assert_ne!(error_code(&reply), Some(-32003), "{reply}");
}

#[test]
fn bad_token_files_stop_the_start_naming_the_file() {
    let failure = |dir: TempDir, config: &str| {
        Server::start_in(dir, config, &[])
            .map(|_| ())
            .expect_err("the server refuses to start")
            .stderr
    };
    let readable = token_dir();
    std::fs::set_permissions(
        readable.path().join("writer.token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let stderr = failure(readable, TOKENS);
    assert!(
        stderr.contains("[[auth.token]] #2 \"writer\" token_file: ")
            && stderr.contains("writer.token is accessible to every user")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );

    let missing = TempDir::new("roles");
    let stderr = failure(missing, TOKENS);
    assert!(
        stderr.contains("[[auth.token]] #1 \"reader\" token_file: cannot read")
            && stderr.contains("reader.token"),
        "{stderr}"
    );

    let short = token_dir();
    write_private(&short, "admin.token", "short");
    let stderr = failure(short, TOKENS);
    assert!(
        stderr.contains("admin.token must be at least 16 characters"),
        "{stderr}"
    );

    let shared = token_dir();
    write_private(&shared, "admin.token", READER);
    let stderr = failure(shared, TOKENS);
    assert!(
        stderr.contains("the token of 'boss' is the same as the token of 'reader'"),
        "{stderr}"
    );

    let bad_role = failure(
        token_dir(),
        "[[auth.token]]\nname = \"x\"\ntoken_file = \"reader.token\"\nrole = \"root\"\n",
    );
    assert!(
        bad_role.contains("role") && bad_role.contains("root"),
        "{bad_role}"
    );
    let twice = failure(
        token_dir(),
        "[[auth.token]]\nname = \"x\"\ntoken_file = \"reader.token\"\nrole = \"read\"\n\
         [[auth.token]]\nname = \"x\"\ntoken_file = \"writer.token\"\nrole = \"read\"\n",
    );
    assert!(
        twice.contains("[[auth.token]] #2 name: 'x' is used twice"),
        "{twice}"
    );
}

#[test]
fn the_page_asks_for_a_token_once_and_again_when_it_is_wrong() {
    let server = start();
    let http = server.address("http");
    let mut browser = Chromium::launch(1000, 700);
    let tab = browser.open(&format!("http://{http}/"));
    let form_shown = "({auth: document.body?.dataset.auth, \
                       shown: !document.getElementById('token-form')?.hidden, \
                       error: document.getElementById('token-error')?.textContent, \
                       ws: document.body?.dataset.ws})";
    let asked = browser.wait_for(&tab, form_shown, |v| {
        v["auth"] == "needed" && v["shown"] == true
    });
    assert_eq!(asked["error"], "", "{asked}");
    let submit = |token: &str| {
        format!(
            "(() => {{ document.getElementById('token-input').value = {}; \
               document.getElementById('token-form').requestSubmit(); return true; }})()",
            json!(token)
        )
    };
    // A wrong token: the server refuses it and the page asks again, saying so.
    browser.eval(&tab, &submit("wrong-wrong-wrong-wrong"));
    let again = browser.wait_for(&tab, form_shown, |v| {
        v["auth"] == "needed" && v["error"].as_str().is_some_and(|e| e.contains("refused"))
    });
    assert_eq!(again["shown"], true);
    // The right one: the form goes, the WebSocket opens, the data loads.
    browser.eval(&tab, &submit(READER));
    let opened = browser.wait_for(&tab, form_shown, |v| {
        v["auth"] == "given" && v["ws"] == "open"
    });
    assert_eq!(opened["shown"], false);
    let stored = browser.eval(&tab, "sessionStorage.getItem('labsocket.token')");
    assert_eq!(stored, READER);
    browser.wait_for(
        &tab,
        "document.getElementById('server-line')?.textContent",
        |v| v.as_str().is_some_and(|s| !s.is_empty()),
    );
    // A reload in the same tab keeps the token: no second question.
    // Navigating again in the same tab keeps the token: no second question.
    browser.call(
        Some(&tab),
        "Page.navigate",
        json!({"url": format!("http://{http}/?window=30")}),
    );
    let reloaded = browser.wait_for(
        &tab,
        &format!("location.search.includes('window=30') ? {form_shown} : {{}}"),
        |v| v["ws"] == "open",
    );
    assert_ne!(reloaded["auth"], "needed", "{reloaded}");
}

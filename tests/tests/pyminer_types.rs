//! One type vocabulary across clients (issue 11): what the Python client writes, the real
//! PyMiner G2 client finds with `get_all_var_names_of_type`, through
//! `tests/python/client_types.py`.

use std::time::Duration;

use labsocket_e2e::python::run_script;
use labsocket_e2e::Server;

#[test]
fn pyminer_type_filters_find_what_the_python_client_wrote() {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0\n");
    let args = [
        server.pyminer().port().to_string(),
        server.native().port().to_string(),
    ];
    let output = run_script("client_types.py", &args, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("OK client_types"),
        "client_types.py failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.stderr()
    );
}

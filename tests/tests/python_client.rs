//! The Python client's pytest suite (`clients/python/tests`) against the real binary.
//!
//! Runs under `cargo test --workspace` with the environment of
//! [`labsocket_e2e::python::interpreter`]; `LABSOCKET_BIN` tells the suite which binary
//! to start.

use std::process::Command;

use labsocket_e2e::build::workspace_root;
use labsocket_e2e::labsocket_bin;

#[test]
fn python_client_suite_passes_against_the_real_server() {
    let python = labsocket_e2e::python::interpreter();
    let mut pytest = Command::new(python);
    pytest
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "clients/python/tests",
        ])
        .current_dir(workspace_root())
        .env("LABSOCKET_BIN", labsocket_bin());
    let out = pytest.output().expect("pytest can be run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" passed") && !summary.contains("skipped"),
        "unexpected pytest summary: {summary}"
    );
}

//! Prepares the Python environment of the Python-client tests and prints its interpreter.
//!
//! `.ci/run` runs it before `cargo test` so the one-time install (pip downloads) is not
//! counted against a test's time. Run: `cargo run -p labsocket-e2e --bin python-env`

fn main() {
    println!("{}", labsocket_e2e::python::interpreter().display());
}

//! Creates (once) the Python venv the end-to-end tests use and prints its interpreter's
//! path: `cargo run -p labsocket-e2e --bin labsocket-pyenv`. CI runs it before the tests so
//! that installing the PyMiner clients is a step of its own.

fn main() {
    println!("{}", labsocket_e2e::python::python().display());
}

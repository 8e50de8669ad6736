//! The `labsocket` binary: see `labsocket --help` and `docs/user-guide.md`.

fn main() -> std::process::ExitCode {
    labsocket::cli::run()
}

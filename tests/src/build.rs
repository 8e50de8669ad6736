//! Building what the tests run: the `labsocket` binary and plugin dylibs.
//!
//! Cargo builds a test's own crate, not other crates' binaries or cdylibs, so the harness
//! runs `cargo build` itself (once per artifact set per process; a no-op when up to date)
//! and finds the output under the target directory, respecting `CARGO_TARGET_DIR`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory (`CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Runs `cargo build <args>` once per distinct argument list in this process.
fn cargo_build(args: &[&str]) {
    static DONE: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let key = args.join(" ");
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.get_or_insert_with(HashSet::new).contains(&key) {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .arg("build")
        .args(args)
        .current_dir(workspace_root())
        // Set for this test binary, not for a build: `ring`'s build script reruns when
        // it changes, so inheriting it would rebuild ring (and all above it) on every
        // switch between `cargo test` and this nested build.
        .env_remove("CARGO_MANIFEST_DIR")
        .status()
        .expect("cargo can be run");
    assert!(status.success(), "cargo build {key} failed");
    done.as_mut().unwrap().insert(key);
}

/// The `labsocket` binary (debug build), built if needed.
pub fn labsocket_bin() -> PathBuf {
    cargo_build(&["-p", "labsocket", "--bin", "labsocket"]);
    built_binary("debug")
}

/// The `labsocket` binary (release build) for benchmarks, built if needed.
pub fn labsocket_release_bin() -> PathBuf {
    cargo_build(&["--release", "-p", "labsocket", "--bin", "labsocket"]);
    built_binary("release")
}

fn built_binary(profile: &str) -> PathBuf {
    let path = target_dir()
        .join(profile)
        .join(format!("labsocket{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn dylib_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The `units` plugin built as a dylib by the `units-dylib` crate.
pub fn units_dylib() -> PathBuf {
    cargo_build(&["-p", "units-dylib"]);
    let path = target_dir()
        .join("debug")
        .join(dylib_name("labsocket_units"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A broken plugin from `plugins/bad-fixtures/examples/<name>.rs`, built if needed.
pub fn bad_plugin(name: &str) -> PathBuf {
    cargo_build(&["-p", "labsocket-bad-plugins", "--examples"]);
    let path = target_dir()
        .join("debug")
        .join("examples")
        .join(dylib_name(name));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs `cargo <subcommand>` on a crate outside this workspace (a generated plugin, a
/// compatibility fixture) with its own target directory under ours, so its dependencies
/// are built once and kept between test runs. Panics with cargo's output on failure;
/// returns its stdout and stderr.
pub fn cargo_outside(subcommand: &str, manifest: &Path, target_subdir: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir().join(target_subdir))
        // The generated crate is not part of this workspace: don't inherit its settings.
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo can be run");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo {subcommand} --manifest-path {} failed:\n{text}",
        manifest.display()
    );
    text
}

/// The file name of a dynamic library called `stem` on this platform.
pub fn dylib_file(stem: &str) -> String {
    dylib_name(stem)
}

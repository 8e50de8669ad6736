//! Records the toolchain a plugin was built with, for the descriptor's `build_info`.
//!
//! The host prints this in load errors so that "which compiler built this .so?" has an
//! answer. It is diagnostic only: compatibility is decided by the ABI version alone.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "rustc (unknown version)".to_owned());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=LABSOCKET_PLUGIN_BUILD_INFO={version}; {target}; {profile}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}

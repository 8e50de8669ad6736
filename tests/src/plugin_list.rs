//! Config snippets and `labsocket plugins --json` runs that the plugin tests share.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::build::labsocket_bin;

/// A config that loads the dylibs at `paths` (`[plugins] dylibs = [...]`).
pub fn config_with_dylibs(paths: &[&Path]) -> String {
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    format!("[plugins]\ndylibs = [{}]\n", list.join(", "))
}

/// `labsocket plugins --json --config <path> <args>`: (exit code, parsed stdout).
pub fn plugins_json_at(path: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(labsocket_bin())
        .args(["plugins", "--json", "--config"])
        .arg(path)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

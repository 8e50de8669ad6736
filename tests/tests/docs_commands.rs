//! `docs/commands.md` is the output of `labsocket plugins --markdown` for the default
//! build: this test regenerates it and fails when the committed file differs, so the
//! command reference cannot drift from the commands' own metadata.

use std::process::Command;

use labsocket_e2e::{labsocket_bin, workspace_root, TempDir};

const REGENERATE: &str = "cargo run -p labsocket -- plugins --markdown > docs/commands.md";

#[test]
fn docs_commands_md_is_the_generated_reference() {
    // An empty folder and no config: the default build's plugins, nothing from this
    // checkout's data directory.
    let dir = TempDir::new("docs-commands");
    let out = Command::new(labsocket_bin())
        .args(["plugins", "--markdown"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let generated = String::from_utf8(out.stdout).expect("the reference is UTF-8");
    // What it must contain, whatever the plugins: core and plugin commands with their
    // signatures and read-only flags.
    for expected in [
        "- **`ping`** *(read-only)*: Answers \"pong\"  \n  params: `none`; result: `\"pong\"`\n",
        "## Plugin `workspace` ",
        "- **`read_p`** *(read-only)*",
        "- **`write_p`**: ",
        REGENERATE,
    ] {
        assert!(
            generated.contains(expected),
            "missing {expected:?} in:\n{generated}"
        );
    }
    let path = workspace_root().join("docs").join("commands.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(old, new)| old != new)
            .map_or_else(
                || committed.lines().count().min(generated.lines().count()) + 1,
                |index| index + 1,
            );
        panic!(
            "{} is out of date (first difference at line {line}); regenerate it from the \
             workspace root with:\n    {REGENERATE}",
            path.display()
        );
    }
}

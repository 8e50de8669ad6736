//! `labsocket new-plugin NAME`: writes a ready plugin project — the plugin crate, its thin
//! dylib wrapper and a unit test on the plugin API's test kit — that builds, passes its test
//! and loads into this host as it is (`tests/tests/new_plugin.rs` does exactly that).
//!
//! The files are templates compiled into the binary (`new_plugin/*.tmpl`), so what a lab
//! gets always matches the plugin API of the host that wrote it.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{EXIT_FAILURE, EXIT_USAGE};

#[derive(Args)]
pub struct NewPluginArgs {
    /// The plugin's name: lower-case letters, digits and `_`, starting with a letter. It is
    /// also the prefix of its commands (`NAME.greet`) and its config table `[plugins.NAME]`.
    pub name: String,
    /// Where to write the project (default: ./NAME). It must not exist, or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// A local copy of the `labsocket-plugin-api` crate to build against (default: the one
    /// this host was built from, when it is still there; else the crates.io version).
    #[arg(long)]
    pub api_path: Option<PathBuf>,
}

/// The files of a new project: path (with `NAME` replaced) and template.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("new_plugin/workspace.toml.tmpl")),
    ("README.md", include_str!("new_plugin/README.md.tmpl")),
    (
        "NAME/Cargo.toml",
        include_str!("new_plugin/plugin.toml.tmpl"),
    ),
    ("NAME/src/lib.rs", include_str!("new_plugin/lib.rs.tmpl")),
    (
        "NAME/tests/commands.rs",
        include_str!("new_plugin/commands.rs.tmpl"),
    ),
    (
        "NAME-dylib/Cargo.toml",
        include_str!("new_plugin/dylib.toml.tmpl"),
    ),
    (
        "NAME-dylib/src/lib.rs",
        include_str!("new_plugin/dylib.rs.tmpl"),
    ),
];

pub fn run(args: NewPluginArgs) -> u8 {
    if let Err(problem) = check_name(&args.name) {
        eprintln!("labsocket: {problem}");
        return EXIT_USAGE;
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        eprintln!(
            "labsocket: {} exists and is not empty; choose another --dir",
            dir.display()
        );
        return EXIT_USAGE;
    }
    let api = api_dependency(args.api_path.as_deref());
    match write_project(&dir, &args.name, &api) {
        Ok(()) => {
            println!("wrote plugin '{}' to {}", args.name, dir.display());
            println!(
                "next: cd {} && cargo test && cargo build --release",
                dir.display()
            );
            println!(
                "then load target/release/{} with [plugins] dylibs = [...] in the server's config",
                dylib_file_name(&args.name)
            );
            0
        }
        Err(err) => {
            eprintln!("labsocket: cannot write {}: {err}", dir.display());
            EXIT_FAILURE
        }
    }
}

/// A plugin name must be a valid crate name, command prefix and TOML key at once.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a plugin name: use lower-case letters, digits and '_', starting with a letter (e.g. 'mylab')"
        ))
    }
}

/// The `labsocket-plugin-api` dependency line of the new crates.
fn api_dependency(api_path: Option<&Path>) -> String {
    let version = labsocket_plugin_api::abi::ABI_VERSION;
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api");
    let path = match api_path {
        Some(path) => Some(path.to_owned()),
        None => built_from
            .join("Cargo.toml")
            .is_file()
            .then_some(built_from),
    };
    match path.map(|path| std::fs::canonicalize(&path).unwrap_or(path)) {
        // TOML basic strings escape `\` and `"`; a path rarely has them, but Windows paths do.
        Some(path) => format!(
            "{{ version = \"{version}\", path = \"{}\" }}",
            path.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        ),
        None => format!("\"{version}\""),
    }
}

/// `liblabsocket_NAME.so` on Linux (the platform's prefix and extension elsewhere).
fn dylib_file_name(name: &str) -> String {
    format!(
        "{}labsocket_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

fn write_project(dir: &Path, name: &str, api: &str) -> std::io::Result<()> {
    for (path, template) in FILES {
        let file = dir.join(path.replace("NAME", name));
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = template
            .replace("{{name}}", name)
            .replace("{{api}}", api)
            .replace("{{api_version}}", labsocket_plugin_api::abi::ABI_VERSION)
            .replace("{{dylib_file}}", &dylib_file_name(name));
        std::fs::write(file, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_crate_names_and_command_prefixes() {
        assert!(check_name("mylab").is_ok());
        assert!(check_name("lab_2").is_ok());
        for bad in ["", "2lab", "MyLab", "my-lab", "my.lab", "my lab", "lab/x"] {
            assert!(check_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn every_template_placeholder_is_filled() {
        let dir = std::env::temp_dir().join(format!("labsocket-new-plugin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_project(&dir, "mylab", "\"1\"").unwrap();
        for (path, _) in FILES {
            let text = std::fs::read_to_string(dir.join(path.replace("NAME", "mylab"))).unwrap();
            assert!(!text.contains("{{"), "{path} keeps a placeholder:\n{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

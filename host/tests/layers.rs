//! Architecture test: the host's top-level modules keep to their layers.
//!
//! It reads every `.rs` file under `host/src`, maps each file to its top-level module,
//! extracts the `crate::…` and `super::…` paths it uses (comments and string literals
//! aside), and checks every edge between two top-level modules against [`LAYERS`]:
//!
//! - **foundation** (`pyjson`, `shutdown`, `failure_log`): uses only the foundation;
//! - **core** (registry, dispatch, event bus, point table, connection slots, commands):
//!   uses the core and the foundation: no front end, source runner, CLI or config;
//! - **front ends** and the source runner: use the core and the foundation, never each
//!   other, never the configuration (their settings are passed in);
//! - **boot** (`config`, `server`, `cli`): on top, may use everything.
//!
//! It also fails on any import cycle between top-level modules, and on a top-level module
//! missing from [`LAYERS`] (a new module must say where it belongs). Failures name
//! `file:line` and the forbidden edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Foundation,
    Core,
    FrontEnd,
    Boot,
}

/// Every top-level module of `host/src` and its layer.
const LAYERS: &[(&str, Layer)] = &[
    ("pyjson", Layer::Foundation),
    ("shutdown", Layer::Foundation),
    ("failure_log", Layer::Foundation),
    ("call", Layer::Core),
    ("events", Layer::Core),
    ("points", Layer::Core),
    ("plugins", Layer::Core),
    ("host_core", Layer::Core),
    ("commands", Layer::Core),
    ("dispatch", Layer::Core),
    ("tcp_listener", Layer::Core),
    ("tls", Layer::Core),
    ("annotations", Layer::Core),
    ("access", Layer::Core),
    ("native", Layer::FrontEnd),
    ("pyminer", Layer::FrontEnd),
    ("pyexplabsys", Layer::FrontEnd),
    ("http", Layer::FrontEnd),
    ("live_server", Layer::FrontEnd),
    ("sources", Layer::FrontEnd),
    ("config", Layer::Boot),
    ("server", Layer::Boot),
    ("cli", Layer::Boot),
    ("data_dir_lock", Layer::Boot),
];

fn layer_of(module: &str) -> Option<Layer> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// Whether a module of layer `from` may use a module of layer `to` (both different
/// top-level modules).
fn allowed(from: Layer, to: Layer) -> bool {
    match from {
        // Front ends are independent of each other: what one shares with another goes
        // through the core (a registered view, a bus topic).
        Layer::FrontEnd => to < Layer::FrontEnd,
        _ => to <= from,
    }
}

/// One use of another top-level module.
#[derive(Debug, Clone)]
struct Reference {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The module path of a file under `src`: `a/b.rs` and `a/b/mod.rs` are `[a, b]`; the
/// crate roots are `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// `source` with comments, string and char literals blanked (newlines kept, so line
/// numbers stay right): a path in a doc comment or a message is not a reference.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            rest[..end].chars().for_each(|c| blank(&mut out, c));
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |at| at + 2);
            rest[..end].chars().for_each(|c| blank(&mut out, c));
            i += end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let open_len = 2 + hashes;
            let end = rest[open_len..]
                .find(&close)
                .map_or(rest.len(), |at| open_len + at + close.len());
            rest[..end].chars().for_each(|c| blank(&mut out, c));
            i += end;
        } else if rest.starts_with('"') {
            let mut end = 1;
            let body = rest.as_bytes();
            while end < body.len() && body[end] != b'"' {
                end += if body[end] == b'\\' { 2 } else { 1 };
            }
            let end = (end + 1).min(rest.len());
            rest[..end].chars().for_each(|c| blank(&mut out, c));
            i += end;
        } else if let Some(end) = char_literal_len(rest) {
            rest[..end].chars().for_each(|c| blank(&mut out, c));
            i += end;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"`: the number of `#`s, if `text` starts one.
fn raw_string_start(text: &str) -> Option<usize> {
    let text = text.strip_prefix('b').unwrap_or(text);
    let text = text.strip_prefix('r')?;
    let hashes = text.len() - text.trim_start_matches('#').len();
    text[hashes..].starts_with('"').then_some(hashes)
}

/// The length of a char literal (`'a'`, `'\n'`, `'\''`) at the start of `text`; `None`
/// for a lifetime (`'a`).
fn char_literal_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix('\'')?;
    let mut chars = body.char_indices();
    let (_, first) = chars.next()?;
    let after = if first == '\\' {
        let (_, escaped) = chars.next()?;
        let mut end = 1 + escaped.len_utf8();
        if escaped == 'u' {
            end = body.find('}')? + 1;
        }
        end
    } else {
        first.len_utf8()
    };
    body[after..].starts_with('\'').then_some(after + 2)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifier at the start of `text` (after spaces).
fn leading_ident(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let len = text.bytes().take_while(|b| is_ident_byte(*b)).count();
    (len > 0).then(|| &text[..len])
}

/// The first identifiers of every path in a `{a, b::c, self}` group at the start of
/// `text`.
fn group_idents(text: &str) -> Vec<&str> {
    let Some(body) = text.trim_start().strip_prefix('{') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut idents = Vec::new();
    let mut expect_ident = true;
    for (at, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_ident = true,
            c if expect_ident && depth == 0 && !c.is_whitespace() => {
                expect_ident = false;
                if let Some(ident) = leading_ident(&body[at..]) {
                    idents.push(ident);
                }
            }
            _ => {}
        }
    }
    idents
}

/// Every reference from the file at `relative` (path under `src`) with text `source` to
/// another top-level module.
fn references(relative: &Path, source: &str) -> Vec<Reference> {
    let path = module_path(relative);
    let Some(own) = path.first().cloned() else {
        return Vec::new();
    };
    let code = code_only(source);
    let mut found = Vec::new();
    let file = Path::new("host/src").join(relative).display().to_string();
    for (index, line_text) in code.lines().enumerate() {
        let bytes = line_text.as_bytes();
        let mut start = 0;
        // Every `crate::` or `super::` on the line, left to right.
        while let Some(at) = ["crate::", "super::"]
            .iter()
            .filter_map(|needle| line_text[start..].find(needle).map(|a| a + start))
            .min()
        {
            start = at + 7;
            if at > 0 && (is_ident_byte(bytes[at - 1]) || bytes[at - 1] == b':') {
                continue;
            }
            let targets: Vec<String> = if line_text[at..].starts_with("crate::") {
                let rest = &line_text[at + 7..];
                group_idents(rest)
                    .into_iter()
                    .chain(leading_ident(rest))
                    .map(str::to_owned)
                    .collect()
            } else {
                // `super::super::x`: climb once per `super`, from this file's module.
                let mut rest = &line_text[at..];
                let mut level = path.len();
                while let Some(next) = rest.strip_prefix("super::") {
                    level = level.saturating_sub(1);
                    rest = next.trim_start();
                    start = line_text.len() - rest.len();
                }
                if level > 0 {
                    // Still inside this top-level module (or an inline module of it).
                    continue;
                }
                group_idents(rest)
                    .into_iter()
                    .chain(leading_ident(rest))
                    .map(str::to_owned)
                    .collect()
            };
            for target in targets {
                let is_module = layer_of(&target).is_some()
                    || target
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase())
                        && !matches!(target.as_str(), "self" | "super");
                if target == own || !is_module {
                    continue;
                }
                found.push(Reference {
                    file: file.clone(),
                    line: index + 1,
                    from: own.clone(),
                    to: target,
                });
            }
        }
    }
    found
}

/// What is wrong with `references`: forbidden edges, unknown modules, cycles.
fn violations(references: &[Reference]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut graph: BTreeMap<&str, BTreeMap<&str, &Reference>> = BTreeMap::new();
    for reference in references {
        let at = format!("{}:{}", reference.file, reference.line);
        let (Some(from), Some(to)) = (layer_of(&reference.from), layer_of(&reference.to)) else {
            let unknown = if layer_of(&reference.from).is_none() {
                &reference.from
            } else {
                &reference.to
            };
            problems.push(format!(
                "{at}: module `{unknown}` is not in the LAYERS table of host/tests/layers.rs \
                 (edge {} -> {})",
                reference.from, reference.to
            ));
            continue;
        };
        if !allowed(from, to) {
            problems.push(format!(
                "{at}: forbidden edge {} ({from:?}) -> {} ({to:?})",
                reference.from, reference.to
            ));
        }
        graph
            .entry(reference.from.as_str())
            .or_default()
            .entry(reference.to.as_str())
            .or_insert(reference);
    }
    problems.extend(cycles(&graph));
    problems
}

/// Every cycle between top-level modules (one per strongly connected group), with one
/// `file:line` per edge.
fn cycles(graph: &BTreeMap<&str, BTreeMap<&str, &Reference>>) -> Vec<String> {
    let nodes: BTreeSet<&str> = graph
        .iter()
        .flat_map(|(from, tos)| std::iter::once(*from).chain(tos.keys().copied()))
        .collect();
    let mut reported: BTreeSet<&str> = BTreeSet::new();
    let mut problems = Vec::new();
    for start in nodes {
        if reported.contains(start) {
            continue;
        }
        // Depth-first search for a path from `start` back to itself.
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            let Some(edges) = graph.get(node) else {
                continue;
            };
            if let Some(reference) = edges.get(start) {
                let mut steps: Vec<String> = path
                    .windows(2)
                    .map(|pair| {
                        let r = graph[pair[0]][pair[1]];
                        format!("{} -> {} ({}:{})", r.from, r.to, r.file, r.line)
                    })
                    .collect();
                steps.push(format!(
                    "{} -> {} ({}:{})",
                    reference.from, reference.to, reference.file, reference.line
                ));
                problems.push(format!("import cycle: {}", steps.join(", ")));
                reported.extend(path.iter().copied());
                break;
            }
            for next in edges.keys() {
                if seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    problems
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn host_src_keeps_to_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "host/src has only {} files?", files.len());
    let mut all = Vec::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        if let Some(top) = module_path(relative).first() {
            modules.insert(top.clone());
        }
        let source = std::fs::read_to_string(file).expect("readable source");
        all.extend(references(relative, &source));
    }
    let mut problems = violations(&all);
    for module in &modules {
        if layer_of(module).is_none() {
            problems.push(format!(
                "host/src/{module}: top-level module not in the LAYERS table of host/tests/layers.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "host/src breaks its layers (see the lib.rs map):\n  {}",
        problems.join("\n  ")
    );
    // The scan must see the edges that are allowed, or it proves nothing.
    assert!(
        all.iter().any(|r| r.from == "server" && r.to == "native"),
        "the scan found no server -> native reference"
    );
}

#[test]
fn a_front_end_import_in_the_core_is_caught_with_file_and_line() {
    let source = "//! The bus.\n\nuse std::sync::Arc;\nuse crate::native;\n";
    let found = references(Path::new("events.rs"), source);
    let problems = violations(&found);
    assert_eq!(
        problems,
        vec!["host/src/events.rs:4: forbidden edge events (Core) -> native (FrontEnd)"]
    );
}

#[test]
fn grouped_nested_and_super_paths_are_all_seen() {
    let source = "use crate::{call::object, config::Config};\n\
                  fn f() { super::super::super::pyminer::spawn(); super::super::x(); }\n\
                  // crate::cli in a comment is not a use\n\
                  const S: &str = \"crate::server\";\n";
    let found = references(Path::new("http/api/inner.rs"), source);
    let edges: Vec<(usize, &str)> = found.iter().map(|r| (r.line, r.to.as_str())).collect();
    assert_eq!(edges, vec![(1, "call"), (1, "config"), (2, "pyminer")]);
    let problems = violations(&found);
    assert!(problems
        .iter()
        .any(|p| p.contains("http (FrontEnd) -> config (Boot)")));
    assert!(problems
        .iter()
        .any(|p| p.contains("http (FrontEnd) -> pyminer (FrontEnd)")));
}

#[test]
fn a_cycle_between_core_modules_is_caught() {
    let mut found = references(Path::new("points.rs"), "use crate::dispatch::call;\n");
    found.extend(references(
        Path::new("dispatch/mod.rs"),
        "\n\nuse crate::points::PointTable;\n",
    ));
    let problems = violations(&found);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("import cycle: dispatch -> points (host/src/dispatch/mod.rs:3)"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_new_module_must_be_placed_in_a_layer() {
    let found = references(Path::new("metrics.rs"), "use crate::host_core::Core;\n");
    let problems = violations(&found);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].contains("`metrics` is not in the LAYERS table"));
}

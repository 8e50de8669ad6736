//! TOML and schema errors in the words of the person who wrote the file.
//!
//! `toml` + serde speak Rust: `unknown field `nativ``, `invalid type: string "24307",
//! expected u16`, with a source snippet. [`describe`] says the same thing as
//! `line 1: unknown section `[nativ]` — did you mean `[native]`?` and
//! `line 2: [native] port must be a number, not "24307"` (issue 11). Messages it does not
//! recognise keep toml's text, with the line and section.

use std::ops::Range;

/// `err` (from parsing `text`) as one line: `line N: [section] what is wrong`.
pub(super) fn describe(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim_end();
    let Some(span) = err.span().filter(|span| span.start <= text.len()) else {
        return message.to_owned();
    };
    let place = Place::of(text, &span);
    let what = unknown_field(message, &place)
        .or_else(|| wrong_value(message, &place))
        .unwrap_or_else(|| {
            let message = message.replace("missing field", "missing key");
            // The table the error is about: the header it points at, else the one above.
            let table = place
                .header
                .or(place.section)
                .map(|header| header.split('#').next().unwrap_or(header).trim());
            match (table, place.key) {
                (Some(table), Some(key)) => format!("{table} {key}: {message}"),
                (Some(table), None) => format!("{table} {message}"),
                (None, _) => message,
            }
        });
    format!("line {}: {what}", place.line)
}

/// Where an error is: its line, the enclosing table header and the line's key.
struct Place<'t> {
    line: usize,
    /// The header line itself (`[nativ]`) when the error is in one.
    header: Option<&'t str>,
    /// The table header above the error (`[native]`, `[[pull_socket]]`), if any.
    section: Option<&'t str>,
    /// The key assigned on the error's line (`port` in `port = "24307"`).
    key: Option<&'t str>,
}

impl<'t> Place<'t> {
    fn of(text: &'t str, span: &Range<usize>) -> Place<'t> {
        let before = &text[..span.start];
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let line_text = text[line_start..].lines().next().unwrap_or("").trim();
        let header = line_text.starts_with('[').then_some(line_text);
        let section = before
            .lines()
            .map(str::trim)
            .rfind(|line| line.starts_with('['))
            .map(|line| line.split('#').next().unwrap_or(line).trim());
        let key = line_text
            .split_once('=')
            .map(|(key, _)| key.trim().trim_matches('"'))
            .filter(|key| !key.is_empty() && header.is_none());
        Place {
            line: before.matches('\n').count() + 1,
            header,
            section,
            key,
        }
    }
}

/// `unknown field `x`, expected one of `a`, `b``: an unknown section or key, with the
/// nearest valid name.
fn unknown_field(message: &str, place: &Place) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, expected) = rest.split_once('`')?;
    let choices: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let nearest = choices
        .iter()
        .map(|choice| (strsim::levenshtein(name, choice), *choice))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, choice)| choice);
    let listed = choices.join(", ");
    if let Some(header) = place.header {
        // `[nativ]`: an unknown table, at the top level or inside another one.
        let header = header.split('#').next().unwrap_or(header).trim();
        let hint = nearest.map_or(String::new(), |choice| {
            format!(" — did you mean `{}`?", header.replace(name, choice))
        });
        return Some(format!(
            "unknown section `{header}`{hint} (sections: {listed})"
        ));
    }
    let hint = nearest.map_or(String::new(), |choice| {
        format!(" — did you mean `{choice}`?")
    });
    let section = place.section.map_or(String::new(), |s| format!("{s} "));
    Some(format!(
        "{section}unknown key `{name}`{hint} (keys: {listed})"
    ))
}

/// `invalid type: string "24307", expected u16` (and `invalid value: ...`): the key, what
/// it must be and what it is.
fn wrong_value(message: &str, place: &Place) -> Option<String> {
    let (range_check, rest) = if let Some(rest) = message.strip_prefix("invalid type: ") {
        (false, rest)
    } else {
        (true, message.strip_prefix("invalid value: ")?)
    };
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let key = place.key?;
    let section = place.section.map_or(String::new(), |s| format!("{s} "));
    Some(format!(
        "{section}{key} must be {}, not {}",
        expectation(expected, range_check),
        found_value(found)
    ))
}

/// serde's expectation (`u16`, `a boolean`, ...) in plain words.
fn expectation(expected: &str, range_check: bool) -> String {
    let plain = match expected {
        "u8" if range_check => "a number from 0 to 255",
        "u16" if range_check => "a number from 0 to 65535",
        "u32" | "u64" | "usize" if range_check => "a whole number, 0 or more",
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a number"
        }
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" => "a string (in quotes)",
        "a sequence" => "a list [...]",
        "a map" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    };
    plain.to_owned()
}

/// serde's description of the value found (`string "24307"`, `integer `1``) as written.
fn found_value(found: &str) -> String {
    for prefix in ["string ", "integer ", "floating point ", "boolean "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_owned();
        }
    }
    match found {
        "sequence" => "a list".to_owned(),
        "map" => "a table".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn error(text: &str) -> String {
        Config::parse(text, "lab.toml").unwrap_err().to_string()
    }

    #[test]
    fn unknown_sections_and_keys_say_so_with_the_nearest_name() {
        assert_eq!(
            error("[nativ]\nport = 1\n"),
            "config error in lab.toml: line 1: unknown section `[nativ]` — did you mean \
             `[native]`? (sections: server, native, auth, http, live_server, pyminer, tls, limits, \
             plugins, history, mqtt, source, pull_socket, push_socket, live_socket)"
        );
        let text = error("[native]\nprot = 1\n");
        assert!(
            text.contains("line 2: [native] unknown key `prot` — did you mean `port`?"),
            "{text}"
        );
        let text = error("[[pull_sockets]]\nname = \"p\"\n");
        assert!(
            text.contains("unknown section `[[pull_sockets]]` — did you mean `[[pull_socket]]`?"),
            "{text}"
        );
    }

    #[test]
    fn wrong_types_name_the_key_the_type_and_the_value() {
        assert_eq!(
            error("[native]\nport = \"24307\"\n"),
            "config error in lab.toml: line 2: [native] port must be a number, not \"24307\""
        );
        assert!(error("[native]\nport = 70000\n")
            .contains("line 2: [native] port must be a number from 0 to 65535, not 70000"));
        assert!(error("[http]\nenabled = \"yes\"\n")
            .contains("[http] enabled must be true or false, not \"yes\""));
        let text = error("[[pull_socket]]\nname = 3\ncodenames = []\n");
        assert!(
            text.contains("line 2: [[pull_socket]] name must be a string (in quotes), not 3"),
            "{text}"
        );
    }

    #[test]
    fn other_errors_keep_toml_words_with_line_and_section() {
        let text = error("[server]\nbind = \"abc\"\n");
        assert!(text.contains("line 2: [server] bind: "), "{text}");
        let text = error("[[pull_socket]]\nname = \"p\"\n");
        assert!(
            text.contains("line 1: [[pull_socket]] missing key `codenames`"),
            "{text}"
        );
        let text = error("[native\n");
        assert!(text.contains("line 1"), "{text}");
    }
}

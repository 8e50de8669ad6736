//! `GET /metrics`: the server's counters in the Prometheus text format 0.0.4 (SPEC §11).
//!
//! Everything is read through the core, never from another front end: each front end
//! counts its own requests and errors on the core (`host_core::Traffic`), the bus counts
//! lost events, the source runner's health is a core view, and plugins export numbers by
//! annotating a command `{"metrics": true}` (its result's numeric fields become
//! `labsocket_<plugin>_<field>`; a field ending in `_total` is a counter, others gauges).
//! Families of a feature that is off are absent (no sources, no such plugin).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::annotations;
use crate::dispatch;
use crate::host_core::{views, Core};
use crate::pyjson::Value;

/// The content type of the text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How long one plugin's metrics command may take before its family is left out.
const PLUGIN_WAIT: Duration = Duration::from_secs(2);

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = render_core(&state.core);
    render_plugins(&state.core, &mut text).await;
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// One metric family being written: its header once, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Self { out }
    }

    /// A sample `name{labels} value`; `labels` are `(label, value)` pairs.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(text));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&number(value));
        self.out.push('\n');
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines escaped.
fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: Go's float syntax, with `+Inf`, `-Inf` and `NaN`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value}")
    }
}

/// The families the host itself keeps.
fn render_core(core: &Core) -> String {
    let mut out = String::new();
    Family::new(
        &mut out,
        "labsocket_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    )
    .sample(
        "labsocket_uptime_seconds",
        &[],
        core.started.elapsed().as_secs_f64(),
    );

    let front_ends = core.front_ends();
    let mut family = Family::new(
        &mut out,
        "labsocket_connections",
        "gauge",
        "Open connections per front end (0 for UDP front ends, which have none).",
    );
    for front_end in &front_ends {
        family.sample(
            "labsocket_connections",
            &[("front_end", &front_end.name)],
            front_end.open_connections() as f64,
        );
    }
    let mut family = Family::new(
        &mut out,
        "labsocket_requests_total",
        "counter",
        "Requests per front end: native lines, PyMiner frames, HTTP requests, UDP datagrams.",
    );
    for front_end in &front_ends {
        family.sample(
            "labsocket_requests_total",
            &[("front_end", &front_end.name)],
            front_end.traffic.requests() as f64,
        );
    }
    let mut family = Family::new(
        &mut out,
        "labsocket_request_errors_total",
        "counter",
        "Requests per front end answered with an error or refused.",
    );
    for front_end in &front_ends {
        family.sample(
            "labsocket_request_errors_total",
            &[("front_end", &front_end.name)],
            front_end.traffic.errors() as f64,
        );
    }
    let mut family = Family::new(
        &mut out,
        "labsocket_allow_list_denied_total",
        "counter",
        "Connections (TCP) or datagrams (UDP) per front end dropped because the peer is not in its allow list.",
    );
    for front_end in &front_ends {
        family.sample(
            "labsocket_allow_list_denied_total",
            &[("front_end", &front_end.name)],
            front_end.traffic.denied() as f64,
        );
    }

    let plugin_lost: u64 = core
        .registry
        .plugins()
        .iter()
        .map(|plugin| plugin.lost_events.load(Ordering::Relaxed))
        .sum();
    Family::new(
        &mut out,
        "labsocket_events_lost_total",
        "counter",
        "Events slow subscribers (connections, pages, plugins, live sockets) lost.",
    )
    .sample(
        "labsocket_events_lost_total",
        &[],
        (core.bus.lost() + plugin_lost) as f64,
    );
    Family::new(
        &mut out,
        "labsocket_points",
        "gauge",
        "Codenames with a point.",
    )
    .sample("labsocket_points", &[], core.points.len() as f64);

    if let Some(Value::List(sources)) = core.view(views::SOURCES) {
        render_sources(&sources, &mut out);
    }
    out
}

/// `labsocket_source_calls_total` and `labsocket_source_errors_total`, per source.
fn render_sources(sources: &[Value], out: &mut String) {
    if sources.is_empty() {
        return;
    }
    for (name, field, help) in [
        (
            "labsocket_source_calls_total",
            "calls",
            "Calls of each timed-point source's command.",
        ),
        (
            "labsocket_source_errors_total",
            "errors",
            "Failed calls of each timed-point source's command.",
        ),
    ] {
        let mut family = Family::new(out, name, "counter", help);
        for source in sources {
            let Value::Dict(fields) = source else {
                continue;
            };
            let text = |key: &str| match fields.get(key) {
                Some(Value::Str(text)) => text.clone(),
                Some(Value::Int(number)) => number.to_string(),
                _ => String::new(),
            };
            let value = fields.get(field).and_then(Value::as_f64).unwrap_or(0.0);
            family.sample(
                name,
                &[("source", &text("source")), ("command", &text("command"))],
                value,
            );
        }
    }
}

/// The families plugins export through their `{"metrics": true}` commands.
async fn render_plugins(core: &Core, out: &mut String) {
    for (plugin, command) in annotations::metrics_commands(core) {
        let call = dispatch::call(core, &command, Value::Null);
        let result = match tokio::time::timeout(PLUGIN_WAIT, call).await {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => {
                tracing::warn!("/metrics: {command} failed: {}", error.message);
                continue;
            }
            Err(_) => {
                tracing::warn!("/metrics: {command} took longer than {PLUGIN_WAIT:?}");
                continue;
            }
        };
        let mut samples = Vec::new();
        numeric_fields(&result, &sanitize(&plugin), &mut samples);
        for (name, value) in samples {
            let name = format!("labsocket_{name}");
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            Family::new(out, &name, kind, &format!("From the {command} command.")).sample(
                &name,
                &[],
                value,
            );
        }
    }
}

/// The numeric fields of `value` (nested objects joined with `_`), as `(name, value)`.
fn numeric_fields(value: &Value, prefix: &str, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Dict(fields) => {
            for (key, field) in fields {
                numeric_fields(field, &format!("{prefix}_{}", sanitize(key)), out);
            }
        }
        Value::Bool(flag) => out.push((prefix.to_owned(), f64::from(u8::from(*flag)))),
        number => {
            if let Some(number) = number.as_f64() {
                out.push((prefix.to_owned(), number));
            }
        }
    }
}

/// `text` as a metric name part: anything but ASCII letters, digits and `_` becomes `_`.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson;

    #[test]
    fn numbers_labels_and_plugin_fields_follow_the_text_format() {
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let result = pyjson::parse(
            r#"{"rows_written_total": 7, "lag": {"seconds": 0.5}, "ok": true, "name": "x", "a-b": 2}"#,
        )
        .unwrap();
        let mut samples = Vec::new();
        numeric_fields(&result, "history", &mut samples);
        assert_eq!(
            samples,
            [
                ("history_rows_written_total".to_owned(), 7.0),
                ("history_lag_seconds".to_owned(), 0.5),
                ("history_ok".to_owned(), 1.0),
                ("history_a_b".to_owned(), 2.0),
            ]
        );
    }
}

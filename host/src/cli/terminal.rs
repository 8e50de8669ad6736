//! What the client subcommands print for people: colours, tables, times and sizes.
//!
//! Colour is decided once per stream by `anstream`'s rules: only on a terminal, never
//! with `NO_COLOR`, always with `CLICOLOR_FORCE`. Styled text is rendered to plain strings
//! here (instead of through an `anstream` writer) because `get --watch` also writes
//! cursor movements, which a stripping writer would remove along with the colours.

use std::fmt::Display;
use std::io::IsTerminal;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

/// Styles used across the subcommands, so each meaning has one look.
pub mod styles {
    use super::*;

    pub const HEADER: Style = Style::new().bold().underline();
    pub const TIME: Style = Style::new().dimmed();
    pub const TOPIC: Style = Style::new()
        .bold()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    pub const KEY: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Blue)));
    pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
    pub const BAD: Style = Style::new()
        .bold()
        .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    pub const PLAIN: Style = Style::new();
}

/// Renders styled text for one stream: with escape codes, or plain.
#[derive(Clone, Copy)]
pub struct Painter {
    colour: bool,
    terminal: bool,
}

impl Painter {
    /// For standard output.
    pub fn stdout() -> Painter {
        let stdout = std::io::stdout();
        Painter {
            colour: anstream::AutoStream::choice(&stdout) != ColorChoice::Never,
            terminal: stdout.is_terminal(),
        }
    }

    /// Whether the stream is a terminal (for redrawing in place).
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// `text` in `style` (plain when colour is off).
    pub fn paint(&self, style: Style, text: impl Display) -> String {
        if self.colour && !style.is_plain() {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// One table cell: its text and style.
pub struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }

    pub fn plain(text: impl Into<String>) -> Cell {
        Cell::new(text, styles::PLAIN)
    }
}

/// Left-aligned columns separated by two spaces, with a header row.
pub fn table(painter: &Painter, headers: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.text.chars().count());
        }
    }
    let header: Vec<Cell> = headers
        .iter()
        .map(|h| Cell::new(*h, styles::HEADER))
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (column, cell) in row.iter().enumerate() {
            out.push_str(&painter.paint(cell.style, &cell.text));
            if column < last {
                let pad = widths[column] - cell.text.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// ISO 8601 UTC with milliseconds, e.g. `2026-11-21T10:00:00.123Z`, without pulling in a
/// date crate for one format.
pub fn utc_timestamp(unix: f64) -> String {
    let millis = (unix * 1000.0) as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}

/// `0.25 s`, `42 s`, `3 min 5 s`, `2 h 13 min`, `4 d 2 h`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".to_owned();
    }
    if secs < 10.0 {
        return format!("{secs:.2} s");
    }
    let whole = secs as u64;
    match whole {
        0..=59 => format!("{whole} s"),
        60..=3599 => format!("{} min {} s", whole / 60, whole % 60),
        3600..=86_399 => format!("{} h {} min", whole / 3600, whole % 3600 / 60),
        _ => format!("{} d {} h", whole / 86_400, whole % 86_400 / 3600),
    }
}

/// `512 B`, `1.5 kB`, `3.2 MB` (powers of 1000, as file managers show).
pub fn bytes(count: f64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if count < 1000.0 {
        return format!("{count} B");
    }
    let mut value = count;
    let mut unit = "B";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_utc() {
        assert_eq!(utc_timestamp(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_timestamp(1_795_238_169.258), "2026-11-21T05:16:09.258Z");
        assert_eq!(utc_timestamp(951_782_400.5), "2000-02-29T00:00:00.500Z");
    }

    #[test]
    fn durations_and_sizes_read_naturally() {
        assert_eq!(duration(0.25), "0.25 s");
        assert_eq!(duration(42.9), "42 s");
        assert_eq!(duration(185.0), "3 min 5 s");
        assert_eq!(duration(7980.0), "2 h 13 min");
        assert_eq!(duration(-1.0), "-");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1500.0), "1.5 kB");
        assert_eq!(bytes(3_200_000.0), "3.2 MB");
    }

    #[test]
    fn tables_align_by_text_not_by_escape_codes() {
        let painter = Painter {
            colour: true,
            terminal: false,
        };
        let rows = vec![vec![Cell::new("é", styles::BAD), Cell::plain("1")]];
        let text = table(&painter, &["name", "v"], &rows);
        let plain = Painter {
            colour: false,
            terminal: false,
        };
        assert_eq!(table(&plain, &["name", "v"], &rows), "name  v\né     1\n");
        assert!(text.contains("\u{1b}["), "{text:?}");
    }
}

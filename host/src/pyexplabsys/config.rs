//! `[[pull_socket]]`, `[[push_socket]]` and `[[live_socket]]`: the PyExpLabSys socket
//! configuration (SPEC §4) and the checks PyExpLabSys' constructors made.
//!
//! PyExpLabSys raised `ValueError` from a socket's constructor; here the same conditions are
//! config errors, reported before anything starts, with the reference's own message inside
//! so a lab that knew the Python text recognises it:
//! `[[pull_socket]] #1 "Test date socket" codenames: Codenames must be unique; 'a' is
//! present more than once`. Sockets are numbered from 1 in messages, in file order.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

/// Characters PyExpLabSys refuses in pull codenames, in the order it checks them (they
/// are the separators of the raw formats).
pub const BAD_CHARS: [char; 5] = ['#', ',', ';', ':', '&'];

/// PyExpLabSys' default `activity_timeout`, seconds.
const ACTIVITY_TIMEOUT: f64 = 900.0;

/// How freshness is judged: by the point's x (`DateDataPullSocket`) or by the time it was
/// set (`DataPullSocket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullKind {
    #[default]
    Date,
    Data,
}

impl PullKind {
    /// The `type` shown in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            PullKind::Date => "date",
            PullKind::Data => "data",
        }
    }
}

/// One `[[pull_socket]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullSocketConfig {
    pub name: String,
    #[serde(default)]
    pub kind: PullKind,
    /// Default: 9000 for `date`, 9010 for `data` (PyExpLabSys' defaults).
    pub port: Option<u16>,
    pub codenames: Vec<String>,
    /// Per-codename timeouts in seconds; they override `timeout`.
    #[serde(default)]
    pub timeouts: BTreeMap<String, f64>,
    /// One timeout for every codename not in `timeouts`.
    pub timeout: Option<f64>,
    #[serde(default = "enabled")]
    pub check_activity: bool,
    #[serde(default = "activity_timeout")]
    pub activity_timeout: f64,
    /// The peers served (`["10.1.2.0/24"]`): datagrams from any other address are
    /// dropped unanswered, and counted. None: every peer.
    #[serde(default)]
    pub allow: Option<crate::access::AllowList>,
}

impl PullSocketConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.kind {
            PullKind::Date => 9000,
            PullKind::Data => 9010,
        })
    }

    /// The timeout of `codename`; `None` means it never goes `OLD_DATA`.
    pub fn timeout_of(&self, codename: &str) -> Option<f64> {
        self.timeouts.get(codename).copied().or(self.timeout)
    }
}

/// What a push socket does with each received dict besides storing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum PushAction {
    #[default]
    StoreLast,
    Enqueue,
    CallbackAsync,
    CallbackDirect,
    SetPoints,
}

impl PushAction {
    const NAMES: [&'static str; 5] = [
        "store_last",
        "enqueue",
        "callback_async",
        "callback_direct",
        "set_points",
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn is_callback(self) -> bool {
        matches!(self, PushAction::CallbackAsync | PushAction::CallbackDirect)
    }
}

impl TryFrom<String> for PushAction {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Ok(match name.as_str() {
            "store_last" => PushAction::StoreLast,
            "enqueue" => PushAction::Enqueue,
            "callback_async" => PushAction::CallbackAsync,
            "callback_direct" => PushAction::CallbackDirect,
            "set_points" => PushAction::SetPoints,
            _ => {
                return Err(format!(
                    "Unknown action '{name}'. Must be one of: ['{}']",
                    Self::NAMES.join("', '")
                ))
            }
        })
    }
}

/// How `callback_direct` renders the command's result after `RET#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum ReturnFormat {
    #[default]
    Json,
    Raw,
    String,
}

impl TryFrom<String> for ReturnFormat {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "json" => Ok(ReturnFormat::Json),
            "raw" => Ok(ReturnFormat::Raw),
            "string" => Ok(ReturnFormat::String),
            _ => Err(
                "The 'return_format' argument may only be one of the 'json', 'raw' or \
                      'string' values"
                    .to_owned(),
            ),
        }
    }
}

/// One `[[push_socket]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSocketConfig {
    pub name: String,
    #[serde(default = "push_port")]
    pub port: u16,
    #[serde(default)]
    pub action: PushAction,
    /// The registered command `callback_*` actions call with the received dict.
    pub command: Option<String>,
    #[serde(default)]
    pub return_format: ReturnFormat,
    /// Most dicts an `enqueue` or `callback_async` socket holds before refusing new ones
    /// (default [`PushSocketConfig::DEFAULT_QUEUE_SIZE`]).
    pub queue_size: Option<usize>,
    #[serde(default)]
    pub check_activity: bool,
    #[serde(default = "activity_timeout")]
    pub activity_timeout: f64,
    /// The peers served (`["10.1.2.0/24"]`): datagrams from any other address are
    /// dropped unanswered, and counted. None: every peer.
    #[serde(default)]
    pub allow: Option<crate::access::AllowList>,
}

impl PushSocketConfig {
    pub const DEFAULT_QUEUE_SIZE: usize = 10_000;

    pub fn queue_size(&self) -> usize {
        self.queue_size.unwrap_or(Self::DEFAULT_QUEUE_SIZE)
    }
}

/// One `[[live_socket]]`: sends changes of its codenames to a live server and (like
/// PyExpLabSys) serves them on an internal `data` pull socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSocketConfig {
    pub name: String,
    pub codenames: Vec<String>,
    /// `host:port` of the live server (resolved once, at start).
    pub live_server: String,
    #[serde(default = "enabled")]
    pub internal_pull_socket: bool,
    #[serde(default = "live_internal_port")]
    pub internal_port: u16,
}

fn enabled() -> bool {
    true
}

fn activity_timeout() -> f64 {
    ACTIVITY_TIMEOUT
}

fn push_port() -> u16 {
    8500
}

fn live_internal_port() -> u16 {
    8000
}

/// The checks serde cannot express, over all three socket lists.
pub fn validate(
    pulls: &[PullSocketConfig],
    pushes: &[PushSocketConfig],
    lives: &[LiveSocketConfig],
) -> Result<(), String> {
    // (port, who) of every UDP server, to refuse two on one port.
    let mut ports: HashMap<u16, String> = HashMap::new();
    let mut claim = |port: u16, who: &str| -> Result<(), String> {
        if port == 0 {
            return Ok(());
        }
        if let Some(first) = ports.get(&port) {
            return Err(format!(
                "{who} port: A UDP server already exists on port: {port} ({first})"
            ));
        }
        ports.insert(port, who.to_owned());
        Ok(())
    };
    for (index, pull) in pulls.iter().enumerate() {
        let who = format!("[[pull_socket]] #{} \"{}\"", index + 1, pull.name);
        check_name(&who, &pull.name)?;
        check_codenames(&who, &pull.codenames)?;
        if let Some(timeout) = pull.timeout {
            check_seconds(&who, "timeout", timeout)?;
        }
        for (codename, timeout) in &pull.timeouts {
            if !pull.codenames.contains(codename) {
                return Err(format!(
                    "{who} timeouts: '{codename}' is not one of the codenames"
                ));
            }
            check_seconds(&who, &format!("timeouts.{codename}"), *timeout)?;
        }
        check_activity_timeout(&who, pull.activity_timeout)?;
        claim(pull.port(), &who)?;
    }
    for (index, push) in pushes.iter().enumerate() {
        let who = format!("[[push_socket]] #{} \"{}\"", index + 1, push.name);
        check_name(&who, &push.name)?;
        match (&push.command, push.action.is_callback()) {
            (None, true) => {
                return Err(format!(
                    "{who} command: Value for callback: 'None' is not callable (action '{}' \
                     needs the name of a registered command)",
                    push.action.as_str()
                ))
            }
            (Some(_), false) => {
                return Err(format!(
                    "{who} command: The 'callback' argument can only be used when the action \
                     is 'callback_async' or 'callback_direct'"
                ))
            }
            (Some(command), true) if command.is_empty() => {
                return Err(format!("{who} command: must not be empty"))
            }
            _ => {}
        }
        if let Some(size) = push.queue_size {
            if !matches!(push.action, PushAction::Enqueue | PushAction::CallbackAsync) {
                return Err(format!(
                    "{who} queue_size: The 'queue' argument can only be used when the action \
                     is 'enqueue' (or 'callback_async')"
                ));
            }
            if size == 0 {
                return Err(format!("{who} queue_size: must be at least 1"));
            }
        }
        check_activity_timeout(&who, push.activity_timeout)?;
        claim(push.port, &who)?;
    }
    for (index, live) in lives.iter().enumerate() {
        let who = format!("[[live_socket]] #{} \"{}\"", index + 1, live.name);
        check_name(&who, &live.name)?;
        if live.internal_pull_socket {
            check_codenames(&who, &live.codenames)?;
            claim(live.internal_port, &format!("{who} internal_port"))?;
        } else {
            check_unique(&who, &live.codenames)?;
        }
        let port_ok = live
            .live_server
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!(
                "{who} live_server: must be \"host:port\", not \"{}\"",
                live.live_server
            ));
        }
    }
    Ok(())
}

/// PyExpLabSys encodes every reply as ASCII and sends nothing when it cannot, so a
/// non-ASCII name would make `name` requests go unanswered: refuse it up front.
fn check_name(who: &str, name: &str) -> Result<(), String> {
    if name.is_ascii() {
        Ok(())
    } else {
        Err(format!(
            "{who} name: must be ASCII (PyExpLabSys replies are ASCII; clients would get no \
             reply to 'name')"
        ))
    }
}

/// The pull socket constructor's checks, in its order: per codename, uniqueness and then
/// the forbidden characters.
fn check_codenames(who: &str, codenames: &[String]) -> Result<(), String> {
    check_unique(who, codenames)?;
    for codename in codenames {
        if let Some(bad) = BAD_CHARS.iter().find(|c| codename.contains(**c)) {
            return Err(format!(
                "{who} codenames: The character '{bad}' is not allowed in the codenames"
            ));
        }
    }
    Ok(())
}

fn check_unique(who: &str, codenames: &[String]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for codename in codenames {
        if !seen.insert(codename) {
            return Err(format!(
                "{who} codenames: Codenames must be unique; '{codename}' is present more than \
                 once"
            ));
        }
    }
    Ok(())
}

fn check_seconds(who: &str, key: &str, seconds: f64) -> Result<(), String> {
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{who} {key}: must be a number of seconds >= 0, not {seconds} (leave a codename out \
             of the timeouts to never mark it OLD_DATA)"
        ))
    }
}

fn check_activity_timeout(who: &str, seconds: f64) -> Result<(), String> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{who} activity_timeout: must be a positive number of seconds, not {seconds}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(codenames: &[&str]) -> PullSocketConfig {
        PullSocketConfig {
            name: "p".into(),
            kind: PullKind::Date,
            port: Some(1),
            codenames: codenames.iter().map(|c| c.to_string()).collect(),
            timeouts: BTreeMap::new(),
            timeout: None,
            check_activity: true,
            activity_timeout: 900.0,
            allow: None,
        }
    }

    #[test]
    fn codename_checks_follow_the_reference_order() {
        let err = validate(&[pull(&["a", "a#,"])], &[], &[]).unwrap_err();
        assert_eq!(
            err,
            "[[pull_socket]] #1 \"p\" codenames: The character '#' is not allowed in the codenames"
        );
        let err = validate(&[pull(&["a", "b", "a"])], &[], &[]).unwrap_err();
        assert!(
            err.ends_with("Codenames must be unique; 'a' is present more than once"),
            "{err}"
        );
        // Spaces and the empty codename are allowed, as in PyExpLabSys.
        validate(&[pull(&["", "sp ace", "raw"])], &[], &[]).unwrap();
    }

    #[test]
    fn per_codename_timeouts_override_the_common_one() {
        let mut socket = pull(&["a", "b"]);
        socket.timeout = Some(2.0);
        socket.timeouts.insert("b".into(), 0.5);
        assert_eq!(socket.timeout_of("a"), Some(2.0));
        assert_eq!(socket.timeout_of("b"), Some(0.5));
        socket.timeouts.insert("zz".into(), 0.5);
        let err = validate(&[socket], &[], &[]).unwrap_err();
        assert!(
            err.contains("timeouts: 'zz' is not one of the codenames"),
            "{err}"
        );
    }

    #[test]
    fn unknown_action_uses_the_reference_message() {
        let err = PushAction::try_from("nope".to_owned()).unwrap_err();
        assert_eq!(
            err,
            "Unknown action 'nope'. Must be one of: ['store_last', 'enqueue', 'callback_async', \
             'callback_direct', 'set_points']"
        );
        assert_eq!(PushAction::CallbackDirect.as_str(), "callback_direct");
    }
}

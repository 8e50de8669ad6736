//! Who may do what: named tokens with roles, the role each command needs, and the address
//! allow-lists of the front ends that cannot authenticate (SPEC §10, docs/security.md).
//!
//! The one place that decides a call's needed role is [`needed_role`]: a command flagged
//! read-only (core table or plugin metadata) needs [`Role::Read`], the few commands in
//! [`ADMIN_COMMANDS`] need [`Role::Admin`], every other command [`Role::Write`]. Front ends
//! ask here and only enforce; they never keep their own lists.
//!
//! Secrets are compared in constant time, and every configured token is compared on each
//! guess (no early exit), so neither the timing of a reply nor which token matched leaks
//! how much of a guess was right. [`Secret`] never prints itself.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::host_core::Core;

/// Shortest token accepted: shorter ones are guessable.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The commands only an admin token may call: they change how the server behaves for
/// everyone (settings) or act on other machines (`live_reset` makes remote live views
/// drop their data), or forge what other hosts own (`workspace.mirror` is how the mqtt
/// plugin installs another host's variable; plugins call it through the host, which no
/// token check stands in front of, so only a client needs admin for it).
pub const ADMIN_COMMANDS: [&str; 4] = [
    "settings.set",
    "set_settings_param",
    "live_reset",
    "workspace.mirror",
];

/// What a token may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read commands only (those flagged read-only), subscriptions, the HTTP view.
    Read,
    /// Also every command that changes data (points, variables, plugin commands).
    Write,
    /// Everything, including settings and `live_reset`.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// The role a call of `method` needs. A name no command has needs only [`Role::Read`]:
/// the call then fails as an unknown method, which says more than a refusal would.
pub fn needed_role(core: &Core, method: &str) -> Role {
    if ADMIN_COMMANDS.contains(&method) {
        return Role::Admin;
    }
    let read_only = match core.command(method) {
        Some(command) => Some(command.read_only),
        None => core
            .registry
            .command(method)
            .map(|entry| entry.info.read_only),
    };
    match read_only {
        Some(false) => Role::Write,
        Some(true) | None => Role::Read,
    }
}

/// A shared secret. `Debug` does not show it, so logging a config cannot leak it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    #[cfg(test)]
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    fn matches(&self, guess: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(guess.as_bytes()))
    }

    fn len_chars(&self) -> usize {
        self.0.chars().count()
    }
}

/// One configured token: its name (for logs), its role and its secret.
#[derive(Debug, Clone)]
pub struct Token {
    pub name: String,
    pub role: Role,
    secret: Secret,
}

/// Every token the server accepts. Empty: nothing is asked (the default, on loopback).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

impl Tokens {
    /// Adds token `name`; `key` names where it was configured, for the error. Refused when
    /// the secret is shorter than [`MIN_TOKEN_CHARS`] or already another token's (which
    /// of the two would a client get?).
    pub fn add(&mut self, key: &str, name: &str, role: Role, secret: Secret) -> Result<(), String> {
        if secret.len_chars() < MIN_TOKEN_CHARS {
            return Err(format!(
                "{key}: the token must be at least {MIN_TOKEN_CHARS} characters (e.g. the \
                 output of `openssl rand -hex 32`)"
            ));
        }
        if let Some(other) = self.tokens.iter().find(|t| t.secret == secret) {
            return Err(format!(
                "{key}: the token of '{name}' is the same as the token of '{}'; give each its own",
                other.name
            ));
        }
        self.tokens.push(Token {
            name: name.to_owned(),
            role,
            secret,
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token whose secret is `guess`. Every token is compared, whatever matched, so
    /// the time taken does not depend on which one (if any) did.
    pub fn find(&self, guess: &str) -> Option<&Token> {
        let mut found = None;
        for token in &self.tokens {
            if token.secret.matches(guess) && found.is_none() {
                found = Some(token);
            }
        }
        found
    }
}

/// The first line of token file `path`, trimmed; `key` names the setting in errors.
/// Refused if others may read or write the file (a secret everyone on the machine can
/// read protects nothing), or if it cannot be read.
pub fn read_token_file(key: &str, path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata =
            std::fs::metadata(path).map_err(|err| format!("{key}: cannot read {shown}: {err}"))?;
        let mode = metadata.permissions().mode();
        if mode & 0o007 != 0 {
            return Err(format!(
                "{key}: {shown} is accessible to every user (mode {:o}); make it private \
                 with `chmod 600 {shown}`",
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("{key}: cannot read {shown}: {err}"))?;
    let secret = Secret(text.lines().next().unwrap_or_default().trim().to_owned());
    if secret.len_chars() < MIN_TOKEN_CHARS {
        return Err(format!(
            "{key}: the token in {shown} must be at least {MIN_TOKEN_CHARS} characters (e.g. \
             `openssl rand -hex 32 > {shown}`)"
        ));
    }
    Ok(secret)
}

/// `allow = ["127.0.0.1/32", "10.1.2.0/24"]`: the peers a front end serves. A bare
/// address is one host (`/32`, `/128`). An IPv4 peer seen on an IPv6 socket
/// (`::ffff:10.1.2.3`) is judged as the IPv4 address it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct AllowList(Vec<IpNet>);

impl TryFrom<Vec<String>> for AllowList {
    type Error = String;

    fn try_from(entries: Vec<String>) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let text = entry.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "'{entry}' is not an address or a network in CIDR notation (like \
                             \"10.1.2.0/24\" or \"127.0.0.1\")"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AllowList)
    }
}

impl AllowList {
    /// Whether `peer` may be served.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }
}

/// Whether a front end with allow-list `allow` (none: everyone) serves `peer`.
pub fn allowed(allow: Option<&AllowList>, peer: IpAddr) -> bool {
    allow.is_none_or(|allow| allow.allows(peer))
}

/// A shared, optional allow-list, as front ends hold it.
pub type SharedAllowList = Option<Arc<AllowList>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Result<AllowList, String> {
        AllowList::try_from(entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn allow_lists_match_networks_hosts_and_mapped_addresses() {
        let allow = list(&["127.0.0.1/32", "10.1.2.0/24", "::1", "fd00::/8"]).unwrap();
        let yes = [
            "127.0.0.1",
            "10.1.2.200",
            "::1",
            "fd12::5",
            "::ffff:10.1.2.3",
        ];
        let no = [
            "127.0.0.2",
            "10.1.3.1",
            "::2",
            "fe80::1",
            "::ffff:127.0.0.2",
        ];
        for peer in yes {
            assert!(allow.allows(peer.parse().unwrap()), "{peer}");
        }
        for peer in no {
            assert!(!allow.allows(peer.parse().unwrap()), "{peer}");
        }
        assert!(allowed(None, "192.0.2.1".parse().unwrap()));
        assert!(!allowed(
            Some(&list(&[]).unwrap()),
            "127.0.0.1".parse().unwrap()
        ));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = list(&["10.1.2.0/24", "10.1.2.0/33"]).unwrap_err();
        assert!(err.contains("'10.1.2.0/33'"), "{err}");
        let err = list(&["lab-pc"]).unwrap_err();
        assert!(err.contains("'lab-pc'"), "{err}");
    }

    #[test]
    fn tokens_find_their_role_and_refuse_short_or_shared_secrets() {
        let mut tokens = Tokens::default();
        assert!(tokens.is_empty());
        tokens
            .add(
                "k",
                "alice",
                Role::Read,
                Secret::new("alice-0123456789abcdef"),
            )
            .unwrap();
        tokens
            .add("k", "bob", Role::Admin, Secret::new("bob-0123456789abcdef"))
            .unwrap();
        assert_eq!(tokens.find("alice-0123456789abcdef").unwrap().name, "alice");
        assert_eq!(
            tokens.find("bob-0123456789abcdef").unwrap().role,
            Role::Admin
        );
        assert!(tokens.find("bob-0123456789abcde").is_none());
        assert!(tokens.find("").is_none());
        let err = tokens
            .add("[[auth.token]] #3", "c", Role::Read, Secret::new("short"))
            .unwrap_err();
        assert!(err.starts_with("[[auth.token]] #3: "), "{err}");
        let err = tokens
            .add(
                "k",
                "carol",
                Role::Write,
                Secret::new("alice-0123456789abcdef"),
            )
            .unwrap_err();
        assert!(err.contains("'carol'") && err.contains("'alice'"), "{err}");
    }

    #[test]
    fn roles_are_ordered_and_secrets_not_printed() {
        assert!(Role::Read < Role::Write && Role::Write < Role::Admin);
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }
}

//! Topic names of SPEC §9: `labsocket/v1/<lab>/<host>/...`, each of lab, host and codename
//! one topic level, with `/ + # %` percent-encoded so a name can never split a level or
//! act as a wildcard.

/// The root of every labsocket topic.
const ROOT: &str = "labsocket/v1";

/// `name` as one topic level: `%` → `%25`, `/` → `%2F`, `+` → `%2B`, `#` → `%23`.
pub(crate) fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '+' => out.push_str("%2B"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// The inverse of [`encode`]; `None` for a level that [`encode`] cannot have made.
pub(crate) fn decode(level: &str) -> Option<String> {
    let mut out = String::with_capacity(level.len());
    let mut rest = level;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        out.push(match code {
            "25" => '%',
            "2F" | "2f" => '/',
            "2B" | "2b" => '+',
            "23" => '#',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    if rest.contains(['/', '+', '#']) {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// The topics of one lab, as seen from one host.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    /// `labsocket/v1/<lab>`.
    lab: String,
    /// `labsocket/v1/<lab>/<host>`.
    own: String,
}

/// What an incoming topic is about.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    Status {
        host: String,
    },
    Point {
        host: String,
        codename: String,
    },
    Batch {
        host: String,
    },
    Event {
        host: String,
        topic: String,
    },
    /// `ws/<name>`: a workspace variable (retained).
    Variable {
        host: String,
        name: String,
    },
    /// `ws-set/<name>` or `ws-get/<name>`: a request to `host`, the variable's owner.
    Request {
        host: String,
        kind: RequestKind,
        name: String,
    },
    /// `reply`: answers to `host`'s requests.
    Reply {
        host: String,
    },
    /// `resend`: a receiver asks `host` to send its batches again from a seq on.
    Resend {
        host: String,
    },
    /// A topic of ours that this plugin does not take in (`meta/...`, `ev/...`, ...).
    Other,
}

/// What a workspace request asks of the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// `ws-set`: store this value.
    Set,
    /// `ws-get`: send the value.
    Get,
}

impl RequestKind {
    fn level(self) -> &'static str {
        match self {
            RequestKind::Set => "ws-set",
            RequestKind::Get => "ws-get",
        }
    }
}

impl Topics {
    pub(crate) fn new(lab: &str, host: &str) -> Topics {
        let lab = format!("{ROOT}/{}", encode(lab));
        let own = format!("{lab}/{}", encode(host));
        Topics { lab, own }
    }

    /// This host's `status`.
    pub(crate) fn status(&self) -> String {
        format!("{}/status", self.own)
    }

    /// This host's retained `pt/<codename>`.
    pub(crate) fn point(&self, codename: &str) -> String {
        format!("{}/pt/{}", self.own, encode(codename))
    }

    /// This host's retained `meta/<codename>`.
    pub(crate) fn meta(&self, codename: &str) -> String {
        format!("{}/meta/{}", self.own, encode(codename))
    }

    /// This host's `batch`.
    pub(crate) fn batch(&self) -> String {
        format!("{}/batch", self.own)
    }

    /// This host's `ev/<topic>`.
    pub(crate) fn event(&self, topic: &str) -> String {
        format!("{}/ev/{}", self.own, encode(topic))
    }

    /// This host's retained `ws/<name>`.
    pub(crate) fn variable(&self, name: &str) -> String {
        format!("{}/ws/{}", self.own, encode(name))
    }

    /// A request to `host` about its variable `name`.
    pub(crate) fn request(&self, host: &str, kind: RequestKind, name: &str) -> String {
        format!(
            "{}/{}/{}/{}",
            self.lab,
            encode(host),
            kind.level(),
            encode(name)
        )
    }

    /// Where this host's requests are answered (their MQTT 5 response topic).
    pub(crate) fn reply(&self) -> String {
        format!("{}/reply", self.own)
    }

    /// The filter of `host`'s (`"*"`: every host's) variables, `ws/+`.
    pub(crate) fn variables_of(&self, host: &str) -> String {
        let host = if host == "*" {
            "+".to_owned()
        } else {
            encode(host)
        };
        format!("{}/{host}/ws/+", self.lab)
    }

    /// The `resend` requests to `host` (this host's own: the filter it subscribes to).
    pub(crate) fn resend(&self, host: &str) -> String {
        format!("{}/{}/resend", self.lab, encode(host))
    }

    /// The filter of the requests of one kind to this host.
    pub(crate) fn requests_to_self(&self, kind: RequestKind) -> String {
        format!("{}/{}/+", self.own, kind.level())
    }

    /// The filters that take in `host`'s (`"+"`: every host's) status, points, batches and
    /// events.
    pub(crate) fn filters_of(&self, host: &str) -> [String; 4] {
        let host = if host == "*" {
            "+".to_owned()
        } else {
            encode(host)
        };
        [
            format!("{}/{host}/status", self.lab),
            format!("{}/{host}/pt/+", self.lab),
            format!("{}/{host}/batch", self.lab),
            format!("{}/{host}/ev/+", self.lab),
        ]
    }

    /// What `topic` is about, `None` when it is not a well-formed topic of this lab.
    pub(crate) fn parse(&self, topic: &str) -> Option<Incoming> {
        let rest = topic.strip_prefix(&self.lab)?.strip_prefix('/')?;
        let mut levels = rest.split('/');
        let host = decode(levels.next()?)?;
        let kind = levels.next()?;
        let name = levels.next();
        if levels.next().is_some() {
            return None;
        }
        Some(match (kind, name) {
            ("status", None) => Incoming::Status { host },
            ("batch", None) => Incoming::Batch { host },
            ("pt", Some(codename)) => Incoming::Point {
                host,
                codename: decode(codename)?,
            },
            ("ev", Some(topic)) => Incoming::Event {
                host,
                topic: decode(topic)?,
            },
            ("ws", Some(name)) => Incoming::Variable {
                host,
                name: decode(name)?,
            },
            ("ws-set", Some(name)) => Incoming::Request {
                host,
                kind: RequestKind::Set,
                name: decode(name)?,
            },
            ("ws-get", Some(name)) => Incoming::Request {
                host,
                kind: RequestKind::Get,
                name: decode(name)?,
            },
            ("reply", None) => Incoming::Reply { host },
            ("resend", None) => Incoming::Resend { host },
            _ => Incoming::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_keeps_one_level() {
        for name in ["plain", "a/b", "50%", "x+y#z", "%2F", "ünï/cödé", ""] {
            let level = encode(name);
            assert!(!level.contains(['/', '+', '#']), "{level}");
            assert_eq!(decode(&level).as_deref(), Some(name));
        }
        assert_eq!(encode("a/b+c#d%e"), "a%2Fb%2Bc%23d%25e");
        assert_eq!(decode("bad%zz"), None);
        assert_eq!(decode("trunc%2"), None);
        assert_eq!(decode("a+b"), None);
    }

    #[test]
    fn topics_are_built_and_parsed() {
        let topics = Topics::new("lab 1", "pc/1");
        assert_eq!(topics.status(), "labsocket/v1/lab 1/pc%2F1/status");
        assert_eq!(topics.point("t#1"), "labsocket/v1/lab 1/pc%2F1/pt/t%231");
        assert_eq!(
            topics.filters_of("*"),
            [
                "labsocket/v1/lab 1/+/status",
                "labsocket/v1/lab 1/+/pt/+",
                "labsocket/v1/lab 1/+/batch",
                "labsocket/v1/lab 1/+/ev/+"
            ]
        );
        assert_eq!(
            topics.parse("labsocket/v1/lab 1/pc%2F2/pt/a%2Fb"),
            Some(Incoming::Point {
                host: "pc/2".into(),
                codename: "a/b".into()
            })
        );
        assert_eq!(
            topics.parse(&topics.status()),
            Some(Incoming::Status {
                host: "pc/1".into()
            })
        );
        assert_eq!(
            topics.parse("labsocket/v1/lab 1/pc2/batch"),
            Some(Incoming::Batch { host: "pc2".into() })
        );
        assert_eq!(
            topics.parse("labsocket/v1/lab 1/pc2/meta/x"),
            Some(Incoming::Other)
        );
        assert_eq!(
            topics.parse(&Topics::new("lab 1", "pc2").event("lab.alarm/1")),
            Some(Incoming::Event {
                host: "pc2".into(),
                topic: "lab.alarm/1".into()
            })
        );
        assert_eq!(
            topics.parse(&Topics::new("lab 1", "pc2").variable("x")),
            Some(Incoming::Variable {
                host: "pc2".into(),
                name: "x".into()
            })
        );
        assert_eq!(
            topics.parse(&topics.request("pc2", RequestKind::Set, "x")),
            Some(Incoming::Request {
                host: "pc2".into(),
                kind: RequestKind::Set,
                name: "x".into()
            })
        );
        assert_eq!(
            topics.request("pc2", RequestKind::Get, "x"),
            "labsocket/v1/lab 1/pc2/ws-get/x"
        );
        assert_eq!(
            topics.parse(&topics.reply()),
            Some(Incoming::Reply {
                host: "pc/1".into()
            })
        );
        assert_eq!(topics.resend("pc/2"), "labsocket/v1/lab 1/pc%2F2/resend");
        assert_eq!(
            topics.parse(&topics.resend("pc/2")),
            Some(Incoming::Resend {
                host: "pc/2".into()
            })
        );
        assert_eq!(topics.parse("labsocket/v1/other/pc2/batch"), None);
        assert_eq!(topics.parse("labsocket/v1/lab 1/pc2/pt/a/b"), None);
    }
}

//! Shell-style glob patterns for codenames: `*` (any run of characters), `?` (one
//! character), `[abc]`, `[a-z]`, `[!a-z]` (one character of / not of a class) and `\` to take
//! the next character literally. Codenames are not paths, so `*` also matches `/`.
//!
//! Matching is the classic two-pointer wildcard walk (backtrack only to the last `*`), linear
//! in practice and never exponential.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyOne => true,
            Token::AnyRun => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles `pattern`; an unclosed `[` or a trailing `\` is an error naming the pattern.
    pub(crate) fn new(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    if tokens.last() == Some(&Token::AnyRun) {
                        continue;
                    }
                    Token::AnyRun
                }
                '?' => Token::AnyOne,
                '\\' => Token::Literal(
                    chars
                        .next()
                        .ok_or_else(|| format!("`{pattern}` ends with an escaping `\\`"))?,
                ),
                '[' => {
                    let mut class: Vec<char> = Vec::new();
                    let mut closed = false;
                    let mut negated = false;
                    let mut first = true;
                    for c in chars.by_ref() {
                        if first && c == '!' {
                            negated = true;
                            first = false;
                            continue;
                        }
                        // `]` right after `[` or `[!` is a member, as in the shell.
                        if c == ']' && !class.is_empty() {
                            closed = true;
                            break;
                        }
                        class.push(c);
                        first = false;
                    }
                    if !closed {
                        return Err(format!("`{pattern}` has a `[` without its `]`"));
                    }
                    let mut ranges = Vec::new();
                    let mut i = 0;
                    while i < class.len() {
                        if i + 2 < class.len() && class[i + 1] == '-' {
                            let (lo, hi) = (class[i], class[i + 2]);
                            if lo > hi {
                                return Err(format!("`{pattern}` has a reversed range {lo}-{hi}"));
                            }
                            ranges.push((lo, hi));
                            i += 3;
                        } else {
                            ranges.push((class[i], class[i]));
                            i += 1;
                        }
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Literal(c),
            };
            tokens.push(token);
        }
        Ok(Glob { tokens })
    }

    /// Whether the whole of `text` matches.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let tokens = &self.tokens;
        let (mut t, mut p) = (0, 0);
        // Where the last `*` was and which text position it currently swallows up to.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            if p < tokens.len() && tokens[p] == Token::AnyRun {
                star = Some((p, t));
                p += 1;
            } else if p < tokens.len() && tokens[p].matches(text[t]) {
                p += 1;
                t += 1;
            } else if let Some((star_p, star_t)) = star {
                // Let the last `*` swallow one more character and retry after it.
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            } else {
                return false;
            }
        }
        tokens[p..].iter().all(|token| *token == Token::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn wildcards_classes_and_escapes() {
        assert!(m("*", ""));
        assert!(m("*", "anything/at all"));
        assert!(m("temp_*", "temp_1"));
        assert!(!m("temp_*", "xtemp_1"));
        assert!(m("*_pressure", "chamber_pressure"));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYb"));
        assert!(m("t?mp", "temp"));
        assert!(!m("t?mp", "tmp"));
        assert!(m("ch[0-9]", "ch7"));
        assert!(!m("ch[0-9]", "chx"));
        assert!(m("ch[!0-9]", "chx"));
        assert!(m("[]]", "]"));
        assert!(m("[a-]", "-"));
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m("é*", "été"));
        assert!(!m("abc", "ab"));
        assert!(!m("", "a"));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        assert!(Glob::new("a[").unwrap_err().contains("`a[`"));
        assert!(Glob::new("a\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
    }

    /// A slow but obviously correct matcher to check the fast one against.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| reference(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && reference(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && reference(&p[1..], &t[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_reference_matcher(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
            let p: Vec<char> = pattern.chars().collect();
            let t: Vec<char> = text.chars().collect();
            prop_assert_eq!(m(&pattern, &text), reference(&p, &t));
        }
    }
}

//! Masks secret values in text the runbook did not write itself: child output, error
//! messages from platforms, response bodies.
//!
//! A secret of several lines (a PEM key) is masked as a whole, and each of its lines on
//! its own too: child output arrives line by line, and a tool may print a key re-wrapped,
//! indented or with `\r\n`. Masking is for display only: whoever parses a tool's output
//! reads it before the redactor does.

use std::borrow::Cow;
use std::sync::Arc;

/// The secret values of one plan. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
}

/// What stands in for a secret everywhere.
pub const MASK: &str = "***";

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .flat_map(with_lines)
            .collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor {
            secrets: Arc::new(secrets),
        }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in self.secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// A line of a multi-line secret shorter than this is not masked on its own: masking
/// every `==` or `}` in all output would hide more than it protects.
const MIN_LINE: usize = 4;

/// The secret, and for one of several lines: the same with the other line ending, and
/// each of its lines (trimmed) long enough to mean something.
fn with_lines(secret: String) -> Vec<String> {
    if !secret.contains(['\n', '\r']) {
        return vec![secret];
    }
    let mut all = vec![
        secret.replace("\r\n", "\n"),
        secret.replace("\r\n", "\n").replace('\n', "\r\n"),
    ];
    all.extend(
        secret
            .lines()
            .map(str::trim)
            .filter(|line| line.chars().count() >= MIN_LINE)
            .map(str::to_string),
    );
    all.push(secret);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = Redactor::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(r.redact("x abcdef y abc"), "x *** y ***");
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nZw==\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_multi_line_secret_is_masked_whole_and_line_by_line() {
        let r = Redactor::new([PEM.to_string()]);
        assert_eq!(r.redact(&format!("key: {PEM}end")), "key: ***end");
        // As child output arrives: one line at a time, maybe indented or with \r\n.
        for line in PEM.lines().filter(|l| l.len() >= MIN_LINE) {
            assert_eq!(r.redact(line), "***", "{line}");
            assert_eq!(r.redact(&format!("  {line}\r")), "  ***\r");
        }
        let crlf = PEM.replace('\n', "\r\n");
        assert_eq!(r.redact(&crlf), "***");
        // A short line is not a secret of its own: `==` stays readable elsewhere.
        assert_eq!(r.redact("a == b"), "a == b");
        for line in PEM.lines().filter(|l| l.len() >= MIN_LINE) {
            assert!(!r.redact(PEM).contains(line));
        }
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let r = Redactor::new([String::new()]);
        assert!(r.is_empty());
        assert_eq!(r.redact("text"), "text");
    }
}

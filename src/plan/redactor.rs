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
    /// `(value, NAME)` of each `{{secret.NAME}}`, longest value first: what state stores
    /// in place of a secret that is part of a release (SPEC §4.1).
    named: Arc<Vec<(String, String)>>,
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
            named: Arc::default(),
        }
    }

    /// A redactor that also knows each secret's name, from `(NAME, value)` pairs.
    pub fn named(secrets: Vec<(String, String)>) -> Self {
        let mut named: Vec<(String, String)> = secrets
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (value.clone(), name.clone()))
            .collect();
        named.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        named.dedup_by(|a, b| a.0 == b.0);
        Redactor {
            named: Arc::new(named),
            ..Redactor::new(secrets.into_iter().map(|(_, value)| value))
        }
    }

    /// `text` as state may keep it: each whole secret as its `{{secret.NAME}}`
    /// reference, anything else secret as `***`.
    pub fn to_refs(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, name) in self.named.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("{{{{secret.{name}}}}}"));
            }
        }
        self.redact(&out).into_owned()
    }

    /// A text kept with [`Redactor::to_refs`], its references filled in again: the real
    /// value to use, and `***` where it is shown. A reference to a secret this plan did
    /// not read stays as it is.
    pub fn from_refs(&self, text: &str) -> super::Text {
        let (mut value, mut shown) = (text.to_string(), text.to_string());
        for (secret, name) in self.named.iter() {
            let reference = format!("{{{{secret.{name}}}}}");
            if value.contains(&reference) {
                value = value.replace(&reference, secret);
                shown = shown.replace(&reference, MASK);
            }
        }
        super::Text::with_shown(value, shown)
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
    fn a_secret_inside_a_release_is_kept_as_its_reference_and_filled_in_again() {
        let r = Redactor::named(vec![("REGISTRY".into(), "reg.internal:5000".into())]);
        let kept = r.to_refs("reg.internal:5000/web:1");
        assert_eq!(kept, "{{secret.REGISTRY}}/web:1");
        let back = r.from_refs(&kept);
        assert_eq!(back.value(), "reg.internal:5000/web:1");
        assert_eq!(back.shown(), "***/web:1");
        assert_eq!(r.redact("reg.internal:5000/web:1"), "***/web:1");
        // A reference to a secret this plan never read stays, value and all.
        assert_eq!(
            r.from_refs("{{secret.OTHER}}/x").value(),
            "{{secret.OTHER}}/x"
        );
    }

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

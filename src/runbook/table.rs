//! A typed reader over one TOML table: each getter checks the value's type and reports
//! a diagnostic at the value itself when it is wrong, so a caller never sees raw TOML.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::Diagnostic;
use super::source::Source;
use super::suggest;
use crate::plan::limits;

/// A TOML value with its span.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// A string value and where it is written.
#[derive(Clone, Debug)]
pub(crate) struct Str<'a> {
    pub text: &'a str,
    pub span: Range<usize>,
}

/// One table of a file, described for messages (`[[steps]] #3 ("deploy")`).
pub(crate) struct Table<'a, 'i> {
    pub source: &'a Source,
    table: &'a DeTable<'i>,
    span: Range<usize>,
    what: String,
}

/// Whether a duration is something to wait for (must be > 0) or may be zero.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    Positive,
    ZeroOk,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(
        source: &'a Source,
        table: &'a DeTable<'i>,
        span: Range<usize>,
        what: impl Into<String>,
    ) -> Self {
        Table {
            source,
            table,
            span,
            what: what.into(),
        }
    }

    /// The span of the table's header (or the inline table itself).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// How messages name this table.
    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn set_what(&mut self, what: impl Into<String>) {
        self.what = what.into();
    }

    pub fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.table.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// A diagnostic at `span` of this table's file.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.source, span, message)
    }

    /// "`key` must be a string, not an integer", at the value.
    pub fn wrong_type(&self, key: &str, value: &Value<'_>, expected: &str) -> Diagnostic {
        self.error(
            value.span(),
            format!(
                "`{key}` in {} must be {expected}, not {}",
                self.what,
                article(value.get_ref().type_str())
            ),
        )
    }

    pub fn string(&self, key: &str, d: &mut Vec<Diagnostic>) -> Option<Str<'a>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some(Str {
                text: text.as_ref(),
                span: value.span(),
            }),
            _ => {
                d.push(self.wrong_type(key, value, "a string"));
                None
            }
        }
    }

    /// A string that must be present and not blank.
    pub fn required_string(
        &self,
        key: &str,
        example: &str,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Str<'a>> {
        if !self.contains(key) {
            d.push(self.error(
                self.span(),
                format!("{} has no `{key}`: add e.g. {key} = {example}", self.what),
            ));
            return None;
        }
        let s = self.string(key, d)?;
        if s.text.trim().is_empty() {
            d.push(self.error(s.span.clone(), format!("`{key}` is empty")));
            return None;
        }
        Some(s)
    }

    pub fn bool(&self, key: &str, d: &mut Vec<Diagnostic>) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                d.push(self.wrong_type(key, value, "true or false"));
                None
            }
        }
    }

    /// An integer and its span.
    pub fn integer(&self, key: &str, d: &mut Vec<Diagnostic>) -> Option<(i64, Range<usize>)> {
        let value = self.get(key)?;
        match integer(value) {
            Some(n) => Some((n, value.span())),
            // An integer written too large for 64 bits is not "not an integer".
            None if value.get_ref().as_integer().is_some() => {
                d.push(self.error(value.span(), format!("`{key}` is far too large")));
                None
            }
            None => {
                d.push(self.wrong_type(key, value, "an integer"));
                None
            }
        }
    }

    /// A humantime duration (`500ms`, `30s`, `1h 30m`).
    pub fn duration(&self, key: &str, wait: Wait, d: &mut Vec<Diagnostic>) -> Option<Duration> {
        let value = self.get(key)?;
        let DeValue::String(text) = value.get_ref() else {
            d.push(
                self.wrong_type(key, value, "a duration string")
                    .with_help(Some(format!("write it with a unit: {key} = \"30s\""))),
            );
            return None;
        };
        self.duration_text(key, text, value.span(), wait, d)
    }

    /// `text` (the value of `key`, written at `span`, after any substitution) as a
    /// duration, with the rules of [`Table::duration`].
    pub fn duration_text(
        &self,
        key: &str,
        text: &str,
        span: Range<usize>,
        wait: Wait,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Duration> {
        match humantime::parse_duration(text.trim()) {
            Ok(duration) if duration.is_zero() && wait == Wait::Positive => {
                d.push(self.error(span, format!("`{key}` must be more than zero")));
                None
            }
            Ok(duration) => match limits::check_duration(duration) {
                Ok(duration) => Some(duration),
                Err(why) => {
                    d.push(self.error(span, format!("`{key}`: {why}")));
                    None
                }
            },
            Err(err) => {
                d.push(self.error(
                    span,
                    format!(
                        "`{key}` must be a duration like \"30s\", \"5m\" or \"1h 30m\", not `{text}` ({err})"
                    ),
                ));
                None
            }
        }
    }

    /// A sub-table (`[vars]`, `env = { … }`).
    pub fn table(&self, key: &str, what: &str, d: &mut Vec<Diagnostic>) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(inner) => Some(Table::new(self.source, inner, value.span(), what)),
            _ => {
                d.push(self.wrong_type(key, value, "a table"));
                None
            }
        }
    }

    /// Every entry, in file order, with its key's span.
    pub fn entries(&self) -> Vec<(Str<'a>, &'a Value<'i>)> {
        let mut entries: Vec<_> = self
            .table
            .iter()
            .map(|(k, v)| {
                (
                    Str {
                        text: k.get_ref().as_ref(),
                        span: k.span(),
                    },
                    v,
                )
            })
            .collect();
        entries.sort_by_key(|(k, _)| k.span.start);
        entries
    }

    /// Reports every key not in `known`, with a did-you-mean among them, or `help`'s
    /// advice (e.g. "`duration` is a field of soak steps").
    pub fn reject_unknown(
        &self,
        known: &[&str],
        help: impl Fn(&str) -> Option<String>,
        d: &mut Vec<Diagnostic>,
    ) {
        for (key, _) in self.entries() {
            if known.contains(&key.text) {
                continue;
            }
            let hint =
                suggest::did_you_mean(key.text, known.iter().copied()).or_else(|| help(key.text));
            d.push(
                self.error(
                    key.span.clone(),
                    format!("unknown key `{}` in {}", key.text, self.what),
                )
                .with_help(hint),
            );
        }
    }
}

/// The value of a TOML integer, if it is one and fits.
pub(crate) fn integer(value: &Value<'_>) -> Option<i64> {
    let n = value.get_ref().as_integer()?;
    i64::from_str_radix(n.as_str(), n.radix()).ok()
}

/// "a string", "an integer", "an array".
pub(crate) fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_table(
        text: &str,
        f: impl FnOnce(&Table<'_, '_>, &mut Vec<Diagnostic>),
    ) -> Vec<Diagnostic> {
        let source = Source::new("t.toml", text);
        let doc = DeTable::parse(&source.text).expect("test TOML parses");
        let table = Table::new(&source, doc.get_ref(), 0..0, "the test table");
        let mut d = Vec::new();
        f(&table, &mut d);
        d
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let d = with_table("retries = \"3\"\n", |t, d| {
            assert_eq!(t.integer("retries", d), None);
        });
        assert_eq!((d[0].line, d[0].col), (1, 11));
        assert_eq!(
            d[0].message,
            "`retries` in the test table must be an integer, not a string"
        );
    }

    #[test]
    fn durations_need_a_unit_and_waits_need_time() {
        let d = with_table(
            "a = \"0s\"\nb = 30\nc = \"soon\"\ne = \"0s\"\nf = \"1h 30m\"\n",
            |t, d| {
                assert_eq!(t.duration("a", Wait::Positive, d), None);
                assert_eq!(t.duration("b", Wait::Positive, d), None);
                assert_eq!(t.duration("c", Wait::Positive, d), None);
                assert_eq!(t.duration("e", Wait::ZeroOk, d), Some(Duration::ZERO));
                assert_eq!(
                    t.duration("f", Wait::Positive, d),
                    Some(Duration::from_secs(5400))
                );
            },
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].message, "`a` must be more than zero");
        assert_eq!((d[1].line, d[1].col), (2, 5));
        assert!(d[2].message.contains("not `soon`"), "{}", d[2].message);
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let d = with_table("kind = \"run\"\ntiemout = \"5m\"\n", |t, d| {
            t.reject_unknown(&["kind", "timeout"], |_| None, d);
        });
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].col, d[0].width), (2, 1, 7));
        assert_eq!(d[0].help.as_deref(), Some("did you mean `timeout`?"));
    }

    #[test]
    fn required_strings_must_be_there_and_not_blank() {
        let d = with_table("message = \"  \"\n", |t, d| {
            assert!(t.required_string("message", "\"hi\"", d).is_none());
            assert!(t.required_string("reason", "\"why\"", d).is_none());
        });
        assert_eq!(d[0].message, "`message` is empty");
        assert_eq!(
            d[1].message,
            "the test table has no `reason`: add e.g. reason = \"why\""
        );
    }
}

//! `{{env.NAME}}` and `{{secret.NAME}}`: reading the process environment, masking
//! secrets, and what a missing one means under each [`Strictness`].

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use crate::plan::{MASK, Text};

use super::Strictness;
use super::diagnostic::Diagnostic;
use super::source::Source;

/// An env var or secret a template needed and the environment lacked, and where the
/// template asked for it. Whether that is an error is decided where the text is used.
#[derive(Clone, Debug)]
pub(crate) struct Missing {
    secret: bool,
    name: String,
    source: Arc<Source>,
    at: Range<usize>,
}

/// The environment as templates see it.
pub(crate) struct Environment<'a> {
    read: &'a dyn Fn(&str) -> Option<String>,
    strictness: Strictness,
    /// `(NAME, value)` of every secret read.
    secrets: Vec<(String, String)>,
    /// Missing names already reported, so each is reported once per runbook.
    reported: BTreeSet<String>,
    warnings: Vec<String>,
}

impl<'a> Environment<'a> {
    pub fn new(read: &'a dyn Fn(&str) -> Option<String>, strictness: Strictness) -> Self {
        Environment {
            read,
            strictness,
            secrets: Vec::new(),
            reported: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    /// `env.NAME` or (`secret`) `secret.NAME`, written at `at` of `source`. A
    /// missing one gets a stand-in text (`<unset env.NAME>`, or `***`).
    pub fn lookup(
        &mut self,
        secret: bool,
        name: &str,
        source: &Arc<Source>,
        at: Range<usize>,
    ) -> (Text, Option<Missing>) {
        match (self.read)(name) {
            Some(value) if secret => {
                self.secrets.push((name.to_string(), value.clone()));
                (Text::with_shown(value, MASK), None)
            }
            Some(value) => (Text::plain(value), None),
            None => {
                let stand_in = if secret && self.strictness == Strictness::DryRun {
                    Text::with_shown(String::new(), format!("<secret {name}>"))
                } else if secret {
                    Text::with_shown(String::new(), MASK)
                } else {
                    Text::plain(format!("<unset env.{name}>"))
                };
                let missing = Missing {
                    secret,
                    name: name.to_string(),
                    source: source.clone(),
                    at,
                };
                (stand_in, Some(missing))
            }
        }
    }

    /// Decides what `missing` means for a text about to be used: errors when running
    /// (`None`), a warning for env vars when only describing.
    pub fn settle(
        &mut self,
        text: Text,
        missing: &[Missing],
        d: &mut Vec<Diagnostic>,
    ) -> Option<Text> {
        let mut ok = true;
        for m in missing {
            let key = if m.secret { "secret" } else { "env" };
            let first = self.reported.insert(format!("{key}.{}", m.name));
            let at = m.at.clone();
            match self.strictness {
                Strictness::Run => {
                    ok = false;
                    if first {
                        let message = if m.secret {
                            format!(
                                "secret `{0}` is not set: export the environment variable {0} before running",
                                m.name
                            )
                        } else {
                            format!(
                                "environment variable `{0}` is not set: export {0} before running",
                                m.name
                            )
                        };
                        d.push(Diagnostic::at(&m.source, at.clone(), message));
                    }
                }
                // `show` never needs a secret's value; `***` is all it prints anyway.
                Strictness::Describe | Strictness::DryRun if m.secret || !first => {}
                Strictness::Describe | Strictness::DryRun => self.warnings.push(format!(
                    "{}: environment variable `{1}` is not set; shown as <unset env.{1}>",
                    m.source.location(at),
                    m.name
                )),
            }
        }
        ok.then_some(text)
    }

    /// The secrets read (`(NAME, value)`), and the warnings raised.
    pub fn into_parts(self) -> (Vec<(String, String)>, Vec<String>) {
        (self.secrets, self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Arc<Source> {
        Arc::new(Source::new(
            "r.toml",
            "message = \"{{secret.T}} {{env.E}}\"",
        ))
    }

    #[test]
    fn secrets_are_masked_and_collected() {
        let read = |k: &str| (k == "T").then(|| "tok".to_string());
        let mut env = Environment::new(&read, Strictness::Run);
        let (text, missing) = env.lookup(true, "T", &source(), 11..23);
        assert_eq!((text.value(), text.shown()), ("tok", "***"));
        assert!(missing.is_none());
        assert_eq!(
            env.into_parts().0,
            vec![("T".to_string(), "tok".to_string())]
        );
    }

    #[test]
    fn missing_ones_are_errors_when_running_reported_once() {
        let read = |_: &str| None;
        let mut env = Environment::new(&read, Strictness::Run);
        let (text, missing) = env.lookup(true, "T", &source(), 11..23);
        let missing: Vec<Missing> = missing.into_iter().collect();
        let mut d = Vec::new();
        assert_eq!(env.settle(text.clone(), &missing, &mut d), None);
        assert_eq!(env.settle(text, &missing, &mut d), None);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].col), (1, 12));
        assert!(d[0].message.starts_with("secret `T` is not set"));
    }

    #[test]
    fn describing_masks_secrets_and_warns_about_env_vars() {
        let read = |_: &str| None;
        let mut env = Environment::new(&read, Strictness::Describe);
        let (secret, m1) = env.lookup(true, "T", &source(), 11..23);
        let (plain, m2) = env.lookup(false, "E", &source(), 24..33);
        let mut d = Vec::new();
        let missing: Vec<Missing> = m1.into_iter().chain(m2).collect();
        let text = Text::with_shown(
            format!("{} {}", secret.value(), plain.value()),
            format!("{} {}", secret.shown(), plain.shown()),
        );
        let shown = env.settle(text, &missing, &mut d).expect("never fatal");
        assert_eq!(shown.shown(), "*** <unset env.E>");
        assert!(d.is_empty());
        let (_, warnings) = env.into_parts();
        assert_eq!(
            warnings,
            vec!["r.toml:1:25: environment variable `E` is not set; shown as <unset env.E>"]
        );
    }
}

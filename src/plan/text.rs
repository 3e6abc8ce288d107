//! A resolved template value that remembers how to show itself without its secrets.

use std::fmt;

/// A string after `{{…}}` substitution. `value` is what a child process or request
/// gets; `shown` is the same text with every secret replaced by `***`, and is the only
/// form that may reach the console, the log, state, JSON or a dry run.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Text {
    value: String,
    shown: String,
}

impl Text {
    /// A value with no secret in it.
    pub fn plain(value: impl Into<String>) -> Self {
        let value = value.into();
        Text {
            shown: value.clone(),
            value,
        }
    }

    /// A value whose display form differs (it carries a secret).
    pub fn with_shown(value: impl Into<String>, shown: impl Into<String>) -> Self {
        Text {
            value: value.into(),
            shown: shown.into(),
        }
    }

    /// The real value. Never print it.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The value with secrets masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// This text with every `marker` replaced by `with`, in both forms.
    pub fn substitute(&self, marker: &str, with: &Text) -> Text {
        if !self.value.contains(marker) && !self.shown.contains(marker) {
            return self.clone();
        }
        Text {
            value: self.value.replace(marker, &with.value),
            shown: self.shown.replace(marker, &with.shown),
        }
    }

    /// Whether a secret is masked in the shown form.
    pub fn has_secret(&self) -> bool {
        self.value != self.shown
    }
}

impl fmt::Display for Text {
    /// Always the masked form, so `format!("{text}")` can never leak.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_masked_form() {
        let t = Text::with_shown("Bearer s3cr3t", "Bearer ***");
        assert_eq!(t.to_string(), "Bearer ***");
        assert_eq!(t.value(), "Bearer s3cr3t");
        assert!(t.has_secret());
        assert!(!Text::plain("x").has_secret());
    }
}

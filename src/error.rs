//! The one error type that reaches the edge. It knows its exit code (SPEC §7) and is
//! printed once, by `app::run`, as a headline, the detail and the next step.

use std::fmt;

/// Exit codes of SPEC §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Done, or paused at a gate.
    Ok = 0,
    /// A step failed; the run was rolled back or had changed nothing.
    Failed = 1,
    /// Bad input: usage, a runbook error, a missing variable, a confirmation without a TTY.
    Usage = 2,
    /// Locked by another run.
    Locked = 3,
    /// A rollback failed: a person must act now.
    RollbackFailed = 4,
    /// Interrupted by Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error for people: what failed, the detail, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ExitCode,
    pub headline: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Error {
    pub fn new(code: ExitCode, headline: impl Into<String>) -> Self {
        Error {
            code,
            headline: headline.into(),
            detail: None,
            hint: None,
        }
    }

    /// Bad input (exit 2).
    pub fn usage(headline: impl Into<String>) -> Self {
        Error::new(ExitCode::Usage, headline)
    }

    /// A failure of the run or of the machine (exit 1).
    pub fn failed(headline: impl Into<String>) -> Self {
        Error::new(ExitCode::Failed, headline)
    }

    /// Adds detail, printed indented under the headline; empty detail is dropped.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if !detail.is_empty() {
            self.detail = Some(detail);
        }
        self
    }

    /// Adds what to do next, printed as `hint:`.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline)?;
        if let Some(detail) = &self.detail {
            write!(f, "\n{detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<Error>() {
            Ok(err) => err,
            Err(err) => Error::failed(format!("{err:#}")),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_headline_detail_and_hint_on_their_own_lines() {
        let err = Error::usage("runbook `x` not found")
            .with_detail("looked in /p/runbooks")
            .with_hint("run `rollout list`");
        assert_eq!(
            err.to_string(),
            "runbook `x` not found\nlooked in /p/runbooks\nhint: run `rollout list`"
        );
        assert_eq!(err.code.code(), 2);
    }

    #[test]
    fn anyhow_wrapping_keeps_the_original_code() {
        let err: anyhow::Error = Error::new(ExitCode::Locked, "held").into();
        assert_eq!(Error::from(err).code, ExitCode::Locked);
        let other = anyhow::anyhow!("disk full");
        assert_eq!(Error::from(other).code, ExitCode::Failed);
    }
}

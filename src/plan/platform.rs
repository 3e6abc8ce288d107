//! The platform steps (`auth`, `deploy`, `rollback`, `restart`, `scale`, `promote`):
//! a verb the adapter turns into command lines, or the runbook's own `cmd` instead.

use super::{AdapterSettings, CommandSpec, Text};

/// A platform step of a plan.
#[derive(Clone, Debug)]
pub struct PlatformStep {
    pub verb: Verb,
    /// `cmd`: replaces the adapter's default command line (`{{percent}}` in promote).
    pub cmd: Option<CommandSpec>,
    /// The step's adapter's `[adapters.NAME]` settings, so the step alone can say
    /// (in `show`) and do exactly what it will.
    pub settings: AdapterSettings,
}

/// What the step asks of the platform, with the step's own fields.
#[derive(Clone, Debug)]
pub enum Verb {
    Auth,
    Deploy(Box<Deploy>),
    Rollback { to: Option<Text> },
    Restart,
    Scale { count: u32 },
    Promote { percent: u8, flag: Option<Text> },
}

/// The fields of `deploy`; which apply depends on the adapter (checked by the loader).
#[derive(Clone, Debug, Default)]
pub struct Deploy {
    /// fly `--config`.
    pub config: Option<Text>,
    /// fly `--strategy`.
    pub strategy: Option<Text>,
    /// fly `--image`; kubectl `set image` with `container`.
    pub image: Option<Text>,
    /// kubectl `apply -f`.
    pub manifest: Option<Text>,
    pub container: Option<Text>,
    /// systemctl: the directory to make current.
    pub release: Option<Text>,
}

impl Verb {
    /// The `kind = "…"` this came from.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Auth => "auth",
            Verb::Deploy(_) => "deploy",
            Verb::Rollback { .. } => "rollback",
            Verb::Restart => "restart",
            Verb::Scale { .. } => "scale",
            Verb::Promote { .. } => "promote",
        }
    }

    /// Everything but `auth` changes what runs (SPEC §4).
    pub fn changes_things(&self) -> bool {
        !matches!(self, Verb::Auth)
    }
}

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
    Rollback {
        to: Option<Text>,
    },
    Restart,
    Scale {
        count: u32,
    },
    /// `percent` is `None` when only `flags` are given.
    Promote {
        percent: Option<u8>,
        flag: Option<Text>,
        /// Several variables set together, as one change (SPEC `promote` `flags`).
        flags: Vec<(String, Text)>,
        /// A stage name such as `beta`: shown, logged and kept in state.
        label: Option<String>,
    },
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
    /// compose: build the service's image from its `build:` section instead of `image`.
    pub build: bool,
}

impl Deploy {
    /// What the deploy ships, as a person names it (`{{release}}`): its `release`, else
    /// its `image`.
    pub fn shipped(&self) -> Option<&Text> {
        self.release.as_ref().or(self.image.as_ref())
    }
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

    /// A promote's variables, in order: `flag` (carrying the percent), then `flags`.
    pub fn promote_pairs(&self) -> Vec<Text> {
        let Verb::Promote {
            percent,
            flag,
            flags,
            ..
        } = self
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let (Some(flag), Some(percent)) = (flag, percent) {
            out.push(Text::with_shown(
                format!("{}={percent}", flag.value()),
                format!("{}={percent}", flag.shown()),
            ));
        }
        for (name, value) in flags {
            out.push(Text::with_shown(
                format!("{name}={}", value.value()),
                format!("{name}={}", value.shown()),
            ));
        }
        out
    }

    /// Everything but `auth` changes what runs (SPEC §4).
    pub fn changes_things(&self) -> bool {
        !matches!(self, Verb::Auth)
    }
}

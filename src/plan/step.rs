//! One step of a plan: the fields every step has, and what its kind does.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::limits;
use super::{
    CommandSpec, GitSpec, HealthSpec, MetricsSpec, NotifySpec, PlatformStep, Text, WatchSpec,
    WindowSpec,
};

/// Which array of the runbook a step came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Preflight,
    Steps,
    Rollback,
    Emergency,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Preflight => "preflight",
            Section::Steps => "steps",
            Section::Rollback => "rollback",
            Section::Emergency => "emergency",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `bake`: a wait of hours or days that survives across invocations.
#[derive(Clone, Debug)]
pub struct BakeSpec {
    pub duration: Duration,
    pub watches: Vec<WatchSpec>,
    /// How often `promote --wait` checks while it holds the process.
    pub interval: Duration,
}

/// A validated step, with every template resolved.
#[derive(Clone, Debug)]
pub struct Step {
    /// Unique within the runbook: explicit, or derived from kind, target or command.
    pub name: String,
    pub section: Section,
    pub kind: StepKind,
    /// The adapter and target in force for this step (the runbook's unless overridden).
    pub adapter: Option<String>,
    pub target: Option<Text>,
    /// The whole step, retries included.
    pub timeout: Duration,
    pub retries: u32,
    pub retry_delay: Duration,
    pub confirm: bool,
    pub continue_on_error: bool,
    /// `file:line:col` of the step's table, for messages.
    pub location: String,
}

impl Step {
    /// The target a platform step acts on (as shown), or None for other kinds.
    pub fn platform_target(&self) -> Option<&str> {
        match (&self.kind, &self.target) {
            (StepKind::Platform(_), Some(target)) => Some(target.shown()),
            _ => None,
        }
    }
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// Runs a command.
    Run(CommandSpec),
    /// Runs a command whose output tail goes into the log on failure.
    Smoke(CommandSpec),
    /// Waits for `duration`, failing early if its `watch` fails.
    Soak {
        duration: Duration,
        watches: Vec<WatchSpec>,
    },
    /// A durable wait across invocations (SPEC §4.3): parks the run until `duration`
    /// has passed since it was reached, its watches checked on every visit.
    Bake(Box<BakeSpec>),
    /// A manual gate: the run stops here until the next `rollout promote`.
    Pause { reason: Option<Text> },
    /// Appends a line of the runbook's own to the reliability log.
    Log { message: Text },
    /// auth, deploy, rollback, restart, scale or promote, through the step's adapter.
    Platform(Box<PlatformStep>),
    /// Polls HTTP until healthy.
    Health(Box<HealthSpec>),
    /// Checks a Prometheus query against a threshold, repeatedly.
    Metrics(Box<MetricsSpec>),
    /// Passes only inside a deployment window and outside freezes.
    Window(Box<WindowSpec>),
    /// Records who approved.
    Approval {
        from: Option<Text>,
        /// `role = "manager"`: answered only by `--approved-by manager=NAME`.
        role: Option<String>,
    },
    /// Working-tree checks.
    Git(Box<GitSpec>),
    /// POSTs `{"text": …}` to a webhook.
    Notify(Box<NotifySpec>),
}

impl StepKind {
    /// The `kind = "…"` this came from.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Run(_) => "run",
            StepKind::Smoke(_) => "smoke",
            StepKind::Soak { .. } => "soak",
            StepKind::Bake(_) => "bake",
            StepKind::Pause { .. } => "pause",
            StepKind::Log { .. } => "log",
            StepKind::Platform(p) => p.verb.name(),
            StepKind::Health(_) => "health",
            StepKind::Metrics(_) => "metrics",
            StepKind::Window(_) => "window",
            StepKind::Approval { .. } => "approval",
            StepKind::Git(_) => "git",
            StepKind::Notify(_) => "notify",
        }
    }

    /// Whether completing this step counts as a change that auto-rollback must undo
    /// (SPEC §4: deploy, promote, rollback, restart, scale, run, smoke).
    /// A check: a step that says whether the service is healthy (the emergency ladder
    /// stops at one that passes, SPEC §4.2).
    pub fn is_check(&self) -> bool {
        matches!(
            self,
            StepKind::Health(_) | StepKind::Metrics(_) | StepKind::Soak { .. } | StepKind::Bake(_)
        )
    }

    /// A gate: a step that says whether the work may go on (a window, an approval).
    pub fn is_gate(&self) -> bool {
        matches!(self, StepKind::Window(_) | StepKind::Approval { .. })
    }

    pub fn changes_things(&self) -> bool {
        match self {
            StepKind::Run(_) | StepKind::Smoke(_) => true,
            StepKind::Platform(p) => p.verb.changes_things(),
            _ => false,
        }
    }

    /// The default timeout of SPEC §2: 10 m for commands, the wait itself for waits.
    pub fn default_timeout(&self) -> Duration {
        match self {
            StepKind::Soak { duration, .. } => limits::sum(*duration, Duration::from_secs(60)),
            // One visit checks each watch once; `--wait` holds the process past it.
            StepKind::Bake(spec) => limits::sum(spec.duration, Duration::from_secs(600)),
            StepKind::Health(spec) => spec.within,
            StepKind::Metrics(spec) => {
                let samples = spec.count.saturating_sub(1);
                let waits = spec.interval.checked_mul(samples).unwrap_or(Duration::MAX);
                limits::sum(waits, Duration::from_secs(60))
            }
            StepKind::Notify(_) => Duration::from_secs(30),
            _ => Duration::from_secs(600),
        }
    }
}

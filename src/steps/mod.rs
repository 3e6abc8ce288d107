//! One file per step kind. A step is handed a [`StepEnv`] (its plan, its deadline, the
//! interrupt, a way to report output) and returns what happened; retries, timeouts of
//! the whole step, state and the log are the engine's business.

mod approval;
pub mod approvers;
mod auth;
mod deploy;
mod git;
mod git_command;
mod health;
pub(crate) mod http_client;
mod log;
mod metrics;
mod notify;
mod pause;
mod platform;
mod probe;
mod prometheus;
mod promote;
mod restart;
mod rollback;
mod run;
mod scale;
mod smoke;
pub mod soak;
pub mod watch;
pub mod window;

use std::time::Duration;

use tokio::time::Instant;

use crate::event::EventKind;
use crate::plan::{Plan, Step, StepKind, Verb};
use crate::releases::Ledger;
use crate::signal::Interrupt;

/// What the person asked for that steps themselves must honour.
#[derive(Clone, Debug, Default)]
pub struct RunFlags {
    /// `rollback --emergency`: no prompts, no gates.
    pub emergency: bool,
    /// `--approved-by NAME` and `--approved-by ROLE=NAME`.
    pub approvers: approvers::Approvers,
    /// A terminal is there to ask on.
    pub interactive: bool,
    /// `rollback --to RELEASE`: where rollback steps return the target.
    pub rollback_to: Option<String>,
    /// `rollback --all`: targets the run did not change are rolled back too.
    pub rollback_all: bool,
    /// The reliability log this run writes: the `git` step's `clean` never counts it.
    pub log_path: Option<std::path::PathBuf>,
}

/// What a step may use while it runs.
pub struct StepEnv<'a> {
    /// The run this step belongs to (its pins are this run's, SPEC §4.1).
    pub run_id: &'a str,
    pub plan: &'a Plan,
    pub step: &'a Step,
    pub interrupt: &'a Interrupt,
    pub flags: &'a RunFlags,
    /// Release tracking: platform steps read the previous release and record new ones.
    pub releases: &'a Ledger,
    /// When this try must be over (the step's timeout, counted from its first try).
    pub deadline: Instant,
    /// Reports output lines and progress; the engine wraps them into events.
    pub emit: &'a (dyn Fn(EventKind) + Send + Sync),
    /// Whether every reliability-log line so far was written (the `log` step's check).
    pub logged: &'a (dyn Fn() -> bool + Send + Sync),
}

impl StepEnv<'_> {
    /// Time left before the step's deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Reports a value the step saw (SPEC §4.4), for its log line and JSON event.
    pub fn observe(&self, key: &str, value: impl Into<String>) {
        (self.emit)(EventKind::StepObserved {
            section: self.step.section,
            step: self.step.name.clone(),
            key: key.to_string(),
            value: value.into(),
        })
    }

    /// Reports one line of the step's output.
    pub fn say(&self, line: impl Into<String>) {
        (self.emit)(EventKind::StepOutput {
            section: self.step.section,
            step: self.step.name.clone(),
            line: line.into(),
        })
    }
}

/// What a step that succeeded asks of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Go on with the next step.
    Continue,
    /// Stop the run here at a manual gate.
    Pause { reason: Option<String> },
}

/// How a try of a step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The step ran and failed; `tail` is the end of its output, if it had any.
    Failed { message: String, tail: Vec<String> },
    /// The step's timeout ran out (no further tries).
    TimedOut { after: Duration, tail: Vec<String> },
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

impl StepError {
    /// The failure in one line, as logs and summaries show it.
    pub fn message(&self) -> String {
        match self {
            StepError::Failed { message, .. } => message.clone(),
            StepError::TimedOut { after, .. } => {
                format!("timed out after {}", humantime::format_duration(*after))
            }
            StepError::Interrupted => "interrupted".to_string(),
        }
    }

    /// The last lines of the step's output, if it had any.
    pub fn tail(&self) -> &[String] {
        match self {
            StepError::Failed { tail, .. } | StepError::TimedOut { tail, .. } => tail,
            StepError::Interrupted => &[],
        }
    }
}

/// Runs one try of a step.
pub async fn execute(env: &StepEnv<'_>) -> Result<Effect, StepError> {
    if let Some(name) = env.step.unbound_late() {
        return Err(unbound(env, name));
    }
    match &env.step.kind {
        StepKind::Run(spec) => run::execute(env, spec).await,
        StepKind::Smoke(spec) => smoke::execute(env, spec).await,
        StepKind::Soak { duration, watches } => soak::execute(env, *duration, watches).await,
        // Outside the engine's parking (which checks a bake once per visit), a bake is
        // an in-process wait over its whole duration, its watches on their schedules.
        StepKind::Bake(spec) => soak::execute(env, spec.duration, &spec.watches).await,
        StepKind::Pause { reason } => Ok(pause::execute(reason.as_ref())),
        StepKind::Log { message } => log::execute(env, message),
        StepKind::Platform(p) => match p.verb {
            Verb::Auth => auth::execute(env, p).await,
            Verb::Deploy(_) => deploy::execute(env, p).await,
            Verb::Rollback { .. } => rollback::execute(env, p).await,
            Verb::Restart => restart::execute(env, p).await,
            Verb::Scale { .. } => scale::execute(env, p).await,
            Verb::Promote { .. } => promote::execute(env, p).await,
        },
        StepKind::Health(spec) => health::execute(env, spec).await,
        StepKind::Metrics(spec) => metrics::execute(env, spec).await,
        StepKind::Window(spec) => window::execute(env, spec),
        StepKind::Approval { from, role } => {
            approval::execute(env, from.as_ref(), role.as_deref()).await
        }
        StepKind::Git(spec) => git::execute(env, spec).await,
        StepKind::Notify(spec) => notify::execute(env, spec).await,
    }
}

/// A step that still holds a late built-in has nothing to put there: it never runs
/// with the hole (SPEC §4.1: a target with no stable release needs `--to`).
fn unbound(env: &StepEnv<'_>, name: &str) -> StepError {
    let target = env
        .step
        .target
        .as_ref()
        .map(|t| t.shown().to_string())
        .unwrap_or_else(|| env.plan.name.clone());
    let message = match name {
        "stable" | "to" => format!(
            "{target} has no stable release to return to (nothing was pinned: a first deploy, or no run changed it), so `{{{{{name}}}}}` in `{}` is unknown and nothing was run; name the release with `rollout rollback {} --to RELEASE`",
            env.step.name, env.plan.name
        ),
        _ => format!(
            "`{{{{{name}}}}}` in `{}` has no value here, so nothing was run",
            env.step.name
        ),
    };
    StepError::Failed {
        message,
        tail: Vec::new(),
    }
}

/// One line saying what a step will do, as `show`, dry runs and progress print it.
/// Secrets are masked.
pub fn describe(step: &Step) -> String {
    match &step.kind {
        StepKind::Run(spec) | StepKind::Smoke(spec) => run::describe(spec),
        StepKind::Soak { duration, watches } => soak::describe(*duration, watches),
        StepKind::Bake(spec) => format!(
            "bake {} (parks the run; every `promote` checks the watches){}",
            humantime::format_duration(spec.duration),
            soak::describe_watches(&spec.watches)
        ),
        StepKind::Pause { reason } => pause::describe(reason.as_ref()),
        StepKind::Log { message } => log::describe(message),
        StepKind::Platform(p) => platform::describe(step, p),
        StepKind::Health(spec) => health::describe(spec),
        StepKind::Metrics(spec) => metrics::describe(spec),
        StepKind::Window(spec) => window::describe(spec),
        StepKind::Approval { from, role } => approval::describe(from.as_ref(), role.as_deref()),
        StepKind::Git(spec) => git::describe(spec),
        StepKind::Notify(spec) => notify::describe(spec),
    }
}

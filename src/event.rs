//! What the engine tells the world. The UI renderers and the reliability log are both
//! told these events; neither drives the run. Every string in an event is already
//! safe to show: secrets masked.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::ExitCode;
use crate::plan::Section;

/// One thing that happened in a run, with when and where.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub ts: DateTime<Utc>,
    pub runbook: String,
    pub run_id: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why the engine was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Promote,
    Resume,
    Rollback,
    Emergency,
    Preflight,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Promote => "promote",
            Mode::Resume => "resume",
            Mode::Rollback => "rollback",
            Mode::Emergency => "emergency",
            Mode::Preflight => "preflight",
        }
    }
}

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Failed,
    /// Failed, but `continue_on_error` let the run go on.
    Warned,
}

/// Something that happened in a run; the log and each renderer show it their own way.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        mode: Mode,
        /// Steps this invocation may run, in order.
        steps: usize,
        /// Set when continuing a paused, failed or interrupted run.
        from_step: Option<String>,
    },
    PreflightStarted {
        checks: usize,
    },
    PreflightFinished {
        ok: bool,
        failed: Vec<String>,
        duration_ms: u64,
    },
    StepStarted {
        section: Section,
        step: String,
        kind: String,
        /// 1-based position within its section.
        index: usize,
        total: usize,
        /// The command line, URL or wait, as `show` prints it.
        detail: String,
    },
    StepOutput {
        section: Section,
        step: String,
        line: String,
    },
    /// A long wait moving on: soak elapsed/total.
    StepProgress {
        section: Section,
        step: String,
        elapsed_ms: u64,
        total_ms: u64,
        message: String,
        /// Progress that is counted rather than timed: health successes in a row out of
        /// those needed, metrics samples out of `count`. The terminal's bar follows it.
        #[serde(skip_serializing_if = "Option::is_none")]
        tally: Option<Tally>,
    },
    /// A step is still running: said every 30 s so logs off a terminal never go quiet.
    StepHeartbeat {
        section: Section,
        step: String,
        elapsed_ms: u64,
    },
    StepRetry {
        section: Section,
        step: String,
        /// The try that just failed, 1-based.
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    StepFinished {
        section: Section,
        step: String,
        kind: String,
        status: StepStatus,
        duration_ms: u64,
        attempts: u32,
        error: Option<String>,
        /// The last lines of the child's output, on failure.
        tail: Vec<String>,
        /// What the step saw (SPEC §4.4): `release=`, `target=`, `percent=`, `p95=`,
        /// `status=`, `value=`, a bake's watches; in the log line and the JSON event.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        observed: Vec<(String, String)>,
    },
    /// A value a running step saw, gathered into its `StepFinished` (not shown alone).
    StepObserved {
        section: Section,
        step: String,
        key: String,
        value: String,
    },
    /// SPEC §4.3: the run parks in a bake (`kind = "bake"`, until its end) or behind a
    /// closed window (`"window"`, until it opens); exit 0, the next `promote` visits it.
    Parked {
        step: String,
        kind: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        opens_at: Option<DateTime<Utc>>,
        /// "42h left", "the next window opens Tue …".
        message: String,
        /// Each watch's last value, for a bake.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        observed: Vec<(String, String)>,
    },
    Paused {
        step: String,
        reason: Option<String>,
    },
    RunComplete {
        duration_ms: u64,
    },
    RunFailed {
        step: String,
        error: String,
        /// The command that gets the operator out, when no rollback follows (SPEC §4:
        /// hints never point in a circle).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    Interrupted {
        step: Option<String>,
    },
    RollbackStarted {
        emergency: bool,
        reason: String,
    },
    RollbackFinished {
        emergency: bool,
        ok: bool,
        error: Option<String>,
        /// What rollout saw (SPEC §4.4): the release each changed target returned to
        /// (`releases`), and for a ladder that recovered, `recovered_after` and `check`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        observed: Vec<(String, String)>,
    },
    /// Where each target stands as a run or rollback ends (releases and percent).
    Releases {
        releases: crate::releases::Releases,
    },
    /// This invocation is over: the last event of every promote, resume and rollback.
    Finished {
        outcome: Outcome,
        exit_code: u8,
    },
    /// A `log` step's message.
    Note {
        step: String,
        message: String,
    },
    /// Something a person should see that does not stop the run.
    Warning {
        message: String,
    },
}

/// `done` of `needed`, for a bar that fills by count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub done: u32,
    pub needed: u32,
}

/// Anything that wants to hear about events: a renderer, the log recorder.
pub trait Reporter: Send + Sync {
    fn report(&self, event: &Event);

    /// Whether every event so far reached its record. Only the reliability log can
    /// fail (a full disk); a run that cannot write its first line must not start.
    fn intact(&self) -> bool {
        true
    }
}

/// Tells every reporter, in order.
#[derive(Default)]
pub struct Fanout {
    reporters: Vec<Box<dyn Reporter>>,
}

impl Fanout {
    pub fn new() -> Self {
        Fanout::default()
    }

    /// Adds a reporter; each event goes to all, in the order added.
    pub fn add(&mut self, reporter: Box<dyn Reporter>) {
        self.reporters.push(reporter);
    }
}

impl Reporter for Fanout {
    fn report(&self, event: &Event) {
        for r in &self.reporters {
            r.report(event);
        }
    }

    fn intact(&self) -> bool {
        self.reporters.iter().all(|r| r.intact())
    }
}

/// How an invocation of the engine ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step ran.
    Completed,
    /// Stopped at a `pause`.
    Paused,
    /// Parked in a bake or behind a closed window (SPEC §4.3).
    Parked,
    /// A step failed; nothing needed rolling back (or auto-rollback is off).
    Failed,
    /// A step failed and `[[rollback]]` ran successfully.
    FailedRolledBack,
    /// `rollout rollback` finished.
    RolledBack,
    /// A rollback step failed: a person must act now.
    RollbackFailed,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

impl Outcome {
    /// The exit code SPEC §7 gives this outcome.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Completed | Outcome::Paused | Outcome::Parked | Outcome::RolledBack => {
                ExitCode::Ok
            }
            Outcome::Failed | Outcome::FailedRolledBack => ExitCode::Failed,
            Outcome::RollbackFailed => ExitCode::RollbackFailed,
            Outcome::Interrupted => ExitCode::Interrupted,
        }
    }
}

impl EventKind {
    /// The warning SPEC §4 asks for when a step ends with processes of its own still
    /// running in its group, which are then stopped: the hook for the process-group
    /// cleanup (`process::group`), which knows how many it stopped. Renderers and the
    /// log show it like any warning.
    pub fn leftovers_stopped(step: &str, count: usize) -> EventKind {
        let them = if count == 1 {
            "1 background process".to_string()
        } else {
            format!("{count} background processes")
        };
        EventKind::Warning {
            message: format!(
                "step `{step}` left {them} running; stopped when the step ended (a step must not leave processes behind: run them in the foreground, or under a service manager)"
            ),
        }
    }
}

#[cfg(test)]
mod leftovers_tests {
    use super::*;

    #[test]
    fn the_leftover_warning_names_the_step_and_the_count() {
        let EventKind::Warning { message } = EventKind::leftovers_stopped("migrate", 2) else {
            panic!("not a warning");
        };
        assert!(message.starts_with("step `migrate` left 2 background processes running; stopped"));
        let EventKind::Warning { message } = EventKind::leftovers_stopped("x", 1) else {
            panic!("not a warning");
        };
        assert!(message.contains("left 1 background process running"));
    }
}

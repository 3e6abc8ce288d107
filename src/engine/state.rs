//! The state of a run: where it stands, what finished, whether anything changed. Kept in
//! a journal per run (see [`StateStore`]), appended to after every step; a state that
//! cannot be read is an error naming its file and is never overwritten.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{Mode, StepStatus};
use crate::plan::Section;
use crate::releases::Releases;

pub use super::state_store::StateStore;

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Paused,
    Failed,
    Interrupted,
    Completed,
    RolledBack,
    RollbackFailed,
    /// Parked in a `bake` until its end (SPEC §4.3).
    Baking,
    /// Parked behind a closed `window` until it opens.
    Waiting,
    /// Ended by `rollout abandon` without running any step.
    Abandoned,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Completed => "completed",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackFailed => "rollback_failed",
            RunStatus::Baking => "baking",
            RunStatus::Waiting => "waiting",
            RunStatus::Abandoned => "abandoned",
        }
    }

    /// A finished run: the next `promote` starts a new one. (A failed run that
    /// changed nothing is over too: see [`RunState::is_over`].)
    pub fn is_over(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::RolledBack | RunStatus::Abandoned
        )
    }

    /// Parked in a bake or behind a window: the next `promote` visits it.
    pub fn is_parked(self) -> bool {
        matches!(self, RunStatus::Baking | RunStatus::Waiting)
    }
}

/// One finished step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub section: Section,
    pub status: StepStatus,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last rollback of this run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub emergency: bool,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The emergency ladder's rung after which a check said the service was healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_after: Option<String>,
    /// That check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

/// The state of one runbook's latest run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub runbook: String,
    pub status: RunStatus,
    pub mode: Mode,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// A completed deploy, promote, run, … step: auto-rollback has something to undo.
    pub changed: bool,
    /// Targets that platform steps of this run changed: auto-rollback acts on these
    /// only, so a failure in staging never rolls production back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_targets: Vec<String>,
    /// Main steps that finished, in the order they finished.
    pub steps: Vec<StepRecord>,
    /// The step the run is stopped at: the pause it waits behind, or the one that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// The `--set` values the run started with; it keeps them to the end.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sets: BTreeMap<String, String>,
    /// Per target: current and previous release, promote percentage. Carried from run
    /// to run of the runbook.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub releases: Releases,
    /// What a parked run waits for: a bake's end and last check, a window's opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<Parked>,
    /// Per soak step, how long it had waited when it was interrupted (ms): a resumed
    /// soak waits only for what was left.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub soaked: BTreeMap<String, u64>,
    /// Why the run was abandoned (`rollout abandon --reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
}

/// Why a parked run waits, and until when (SPEC §4.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parked {
    /// The bake or window step.
    pub step: String,
    /// `bake` or `window`.
    pub kind: String,
    /// When the run first reached the step (a bake's clock starts here and never stops).
    pub since: DateTime<Utc>,
    /// A bake's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// A window's next opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<DateTime<Utc>>,
    /// The window's time zone (IANA), to show `opens_at` in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Why it waits, in words (a window's "outside the deployment window (…)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The last visit's check of each watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<Check>,
    /// Consecutive bad checks per watch, counted across invocations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, u32>,
}

/// One visit's check of a bake's watches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub at: DateTime<Utc>,
    pub watches: Vec<WatchValue>,
}

/// What one watch showed at a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchValue {
    pub watch: String,
    pub ok: bool,
    pub value: String,
    pub threshold: String,
    /// Bad checks in a row so far, and how many fail it.
    pub failures: u32,
    pub failures_allowed: u32,
}

impl RunState {
    pub fn new(runbook: &str, run_id: &str, mode: Mode, user: &str, host: &str) -> RunState {
        let now = Utc::now();
        RunState {
            run_id: run_id.to_string(),
            runbook: runbook.to_string(),
            status: RunStatus::Running,
            mode,
            started_at: now,
            updated_at: now,
            user: user.to_string(),
            host: host.to_string(),
            pid: std::process::id(),
            changed: false,
            changed_targets: Vec::new(),
            sets: BTreeMap::new(),
            steps: Vec::new(),
            at_step: None,
            error: None,
            rollback: None,
            releases: BTreeMap::new(),
            parked: None,
            soaked: BTreeMap::new(),
            abandoned: None,
        }
    }

    /// Over: the next `promote` starts a new run. SPEC §4: a run that failed having
    /// changed nothing is over too.
    pub fn is_over(&self) -> bool {
        self.status.is_over() || (self.status == RunStatus::Failed && !self.changed)
    }

    /// Whether a main step already finished (ok or warned) in this run.
    pub fn is_done(&self, step: &str) -> bool {
        self.steps.iter().any(|r| {
            r.name == step && r.section == Section::Steps && r.status != StepStatus::Failed
        })
    }

    /// Records that this run changed `target`, so auto-rollback touches it (once).
    pub fn note_changed_target(&mut self, target: &str) {
        if !self.changed_targets.iter().any(|t| t == target) {
            self.changed_targets.push(target.to_string());
        }
    }

    /// Records a finished step, replacing an earlier record of the same step.
    pub fn record(&mut self, record: StepRecord) {
        self.steps
            .retain(|r| !(r.name == record.name && r.section == record.section));
        self.steps.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: StepStatus) -> StepRecord {
        StepRecord {
            name: name.into(),
            section: Section::Steps,
            status,
            started_at: Utc::now(),
            duration_ms: 5,
            attempts: 1,
            error: None,
        }
    }

    #[test]
    fn record_replaces_an_earlier_try_of_the_same_step() {
        let mut state = RunState::new("c", "r", Mode::Promote, "u", "h");
        state.record(record("deploy", StepStatus::Failed));
        assert!(!state.is_done("deploy"));
        state.record(record("deploy", StepStatus::Ok));
        assert!(state.is_done("deploy"));
        assert_eq!(state.steps.len(), 1);
    }
}

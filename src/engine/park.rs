//! Parked runs (SPEC §4.3): a `bake` and a closed `window` in `[[steps]]` stop the run
//! with exit 0 and a state that says until when (`baking`, `waiting`); every later
//! `promote` visits the step again (`bake.rs`, `window_gate.rs`). `--wait` holds the
//! process instead of parking. What both share: how a visit ends, its clock, and how a
//! visited step is shown and recorded.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::run::Engine;
use super::state::{RunState, StepRecord};
use crate::error::Error;
use crate::event::{EventKind, Outcome, StepStatus};
use crate::plan::{Section, Step};

/// How a visit to a bake or a window ended.
pub(super) enum Gate {
    /// Go on with the next step.
    Open,
    /// The run stops here, with this outcome (parked, or a preflight that failed).
    Stop(Outcome),
    /// A watch failed the bake: the run fails (and rolls back).
    Failed(String),
    Interrupted,
}

/// The clock of one visit: rollout's clock (`ROLLOUT_NOW` when set) at the start, moved
/// on by the time this process has waited, so `--wait` ends even in a rehearsal.
pub(super) struct VisitClock {
    start: DateTime<Utc>,
    started: Instant,
}

impl VisitClock {
    pub(super) fn new() -> Result<VisitClock, Error> {
        let start = crate::clock::now().map_err(|why| {
            Error::usage(why).with_hint("unset ROLLOUT_NOW, or give it as 2026-12-01T10:00:00Z")
        })?;
        Ok(VisitClock {
            start,
            started: Instant::now(),
        })
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        use chrono::DurationRound;
        let waited = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        let now = self.start + waited;
        // Whole milliseconds, as the log and state keep them.
        now.duration_trunc(chrono::Duration::milliseconds(1))
            .unwrap_or(now)
    }
}

impl Engine {
    pub(super) fn started(&self, step: &Step, index: usize, total: usize) {
        self.session.emit(EventKind::StepStarted {
            section: Section::Steps,
            step: step.name.clone(),
            kind: step.kind.name().to_string(),
            index,
            total,
            detail: crate::steps::describe(step),
        });
    }

    pub(super) fn say(&self, step: &Step, line: String) {
        self.session.emit(EventKind::StepOutput {
            section: Section::Steps,
            step: step.name.clone(),
            line,
        });
    }

    /// Records the end of a parked step's visit (its duration is the whole wait).
    pub(super) fn step_done(
        &self,
        state: &mut RunState,
        step: &Step,
        (status, started_at): (StepStatus, DateTime<Utc>),
        error: Option<String>,
        observed: Vec<(String, String)>,
    ) {
        let duration_ms = (crate::clock::now_or_real() - started_at)
            .num_milliseconds()
            .max(0) as u64;
        self.session.emit(EventKind::StepFinished {
            section: Section::Steps,
            step: step.name.clone(),
            kind: step.kind.name().to_string(),
            status,
            duration_ms,
            attempts: 1,
            error: error.clone(),
            tail: Vec::new(),
            observed,
        });
        state.record(StepRecord {
            name: step.name.clone(),
            section: Section::Steps,
            status,
            started_at,
            duration_ms,
            attempts: 1,
            error,
        });
    }
}

//! Parked runs (SPEC §4.3): a `bake` and a closed `window` in `[[steps]]` stop the run
//! with exit 0 and a state that says until when (`baking`, `waiting`); every later
//! `promote` visits the step again (`bake.rs`, `window_gate.rs`). `--wait` holds the
//! process instead of parking. What both share: how a visit ends, its clock, and how a
//! visited step is shown and recorded.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::run::Engine;
use super::start::steps_to_run;
use super::state::{RunState, RunStatus, StepRecord};
use crate::error::Error;
use crate::event::{EventKind, Mode, Outcome, StepStatus};
use crate::plan::{Section, Step, StepKind};

/// How a visit to a bake or a window ended.
pub(super) enum Gate {
    /// Go on with the next step.
    Open,
    /// A parked run's step lets it go on at its first check: preflight runs next, and
    /// then [`Engine::opened`] records the step (`said` is its last word, `observed` its
    /// last check). Until then the run stays parked.
    Ready {
        since: DateTime<Utc>,
        said: String,
        observed: Vec<(String, String)>,
    },
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
    /// `promote` of a parked run (SPEC §4.3): its bake or window is checked first, and
    /// only when it lets the run go on does the invocation say `RUN STARTED`, run
    /// preflight and go on — a cron tick that finds the run still parked logs one
    /// `BAKING` (or `WAITING`) line and exits 0. `--wait` starts the run at once.
    pub(super) async fn continue_parked(
        &self,
        mut state: RunState,
        start: usize,
    ) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        let total = plan.steps.len();
        state.mode = Mode::Promote;
        state.pid = std::process::id();
        let Some(step) = plan.steps.get(start) else {
            return self.run_steps(state, start).await;
        };
        let started = |engine: &Engine| {
            engine.session.emit(EventKind::RunStarted {
                mode: Mode::Promote,
                steps: steps_to_run(&plan, start, engine.options.full).len(),
                from_step: Some(step.name.clone()),
            });
            engine.ensure_logged()
        };
        if self.options.wait {
            started(self)?;
        }
        let gate = match &step.kind {
            StepKind::Bake(spec) => {
                self.bake(&mut state, step, spec, (start + 1, total), true)
                    .await?
            }
            StepKind::Window(spec) => {
                self.window(&mut state, step, spec, (start + 1, total), true)
                    .await?
            }
            // The runbook changed under the parked run: go on from that step.
            _ => Gate::Ready {
                since: Utc::now(),
                said: String::new(),
                observed: Vec::new(),
            },
        };
        match gate {
            Gate::Ready {
                since,
                said,
                observed,
            } => {
                if !self.options.wait {
                    started(self)?;
                }
                let stays = format!("; the run stays parked at `{}`", step.name);
                if let Some(stop) = self.preflight_gate(&stays).await {
                    return Ok(stop);
                }
                if !matches!(step.kind, StepKind::Bake(_) | StepKind::Window(_)) {
                    state.status = RunStatus::Running;
                    self.save(&mut state)?;
                    return self.run_steps(state, start).await;
                }
                self.opened(&mut state, step, (since, said, observed))?;
                self.run_steps(state, start + 1).await
            }
            Gate::Open => {
                self.going_on(&mut state, step)?;
                self.run_steps(state, start + 1).await
            }
            Gate::Stop(outcome) => Ok(outcome),
            Gate::Failed(error) => self.failed(state, &step.name, error, true).await,
            Gate::Interrupted => self.interrupted(state, Some(&step.name)),
        }
    }

    /// Records a parked step that let the run go on (see [`Gate::Ready`]).
    pub(super) fn opened(
        &self,
        state: &mut RunState,
        step: &Step,
        (since, said, observed): (DateTime<Utc>, String, Vec<(String, String)>),
    ) -> Result<(), Error> {
        if !said.is_empty() {
            self.say(step, said);
        }
        state.parked = None;
        self.step_done(state, step, (StepStatus::Ok, since), None, observed);
        self.going_on(state, step)
    }

    /// The run is running again past `step`.
    pub(super) fn going_on(&self, state: &mut RunState, step: &Step) -> Result<(), Error> {
        state.status = RunStatus::Running;
        state.at_step = Some(step.name.clone());
        self.save(state)
    }

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

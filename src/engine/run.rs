//! The main sequence of a run: `promote` (a new run, or the continuation of a paused
//! one) and `resume` (a failed or interrupted one). Steps run in order with their
//! retries; state is saved after each; a failure after a change rolls back by itself.

use chrono::Utc;

use super::confirm;
use super::lock::RunLock;
use super::park::Gate;
use super::preflight::run_preflight;
use super::session::Session;
use super::start::{promote_start, resume_start, steps_to_run};
use super::state::{RunState, RunStatus, StateStore, StepRecord};
use crate::error::Error;
use crate::event::{EventKind, Mode, Outcome, StepStatus};
use crate::plan::{Section, StepKind};
use crate::steps::StepError;

/// What the person asked for, beyond the plan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Go through pauses.
    pub full: bool,
    /// Confirmations answered in advance.
    pub yes: bool,
    /// Concurrent preflight checks.
    pub jobs: usize,
    pub user: String,
    pub host: String,
    /// The `--set` values a new run starts with and keeps.
    pub sets: std::collections::BTreeMap<String, String>,
    /// `promote --wait`: hold the process through bakes and closed windows.
    pub wait: bool,
}

/// Runs one plan. Holds the runbook's lock for as long as it lives.
pub struct Engine {
    pub(super) session: Session,
    pub(super) store: StateStore,
    pub(super) options: Options,
    pub(super) _lock: RunLock,
}

impl Engine {
    pub fn new(session: Session, store: StateStore, options: Options, lock: RunLock) -> Engine {
        Engine {
            session,
            store,
            options,
            _lock: lock,
        }
    }

    /// `promote --wait`: stay in the foreground through bakes and closed windows.
    pub fn waiting(mut self, wait: bool) -> Engine {
        self.options.wait = wait;
        self
    }

    /// `rollout promote`: a new run from the first step, or a paused run continued.
    pub async fn promote(self, previous: Option<RunState>) -> Result<Outcome, Error> {
        let outcome = self.start_or_continue(previous).await;
        self.finished(outcome)
    }

    async fn start_or_continue(&self, previous: Option<RunState>) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        let start = promote_start(&plan, previous.as_ref())?;
        confirm::check_roles(&plan, &self.session.flags.approvers)?;
        self.adopt_releases(previous.as_ref());
        confirm::check_up_front(
            steps_to_run(&plan, start, self.options.full)
                .iter()
                .chain(&plan.preflight),
            self.answers(),
        )?;
        // A parked run (bake, window) is visited at its parked step (SPEC §4.3).
        let previous = match previous {
            Some(state) if state.status.is_parked() => {
                return self.continue_parked(state, start).await;
            }
            other => other,
        };
        let continuing = previous.filter(|s| s.status == RunStatus::Paused);
        let from_step = continuing.as_ref().and_then(|s| s.at_step.clone());
        self.session.emit(EventKind::RunStarted {
            mode: Mode::Promote,
            steps: steps_to_run(&plan, start, self.options.full).len(),
            from_step,
        });
        self.ensure_logged()?;
        if let Some(stop) = self.preflight_gate("").await {
            return Ok(stop);
        }
        let mut state = match continuing {
            Some(mut state) => {
                if let Some(pause) = state.at_step.clone() {
                    state.record(StepRecord {
                        name: pause,
                        section: Section::Steps,
                        status: StepStatus::Ok,
                        started_at: Utc::now(),
                        duration_ms: 0,
                        attempts: 1,
                        error: None,
                    });
                }
                state.status = RunStatus::Running;
                state.mode = Mode::Promote;
                state.pid = std::process::id();
                state
            }
            None => {
                let mut state = RunState::new(
                    &plan.name,
                    &self.session.run_id,
                    Mode::Promote,
                    &self.options.user,
                    &self.options.host,
                );
                state.sets = self.options.sets.clone();
                state
            }
        };
        self.save(&mut state)?;
        self.run_steps(state, start).await
    }

    /// `rollout resume`: a failed or interrupted run, from its failed step (or `from`).
    pub async fn resume(
        self,
        previous: Option<RunState>,
        from: Option<&str>,
    ) -> Result<Outcome, Error> {
        let outcome = self.continue_failed(previous, from).await;
        self.finished(outcome)
    }

    async fn continue_failed(
        &self,
        previous: Option<RunState>,
        from: Option<&str>,
    ) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        let start = resume_start(&plan, previous.as_ref(), from)?;
        confirm::check_roles(&plan, &self.session.flags.approvers)?;
        self.adopt_releases(previous.as_ref());
        let Some(mut state) = previous else {
            return Err(Error::usage(format!(
                "`{}` has no run to resume",
                plan.name
            )));
        };
        confirm::check_up_front(
            steps_to_run(&plan, start, false)
                .iter()
                .chain(&plan.preflight),
            self.answers(),
        )?;
        self.session.emit(EventKind::RunStarted {
            mode: Mode::Resume,
            steps: steps_to_run(&plan, start, false).len(),
            from_step: plan.steps.get(start).map(|s| s.name.clone()),
        });
        self.ensure_logged()?;
        if let Some(stop) = self.preflight_gate("").await {
            return Ok(stop);
        }
        state.status = RunStatus::Running;
        state.mode = Mode::Resume;
        state.pid = std::process::id();
        state.error = None;
        self.save(&mut state)?;
        self.run_steps(state, start).await
    }

    /// Runs main steps from `start` until the end, a pause, a parked bake or window, a
    /// failure or an interrupt.
    pub(super) async fn run_steps(
        &self,
        mut state: RunState,
        start: usize,
    ) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        let total = plan.steps.len();
        for (index, step) in plan.steps.iter().enumerate().skip(start) {
            self.stop_if_log_lost(&mut state, &step.name)?;
            if self.session.interrupt.is_set() {
                return self.interrupted(state, Some(&step.name));
            }
            // Reached in this invocation, after its preflight: a gate that opens at once
            // goes on without another.
            let gate = match &step.kind {
                StepKind::Bake(spec) => Some(
                    self.bake(&mut state, step, spec, (index + 1, total), false)
                        .await?,
                ),
                StepKind::Window(spec) if !self.session.flags.emergency => Some(
                    self.window(&mut state, step, spec, (index + 1, total), false)
                        .await?,
                ),
                _ => None,
            };
            match gate {
                None => {}
                Some(Gate::Ready {
                    since,
                    said,
                    observed,
                }) => {
                    self.opened(&mut state, step, (since, said, observed))?;
                    continue;
                }
                Some(Gate::Open) => {
                    self.going_on(&mut state, step)?;
                    continue;
                }
                Some(Gate::Stop(outcome)) => return Ok(outcome),
                Some(Gate::Failed(error)) => {
                    return self.failed(state, &step.name, error, true).await;
                }
                Some(Gate::Interrupted) => return self.interrupted(state, Some(&step.name)),
            }
            if let StepKind::Pause { reason } = &step.kind
                && !self.options.full
            {
                let reason = reason.as_ref().map(|r| r.shown().to_string());
                state.status = RunStatus::Paused;
                state.at_step = Some(step.name.clone());
                self.save(&mut state)?;
                self.session.emit(EventKind::Paused {
                    step: step.name.clone(),
                    reason,
                });
                return Ok(Outcome::Paused);
            }
            // Saved before the step too: a killed process is then found at this step.
            state.at_step = Some(step.name.clone());
            self.save(&mut state)?;
            let answer = self.confirmed(step, None);
            if answer == confirm::Answer::Interrupted {
                return self.interrupted(state, Some(&step.name));
            }
            if answer == confirm::Answer::No {
                let error = "declined at the confirmation prompt".to_string();
                self.session.emit(EventKind::StepFinished {
                    section: Section::Steps,
                    step: step.name.clone(),
                    kind: step.kind.name().to_string(),
                    status: StepStatus::Failed,
                    duration_ms: 0,
                    attempts: 0,
                    error: Some(error.clone()),
                    tail: Vec::new(),
                    observed: Vec::new(),
                });
                // Declining changes nothing, so it does not roll back what came before.
                return self.failed(state, &step.name, error, false).await;
            }
            let outcome = self
                .run_main_step(&mut state, step, index + 1, total)
                .await?;
            if outcome.is_interrupted() {
                return self.interrupted(state, Some(&step.name));
            }
            let status = outcome.status(step);
            let error = outcome.result.as_ref().err().map(StepError::message);
            state.record(StepRecord {
                name: step.name.clone(),
                section: Section::Steps,
                status,
                started_at: outcome.started_at,
                duration_ms: outcome.duration.as_millis() as u64,
                attempts: outcome.attempts,
                error: error.clone(),
            });
            if status == StepStatus::Ok && step.kind.changes_things() {
                state.changed = true;
                if let Some(target) = step.platform_target() {
                    state.note_changed_target(target);
                }
            }
            // SPEC §4: a platform step whose first changing command started has changed
            // its target, even when it then failed (a deploy that timed out waiting for
            // its rollout, a half-done switch).
            for target in self.session.releases.take_started() {
                state.changed = true;
                state.note_changed_target(&target);
            }
            if status == StepStatus::Failed {
                let error = error.unwrap_or_default();
                return self.failed(state, &step.name, error, true).await;
            }
            self.save(&mut state)?;
        }
        state.status = RunStatus::Completed;
        state.at_step = None;
        state.parked = None;
        self.save(&mut state)?;
        self.report_releases();
        // The whole run, pauses included, not just this invocation.
        let total = (Utc::now() - state.started_at).to_std().unwrap_or_default();
        self.session.emit(EventKind::RunComplete {
            duration_ms: total.as_millis() as u64,
        });
        if !self.session.flags.emergency && !self.session.reporter.intact() {
            return Err(Error::failed(
                "the run completed, but the reliability log lost some of its lines",
            )
            .with_detail("see the warning above; the run state says what ran")
            .with_hint("free space or fix permissions where the log lives, then add what is missing with `rollout log note`"));
        }
        Ok(Outcome::Completed)
    }

    /// SPEC §6: the log is the audit trail. When one of its lines could not be written
    /// (a full disk mid-run), the run stops before its next step, recorded as
    /// `interrupted` so that `resume` or `rollback` can take it from there once the log
    /// can be written; exit 1. (An emergency rollback goes on without it.)
    fn stop_if_log_lost(&self, state: &mut RunState, next: &str) -> Result<(), Error> {
        if self.session.flags.emergency || self.session.reporter.intact() {
            return Ok(());
        }
        state.status = RunStatus::Interrupted;
        state.at_step = Some(next.to_string());
        state.error = Some("the reliability log could not be written".to_string());
        let saved = self.save(state);
        let name = &self.session.plan.name;
        Err(Error::failed(format!(
            "stopped before `{next}`: the reliability log could not be written"
        ))
        .with_detail(match saved {
            Ok(()) => "the run is recorded as interrupted; nothing after the last step that ran was started".to_string(),
            Err(err) => format!("the run state could not be written either: {}", err.headline),
        })
        .with_hint(format!(
            "free space or fix permissions where the log lives, then `rollout resume {name}` or `rollout rollback {name}`"
        )))
    }

    /// A step failed: record it, and roll back if something had changed.
    pub(super) async fn failed(
        &self,
        mut state: RunState,
        step: &str,
        error: String,
        may_roll_back: bool,
    ) -> Result<Outcome, Error> {
        state.status = RunStatus::Failed;
        state.at_step = Some(step.to_string());
        state.error = Some(error.clone());
        self.save(&mut state)?;
        let plan = self.session.plan.clone();
        let rolls_back = may_roll_back && state.changed && plan.auto_rollback;
        let name = &plan.name;
        let next = if rolls_back && !plan.rollback.is_empty() {
            None
        } else if !state.changed {
            Some(format!(
                "nothing was changed, so the run is over: fix the cause and `rollout promote {name}` starts a new run"
            ))
        } else {
            Some(format!(
                "`rollout resume {name}` tries `{step}` again; `rollout rollback {name}` undoes what the run changed; `rollout abandon {name} --force` leaves it as it is"
            ))
        };
        self.session.emit(EventKind::RunFailed {
            step: step.to_string(),
            error: error.clone(),
            next,
        });
        if !rolls_back {
            return Ok(Outcome::Failed);
        }
        if plan.rollback.is_empty() {
            self.session.emit(EventKind::Warning {
                message: format!(
                    "`{}` changed things but has no [[rollback]] steps: nothing was rolled back",
                    plan.name
                ),
            });
            return Ok(Outcome::Failed);
        }
        let reason = format!("step `{step}` failed: {error}");
        let outcome = self
            .roll_back(&mut state, &reason, false, true, false)
            .await?;
        Ok(match outcome {
            Outcome::RolledBack => Outcome::FailedRolledBack,
            other => other,
        })
    }

    /// Ctrl-C or SIGTERM: record where, say so, and let the lock go with `self`.
    pub(super) fn interrupted(
        &self,
        mut state: RunState,
        step: Option<&str>,
    ) -> Result<Outcome, Error> {
        state.status = RunStatus::Interrupted;
        if let Some(step) = step {
            state.at_step = Some(step.to_string());
        }
        self.save(&mut state)?;
        if let Some(by) = self._lock.taken_over_by() {
            self.session.emit(EventKind::Warning {
                message: format!(
                    "taken over by {}@{} (pid {}, `{}`): this run stops here; that rollback decides what runs",
                    by.user, by.host, by.pid, by.command
                ),
            });
        }
        self.session.emit(EventKind::Interrupted {
            step: step.map(str::to_string),
        });
        Ok(Outcome::Interrupted)
    }

    /// Runs `[[preflight]]`; `Some(outcome)` when the run must stop here (a failed check
    /// or an interrupt). `consequence` is added to the failure, e.g. what was not done.
    pub(super) async fn preflight_gate(&self, consequence: &str) -> Option<Outcome> {
        let report = run_preflight(&self.session, self.options.jobs).await;
        if report.interrupted {
            self.session.emit(EventKind::Interrupted { step: None });
            return Some(Outcome::Interrupted);
        }
        if report.ok() {
            return None;
        }
        let name = &self.session.plan.name;
        let next = if consequence.is_empty() {
            "fix what it names and run the same command again; preflight changed nothing"
                .to_string()
        } else {
            format!("fix what it names; the next `rollout promote {name}` checks again")
        };
        self.session.emit(EventKind::RunFailed {
            step: "preflight".to_string(),
            error: format!(
                "preflight failed: {}{consequence}",
                report.failed().join(", ")
            ),
            next: Some(next),
        });
        Some(Outcome::Failed)
    }

    /// What was answered in advance, for [`confirm::check_up_front`].
    pub(super) fn answers(&self) -> confirm::Answers {
        confirm::Answers {
            yes: self.options.yes,
            approvers: self.session.flags.approvers.clone(),
            interactive: self.session.flags.interactive,
        }
    }

    /// Says how this invocation ended (renderers print their summary once, here).
    pub(super) fn finished(&self, outcome: Result<Outcome, Error>) -> Result<Outcome, Error> {
        if let Ok(outcome) = &outcome {
            self.session.emit(EventKind::Finished {
                outcome: *outcome,
                exit_code: outcome.exit_code().code(),
            });
        }
        outcome
    }

    /// SPEC §4: a run that cannot append to the reliability log does not start (an
    /// emergency rollback goes on without it). Checked once the first line was tried.
    pub(super) fn ensure_logged(&self) -> Result<(), Error> {
        if self.session.flags.emergency || self.session.reporter.intact() {
            return Ok(());
        }
        Err(Error::failed("cannot append to the reliability log")
            .with_detail("its first line for this run could not be written (see the warning above); nothing was run")
            .with_hint("free space or fix permissions where the log lives, or point --log / ROLLOUT_LOG elsewhere"))
    }

    /// Tells the renderers where each target stands, if any release is known.
    pub(super) fn report_releases(&self) {
        let releases = self.session.releases.snapshot();
        if !releases.is_empty() {
            self.session.emit(EventKind::Releases { releases });
        }
    }

    /// Writes the state. An emergency rollback goes on when it cannot (a full disk must
    /// not stop the way back), saying so; every other run stops.
    pub(super) fn save(&self, state: &mut RunState) -> Result<(), Error> {
        state.updated_at = Utc::now();
        state.releases = self.session.releases.snapshot();
        match self.store.save(state) {
            Err(err) if self.session.flags.emergency => {
                self.session.emit(EventKind::Warning {
                    message: format!("{}; the emergency rollback goes on", err.headline),
                });
                Ok(())
            }
            other => other,
        }
    }
}

impl Engine {
    /// Takes over the releases the runbook's latest run knew, before any step runs.
    pub(super) fn adopt_releases(&self, previous: Option<&RunState>) {
        if let Some(previous) = previous {
            self.session.releases.adopt(&previous.releases);
        }
    }
}

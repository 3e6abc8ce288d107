//! `[[rollback]]`, run by `rollout rollback` and by auto-rollback; and `[[emergency]]`,
//! the escalation tried in order when a rollback under `--emergency` fails.

use chrono::Utc;

use super::attempt::run_step;
use super::confirm;
use super::run::Engine;
use super::state::{RollbackRecord, RunState, RunStatus, StepRecord};
use crate::error::Error;
use crate::event::Outcome;
use crate::event::{EventKind, Mode, StepStatus};
use crate::plan::Section;

impl Engine {
    /// Rollback steps return the target to `to` (`rollback --to RELEASE`).
    pub fn with_rollback_to(mut self, to: Option<String>) -> Engine {
        self.session.flags.rollback_to = to;
        self
    }

    /// `rollout rollback [--emergency]`. A plain rollback runs preflight and asks its
    /// confirmations; an emergency one skips both and never prompts.
    pub async fn rollback(
        self,
        previous: Option<RunState>,
        reason: &str,
        emergency: bool,
    ) -> Result<Outcome, Error> {
        let outcome = self.roll_back_on_request(previous, reason, emergency).await;
        self.finished(outcome)
    }

    async fn roll_back_on_request(
        &self,
        previous: Option<RunState>,
        reason: &str,
        emergency: bool,
    ) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        self.adopt_releases(previous.as_ref());
        if plan.rollback.is_empty() {
            return Err(
                Error::usage(format!("`{}` has no [[rollback]] steps", plan.name)).with_hint(
                    format!("add a [[rollback]] section to {}", plan.file().display()),
                ),
            );
        }
        if !emergency {
            confirm::check_up_front(&plan.rollback, self.answers())?;
        }
        let mode = if emergency {
            Mode::Emergency
        } else {
            Mode::Rollback
        };
        let mut state = previous.unwrap_or_else(|| {
            let mut state = RunState::new(
                &plan.name,
                &self.session.run_id,
                mode,
                &self.options.user,
                &self.options.host,
            );
            state.sets = self.options.sets.clone();
            state
        });
        if !emergency && let Some(stop) = self.preflight_gate("; nothing was rolled back").await {
            return Ok(stop);
        }
        state.mode = mode;
        state.pid = std::process::id();
        self.roll_back(&mut state, reason, emergency, false).await
    }

    /// Runs `[[rollback]]` (and, under `emergency`, `[[emergency]]` when it fails),
    /// recording each step in `state`. `auto` marks a rollback started by a failed run:
    /// it never stops to ask.
    pub(super) async fn roll_back(
        &self,
        state: &mut RunState,
        reason: &str,
        emergency: bool,
        auto: bool,
    ) -> Result<Outcome, Error> {
        let plan = self.session.plan.clone();
        self.session.emit(EventKind::RollbackStarted {
            emergency,
            reason: reason.to_string(),
        });
        // An auto-rollback must go on whatever the log says; a requested one does not
        // start without its log line.
        if !auto {
            self.ensure_logged()?;
        }
        state.status = RunStatus::Running;
        state.rollback = Some(RollbackRecord {
            emergency,
            reason: reason.to_string(),
            started_at: Utc::now(),
            ok: None,
            error: None,
        });
        self.save(state)?;

        let mut failure: Option<String> = None;
        let total = plan.rollback.len();
        for (index, step) in plan.rollback.iter().enumerate() {
            if self.session.interrupt.is_set() {
                return self.interrupted(state.clone(), Some(&step.name));
            }
            if auto
                && let Some(target) = step.platform_target()
                && !state.changed_targets.iter().any(|t| t == target)
            {
                self.session.emit(EventKind::Warning {
                    message: format!(
                        "skipping rollback step `{}`: this run did not change {target}",
                        step.name
                    ),
                });
                continue;
            }
            let not_asked = if emergency {
                Some("--emergency")
            } else if auto {
                Some("auto-rollback")
            } else {
                None
            };
            let answer = self.confirmed(step, not_asked);
            if answer == confirm::Answer::Interrupted {
                return self.interrupted(state.clone(), Some(&step.name));
            }
            if answer == confirm::Answer::No {
                failure = Some(format!(
                    "`{}` was declined at the confirmation prompt",
                    step.name
                ));
                break;
            }
            let outcome = run_step(&self.session, step, index + 1, total).await;
            if outcome.is_interrupted() {
                return self.interrupted(state.clone(), Some(&step.name));
            }
            let status = outcome.status(step);
            let error = outcome.result.as_ref().err().map(|e| e.message());
            record(
                state,
                step.name.clone(),
                Section::Rollback,
                status,
                &outcome,
                error.clone(),
            );
            self.save(state)?;
            if status == StepStatus::Failed {
                failure = Some(format!(
                    "`{}` failed: {}",
                    step.name,
                    error.unwrap_or_default()
                ));
                break;
            }
        }

        if failure.is_some() && emergency && !plan.emergency.is_empty() {
            self.escalate(state).await?;
            if self.session.interrupt.is_set() {
                return self.interrupted(state.clone(), None);
            }
        }

        let ok = failure.is_none();
        state.status = if ok {
            RunStatus::RolledBack
        } else {
            RunStatus::RollbackFailed
        };
        if let Some(rollback) = state.rollback.as_mut() {
            rollback.ok = Some(ok);
            rollback.error = failure.clone();
        }
        self.save(state)?;
        self.report_releases();
        self.session.emit(EventKind::RollbackFinished {
            emergency,
            ok,
            error: failure,
        });
        Ok(if ok {
            Outcome::RolledBack
        } else {
            Outcome::RollbackFailed
        })
    }

    /// Every `[[emergency]]` step, in order, each whatever the one before did: when the
    /// rollback has failed, each may still help (restart, then scale to zero).
    async fn escalate(&self, state: &mut RunState) -> Result<(), Error> {
        let plan = self.session.plan.clone();
        let total = plan.emergency.len();
        for (index, step) in plan.emergency.iter().enumerate() {
            if self.session.interrupt.is_set() {
                return Ok(());
            }
            let outcome = run_step(&self.session, step, index + 1, total).await;
            if outcome.is_interrupted() {
                return Ok(());
            }
            let status = outcome.status(step);
            let error = outcome.result.as_ref().err().map(|e| e.message());
            record(
                state,
                step.name.clone(),
                Section::Emergency,
                status,
                &outcome,
                error,
            );
            self.save(state)?;
        }
        Ok(())
    }
}

fn record(
    state: &mut RunState,
    name: String,
    section: Section,
    status: StepStatus,
    outcome: &super::attempt::StepOutcome,
    error: Option<String>,
) {
    state.record(StepRecord {
        name,
        section,
        status,
        started_at: outcome.started_at,
        duration_ms: outcome.duration.as_millis() as u64,
        attempts: outcome.attempts,
        error,
    });
}

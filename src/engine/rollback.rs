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

    /// `rollback --all`: targets the run did not change are rolled back too.
    pub fn with_rollback_all(mut self, all: bool) -> Engine {
        self.session.flags.rollback_all = all;
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
        self.refuse_unusable_to(&plan)?;
        let mode = if emergency {
            Mode::Emergency
        } else {
            Mode::Rollback
        };
        // Without a run to go by (none yet, or its state was lost or moved aside),
        // nothing says which targets it changed: every target is rolled back, each to
        // the release before the one it runs, as `--all` does.
        if previous.is_none() && !self.session.flags.rollback_all {
            self.session.emit(EventKind::Warning {
                message: "no run state to say which targets the last run changed: rolling back every target (as with --all)".to_string(),
            });
        }
        let no_run = previous.is_none();
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
        // SPEC §4: no preflight before any rollback — it could be blocked or delayed by
        // exactly what is broken.
        state.mode = mode;
        state.pid = std::process::id();
        self.roll_back(&mut state, reason, emergency, false, no_run)
            .await
    }

    /// Runs `[[rollback]]` (and, under `emergency`, `[[emergency]]` when it fails),
    /// recording each step in `state`. `auto` marks a rollback started by a failed run:
    /// it never stops to ask. `every`: all targets, changed by the run or not.
    pub(super) async fn roll_back(
        &self,
        state: &mut RunState,
        reason: &str,
        emergency: bool,
        auto: bool,
        every: bool,
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
            recovered_after: None,
            check: None,
        });
        self.save(state)?;

        // SPEC §4.1: a failed step does not stop the others. Later steps on its target
        // are skipped; other targets and target-less steps still run.
        let mut failures: Vec<String> = Vec::new();
        let mut failed_targets: Vec<String> = Vec::new();
        let all = self.session.flags.rollback_all || every;
        let total = plan.rollback.len();
        for (index, step) in plan.rollback.iter().enumerate() {
            if self.session.interrupt.is_set() {
                return self.interrupted(state.clone(), Some(&step.name));
            }
            if let Some(target) = step.platform_target() {
                if !all && !state.changed_targets.iter().any(|t| t == target) {
                    self.session.emit(EventKind::Warning {
                        message: format!(
                            "skipping rollback step `{}`: this run did not change {target} (`--all` rolls it back too)",
                            step.name
                        ),
                    });
                    continue;
                }
                if failed_targets.iter().any(|t| t == target) {
                    self.session.emit(EventKind::Warning {
                        message: format!(
                            "skipping rollback step `{}`: an earlier rollback step on {target} failed",
                            step.name
                        ),
                    });
                    continue;
                }
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
                failures.push(format!(
                    "`{}` was declined at the confirmation prompt",
                    step.name
                ));
                if let Some(target) = step.platform_target() {
                    failed_targets.push(target.to_string());
                }
                continue;
            }
            let bound = self.bind_late(step, reason);
            let outcome = run_step(&self.session, &bound, index + 1, total).await;
            // The rollback's own changes are not the run's.
            self.session.releases.take_started();
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
            if status == StepStatus::Failed && step.kind.is_gate() {
                // A closed window or a missing approval refuses the rollback itself:
                // nothing after it runs.
                failures.push(format!(
                    "`{}` refused the rollback: {}",
                    step.name,
                    error.unwrap_or_default()
                ));
                break;
            }
            if status == StepStatus::Failed {
                let on = step
                    .platform_target()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default();
                failures.push(format!(
                    "`{}`{on} failed: {}",
                    step.name,
                    error.unwrap_or_default()
                ));
                if let Some(target) = step.platform_target() {
                    failed_targets.push(target.to_string());
                }
            }
        }
        let mut failure = (!failures.is_empty()).then(|| failures.join("; "));

        if failure.is_some() && emergency && !plan.emergency.is_empty() {
            let recovered = self.escalate(state, reason).await?;
            if self.session.interrupt.is_set() {
                return self.interrupted(state.clone(), None);
            }
            if let Some(ladder) = recovered {
                // SPEC §4.2: the ladder decides the emergency's outcome.
                failure = ladder.err();
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
        let mut observed = Vec::new();
        let releases: Vec<String> = state
            .changed_targets
            .iter()
            .filter_map(|t| {
                let current = self.session.releases.get(t).current?;
                Some(format!("{t}={current}"))
            })
            .collect();
        if !releases.is_empty() {
            observed.push(("releases".to_string(), releases.join(" ")));
        }
        if let Some(rollback) = &state.rollback
            && let (Some(after), Some(check)) = (&rollback.recovered_after, &rollback.check)
        {
            observed.push(("recovered_after".to_string(), after.clone()));
            observed.push(("check".to_string(), check.clone()));
        }
        self.session.emit(EventKind::RollbackFinished {
            emergency,
            ok,
            error: failure,
            observed,
        });
        Ok(if ok {
            Outcome::RolledBack
        } else {
            Outcome::RollbackFailed
        })
    }

    /// The `[[emergency]]` ladder (SPEC §4.2), climbed only as far as needed: a platform
    /// or `run` rung that fails goes on to the next; a check rung (health, metrics, a
    /// soak) that passes ends the ladder — the service is healthy again — and one that
    /// fails goes on. The last rung run decides. `None` when interrupted.
    async fn escalate(
        &self,
        state: &mut RunState,
        reason: &str,
    ) -> Result<Option<Result<(), String>>, Error> {
        let plan = self.session.plan.clone();
        let total = plan.emergency.len();
        let mut after: Option<String> = None;
        let mut last: Result<(), String> = Ok(());
        for (index, step) in plan.emergency.iter().enumerate() {
            if self.session.interrupt.is_set() {
                return Ok(None);
            }
            let bound = self.bind_late(step, reason);
            let outcome = run_step(&self.session, &bound, index + 1, total).await;
            self.session.releases.take_started();
            if outcome.is_interrupted() {
                return Ok(None);
            }
            let status = outcome.status(step);
            let error = outcome.result.as_ref().err().map(|e| e.message());
            record(
                state,
                step.name.clone(),
                Section::Emergency,
                status,
                &outcome,
                error.clone(),
            );
            self.save(state)?;
            let passed = status != StepStatus::Failed;
            if passed && step.kind.is_check() {
                let after = after.unwrap_or_else(|| "the rollback".to_string());
                self.session.emit(EventKind::Note {
                    step: step.name.clone(),
                    message: format!(
                        "recovered_after={after} check={}: healthy again, the rest of the ladder is not needed",
                        step.name
                    ),
                });
                if let Some(rollback) = state.rollback.as_mut() {
                    rollback.recovered_after = Some(after);
                    rollback.check = Some(step.name.clone());
                }
                return Ok(Some(Ok(())));
            }
            last = if passed {
                Ok(())
            } else {
                Err(format!(
                    "emergency step `{}` failed: {}",
                    step.name,
                    error.unwrap_or_default()
                ))
            };
            after = Some(step.name.clone());
        }
        Ok(Some(last))
    }

    /// SPEC §4.1: a `--to` that a rollback step cannot use is refused before anything
    /// runs: a step with a `cmd` of the runbook's own sees it only through `{{to}}`.
    fn refuse_unusable_to(&self, plan: &crate::plan::Plan) -> Result<(), Error> {
        if self.session.flags.rollback_to.is_none() {
            return Ok(());
        }
        let blind: Vec<&str> = plan
            .rollback
            .iter()
            .filter(|s| matches!(&s.kind, crate::plan::StepKind::Platform(p) if p.cmd.is_some() && matches!(p.verb, crate::plan::Verb::Rollback { .. })) && !s.kind.uses_late("to"))
            .map(|s| s.name.as_str())
            .collect();
        if blind.is_empty() {
            return Ok(());
        }
        Err(Error::usage(format!(
            "--to cannot be used: rollback step `{}` runs a command of its own without {{{{to}}}}, which never sees it; nothing was run",
            blind.join("`, `")
        ))
        .with_hint(format!(
            "run `rollout rollback {}` without --to, or write {{{{to}}}} where the step's `cmd` takes the release",
            plan.name
        )))
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

//! Where an invocation starts in a runbook's main steps, given its latest run: the
//! rules that refuse to start a run on top of an unfinished one. Shared by the engine
//! and by `--dry-run`, which must say exactly what the real run would do.

use super::state::{RunState, RunStatus};
use crate::error::Error;
use crate::plan::{Plan, Step, StepKind};

/// Where `promote` starts, given the runbook's latest run: 0 for a new run, or the step
/// after the pause a paused run waits behind. Other unfinished runs are refused.
pub fn promote_start(plan: &Plan, previous: Option<&RunState>) -> Result<usize, Error> {
    let Some(state) = previous else {
        return Ok(0);
    };
    // We hold the lock, so a run still marked running died without saying so.
    let status = match state.status {
        RunStatus::Running => RunStatus::Interrupted,
        status => status,
    };
    match status {
        _ if state.is_over() => Ok(0),
        // A parked run is visited at its bake or window again (SPEC §4.3).
        RunStatus::Baking | RunStatus::Waiting => {
            let at = state.at_step.as_deref().unwrap_or_default();
            plan.step_index(at).ok_or_else(|| {
                Error::usage(format!(
                    "run {} of `{}` is parked at `{at}`, which is no longer in the runbook",
                    state.run_id, plan.name
                ))
                .with_hint(format!(
                    "end it with `rollout abandon {0}` (or `rollout rollback {0}`), then `rollout promote {0}` starts afresh",
                    plan.name
                ))
            })
        }
        RunStatus::Paused => {
            let at = state.at_step.as_deref().unwrap_or_default();
            plan.step_index(at).map(|i| i + 1).ok_or_else(|| {
                Error::usage(format!(
                    "run {} of `{}` is paused at `{at}`, which is no longer in the runbook",
                    state.run_id, plan.name
                ))
                .with_hint(format!(
                    "end it with `rollout abandon {0}` (or `rollout rollback {0}` if it changed something), then `rollout promote {0}` starts afresh",
                    plan.name
                ))
            })
        }
        RunStatus::RollbackFailed => Err(Error::usage(format!(
            "the rollback of run {} of `{}` failed; a new run will not start on top of it",
            state.run_id, plan.name
        ))
        .with_hint(format!(
            "make the target safe: `rollout rollback {0}` (or `--emergency`); then `rollout promote {0}` starts a new run",
            plan.name
        ))),
        status => Err(Error::usage(format!(
            "run {} of `{}` is {} at `{}`; promote does not start it over",
            state.run_id,
            plan.name,
            shown_status(status),
            state.at_step.as_deref().unwrap_or("its start")
        ))
        .with_hint(format!(
            "continue it with `rollout resume {0}`; or end it: `rollout rollback {0}` undoes what it changed, `rollout abandon {0} --force` leaves it as it is",
            plan.name
        ))),
    }
}

/// Where `resume` starts: `--from STEP`, or the step the run failed or was interrupted at.
pub fn resume_start(
    plan: &Plan,
    previous: Option<&RunState>,
    from: Option<&str>,
) -> Result<usize, Error> {
    let Some(state) = previous else {
        return Err(
            Error::usage(format!("`{}` has no run to resume", plan.name))
                .with_hint(format!("start one with `rollout promote {}`", plan.name)),
        );
    };
    match state.status {
        RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => {}
        RunStatus::Baking | RunStatus::Waiting => {
            return Err(Error::usage(format!(
                "run {} of `{}` is {} at `{}`, not failed",
                state.run_id,
                plan.name,
                shown_status(state.status),
                state.at_step.as_deref().unwrap_or("a bake")
            ))
            .with_hint(format!(
                "`rollout promote {0}` checks it again and goes on when it may (`rollout status {0}` says what it waits for)",
                plan.name
            )));
        }
        RunStatus::Paused => {
            return Err(Error::usage(format!(
                "run {} of `{}` is paused at `{}`, not failed",
                state.run_id,
                plan.name,
                state.at_step.as_deref().unwrap_or("a gate")
            ))
            .with_hint(format!(
                "continue it past the pause with `rollout promote {}`",
                plan.name
            )));
        }
        status => {
            return Err(Error::usage(format!(
                "run {} of `{}` is over ({}); there is nothing to resume",
                state.run_id,
                plan.name,
                shown_status(status)
            ))
            .with_hint(format!(
                "start a new run with `rollout promote {}`",
                plan.name
            )));
        }
    }
    if let Some(from) = from {
        let index = plan.step_index(from).ok_or_else(|| {
            let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
            let mut err = Error::usage(format!("`{}` has no step `{from}`", plan.name));
            if let Some(near) = closest(from, &names) {
                err = err.with_hint(format!(
                    "did you mean `{near}`? (`rollout show {}` lists the steps)",
                    plan.name
                ));
            } else {
                err = err.with_hint(format!("`rollout show {}` lists the steps", plan.name));
            }
            err
        })?;
        refuse_past_unfinished_bake(plan, state, index)?;
        return Ok(index);
    }
    let first_not_done = plan
        .steps
        .iter()
        .position(|s| !state.is_done(&s.name))
        .unwrap_or(plan.steps.len());
    Ok(state
        .at_step
        .as_deref()
        .and_then(|at| plan.step_index(at))
        .unwrap_or(first_not_done))
}

/// SPEC §4.3: `resume --from` never passes a bake that has not finished (exit 2, naming
/// the bake and when it ends).
fn refuse_past_unfinished_bake(plan: &Plan, state: &RunState, from: usize) -> Result<(), Error> {
    let unfinished = plan.steps[..from]
        .iter()
        .find(|s| matches!(s.kind, StepKind::Bake(_)) && !state.is_done(&s.name));
    let Some(bake) = unfinished else {
        return Ok(());
    };
    let when = match state.parked.as_ref().filter(|p| p.step == bake.name) {
        Some(parked) => match parked.until {
            Some(until) => format!("it ends {}", until.format("%Y-%m-%d %H:%M:%SZ")),
            None => "it has not ended".to_string(),
        },
        None => "it has not started".to_string(),
    };
    Err(Error::usage(format!(
        "`{}` comes after the bake `{}`, which has not finished ({when})",
        plan.steps[from].name, bake.name
    ))
    .with_detail("resume --from never passes an unfinished bake; nothing was run")
    .with_hint(format!(
        "resume from the bake or before it (`rollout resume {0} --from \"{1}\"`), or once it has baked `rollout promote {0}` goes on",
        plan.name, bake.name
    )))
}

/// The main steps one invocation may run from `start`: up to and including the next
/// pause, or to the end with `full`.
pub fn steps_to_run(plan: &Plan, start: usize, full: bool) -> &[Step] {
    let rest = plan.steps.get(start..).unwrap_or(&[]);
    if full {
        return rest;
    }
    match rest
        .iter()
        .position(|s| matches!(s.kind, StepKind::Pause { .. }))
    {
        Some(pause) => &rest[..=pause],
        None => rest,
    }
}

/// A run status in words, as `status` and error messages show it.
pub fn shown_status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Baking => "baking",
        RunStatus::Waiting => "waiting",
        RunStatus::RolledBack => "rolled back",
        RunStatus::RollbackFailed => "rollback failed",
        other => other.as_str(),
    }
}

fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

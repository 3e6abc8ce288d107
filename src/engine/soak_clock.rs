//! SPEC §4.3: a `soak` (in-process) that was interrupted and is resumed waits only for
//! what was left — its clock stops while no process runs it. The time a soak has waited
//! is kept in the run state (`soaked`): saved every [`CHECKPOINT`] while it runs (so a
//! process killed outright loses at most that much), and when it is interrupted.

use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{StepOutcome, run_step};
use super::run::Engine;
use super::state::RunState;
use crate::error::Error;
use crate::event::EventKind;
use crate::plan::{Step, StepKind};

/// How often a running soak writes how long it has waited.
const CHECKPOINT: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs main step `step` (the `index`-th of `total`); a soak waits only for what it
    /// had left, and its clock is kept in `state`.
    pub(super) async fn run_main_step(
        &self,
        state: &mut RunState,
        step: &Step,
        index: usize,
        total: usize,
    ) -> Result<StepOutcome, Error> {
        if !matches!(step.kind, StepKind::Soak { .. }) {
            return Ok(run_step(&self.session, step, index, total).await);
        }
        let soaked = Duration::from_millis(state.soaked.get(&step.name).copied().unwrap_or(0));
        let resumed = resumed_soak(step, soaked);
        if resumed.is_some() {
            self.session.emit(EventKind::Warning {
                message: format!(
                    "`{}` had soaked {} before it was interrupted: it waits only for the rest",
                    step.name,
                    humantime::format_duration(Duration::from_secs(soaked.as_secs()))
                ),
            });
        }
        let started = Instant::now();
        let work = run_step(
            &self.session,
            resumed.as_ref().unwrap_or(step),
            index,
            total,
        );
        tokio::pin!(work);
        let mut ticks = tokio::time::interval_at(started + CHECKPOINT, CHECKPOINT);
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = ticks.tick() => {
                    let so_far = soaked + started.elapsed();
                    state.soaked.insert(step.name.clone(), so_far.as_millis() as u64);
                    self.save(state)?;
                }
            }
        };
        if outcome.is_interrupted() {
            let so_far = soaked + outcome.duration;
            state
                .soaked
                .insert(step.name.clone(), so_far.as_millis() as u64);
        } else {
            state.soaked.remove(&step.name);
        }
        Ok(outcome)
    }
}

/// `step` with the time a resumed soak has left, when it had soaked before.
fn resumed_soak(step: &Step, soaked: Duration) -> Option<Step> {
    let StepKind::Soak { duration, watches } = &step.kind else {
        return None;
    };
    if soaked.is_zero() {
        return None;
    }
    let mut resumed = step.clone();
    resumed.kind = StepKind::Soak {
        duration: duration
            .saturating_sub(soaked)
            .max(Duration::from_millis(1)),
        watches: watches.clone(),
    };
    Some(resumed)
}

//! The `--set` values of a run. A run keeps the values it started with: continuing it
//! after a pause, resuming it or rolling it back uses them again, so the second half of
//! a rollout never ships something other than the first half did, and on-call at 3 a.m.
//! does not need to remember what was typed at noon.

use std::collections::BTreeMap;

use crate::engine::state::{RunState, RunStatus};
use crate::error::Error;

/// What the invocation does with the latest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `promote`: a new run, or (when the latest run is paused) its continuation.
    Promote,
    /// `resume`: the latest run goes on.
    Resume,
    /// `rollback`: the latest run's values, with any `--set` given now on top.
    Rollback,
}

/// The `--set` values this invocation runs with.
pub fn effective(
    given: &[(String, String)],
    previous: Option<&RunState>,
    purpose: Purpose,
) -> Result<Vec<(String, String)>, Error> {
    let Some(state) = previous else {
        return Ok(given.to_vec());
    };
    let continuing = match purpose {
        Purpose::Promote => state.status == RunStatus::Paused || state.status.is_parked(),
        Purpose::Resume => true,
        Purpose::Rollback => {
            let mut merged = state.sets.clone();
            merged.extend(given.iter().cloned());
            return Ok(merged.into_iter().collect());
        }
    };
    if !continuing {
        return Ok(given.to_vec());
    }
    let latest: BTreeMap<&str, &str> = given
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (key, value) in latest {
        if state.sets.get(key).map(String::as_str) != Some(value) {
            let started = match state.sets.get(key) {
                Some(old) => format!("{key}={old}"),
                None => format!("no --set {key}"),
            };
            return Err(Error::usage(format!(
                "run {} of `{}` started with {started}; a run keeps the values it started with",
                state.run_id, state.runbook
            ))
            .with_detail(format!("--set {key}={value} would change it half-way"))
            .with_hint(format!(
                "go on without --set {key}, or end the run with `rollout rollback {0}` and start a new one with `rollout promote {0} --set {key}={value}`",
                state.runbook
            )));
        }
    }
    Ok(state.sets.clone().into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Mode;

    fn run(status: RunStatus, sets: &[(&str, &str)]) -> RunState {
        let mut state = RunState::new("demo", "r-1", Mode::Promote, "u", "h");
        state.status = status;
        state.sets = sets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        state
    }

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_new_run_takes_what_is_given() {
        let done = run(RunStatus::Completed, &[("version", "1")]);
        assert_eq!(
            effective(&set(&[("version", "2")]), Some(&done), Purpose::Promote).unwrap(),
            set(&[("version", "2")])
        );
    }

    #[test]
    fn a_paused_run_goes_on_with_its_own_values() {
        let paused = run(RunStatus::Paused, &[("version", "2")]);
        assert_eq!(
            effective(&[], Some(&paused), Purpose::Promote).unwrap(),
            set(&[("version", "2")])
        );
        assert!(effective(&set(&[("version", "2")]), Some(&paused), Purpose::Promote).is_ok());
        let err =
            effective(&set(&[("version", "3")]), Some(&paused), Purpose::Promote).unwrap_err();
        assert_eq!(err.code.code(), 2);
        assert!(
            err.headline.contains("started with version=2"),
            "{}",
            err.headline
        );
    }

    #[test]
    fn resume_refuses_a_new_key_too() {
        let failed = run(RunStatus::Failed, &[]);
        assert!(effective(&set(&[("port", "1")]), Some(&failed), Purpose::Resume).is_err());
    }

    #[test]
    fn rollback_uses_the_runs_values_with_the_given_ones_on_top() {
        let done = run(RunStatus::Completed, &[("version", "2"), ("port", "1")]);
        assert_eq!(
            effective(&set(&[("port", "9")]), Some(&done), Purpose::Rollback).unwrap(),
            set(&[("port", "9"), ("version", "2")])
        );
    }
}

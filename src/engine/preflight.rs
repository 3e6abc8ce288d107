//! `[[preflight]]`: checks that run concurrently, before anything changes. A failure
//! changes nothing and never triggers a rollback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::attempt::run_step;
use super::session::Session;
use crate::event::EventKind;
use crate::plan::Section;

/// The default for `jobs`: every check at once. Checks wait on the network, other
/// processes or the clock, not on this machine's cores, so a cap only makes them wait
/// for each other (`--jobs` sets one where it matters).
pub const ALL_AT_ONCE: usize = usize::MAX;

/// The result of one check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub kind: String,
    pub location: String,
    pub ok: bool,
    pub duration: Duration,
    pub error: Option<String>,
    pub tail: Vec<String>,
}

/// All checks, in the runbook's order.
#[derive(Debug, Clone)]
pub struct PreflightReport {
    pub checks: Vec<CheckResult>,
    pub duration: Duration,
    pub interrupted: bool,
}

impl PreflightReport {
    /// Every check passed and nothing interrupted them.
    pub fn ok(&self) -> bool {
        !self.interrupted && self.checks.iter().all(|c| c.ok)
    }

    /// The names of the checks that failed.
    pub fn failed(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Runs every preflight check, at most `jobs` at once ([`ALL_AT_ONCE`] by default), and
/// reports the result.
pub async fn run_preflight(session: &Session, jobs: usize) -> PreflightReport {
    let checks = session.plan.section(Section::Preflight).len();
    let start = Instant::now();
    if checks == 0 {
        return PreflightReport {
            checks: Vec::new(),
            duration: start.elapsed(),
            interrupted: false,
        };
    }
    session.emit(EventKind::PreflightStarted { checks });
    let permits = Arc::new(Semaphore::new(jobs.clamp(1, checks)));
    let mut set = JoinSet::new();
    for index in 0..checks {
        let session = session.clone();
        let permits = permits.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only waits for a free slot.
            let _permit = permits.acquire_owned().await.ok();
            let step = &session.plan.preflight[index];
            let outcome = run_step(&session, step, index + 1, checks).await;
            let interrupted = outcome.is_interrupted();
            let (error, tail) = match &outcome.result {
                Ok(_) => (None, Vec::new()),
                Err(err) => (Some(err.message()), err.tail().to_vec()),
            };
            let result = CheckResult {
                name: step.name.clone(),
                kind: step.kind.name().to_string(),
                location: step.location.clone(),
                ok: outcome.result.is_ok() || step.continue_on_error,
                duration: outcome.duration,
                error,
                tail,
            };
            (index, result, interrupted)
        });
    }
    let mut results: Vec<Option<CheckResult>> = vec![None; checks];
    let mut interrupted = false;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, result, was_interrupted)) => {
                interrupted |= was_interrupted;
                results[index] = Some(result);
            }
            Err(err) => {
                // A panicking check is a bug, but it must still fail the preflight.
                interrupted |= err.is_cancelled();
            }
        }
    }
    let checks: Vec<CheckResult> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                let step = &session.plan.preflight[i];
                CheckResult {
                    name: step.name.clone(),
                    kind: step.kind.name().to_string(),
                    location: step.location.clone(),
                    ok: false,
                    duration: Duration::ZERO,
                    error: Some("the check did not finish".to_string()),
                    tail: Vec::new(),
                }
            })
        })
        .collect();
    let report = PreflightReport {
        checks,
        duration: start.elapsed(),
        interrupted,
    };
    if !interrupted {
        session.emit(EventKind::PreflightFinished {
            ok: report.ok(),
            failed: report.failed(),
            duration_ms: report.duration.as_millis() as u64,
        });
    }
    report
}

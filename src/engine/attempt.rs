//! One step, start to finish: its tries, the delay between them, the step's timeout over
//! all of them, and the events that say so.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::session::Session;
use crate::event::{EventKind, StepStatus};
use crate::plan::{Step, limits};
use crate::steps::{self, Effect, StepEnv, StepError};

/// How one step ended, after all its tries.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub attempts: u32,
    pub result: Result<Effect, StepError>,
}

impl StepOutcome {
    /// Ctrl-C or SIGTERM stopped the step.
    pub fn is_interrupted(&self) -> bool {
        matches!(self.result, Err(StepError::Interrupted))
    }

    /// Ok, failed, or failed but allowed to (`continue_on_error`).
    pub fn status(&self, step: &Step) -> StepStatus {
        match &self.result {
            Ok(_) => StepStatus::Ok,
            Err(StepError::Interrupted) => StepStatus::Failed,
            Err(_) if step.continue_on_error => StepStatus::Warned,
            Err(_) => StepStatus::Failed,
        }
    }
}

/// Runs `step` (the `index`-th of `total` in its section) with retries, reporting
/// start, output, retries and the end.
pub async fn run_step(session: &Session, step: &Step, index: usize, total: usize) -> StepOutcome {
    session.emit(EventKind::StepStarted {
        section: step.section,
        step: step.name.clone(),
        kind: step.kind.name().to_string(),
        index,
        total,
        detail: steps::describe(step),
    });
    let started_at = Utc::now();
    let start = Instant::now();
    let deadline = start + limits::capped(step.timeout);
    // Values the step observed are gathered into its StepFinished (SPEC §4.4).
    let observed: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let emit = |kind: EventKind| match kind {
        EventKind::StepObserved { key, value, .. } => {
            let mut seen = observed.lock().unwrap_or_else(|e| e.into_inner());
            seen.retain(|(k, _)| *k != key);
            seen.push((key, value));
        }
        other => session.emit(other),
    };
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        let env = StepEnv {
            run_id: &session.run_id,
            plan: &session.plan,
            step,
            interrupt: &session.interrupt,
            flags: &session.flags,
            releases: &session.releases,
            deadline,
            emit: &emit,
            logged: &|| session.reporter.intact(),
        };
        let result = with_heartbeat(session, step, start, steps::execute(&env)).await;
        let retryable = matches!(result, Err(StepError::Failed { .. }));
        if !retryable || attempts > step.retries {
            break result;
        }
        // A retry that cannot even start before the deadline is not worth announcing.
        if Instant::now() + limits::capped(step.retry_delay) >= deadline {
            break result;
        }
        if let Err(err) = &result {
            session.emit(EventKind::StepRetry {
                section: step.section,
                step: step.name.clone(),
                attempt: attempts,
                error: err.message(),
                delay_ms: step.retry_delay.as_millis() as u64,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(step.retry_delay) => {}
            _ = session.interrupt.wait() => break Err(StepError::Interrupted),
        }
    };
    let outcome = StepOutcome {
        started_at,
        duration: start.elapsed(),
        attempts,
        result,
    };
    if !outcome.is_interrupted() {
        let (error, tail) = match &outcome.result {
            Ok(_) => (None, Vec::new()),
            Err(err) => (Some(err.message()), err.tail().to_vec()),
        };
        session.emit(EventKind::StepFinished {
            section: step.section,
            step: step.name.clone(),
            kind: step.kind.name().to_string(),
            status: outcome.status(step),
            duration_ms: outcome.duration.as_millis() as u64,
            attempts,
            error,
            tail,
            observed: observed.into_inner().unwrap_or_else(|e| e.into_inner()),
        });
    }
    outcome
}

/// How often a running step says it is still running.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Runs `work`, telling the session every [`HEARTBEAT`] that `step` is still going.
async fn with_heartbeat<F: std::future::Future>(
    session: &Session,
    step: &Step,
    started: Instant,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    let mut ticks = tokio::time::interval_at(started + HEARTBEAT, HEARTBEAT);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticks.tick() => session.emit(EventKind::StepHeartbeat {
                section: step.section,
                step: step.name.clone(),
                elapsed_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }
}

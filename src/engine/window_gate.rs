//! A `window` of `[[steps]]` visited (SPEC §4.3): open, the run goes on (after preflight
//! when it was parked); closed, the run parks (`waiting`, until the next opening, in the
//! window's time zone) — no failure, no rollback, no failure notification — or `--wait`
//! holds the process until it opens.

use std::time::Duration;

use super::park::{Gate, VisitClock};
use super::run::Engine;
use super::state::{Parked, RunState, RunStatus};
use crate::error::Error;
use crate::event::{EventKind, Outcome, StepStatus};
use crate::plan::{Step, WindowSpec};
use crate::steps::window;

/// While `--wait` holds a closed window, how often it looks again at most.
const WINDOW_RECHECK: Duration = Duration::from_secs(60);

impl Engine {
    /// Visits the window `step` of `[[steps]]`: goes on when it is open, parks when
    /// it is closed (no failure, no rollback, no failure notification).
    pub(super) async fn window(
        &self,
        state: &mut RunState,
        step: &Step,
        spec: &WindowSpec,
        (index, total): (usize, usize),
        parked_here: bool,
    ) -> Result<Gate, Error> {
        let clock = VisitClock::new()?;
        self.started(step, index, total);
        let since = state
            .parked
            .as_ref()
            .filter(|p| p.step == step.name)
            .map(|p| p.since)
            .unwrap_or_else(|| clock.now());
        let mut waited = false;
        loop {
            let now = clock.now();
            match window::check(spec, now) {
                Ok(inside) => {
                    if parked_here && !waited {
                        // The caller runs preflight, then records the window.
                        return Ok(Gate::Ready {
                            since,
                            said: inside,
                            observed: Vec::new(),
                        });
                    }
                    if waited
                        && let Some(stop) = self
                            .preflight_gate("; the run stays parked at the window")
                            .await
                    {
                        return Ok(Gate::Stop(stop));
                    }
                    self.say(step, inside);
                    state.parked = None;
                    self.step_done(state, step, (StepStatus::Ok, since), None, Vec::new());
                    return Ok(Gate::Open);
                }
                Err(closed) => {
                    let opens_at = window::next_open(spec, now);
                    // "outside the deployment window (…)" or "inside the freeze …".
                    let why = closed.split(": ").next().unwrap_or(&closed).to_string();
                    self.say(step, closed.clone());
                    state.status = RunStatus::Waiting;
                    state.at_step = Some(step.name.clone());
                    state.parked = Some(Parked {
                        step: step.name.clone(),
                        kind: "window".to_string(),
                        since,
                        until: None,
                        opens_at,
                        tz: Some(spec.tz.name().to_string()),
                        message: Some(why.clone()),
                        last_check: None,
                        failures: Default::default(),
                    });
                    self.save(state)?;
                    let Some(open) = opens_at.filter(|_| self.options.wait) else {
                        let message = match opens_at {
                            Some(open) => format!(
                                "the window is closed ({why}); it opens {}",
                                window::opening_in_words(open, spec.tz.name(), now)
                            ),
                            None => closed,
                        };
                        self.session.emit(EventKind::Parked {
                            step: step.name.clone(),
                            kind: "window".to_string(),
                            until: None,
                            opens_at,
                            message,
                            observed: Vec::new(),
                        });
                        return Ok(Gate::Stop(Outcome::Parked));
                    };
                    waited = true;
                    let rest = (open - now).to_std().unwrap_or_default();
                    let pause = rest.min(WINDOW_RECHECK).max(Duration::from_millis(10));
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = self.session.interrupt.wait() => return Ok(Gate::Interrupted),
                    }
                }
            }
        }
    }
}

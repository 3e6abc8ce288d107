//! Parked runs (SPEC §4.3): a `bake` and a closed `window` in `[[steps]]` stop the run
//! with exit 0 and a state that says until when (`baking`, `waiting`); every later
//! `promote` visits the step again. A bake checks each watch once per visit, counting
//! bad checks across visits, and fails (→ rollback) when a watch has failed `failures`
//! times in a row; once its time has passed, preflight runs and the run goes on. A
//! window goes on once it is open. `--wait` holds the process instead of parking.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::run::Engine;
use super::state::{Check, Parked, RunState, RunStatus, StepRecord, WatchValue};
use crate::error::Error;
use crate::event::{EventKind, Outcome, StepStatus};
use crate::plan::{BakeSpec, Section, Step, WindowSpec};
use crate::steps::watch::{self, Reading};
use crate::steps::window;

/// How a visit to a bake or a window ended.
pub(super) enum Gate {
    /// Go on with the next step.
    Open,
    /// The run stops here, with this outcome (parked, or a preflight that failed).
    Stop(Outcome),
    /// A watch failed the bake: the run fails (and rolls back).
    Failed(String),
    Interrupted,
}

/// While `--wait` holds a closed window, how often it looks again at most.
const WINDOW_RECHECK: Duration = Duration::from_secs(60);

/// The clock of one visit: rollout's clock (`ROLLOUT_NOW` when set) at the start, moved
/// on by the time this process has waited, so `--wait` ends even in a rehearsal.
struct VisitClock {
    start: DateTime<Utc>,
    started: Instant,
}

impl VisitClock {
    fn new() -> Result<VisitClock, Error> {
        let start = crate::clock::now().map_err(|why| {
            Error::usage(why).with_hint("unset ROLLOUT_NOW, or give it as 2026-12-01T10:00:00Z")
        })?;
        Ok(VisitClock {
            start,
            started: Instant::now(),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        use chrono::DurationRound;
        let waited = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        let now = self.start + waited;
        // Whole milliseconds, as the log and state keep them.
        now.duration_trunc(chrono::Duration::milliseconds(1))
            .unwrap_or(now)
    }
}

impl Engine {
    /// Visits the bake `step`: checks its watches, then parks, fails, or goes on.
    /// `continuing`: this invocation started at the bake (preflight has not run yet).
    pub(super) async fn bake(
        &self,
        state: &mut RunState,
        step: &Step,
        spec: &BakeSpec,
        (index, total): (usize, usize),
        continuing: bool,
    ) -> Result<Gate, Error> {
        let clock = VisitClock::new()?;
        let mut parked = match state.parked.take() {
            Some(p) if p.step == step.name && p.kind == "bake" => p,
            _ => Parked {
                step: step.name.clone(),
                kind: "bake".to_string(),
                since: clock.now(),
                until: None,
                opens_at: None,
                tz: None,
                message: None,
                last_check: None,
                failures: Default::default(),
            },
        };
        let duration = chrono::Duration::from_std(spec.duration).unwrap_or(chrono::TimeDelta::MAX);
        let until = parked
            .since
            .checked_add_signed(duration)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        parked.until = Some(until);
        self.started(step, index, total);
        let mut waited = false;
        loop {
            let readings = tokio::select! {
                readings = watch::check_all(&spec.watches, &self.session.plan.redactor) => readings,
                _ = self.session.interrupt.wait() => {
                    state.parked = Some(parked);
                    return Ok(Gate::Interrupted);
                }
            };
            let now = clock.now();
            for reading in &readings {
                self.say(step, reading.line.clone());
            }
            let failed = tally(&mut parked, spec, &readings, now);
            let observed = observed(&parked);
            if let Some(message) = failed {
                let since = parked.since;
                state.parked = Some(parked);
                self.step_done(
                    state,
                    step,
                    (StepStatus::Failed, since),
                    Some(message.clone()),
                    observed,
                );
                return Ok(Gate::Failed(message));
            }
            if now >= until {
                if continuing || waited {
                    // SPEC §4.3: once the time has passed, preflight runs before the
                    // run goes on; a failed preflight leaves the run parked as it was.
                    state.parked = Some(parked.clone());
                    state.status = RunStatus::Baking;
                    self.save(state)?;
                    if let Some(stop) = self
                        .preflight_gate("; the run stays parked in the bake")
                        .await
                    {
                        return Ok(Gate::Stop(stop));
                    }
                }
                state.parked = None;
                self.say(
                    step,
                    format!(
                        "baked {} (since {}); every watch passed",
                        humantime::format_duration(spec.duration),
                        parked.since.format("%Y-%m-%d %H:%M:%SZ")
                    ),
                );
                self.step_done(state, step, (StepStatus::Ok, parked.since), None, observed);
                return Ok(Gate::Open);
            }
            let left = crate::clock::span_in_words(until - now);
            let message = format!(
                "{left} left of {} (ends {})",
                humantime::format_duration(spec.duration),
                until.format("%Y-%m-%d %H:%M:%SZ")
            );
            state.status = RunStatus::Baking;
            state.at_step = Some(step.name.clone());
            state.parked = Some(parked.clone());
            self.save(state)?;
            if !self.options.wait {
                self.session.emit(EventKind::Parked {
                    step: step.name.clone(),
                    kind: "bake".to_string(),
                    until: Some(until),
                    opens_at: None,
                    message,
                    observed,
                });
                return Ok(Gate::Stop(Outcome::Parked));
            }
            // --wait: the process holds the bake, visiting every `interval`.
            waited = true;
            let total_ms = spec.duration.as_millis() as u64;
            let elapsed_ms = (now - parked.since).num_milliseconds().max(0) as u64;
            self.session.emit(EventKind::StepProgress {
                section: Section::Steps,
                step: step.name.clone(),
                elapsed_ms: elapsed_ms.min(total_ms),
                total_ms,
                message: format!("baking, {message}"),
                tally: None,
            });
            let rest = (until - now).to_std().unwrap_or_default();
            let pause = spec.interval.min(rest).max(Duration::from_millis(10));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = self.session.interrupt.wait() => {
                    state.parked = Some(parked);
                    return Ok(Gate::Interrupted);
                }
            }
        }
    }

    /// Visits the window `step` of `[[steps]]`: goes on when it is open, parks when
    /// it is closed (no failure, no rollback, no failure notification).
    pub(super) async fn window(
        &self,
        state: &mut RunState,
        step: &Step,
        spec: &WindowSpec,
        (index, total): (usize, usize),
        continuing: bool,
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
                    if (continuing || waited)
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

    fn started(&self, step: &Step, index: usize, total: usize) {
        self.session.emit(EventKind::StepStarted {
            section: Section::Steps,
            step: step.name.clone(),
            kind: step.kind.name().to_string(),
            index,
            total,
            detail: crate::steps::describe(step),
        });
    }

    fn say(&self, step: &Step, line: String) {
        self.session.emit(EventKind::StepOutput {
            section: Section::Steps,
            step: step.name.clone(),
            line,
        });
    }

    /// Records the end of a parked step's visit (its duration is the whole wait).
    fn step_done(
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

/// Counts this visit's readings into `parked` (bad checks in a row, per watch) and
/// keeps them as the last check. The failure message of the first watch to fail.
fn tally(
    parked: &mut Parked,
    spec: &BakeSpec,
    readings: &[Reading],
    now: DateTime<Utc>,
) -> Option<String> {
    let mut values = Vec::new();
    let mut failed = None;
    for (watch, reading) in spec.watches.iter().zip(readings) {
        let name = watch.name();
        let streak = parked.failures.entry(name.clone()).or_insert(0);
        if reading.ok {
            *streak = 0;
        } else {
            *streak += 1;
        }
        let streak = *streak;
        if failed.is_none() && !reading.ok && (streak >= watch.failures || reading.rejected) {
            failed = Some(format!(
                "the watch `{name}` failed {} in a row ({} allowed): last {}; threshold: {}",
                crate::steps::soak::times(streak),
                watch.failures,
                reading.line,
                watch.threshold()
            ));
        }
        values.push(WatchValue {
            watch: name,
            ok: reading.ok,
            value: reading.value.clone(),
            threshold: watch.threshold(),
            failures: streak,
            failures_allowed: watch.failures,
        });
    }
    parked.last_check = Some(Check {
        at: now,
        watches: values,
    });
    failed
}

/// The log's and the JSON event's view of the last check: `watches="… = 0.01 ok; …"`.
fn observed(parked: &Parked) -> Vec<(String, String)> {
    let Some(check) = &parked.last_check else {
        return Vec::new();
    };
    if check.watches.is_empty() {
        return Vec::new();
    }
    let each: Vec<String> = check
        .watches
        .iter()
        .map(|w| {
            let verdict = if w.ok {
                "ok".to_string()
            } else {
                format!("bad {}/{}", w.failures, w.failures_allowed)
            };
            format!("{} = {} ({verdict})", w.watch, w.value)
        })
        .collect();
    vec![("watches".to_string(), each.join("; "))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ExpectStatus, ProbeSpec, Text, WatchCheck, WatchSpec};

    fn spec(failures: u32) -> BakeSpec {
        BakeSpec {
            duration: Duration::from_secs(60),
            interval: Duration::from_secs(1),
            watches: vec![WatchSpec {
                check: WatchCheck::Http(ProbeSpec {
                    url: Text::plain("http://127.0.0.1:1/health"),
                    method: "GET".into(),
                    headers: Vec::new(),
                    expect_status: ExpectStatus::Success,
                    expect_body: None,
                    request_timeout: Duration::from_secs(1),
                }),
                interval: Duration::from_secs(15),
                failures,
            }],
        }
    }

    fn reading(ok: bool) -> Reading {
        Reading {
            ok,
            value: if ok { "200" } else { "503" }.into(),
            line: "GET http://127.0.0.1:1/health → 503".into(),
            rejected: false,
        }
    }

    #[test]
    fn bad_checks_count_across_visits_and_a_good_one_resets() {
        let spec = spec(2);
        let mut parked = Parked {
            step: "bake".into(),
            kind: "bake".into(),
            since: Utc::now(),
            until: None,
            opens_at: None,
            tz: None,
            message: None,
            last_check: None,
            failures: Default::default(),
        };
        let now = Utc::now();
        assert!(tally(&mut parked, &spec, &[reading(false)], now).is_none());
        assert!(tally(&mut parked, &spec, &[reading(true)], now).is_none());
        assert!(tally(&mut parked, &spec, &[reading(false)], now).is_none());
        let failed = tally(&mut parked, &spec, &[reading(false)], now).unwrap();
        assert!(
            failed.starts_with("the watch `GET http://127.0.0.1:1/health` failed 2 times in a row"),
            "{failed}"
        );
        assert!(failed.ends_with("threshold: expects 2xx"), "{failed}");
        assert_eq!(
            observed(&parked),
            vec![(
                "watches".to_string(),
                "GET http://127.0.0.1:1/health = 503 (bad 2/2)".to_string()
            )]
        );
    }
}

//! A `bake` visited (SPEC §4.3): each visit checks each watch once, counting bad checks
//! in a row across visits; a watch that reaches its `failures` fails the bake (and the
//! run rolls back); once the time has passed, preflight runs and the run goes on;
//! otherwise the run parks (`baking`, until its end), or `--wait` visits again every
//! `interval`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::park::{Gate, VisitClock};
use super::run::Engine;
use super::state::{Check, Parked, RunState, RunStatus, WatchValue};
use crate::error::Error;
use crate::event::{EventKind, Outcome, StepStatus};
use crate::plan::{BakeSpec, Section, Step};
use crate::steps::watch::{self, Reading};

impl Engine {
    /// Visits the bake `step`: checks its watches, then parks, fails, or goes on.
    /// `parked_here`: the run was parked here (this invocation has not run preflight): a
    /// bake over at the first check returns [`Gate::Ready`].
    pub(super) async fn bake(
        &self,
        state: &mut RunState,
        step: &Step,
        spec: &BakeSpec,
        (index, total): (usize, usize),
        parked_here: bool,
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
                let said = format!(
                    "baked {} (since {}); every watch passed",
                    humantime::format_duration(spec.duration),
                    parked.since.format("%Y-%m-%d %H:%M:%SZ")
                );
                if parked_here && !waited {
                    // The caller runs preflight, then records the bake (SPEC §4.3).
                    let since = parked.since;
                    state.parked = Some(parked);
                    state.status = RunStatus::Baking;
                    self.save(state)?;
                    return Ok(Gate::Ready {
                        since,
                        said,
                        observed,
                    });
                }
                if waited {
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
                self.say(step, said);
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

//! `soak`: a wait that sleeps until exact instants (no busy loop), reporting progress
//! once a second. With a `watch`, it probes on its own schedule beside the wait and
//! fails early after `failures` failed probes in a row; a probe in flight never
//! delays the end of the wait.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::probe::{self, ProbeResult};
use super::{Effect, StepEnv, StepError};
use crate::event::EventKind;
use crate::plan::{WatchSpec, limits};

const TICK: Duration = Duration::from_secs(1);

/// The watch's state: the probe in flight, when the next one starts, the streak.
struct Watcher<'a> {
    spec: &'a WatchSpec,
    in_flight: Option<JoinHandle<ProbeResult>>,
    next: Instant,
    failed_in_a_row: u32,
    recent: Vec<String>,
    last: Option<String>,
}

pub async fn execute(
    env: &StepEnv<'_>,
    duration: Duration,
    watch: Option<&WatchSpec>,
) -> Result<Effect, StepError> {
    let start = Instant::now();
    let end = start + duration;
    let mut next_tick = start + TICK;
    let mut watcher = watch.map(|spec| Watcher {
        spec,
        in_flight: None,
        next: start,
        failed_in_a_row: 0,
        recent: Vec::new(),
        last: None,
    });
    loop {
        if let Some(w) = watcher.as_mut()
            && w.in_flight.is_none()
            && Instant::now() >= w.next
        {
            let (spec, redactor) = (w.spec.probe.clone(), env.plan.redactor.clone());
            w.in_flight = Some(tokio::spawn(probe::probe(spec, redactor)));
            // Spaced from the start of each probe, so a slow one never causes a burst.
            w.next = Instant::now() + limits::capped(w.spec.interval);
        }
        let probe_at = watcher
            .as_ref()
            .filter(|w| w.in_flight.is_none())
            .map(|w| w.next);
        let wake = [Some(next_tick), Some(end), probe_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
        tokio::select! {
            _ = sleep_until(wake) => {}
            _ = env.interrupt.wait() => {
                abort(&mut watcher);
                return Err(StepError::Interrupted);
            }
            joined = in_flight(&mut watcher) => {
                if let Some(w) = watcher.as_mut() {
                    w.in_flight = None;
                    if let Some(err) = w.record(env, joined, start, duration) {
                        return Err(err);
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= end {
            abort(&mut watcher);
            return Ok(Effect::Continue);
        }
        if now >= env.deadline {
            abort(&mut watcher);
            return Err(StepError::TimedOut {
                after: env.step.timeout,
                tail: Vec::new(),
            });
        }
        if now >= next_tick {
            let elapsed = now - start;
            let last = watcher
                .as_ref()
                .and_then(|w| w.last.as_ref())
                .map(|l| format!("; watch: {l}"))
                .unwrap_or_default();
            (env.emit)(EventKind::StepProgress {
                section: env.step.section,
                step: env.step.name.clone(),
                elapsed_ms: elapsed.as_millis() as u64,
                total_ms: duration.as_millis() as u64,
                message: format!(
                    "soaking, {} left{last}",
                    humantime::format_duration(round_secs(duration.saturating_sub(elapsed)))
                ),
                tally: None,
            });
            while next_tick <= now {
                next_tick += TICK;
            }
        }
    }
}

impl Watcher<'_> {
    /// Takes in a finished probe; the step's error once the watch has failed.
    fn record(
        &mut self,
        env: &StepEnv<'_>,
        joined: Result<ProbeResult, tokio::task::JoinError>,
        start: Instant,
        duration: Duration,
    ) -> Option<StepError> {
        let result = joined.unwrap_or_else(|err| ProbeResult {
            ok: false,
            latency: None,
            line: format!("the probe stopped unexpectedly: {err}"),
        });
        env.say(result.line.clone());
        self.last = Some(result.line.rsplit(" → ").next().unwrap_or("").to_string());
        self.recent.push(result.line.clone());
        if self.recent.len() > 12 {
            self.recent.remove(0);
        }
        if result.ok {
            self.failed_in_a_row = 0;
            return None;
        }
        self.failed_in_a_row += 1;
        if self.failed_in_a_row < self.spec.failures {
            return None;
        }
        Some(StepError::Failed {
            message: format!(
                "the watch failed {} times in a row, {} into the {} soak; last: {}",
                self.failed_in_a_row,
                humantime::format_duration(round_secs(start.elapsed())),
                humantime::format_duration(duration),
                result.line
            ),
            tail: std::mem::take(&mut self.recent),
        })
    }
}

/// The probe in flight, or never.
async fn in_flight(
    watcher: &mut Option<Watcher<'_>>,
) -> Result<ProbeResult, tokio::task::JoinError> {
    match watcher.as_mut().and_then(|w| w.in_flight.as_mut()) {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

fn abort(watcher: &mut Option<Watcher<'_>>) {
    if let Some(handle) = watcher.as_mut().and_then(|w| w.in_flight.take()) {
        handle.abort();
    }
}

pub fn describe(duration: Duration, watch: Option<&WatchSpec>) -> String {
    let mut text = format!("wait {}", humantime::format_duration(duration));
    if let Some(w) = watch {
        text.push_str(&format!(
            ", watching {} {} every {} (fails after {} failed in a row)",
            w.probe.method,
            w.probe.url.shown(),
            humantime::format_duration(w.interval),
            w.failures
        ));
    }
    text
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_millis() >= 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_uses_humantime() {
        assert_eq!(describe(Duration::from_secs(90), None), "wait 1m 30s");
    }

    #[test]
    fn remaining_time_is_rounded_to_whole_seconds() {
        assert_eq!(
            round_secs(Duration::from_millis(2600)),
            Duration::from_secs(3)
        );
        assert_eq!(
            round_secs(Duration::from_millis(2400)),
            Duration::from_secs(2)
        );
    }
}

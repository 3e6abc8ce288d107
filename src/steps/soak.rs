//! `soak`: a wait that sleeps until exact instants (no busy loop), reporting progress
//! once a second. Each watch is checked on its own schedule beside the wait; the first
//! to fail (`failures` bad checks in a row) fails the step, naming itself, its last
//! observation and its threshold. A check in flight never delays the end of the wait.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::watch::{self, Reading};
use super::{Effect, StepEnv, StepError};
use crate::event::EventKind;
use crate::plan::{WatchSpec, limits};

const TICK: Duration = Duration::from_secs(1);

/// The watch's state: the probe in flight, when the next one starts, the streak.
struct Watcher<'a> {
    spec: &'a WatchSpec,
    in_flight: Option<JoinHandle<Reading>>,
    next: Instant,
    failed_in_a_row: u32,
    recent: Vec<String>,
    last: Option<String>,
}

pub async fn execute(
    env: &StepEnv<'_>,
    duration: Duration,
    watches: &[WatchSpec],
) -> Result<Effect, StepError> {
    let start = Instant::now();
    let end = start + duration;
    let mut next_tick = start + TICK;
    let mut watchers: Vec<Watcher<'_>> = watches
        .iter()
        .map(|spec| Watcher {
            spec,
            in_flight: None,
            next: start,
            failed_in_a_row: 0,
            recent: Vec::new(),
            last: None,
        })
        .collect();
    loop {
        for w in watchers.iter_mut() {
            if w.in_flight.is_none() && Instant::now() >= w.next {
                let (spec, redactor) = (w.spec.clone(), env.plan.redactor.clone());
                w.in_flight = Some(tokio::spawn(watch::check(spec, redactor)));
                // Spaced from the start of each check, so a slow one never causes a burst.
                w.next = Instant::now() + limits::capped(w.spec.interval);
            }
        }
        let probe_at = watchers
            .iter()
            .filter(|w| w.in_flight.is_none())
            .map(|w| w.next)
            .min();
        let wake = [Some(next_tick), Some(end), probe_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
        tokio::select! {
            _ = sleep_until(wake) => {}
            _ = env.interrupt.wait() => {
                abort(&mut watchers);
                return Err(StepError::Interrupted);
            }
            (i, joined) = in_flight(&mut watchers) => {
                if let Some(w) = watchers.get_mut(i) {
                    w.in_flight = None;
                    if let Some(err) = w.record(env, joined, start, duration, watches.len() > 1) {
                        abort(&mut watchers);
                        return Err(err);
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= end {
            abort(&mut watchers);
            return Ok(Effect::Continue);
        }
        if now >= env.deadline {
            abort(&mut watchers);
            return Err(StepError::TimedOut {
                after: env.step.timeout,
                tail: Vec::new(),
            });
        }
        if now >= next_tick {
            let elapsed = now - start;
            let seen: Vec<String> = watchers.iter().filter_map(|w| w.last.clone()).collect();
            let last = if seen.is_empty() {
                String::new()
            } else {
                format!("; watch: {}", seen.join(", "))
            };
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
    /// Takes in a finished check; the step's error once the watch has failed.
    fn record(
        &mut self,
        env: &StepEnv<'_>,
        joined: Result<Reading, tokio::task::JoinError>,
        start: Instant,
        duration: Duration,
        several: bool,
    ) -> Option<StepError> {
        let result = joined.unwrap_or_else(|err| Reading {
            ok: false,
            value: "error".to_string(),
            line: format!("the check stopped unexpectedly: {err}"),
            rejected: false,
        });
        env.say(result.line.clone());
        self.last = Some(if several {
            format!("{} {}", self.spec.name(), result.value)
        } else {
            result.line.rsplit(" → ").next().unwrap_or("").to_string()
        });
        self.recent.push(result.line.clone());
        if self.recent.len() > 12 {
            self.recent.remove(0);
        }
        if result.ok {
            self.failed_in_a_row = 0;
            return None;
        }
        self.failed_in_a_row += 1;
        if self.failed_in_a_row < self.spec.failures && !result.rejected {
            return None;
        }
        Some(StepError::Failed {
            message: format!(
                "the watch `{}` failed {} in a row, {} into the {} soak; last: {} (threshold: {})",
                self.spec.name(),
                times(self.failed_in_a_row),
                humantime::format_duration(round_secs(start.elapsed())),
                humantime::format_duration(duration),
                result.line,
                self.spec.threshold()
            ),
            tail: std::mem::take(&mut self.recent),
        })
    }
}

/// The first check in flight to finish (its watch's index), or never.
async fn in_flight(
    watchers: &mut [Watcher<'_>],
) -> (usize, Result<Reading, tokio::task::JoinError>) {
    use std::future::Future;
    use std::task::Poll;
    std::future::poll_fn(|cx| {
        for (i, w) in watchers.iter_mut().enumerate() {
            if let Some(handle) = w.in_flight.as_mut()
                && let Poll::Ready(result) = std::pin::Pin::new(handle).poll(cx)
            {
                return Poll::Ready((i, result));
            }
        }
        Poll::Pending
    })
    .await
}

fn abort(watchers: &mut [Watcher<'_>]) {
    for w in watchers.iter_mut() {
        if let Some(handle) = w.in_flight.take() {
            handle.abort();
        }
    }
}

pub fn describe(duration: Duration, watches: &[WatchSpec]) -> String {
    format!(
        "wait {}{}",
        humantime::format_duration(duration),
        describe_watches(watches)
    )
}

/// ", watching GET https://app/health every 15s (fails after 3 failed in a row)".
pub fn describe_watches(watches: &[WatchSpec]) -> String {
    let each: Vec<String> = watches
        .iter()
        .map(|w| {
            let bounds = match &w.check {
                crate::plan::WatchCheck::Http(_) => String::new(),
                crate::plan::WatchCheck::Prometheus(_) => format!(" ({})", w.threshold()),
            };
            format!(
                "{}{bounds} every {} (fails after {} failed in a row)",
                w.name(),
                humantime::format_duration(w.interval),
                w.failures
            )
        })
        .collect();
    if each.is_empty() {
        String::new()
    } else {
        format!(", watching {}", each.join("; "))
    }
}

/// "1 time", "3 times".
pub fn times(n: u32) -> String {
    if n == 1 {
        "1 time".to_string()
    } else {
        format!("{n} times")
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_millis() >= 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_uses_humantime() {
        assert_eq!(describe(Duration::from_secs(90), &[]), "wait 1m 30s");
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

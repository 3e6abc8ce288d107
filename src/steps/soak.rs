//! `soak`: a plain wait. It sleeps until an exact instant (no busy loop), reporting
//! progress once a second so renderers can draw a bar or print a line now and then.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{Effect, StepEnv, StepError};
use crate::engine::event::EventKind;

const TICK: Duration = Duration::from_secs(1);

pub async fn execute(env: &StepEnv<'_>, duration: Duration) -> Result<Effect, StepError> {
    let start = Instant::now();
    let end = start + duration;
    let mut next_tick = start + TICK;
    loop {
        let wake = next_tick.min(end);
        tokio::select! {
            _ = sleep_until(wake) => {}
            _ = env.interrupt.wait() => return Err(StepError::Interrupted),
        }
        let now = Instant::now();
        if now >= end {
            return Ok(Effect::Continue);
        }
        if now >= env.deadline {
            return Err(StepError::TimedOut {
                after: env.step.timeout,
                tail: Vec::new(),
            });
        }
        let elapsed = now - start;
        (env.emit)(EventKind::StepProgress {
            section: env.step.section,
            step: env.step.name.clone(),
            elapsed_ms: elapsed.as_millis() as u64,
            total_ms: duration.as_millis() as u64,
            message: format!(
                "soaking, {} left",
                humantime::format_duration(round_secs(duration.saturating_sub(elapsed)))
            ),
        });
        next_tick += TICK;
    }
}

pub fn describe(duration: Duration) -> String {
    format!("wait {}", humantime::format_duration(duration))
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_millis() >= 500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_uses_humantime() {
        assert_eq!(describe(Duration::from_secs(90)), "wait 1m 30s");
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

//! `metrics`: a Prometheus instant query (see `prometheus.rs`), sampled `count` times,
//! `interval` apart. Each sample is judged by its worst series; an empty result by
//! `no_data`; a NaN never passes. More than `failure_limit` failed samples fail the
//! step, and a query Prometheus rejects (a PromQL error) fails it at once.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::prometheus::{self, Series, Verdict, describe_bounds};
use super::{Effect, StepEnv, StepError};
use crate::event::{EventKind, Tally};
use crate::plan::MetricsSpec;

/// The longest one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn execute(env: &StepEnv<'_>, spec: &MetricsSpec) -> Result<Effect, StepError> {
    let start = Instant::now();
    let total = spec.interval * spec.count.saturating_sub(1);
    let mut failures = 0u32;
    let mut history = Vec::new();
    let mut worst: Option<Series> = None;
    for i in 0..spec.count {
        if i > 0 {
            tokio::select! {
                _ = sleep_until(start + spec.interval * i) => {}
                _ = env.interrupt.wait() => return Err(StepError::Interrupted),
            }
        }
        let timeout = QUERY_TIMEOUT.min(env.remaining());
        if timeout.is_zero() {
            return Err(StepError::TimedOut {
                after: env.step.timeout,
                tail: history,
            });
        }
        let seen = tokio::select! {
            seen = prometheus::evaluate(&spec.check, timeout, &env.plan.redactor) => seen,
            _ = env.interrupt.wait() => return Err(StepError::Interrupted),
        };
        if let Some(series) = &seen.worst {
            worst = Some(worse(worst, series.clone(), spec));
        }
        // SPEC §4.4: the log line carries the worst value seen so far.
        if let Some(w) = &worst {
            env.observe("value", super::watch::format_value(w.value));
        }
        let n = format!("sample {}/{}", i + 1, spec.count);
        let line = if seen.passed() {
            format!("{n}: {} — ok", seen.line)
        } else {
            format!("{n}: FAILED: {}", seen.line)
        };
        env.say(line.clone());
        history.push(line.clone());
        if seen.verdict == Verdict::Rejected {
            return Err(StepError::Failed {
                message: format!(
                    "{line} (Prometheus rejects the query itself: fix it in the runbook; later samples cannot pass)"
                ),
                tail: history,
            });
        }
        if !seen.passed() {
            failures += 1;
            if failures > spec.failure_limit {
                return Err(StepError::Failed {
                    message: format!("{line} ({failures} failed, {} allowed)", spec.failure_limit),
                    tail: history,
                });
            }
        }
        (env.emit)(EventKind::StepProgress {
            section: env.step.section,
            step: env.step.name.clone(),
            elapsed_ms: start.elapsed().as_millis() as u64,
            total_ms: total.as_millis() as u64,
            message: line,
            tally: Some(Tally {
                done: i + 1,
                needed: spec.count,
            }),
        });
    }
    if let Some(worst) = worst.filter(|_| spec.count > 1) {
        env.say(format!(
            "worst of {} samples: {} = {}",
            spec.count, worst.labels, worst.value
        ));
    }
    Ok(Effect::Continue)
}

/// The worse of two observations across samples, by the same rule as within one.
fn worse(so_far: Option<Series>, new: Series, spec: &MetricsSpec) -> Series {
    let Some(old) = so_far else {
        return new;
    };
    let both = [old, new];
    prometheus::worst(&both, spec.check.min, spec.check.max)
        .cloned()
        .unwrap_or_else(|| both[1].clone())
}

pub fn describe(spec: &MetricsSpec) -> String {
    let check = &spec.check;
    let mut text = format!(
        "{} at {} must be {}",
        check.query.shown(),
        check.prometheus.shown(),
        describe_bounds(check.min, check.max)
    );
    if spec.count > 1 {
        text.push_str(&format!(
            ", {} samples {} apart",
            spec.count,
            humantime::format_duration(spec.interval)
        ));
    }
    if spec.failure_limit > 0 {
        text.push_str(&format!(", {} may fail", spec.failure_limit));
    }
    if check.no_data == crate::plan::NoData::Pass {
        text.push_str(", no data passes");
    }
    if !check.headers.is_empty() {
        let names: Vec<&str> = check
            .headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        text.push_str(&format!(" (headers: {})", names.join(", ")));
    }
    text
}

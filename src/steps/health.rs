//! `health`: polls every URL concurrently, once per `interval`, until `successes`
//! rounds in a row pass, within `within`; then holds the answered probes' p95 latency
//! to its budget. A failure says what the last probes saw.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::probe::{self, ProbeResult, millis, percentile};
use super::{Effect, StepEnv, StepError};
use crate::event::{EventKind, Tally};
use crate::plan::{HealthSpec, ProbeSpec, Redactor, limits};

/// How many probe lines a failure keeps.
const HISTORY: usize = 12;

pub async fn execute(env: &StepEnv<'_>, spec: &HealthSpec) -> Result<Effect, StepError> {
    let start = Instant::now();
    // `within` is the health check's own deadline; the step's timeout may be shorter.
    let (until, limit) = if start + limits::capped(spec.within) <= env.deadline {
        (start + spec.within, spec.within)
    } else {
        (env.deadline, env.step.timeout)
    };
    let mut streak = 0u32;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut history: VecDeque<String> = VecDeque::new();
    let mut last_round: Vec<ProbeResult> = Vec::new();
    loop {
        let round_start = Instant::now();
        let round = tokio::select! {
            round = run_round(&spec.probes, &env.plan.redactor) => round,
            _ = env.interrupt.wait() => return Err(StepError::Interrupted),
            _ = sleep_until(until) => break,
        };
        // SPEC §4.4: the log line carries the last status seen and the p95 so far.
        if let Some(status) = round.iter().rev().find_map(|r| last_status(&r.line)) {
            env.observe("status", status);
        }
        if let Some(p95) = super::probe::percentile(
            &latencies
                .iter()
                .chain(round.iter().filter_map(|r| r.latency.as_ref()))
                .copied()
                .collect::<Vec<_>>(),
            95.0,
        ) {
            env.observe("p95", millis(p95));
        }
        for result in &round {
            env.say(&result.line);
            latencies.extend(result.latency);
            history.push_back(result.line.clone());
            if history.len() > HISTORY {
                history.pop_front();
            }
        }
        streak = if round.iter().all(|r| r.ok) {
            streak + 1
        } else {
            0
        };
        (env.emit)(EventKind::StepProgress {
            section: env.step.section,
            step: env.step.name.clone(),
            elapsed_ms: start.elapsed().as_millis() as u64,
            total_ms: spec.within.as_millis() as u64,
            message: format!(
                "{streak}/{} successes, last: {}",
                spec.successes,
                verdicts(&round)
            ),
            tally: Some(Tally {
                done: streak,
                needed: spec.successes,
            }),
        });
        last_round = round;
        if streak >= spec.successes {
            return judge_latency(spec, &latencies, history);
        }
        let next = round_start + spec.interval;
        if next >= until {
            break;
        }
        tokio::select! {
            _ = sleep_until(next) => {}
            _ = env.interrupt.wait() => return Err(StepError::Interrupted),
        }
    }
    let last: Vec<String> = last_round
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.line.clone())
        .collect();
    let seen = match last.as_slice() {
        [] if last_round.is_empty() => "no probe finished in time".to_string(),
        [] => "the last round passed".to_string(),
        lines => format!("last: {}", lines.join("; ")),
    };
    Err(StepError::Failed {
        message: format!(
            "not healthy within {}: {streak} of {} consecutive successes; {seen}",
            humantime::format_duration(limit),
            spec.successes
        ),
        tail: history.into(),
    })
}

/// The HTTP status of a probe line (`GET … → 200 in 41ms`), if it got an answer.
fn last_status(line: &str) -> Option<String> {
    let after = line.rsplit(" → ").next()?;
    let code = after.split_whitespace().next()?;
    code.parse::<u16>().ok().map(|c| c.to_string())
}

pub fn describe(spec: &HealthSpec) -> String {
    let urls: Vec<String> = spec
        .probes
        .iter()
        .map(|p| format!("{} {}", p.method, p.url.shown()))
        .collect();
    let mut text = format!(
        "poll {} until {} in a row answer {}",
        urls.join(", "),
        spec.successes,
        spec.probes
            .first()
            .map(|p| p.expect_status.describe())
            .unwrap_or_default(),
    );
    if let Some(re) = spec.probes.first().and_then(|p| p.expect_body.as_ref()) {
        text.push_str(&format!(" matching /{}/", re.as_str()));
    }
    text.push_str(&format!(
        ", every {}, within {}",
        humantime::format_duration(spec.interval),
        humantime::format_duration(spec.within)
    ));
    if let Some(budget) = spec.latency_p95 {
        text.push_str(&format!(", p95 ≤ {}", millis(budget)));
    }
    text
}

/// Every probe of a round at once; results in the order of the URLs.
async fn run_round(probes: &[ProbeSpec], redactor: &Redactor) -> Vec<ProbeResult> {
    let mut set = JoinSet::new();
    for (i, spec) in probes.iter().enumerate() {
        let (spec, redactor) = (spec.clone(), redactor.clone());
        set.spawn(async move { (i, probe::probe(spec, redactor).await) });
    }
    let mut results: Vec<(usize, ProbeResult)> = Vec::with_capacity(probes.len());
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(done) => results.push(done),
            Err(err) => results.push((
                usize::MAX,
                ProbeResult {
                    ok: false,
                    latency: None,
                    line: format!("a probe stopped unexpectedly: {err}"),
                },
            )),
        }
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn judge_latency(
    spec: &HealthSpec,
    latencies: &[Duration],
    history: VecDeque<String>,
) -> Result<Effect, StepError> {
    let (Some(budget), Some(p95)) = (spec.latency_p95, percentile(latencies, 95.0)) else {
        return Ok(Effect::Continue);
    };
    if p95 <= budget {
        return Ok(Effect::Continue);
    }
    let max = latencies.iter().max().copied().unwrap_or_default();
    Err(StepError::Failed {
        message: format!(
            "healthy, but too slow: p95 latency {} is over the budget of {} ({} probes, slowest {})",
            millis(p95),
            millis(budget),
            latencies.len(),
            millis(max)
        ),
        tail: history.into(),
    })
}

/// What the last round saw, failures first and never hidden: `404 in 5ms (expected
/// 2xx)`, `connection refused`, or `200 in 3ms` when all passed (one verdict per URL).
fn verdicts(round: &[ProbeResult]) -> String {
    let verdict = |r: &ProbeResult| {
        r.line
            .split_once(" → ")
            .map(|(_, v)| v)
            .unwrap_or(&r.line)
            .to_string()
    };
    let failed: Vec<String> = round.iter().filter(|r| !r.ok).map(verdict).collect();
    if !failed.is_empty() {
        return failed.join("; ");
    }
    round.iter().map(verdict).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ExpectStatus, Text};

    fn spec(budget: Option<u64>) -> HealthSpec {
        HealthSpec {
            probes: vec![ProbeSpec {
                url: Text::plain("http://app/health"),
                method: "GET".into(),
                headers: vec![],
                expect_status: ExpectStatus::Success,
                expect_body: None,
                request_timeout: Duration::from_secs(5),
            }],
            interval: Duration::from_secs(5),
            successes: 3,
            within: Duration::from_secs(120),
            latency_p95: budget.map(Duration::from_millis),
        }
    }

    #[test]
    fn the_progress_line_shows_failed_probes_first() {
        let probe = |ok: bool, line: &str| ProbeResult {
            ok,
            latency: None,
            line: line.to_string(),
        };
        let round = [
            probe(true, "GET http://a/health → 200 in 3ms"),
            probe(false, "GET http://b/health → 404 in 5ms (expected 2xx)"),
        ];
        assert_eq!(verdicts(&round), "404 in 5ms (expected 2xx)");
        assert_eq!(
            verdicts(&[probe(false, "GET http://a/ → connection refused")]),
            "connection refused"
        );
        assert_eq!(verdicts(&round[..1]), "200 in 3ms");
    }

    #[test]
    fn the_latency_budget_is_held_to_the_p95() {
        let samples: Vec<Duration> = [10, 20, 300].map(Duration::from_millis).to_vec();
        assert!(judge_latency(&spec(None), &samples, VecDeque::new()).is_ok());
        assert!(judge_latency(&spec(Some(500)), &samples, VecDeque::new()).is_ok());
        let err = judge_latency(&spec(Some(100)), &samples, VecDeque::new()).unwrap_err();
        assert!(
            err.message()
                .contains("p95 latency 300ms is over the budget of 100ms"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn describe_reads_as_a_sentence() {
        assert_eq!(
            describe(&spec(Some(250))),
            "poll GET http://app/health until 3 in a row answer 2xx, every 5s, within 2m, p95 ≤ 250ms"
        );
    }
}

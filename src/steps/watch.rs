//! One check of one watch (SPEC "Watches"): an HTTP probe or a Prometheus query, told
//! as a short value (`200`, `0.012`, `no data`) and a line that says it all. `soak`
//! checks its watches on their own schedules; a `bake` checks each once per visit.

use std::time::Duration;

use super::probe;
use super::prometheus::{self, Verdict};
use crate::plan::{Redactor, WatchCheck, WatchSpec};

/// A Prometheus query of a watch never takes longer than this.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What one check of a watch saw (masked).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub ok: bool,
    /// The observation in a word or a number: `200`, `503`, `0.012`, `no data`.
    pub value: String,
    /// The whole observation: `GET https://app/health → 200 in 41ms`.
    pub line: String,
    /// Prometheus refused the query itself: asking again cannot help.
    pub rejected: bool,
}

/// Checks `spec` once. Owned arguments, so checks can run as their own tasks.
pub async fn check(spec: WatchSpec, redactor: Redactor) -> Reading {
    match spec.check {
        WatchCheck::Http(probe_spec) => {
            let result = probe::probe(probe_spec, redactor).await;
            let after = result.line.rsplit(" → ").next().unwrap_or("").to_string();
            // "200 in 41ms (…)" → "200"; a transport error is said whole.
            let value = match after.split_whitespace().next() {
                Some(code) if code.parse::<u16>().is_ok() => code.to_string(),
                _ => after.clone(),
            };
            Reading {
                ok: result.ok,
                value,
                line: result.line,
                rejected: false,
            }
        }
        WatchCheck::Prometheus(check) => {
            let seen = prometheus::evaluate(&check, QUERY_TIMEOUT, &redactor).await;
            let value = match &seen.worst {
                Some(series) => format_value(series.value),
                None if seen.line.contains("no data") || seen.line.contains("empty") => {
                    "no data".to_string()
                }
                None => "error".to_string(),
            };
            Reading {
                ok: seen.passed(),
                value,
                line: seen.line,
                rejected: seen.verdict == Verdict::Rejected,
            }
        }
    }
}

/// Checks every watch once, concurrently, in the order given.
pub async fn check_all(watches: &[WatchSpec], redactor: &Redactor) -> Vec<Reading> {
    let handles: Vec<_> = watches
        .iter()
        .map(|w| tokio::spawn(check(w.clone(), redactor.clone())))
        .collect();
    let mut readings = Vec::new();
    for handle in handles {
        readings.push(handle.await.unwrap_or_else(|err| Reading {
            ok: false,
            value: "error".to_string(),
            line: format!("the check stopped unexpectedly: {err}"),
            rejected: false,
        }));
    }
    readings
}

/// A metric value as a person reads it: `0.012`, `3`, `1.5e-7`.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    if text == "0" || text == "-0" {
        format!("{value:e}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_a_person_writes_them() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.0123456), "0.0123");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(1.5e-7), "1.5e-7");
        assert_eq!(format_value(f64::NAN), "NaN");
    }
}

//! One HTTP probe of `health` or `soak`'s watch, judged against its expectations and
//! described in one line: `GET https://app/health → 200 in 41ms`.

use std::time::Duration;

use super::http_client::{self, Request};
use crate::plan::{ProbeSpec, Redactor};

/// How much of a body a failure shows.
const EXCERPT: usize = 120;

/// What one probe saw.
#[derive(Clone, Debug)]
pub struct ProbeResult {
    pub ok: bool,
    /// Set when an answer came back.
    pub latency: Option<Duration>,
    /// `GET https://app/health → 503 in 12ms (expected 2xx); body: "down"`, masked.
    pub line: String,
}

/// Sends one probe. Owned arguments, so probes can run as their own tasks.
pub async fn probe(spec: ProbeSpec, redactor: Redactor) -> ProbeResult {
    let headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.value().to_string()))
        .collect();
    let answer = http_client::send(&Request {
        method: &spec.method,
        url: spec.url.value(),
        headers: &headers,
        json: None,
        timeout: spec.request_timeout,
    })
    .await;
    let head = format!("{} {} →", spec.method, spec.url.shown());
    let (ok, latency, verdict) = match answer {
        Err(reason) => (false, None, reason),
        Ok(answer) => {
            let mut took = format!("{} in {}", answer.status, millis(answer.latency));
            if let Some(note) = &answer.note {
                took.push_str(&format!(" ({note})"));
            }
            let verdict = if !spec.expect_status.accepts(answer.status) {
                Some(format!(
                    "{took} (expected {}); body: {}",
                    spec.expect_status.describe(),
                    excerpt(&answer.body)
                ))
            } else {
                match &spec.expect_body {
                    Some(re) if !re.is_match(&answer.body) => Some(format!(
                        "{took} but the body does not match /{}/; body: {}",
                        re.as_str(),
                        excerpt(&answer.body)
                    )),
                    _ => None,
                }
            };
            match verdict {
                Some(v) => (false, Some(answer.latency), v),
                None => (true, Some(answer.latency), took),
            }
        }
    };
    ProbeResult {
        ok,
        latency,
        line: redactor.redact(&format!("{head} {verdict}")).into_owned(),
    }
}

/// `41ms`, `1.25s`.
pub fn millis(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

/// The start of a body on one line, quoted; `(empty)` for none.
pub fn excerpt(body: &str) -> String {
    let flat: String = body
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.is_empty() {
        return "(empty)".to_string();
    }
    match flat.char_indices().nth(EXCERPT) {
        Some((end, _)) => format!("{:?}…", &flat[..end]),
        None => format!("{flat:?}"),
    }
}

/// The `p`-th percentile (0–100) by nearest rank; `None` for no samples.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(ms).collect();
        assert_eq!(percentile(&samples, 95.0), Some(ms(19)));
        assert_eq!(percentile(&[ms(7)], 95.0), Some(ms(7)));
        assert_eq!(percentile(&[], 95.0), None);
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("  \n"), "(empty)");
        assert_eq!(excerpt("a\nb"), "\"a b\"");
        let long = "x".repeat(500);
        assert!(excerpt(&long).ends_with('…'));
        assert!(excerpt(&long).len() < 130);
    }

    #[test]
    fn latencies_read_naturally() {
        assert_eq!(millis(ms(41)), "41ms");
        assert_eq!(millis(ms(1250)), "1.25s");
    }
}

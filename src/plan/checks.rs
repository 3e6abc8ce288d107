//! The validated fields of the steps that decide: health, soak's watch, metrics,
//! window, approval, git and notify. Only `runbook::load` builds these.

use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Weekday};
use regex::Regex;

use super::Text;

/// Which HTTP statuses count as healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectStatus {
    /// Any 2xx (the default).
    Success,
    /// One of these.
    Codes(Vec<u16>),
}

impl ExpectStatus {
    /// Whether an HTTP `status` counts as success.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            ExpectStatus::Success => (200..300).contains(&status),
            ExpectStatus::Codes(codes) => codes.contains(&status),
        }
    }

    /// "2xx", "200", "200 or 204".
    pub fn describe(&self) -> String {
        match self {
            ExpectStatus::Success => "2xx".to_string(),
            ExpectStatus::Codes(codes) => codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

/// One HTTP request a check makes, and what makes its answer good.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    pub url: Text,
    /// Upper case: `GET`, `HEAD`, …
    pub method: String,
    /// Values may carry secrets.
    pub headers: Vec<(String, Text)>,
    pub expect_status: ExpectStatus,
    /// Templates inside were substituted regex-escaped.
    pub expect_body: Option<Regex>,
    pub request_timeout: Duration,
}

/// `health`: polls until `successes` rounds in a row pass, within `within`.
#[derive(Clone, Debug)]
pub struct HealthSpec {
    /// One probe per URL, polled concurrently each round.
    pub probes: Vec<ProbeSpec>,
    pub interval: Duration,
    pub successes: u32,
    pub within: Duration,
    /// A budget for the 95th percentile latency of the answered probes.
    pub latency_p95: Option<Duration>,
}

/// One watch of a `soak` or `bake`: checked every `interval`; `failures` bad checks in
/// a row fail it (and the step).
#[derive(Clone, Debug)]
pub struct WatchSpec {
    pub check: WatchCheck,
    pub interval: Duration,
    pub failures: u32,
}

/// What a watch checks: an HTTP probe, or a Prometheus query against its bounds.
#[derive(Clone, Debug)]
pub enum WatchCheck {
    Http(ProbeSpec),
    Prometheus(PromCheck),
}

impl WatchSpec {
    /// How messages, the log and `status` name the watch: its URL or its query (masked).
    pub fn name(&self) -> String {
        match &self.check {
            WatchCheck::Http(probe) => format!("{} {}", probe.method, probe.url.shown()),
            WatchCheck::Prometheus(check) => check.query.shown().to_string(),
        }
    }

    /// What makes it fail, in words: "expects 2xx", "max 0.05".
    pub fn threshold(&self) -> String {
        match &self.check {
            WatchCheck::Http(probe) => {
                let mut text = format!("expects {}", probe.expect_status.describe());
                if let Some(re) = &probe.expect_body {
                    text.push_str(&format!(" and a body matching /{}/", re.as_str()));
                }
                text
            }
            WatchCheck::Prometheus(check) => {
                let mut parts = Vec::new();
                if let Some(min) = check.min {
                    parts.push(format!("min {min}"));
                }
                if let Some(max) = check.max {
                    parts.push(format!("max {max}"));
                }
                if check.no_data == NoData::Pass {
                    parts.push("no data passes".to_string());
                }
                parts.join(", ")
            }
        }
    }
}

/// What an empty Prometheus result (no series at all) means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoData {
    /// The default: nothing measured is not evidence of health.
    #[default]
    Fail,
    /// For queries that are empty when all is well (e.g. only failing series exist).
    Pass,
}

impl NoData {
    /// `fail` or `pass`, as written in a runbook.
    pub fn as_str(self) -> &'static str {
        match self {
            NoData::Fail => "fail",
            NoData::Pass => "pass",
        }
    }
}

/// One Prometheus instant query and its bounds: what a `metrics` step samples, and
/// what a Prometheus watch checks.
#[derive(Clone, Debug)]
pub struct PromCheck {
    /// The base URL, e.g. `http://prometheus:9090`.
    pub prometheus: Text,
    pub query: Text,
    /// Sent with every query (e.g. a bearer token); values may carry secrets.
    pub headers: Vec<(String, Text)>,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub no_data: NoData,
}

/// `metrics`: a Prometheus instant query sampled `count` times.
#[derive(Clone, Debug)]
pub struct MetricsSpec {
    pub check: PromCheck,
    pub interval: Duration,
    pub count: u32,
    /// Failed samples tolerated.
    pub failure_limit: u32,
}

/// `window`: weekdays and hours in a time zone, minus freezes.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    /// Empty: every day.
    pub days: Vec<Weekday>,
    pub from: NaiveTime,
    /// `None`: until the end of the day.
    pub to: Option<NaiveTime>,
    pub tz: chrono_tz::Tz,
    /// Inclusive date ranges, in `tz`.
    pub freeze: Vec<(NaiveDate, NaiveDate)>,
}

/// `git`: working-tree checks.
#[derive(Clone, Debug, Default)]
pub struct GitSpec {
    pub clean: bool,
    pub branch: Option<Text>,
    /// A `git tag --list` glob that a tag on HEAD must match.
    pub tag_pattern: Option<Text>,
}

/// `notify`: one POST of `{"text": message}`.
#[derive(Clone, Debug)]
pub struct NotifySpec {
    /// Often carries a token: shown only in its masked form.
    pub webhook: Text,
    pub message: Text,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_status_defaults_to_any_2xx() {
        assert!(ExpectStatus::Success.accepts(204));
        assert!(!ExpectStatus::Success.accepts(301));
        let codes = ExpectStatus::Codes(vec![200, 401]);
        assert!(codes.accepts(401));
        assert_eq!(codes.describe(), "200 or 401");
    }
}

//! The fields of `metrics`, `approval`, `git` and `notify` steps. (`health` and
//! `soak`'s watch are in `probe_fields.rs`; `window` in `window_fields.rs`.)

use std::time::Duration;

use toml::de::DeValue;

use crate::plan::{GitSpec, MetricsSpec, NoData, NotifySpec, PromCheck, Text};

use super::build::Build;
use super::probe_fields::{count, headers, url};
use super::table::{Table, Wait};

pub(crate) const METRICS_FIELDS: &[&str] = &[
    "prometheus",
    "query",
    "max",
    "min",
    "interval",
    "count",
    "failure_limit",
    "headers",
    "no_data",
];
pub(crate) const APPROVAL_FIELDS: &[&str] = &["from", "role"];
pub(crate) const GIT_FIELDS: &[&str] = &["clean", "branch", "tag_pattern"];
pub(crate) const NOTIFY_FIELDS: &[&str] = &["webhook", "message"];

pub(crate) fn metrics(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<MetricsSpec> {
    let interval = t.duration("interval", Wait::Positive, &mut b.diagnostics);
    let count = count(t, "count", 1, 1, b);
    let failure_limit = count_zero_ok(t, "failure_limit", b);
    let check = prom_check(t, b, |what| {
        format!("{what} has neither `max` nor `min`: add e.g. max = 0.01")
    });
    if t.contains("interval") && interval.is_none() {
        return None;
    }
    let (check, count, failure_limit) = (check?, count?, failure_limit?);
    if failure_limit >= count {
        let span = t.get("failure_limit").map(|v| v.span()).unwrap_or(t.span());
        b.diagnostics.push(t.error(
            span,
            format!("`failure_limit` ({failure_limit}) must be less than `count` ({count}), or the check could never fail"),
        ));
        return None;
    }
    Some(MetricsSpec {
        check,
        interval: interval.unwrap_or(Duration::from_secs(60)),
        count,
        failure_limit,
    })
}

/// A Prometheus query and its thresholds, as a `metrics` step and a Prometheus watch
/// both write it: `prometheus`, `query`, `max`/`min` (at least one, `min` ≤ `max`),
/// `headers`, `no_data`. `missing` words the error for a check with no threshold.
pub(crate) fn prom_check(
    t: &Table<'_, '_>,
    b: &mut Build<'_>,
    missing: impl FnOnce(&str) -> String,
) -> Option<PromCheck> {
    let prometheus = url(t, "prometheus", b);
    let query = t
        .required_string(
            "query",
            "\"sum(rate(http_requests_total{code=~\\\"5..\\\"}[5m])) / sum(rate(http_requests_total[5m]))\"",
            &mut b.diagnostics,
        )
        .and_then(|s| b.text(&s));
    let max = number(t, "max", b);
    let min = number(t, "min", b);
    let headers = headers(t, b);
    let no_data = no_data(t, b);
    let (max, min) = (max?, min?);
    if max.is_none() && min.is_none() {
        b.diagnostics.push(t.error(t.span(), missing(t.what())));
        return None;
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        let span = t.get("min").map(|v| v.span()).unwrap_or(t.span());
        b.diagnostics.push(t.error(
            span,
            format!("`min` ({lo}) is above `max` ({hi}): no value could pass"),
        ));
        return None;
    }
    Some(PromCheck {
        prometheus: prometheus?,
        query: query?,
        headers: headers?,
        max,
        min,
        no_data: no_data?,
    })
}

/// `from` (a hint of who may approve) and `role` (who must: `--approved-by ROLE=NAME`).
pub(crate) fn approval(
    t: &Table<'_, '_>,
    b: &mut Build<'_>,
) -> Option<(Option<Text>, Option<String>)> {
    let from = match t.string("from", &mut b.diagnostics) {
        Some(s) => b.text(&s).map(Some),
        None if t.contains("from") => None,
        None => Some(None),
    };
    let role = match t.string("role", &mut b.diagnostics) {
        Some(s) if valid_role(s.text) => Some(Some(s.text.to_string())),
        Some(s) => {
            b.diagnostics.push(
                t.error(
                    s.span.clone(),
                    format!(
                        "`role` must be a word of letters, digits, `-` or `_`, not {:?}",
                        s.text
                    ),
                )
                .with_help(Some("e.g. role = \"manager\"".into())),
            );
            None
        }
        None if t.contains("role") => None,
        None => Some(None),
    };
    Some((from?, role?))
}

pub(crate) fn git(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<GitSpec> {
    let clean = t.bool("clean", &mut b.diagnostics);
    let optional = |key: &str, b: &mut Build<'_>| match t.string(key, &mut b.diagnostics) {
        Some(s) if s.text.trim().is_empty() => {
            b.diagnostics
                .push(t.error(s.span.clone(), format!("`{key}` is empty")));
            None
        }
        Some(s) => b.text(&s).map(Some),
        None if t.contains(key) => None,
        None => Some(None),
    };
    let branch = optional("branch", b);
    let tag_pattern = optional("tag_pattern", b);
    if t.contains("clean") && clean.is_none() {
        return None;
    }
    let spec = GitSpec {
        clean: clean.unwrap_or(false),
        branch: branch?,
        tag_pattern: tag_pattern?,
    };
    if !spec.clean && spec.branch.is_none() && spec.tag_pattern.is_none() {
        b.diagnostics.push(t.error(
            t.span(),
            format!(
                "{} checks nothing: add clean = true, branch = \"main\" or tag_pattern = \"v*\"",
                t.what()
            ),
        ));
        return None;
    }
    Some(spec)
}

pub(crate) fn notify(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<NotifySpec> {
    let webhook = url(t, "webhook", b);
    let message = t
        .required_string(
            "message",
            "\"{{runbook}} is live on {{target}}\"",
            &mut b.diagnostics,
        )
        .and_then(|s| b.text(&s));
    Some(NotifySpec {
        webhook: webhook?,
        message: message?,
    })
}

/// `no_data = "fail" | "pass"`: what an empty result means; `fail` when absent.
pub(crate) fn no_data(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<NoData> {
    let Some(s) = t.string("no_data", &mut b.diagnostics) else {
        return (!t.contains("no_data")).then_some(NoData::Fail);
    };
    match s.text {
        "fail" => Some(NoData::Fail),
        "pass" => Some(NoData::Pass),
        other => {
            b.diagnostics.push(
                t.error(
                    s.span.clone(),
                    format!("`no_data` must be \"fail\" or \"pass\", not {other:?}"),
                )
                .with_help(Some(
                    "\"fail\" (the default): an empty result fails the sample; \"pass\": it passes"
                        .into(),
                )),
            );
            None
        }
    }
}

/// An integer ≥ 0, default 0.
fn count_zero_ok(t: &Table<'_, '_>, key: &str, b: &mut Build<'_>) -> Option<u32> {
    count(t, key, 0, 0, b)
}

/// An integer or a float; `Some(None)` when absent.
pub(crate) fn number(t: &Table<'_, '_>, key: &str, b: &mut Build<'_>) -> Option<Option<f64>> {
    let Some(value) = t.get(key) else {
        return Some(None);
    };
    let n = match value.get_ref() {
        DeValue::Integer(_) => super::table::integer(value).map(|n| n as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => Some(Some(n)),
        _ => {
            b.diagnostics
                .push(t.wrong_type(key, value, "a finite number (e.g. 0.01 or 500)"));
            None
        }
    }
}

/// A role is one word, so `--approved-by ROLE=NAME` can never be read two ways.
fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

//! `watch` of `soak` and `bake` (SPEC "Watches"): one table or an array of tables, each
//! an HTTP watch (`url`, …) or a Prometheus watch (`prometheus`, `query`, bounds, …).

use std::time::Duration;

use toml::de::DeValue;

use crate::plan::{ProbeSpec, WatchCheck, WatchSpec};

use super::build::Build;
use super::checks::prom_check;
use super::probe_fields::{count, probe_template, url};
use super::table::{Table, Wait, article};

/// The keys of an HTTP watch.
pub(crate) const HTTP_FIELDS: &[&str] = &[
    "url",
    "method",
    "headers",
    "expect_status",
    "expect_body",
    "interval",
    "request_timeout",
    "failures",
];

/// The keys of a Prometheus watch.
pub(crate) const PROMETHEUS_FIELDS: &[&str] = &[
    "prometheus",
    "query",
    "max",
    "min",
    "headers",
    "no_data",
    "interval",
    "failures",
];

/// Every key a watch may have, either kind (the schema's `watch`).
pub(crate) const ALL_FIELDS: &[&str] = &[
    "url",
    "method",
    "headers",
    "expect_status",
    "expect_body",
    "request_timeout",
    "prometheus",
    "query",
    "max",
    "min",
    "no_data",
    "interval",
    "failures",
];

/// `watch = { … }` or `watch = [{ … }, { … }]`; empty when absent.
pub(crate) fn watches(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<WatchSpec>> {
    let Some(value) = t.get("watch") else {
        return Some(Vec::new());
    };
    let items: Vec<_> = match value.get_ref() {
        DeValue::Table(_) => vec![value],
        DeValue::Array(items) if !items.is_empty() => items.iter().collect(),
        DeValue::Array(_) => {
            b.diagnostics.push(t.error(
                value.span(),
                "`watch` is an empty list: give at least one watch, or leave `watch` out",
            ));
            return None;
        }
        other => {
            b.diagnostics.push(
                t.error(
                    value.span(),
                    format!(
                        "`watch` must be a table or an array of tables, not {}",
                        article(other.type_str())
                    ),
                )
                .with_help(Some(
                    "e.g. watch = { url = \"https://app.example.com/health\" }".into(),
                )),
            );
            return None;
        }
    };
    let many = items.len() > 1;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.into_iter().enumerate() {
        let what = if many {
            format!("`watch` #{} of {}", i + 1, t.what())
        } else {
            format!("`watch` of {}", t.what())
        };
        let DeValue::Table(inner) = item.get_ref() else {
            b.diagnostics.push(t.error(
                item.span(),
                format!(
                    "{what} must be a table, not {}",
                    article(item.get_ref().type_str())
                ),
            ));
            ok = false;
            continue;
        };
        let w = Table::new(t.source, inner, item.span(), what);
        match one(&w, b) {
            Some(watch) => out.push(watch),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn one(w: &Table<'_, '_>, b: &mut Build<'_>) -> Option<WatchSpec> {
    let prometheus = w.contains("query") || w.contains("prometheus");
    if !prometheus && !w.contains("url") {
        b.diagnostics.push(
            w.error(
                w.span(),
                format!(
                    "{} has neither `url` nor `query`: say what it watches",
                    w.what()
                ),
            )
            .with_help(Some(
                "an HTTP watch: url = \"https://app.example.com/health\"; a Prometheus watch: prometheus = \"http://prometheus:9090\", query = \"…\", max = 0.05".into(),
            )),
        );
        return None;
    }
    if prometheus {
        w.reject_unknown(PROMETHEUS_FIELDS, |_| None, &mut b.diagnostics);
    } else {
        w.reject_unknown(HTTP_FIELDS, |_| None, &mut b.diagnostics);
    }
    let interval = b.duration(w, "interval", Wait::Positive);
    if w.contains("interval") && interval.is_none() {
        return None;
    }
    if prometheus {
        let failures = count(w, "failures", 1, 1, b);
        let check = prom_check(w, b, |what| {
            format!(
                "{what} is a Prometheus watch without a threshold: add max = 0.05 (fails above) or min = 1 (fails below)"
            )
        })?;
        return Some(WatchSpec {
            check: WatchCheck::Prometheus(check),
            interval: interval.unwrap_or(Duration::from_secs(60)),
            failures: failures?,
        });
    }
    let failures = count(w, "failures", 3, 1, b);
    let url = url(w, "url", b);
    let template = probe_template(w, b);
    Some(WatchSpec {
        check: WatchCheck::Http(ProbeSpec {
            url: url?,
            ..template?
        }),
        interval: interval.unwrap_or(Duration::from_secs(15)),
        failures: failures?,
    })
}

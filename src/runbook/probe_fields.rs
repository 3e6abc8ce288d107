//! The fields of HTTP checks: `health` steps and `soak`'s `watch` table (`url`,
//! `method`, `headers`, `expect_status`, `expect_body`, `request_timeout`, …), and the
//! small readers other checks share (URLs, counts).

use std::time::Duration;

use regex::Regex;
use reqwest::Url;
use toml::de::DeValue;

use crate::plan::{ExpectStatus, HealthSpec, ProbeSpec, Text};

use super::build::Build;
use super::table::{Str, Table, Wait, article, integer};

pub(crate) const HEALTH_FIELDS: &[&str] = &[
    "url",
    "method",
    "headers",
    "expect_status",
    "expect_body",
    "interval",
    "request_timeout",
    "successes",
    "within",
    "latency_p95",
];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(crate) fn health(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<HealthSpec> {
    // Waits may be templates (SPEC §2), so a runbook is rehearsed with short ones.
    let interval = b.duration(t, "interval", Wait::Positive);
    let within = b.duration(t, "within", Wait::Positive);
    let latency = t.duration("latency_p95", Wait::Positive, &mut b.diagnostics);
    let successes = count(t, "successes", 3, 1, b);
    let urls = urls(t, b);
    let template = probe_template(t, b);
    let (urls, template, successes) = (urls?, template?, successes?);
    let bad = |key| t.contains(key);
    if (bad("interval") && interval.is_none())
        || (bad("within") && within.is_none())
        || (bad("latency_p95") && latency.is_none())
    {
        return None;
    }
    let probes = urls
        .into_iter()
        .map(|url| ProbeSpec {
            url,
            ..template.clone()
        })
        .collect();
    Some(HealthSpec {
        probes,
        interval: interval.unwrap_or(secs(5)),
        successes,
        within: within.unwrap_or(secs(120)),
        latency_p95: latency,
    })
}

/// Everything of a probe but its URL.
pub(crate) fn probe_template(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<ProbeSpec> {
    let method = method(t, b);
    let headers = headers(t, b);
    let expect_status = expect_status(t, b);
    let expect_body = expect_body(t, b);
    let timeout = t.duration("request_timeout", Wait::Positive, &mut b.diagnostics);
    if t.contains("request_timeout") && timeout.is_none() {
        return None;
    }
    Some(ProbeSpec {
        url: Text::default(),
        method: method?,
        headers: headers?,
        expect_status: expect_status?,
        expect_body: expect_body?,
        request_timeout: timeout.unwrap_or(secs(5)),
    })
}

/// `url`: a string or a non-empty list of them.
fn urls(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<Text>> {
    let Some(DeValue::Array(items)) = t.get("url").map(|v| v.get_ref()) else {
        return url(t, "url", b).map(|u| vec![u]);
    };
    if items.is_empty() {
        let span = t.get("url").map(|v| v.span()).unwrap_or(t.span());
        b.diagnostics
            .push(t.error(span, "`url` is an empty list: give at least one URL"));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items.iter() {
        let DeValue::String(text) = item.get_ref() else {
            let found = article(item.get_ref().type_str());
            b.diagnostics.push(t.error(
                item.span(),
                format!("`url` items must be strings, not {found}"),
            ));
            ok = false;
            continue;
        };
        let s = Str {
            text: text.as_ref(),
            span: item.span(),
        };
        match checked_url(t, &s, "url", b) {
            Some(u) => out.push(u),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A required, templated http(s) URL.
pub(crate) fn url(t: &Table<'_, '_>, key: &str, b: &mut Build<'_>) -> Option<Text> {
    let s = t.required_string(
        key,
        "\"https://{{target}}.example.com/health\"",
        &mut b.diagnostics,
    )?;
    checked_url(t, &s, key, b)
}

fn checked_url(t: &Table<'_, '_>, s: &Str<'_>, key: &str, b: &mut Build<'_>) -> Option<Text> {
    let text = b.text(s)?;
    // `show` and `validate` run without secrets: an unset one leaves nothing to check.
    if text.has_secret() && text.value().is_empty() {
        return Some(text);
    }
    let problem = match Url::parse(text.value()) {
        Err(err) => Some(err.to_string()),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            Some(format!("`{}:` is not http or https", url.scheme()))
        }
        Ok(url) if url.host().is_none() => Some("it has no host".to_string()),
        Ok(_) => None,
    };
    match problem {
        None => Some(text),
        Some(why) => {
            let message = format!(
                "`{key}` is not a URL rollout can use: `{}` ({why})",
                text.shown()
            );
            b.diagnostics
                .push(t.error(s.span.clone(), message).with_help(Some(
                    "write it in full, e.g. \"https://app.example.com/health\"".into(),
                )));
            None
        }
    }
}

/// An integer ≥ `min`, or `default`.
pub(crate) fn count(
    t: &Table<'_, '_>,
    key: &str,
    default: u32,
    min: u32,
    b: &mut Build<'_>,
) -> Option<u32> {
    if !t.contains(key) {
        return Some(default);
    }
    let (n, span) = t.integer(key, &mut b.diagnostics)?;
    match u32::try_from(n) {
        Ok(n) if n >= min => Some(n),
        _ => {
            b.diagnostics
                .push(t.error(span, format!("`{key}` must be {min} or more, not {n}")));
            None
        }
    }
}

fn method(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<String> {
    let Some(s) = t.string("method", &mut b.diagnostics) else {
        return (!t.contains("method")).then(|| "GET".to_string());
    };
    let upper = s.text.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Some(upper);
    }
    b.diagnostics.push(t.error(
        s.span.clone(),
        format!(
            "`method` must be one of {}, not `{}`",
            METHODS.join(", "),
            s.text
        ),
    ));
    None
}

/// `headers = { Authorization = "Bearer {{secret.TOKEN}}" }`.
pub(crate) fn headers(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<(String, Text)>> {
    b.text_map(
        t,
        "headers",
        "HTTP header name",
        |name| reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok(),
        |text| {
            text.value()
                .contains(['\r', '\n'])
                .then_some("a header value cannot span lines")
        },
    )
}

/// An HTTP status, or a list of them; any 2xx when absent.
fn expect_status(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<ExpectStatus> {
    let Some(value) = t.get("expect_status") else {
        return Some(ExpectStatus::Success);
    };
    let items: Vec<&toml::Spanned<DeValue<'_>>> = match value.get_ref() {
        DeValue::Array(items) => items.iter().collect(),
        _ => vec![value],
    };
    if items.is_empty() {
        b.diagnostics.push(t.error(
            value.span(),
            "`expect_status` is empty: list the statuses that mean healthy, e.g. [200, 204]",
        ));
        return None;
    }
    let mut codes = Vec::new();
    for item in items {
        match integer(item)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (100..=599).contains(n))
        {
            Some(code) => codes.push(code),
            None => {
                b.diagnostics.push(t.error(
                    item.span(),
                    "`expect_status` must be an HTTP status (100 to 599) or a list of them",
                ));
                return None;
            }
        }
    }
    Some(ExpectStatus::Codes(codes))
}

/// A regex over the body; `{{…}}` inside match their values literally.
fn expect_body(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Option<Regex>> {
    let Some(s) = t.string("expect_body", &mut b.diagnostics) else {
        return (!t.contains("expect_body")).then_some(None);
    };
    let text = b.regex_text(&s)?;
    // The regex is printed as is in `show` and in failures: it cannot hold a secret.
    if text.has_secret() {
        b.diagnostics
            .push(t.error(s.span.clone(), "`expect_body` cannot contain a secret"));
        return None;
    }
    match Regex::new(text.value()) {
        Ok(re) => Some(Some(re)),
        Err(err) => {
            let err = err.to_string();
            let reason = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            b.diagnostics.push(t.error(
                s.span.clone(),
                format!("`expect_body` is not a valid regex: {reason}"),
            ));
            None
        }
    }
}

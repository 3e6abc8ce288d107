//! `metrics`: a Prometheus instant query (`GET {prometheus}/api/v1/query?query=…`),
//! sampled `count` times, `interval` apart. Every series of a vector must be within
//! `min`/`max`; an empty result, a NaN, or an error answer is a failed sample, said
//! plainly. More than `failure_limit` failed samples fail the step.

use std::time::Duration;

use reqwest::Url;
use serde_json::Value;
use tokio::time::{Instant, sleep_until};

use super::http_client::{self, Request};
use super::probe::excerpt;
use super::{Effect, StepEnv, StepError};
use crate::event::{EventKind, Tally};
use crate::plan::MetricsSpec;

/// The longest one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// One series of an answer: its labels as Prometheus prints them, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: String,
    pub value: f64,
}

pub async fn execute(env: &StepEnv<'_>, spec: &MetricsSpec) -> Result<Effect, StepError> {
    let start = Instant::now();
    let total = spec.interval * spec.count.saturating_sub(1);
    let mut failures = 0u32;
    let mut history = Vec::new();
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
        let answer = tokio::select! {
            a = query(spec, timeout) => a,
            _ = env.interrupt.wait() => return Err(StepError::Interrupted),
        };
        let verdict = answer.and_then(|series| judge(&series, spec.min, spec.max));
        let n = format!("sample {}/{}", i + 1, spec.count);
        let line = env
            .plan
            .redactor
            .redact(&match &verdict {
                Ok(values) => format!("{n}: {values} — ok"),
                Err(reason) => format!("{n}: FAILED: {reason}"),
            })
            .into_owned();
        env.say(line.clone());
        history.push(line.clone());
        if verdict.is_err() {
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
    Ok(Effect::Continue)
}

pub fn describe(spec: &MetricsSpec) -> String {
    let mut bounds = Vec::new();
    if let Some(min) = spec.min {
        bounds.push(format!("≥ {min}"));
    }
    if let Some(max) = spec.max {
        bounds.push(format!("≤ {max}"));
    }
    let mut text = format!(
        "{} at {} must be {}",
        spec.query.shown(),
        spec.prometheus.shown(),
        bounds.join(" and ")
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
    text
}

/// The query's URL: the base URL's path with `/api/v1/query` added.
pub fn query_url(prometheus: &str, query: &str) -> Result<Url, String> {
    let mut url = Url::parse(prometheus).map_err(|e| format!("not a valid URL ({e})"))?;
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut().append_pair("query", query);
    Ok(url)
}

async fn query(spec: &MetricsSpec, timeout: Duration) -> Result<Vec<Series>, String> {
    let url = query_url(spec.prometheus.value(), spec.query.value())?;
    let answer = http_client::send(&Request {
        method: "GET",
        url: url.as_str(),
        headers: &[],
        json: None,
        timeout,
    })
    .await
    .map_err(|e| format!("Prometheus did not answer: {e}"))?;
    parse_answer(answer.status, &answer.body)
}

/// The series of a Prometheus answer, or why there are none.
pub fn parse_answer(status: u16, body: &str) -> Result<Vec<Series>, String> {
    let json: Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "Prometheus answered {status} with something that is not its JSON: {}",
            excerpt(body)
        )
    })?;
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let error = json["error"].as_str().unwrap_or("no error message");
        return Err(format!("Prometheus answered {status}: {kind}: {error}"));
    }
    let data = &json["data"];
    let series = match data["resultType"].as_str() {
        Some("vector") => {
            let items = data["result"]
                .as_array()
                .ok_or("the vector has no result")?;
            items
                .iter()
                .map(|item| {
                    Ok(Series {
                        labels: labels(&item["metric"]),
                        value: sample_value(&item["value"])?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?
        }
        Some("scalar") => vec![Series {
            labels: "scalar".to_string(),
            value: sample_value(&data["result"])?,
        }],
        Some(other) => {
            return Err(format!(
                "the query returned a {other}; use an instant vector or a scalar (e.g. wrap a range in rate(…))"
            ));
        }
        None => return Err("Prometheus's answer has no resultType".to_string()),
    };
    if series.is_empty() {
        return Err(
            "the query returned no series (an empty result: a metric or label that does not exist looks like this)"
                .to_string(),
        );
    }
    Ok(series)
}

/// `Ok("error_rate{job=\"web\"} = 0.004")`, or which series is out of bounds.
pub fn judge(series: &[Series], min: Option<f64>, max: Option<f64>) -> Result<String, String> {
    let mut shown = Vec::new();
    for s in series {
        let at = format!("{} = {}", s.labels, s.value);
        if s.value.is_nan() {
            return Err(format!(
                "{} is NaN (not a number: a division by zero?)",
                s.labels
            ));
        }
        if let Some(max) = max
            && s.value > max
        {
            return Err(format!("{at}, over the maximum {max}"));
        }
        if let Some(min) = min
            && s.value < min
        {
            return Err(format!("{at}, under the minimum {min}"));
        }
        shown.push(at);
    }
    Ok(shown.join(", "))
}

/// `[1700000000.123, "0.5"]` → 0.5.
fn sample_value(pair: &Value) -> Result<f64, String> {
    let text = pair
        .get(1)
        .and_then(Value::as_str)
        .ok_or("a sample in Prometheus's answer has no value")?;
    text.parse::<f64>()
        .map_err(|_| format!("`{text}` in Prometheus's answer is not a number"))
}

/// `up{job="web"}`, or `value` for a series without labels.
fn labels(metric: &Value) -> String {
    let Some(map) = metric.as_object() else {
        return "value".to_string();
    };
    let name = map.get("__name__").and_then(Value::as_str).unwrap_or("");
    let pairs: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
        .collect();
    match (name, pairs.is_empty()) {
        ("", true) => "value".to_string(),
        (name, true) => name.to_string(),
        (name, false) => format!("{name}{{{}}}", pairs.join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"job":"web"},"value":[1700000000.1,"0.004"]},
        {"metric":{"job":"api"},"value":[1700000000.1,"0.02"]}]}}"#;

    #[test]
    fn vectors_are_judged_series_by_series() {
        let series = parse_answer(200, GOOD).unwrap();
        assert_eq!(series[0].labels, "{job=\"web\"}");
        assert_eq!(
            judge(&series, None, Some(0.05)).unwrap(),
            "{job=\"web\"} = 0.004, {job=\"api\"} = 0.02"
        );
        let err = judge(&series, None, Some(0.01)).unwrap_err();
        assert_eq!(err, "{job=\"api\"} = 0.02, over the maximum 0.01");
        assert!(
            judge(&series, Some(0.01), None)
                .unwrap_err()
                .contains("under the minimum")
        );
    }

    #[test]
    fn scalars_nan_and_empty_results() {
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse_answer(200, scalar).unwrap()[0].value, 3.0);
        let nan = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
        let series = parse_answer(200, nan).unwrap();
        assert!(judge(&series, None, Some(1.0)).unwrap_err().contains("NaN"));
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_answer(200, empty).unwrap_err().contains("no series"));
        let inf = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#;
        assert!(parse_answer(200, inf).unwrap()[0].value.is_infinite());
    }

    #[test]
    fn errors_and_garbage_are_stated_plainly() {
        let error = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        assert_eq!(
            parse_answer(400, error).unwrap_err(),
            "Prometheus answered 400: bad_data: parse error at char 5"
        );
        assert!(
            parse_answer(502, "<html>bad gateway</html>")
                .unwrap_err()
                .contains("502 with something that is not its JSON")
        );
    }

    #[test]
    fn the_query_is_url_encoded_under_the_base_path() {
        let url = query_url("http://prom:9090/prometheus/", "rate(x[5m]) > 0").unwrap();
        assert_eq!(
            url.as_str(),
            "http://prom:9090/prometheus/api/v1/query?query=rate%28x%5B5m%5D%29+%3E+0"
        );
    }
}

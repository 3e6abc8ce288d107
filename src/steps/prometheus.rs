//! One Prometheus instant query (`GET {prometheus}/api/v1/query?query=…`) judged against
//! its bounds: the unit a `metrics` step samples and a Prometheus watch checks. An
//! observation names the worst series (the one nearest to, or farthest past, a bound) and
//! its value; an empty result is judged by `no_data`; a NaN never passes; a query
//! Prometheus rejects (400 `bad_data`) is said with Prometheus's own words.

use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use super::http_client::{self, Request};
use super::probe::excerpt;
use crate::plan::{NoData, PromCheck, Redactor};

/// One series of an answer: its labels as Prometheus prints them, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: String,
    pub value: f64,
}

/// How one query came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Prometheus refused the query itself (a PromQL error): asking again cannot help.
    Rejected,
}

/// What one query saw, ready to show (secrets masked).
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub verdict: Verdict,
    /// The worst series and its value, when the answer had any.
    pub worst: Option<Series>,
    /// `{job="web"} = 0.004`, or why it failed, in one line.
    pub line: String,
}

impl Observation {
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }
}

/// A Prometheus answer that carries no series to judge.
#[derive(Clone, Debug, PartialEq)]
pub struct Unusable {
    pub rejected: bool,
    pub reason: String,
}

/// Runs `check`'s query once, within `timeout`, and judges the answer.
pub async fn evaluate(check: &PromCheck, timeout: Duration, redactor: &Redactor) -> Observation {
    let answer = ask(check, timeout).await;
    let observation = match answer {
        Ok(series) => judge(&series, check),
        Err(unusable) => Observation {
            verdict: if unusable.rejected {
                Verdict::Rejected
            } else {
                Verdict::Fail
            },
            worst: None,
            line: unusable.reason,
        },
    };
    Observation {
        line: redactor.redact(&observation.line).into_owned(),
        ..observation
    }
}

async fn ask(check: &PromCheck, timeout: Duration) -> Result<Vec<Series>, Unusable> {
    let failed = |reason: String| Unusable {
        rejected: false,
        reason,
    };
    let url = query_url(check.prometheus.value(), check.query.value()).map_err(failed)?;
    let headers: Vec<(String, String)> = check
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.value().to_string()))
        .collect();
    let answer = http_client::send(&Request {
        method: "GET",
        url: url.as_str(),
        headers: &headers,
        json: None,
        timeout,
    })
    .await
    .map_err(|e| failed(format!("Prometheus did not answer: {e}")))?;
    parse_answer(answer.status, &answer.body)
}

/// The query's URL: the base URL's path with `/api/v1/query` added.
pub fn query_url(prometheus: &str, query: &str) -> Result<Url, String> {
    let mut url = Url::parse(prometheus).map_err(|e| format!("not a valid URL ({e})"))?;
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.query_pairs_mut().append_pair("query", query);
    Ok(url)
}

/// The series of a Prometheus answer (possibly none), or why there is nothing to judge.
pub fn parse_answer(status: u16, body: &str) -> Result<Vec<Series>, Unusable> {
    let failed = |reason: String| Unusable {
        rejected: false,
        reason,
    };
    let json: Value = serde_json::from_str(body).map_err(|_| {
        failed(format!(
            "Prometheus answered {status} with something that is not its JSON: {}",
            excerpt(body)
        ))
    })?;
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let error = json["error"].as_str().unwrap_or("no error message");
        return Err(Unusable {
            // Prometheus's API answers 400 bad_data for a query it cannot parse or run
            // (web/api/v1/api.go: errorBadData → http.StatusBadRequest).
            rejected: status == 400 && kind == "bad_data",
            reason: format!("Prometheus answered {status}: {kind}: {error}"),
        });
    }
    let data = &json["data"];
    match data["resultType"].as_str() {
        Some("vector") => {
            let items = data["result"]
                .as_array()
                .ok_or_else(|| failed("the vector has no result".to_string()))?;
            items
                .iter()
                .map(|item| {
                    Ok(Series {
                        labels: labels(&item["metric"]),
                        value: sample_value(&item["value"]).map_err(failed)?,
                    })
                })
                .collect()
        }
        Some("scalar") => Ok(vec![Series {
            labels: "scalar".to_string(),
            value: sample_value(&data["result"]).map_err(failed)?,
        }]),
        Some(other) => Err(Unusable {
            // A range vector is a mistake in the query, not a passing state of the service.
            rejected: true,
            reason: format!(
                "the query returned a {other}; use an instant vector or a scalar (e.g. wrap a range in rate(…))"
            ),
        }),
        None => Err(failed("Prometheus's answer has no resultType".to_string())),
    }
}

/// Judges every series against the bounds; the worst one speaks for the answer.
pub fn judge(series: &[Series], check: &PromCheck) -> Observation {
    let Some(worst) = worst(series, check.min, check.max) else {
        return match check.no_data {
            NoData::Fail => Observation {
                verdict: Verdict::Fail,
                worst: None,
                line: "no data: the query returned no series (a metric or label that does not \
                       exist looks like this; no_data = \"pass\" accepts it)"
                    .to_string(),
            },
            NoData::Pass => Observation {
                verdict: Verdict::Pass,
                worst: None,
                line: "no data (no series), which passes: no_data = \"pass\"".to_string(),
            },
        };
    };
    let out_of_bounds = series
        .iter()
        .filter(|s| margin(s.value, check.min, check.max) < 0.0)
        .count();
    let of = match (series.len(), out_of_bounds) {
        (1, _) => String::new(),
        (n, 0) => format!(", the worst of {n} series"),
        (n, bad) => format!(" (the worst of {n} series; {bad} out of bounds)"),
    };
    let problem = if worst.value.is_nan() {
        Some(format!(
            "{} is NaN (not a number, e.g. 0/0 when nothing was counted): a NaN never passes a threshold",
            worst.labels
        ))
    } else if let Some(max) = check.max.filter(|max| worst.value > *max) {
        Some(format!(
            "{} = {}, over the maximum {max}",
            worst.labels, worst.value
        ))
    } else {
        check.min.filter(|min| worst.value < *min).map(|min| {
            format!(
                "{} = {}, under the minimum {min}",
                worst.labels, worst.value
            )
        })
    };
    match problem {
        Some(problem) => Observation {
            verdict: Verdict::Fail,
            line: format!("{problem}{of}"),
            worst: Some(worst.clone()),
        },
        None => Observation {
            verdict: Verdict::Pass,
            line: format!("{} = {}{of}", worst.labels, worst.value),
            worst: Some(worst.clone()),
        },
    }
}

/// `≤ 0.01`, `≥ 5`, `≥ 1 and ≤ 3`.
pub fn describe_bounds(min: Option<f64>, max: Option<f64>) -> String {
    let mut bounds = Vec::new();
    if let Some(min) = min {
        bounds.push(format!("≥ {min}"));
    }
    if let Some(max) = max {
        bounds.push(format!("≤ {max}"));
    }
    bounds.join(" and ")
}

/// The series nearest to a bound, or farthest past one; a NaN is worse than any number.
pub fn worst(series: &[Series], min: Option<f64>, max: Option<f64>) -> Option<&Series> {
    series.iter().reduce(|worst, s| {
        if margin(s.value, min, max) < margin(worst.value, min, max) {
            s
        } else {
            worst
        }
    })
}

/// How far inside its bounds a value is (negative: outside). NaN: minus infinity.
fn margin(value: f64, min: Option<f64>, max: Option<f64>) -> f64 {
    if value.is_nan() {
        return f64::NEG_INFINITY;
    }
    let below_max = max.map_or(f64::INFINITY, |max| max - value);
    let above_min = min.map_or(f64::INFINITY, |min| value - min);
    below_max.min(above_min)
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
    use crate::plan::Text;

    fn check(min: Option<f64>, max: Option<f64>, no_data: NoData) -> PromCheck {
        PromCheck {
            prometheus: Text::plain("http://prom:9090"),
            query: Text::plain("up"),
            headers: Vec::new(),
            max,
            min,
            no_data,
        }
    }

    fn series(values: &[(&str, f64)]) -> Vec<Series> {
        values
            .iter()
            .map(|(labels, value)| Series {
                labels: labels.to_string(),
                value: *value,
            })
            .collect()
    }

    const TWO: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"job":"web"},"value":[1700000000.1,"0.004"]},
        {"metric":{"__name__":"up","job":"api"},"value":[1700000000.1,"0.02"]}]}}"#;

    #[test]
    fn vectors_parse_with_their_labels() {
        let got = parse_answer(200, TWO).unwrap();
        assert_eq!(
            got,
            series(&[("{job=\"web\"}", 0.004), ("up{job=\"api\"}", 0.02)])
        );
    }

    #[test]
    fn the_worst_series_speaks_for_the_answer() {
        let got = parse_answer(200, TWO).unwrap();
        let ok = judge(&got, &check(None, Some(0.05), NoData::Fail));
        assert!(ok.passed());
        assert_eq!(ok.line, "up{job=\"api\"} = 0.02, the worst of 2 series");
        assert_eq!(ok.worst.unwrap().value, 0.02);
        let over = judge(&got, &check(None, Some(0.01), NoData::Fail));
        assert_eq!(over.verdict, Verdict::Fail);
        assert_eq!(
            over.line,
            "up{job=\"api\"} = 0.02, over the maximum 0.01 (the worst of 2 series; 1 out of bounds)"
        );
        let under = judge(&got, &check(Some(0.01), None, NoData::Fail));
        assert_eq!(
            under.line,
            "{job=\"web\"} = 0.004, under the minimum 0.01 (the worst of 2 series; 1 out of bounds)"
        );
    }

    #[test]
    fn with_both_bounds_the_worst_is_the_nearest_to_either() {
        let got = series(&[("a", 5.0), ("b", 9.5), ("c", 1.2)]);
        let seen = judge(&got, &check(Some(1.0), Some(10.0), NoData::Fail));
        assert!(seen.passed());
        assert_eq!(seen.worst.unwrap().labels, "c");
        let one = judge(
            &series(&[("x", 3.0)]),
            &check(Some(1.0), None, NoData::Fail),
        );
        assert_eq!(one.line, "x = 3");
    }

    #[test]
    fn nan_never_passes_whatever_the_bounds() {
        let got = series(&[("{job=\"web\"}", 0.001), ("{job=\"api\"}", f64::NAN)]);
        for bounds in [
            (None, Some(1.0)),
            (Some(0.0), None),
            (Some(-1e9), Some(1e9)),
        ] {
            let seen = judge(&got, &check(bounds.0, bounds.1, NoData::Pass));
            assert_eq!(seen.verdict, Verdict::Fail);
            assert!(
                seen.line
                    .starts_with("{job=\"api\"} is NaN (not a number, e.g. 0/0 when nothing was counted): a NaN never passes a threshold"),
                "{}",
                seen.line
            );
        }
        let nan = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
        assert!(parse_answer(200, nan).unwrap()[0].value.is_nan());
    }

    #[test]
    fn an_empty_result_is_judged_by_no_data() {
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        let got = parse_answer(200, empty).unwrap();
        let fail = judge(&got, &check(None, Some(1.0), NoData::Fail));
        assert_eq!(fail.verdict, Verdict::Fail);
        assert!(
            fail.line
                .starts_with("no data: the query returned no series")
        );
        let pass = judge(&got, &check(None, Some(1.0), NoData::Pass));
        assert!(pass.passed());
        assert_eq!(pass.worst, None);
    }

    #[test]
    fn scalars_and_infinities() {
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse_answer(200, scalar).unwrap()[0].value, 3.0);
        let inf = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#;
        let got = parse_answer(200, inf).unwrap();
        assert!(!judge(&got, &check(None, Some(1.0), NoData::Fail)).passed());
    }

    #[test]
    fn a_rejected_query_is_told_apart_from_a_failing_server() {
        let error = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <op:(>"}"#;
        let rejected = parse_answer(400, error).unwrap_err();
        assert!(rejected.rejected);
        assert_eq!(
            rejected.reason,
            "Prometheus answered 400: bad_data: 1:5: parse error: unexpected <op:(>"
        );
        let timeout = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(!parse_answer(503, timeout).unwrap_err().rejected);
        let garbage = parse_answer(502, "<html>bad gateway</html>").unwrap_err();
        assert!(!garbage.rejected);
        assert!(
            garbage
                .reason
                .contains("502 with something that is not its JSON")
        );
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_answer(200, matrix).unwrap_err().rejected);
    }

    #[test]
    fn the_query_is_url_encoded_under_the_base_path() {
        let url = query_url("http://prom:9090/prometheus/", "rate(x[5m]) > 0").unwrap();
        assert_eq!(
            url.as_str(),
            "http://prom:9090/prometheus/api/v1/query?query=rate%28x%5B5m%5D%29+%3E+0"
        );
    }

    #[test]
    fn bounds_read_as_math() {
        assert_eq!(describe_bounds(None, Some(0.01)), "≤ 0.01");
        assert_eq!(describe_bounds(Some(1.0), Some(3.0)), "≥ 1 and ≤ 3");
    }
}

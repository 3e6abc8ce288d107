//! `metrics` against a scripted Prometheus on 127.0.0.1: good, over the threshold,
//! several series, empty (both `no_data`s), NaN, a rejected query, an error answer and
//! something that is not JSON, headers with a secret. (`prometheus.rs` runs the real one.)

use crate::http::{Reply, TestServer};
use crate::support::Bench;

fn vector(value: &str) -> String {
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"job":"web"}},"value":[1700000000.5,"{value}"]}}]}}}}"#
    )
}

fn prometheus() -> TestServer {
    TestServer::start(|seen, _| {
        let query = seen.url.split("query=").nth(1).unwrap_or("");
        match query {
            "good" => Reply::ok(&vector("0.004")),
            "high" => Reply::ok(&vector("0.031")),
            "empty" => {
                Reply::ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
            }
            "nan" => Reply::ok(&vector("NaN")),
            "several" => Reply::ok(
                r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"job":"web"},"value":[1700000000.5,"0.004"]},
                {"metric":{"job":"api"},"value":[1700000000.5,"0.02"]},
                {"metric":{"job":"db"},"value":[1700000000.5,"0.009"]}]}}"#,
            ),
            "broken" => Reply::new(
                400,
                r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <op:(>"}"#,
            ),
            _ => Reply::new(502, "<html>proxy error</html>"),
        }
    })
}

fn gate(server: &TestServer, query: &str) -> String {
    format!(
        "[[steps]]\nname = \"error rate\"\nkind = \"metrics\"\nprometheus = \"{}\"\nquery = \"{query}\"\nmax = 0.01\n",
        server.url("")
    )
}

#[test]
fn a_good_value_passes_and_is_shown() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook("app", &gate(&server, "good"));
    bench
        .run(&["promote", "app", "--verbose"])
        .status(0)
        .stderr_has("sample 1/1: {job=\"web\"} = 0.004 — ok");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].url.starts_with("/api/v1/query?query=good"),
        "{}",
        seen[0].url
    );
}

#[test]
fn over_the_threshold_fails_with_the_measured_value() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook("app", &gate(&server, "high"));
    bench.run(&["promote", "app"]).status(1).stderr_has(
        "sample 1/1: FAILED: {job=\"web\"} = 0.031, over the maximum 0.01 (1 failed, 0 allowed)",
    );
}

#[test]
fn empty_nan_error_and_garbage_are_failed_samples_stated_plainly() {
    let server = prometheus();
    let bench = Bench::new();
    for (query, expected) in [
        ("empty", "no data: the query returned no series"),
        (
            "nan",
            "{job=\"web\"} is NaN (not a number, e.g. 0/0 when nothing was counted): a NaN never passes a threshold",
        ),
        (
            "broken",
            "Prometheus answered 400: bad_data: 1:5: parse error: unexpected <op:(> (Prometheus rejects the query itself",
        ),
        (
            "garbage",
            "Prometheus answered 502 with something that is not its JSON: \"<html>proxy error</html>\"",
        ),
    ] {
        bench.runbook(query, &gate(&server, query));
        bench
            .run(&["promote", query])
            .status(1)
            .stderr_has(expected);
    }
}

#[test]
fn several_series_are_judged_by_the_worst_which_is_named() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook("app", &gate(&server, "several"));
    bench.run(&["promote", "app"]).status(1).stderr_has(
        "sample 1/1: FAILED: {job=\"api\"} = 0.02, over the maximum 0.01 (the worst of 3 series; 1 out of bounds)",
    );
    bench.runbook(
        "lax",
        &gate(&server, "several").replace("max = 0.01", "max = 0.05"),
    );
    bench
        .run(&["promote", "lax", "--verbose"])
        .status(0)
        .stderr_has("sample 1/1: {job=\"api\"} = 0.02, the worst of 3 series — ok");
}

#[test]
fn no_data_decides_what_an_empty_result_means() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!("{}no_data = \"pass\"\n", gate(&server, "empty")),
    );
    bench
        .run(&["promote", "app", "--verbose"])
        .status(0)
        .stderr_has("no data (no series), which passes: no_data = \"pass\"");
    // A NaN is not "no data": it fails even so.
    bench.runbook(
        "app",
        &format!("{}no_data = \"pass\"\n", gate(&server, "nan")),
    );
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("a NaN never passes a threshold");
}

#[test]
fn a_rejected_query_fails_at_once_whatever_failure_limit_allows() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "{}count = 5\ninterval = \"30s\"\nfailure_limit = 4\n",
            gate(&server, "broken")
        ),
    );
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("bad_data: 1:5: parse error");
    assert_eq!(
        server.requests().len(),
        1,
        "no second sample of a rejected query"
    );
}

#[test]
fn headers_are_sent_and_a_secret_in_them_is_never_shown() {
    let server = prometheus();
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "{}headers = {{ Authorization = \"Bearer {{{{secret.PROM_TOKEN}}}}\" }}\n",
            gate(&server, "high")
        ),
    );
    let show = bench.run_with(&["show", "app"], &[("PROM_TOKEN", "t0k3n-xyz")]);
    show.status(0);
    let run = bench.run_with(
        &["promote", "app", "--verbose"],
        &[("PROM_TOKEN", "t0k3n-xyz")],
    );
    run.status(1);
    let seen = server.requests();
    assert_eq!(seen[0].header("Authorization"), Some("Bearer t0k3n-xyz"));
    for text in [
        show.stdout(),
        show.stderr(),
        run.stdout(),
        run.stderr(),
        bench.log(),
    ] {
        assert!(!text.contains("t0k3n-xyz"), "the secret leaked: {text}");
    }
}

#[test]
fn a_bad_no_data_is_refused_at_its_place() {
    let bench = Bench::new();
    bench.runbook(
        "bad",
        "[[steps]]\nkind = \"metrics\"\nprometheus = \"http://127.0.0.1:9/\"\nquery = \"up\"\nmax = 1\nno_data = \"ignore\"\n",
    );
    bench
        .run(&["validate", "bad"])
        .status(2)
        .stderr_has("runbooks/bad.toml:6:11")
        .stderr_has("`no_data` must be \"fail\" or \"pass\", not \"ignore\"");
}

#[test]
fn failure_limit_tolerates_bad_samples_and_count_takes_several() {
    let server = TestServer::start(|_, n| Reply::ok(&vector(if n == 1 { "0.5" } else { "0.001" })));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"metrics\"\nprometheus = \"{}\"\nquery = \"rate\"\nmax = 0.01\ncount = 3\ninterval = \"50ms\"\nfailure_limit = 1\n",
            server.url("/")
        ),
    );
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(server.requests().len(), 3);
}

//! `metrics` against a fake Prometheus on 127.0.0.1: good, over the threshold, empty,
//! an error answer, and something that is not JSON.

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
        ("empty", "the query returned no series"),
        ("nan", "{job=\"web\"} is NaN"),
        (
            "broken",
            "Prometheus answered 400: bad_data: 1:5: parse error",
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

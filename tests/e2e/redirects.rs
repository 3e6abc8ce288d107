//! Redirects (SPEC "Variables and secrets"): a step's headers — tokens, API keys — go along
//! a redirect to the same origin and never to another one. Two real servers on 127.0.0.1
//! with different ports are two origins; the first redirects to the second.

use crate::http::{Reply, TestServer};
use crate::support::Bench;

const KEY: &str = "k3y-0f-the-api";
const TOKEN: &str = "t0k3n-0f-the-bearer";

fn secrets() -> [(&'static str, &'static str); 2] {
    [("API_KEY", KEY), ("TOKEN", TOKEN)]
}

/// `headers = { … }` carrying both secrets, and a header that carries none.
const HEADERS: &str = "headers = { X-Api-Key = \"{{secret.API_KEY}}\", Authorization = \"Bearer {{secret.TOKEN}}\", X-Team = \"ops\" }\n";

#[track_caller]
fn never_saw_the_headers(server: &TestServer) {
    let seen = server.requests();
    assert!(!seen.is_empty(), "the redirect was not followed");
    for request in seen {
        for name in ["X-Api-Key", "Authorization", "X-Team"] {
            assert_eq!(
                request.header(name),
                None,
                "{name} reached the other origin: {request:?}"
            );
        }
        assert!(!format!("{request:?}").contains(KEY));
        assert!(!format!("{request:?}").contains(TOKEN));
    }
}

#[test]
fn health_headers_never_follow_a_redirect_to_another_origin() {
    let other = TestServer::always(Reply::ok("ok"));
    let target = other.url("/elsewhere");
    let first = TestServer::always(Reply::redirect(302, &target));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"health\"\nurl = \"{}\"\nsuccesses = 1\n{HEADERS}",
            first.url("/health")
        ),
    );
    let run = bench.run_with(&["promote", "app", "--verbose"], &secrets());
    run.status(0).stderr_has(&format!(
        "(redirected to {}, without the request's headers)",
        other.url("")
    ));
    // The first origin got them; the second never did.
    assert_eq!(first.requests()[0].header("X-Api-Key"), Some(KEY));
    never_saw_the_headers(&other);
    assert!(!run.stderr().contains(KEY) && !run.stderr().contains(TOKEN));
}

#[test]
fn a_redirect_within_the_origin_keeps_the_headers() {
    let server = TestServer::start(|seen, _| {
        if seen.url == "/old" {
            Reply::redirect(308, "/health")
        } else {
            Reply::ok("ok")
        }
    });
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"health\"\nurl = \"{}\"\nsuccesses = 1\n{HEADERS}",
            server.url("/old")
        ),
    );
    bench.run_with(&["promote", "app"], &secrets()).status(0);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].url, "/health");
    assert_eq!(seen[1].header("X-Api-Key"), Some(KEY));
    assert_eq!(
        seen[1].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn back_on_the_first_origin_after_another_the_headers_stay_dropped() {
    // first /start → other /hop → first /back: each needs the other's port.
    let back = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let back_url = back.clone();
    let other = TestServer::start(move |_, _| Reply::redirect(307, &back_url.lock().unwrap()));
    let hop = other.url("/hop");
    let first = TestServer::start(move |seen, _| match seen.url.as_str() {
        "/start" => Reply::redirect(302, &hop),
        _ => Reply::ok("ok"),
    });
    *back.lock().unwrap() = first.url("/back");
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"health\"\nurl = \"{}\"\nsuccesses = 1\n{HEADERS}",
            first.url("/start")
        ),
    );
    bench.run_with(&["promote", "app"], &secrets()).status(0);
    never_saw_the_headers(&other);
    let seen = first.requests();
    assert_eq!(seen[0].header("X-Api-Key"), Some(KEY));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].url, "/back");
    assert_eq!(
        seen[1].header("X-Api-Key"),
        None,
        "sent again after another origin"
    );
}

#[test]
fn metrics_headers_never_follow_a_redirect_to_another_origin() {
    let other = TestServer::always(Reply::ok(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0"]}]}}"#,
    ));
    let target = other.url("/api/v1/query?query=up");
    let first = TestServer::always(Reply::redirect(307, &target));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"metrics\"\nprometheus = \"{}\"\nquery = \"up\"\nmax = 1\n{HEADERS}",
            first.url("")
        ),
    );
    bench
        .run_with(&["promote", "app", "--verbose"], &secrets())
        .status(0)
        .stderr_has("sample 1/1: value = 0 — ok");
    assert_eq!(
        first.requests()[0].header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    never_saw_the_headers(&other);
}

#[test]
fn a_webhook_redirect_keeps_its_post_and_a_redirect_loop_is_named() {
    let other = TestServer::always(Reply::ok("ok"));
    let target = other.url("/hook");
    let first = TestServer::always(Reply::redirect(307, &target));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"notify\"\nwebhook = \"{}\"\nmessage = \"shipped\"\n",
            first.url("/hook")
        ),
    );
    bench.run(&["promote", "app"]).status(0);
    let seen = other.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, r#"{"text":"shipped"}"#);

    let looping = TestServer::start(|seen, _| {
        Reply::redirect(302, if seen.url == "/a" { "/b" } else { "/a" })
    });
    bench.runbook(
        "loop",
        &format!(
            "[[steps]]\nkind = \"health\"\nurl = \"{}\"\nsuccesses = 1\nwithin = \"2s\"\n",
            looping.url("/a")
        ),
    );
    bench
        .run(&["promote", "loop"])
        .status(1)
        .stderr_has("more than 10 redirects (a loop?); the last answer was 302");
}

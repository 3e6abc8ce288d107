//! `health` and `soak` with a watch, against a real HTTP server on 127.0.0.1.

use std::time::{Duration, Instant};

use crate::http::{Reply, TestServer, refused_url};
use crate::support::Bench;

fn health(url: &str, extra: &str) -> String {
    format!(
        "[[steps]]\nname = \"healthy\"\nkind = \"health\"\nurl = \"{url}\"\ninterval = \"50ms\"\n{extra}\n"
    )
}

#[test]
fn a_flapping_endpoint_needs_consecutive_successes() {
    // ok, FAIL, ok, FAIL, ok, ok, ok: only the last three are three in a row.
    let server = TestServer::start(|_, n| match n {
        1 | 3 => Reply::new(500, "flap"),
        _ => Reply::ok("up"),
    });
    let bench = Bench::new();
    bench.runbook(
        "app",
        &health(&server.url("/health"), "successes = 3\nwithin = \"10s\""),
    );
    bench
        .run(&["promote", "app", "--verbose"])
        .status(0)
        .stderr_has("GET http://127.0.0.1:")
        .stderr_has("→ 500 in ")
        .stderr_has("(expected 2xx); body: \"flap\"");
    assert_eq!(server.requests().len(), 7);
}

#[test]
fn a_flapping_endpoint_that_never_settles_fails_saying_what_it_saw() {
    let server = TestServer::start(|_, n| {
        if n % 2 == 1 {
            Reply::new(503, "warming up")
        } else {
            Reply::ok("up")
        }
    });
    let bench = Bench::new();
    bench.runbook(
        "app",
        &health(&server.url("/health"), "successes = 2\nwithin = \"600ms\""),
    );
    let run = bench.run(&["promote", "app"]);
    run.status(1)
        .stderr_has("not healthy within 600ms")
        .stderr_has("of 2 consecutive successes")
        .stderr_has("503 in ")
        .stderr_has("\"warming up\"");
    assert!(server.requests().len() <= 14, "{}", server.requests().len());
}

#[test]
fn a_slow_endpoint_fails_the_latency_budget_and_passes_a_larger_one() {
    let server = TestServer::always(Reply::ok("up").after(Duration::from_millis(120)));
    let bench = Bench::new();
    let url = server.url("/health");
    bench.runbook(
        "tight",
        &health(&url, "successes = 2\nlatency_p95 = \"40ms\""),
    );
    bench.runbook(
        "loose",
        &health(&url, "successes = 2\nlatency_p95 = \"2s\""),
    );
    bench
        .run(&["promote", "tight"])
        .status(1)
        .stderr_has("healthy, but too slow: p95 latency")
        .stderr_has("over the budget of 40ms");
    bench.run(&["promote", "loose"]).status(0);
}

#[test]
fn a_refused_connection_is_reported_clearly() {
    let bench = Bench::new();
    bench.runbook("app", &health(&refused_url(), "within = \"400ms\""));
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("not healthy within 400ms: 0 of 3 consecutive successes")
        .stderr_has("→ connection refused");
}

#[test]
fn a_5xx_is_reported_with_its_body_and_a_timeout_is_named() {
    let server = TestServer::start(|seen, _| {
        if seen.url == "/slow" {
            Reply::ok("late").after(Duration::from_secs(3))
        } else {
            Reply::new(502, "<html>Bad Gateway</html>")
        }
    });
    let bench = Bench::new();
    bench.runbook("app", &health(&server.url("/health"), "within = \"300ms\""));
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("502 in ")
        .stderr_has("(expected 2xx); body: \"<html>Bad Gateway</html>\"");
    bench.runbook(
        "slow",
        &health(
            &server.url("/slow"),
            "within = \"1s\"\nrequest_timeout = \"200ms\"",
        ),
    );
    bench
        .run(&["promote", "slow"])
        .status(1)
        .stderr_has("→ timed out after 200ms");
}

#[test]
fn expect_body_checks_the_version_literally_and_headers_carry_secrets() {
    let server = TestServer::start(|seen, _| match seen.header("Authorization") {
        Some("Bearer s3cr3t") if seen.url == "/v" => Reply::ok("{\"version\":\"1.4.2\"}"),
        Some("Bearer s3cr3t") => Reply::ok("{\"version\":\"1x4x2\"}"),
        _ => Reply::new(401, "who are you"),
    });
    let bench = Bench::new();
    let body = "successes = 1\nwithin = \"500ms\"\nexpect_body = '\"version\":\"{{version}}\"'\nheaders = { Authorization = \"Bearer {{secret.TOKEN}}\" }";
    bench.runbook("good", &health(&server.url("/v"), body));
    bench.runbook("bad", &health(&server.url("/x"), body));
    let env = [("TOKEN", "s3cr3t")];
    bench
        .run_with(&["promote", "good", "--set", "version=1.4.2"], &env)
        .status(0);
    let run = bench.run_with(&["promote", "bad", "--set", "version=1.4.2"], &env);
    run.status(1)
        .stderr_has("but the body does not match /\"version\":\"1\\.4\\.2\"/");
    assert!(!run.stderr().contains("s3cr3t"));
    assert!(!bench.log().contains("s3cr3t"));
}

#[test]
fn several_urls_are_polled_concurrently() {
    let server = TestServer::always(Reply::ok("up").after(Duration::from_millis(300)));
    let bench = Bench::new();
    let urls = format!(
        "[[steps]]\nkind = \"health\"\nurl = [\"{}\", \"{}\", \"{}\"]\nsuccesses = 1\n",
        server.url("/a"),
        server.url("/b"),
        server.url("/c")
    );
    bench.runbook("app", &urls);
    let start = Instant::now();
    bench.run(&["promote", "app"]).status(0);
    // In turn it would take 900 ms at least.
    assert!(
        start.elapsed() < Duration::from_millis(850),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_soak_with_a_failing_watch_fails_early() {
    let server = TestServer::always(Reply::new(500, "down"));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"soak\"\nduration = \"20s\"\nwatch = {{ url = \"{}\", interval = \"100ms\", failures = 3 }}\n",
            server.url("/health")
        ),
    );
    let start = Instant::now();
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("failed 3 times in a row")
        .stderr_has("into the 20s soak; last: GET");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_soak_ends_on_time_even_with_a_probe_in_flight() {
    // The watch's first probe hangs past the end of the soak: the wait must not.
    let server = TestServer::always(Reply::ok("up").after(Duration::from_secs(4)));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\nwatch = {{ url = \"{}\", request_timeout = \"10s\" }}\n",
            server.url("/health")
        ),
    );
    bench.run(&["promote", "app"]).status(0);
    assert!(bench.log().contains("duration=1.0s"), "{}", bench.log());
}

/// A keep-alive HTTP/1.1 server that writes each answer's headers and body in two sends,
/// as python's http.server does; it counts the connections it accepts.
fn split_writing_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
                    buf.drain(..end);
                    let body = b"ok";
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[test]
fn every_probe_opens_a_fresh_connection_so_a_delayed_ack_never_stalls_it() {
    // On a reused connection the body of such a server waits for the ACK of its headers,
    // which Linux delays (~40 ms a probe, bench/probe_nagle.sh); a fresh one never waits.
    let (port, accepted) = split_writing_server();
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"health\"\nurl = \"http://127.0.0.1:{port}/health\"\nsuccesses = 5\ninterval = \"1ms\"\n"
        ),
    );
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 5);
}

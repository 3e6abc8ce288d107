//! The demo of SPEC §8, end to end: the committed `runbooks/demo.toml` (soaks shortened)
//! deploys the binary's own HTTP service, promotes it to 100 % and rolls it back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::Bench;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn health(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = write!(s, "GET /health HTTP/1.0\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// Stops the service even when an assertion fails half-way.
struct Service<'a>(&'a Bench, u16);

impl Drop for Service<'_> {
    fn drop(&mut self) {
        let port = self.1.to_string();
        let _ = self.0.run(&["demo-service", "stop", "--port", &port]);
    }
}

fn demo_bench() -> Bench {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/demo.toml"))
            .unwrap();
    let short = text
        .lines()
        .map(|l| {
            if l.starts_with("duration") {
                "duration = \"1s\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let b = Bench::new();
    b.runbook("demo", &short);
    b
}

#[test]
fn the_demo_promotes_to_100_percent_and_rolls_back() {
    let b = demo_bench();
    let port = free_port();
    let set = format!("port={port}");
    let _service = Service(&b, port);

    let started = Instant::now();
    b.run(&["promote", "demo", "--yes", "--full", "--set", &set])
        .status(0)
        .stderr_has("ok    health")
        .stderr_has("ok    smoke test")
        .stderr_has("ok    promote 100%")
        .stderr_has("demo complete");
    assert!(started.elapsed() < Duration::from_secs(30));
    let body = health(port);
    assert!(
        body.contains("\"version\":\"2.0.0\"") && body.contains("\"percent\":100"),
        "{body}"
    );
    let events = b.log_events();
    assert_eq!(events[0], "RUN STARTED", "{events:?}");
    assert!(events.contains(&"PREFLIGHT OK".to_string()), "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("RUN COMPLETE"));
    assert!(!events.iter().any(|e| e.contains("FAILED")), "{events:?}");
    assert!(b.log().contains("NOTE - demo"), "{}", b.log());

    b.run(&["rollback", "demo", "--emergency", "--set", &set])
        .status(0)
        .stderr_has("emergency rollback complete");
    let body = health(port);
    assert!(body.contains("\"version\":\"1.0.0\""), "{body}");
    assert!(
        b.log_events()
            .contains(&"EMERGENCY ROLLBACK COMPLETE".to_string())
    );
}

/// Two busy processes (`yes > /dev/null`), the load SPEC §8 says the demo must pass
/// under; killed when dropped, even when an assertion fails.
struct Load(Vec<std::process::Child>);

impl Load {
    fn two_busy_processes() -> Load {
        Load(
            (0..2)
                .map(|_| {
                    std::process::Command::new("yes")
                        .stdout(std::process::Stdio::null())
                        .spawn()
                        .expect("yes")
                })
                .collect(),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn under_load_the_demo_passes_every_time() {
    let b = demo_bench();
    let port = free_port();
    let set = format!("port={port}");
    let _service = Service(&b, port);
    let _load = Load::two_busy_processes();
    for round in 1..=3 {
        b.run(&["promote", "demo", "--yes", "--set", &set])
            .status(0)
            .stderr_has("paused at `gate`");
        b.run(&["promote", "demo", "--yes", "--set", &set])
            .status(0)
            .stderr_has("demo complete");
        assert!(health(port).contains("\"percent\":100"), "round {round}");
        b.run(&["rollback", "demo", "--emergency", "--set", &set])
            .status(0)
            .stderr_has("emergency rollback complete");
        // Back to exactly what ran before this round's run (SPEC §4.1): the first round
        // started from the 1.0.0 that "production is up" put there, the later ones from
        // the 2.0.0 the round before left at 100 %.
        let before = if round == 1 { "1.0.0" } else { "2.0.0" };
        assert!(
            health(port).contains(&format!("\"version\":\"{before}\"")),
            "round {round}: {}",
            health(port)
        );
        b.run(&["promote", "demo", "--yes", "--full", "--set", &set])
            .status(0)
            .stderr_has("demo complete");
    }
    assert!(
        !b.log_events().iter().any(|e| e.contains("FAILED")),
        "{}",
        b.log()
    );
}

#[test]
fn the_demo_preflight_only_checks() {
    let b = demo_bench();
    let port = free_port();
    let _service = Service(&b, port);
    b.run(&["preflight", "demo", "--set", &format!("port={port}")])
        .status(0)
        .stdout_has("port is ours");
    // Nothing was started: the port is still free and no pid file was written.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    assert!(!b.path(&format!(".rollout/demo/{port}/pid")).exists());
}

#[test]
fn a_taken_port_fails_in_preflight_and_changes_nothing() {
    let b = demo_bench();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let _service = Service(&b, port);
    b.run(&[
        "promote",
        "demo",
        "--yes",
        "--full",
        "--set",
        &format!("port={port}"),
    ])
    .status(1)
    .stderr_has("preflight failed");
    assert!(!b.log_events().contains(&"STEP OK".to_string()));
}

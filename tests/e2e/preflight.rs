//! `rollout preflight`: concurrent checks, reports for people, programs and CI.

use std::time::{Duration, Instant};

use crate::support::Bench;

fn checks() -> Bench {
    let bench = Bench::new();
    bench.fake("checker").runbook(
        "app",
        r#"
[[preflight]]
kind = "run"
name = "auth"
cmd = "checker auth"

[[preflight]]
kind = "run"
name = "tests green"
cmd = "checker tests"

[[steps]]
kind = "run"
cmd = "checker deploy"
"#,
    );
    bench
}

#[test]
fn passing_checks_exit_0_and_run_no_step() {
    let bench = checks();
    bench
        .run(&["preflight", "app"])
        .status(0)
        .stdout_has("preflight of app passed: 2 check(s)");
    let mut calls = bench.calls();
    calls.sort();
    assert_eq!(calls, vec!["checker [auth]", "checker [tests]"]);
    assert!(
        bench.log().contains("PREFLIGHT OK - app"),
        "{}",
        bench.log()
    );
}

#[test]
fn a_failing_check_exits_1_with_json_and_junit_reports() {
    let bench = checks();
    bench.tell("checker", "tests", "exit", "101");
    bench.tell(
        "checker",
        "tests",
        "out",
        "test result: FAILED. 3 passed; 1 failed\n",
    );
    let run = bench.run(&["preflight", "app", "--format", "json"]);
    run.status(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["checks"][0]["ok"], true);
    assert_eq!(doc["checks"][1]["name"], "tests green");
    assert_eq!(
        doc["checks"][1]["error"],
        "`checker` exited with 101 (expected 0)"
    );
    assert_eq!(
        doc["checks"][1]["output_tail"][0],
        "test result: FAILED. 3 passed; 1 failed"
    );

    let run = bench.run(&[
        "preflight",
        "app",
        "--format",
        "junit",
        "--report",
        "report.xml",
    ]);
    run.status(1)
        .stdout_has("<testsuite name=\"rollout preflight app\" tests=\"2\"");
    let xml = std::fs::read_to_string(bench.path("report.xml")).unwrap();
    assert!(
        xml.contains("<failure message=\"`checker` exited with 101 (expected 0)\""),
        "{xml}"
    );
    assert!(
        bench.log().contains("PREFLIGHT FAILED - app"),
        "{}",
        bench.log()
    );
}

#[test]
fn github_actions_get_error_annotations() {
    let bench = checks();
    bench.tell("checker", "auth", "exit", "1");
    bench
        .run_with(&["preflight", "app"], &[("GITHUB_ACTIONS", "true")])
        .status(1)
        .stdout_has("::error file=runbooks/app.toml,line=2,title=preflight%3A auth::`checker` exited with 1 (expected 0)");
    // With a report on stdout, the annotations go to stderr and the report stays whole.
    for (format, start) in [("json", "{"), ("junit", "<?xml")] {
        let run = bench.run_with(
            &["preflight", "app", "--format", format],
            &[("GITHUB_ACTIONS", "true")],
        );
        run.status(1)
            .stderr_has("::error file=runbooks/app.toml,line=2");
        assert!(run.stdout().starts_with(start), "{}", run.stdout());
        assert!(!run.stdout().contains("::error"), "{}", run.stdout());
    }
    let run = bench.run_with(
        &["preflight", "app", "--json"],
        &[("GITHUB_ACTIONS", "true")],
    );
    serde_json::from_str::<serde_json::Value>(&run.stdout()).expect("one JSON document");
    // Without the variable there is no annotation.
    let plain = bench.run(&["preflight", "app"]);
    assert!(!plain.stdout().contains("::error"));
}

#[test]
fn checks_run_concurrently_up_to_jobs() {
    let bench = Bench::new();
    bench.runbook(
        "slow",
        r#"
[[preflight]]
kind = "run"
cmd = "sleep 1"
[[preflight]]
kind = "run"
cmd = "sleep 1"
[[preflight]]
kind = "run"
cmd = "sleep 1"
"#,
    );
    let start = Instant::now();
    bench.run(&["preflight", "slow", "--jobs", "3"]).status(0);
    let concurrent = start.elapsed();
    assert!(
        concurrent < Duration::from_millis(2500),
        "took {concurrent:?}"
    );
    let start = Instant::now();
    bench.run(&["preflight", "slow", "--jobs", "1"]).status(0);
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "--jobs 1 runs one at a time"
    );
}

#[test]
fn a_failed_preflight_changes_nothing_and_leaves_no_run() {
    let bench = checks();
    bench.tell("checker", "auth", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("preflight failed: auth");
    assert!(!bench.calls().contains(&"checker [deploy]".to_string()));
    assert!(bench.state_files().is_empty());
    // Fixed, the next promote starts normally.
    bench.forget("checker", "auth", "exit");
    bench.run(&["promote", "app"]).status(0);
}

#[test]
fn preflight_dry_run_runs_nothing() {
    let bench = checks();
    bench
        .run(&["preflight", "app", "--dry-run"])
        .status(0)
        .stdout_has("checker auth");
    assert!(bench.calls().is_empty());
    assert!(!bench.path("reliability.log").exists());
}

#[test]
fn continuing_a_paused_run_checks_again_and_a_failure_there_keeps_it_paused() {
    let bench = Bench::new();
    bench.fake("checker").runbook(
        "app",
        r#"
[[preflight]]
kind = "run"
name = "auth"
cmd = "checker auth"

[[steps]]
kind = "run"
cmd = "checker staging"

[[steps]]
kind = "pause"
name = "gate"

[[steps]]
kind = "run"
cmd = "checker production"

[[rollback]]
kind = "run"
cmd = "checker undo"
"#,
    );
    bench.run(&["promote", "app"]).status(0);
    bench.tell("checker", "auth", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("preflight failed: auth");
    // Nothing went on, nothing rolled back, and the run still waits at its gate.
    assert_eq!(bench.state("app")["status"], "paused");
    assert!(!bench.log_events().iter().any(|e| e.starts_with("ROLLBACK")));
    bench.forget("checker", "auth", "exit");
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "checker [auth]",
            "checker [staging]",
            "checker [auth]",
            "checker [auth]",
            "checker [production]"
        ]
    );
}

/// By default every check runs at once: six checks that each wait until all six have
/// started (a barrier, not a clock) pass; under a cap they could never all start.
#[test]
fn by_default_every_check_runs_at_once() {
    let bench = Bench::new();
    let check = r#"
[[preflight]]
kind = "run"
shell = true
cmd = "mkdir -p started && touch started/$$ && i=0; while [ $(ls started | wc -l) -lt 6 ]; do i=$((i+1)); [ $i -gt 400 ] && exit 1; sleep 0.05; done"
"#;
    bench.runbook("barrier", &check.repeat(6));
    bench.run(&["preflight", "barrier"]).status(0);
    bench
        .run(&["preflight", "barrier", "--dry-run"])
        .status(0)
        .stdout_has("all at once");
}

//! Promote, pause and continue, --full, failure with auto-rollback, resume, dry run.

use crate::support::Bench;

const GATED: &str = r#"
description = "two stages with a gate"

[[steps]]
name = "deploy staging"
kind = "run"
cmd  = "deployer deploy staging"

[[steps]]
kind   = "pause"
name   = "gate"
reason = "manager approval"

[[steps]]
name = "deploy production"
kind = "run"
cmd  = ["deployer", "deploy", "production"]

[[rollback]]
name = "undo"
kind = "run"
cmd  = "deployer undo"
"#;

fn gated() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", GATED).fake("deployer");
    bench
}

#[test]
fn promote_stops_at_the_pause_and_the_next_promote_continues_after_it() {
    let bench = gated();
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("paused at `gate`: manager approval");
    assert_eq!(bench.calls(), vec!["deployer [deploy] [staging]"]);
    assert_eq!(bench.state("app")["status"], "paused");

    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("app complete");
    assert_eq!(
        bench.calls(),
        vec![
            "deployer [deploy] [staging]",
            "deployer [deploy] [production]"
        ]
    );
    assert_eq!(bench.state("app")["status"], "completed");
    assert_eq!(
        bench.log_events(),
        vec![
            "RUN STARTED",
            "STEP OK",
            "PAUSED",
            "RUN STARTED",
            "STEP OK",
            "RUN COMPLETE"
        ]
    );

    // A completed run is over: the next promote starts a new one from the top.
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(bench.calls().len(), 3);
}

#[test]
fn full_goes_through_pauses() {
    let bench = gated();
    bench.run(&["promote", "app", "--full"]).status(0);
    assert_eq!(bench.calls().len(), 2);
    assert_eq!(bench.state("app")["status"], "completed");
}

#[test]
fn a_failure_after_a_change_rolls_back_and_exits_1() {
    let bench = gated();
    bench.tell("deployer", "deploy", "exit", "1");
    // The staging deploy itself fails: nothing had changed, so nothing is rolled back.
    bench.run(&["promote", "app", "--full"]).status(1);
    assert_eq!(bench.calls(), vec!["deployer [deploy] [staging]"]);
    assert!(
        !bench
            .log_events()
            .contains(&"ROLLBACK INITIATED".to_string())
    );
}

#[test]
fn a_failure_after_a_completed_step_runs_the_rollback() {
    let bench = Bench::new();
    bench.fake("deployer").fake("smoker").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd  = "deployer deploy"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "smoker check"

[[rollback]]
kind = "run"
cmd  = "deployer undo"
"#,
    );
    bench.tell("smoker", "check", "exit", "3");
    bench.tell("smoker", "check", "out", "GET /health -> 500\n");
    let run = bench.run(&["promote", "app"]);
    run.status(1)
        .stderr_has("smoke failed")
        .stderr_has("GET /health -> 500")
        .stderr_has("rollback complete");
    assert_eq!(
        bench.calls(),
        vec!["deployer [deploy]", "smoker [check]", "deployer [undo]"]
    );
    assert_eq!(bench.state("app")["status"], "rolled_back");
    assert_eq!(
        run.stderr().matches("summary:").count(),
        1,
        "one summary, after the rollback"
    );
    let events = bench.log_events();
    assert!(
        events.ends_with(&[
            "STEP FAILED".to_string(),
            "RUN FAILED".to_string(),
            "ROLLBACK INITIATED".to_string(),
            "STEP OK".to_string(),
            "ROLLBACK COMPLETE".to_string()
        ]),
        "{events:?}"
    );
    // The smoke test's output tail is in the log.
    assert!(
        bench.log().contains("GET /health -> 500"),
        "{}",
        bench.log()
    );
}

#[test]
fn resume_goes_on_from_the_failed_step_without_rerunning_finished_ones() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
auto_rollback = false

[[steps]]
kind = "run"
name = "one"
cmd  = "deployer one"

[[steps]]
kind = "run"
name = "two"
cmd  = "deployer two"

[[steps]]
kind = "run"
name = "three"
cmd  = "deployer three"
"#,
    );
    bench.tell("deployer", "two", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(bench.state("app")["status"], "failed");

    // promote does not start a failed run over.
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has("rollout resume app");

    bench.forget("deployer", "two", "exit");
    // Dry runs of the failed run say what would happen and change nothing.
    let state = bench.state_files();
    assert!(!state.is_empty());
    let log = bench.log();
    bench
        .run(&["resume", "app", "--dry-run"])
        .status(0)
        .stdout_has("would resume at `two`")
        .stdout_has("deployer three");
    bench
        .run(&["resume", "app", "--dry-run", "--from", "three"])
        .status(0)
        .stdout_has("would resume at `three`");
    bench.run(&["rollback", "--dry-run"]).status(0);
    bench.run(&["preflight", "app", "--dry-run"]).status(0);
    assert_eq!(bench.calls().len(), 2, "{:?}", bench.calls());
    assert_eq!(bench.state_files(), state);
    assert_eq!(bench.log(), log);

    bench.run(&["resume", "app"]).status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "deployer [one]",
            "deployer [two]",
            "deployer [two]",
            "deployer [three]"
        ]
    );
    assert_eq!(bench.state("app")["status"], "completed");
}

#[test]
fn a_dry_run_runs_nothing_and_writes_nothing() {
    let bench = gated();
    let run = bench.run(&["promote", "app", "--dry-run", "--full"]);
    run.status(0)
        .stdout_has("deployer deploy staging")
        .stdout_has("deployer deploy production");
    assert!(bench.calls().is_empty());
    assert!(!bench.path("reliability.log").exists());
    assert!(!bench.path(".rollout").exists());

    bench
        .run(&["rollback", "app", "--dry-run"])
        .status(0)
        .stdout_has("deployer undo");
    assert!(bench.calls().is_empty());
    assert!(!bench.path(".rollout").exists());
}

#[test]
fn rollback_runs_the_rollback_steps_and_logs_them() {
    let bench = gated();
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "--reason", "error rate 4%"])
        .status(0);
    assert_eq!(bench.calls().last().unwrap(), "deployer [undo]");
    assert!(
        bench.log().contains("ROLLBACK INITIATED - app"),
        "{}",
        bench.log()
    );
    assert!(
        bench.log().contains("reason=\"error rate 4%\""),
        "{}",
        bench.log()
    );
    assert_eq!(bench.state("app")["status"], "rolled_back");
}

#[test]
fn a_hung_command_is_killed_at_its_timeout() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"
timeout = "1s"
"#,
    );
    bench.tell("deployer", "deploy", "hang", "");
    let start = std::time::Instant::now();
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("timed out after 1s");
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    let pids = std::fs::read_to_string(bench.path("fake/deployer.pids")).unwrap();
    for pid in pids.split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        assert!(
            !crate::support::alive(pid),
            "pid {pid} survived the timeout"
        );
    }
}

#[test]
fn a_runbook_without_steps_is_not_reported_complete() {
    let bench = Bench::new();
    bench.runbook(
        "checks",
        r#"
[[preflight]]
kind = "run"
cmd  = "deployer check"
"#,
    );
    bench.fake("deployer");
    bench
        .run(&["promote", "checks"])
        .status(2)
        .stderr_has("runbook `checks` has no [[steps]]: there is nothing to promote")
        .stderr_has("`rollout preflight checks`");
    assert!(bench.calls().is_empty(), "{:?}", bench.calls());
    assert!(bench.log_events().is_empty(), "{}", bench.log());
    assert!(bench.state_files().is_empty());
    bench
        .run(&["promote", "checks", "--dry-run"])
        .status(2)
        .stderr_has("has no [[steps]]");
}

#[test]
fn an_unknown_runbook_in_an_empty_folder_points_at_init() {
    let bench = Bench::new();
    bench
        .run(&["promote", "web"])
        .status(2)
        .stderr_has("no runbook `web` in ")
        .stderr_has("`rollout init --name web` writes a starter");
}

#[test]
fn a_run_keeps_the_set_values_it_started_with() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[vars]
version = "1.0"

[[steps]]
kind = "run"
name = "staging"
cmd  = "deployer staging {{version}}"

[[steps]]
kind = "pause"
name = "gate"

[[steps]]
kind = "run"
name = "production"
cmd  = "deployer production {{version}}"

[[rollback]]
kind = "run"
cmd  = "deployer undo {{version}}"
"#,
    );
    bench
        .run(&["promote", "app", "--set", "version=2.1"])
        .status(0);
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("started with --set version=2.1");
    // A different value half-way is refused, saying what the run started with.
    bench
        .run(&["promote", "app", "--set", "version=3.0"])
        .status(2)
        .stderr_has("started with version=2.1");
    // Continuing without --set ships what staging got.
    bench.run(&["promote", "app"]).status(0);
    // And a rollback, emergency or not, undoes that same release.
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "deployer [staging] [2.1]",
            "deployer [production] [2.1]",
            "deployer [undo] [2.1]"
        ]
    );
}

//! One run of a runbook at a time.

use std::time::Duration;

use crate::support::Bench;

#[test]
fn a_second_concurrent_promote_exits_3_naming_the_holder() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        r#"
[[steps]]
kind = "soak"
duration = "30s"
"#,
    );
    let mut first = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| b.log().contains("RUN STARTED")));
    let second = bench.run(&["promote", "app"]);
    second
        .status(3)
        .stderr_has("locked by tester@")
        .stderr_has(&format!("pid {}", first.id()))
        .stderr_has("rollout promote app");
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("locked by tester@");
    // A dry run answers as the real command would, without taking the lock: the run
    // in progress is not mistaken for an interrupted one.
    for args in [
        vec!["promote", "app", "--dry-run"],
        vec!["resume", "app", "--dry-run"],
        vec!["rollback", "app", "--dry-run"],
        vec!["rollback", "--dry-run"],
    ] {
        bench
            .run(&args)
            .status(3)
            .stderr_has("locked by tester@")
            .stderr_has(&format!("pid {}", first.id()));
    }
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn emergency_rollback_takes_the_lock_from_a_running_promote() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"

[[steps]]
kind = "soak"
duration = "60s"

[[rollback]]
kind = "run"
cmd = "deployer undo"
"#,
    );
    let first = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")));
    let run = bench.run(&["rollback", "--emergency"]);
    run.status(0).stderr_has("took the lock");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(130));
    // SPEC §4.2: the interrupted operator's terminal says who took over.
    let told = String::from_utf8_lossy(&first.stderr);
    assert!(
        told.contains("taken over by tester@") && told.contains("rollback"),
        "{told}"
    );
    assert!(!bench.path(".rollout/locks/app.lock.takeover").exists());
    assert_eq!(bench.calls().last().unwrap(), "deployer [undo]");
    let events = bench.log_events();
    assert!(events.contains(&"INTERRUPTED".to_string()), "{events:?}");
    assert!(
        events.ends_with(&[
            "EMERGENCY ROLLBACK INITIATED".to_string(),
            "STEP OK".to_string(),
            "EMERGENCY ROLLBACK COMPLETE".to_string()
        ]),
        "{events:?}"
    );
}

#[test]
fn an_emergency_dry_run_names_the_run_it_would_stop_and_stops_nothing() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"soak\"\nduration = \"30s\"\n[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    let mut first = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| b.log().contains("RUN STARTED")));
    bench
        .run(&["rollback", "app", "--emergency", "--dry-run"])
        .status(0)
        .stdout_has("would take the lock from tester@")
        .stdout_has("deployer undo");
    assert!(
        first.try_wait().unwrap().is_none(),
        "the promote is still running"
    );
    assert!(bench.calls().is_empty());
    first.kill().unwrap();
    first.wait().unwrap();
}

//! `rollout abandon` (SPEC §3): ends a paused, parked, failed or interrupted run without
//! running a step; a run that changed something needs `--force`, and `RUN ABANDONED`
//! names what it left as it is; a run already over is left as it is (exit 0). Hints
//! name the command that actually gets the operator out.

use crate::support::Bench;

const RUNBOOK: &str = r#"
[[steps]]
kind = "run"
name = "migrate"
cmd  = "tool migrate"

[[steps]]
kind   = "pause"
name   = "gate"
reason = "check the dashboards"

[[steps]]
kind = "run"
name = "switch"
cmd  = "tool switch"

[[rollback]]
kind = "run"
name = "undo"
cmd  = "tool undo"
"#;

#[test]
fn a_run_that_changed_something_is_abandoned_only_with_force() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    bench.run(&["promote", "app", "--yes"]).status(0);
    let run_id = bench.state("app")["run_id"].as_str().unwrap().to_string();
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("waits for: the pause `gate`: check the dashboards")
        .stdout_has("next step: switch")
        .stdout_has("go on: rollout promote app");
    let json: serde_json::Value =
        serde_json::from_str(&bench.run(&["status", "app", "--json"]).stdout()).unwrap();
    assert_eq!(
        json["waiting_for"],
        "the pause `gate`: check the dashboards"
    );
    assert_eq!(json["command"], "rollout promote app");
    bench
        .run(&["abandon", "app"])
        .status(2)
        .stderr_has(&format!(
            "run {run_id} of `app` changed what its command steps did"
        ))
        .stderr_has("`rollout rollback app`")
        .stderr_has("`rollout abandon app --force`");
    assert_eq!(bench.state("app")["status"], "paused");
    bench
        .run(&["abandon", "app", "--force", "--reason", "finished by hand"])
        .status(0)
        .stdout_has("abandoned run")
        .stdout_has("the next `rollout promote app` starts a new run");
    let state = bench.state("app");
    assert_eq!(state["status"], "abandoned");
    assert_eq!(state["abandoned"], "finished by hand");
    let log = bench.log();
    assert!(
        log.contains(&format!("RUN ABANDONED - app run={run_id} was=paused reason=\"finished by hand\" step=gate left=\"what its command steps did\"")),
        "{log}"
    );
    assert_eq!(
        bench.calls(),
        vec!["tool [migrate]"],
        "abandon runs no step"
    );
    // Over: said so, exit 0.
    bench
        .run(&["abandon", "app"])
        .status(0)
        .stdout_has("is already over (abandoned); it is left as it is");
    bench
        .run(&["status", "app", "--json"])
        .status(0)
        .stdout_has("\"status\": \"abandoned\"");
    // The next promote starts afresh.
    bench.run(&["promote", "app", "--yes"]).status(0);
    assert_ne!(bench.state("app")["run_id"], run_id.as_str());
}

#[test]
fn a_failed_run_that_changed_nothing_is_over_and_abandon_needs_no_force() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    bench.tell("tool", "migrate", "exit", "1");
    bench.run(&["promote", "app", "--yes"]).status(1);
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("over (it changed nothing); a new run: rollout promote app");
    bench
        .run(&["abandon", "app", "--reason", "typo in --set"])
        .status(0)
        .stdout_has("(it was failed); no step ran");
    assert!(bench.log().contains("left=\"nothing changed\""));
    bench
        .run(&["abandon", "app", "--dry-run"])
        .status(0)
        .stdout_has("already over");
}

#[test]
fn promote_on_a_failed_run_that_changed_things_names_every_way_out() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    bench.run(&["promote", "app", "--yes"]).status(0);
    bench.tell("tool", "switch", "exit", "1");
    // Auto-rollback off for this one run: the failed run stays failed.
    bench.runbook("app", &format!("auto_rollback = false\n{RUNBOOK}"));
    bench.run(&["promote", "app", "--yes"]).status(1);
    bench
        .run(&["promote", "app", "--yes"])
        .status(2)
        .stderr_has("`rollout resume app`")
        .stderr_has("`rollout rollback app` undoes what it changed")
        .stderr_has("`rollout abandon app --force` leaves it as it is");
}

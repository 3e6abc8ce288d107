//! The engine's rules: retries, continue_on_error, exit codes, resume --from, emergency
//! escalation, the default runbook of `rollback`.

use crate::support::Bench;

#[test]
fn retries_try_again_and_are_counted() {
    let bench = Bench::new();
    bench.file("bin/flaky", "#!/bin/sh\nn=$(cat \"$FAKE_DIR/n\" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > \"$FAKE_DIR/n\"\n[ $n -ge 3 ]\n");
    std::fs::set_permissions(
        bench.path("bin/flaky"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    bench.runbook(
        "app",
        "[[steps]]\nkind = \"run\"\nname = \"flaky\"\ncmd = \"flaky\"\nretries = 2\nretry_delay = \"100ms\"\n",
    );
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("try 1 failed");
    assert_eq!(
        std::fs::read_to_string(bench.path("fake/n"))
            .unwrap()
            .trim(),
        "3"
    );
    assert!(bench.log().contains("attempts=3"), "{}", bench.log());
}

#[test]
fn retries_run_out() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"deployer x\"\nretries = 1\nretry_delay = \"50ms\"\n",
    );
    bench.tell("deployer", "x", "exit", "2");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(bench.calls().len(), 2);
}

#[test]
fn continue_on_error_warns_and_goes_on() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"deployer optional\"\ncontinue_on_error = true\n[[steps]]\nkind = \"run\"\ncmd = \"deployer next\"\n",
    );
    bench.tell("deployer", "optional", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("going on (continue_on_error)");
    assert_eq!(
        bench.calls(),
        vec!["deployer [optional]", "deployer [next]"]
    );
    assert!(bench.log().contains("continue_on_error=true"));
}

#[test]
fn expect_exit_and_expect_output_decide_success() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer status"
expect_exit = [0, 3]
expect_output = "ready"
"#,
    );
    bench.tell("deployer", "status", "exit", "3");
    bench.tell("deployer", "status", "out", "not yet\n");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("did not match /ready/");
    bench.tell("deployer", "status", "out", "all ready\n");
    bench.run(&["resume", "app"]).status(0);
    assert_eq!(bench.calls().len(), 2);
}

#[test]
fn resume_from_a_named_step() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "auto_rollback = false\n[[steps]]\nkind = \"run\"\nname = \"one\"\ncmd = \"deployer one\"\n[[steps]]\nkind = \"run\"\nname = \"two\"\ncmd = \"deployer two\"\n",
    );
    bench.tell("deployer", "two", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    bench.forget("deployer", "two", "exit");
    bench
        .run(&["resume", "app", "--from", "on"])
        .status(2)
        .stderr_has("did you mean `one`");
    bench.run(&["resume", "app", "--from", "one"]).status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "deployer [one]",
            "deployer [two]",
            "deployer [one]",
            "deployer [two]"
        ]
    );
    bench
        .run(&["resume", "app"])
        .status(2)
        .stderr_has("nothing to resume");
}

const ESCALATING: &str = r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"

[[rollback]]
kind = "run"
name = "undo"
cmd = "deployer undo"

[[emergency]]
kind = "run"
name = "restart"
cmd = "deployer restart"

[[emergency]]
kind = "run"
name = "scale to zero"
cmd = "deployer scale 0"
"#;

#[test]
fn a_failed_emergency_rollback_escalates_in_order_and_exits_4() {
    let bench = Bench::new();
    bench.fake("deployer").runbook("app", ESCALATING);
    bench.run(&["promote", "app"]).status(0);
    bench.tell("deployer", "undo", "exit", "1");
    bench.tell("deployer", "restart", "exit", "1");
    // The last rung fails too: the ladder ends failed (SPEC §4.2).
    bench.tell("deployer", "scale", "exit", "1");
    // No runbook named, no TTY: the last run's runbook.
    let run = bench.run(&["rollback", "--emergency", "--reason", "5xx spike"]);
    run.status(4).stderr_has("ROLLBACK FAILED");
    assert_eq!(
        bench.calls(),
        vec![
            "deployer [deploy]",
            "deployer [undo]",
            "deployer [restart]",
            "deployer [scale] [0]"
        ]
    );
    let log = bench.log();
    assert!(log.contains("EMERGENCY ROLLBACK INITIATED - app"), "{log}");
    assert!(log.contains("reason=\"5xx spike\""), "{log}");
    assert!(
        log.contains("STEP FAILED - app step=restart section=emergency"),
        "{log}"
    );
    assert!(
        log.contains("STEP FAILED - app step=\"scale to zero\" section=emergency"),
        "{log}"
    );
    assert!(log.contains("EMERGENCY ROLLBACK FAILED - app"), "{log}");
    assert_eq!(bench.state("app")["status"], "rollback_failed");
    // A new run does not start on top of a failed rollback.
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has("rollout rollback app");
}

#[test]
fn a_plain_rollback_that_fails_exits_4_without_escalating() {
    let bench = Bench::new();
    bench.fake("deployer").runbook("app", ESCALATING);
    bench.tell("deployer", "undo", "exit", "1");
    bench.run(&["rollback", "app"]).status(4);
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
}

#[test]
fn an_auto_rollback_that_fails_exits_4() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"deployer deploy\"\n[[steps]]\nkind = \"run\"\ncmd = \"deployer check\"\n[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    bench.tell("deployer", "check", "exit", "1");
    bench.tell("deployer", "undo", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(4)
        .stderr_has("a person must act now");
}

#[test]
fn rollback_without_a_runbook_and_no_runs_says_what_to_do() {
    let bench = Bench::new();
    bench.runbook("app", "[[rollback]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench
        .run(&["rollback", "--emergency"])
        .status(2)
        .stderr_has("rollout rollback RUNBOOK");
}

#[test]
fn status_json_reports_the_run() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\nname = \"one\"\ncmd = \"deployer one\"\n[[steps]]\nkind = \"pause\"\nname = \"gate\"\n",
    );
    bench.run(&["promote", "app"]).status(0);
    let doc: serde_json::Value =
        serde_json::from_str(&bench.run(&["status", "app", "--json"]).stdout()).unwrap();
    assert_eq!(doc["status"], "paused");
    assert_eq!(doc["at_step"], "gate");
    assert_eq!(doc["steps"][0]["name"], "one");
    assert_eq!(doc["lock"], serde_json::Value::Null);
    let list: serde_json::Value =
        serde_json::from_str(&bench.run(&["list", "--json"]).stdout()).unwrap();
    assert_eq!(list[0]["state"], "paused");
    assert_eq!(list[0]["at_step"], "gate");
}

#[test]
fn a_confirmed_rollback_step_is_not_asked_by_auto_rollback_or_emergency() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd  = "deployer one"

[[steps]]
kind = "run"
cmd  = "deployer two"

[[rollback]]
kind    = "run"
name    = "undo"
cmd     = "deployer undo"
confirm = true
"#,
    );
    // No terminal and no --yes: the auto-rollback still runs, saying it did not ask.
    bench.tell("deployer", "two", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(bench.calls().last().unwrap(), "deployer [undo]");
    assert!(
        bench.log().contains("not asked (auto-rollback)"),
        "{}",
        bench.log()
    );
    // A plain rollback needs the answer up front, and runs nothing without it.
    let before = bench.calls().len();
    bench
        .run(&["rollback", "app"])
        .status(2)
        .stderr_has("--yes");
    assert_eq!(bench.calls().len(), before);
    // An emergency never prompts and needs no terminal.
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert_eq!(bench.calls().len(), before + 1);
    assert!(bench.log().contains("not asked (--emergency)"));
}

#[test]
fn an_emergency_rollback_goes_on_when_state_cannot_be_read_or_written() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    // A file where the runs folder should be: nothing under it can be read or written.
    bench.file(".rollout/runs", "not a folder");
    bench
        .run(&["rollback", "app", "--emergency"])
        .status(0)
        .stderr_has("going on without it")
        .stderr_has("the emergency rollback goes on");
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
    assert!(
        bench.log().contains("EMERGENCY ROLLBACK COMPLETE - app"),
        "{}",
        bench.log()
    );
    // A plain rollback stops instead.
    bench.run(&["rollback", "app"]).status(2);
    assert_eq!(bench.calls().len(), 1);
}

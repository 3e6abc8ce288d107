//! The fly adapter end to end, against the stateful fake `fly`.

use std::time::{Duration, Instant};

use crate::fakes;
use crate::support::{Bench, alive};

const APP: &str = r#"
adapter = "fly"
target  = "web"

[[steps]]
kind  = "deploy"
name  = "deploy"
image = "reg/web:2"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
name = "previous image"

[[emergency]]
kind = "restart"
name = "restart machines"

[[emergency]]
kind  = "scale"
name  = "scale to zero"
count = 0
"#;

fn bench() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", APP).fake("checker");
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    bench
}

#[test]
fn a_failed_check_after_a_deploy_returns_to_the_stable_image_pinned_before_it() {
    let bench = bench();
    bench.file(
        "fake/fly.web.releases",
        "1 complete reg/web:1\n2 failed reg/web:bad\n",
    );
    bench.file("fake/fly.web.serving", "reg/web:1");
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(
        bench.calls(),
        [
            // SPEC §4.1: what runs is read (and pinned) just before the first change.
            "fly [releases] [--app] [web] [--json]",
            "fly [deploy] [--app] [web] [--image] [reg/web:2]",
            // SPEC §4.4: the version the deploy made, read back (flyctl does not say).
            "fly [releases] [--app] [web] [--json]",
            "checker",
            "fly [deploy] [--app] [web] [--image] [reg/web:1]",
            "fly [releases] [--app] [web] [--json]",
        ]
    );
    let log = bench.log();
    assert!(
        log.lines().any(|l| l.contains("STEP OK")
            && l.contains("release=reg/web:2")
            && l.contains("version=v3")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("section=rollback")
            && l.contains("release=reg/web:1")
            && l.contains("version=v4")),
        "{log}"
    );
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    let state = bench.state("app");
    assert_eq!(state["status"], "rolled_back");
    assert_eq!(state["releases"]["web"]["current"], "reg/web:1");
    assert_eq!(state["releases"]["web"]["stable"]["release"], "reg/web:1");
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("web: stable reg/web:1, current reg/web:1");
}

#[test]
fn a_deploy_records_current_and_previous_releases() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    let state = bench.state("app");
    assert_eq!(state["releases"]["web"]["current"], "reg/web:2");
    bench
        .run(&["status", "app", "--json"])
        .status(0)
        .stdout_has("\"current\": \"reg/web:2\"");
}

#[test]
fn emergency_rollback_without_a_tty_or_a_runbook_uses_the_last_run() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "--emergency"])
        .status(0)
        .stderr_has("previous image");
    // Back to the stable image the run pinned: no guess from the release list.
    assert_eq!(
        last_deploy(&bench),
        "fly [deploy] [--app] [web] [--image] [reg/web:1]"
    );
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    assert!(bench.log().contains("EMERGENCY ROLLBACK COMPLETE - app"));
}

#[test]
fn rollback_to_a_named_image() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "app", "--to", "reg/web:0", "--yes"])
        .status(0);
    assert_eq!(
        last_deploy(&bench),
        "fly [deploy] [--app] [web] [--image] [reg/web:0]"
    );
    assert_eq!(
        bench.state("app")["releases"]["web"]["current"],
        "reg/web:0"
    );
}

#[test]
fn a_failed_emergency_rollback_escalates_in_order_and_exits_4() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    bench.tell("fly", "deploy", "exit", "1");
    bench.tell("fly", "scale", "exit", "1");
    bench
        .run(&["rollback", "--emergency"])
        .status(4)
        .stderr_has("restart machines");
    let calls = bench.calls();
    assert_eq!(
        calls[calls.len() - 3..],
        [
            "fly [deploy] [--app] [web] [--image] [reg/web:1]",
            "fly [apps] [restart] [web]",
            "fly [scale] [count] [0] [--app] [web] [--yes]",
        ]
    );
    assert!(bench.log().contains("EMERGENCY ROLLBACK FAILED - app"));
    assert_eq!(bench.state("app")["status"], "rollback_failed");
}

#[test]
fn a_hung_fly_is_killed_at_the_step_timeout() {
    let bench = Bench::new();
    fakes::fly(&bench, &[]);
    bench.runbook(
        "app",
        "adapter = \"fly\"\ntarget = \"web\"\n[[steps]]\nkind = \"deploy\"\ntimeout = \"1s\"\n",
    );
    bench.tell("fly", "deploy", "hang", "");
    let start = Instant::now();
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("timed out after 1s");
    assert!(
        start.elapsed() < Duration::from_secs(9),
        "{:?}",
        start.elapsed()
    );
    let pids = fakes::hung_pids(&bench, "fly");
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.iter().all(|p| !alive(*p)), "still alive: {pids:?}");
}

#[test]
fn dry_run_calls_nothing_and_prints_every_command() {
    let bench = Bench::new();
    bench.runbook("app", APP);
    bench
        .run(&["promote", "app", "--dry-run"])
        .status(0)
        .stdout_has("$ fly deploy --app web --image reg/web:2");
    bench
        .run(&["rollback", "app", "--emergency", "--dry-run"])
        .status(0)
        .stdout_has("$ fly deploy --app web --image '<the stable image pinned before the run changed the app>'")
        .stdout_has("$ fly scale count 0 --app web --yes");
    assert!(bench.calls().is_empty());
    assert!(!bench.path(".rollout/state").exists());
}

#[test]
fn a_missing_fly_binary_is_named_with_how_to_set_it() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        "adapter = \"fly\"\ntarget = \"web\"\n[adapters.fly]\nbin = \"~/no/fly\"\n[[steps]]\nkind = \"auth\"\n",
    );
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("no/fly` does not exist")
        .stderr_has("ROLLOUT_FLY_BIN");
}

#[test]
fn rollout_fly_bin_chooses_the_binary() {
    let bench = Bench::new();
    fakes::fly(&bench, &[]);
    std::fs::rename(bench.path("bin/fly"), bench.path("bin/flyctl")).unwrap();
    bench.runbook(
        "app",
        "adapter = \"fly\"\ntarget = \"web\"\n[[steps]]\nkind = \"auth\"\n",
    );
    let flyctl = bench.path("bin/flyctl");
    bench
        .run_with(
            &["promote", "app"],
            &[("ROLLOUT_FLY_BIN", flyctl.to_str().unwrap())],
        )
        .status(0);
    assert_eq!(bench.calls(), ["flyctl [auth] [whoami]"]);
}

#[test]
fn auto_rollback_leaves_targets_this_run_did_not_change_alone() {
    let bench = Bench::new();
    bench.fake("checker").runbook(
        "two",
        r#"
adapter = "fly"
target  = "web"

[[steps]]
kind   = "deploy"
name   = "deploy staging"
target = "web-staging"
image  = "reg/web:2"

[[steps]]
kind = "smoke"
name = "smoke staging"
cmd  = "checker"

[[steps]]
kind  = "deploy"
name  = "deploy production"
image = "reg/web:2"

[[rollback]]
kind   = "rollback"
name   = "staging back"
target = "web-staging"

[[rollback]]
kind = "rollback"
name = "production back"
"#,
    );
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    // Production has a history of its own.
    bench.file(
        "fake/fly.web.releases",
        "1 complete reg/web:0\n2 complete reg/web:1\n",
    );
    bench.file("fake/fly.web.serving", "reg/web:1");
    bench.tell("checker", "none", "exit", "1");
    bench
        .run(&["promote", "two"])
        .status(1)
        .stderr_has("skipping rollback step `production back`: this run did not change web");
    let calls = bench.calls();
    assert!(
        calls.iter().all(|c| !c.contains("--app] [web]")),
        "production untouched: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("fly [releases] [--app] [web-staging]")),
        "{calls:?}"
    );
    // A manual rollback touches only what the run changed too (SPEC §4.1) …
    bench.run(&["rollback", "two", "--yes"]).status(0);
    assert!(bench.calls().iter().all(|c| !c.contains("--app] [web]")));
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    // … and `--all` reaches the rest, each to the release before the one it runs.
    bench.run(&["rollback", "two", "--yes", "--all"]).status(0);
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:0");
}

/// The last `fly deploy` the simulator saw (each is followed by a `fly releases`).
fn last_deploy(bench: &Bench) -> String {
    bench
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.starts_with("fly [deploy]"))
        .unwrap_or_default()
}

//! The example runbooks in `runbooks/`, run end to end against the platform fakes
//! (long waits shortened, host paths moved into the bench).

use crate::fakes;
use crate::http::{Reply, TestServer};
use crate::support::Bench;

const CANARY: &str = include_str!("../../runbooks/canary.toml");
const K8S: &str = include_str!("../../runbooks/k8s-canary.toml");
const FLAGS: &str = include_str!("../../runbooks/flags.toml");

/// canary.toml with its waits shortened; the checks still run, against a local server.
fn fast_canary() -> String {
    CANARY
        .replace("\"30m\"", "\"1s\"")
        .replace("interval    = \"5s\"", "interval    = \"50ms\"")
        .replace("interval = \"15s\"", "interval = \"200ms\"")
        .replace("interval   = \"1m\"", "interval   = \"50ms\"")
        .replace("retry_delay = \"10s\"", "retry_delay = \"50ms\"")
}

#[test]
fn canary_goes_staging_to_production_on_evidence_and_rolls_back() {
    let server = TestServer::start(|seen, _| {
        if seen.url.starts_with("/health") {
            Reply::ok("{\"status\":\"ok\",\"version\":\"1.4.2\"}")
        } else if seen.url.starts_with("/api/v1/query") {
            Reply::ok(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.002"]}]}}"#,
            )
        } else {
            Reply::ok("ok")
        }
    });
    let bench = Bench::new();
    bench.runbook("canary", &fast_canary());
    bench.fake("cargo");
    bench.executable("scripts/smoke.sh", "#!/bin/sh\necho smoke ok \"$1\"\n");
    fakes::fly(&bench, &["1 complete reg/agent:1"]);
    let base = server.url("");
    let sets = [
        "--set".to_string(),
        format!("staging_url={base}"),
        "--set".to_string(),
        format!("prod_url={base}"),
        "--set".to_string(),
        format!("prometheus={base}"),
    ];
    let hook = server.url("/hooks/T0/s3cr3t");
    // A Tuesday at 11:00 in Chicago: inside the deployment window.
    let env = [
        ("SLACK_WEBHOOK_URL", hook.as_str()),
        ("ROLLOUT_NOW", "2026-11-24T17:00:00Z"),
    ];
    let args = |words: &[&str]| -> Vec<String> {
        words
            .iter()
            .map(|w| w.to_string())
            .chain(sets.iter().cloned())
            .collect()
    };
    let promote = args(&["promote", "canary"]);
    let promote: Vec<&str> = promote.iter().map(String::as_str).collect();
    bench
        .run_with(&promote, &env)
        .status(0)
        .stderr_has("paused at `manager approval`");
    let mut again = promote.clone();
    again.push("--yes");
    bench.run_with(&again, &env).status(0);
    let calls = bench.calls();
    assert!(
        calls.contains(&"fly [auth] [whoami]".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"fly [deploy] [--app] [hotdash-agent-service] [--config] [fly.production.toml] [--strategy] [rolling] [--image] [registry.fly.io/hotdash-agent-service:1.4.2]".to_string()),
        "{calls:?}"
    );
    let seen = server.requests();
    assert!(
        seen.iter()
            .any(|r| r.url.starts_with("/api/v1/query?query="))
    );
    let hooks: Vec<_> = seen
        .iter()
        .filter(|r| r.url.starts_with("/hooks/"))
        .collect();
    assert_eq!(hooks.len(), 2, "announce and announce done");
    assert!(hooks[1].body.contains("1.4.2 is live"), "{}", hooks[1].body);
    assert!(
        !bench.log().contains("s3cr3t"),
        "the webhook secret stays out of the log"
    );

    let rollback = args(&["rollback", "--emergency"]);
    let rollback: Vec<&str> = rollback.iter().map(String::as_str).collect();
    bench.run_with(&rollback, &env).status(0);
    // Each app goes back to the image it ran before the run, with the config its
    // deploy used (never a project-root fly.toml).
    assert_eq!(
        bench
            .calls()
            .into_iter()
            .rev()
            .find(|c| c.starts_with("fly [deploy]"))
            .unwrap_or_default(),
        "fly [deploy] [--app] [hotdash-agent-service] [--config] [fly.production.toml] [--image] [reg/agent:1]",
    );
    assert_eq!(
        fakes::fly_serves(&bench, "hotdash-agent-service"),
        "reg/agent:1"
    );
    assert_eq!(
        fakes::fly_serves(&bench, "hotdash-agent-service-staging"),
        "reg/agent:1"
    );
}

#[test]
fn canary_outside_the_window_stops_before_production() {
    let server = TestServer::always(Reply::ok("{\"version\":\"1.4.2\"}"));
    let bench = Bench::new();
    bench.runbook(
        "canary",
        &fast_canary().replace("{{prometheus}}", "http://127.0.0.1:1"),
    );
    bench.fake("cargo");
    fakes::fly(&bench, &["1 complete reg/agent:1"]);
    // Start past the staging checks: a paused run (started with --set prod_url=…),
    // continued on a Friday.
    let base = server.url("");
    bench.file(
        ".rollout/state/canary.json",
        &format!(
            r#"{{"run_id":"r-1","runbook":"canary","status":"paused","mode":"promote",
            "started_at":"2026-11-27T10:00:00Z","updated_at":"2026-11-27T10:00:00Z",
            "user":"tester","host":"h","pid":1,"changed":true,"steps":[],
            "at_step":"manager approval","sets":{{"prod_url":"{base}"}}}}"#
        ),
    );
    let env = [
        ("SLACK_WEBHOOK_URL", "http://127.0.0.1:1/x"),
        ("ROLLOUT_NOW", "2026-11-27T17:00:00Z"),
    ];
    bench
        .run_with(&["promote", "canary", "--yes"], &env)
        // SPEC §4.3 (v2): the closed window parks the run before production.
        .status(0)
        .stderr_has("opens Tue");
    assert!(
        !bench
            .calls()
            .iter()
            .any(|c| c.contains("fly.production.toml"))
    );
}

#[test]
fn k8s_canary_promotes_through_its_stages_and_undoes() {
    let bench = Bench::new();
    bench.runbook("k8s-canary", K8S);
    fakes::kubectl(&bench);
    bench.executable("scripts/smoke.sh", "#!/bin/sh\nexit 0\n");
    bench
        .run(&["promote", "k8s-canary", "--full", "--yes"])
        .status(0);
    let sets: Vec<String> = bench
        .calls()
        .into_iter()
        .filter(|c| c.contains("[env]"))
        .collect();
    assert_eq!(sets.len(), 4, "{sets:?}");
    assert!(sets[3].contains("[CANARY_PERCENT=100]"));
    assert_eq!(bench.state("k8s-canary")["releases"]["web"]["percent"], 100);
    bench.run(&["rollback", "k8s-canary", "--yes"]).status(0);
    let calls = bench.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("kubectl [rollout] [undo] [deployment/web] [--to-revision=1]")),
        "{calls:?}"
    );
    // What the cluster serves: the image and the env of before the run, in one revision.
    let (_, image, env) = fakes::kubectl_serves(&bench, "deployment/web");
    assert_eq!(image, "reg/web:1");
    assert!(env.get("CANARY_PERCENT").is_none(), "{env}");
    assert!(
        bench
            .log()
            .contains("web back on reg/web:1: manual rollback"),
        "{}",
        bench.log()
    );
}

#[test]
fn flags_goes_10_to_100_and_rollback_turns_the_flag_off() {
    let bench = Bench::new();
    let root = bench.root().display().to_string();
    bench.runbook(
        "flags",
        &FLAGS
            .replace("/srv/checkout", &format!("{root}/srv"))
            .replace(
                "/etc/systemd/system/checkout.service.d",
                &format!("{root}/units/checkout.service.d"),
            ),
    );
    bench.fake("systemctl").fake("curl");
    fakes::sudo(&bench);
    bench.tell("systemctl", "show", "out", "LoadState=loaded\n");
    std::fs::create_dir_all(bench.path("srv/releases/2026.11.2")).unwrap();
    bench.run(&["promote", "flags", "--full"]).status(0);
    let dropin = bench.path("units/checkout.service.d/rollout-NEW_CHECKOUT_PERCENT.conf");
    assert!(
        std::fs::read_to_string(&dropin)
            .unwrap()
            .contains("NEW_CHECKOUT_PERCENT=100")
    );
    bench.run(&["rollback", "flags"]).status(0);
    assert!(
        std::fs::read_to_string(&dropin)
            .unwrap()
            .contains("NEW_CHECKOUT_PERCENT=0")
    );
    assert_eq!(
        bench.calls().last().unwrap(),
        "systemctl [restart] [checkout.service]"
    );
}

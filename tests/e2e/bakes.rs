//! SPEC §4.3 bakes, end to end: a bake parks the run (exit 0, `baking`, its end), each
//! later `promote` checks every watch once and exits 0 while time is left, a watch that
//! fails fails the bake and rolls back, bad checks count across invocations, time passed
//! → preflight → the next step; `--full`, `resume --from`, `--wait`, a rollback during
//! a bake; HTTP and Prometheus watches against a real server on 127.0.0.1. The clock is
//! `ROLLOUT_NOW`, so two days pass without waiting for them.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};

use crate::http::{Reply, TestServer};
use crate::support::Bench;

/// A service's health endpoint and its Prometheus, both scripted by the test.
struct Service {
    server: TestServer,
    health: Arc<AtomicU16>,
    error_rate: Arc<Mutex<String>>,
}

impl Service {
    fn start() -> Service {
        let health = Arc::new(AtomicU16::new(200));
        let error_rate = Arc::new(Mutex::new("0.004".to_string()));
        let (h, e) = (health.clone(), error_rate.clone());
        let server = TestServer::start(move |seen, _| {
            if seen.url.starts_with("/api/v1/query") {
                let value = e.lock().unwrap().clone();
                Reply::ok(&format!(
                    r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"job":"web"}},"value":[1700000000.5,"{value}"]}}]}}}}"#
                ))
            } else {
                let status = h.load(Ordering::SeqCst);
                Reply::new(status, if status == 200 { "ok" } else { "down" })
            }
        });
        Service {
            server,
            health,
            error_rate,
        }
    }

    fn health(&self, status: u16) {
        self.health.store(status, Ordering::SeqCst);
    }

    fn error_rate(&self, value: &str) {
        *self.error_rate.lock().unwrap() = value.to_string();
    }

    fn runbook(&self) -> String {
        format!(
            r#"
[vars]
bake = "48h"

[[preflight]]
kind = "run"
name = "check"
cmd  = "tool check"

[[steps]]
kind = "run"
name = "flag 10%"
cmd  = "tool flag 10"

[[steps]]
kind     = "bake"
name     = "bake 10%"
duration = "{{{{bake}}}}"
interval = "200ms"
watch = [
  {{ url = "{health}", failures = 2 }},
  {{ prometheus = "{prom}", query = "error_ratio", max = 0.05 }},
]

[[steps]]
kind = "run"
name = "flag 25%"
cmd  = "tool flag 25"

[[rollback]]
kind = "run"
name = "flag off"
cmd  = "tool flag 0"
"#,
            health = self.server.url("/health"),
            prom = self.server.url(""),
        )
    }
}

fn bench(service: &Service) -> Bench {
    let bench = Bench::new();
    bench.runbook("flags", &service.runbook()).fake("tool");
    bench
}

const T0: &str = "2026-12-01T10:00:00Z";

fn at(bench: &Bench, now: &str, args: &[&str]) -> crate::support::Run {
    bench.run_with(args, &[("ROLLOUT_NOW", now)])
}

fn calls(bench: &Bench) -> Vec<String> {
    bench.calls()
}

#[test]
fn a_bake_parks_checks_on_every_promote_and_goes_on_once_its_time_has_passed() {
    let service = Service::start();
    let bench = bench(&service);
    at(&bench, T0, &["promote", "flags", "--yes"])
        .status(0)
        .stderr_has("baking at `bake 10%`: 2d left of 2days (ends 2026-12-03 10:00:00Z)");
    let state = bench.state("flags");
    assert_eq!(state["status"], "baking");
    assert_eq!(state["at_step"], "bake 10%");
    assert_eq!(state["parked"]["until"], "2026-12-03T10:00:00Z");
    assert_eq!(
        calls(&bench),
        vec!["tool [check]", "tool [flag] [10]"],
        "the step after the bake must not run yet"
    );
    let log = bench.log();
    assert!(log.contains("BAKING - flags step=\"bake 10%\""), "{log}");
    assert!(log.contains("until=2026-12-03T10:00:00Z"), "{log}");
    assert!(
        log.contains(&format!(
            "watches=\"GET {} = 200 (ok); error_ratio = 0.004 (ok)\"",
            service.server.url("/health")
        )),
        "{log}"
    );

    // An early promote: checks each watch once, says how long is left, exits 0.
    let before = service.server.requests().len();
    at(
        &bench,
        "2026-12-02T09:00:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0)
    .stderr_has("1d 1h left of 2days");
    assert_eq!(
        service.server.requests().len() - before,
        2,
        "each invocation checks each watch exactly once"
    );
    assert_eq!(
        calls(&bench).len(),
        2,
        "no preflight and no next step while baking"
    );
    let log = bench.log();
    assert_eq!(
        log.matches("RUN STARTED").count(),
        1,
        "a tick that finds the run parked logs one BAKING line: {log}"
    );
    assert_eq!(log.matches("BAKING - flags").count(), 2, "{log}");

    // Status says what it waits for, the last check, the next step and the command.
    let status = at(&bench, "2026-12-02T09:00:00Z", &["status", "flags"]);
    status
        .status(0)
        .stdout_has("flags: baking at `bake 10%`")
        .stdout_has("waits for: the bake `bake 10%` to end 2026-12-03 10:00:00Z (in 1d 1h)")
        .stdout_has("last check 2026-12-02 09:00:00Z")
        .stdout_has("error_ratio = 0.004 (ok; max 0.05)")
        .stdout_has("next step: flag 25%")
        .stdout_has("go on: rollout promote flags --yes");
    let json: serde_json::Value = serde_json::from_str(
        &at(
            &bench,
            "2026-12-02T09:00:00Z",
            &["status", "flags", "--json"],
        )
        .stdout(),
    )
    .unwrap();
    assert_eq!(json["status"], "baking");
    assert_eq!(json["until"], "2026-12-03T10:00:00Z");
    assert_eq!(json["next_step"], "flag 25%");
    assert_eq!(json["command"], "rollout promote flags --yes");
    assert_eq!(json["last_check"]["watches"][1]["value"], "0.004");
    let list: serde_json::Value =
        serde_json::from_str(&bench.run(&["list", "--json"]).stdout()).unwrap();
    assert_eq!(list[0]["state"], "baking");
    assert_eq!(list[0]["until"], "2026-12-03T10:00:00Z");
    let history: serde_json::Value =
        serde_json::from_str(&bench.run(&["history", "--json"]).stdout()).unwrap();
    assert_eq!(history[0]["state"], "baking");
    assert_eq!(history[0]["until"], "2026-12-03T10:00:00Z");
    assert!(history[0]["ended_at"].is_null());

    // Late: the time has passed and the watches pass: preflight, then the next step.
    at(
        &bench,
        "2026-12-03T10:05:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0);
    assert_eq!(
        calls(&bench),
        vec![
            "tool [check]",
            "tool [flag] [10]",
            "tool [check]",
            "tool [flag] [25]"
        ]
    );
    assert_eq!(bench.state("flags")["status"], "completed");
    assert!(bench.log().contains("STEP OK - flags step=\"bake 10%\""));
}

#[test]
fn a_failing_watch_fails_the_bake_and_rolls_back_counting_bad_checks_across_invocations() {
    let service = Service::start();
    let bench = bench(&service);
    service.health(503);
    at(&bench, T0, &["promote", "flags", "--yes"]).status(0);
    assert_eq!(
        bench.state("flags")["parked"]["failures"]
            [format!("GET {}", service.server.url("/health"))],
        1
    );
    // A good check in between resets the streak.
    service.health(200);
    at(
        &bench,
        "2026-12-01T11:00:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0);
    service.health(503);
    at(
        &bench,
        "2026-12-01T12:00:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0)
    .stderr_has("(bad 1/2)");
    // The second bad check in a row fails the bake: rollback, exit 1.
    let failed = at(
        &bench,
        "2026-12-01T13:00:00Z",
        &["promote", "flags", "--yes"],
    );
    failed.status(1).stderr_has(&format!(
        "the watch `GET {}` failed 2 times in a row (2 allowed): last GET {} → 503",
        service.server.url("/health"),
        service.server.url("/health")
    ));
    failed.stderr_has("threshold: expects 2xx");
    assert_eq!(calls(&bench).last().unwrap(), "tool [flag] [0]");
    assert_eq!(bench.state("flags")["status"], "rolled_back");
    assert!(bench.log().contains("ROLLBACK COMPLETE - flags"));
}

#[test]
fn a_prometheus_watch_over_its_threshold_names_itself_its_value_and_its_threshold() {
    let service = Service::start();
    let bench = bench(&service);
    at(&bench, T0, &["promote", "flags", "--yes"]).status(0);
    service.error_rate("0.09");
    at(
        &bench,
        "2026-12-01T11:00:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(1)
    .stderr_has(
        "the watch `error_ratio` failed 1 time in a row (1 allowed): last {job=\"web\"} = 0.09",
    )
    .stderr_has("threshold: max 0.05");
    let log = bench.log();
    assert!(
        log.contains("STEP FAILED - flags step=\"bake 10%\"")
            && log.contains("error_ratio = 0.09 (bad 1/1)"),
        "{log}"
    );
}

#[test]
fn full_never_skips_a_bake() {
    let service = Service::start();
    let bench = bench(&service);
    at(&bench, T0, &["promote", "flags", "--yes", "--full"])
        .status(0)
        .stderr_has("baking at `bake 10%`");
    assert!(!calls(&bench).contains(&"tool [flag] [25]".to_string()));
}

#[test]
fn resume_from_never_passes_an_unfinished_bake_and_a_failure_that_changed_nothing_is_over() {
    let service = Service::start();
    let bench = bench(&service);
    bench.tell("tool", "flag", "exit", "1");
    at(&bench, T0, &["promote", "flags", "--yes"]).status(1);
    let first = bench.state("flags")["run_id"].clone();
    at(&bench, T0, &["resume", "flags", "--from", "flag 25%"])
        .status(2)
        .stderr_has("`flag 25%` comes after the bake `bake 10%`, which has not finished (it has not started)")
        .stderr_has("rollout resume flags --from \"bake 10%\"");
    // It failed having changed nothing: the next promote starts afresh.
    bench.forget("tool", "flag", "exit");
    at(&bench, T0, &["promote", "flags", "--yes"]).status(0);
    let state = bench.state("flags");
    assert_ne!(state["run_id"], first, "a new run");
    assert_eq!(state["status"], "baking");
}

#[test]
fn wait_holds_the_process_through_the_bake() {
    let service = Service::start();
    let bench = bench(&service);
    let run = bench.run(&["promote", "flags", "--yes", "--wait", "--set", "bake=1s"]);
    run.status(0);
    assert_eq!(
        calls(&bench),
        vec![
            "tool [check]",
            "tool [flag] [10]",
            "tool [check]",
            "tool [flag] [25]"
        ],
        "{}",
        run.stderr()
    );
    assert_eq!(bench.state("flags")["status"], "completed");
    let checks = service
        .server
        .requests()
        .iter()
        .filter(|r| r.url == "/health")
        .count();
    assert!(
        checks >= 2,
        "--wait checks every interval, not once: {checks}"
    );
}

#[test]
fn a_rollback_may_run_during_a_bake() {
    let service = Service::start();
    let bench = bench(&service);
    at(&bench, T0, &["promote", "flags", "--yes"]).status(0);
    let first = bench.state("flags")["run_id"].clone();
    at(
        &bench,
        "2026-12-01T11:00:00Z",
        &["rollback", "flags", "--reason", "errors in support tickets"],
    )
    .status(0);
    assert_eq!(calls(&bench).last().unwrap(), "tool [flag] [0]");
    assert_eq!(bench.state("flags")["status"], "rolled_back");
    at(
        &bench,
        "2026-12-01T12:00:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0);
    assert_ne!(
        bench.state("flags")["run_id"],
        first,
        "the next promote starts afresh"
    );
}

#[test]
fn bad_bakes_and_watches_are_validation_errors_that_say_what_to_write() {
    let bench = Bench::new();
    bench.runbook("a", "[[steps]]\nkind = \"bake\"\n");
    bench
        .run(&["validate", "a"])
        .status(2)
        .stderr_has("has no `duration`: add e.g. duration = \"48h\"");
    bench.runbook(
        "a",
        "[[steps]]\nkind = \"bake\"\nduration = \"1h\"\nwatch = { interval = \"1m\" }\n",
    );
    bench
        .run(&["validate", "a"])
        .status(2)
        .stderr_has("has neither `url` nor `query`")
        .stderr_has("a Prometheus watch: prometheus =");
    bench.runbook(
        "a",
        "[[steps]]\nkind = \"bake\"\nduration = \"1h\"\nwatch = [{ url = \"http://a/h\" }, { prometheus = \"http://p:9090\", query = \"up\" }]\n",
    );
    bench.run(&["validate", "a"]).status(2).stderr_has(
        "`watch` #2 of [[steps]] #1 is a Prometheus watch without a threshold: add max = 0.05",
    );
    bench.runbook("a", "[[rollback]]\nkind = \"bake\"\nduration = \"1h\"\n");
    bench
        .run(&["validate", "a"])
        .status(2)
        .stderr_has("it belongs in [[steps]], not [[rollback]]");
    bench.runbook(
        "a",
        "[[steps]]\nkind = \"bake\"\nduration = \"1h\"\ntimeout = \"2h\"\n",
    );
    bench
        .run(&["validate", "a"])
        .status(2)
        .stderr_has("a `bake` has no `timeout`");
    bench.runbook(
        "a",
        "[vars]\nbake = \"soon\"\n[[steps]]\nkind = \"bake\"\nduration = \"{{bake}}\"\n",
    );
    bench
        .run(&["validate", "a"])
        .status(2)
        .stderr_has("`duration` must be a duration like");
}

#[test]
fn status_watch_follows_a_parked_run_until_it_ends() {
    let service = Service::start();
    let bench = bench(&service);
    at(&bench, T0, &["promote", "flags", "--yes"]).status(0);
    let mut watch = bench.command(&["status", "flags", "--watch"]);
    watch
        .env("ROLLOUT_NOW", "2026-12-02T09:00:00Z")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = watch.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    at(
        &bench,
        "2026-12-03T10:05:00Z",
        &["promote", "flags", "--yes"],
    )
    .status(0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("BAKING"),
        "the parked run's story: {stderr}"
    );
    assert!(stderr.contains("RUN COMPLETE"), "{stderr}");
    assert!(
        !stderr.contains("no run of `flags` in progress"),
        "{stderr}"
    );
}

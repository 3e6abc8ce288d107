//! SPEC §4.4: log lines and JSON events carry what rollout saw — a deploy's `release=`
//! and `target=`, a promote's `percent=`/`label=`, a health step's `p95=` and `status=`,
//! a metrics step's `value=`.

use crate::http::{Reply, TestServer};
use crate::support::Bench;

#[test]
fn step_lines_and_json_events_carry_the_observed_values() {
    let server = TestServer::start(|seen, _| {
        if seen.url.starts_with("/api/v1/query") {
            Reply::ok(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"web"},"value":[1700000000.5,"0.012"]}]}}"#,
            )
        } else {
            Reply::ok("ok")
        }
    });
    let bench = Bench::new();
    bench
        .runbook(
            "app",
            &format!(
                r#"
adapter = "exec"
target  = "web"

[[steps]]
kind    = "deploy"
name    = "ship"
release = "reg/web:1.5"
cmd     = "tool ship {{{{release}}}}"

[[steps]]
kind    = "promote"
name    = "beta"
percent = 25
label   = "beta"
cmd     = "tool flag {{{{percent}}}}"

[[steps]]
kind      = "health"
name      = "healthy"
url       = "{health}"
successes = 1
interval  = "100ms"

[[rollback]]
kind = "rollback"
name = "back"
cmd  = "tool back {{{{to}}}}"

[[steps]]
kind       = "metrics"
name       = "errors"
prometheus = "{prom}"
query      = "error_ratio"
max        = 0.05
"#,
                health = server.url("/health"),
                prom = server.url("")
            ),
        )
        .fake("tool");
    let run = bench.run(&["promote", "app", "--yes", "--json"]);
    run.status(0);
    let log = bench.log();
    assert!(
        log.contains("STEP OK - app step=ship") && log.contains("target=web release=reg/web:1.5"),
        "{log}"
    );
    assert!(log.contains("target=web percent=25 label=beta"), "{log}");
    assert!(log.contains("status=200 p95="), "{log}");
    assert!(
        log.contains("STEP OK - app step=errors") && log.contains("value=0.012"),
        "{log}"
    );
    let finished: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "step_finished" && e["step"] == "beta")
        .collect();
    assert_eq!(
        finished[0]["observed"],
        serde_json::json!([["target", "web"], ["percent", "25"], ["label", "beta"]])
    );
    // A rollback step names its target; ROLLBACK COMPLETE the release it returned to.
    // (An exec `cmd` rollback's release is recorded once the step is over, so its own
    // line has no `release=`; the adapters' rollbacks have it on the step too.)
    bench
        .run(&["rollback", "app", "--to", "reg/web:1.4"])
        .status(0);
    let log = bench.log();
    assert!(
        log.contains("STEP OK - app step=back section=rollback") && log.contains("target=web"),
        "{log}"
    );
    assert!(
        log.contains("ROLLBACK COMPLETE - app") && log.contains("releases=\"web=reg/web:1.4\""),
        "{log}"
    );
}

//! SPEC §4.3 windows: a closed `window` in `[[steps]]` parks the run (`waiting`, the
//! next opening in its time zone), rolls nothing back and notifies no failure; the next
//! `promote` inside the window goes on. In `[[preflight]]` a closed window still fails
//! preflight. "Now" is `ROLLOUT_NOW`.

use crate::http::{Reply, TestServer};
use crate::support::Bench;

fn runbook(webhook: &str) -> String {
    format!(
        r#"
[[preflight]]
kind = "run"
name = "check"
cmd  = "tool check"

[[steps]]
kind = "run"
name = "staging"
cmd  = "tool staging"

[[steps]]
kind = "window"
name = "production window"
days = ["tue", "wed", "thu"]
from = "10:00"
to   = "16:00"
tz   = "America/Chicago"

[[steps]]
kind = "run"
name = "production"
cmd  = "tool production"

[[rollback]]
kind = "run"
name = "undo"
cmd  = "tool undo"

[[rollback]]
kind    = "notify"
webhook = "{webhook}"
message = "rolled back"
"#
    )
}

#[test]
fn a_closed_window_parks_the_run_and_the_next_promote_inside_it_goes_on() {
    let hook = TestServer::start(|_, _| Reply::ok("ok"));
    let bench = Bench::new();
    bench
        .runbook("ship", &runbook(&hook.url("/hook")))
        .fake("tool");
    // Friday 12:00 in Chicago.
    let friday = [("ROLLOUT_NOW", "2026-12-04T18:00:00Z")];
    bench
        .run_with(&["promote", "ship", "--yes"], &friday)
        .status(0)
        .stderr_has("waiting at `production window`: the window is closed (outside the deployment window (Tue, Wed, Thu 10:00–16:00 America/Chicago)); it opens Tue 2026-12-08 10:00 America/Chicago, in 3d 22h");
    let state = bench.state("ship");
    assert_eq!(state["status"], "waiting");
    assert_eq!(state["parked"]["opens_at"], "2026-12-08T16:00:00Z");
    assert_eq!(bench.calls(), vec!["tool [check]", "tool [staging]"]);
    assert!(
        hook.requests().is_empty(),
        "nothing is notified as a failure"
    );
    let log = bench.log();
    assert!(
        log.contains("WAITING - ship step=\"production window\""),
        "{log}"
    );
    assert!(log.contains("opens_at=2026-12-08T16:00:00Z"), "{log}");
    assert!(
        !log.contains("ROLLBACK") && !log.contains("RUN FAILED"),
        "{log}"
    );

    bench
        .run_with(&["status", "ship"], &friday)
        .status(0)
        .stdout_has("ship: waiting at `production window`")
        .stdout_has("waits for: the window `production window` to open: Tue 2026-12-08 10:00 America/Chicago, in 3d 22h")
        .stdout_has("next step: production")
        .stdout_has("go on: rollout promote ship --yes");
    let json: serde_json::Value = serde_json::from_str(
        &bench
            .run_with(&["status", "ship", "--json"], &friday)
            .stdout(),
    )
    .unwrap();
    assert_eq!(json["status"], "waiting");
    assert_eq!(json["opens_at"], "2026-12-08T16:00:00Z");
    assert_eq!(json["command"], "rollout promote ship --yes");

    // Saturday: still closed, still parked, nothing else runs.
    bench
        .run_with(
            &["promote", "ship", "--yes"],
            &[("ROLLOUT_NOW", "2026-12-05T18:00:00Z")],
        )
        .status(0)
        .stderr_has("in 2d 22h");
    assert_eq!(bench.calls().len(), 2);

    // Tuesday 10:30 Chicago: preflight again, then production.
    bench
        .run_with(
            &["promote", "ship", "--yes"],
            &[("ROLLOUT_NOW", "2026-12-08T16:30:00Z")],
        )
        .status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "tool [check]",
            "tool [staging]",
            "tool [check]",
            "tool [production]"
        ]
    );
    assert_eq!(bench.state("ship")["status"], "completed");
}

#[test]
fn a_closed_window_in_preflight_still_fails_preflight() {
    let bench = Bench::new();
    bench
        .runbook(
            "ship",
            r#"
[[preflight]]
kind = "window"
days = ["tue"]
tz   = "UTC"

[[steps]]
kind = "run"
cmd  = "tool go"
"#,
        )
        .fake("tool");
    bench
        .run_with(
            &["promote", "ship", "--yes"],
            &[("ROLLOUT_NOW", "2026-12-04T18:00:00Z")],
        )
        .status(1)
        .stderr_has("preflight failed");
    assert!(bench.calls().is_empty());
}

#[test]
fn wait_holds_the_process_until_the_window_opens() {
    let hook = TestServer::start(|_, _| Reply::ok("ok"));
    let bench = Bench::new();
    bench
        .runbook("ship", &runbook(&hook.url("/hook")))
        .fake("tool");
    // Tuesday 09:59:59 in Chicago: the window opens in a second.
    bench
        .run_with(
            &["promote", "ship", "--yes", "--wait"],
            &[("ROLLOUT_NOW", "2026-12-08T15:59:59Z")],
        )
        .status(0);
    assert_eq!(
        bench.calls(),
        vec![
            "tool [check]",
            "tool [staging]",
            "tool [check]",
            "tool [production]"
        ]
    );
    assert_eq!(bench.state("ship")["status"], "completed");
}

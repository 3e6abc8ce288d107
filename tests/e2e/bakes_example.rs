//! The shipped multi-day example (`runbooks/flag-rollout.toml`, SPEC §8): 10 → 25 → 50
//! → 100 % with a bake between stages, Prometheus and health watches, a Tue–Thu window
//! before each production change and a staged rollback — driven like cron drives it,
//! `rollout promote flag-rollout --yes` again and again, with the bakes rehearsed at
//! 30 s (`--set bake=30s`) and "now" moved by `ROLLOUT_NOW`.

use std::sync::{Arc, Mutex};

use crate::fakes;
use crate::http::{Reply, TestServer};
use crate::support::{Bench, Run};

const EXAMPLE: &str = include_str!("../../runbooks/flag-rollout.toml");

struct World {
    bench: Bench,
    server: TestServer,
    error_ratio: Arc<Mutex<String>>,
}

impl World {
    fn new() -> World {
        let error_ratio = Arc::new(Mutex::new("0.001".to_string()));
        let ratio = error_ratio.clone();
        let server = TestServer::start(move |seen, _| {
            if seen.url.starts_with("/api/v1/query") {
                // The latency query asks for a quantile; the error query for a ratio.
                let value = if seen.url.contains("histogram_quantile") {
                    "0.21".to_string()
                } else {
                    ratio.lock().unwrap().clone()
                };
                Reply::ok(&format!(
                    r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.5,"{value}"]}}]}}}}"#
                ))
            } else {
                Reply::ok("ok")
            }
        });
        let bench = Bench::new();
        bench.runbook("flag-rollout", EXAMPLE);
        fakes::fly(&bench, &["1 complete reg/checkout:1"]);
        World {
            bench,
            server,
            error_ratio,
        }
    }

    fn promote(&self, now: &str) -> Run {
        let prometheus = format!("prometheus={}", self.server.url(""));
        let health = format!("health={}", self.server.url("/health"));
        self.bench.run_with(
            &[
                "promote",
                "flag-rollout",
                "--yes",
                "--set",
                "bake=30s",
                "--set",
                "check=100ms",
                "--set",
                &prometheus,
                "--set",
                &health,
            ],
            &[("ROLLOUT_NOW", now)],
        )
    }

    fn flag(&self) -> Option<String> {
        fakes::fly_secret(&self.bench, "checkout", "NEW_CHECKOUT_PERCENT")
    }
}

#[test]
fn the_example_validates_and_shows_cleanly() {
    let bench = Bench::new();
    bench.runbook("flag-rollout", EXAMPLE);
    bench.run(&["validate", "flag-rollout"]).status(0);
    let show = bench.run(&["show", "flag-rollout"]);
    show.status(0)
        .stdout_has("bake 10%  [bake]  bake 2days (parks the run")
        .stdout_has("only Tue, Wed, Thu 10:00–16:00 America/Chicago")
        .stdout_has("fly secrets set NEW_CHECKOUT_PERCENT=100 --app checkout");
    assert!(show.stderr().is_empty(), "{}", show.stderr());
}

#[test]
fn cron_drives_the_example_from_10_to_100_percent() {
    let world = World::new();
    // Friday 12:00 in Chicago: the window is closed, the run waits for Tuesday.
    world
        .promote("2026-11-27T18:00:00Z")
        .status(0)
        .stderr_has("waiting at `window 10%`");
    assert_eq!(world.flag(), None);
    // Tuesday 10:30: the window is open; 10 %, then the bake parks the run.
    world
        .promote("2026-12-01T16:30:00Z")
        .status(0)
        .stderr_has("baking at `bake 10%`: 30s left");
    assert_eq!(world.flag().as_deref(), Some("10"));
    world
        .bench
        .run_with(
            &["status", "flag-rollout"],
            &[("ROLLOUT_NOW", "2026-12-01T16:30:10Z")],
        )
        .status(0)
        .stdout_has("waits for: the bake `bake 10%` to end 2026-12-01 16:30:30Z (in 20s)")
        .stdout_has("= 0.001 (ok; max 0.05)")
        .stdout_has("= 0.21 (ok; max 1)")
        .stdout_has("next step: window 25%")
        .stdout_has("go on: rollout promote flag-rollout --yes");
    // A cron tick 10 s later: still baking, exit 0, nothing changes.
    world
        .promote("2026-12-01T16:30:10Z")
        .status(0)
        .stderr_has("20s left");
    assert_eq!(world.flag().as_deref(), Some("10"));
    // Each later tick once the bake is over goes one stage further.
    world
        .promote("2026-12-01T16:31:00Z")
        .status(0)
        .stderr_has("baking at `bake 25%`");
    assert_eq!(world.flag().as_deref(), Some("25"));
    world
        .promote("2026-12-01T16:32:00Z")
        .status(0)
        .stderr_has("baking at `bake 50%`");
    assert_eq!(world.flag().as_deref(), Some("50"));
    world.promote("2026-12-01T16:33:00Z").status(0);
    assert_eq!(world.flag().as_deref(), Some("100"));
    assert_eq!(world.bench.state("flag-rollout")["status"], "completed");
    let log = world.bench.log();
    assert!(log.contains("percent=100 label=ga"), "{log}");
    assert_eq!(log.matches("WAITING - flag-rollout").count(), 1, "{log}");
}

#[test]
fn a_watch_that_fails_mid_bake_turns_the_flag_off_in_stages() {
    let world = World::new();
    world.promote("2026-12-01T16:30:00Z").status(0);
    *world.error_ratio.lock().unwrap() = "0.09".to_string();
    world
        .promote("2026-12-01T16:30:10Z")
        .status(1)
        .stderr_has("threshold: max 0.05");
    assert_eq!(world.flag().as_deref(), Some("0"));
    let log = world.bench.log();
    assert!(
        log.contains("STEP OK - flag-rollout step=\"healthy without the flag\""),
        "{log}"
    );
    assert!(
        log.contains("message=\"NEW_CHECKOUT_PERCENT back to 0: step `bake 10%` failed: the watch"),
        "{log}"
    );
    assert_eq!(world.bench.state("flag-rollout")["status"], "rolled_back");
}

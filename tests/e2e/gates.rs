//! `window`, `approval`, `notify` and `git`: the gates around a rollout.

use std::time::{Duration, Instant};

use crate::http::{Reply, TestServer};
use crate::support::Bench;

const WINDOW: &str = r#"
[[steps]]
kind = "window"
days = ["tue", "wed", "thu"]
from = "10:00"
to   = "14:00"
tz   = "America/Chicago"
freeze = ["2026-11-25..2026-11-27"]

[[steps]]
name = "ship"
kind = "run"
cmd  = "deployer ship"

[[rollback]]
kind = "window"
days = ["tue"]
tz   = "UTC"

[[rollback]]
name = "undo"
kind = "run"
cmd  = "deployer undo"
"#;

fn windowed() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", WINDOW).fake("deployer");
    bench
}

#[test]
fn inside_the_window_the_run_goes_on() {
    let bench = windowed();
    // Tue 2026-11-24 10:30 in Chicago.
    bench
        .run_with(
            &["promote", "app"],
            &[("ROLLOUT_NOW", "2026-11-24T16:30:00Z")],
        )
        .status(0);
    assert_eq!(bench.calls(), vec!["deployer [ship]"]);
}

#[test]
fn outside_the_window_nothing_ships_and_the_next_opening_is_named() {
    let bench = windowed();
    // Mon 2026-11-23 09:12 in Chicago.
    bench
        .run_with(
            &["promote", "app"],
            &[("ROLLOUT_NOW", "2026-11-23T15:12:00Z")],
        )
        // SPEC §4.3 (v2): a closed window in [[steps]] parks the run, it does not fail it.
        .status(0)
        .stderr_has("outside the deployment window (Tue, Wed, Thu 10:00–14:00 America/Chicago)")
        .stderr_has("it opens Tue 2026-11-24 10:00 America/Chicago, in 1d 48m");
    assert!(bench.calls().is_empty());
    assert_eq!(bench.state("app")["status"], "waiting");
}

#[test]
fn a_freeze_closes_the_window() {
    let bench = windowed();
    // Wed 2026-11-25 11:00 in Chicago: inside the hours, but frozen.
    bench
        .run_with(
            &["promote", "app"],
            &[("ROLLOUT_NOW", "2026-11-25T17:00:00Z")],
        )
        .status(0)
        .stderr_has("inside the freeze 2026-11-25..2026-11-27")
        .stderr_has("opens Tue 2026-12-01 10:00 America/Chicago");
    assert!(bench.calls().is_empty());
}

#[test]
fn emergency_skips_windows_a_plain_rollback_does_not() {
    // The window stands in [[rollback]] itself (rollbacks run no preflight): a plain
    // rollback stops at it, before anything runs; an emergency skips it.
    let bench = windowed();
    let monday = [("ROLLOUT_NOW", "2026-11-23T15:12:00Z")];
    bench
        .run_with(&["rollback", "app", "--yes"], &monday)
        .stderr_has("outside the deployment window");
    assert!(bench.calls().is_empty());
    bench
        .run_with(&["rollback", "app", "--emergency"], &monday)
        .status(0);
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
}

const APPROVED: &str = r#"
[[steps]]
name = "ship staging"
kind = "run"
cmd  = "deployer staging"

[[steps]]
kind = "approval"
from = "release managers"

[[steps]]
name = "ship production"
kind = "run"
cmd  = "deployer production"
"#;

#[test]
fn an_approval_without_a_terminal_or_approver_refuses_before_anything_runs() {
    let bench = Bench::new();
    bench.runbook("app", APPROVED).fake("deployer");
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has(
            "an approver's name is needed for `approval` but there is no terminal to ask on",
        )
        .stderr_has("nothing was run")
        .stderr_has("--approved-by NAME");
    assert!(bench.calls().is_empty());
    assert!(bench.log_events().is_empty(), "{}", bench.log());
}

#[test]
fn an_approval_is_recorded_with_the_approver_in_the_log() {
    let bench = Bench::new();
    bench.runbook("app", APPROVED).fake("deployer");
    bench
        .run(&["promote", "app", "--approved-by", "alice"])
        .status(0);
    assert_eq!(bench.calls().len(), 2);
    let note = bench
        .log()
        .lines()
        .find(|l| l.contains("] NOTE - app"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(
        note.contains("step=approval")
            && note.contains("message=\"approved by alice (approval from release managers)\""),
        "{}",
        bench.log()
    );
}

#[test]
fn a_webhook_receives_the_json_text() {
    let server = TestServer::always(Reply::ok("ok"));
    let bench = Bench::new();
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"notify\"\nwebhook = \"{}\"\nmessage = \"{{{{runbook}}}} shipped by {{{{user}}}}\"\n",
            server.url("/hooks/T0/B0/{{secret.HOOK}}")
        ),
    );
    let run = bench.run_with(&["promote", "app", "--verbose"], &[("HOOK", "xoxb-123")]);
    run.status(0).stderr_has("POST http://127.0.0.1:");
    assert!(!run.stderr().contains("xoxb-123"), "{}", run.stderr());
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].url, "/hooks/T0/B0/xoxb-123");
    assert_eq!(seen[0].header("Content-Type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body, serde_json::json!({ "text": "app shipped by tester" }));
}

#[test]
fn a_hanging_webhook_does_not_hold_the_run_past_its_timeout() {
    let server = TestServer::always(Reply::ok("late").after(Duration::from_secs(20)));
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"notify\"\ntimeout = \"1s\"\nwebhook = \"{}\"\nmessage = \"hi\"\n\n[[steps]]\nname = \"ship\"\nkind = \"run\"\ncmd = \"deployer ship\"\n",
            server.url("/hook")
        ),
    );
    let start = Instant::now();
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("timed out after 1s");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // notify fails softly by default: the run went on.
    assert_eq!(bench.calls(), vec!["deployer [ship]"]);
    assert!(
        bench.log().contains("continue_on_error=true"),
        "{}",
        bench.log()
    );
}

fn git_available() -> bool {
    std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn git_checks_the_working_tree_branch_and_tag() {
    if !git_available() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let bench = Bench::new();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(bench.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    bench.runbook(
        "app",
        // In preflight: a failed check there changes nothing and leaves no run behind.
        "[[preflight]]\nkind = \"git\"\nclean = true\nbranch = \"main\"\ntag_pattern = \"v*\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"shipped\"\n",
    );
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init"]);
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("HEAD has no tag matching `v*`");
    git(&["tag", "v1.0.0"]);
    bench.file("dirty.txt", "x");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("the working tree has");
    std::fs::remove_file(bench.path("dirty.txt")).unwrap();
    git(&["checkout", "-q", "-b", "feature"]);
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("on branch `feature`, not `main`");
    git(&["checkout", "-q", "main"]);
    // The run's own state and log live in the tree: ignore them like a real project.
    bench.file(".gitignore", ".rollout/\nreliability.log\n");
    git(&["add", ".gitignore"]);
    git(&["commit", "-qm", "ignore"]);
    git(&["tag", "-f", "v1.0.1"]);
    bench.run(&["promote", "app"]).status(0);
}

#[test]
fn the_shipped_gated_runbook_validates_and_shows() {
    let bench = Bench::new();
    let root = env!("CARGO_MANIFEST_DIR");
    bench
        .run(&["-C", root, "validate", "gated"])
        .status(0)
        .stdout_has("runbooks/gated.toml");
    bench
        .run(&["-C", root, "show", "gated"])
        .status(0)
        .stdout_has("only Tue, Wed, Thu 10:00–14:00 America/Chicago")
        .stdout_has("POST *** text:");
}

#[test]
fn emergency_skips_approvals_a_plain_rollback_asks_for_one() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[rollback]]\nkind = \"approval\"\n\n[[rollback]]\nname = \"undo\"\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    bench
        .run(&["rollback", "app", "--yes"])
        .status(2)
        .stderr_has("an approver's name is needed for `approval`");
    assert!(bench.calls().is_empty());
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
}

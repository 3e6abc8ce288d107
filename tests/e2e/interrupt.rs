//! Ctrl-C and SIGTERM mid-run; SIGKILL leaves no stale lock.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{Bench, alive};

const SOAKING: &str = r#"
[[steps]]
kind = "run"
name = "deploy"
cmd  = "deployer deploy"

[[steps]]
kind = "soak"
name = "soak"
duration = "60s"

[[steps]]
kind = "run"
name = "after"
cmd  = "deployer after"
"#;

fn soaking() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", SOAKING).fake("deployer");
    bench
}

fn signal_mid_soak(signal: Signal) {
    let bench = soaking();
    let child = bench.spawn(&["promote", "app"]);
    let pid = Pid::from_raw(child.id() as i32);
    assert!(
        bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")),
        "the deploy step never finished"
    );
    std::thread::sleep(Duration::from_millis(300));
    kill(pid, signal).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        bench.log().contains("INTERRUPTED - app step=soak"),
        "{}",
        bench.log()
    );
    assert_eq!(bench.state("app")["status"], "interrupted");
    assert_eq!(bench.state("app")["at_step"], "soak");
    // The lock is free: status says so and a resume can start at once.
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("not locked");
    bench
        .run(&["resume", "app", "--dry-run"])
        .status(0)
        .stdout_has("would resume at `soak`");
}

#[test]
fn sigint_mid_soak_exits_130_logs_and_releases_the_lock() {
    signal_mid_soak(Signal::SIGINT);
}

#[test]
fn sigterm_mid_soak_exits_130_logs_and_releases_the_lock() {
    signal_mid_soak(Signal::SIGTERM);
}

#[test]
fn sigint_kills_the_running_child_and_its_group() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"
"#,
    );
    bench.tell("deployer", "deploy", "hang", "");
    let child = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| {
        b.path("fake/deployer.pids").exists()
    }));
    std::thread::sleep(Duration::from_millis(200));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let pids = std::fs::read_to_string(bench.path("fake/deployer.pids")).unwrap();
    for pid in pids.split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        assert!(!alive(pid), "pid {pid} outlived the interrupt");
    }
}

#[test]
fn sigkill_leaves_no_stale_lock_and_status_shows_interrupted() {
    let bench = soaking();
    let mut child = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")));
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("interrupted at `soak`")
        .stdout_has("not locked");
    // A new invocation gets the lock at once.
    bench
        .run(&["rollback", "app", "--emergency"])
        .status(2)
        .stderr_has("no [[rollback]] steps");
}

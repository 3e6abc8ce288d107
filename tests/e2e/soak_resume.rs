//! SPEC §4.3: a `soak` that was interrupted and is resumed waits only for what was left
//! at the interruption (its clock stops while no process runs it).

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::Bench;

const RUNBOOK: &str = r#"
[[steps]]
kind = "run"
name = "deploy"
cmd  = "tool deploy"

[[steps]]
kind = "soak"
name = "soak"
duration = "6s"

[[steps]]
kind = "run"
name = "after"
cmd  = "tool after"
"#;

#[test]
fn a_resumed_soak_waits_only_for_what_was_left() {
    let bench = Bench::new();
    bench.runbook("app", RUNBOOK).fake("tool");
    let child = bench.spawn(&["promote", "app"]);
    assert!(
        bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")),
        "the deploy step never finished"
    );
    std::thread::sleep(Duration::from_secs(3));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let soaked = bench.state("app")["soaked"]["soak"].as_u64().unwrap();
    assert!((2500..6000).contains(&soaked), "soaked {soaked}ms");

    let started = Instant::now();
    bench
        .run(&["resume", "app"])
        .status(0)
        .stderr_has("`soak` had soaked");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(6000 - soaked + 2500),
        "the resumed soak waited {took:?} after {soaked}ms had passed"
    );
    assert_eq!(bench.calls(), vec!["tool [deploy]", "tool [after]"]);
    assert!(
        bench.state("app")["soaked"].is_null(),
        "forgotten once done"
    );
}

#[test]
fn a_soak_killed_outright_resumes_from_its_last_checkpoint() {
    let bench = Bench::new();
    bench
        .runbook("app", &RUNBOOK.replace("\"6s\"", "\"9s\""))
        .fake("tool");
    let mut child = bench.spawn(&["promote", "app"]);
    assert!(
        bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")),
        "the deploy step never finished"
    );
    // Past the second checkpoint (every 2 s), then SIGKILL: no handler runs.
    assert!(
        bench.wait_for(Duration::from_secs(20), |b| {
            b.state("app")["soaked"]["soak"]
                .as_u64()
                .is_some_and(|ms| ms >= 4000)
        }),
        "no checkpoint of the soak"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let soaked = bench.state("app")["soaked"]["soak"].as_u64().unwrap();
    let started = Instant::now();
    bench.run(&["resume", "app"]).status(0);
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(9000 - soaked + 2500),
        "the resumed soak waited {took:?} after {soaked}ms had passed"
    );
    assert_eq!(bench.calls(), vec!["tool [deploy]", "tool [after]"]);
}

//! The run journal: one record appended per save, folded when read; torn last records,
//! corrupt records, first-version state files, and SIGKILL at any moment.

use std::time::Duration;

use crate::support::{Bench, fold_journal};

fn quick_steps(n: usize) -> String {
    "[[steps]]\nkind = \"run\"\ncmd = \"true\"\n\n".repeat(n)
}

fn journal_of(bench: &Bench, runbook: &str) -> (std::path::PathBuf, String) {
    let run_id = std::fs::read_to_string(bench.path(&format!(".rollout/runs/{runbook}/latest")))
        .expect("latest run");
    let path = bench.path(&format!(
        ".rollout/runs/{runbook}/{}.journal",
        run_id.trim()
    ));
    let text = std::fs::read_to_string(&path).expect("journal");
    (path, text)
}

/// 500 quick steps: every one recorded, and no save rewrites what came before it (the
/// biggest record is the first, the snapshot; every step's record is small).
#[test]
fn five_hundred_quick_steps_append_small_records() {
    let bench = Bench::new();
    bench.runbook("many", &quick_steps(500));
    bench.run(&["promote", "many"]).status(0);
    let state = bench.state("many");
    assert_eq!(state["status"], "completed");
    assert_eq!(state["steps"].as_array().map(Vec::len), Some(500));
    assert_eq!(state["steps"][499]["name"], "run true #500");
    let (_, text) = journal_of(&bench, "many");
    let sizes: Vec<usize> = text.lines().map(str::len).collect();
    // One record before each step and one after it, plus the start and the end.
    assert!(sizes.len() >= 1000, "{} records", sizes.len());
    let largest_after_start = sizes[1..].iter().max().copied().unwrap_or(0);
    assert!(
        largest_after_start < 600,
        "a record of {largest_after_start} bytes: a save rewrote history"
    );
}

#[test]
fn a_torn_last_record_is_ignored_and_said_so() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"true\"\n[[steps]]\nkind = \"pause\"\n[[steps]]\nkind = \"log\"\nmessage = \"after\"\n",
    );
    bench.run(&["promote", "app"]).status(0);
    let (path, text) = journal_of(&bench, "app");
    std::fs::write(&path, format!("{text}{{\"patch\":{{\"status\":\"comp")).unwrap();
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("paused")
        .stderr_has("ends in a torn record");
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(bench.state("app")["status"], "completed");
    let (_, after) = journal_of(&bench, "app");
    assert!(
        !after.contains("\"comp{"),
        "the torn tail is cut off: {after}"
    );
    fold_journal(&after);
}

#[test]
fn a_corrupt_record_is_exit_2_naming_the_journal_and_left_untouched() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        "[[steps]]\nkind = \"pause\"\n[[steps]]\nkind = \"run\"\ncmd = \"true\"\n",
    );
    bench.run(&["promote", "app"]).status(0);
    let (path, text) = journal_of(&bench, "app");
    let broken = text.replacen('\n', "\nnot a record\n", 1);
    std::fs::write(&path, &broken).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    for args in [
        vec!["status", "app"],
        vec!["promote", "app"],
        vec!["resume", "app"],
        vec!["history", "app"],
    ] {
        bench
            .run(&args)
            .status(2)
            .stderr_has(&name)
            .stderr_has("record 2");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
}

/// A state file of the first version is read as it is, and moved into a journal (once,
/// saying so) when the runbook next records something.
#[test]
fn a_first_version_state_file_is_read_then_migrated_once() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        "[[steps]]\nkind = \"run\"\nname = \"one\"\ncmd = \"true\"\n[[steps]]\nkind = \"pause\"\n[[steps]]\nkind = \"run\"\nname = \"two\"\ncmd = \"true\"\n",
    );
    bench.file(
        ".rollout/state/app.json",
        r#"{"run_id":"r-20261101-100000-abcd","runbook":"app","status":"paused","mode":"promote",
        "started_at":"2026-11-01T10:00:00Z","updated_at":"2026-11-01T10:00:05Z",
        "user":"old","host":"h","pid":1,"changed":true,
        "steps":[{"name":"one","section":"steps","status":"ok","started_at":"2026-11-01T10:00:00Z","duration_ms":5,"attempts":1}],
        "at_step":"pause"}"#,
    );
    bench.run(&["status", "app"]).status(0).stdout_has("paused");
    assert!(
        bench.path(".rollout/state/app.json").exists(),
        "reading changes nothing"
    );
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("moved the run state")
        .stderr_has("app.json.migrated");
    assert!(bench.path(".rollout/state/app.json.migrated").exists());
    let state = bench.state("app");
    assert_eq!(state["run_id"], "r-20261101-100000-abcd");
    assert_eq!(state["status"], "completed");
    let names: Vec<&str> = state["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, vec!["one", "pause", "two"]);
    // Once: the next run says nothing about it.
    let next = bench.run(&["promote", "app"]);
    assert!(!next.status(0).stderr().contains("moved the run state"));
}

/// SIGKILL at different moments of a run of quick steps: the state is always readable,
/// the lock is never stale, the log never has a torn line, and `resume` finishes.
#[test]
fn sigkill_at_any_moment_leaves_a_readable_state() {
    let bench = Bench::new();
    bench.runbook("app", &quick_steps(150));
    for delay_ms in [5u64, 40, 90, 160, 260] {
        let mut child = bench.spawn(&["promote", "app"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        bench.run(&["status", "app"]).status(0);
        if !bench.path(".rollout/runs/app/latest").exists() {
            // Killed before its first record: nothing to resume, nothing broken.
            continue;
        }
        let state = bench.state("app");
        let status = state["status"].as_str().unwrap_or_default().to_string();
        for line in bench.log().lines() {
            assert!(line.starts_with('['), "torn log line {line:?}");
        }
        match status.as_str() {
            "completed" => continue,
            "running" | "interrupted" => {
                bench.run(&["resume", "app"]).status(0);
                assert_eq!(bench.state("app")["status"], "completed");
                assert_eq!(
                    bench.state("app")["steps"].as_array().map(Vec::len),
                    Some(150)
                );
            }
            other => panic!("unexpected status {other}"),
        }
    }
}

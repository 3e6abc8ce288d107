//! The reliability log: its format, concurrent appends, notes, reading with filters.

use crate::support::Bench;

#[test]
fn sixteen_processes_appending_forty_notes_each_leave_640_intact_lines() {
    let bench = Bench::new();
    // 16 writers at once, each appending 40 notes one `rollout` process after another.
    std::thread::scope(|scope| {
        for p in 0..16 {
            let bench = &bench;
            scope.spawn(move || {
                for i in 0..40 {
                    let text =
                        format!("process {p} note {i} with some padding to make lines longer");
                    let status = bench.command(&["log", "note", &text]).status().unwrap();
                    assert!(status.success());
                }
            });
        }
    });
    let log = bench.log();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 640);
    let re = regex::Regex::new(
        r#"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] NOTE - - message="process (\d+) note (\d+) with some padding to make lines longer" user=tester host=\S+$"#,
    )
    .unwrap();
    let mut seen = std::collections::HashSet::new();
    for line in &lines {
        let caps = re
            .captures(line)
            .unwrap_or_else(|| panic!("torn or malformed line: {line}"));
        seen.insert((caps[1].to_string(), caps[2].to_string()));
    }
    assert_eq!(seen.len(), 640, "every note exactly once");
}

#[test]
fn log_lines_have_the_spec_format_and_hand_written_lines_survive() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        r#"
[[steps]]
kind = "log"
message = "hello from {{runbook}}"
"#,
    );
    bench.file("reliability.log", "# Reliability log\nwritten by a person");
    bench.run(&["promote", "app"]).status(0);
    let log = bench.log();
    assert!(
        log.starts_with("# Reliability log\nwritten by a person\n["),
        "{log}"
    );
    let re = regex::Regex::new(
        r#"(?m)^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] NOTE - app step=log run=r-\d{8}-\d{6}-[0-9a-f]{4} message="hello from app" user=tester host=\S+$"#,
    )
    .unwrap();
    assert!(re.is_match(&log), "{log}");

    let shown = bench.run(&["log"]).status(0).stdout();
    assert!(
        shown.contains("[hand-written] NOTE - - text=\"written by a person\""),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&bench.run(&["log", "--json"]).stdout()).unwrap();
    assert_eq!(json[0]["handwritten"], true);
}

#[test]
fn log_filters_by_runbook_event_and_tail() {
    let bench = Bench::new();
    bench
        .runbook("a", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n")
        .runbook("b", "[[steps]]\nkind = \"log\"\nmessage = \"y\"\n");
    bench.run(&["promote", "a"]).status(0);
    bench.run(&["promote", "b"]).status(0);
    let only_b = bench.run(&["log", "--runbook", "b"]).status(0).stdout();
    assert!(only_b.lines().all(|l| l.contains(" - b ")), "{only_b}");
    assert!(only_b.lines().count() >= 3);
    let complete = bench
        .run(&["log", "--event", "run_complete"])
        .status(0)
        .stdout();
    assert_eq!(complete.lines().count(), 2, "{complete}");
    let last = bench.run(&["log", "--tail", "1"]).status(0).stdout();
    assert_eq!(last.lines().count(), 1);
    assert!(last.contains("RUN COMPLETE - b"));
    bench
        .run(&["log", "--since", "yesterday-ish"])
        .status(2)
        .stderr_has("--since");
    bench
        .run(&["log", "--event", "DEPLOYED"])
        .status(2)
        .stderr_has("one of: RUN STARTED");
}

#[test]
fn a_log_that_cannot_be_written_stops_a_promote_before_it_starts() {
    let bench = Bench::new();
    bench
        .fake("deployer")
        .runbook("app", "[[steps]]\nkind = \"run\"\ncmd = \"deployer x\"\n");
    std::fs::create_dir_all(bench.path("reliability.log")).unwrap();
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("cannot append to the reliability log");
    assert!(bench.calls().is_empty());
}

#[test]
fn emergency_rollback_goes_on_when_the_log_cannot_be_written() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    std::fs::create_dir_all(bench.path("reliability.log")).unwrap();
    bench
        .run(&["rollback", "app", "--emergency"])
        .status(0)
        .stderr_has("cannot write the reliability log");
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
}

#[test]
fn follow_prints_entries_as_they_are_appended() {
    use std::io::{BufRead, BufReader};
    let bench = Bench::new();
    bench.run(&["log", "note", "before"]).status(0);
    let mut child = bench.spawn(&["log", "--follow"]);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait = std::time::Duration::from_secs(10);
    assert!(rx.recv_timeout(wait).unwrap().contains("message=before"));
    bench.run(&["log", "note", "after"]).status(0);
    assert!(rx.recv_timeout(wait).unwrap().contains("message=after"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_full_disk_stops_a_promote_before_any_step_but_not_an_emergency_rollback() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this machine");
        return;
    }
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"deployer go\"\n[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    // /dev/full opens for appending like any file and fails every write: a full disk.
    bench
        .run(&["promote", "app", "--log", "/dev/full"])
        .status(1)
        .stderr_has("cannot append to the reliability log")
        .stderr_has("nothing was run");
    assert!(bench.calls().is_empty(), "{:?}", bench.calls());
    bench
        .run(&["rollback", "app", "--log", "/dev/full"])
        .status(1);
    assert!(bench.calls().is_empty(), "{:?}", bench.calls());
    bench
        .run(&["rollback", "app", "--emergency", "--log", "/dev/full"])
        .status(0)
        .stderr_has("cannot write the reliability log /dev/full");
    assert_eq!(bench.calls(), vec!["deployer [undo]"]);
}

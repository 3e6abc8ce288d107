//! `rollout history` and `rollout log --run`: past runs from their journals.

use crate::support::Bench;

fn two_runs() -> (Bench, String, String) {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\nname = \"ship\"\ncmd = \"deployer ship\"\n\
         [[steps]]\nkind = \"run\"\nname = \"check\"\ncmd = \"deployer check\"\n\
         [[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
    );
    bench.run(&["promote", "app"]).status(0);
    let first = bench.state("app")["run_id"].as_str().unwrap().to_string();
    // Run ids are unique per second; the next run starts in another one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    bench.tell("deployer", "check", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    let second = bench.state("app")["run_id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    (bench, first, second)
}

#[test]
fn history_lists_past_runs_newest_first() {
    let (bench, first, second) = two_runs();
    bench.runbook("other", "[[steps]]\nkind = \"log\"\nmessage = \"hi\"\n");

    let run = bench.run(&["history", "app", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&run.status(0).stdout()).expect("json");
    let runs = runs.as_array().expect("one array");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], second.as_str());
    assert_eq!(runs[0]["state"], "rolled_back");
    assert_eq!(runs[1]["run_id"], first.as_str());
    assert_eq!(runs[1]["state"], "completed");
    for run in runs {
        for key in [
            "run_id",
            "user",
            "host",
            "started_at",
            "ended_at",
            "state",
            "releases",
        ] {
            assert!(run.get(key).is_some(), "{key} missing in {run}");
        }
        assert_eq!(run["user"], "tester");
        assert!(run["ended_at"].as_str().unwrap() >= run["started_at"].as_str().unwrap());
    }

    let limited = bench.run(&["history", "app", "--json", "--limit", "1"]);
    let limited: serde_json::Value = serde_json::from_str(&limited.stdout()).expect("json");
    assert_eq!(limited.as_array().map(Vec::len), Some(1));
    assert_eq!(limited[0]["run_id"], second.as_str());

    let table = bench.run(&["history"]);
    let text = table.status(0).stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RUN "), "{text}");
    assert!(
        lines[1].starts_with(&second) && lines[1].contains("rolled_back"),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&first) && lines[2].contains("completed"),
        "{text}"
    );
    assert!(lines[1].contains("tester@"), "{text}");

    bench
        .run(&["history", "other"])
        .status(0)
        .stdout_has("other: no runs yet");
    bench.run(&["history", "nope"]).status(2).stderr_has("nope");
}

#[test]
fn log_run_shows_only_that_runs_entries() {
    let (bench, first, second) = two_runs();
    bench.run(&["log", "note", "by hand"]).status(0);
    let text = bench.run(&["log", "--run", &first]).status(0).stdout();
    assert!(
        text.contains("RUN STARTED") && text.contains("RUN COMPLETE"),
        "{text}"
    );
    assert!(
        text.lines().all(|l| l.contains(&format!("run={first}"))),
        "{text}"
    );
    let failed = bench.run(&["log", "--run", &second, "--event", "step_failed", "--json"]);
    let lines: serde_json::Value = serde_json::from_str(&failed.status(0).stdout()).expect("json");
    assert_eq!(lines.as_array().map(Vec::len), Some(1));
    assert_eq!(lines[0]["fields"]["step"], "check");
    bench.run(&["log", "--run", "r-none"]).status(0);
    assert!(bench.run(&["log", "--run", "r-none"]).stdout().is_empty());
}

//! The command line itself: usage errors, completions, project discovery.

use crate::support::Bench;

#[test]
fn an_unknown_subcommand_is_exit_2_with_a_suggestion() {
    let bench = Bench::new();
    bench
        .run(&["promot", "app"])
        .status(2)
        .stderr_has("promote");
}

#[test]
fn an_unknown_runbook_is_exit_2_with_a_suggestion() {
    let bench = Bench::new();
    bench.runbook("canary", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench
        .run(&["promote", "canery"])
        .status(2)
        .stderr_has("canery")
        .stderr_has("canary");
    assert!(!bench.path(".rollout/locks/canery.lock").exists());
}

#[test]
fn outside_a_project_is_exit_2_saying_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollout"))
        .arg("list")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runbooks/"));
}

#[test]
fn the_project_is_found_from_a_subdirectory_and_with_dash_c() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        "description = \"the app\"\n[[steps]]\nkind = \"log\"\nmessage = \"x\"\n",
    );
    std::fs::create_dir_all(bench.path("deep/er")).unwrap();
    let out = bench
        .command(&["list"])
        .current_dir(bench.path("deep/er"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("the app"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = bench
        .command(&["-C", bench.root().to_str().unwrap(), "list", "--json"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["name"], "app");
    assert_eq!(json[0]["state"], "never_run");
}

#[test]
fn completions_are_printed_for_every_shell() {
    let bench = Bench::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        bench
            .run(&["completions", shell])
            .status(0)
            // The script asks the binary itself (dynamic completion).
            .stdout_has("COMPLETE");
    }
    bench.run(&["completions", "tcsh"]).status(2);
}

#[test]
fn confirmation_without_a_tty_refuses_before_any_step() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer staging"

[[steps]]
kind = "run"
name = "production"
cmd = "deployer production"
confirm = true
"#,
    );
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has("`production`")
        .stderr_has("--yes");
    assert!(bench.calls().is_empty(), "nothing ran: {:?}", bench.calls());
    bench.run(&["promote", "app", "--yes"]).status(0);
    assert_eq!(bench.calls().len(), 2);
}

#[test]
fn json_events_are_one_object_per_line() {
    let bench = Bench::new();
    bench
        .fake("deployer")
        .runbook("app", "[[steps]]\nkind = \"run\"\ncmd = \"deployer go\"\n");
    let out = bench.run(&["promote", "app", "--json"]).status(0).stdout();
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "run_started",
            "step_started",
            "step_finished",
            "run_complete",
            "finished"
        ]
    );
    assert_eq!(events[2]["status"], "ok");
    assert_eq!(events[4]["outcome"], "completed");
    assert_eq!(events[4]["exit_code"], 0);
}

#[test]
fn plain_output_has_no_carriage_returns_or_escape_sequences() {
    let bench = Bench::new();
    bench.file(
        "bin/noisy",
        "#!/bin/sh\nprintf '\\033[31mred\\033[0m\\r\\nprogress 50%%\\r'\necho done\n",
    );
    std::fs::set_permissions(
        bench.path("bin/noisy"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    bench.runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"noisy\"\n[[steps]]\nkind = \"soak\"\nduration = \"1500ms\"\n",
    );
    let run = bench.run(&["promote", "app", "--verbose", "--color", "always"]);
    run.status(0);
    let all = run.stdout() + &run.stderr();
    assert!(!all.contains('\r') && !all.contains('\u{1b}'), "{all:?}");
    assert!(all.contains("| red"), "{all}");
}

#[test]
fn bad_flags_are_exit_2_saying_what_is_wrong() {
    let bench = Bench::new();
    bench.runbook("app", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench
        .run(&["promote", "app", "--set", "novalue"])
        .status(2)
        .stderr_has("is not KEY=VALUE");
    bench
        .run(&["preflight", "app", "--jobs", "0"])
        .status(2)
        .stderr_has("--jobs");
    bench
        .run(&["list", "--color", "sometimes"])
        .status(2)
        .stderr_has("--color");
    bench
        .run(&["promote", "app", "--bogus"])
        .status(2)
        .stderr_has("--bogus");
    bench.run(&["promote"]).status(2).stderr_has("RUNBOOK");
    bench
        .run(&["log", "--tail", "many"])
        .status(2)
        .stderr_has("--tail");
    bench.run(&[]).status(2).stderr_has("Usage");
    bench.run(&["--version"]).status(0).stdout_has("rollout ");
}

#[test]
fn an_unused_set_is_only_a_warning_where_nothing_runs() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[vars]\nimage = \"a\"\n[[steps]]\nkind = \"run\"\ncmd = \"deployer {{image}}\"\n",
    );
    bench
        .run(&["validate", "app", "--set", "imgae=b"])
        .status(0)
        .stdout_has("did you mean `image`?");
    assert!(bench.calls().is_empty());
}

/// `rollout … 2>&1 | head -1`: the reader goes away, stderr is a closed pipe.
fn with_stderr_closed(bench: &Bench, args: &[&str]) -> std::process::Output {
    let mut child = bench
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stderr_changes_no_exit_code_and_stops_no_rollback() {
    let bench = Bench::new();
    bench
        .fake("deployer")
        .runbook("bad", "[[steps]]\nkind = \"lgo\"\n")
        .runbook(
            "app",
            "[[steps]]\nkind = \"run\"\ncmd = \"deployer go\"\n[[rollback]]\nkind = \"run\"\ncmd = \"deployer undo\"\n",
        );
    assert_eq!(
        with_stderr_closed(&bench, &["validate", "bad"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        with_stderr_closed(&bench, &["promote", "nope"])
            .status
            .code(),
        Some(2)
    );
    bench.run(&["promote", "app"]).status(0);
    // The log is unwritable too: the emergency warns on a stderr nobody reads, and goes on.
    std::fs::create_dir_all(bench.path("log-is-a-dir")).unwrap();
    let out = with_stderr_closed(
        &bench,
        &["rollback", "--emergency", "--log", "log-is-a-dir"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(bench.calls().last().unwrap(), "deployer [undo]");
}

#[test]
fn a_set_the_runbook_does_not_use_is_exit_2_for_promote_resume_rollback() {
    let bench = Bench::new();
    bench.fake("deployer");
    bench.runbook(
        "app",
        "[vars]\nversion = \"1.0\"\n[[steps]]\nkind = \"run\"\ncmd = \"deployer {{version}}\"\n[[rollback]]\nkind = \"run\"\ncmd = \"deployer back\"\n",
    );
    for command in [
        &["promote", "app"][..],
        &["resume", "app"],
        &["rollback", "app"],
        &["rollback", "app", "--emergency"],
        &["promote", "app", "--dry-run"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--set", "verison=2.8.0"]);
        bench
            .run(&args)
            .status(2)
            .stderr_has("--set verison is not used by runbook `app`; nothing was run")
            .stderr_has("did you mean `version`?");
    }
    assert!(bench.calls().is_empty(), "{:?}", bench.calls());
    assert!(!bench.path("reliability.log").exists());
    assert!(!bench.path(".rollout").exists());
    // show and validate only warn: they run nothing.
    bench
        .run(&["show", "app", "--set", "verison=2.8.0"])
        .status(0)
        .stderr_has("did you mean `version`?");
}

#[test]
fn log_with_an_unknown_runbook_or_event_says_so() {
    let bench = Bench::new();
    bench.runbook("canary", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench
        .run(&["log", "--runbook", "canery"])
        .status(2)
        .stderr_has("--runbook canery: no runbook of that name")
        .stderr_has("did you mean `canary`?");
    bench
        .run(&["log", "--event", "STEP EXPLODED"])
        .status(2)
        .stderr_has("not an event of the reliability log");
    // A runbook deleted since still has its history.
    bench
        .run(&["log", "note", "--runbook", "canary", "hello"])
        .status(0);
    std::fs::remove_file(bench.path("runbooks/canary.toml")).unwrap();
    bench
        .run(&["log", "--runbook", "canary"])
        .status(0)
        .stdout_has("hello");
    bench
        .run(&["log", "note", "--runbook", "nosuch", "hi"])
        .status(2)
        .stderr_has("--runbook nosuch");
}

#[test]
fn log_note_dry_run_writes_nothing() {
    let bench = Bench::new();
    bench.runbook("canary", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench
        .run(&["log", "note", "--dry-run", "paging", "the db team"])
        .status(0)
        .stdout_has("NOTE - - message=\"paging the db team\"")
        .stdout_has("nothing was written");
    assert!(!bench.path("reliability.log").exists());
    assert!(!bench.path(".rollout").exists());
}

#[test]
fn dry_runs_need_no_secret_and_touch_nothing() {
    let bench = Bench::new();
    bench.fake("deployer");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    bench.runbook(
        "app",
        &format!(
            "[[preflight]]\nkind = \"health\"\nurl = \"http://127.0.0.1:{port}/health\"\n\
             [[steps]]\nkind = \"run\"\ncmd = \"deployer --token {{{{secret.DEPLOY_TOKEN}}}}\"\n\
             [[rollback]]\nkind = \"run\"\ncmd = \"deployer back\"\nenv = {{ T = \"{{{{secret.DEPLOY_TOKEN}}}}\" }}\n"
        ),
    );
    for command in [
        &["promote", "app", "--dry-run"][..],
        &["preflight", "app", "--dry-run"],
        &["rollback", "app", "--dry-run"],
        &["rollback", "app", "--emergency", "--dry-run"],
    ] {
        let run = bench.run(command);
        run.status(0);
        if command[0] != "preflight" {
            run.stdout_has("<secret DEPLOY_TOKEN>");
        }
    }
    // resume has no run to go on with: it says so, still needing no secret.
    bench
        .run(&["resume", "app", "--dry-run"])
        .stderr_has("resume");
    // A secret that is set is still never shown.
    bench
        .run_with(
            &["promote", "app", "--dry-run"],
            &[("DEPLOY_TOKEN", "hunter2")],
        )
        .status(0)
        .stdout_has("--token '***'");
    assert!(
        !bench
            .run_with(
                &["promote", "app", "--dry-run"],
                &[("DEPLOY_TOKEN", "hunter2")]
            )
            .stdout()
            .contains("hunter2")
    );
    assert!(bench.calls().is_empty(), "{:?}", bench.calls());
    assert!(!bench.path("reliability.log").exists());
    assert!(!bench.path(".rollout").exists());
    assert!(listener.accept().is_err(), "a dry run sent an HTTP request");
}

#[test]
fn list_marks_a_runbook_that_does_not_validate() {
    let bench = Bench::new();
    bench.runbook("good", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    bench.runbook("bad", "[[steps]]\nkind = \"lgo\"\n");
    bench
        .run(&["list"])
        .status(0)
        .stdout_has("INVALID (1 error: rollout validate bad)");
    let json: serde_json::Value =
        serde_json::from_str(&bench.run(&["list", "--json"]).stdout()).unwrap();
    let bad = &json[0];
    assert_eq!(bad["name"], "bad");
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["state"], "never_run");
    assert_eq!(json[1]["valid"], true);
}

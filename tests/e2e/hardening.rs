//! Issue 11's defects, each as the operator would meet it: hangups, killed runs,
//! read-only and full disks, hostile runbooks and tool output.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::mounts;
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

[[rollback]]
kind = "run"
name = "undo"
cmd  = "deployer undo"
"#;

fn pids(bench: &Bench, file: &str) -> Vec<i32> {
    std::fs::read_to_string(bench.path(file))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// SIGHUP (an SSH session dropping) and SIGQUIT stop a run as SIGTERM does.
fn hangup_like(signal: Signal) {
    let bench = Bench::new();
    bench.runbook("app", SOAKING).fake("deployer");
    let child = bench.spawn(&["promote", "app"]);
    assert!(
        bench.wait_for(Duration::from_secs(20), |b| b.log().contains("STEP OK")),
        "the deploy step never finished"
    );
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        bench.log().contains("INTERRUPTED - app step=soak"),
        "{}",
        bench.log()
    );
    assert_eq!(bench.state("app")["status"], "interrupted");
    bench
        .run(&["status", "app"])
        .status(0)
        .stdout_has("not locked");
}

#[test]
fn sighup_interrupts_a_run_like_sigterm() {
    hangup_like(Signal::SIGHUP);
}

#[test]
fn sigquit_interrupts_a_run_like_sigterm() {
    hangup_like(Signal::SIGQUIT);
}

#[test]
fn sighup_stops_the_running_child_and_its_group() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "[[steps]]\nkind = \"run\"\ncmd = \"deployer deploy\"\n",
    );
    bench.tell("deployer", "deploy", "hang", "");
    let child = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| {
        b.path("fake/deployer.pids").exists()
    }));
    std::thread::sleep(Duration::from_millis(200));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGHUP).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    for pid in pids(&bench, "fake/deployer.pids") {
        assert!(!alive(pid), "pid {pid} outlived the hangup");
    }
}

/// After `kill -9 rollout`, the hung deploy dies with it (PR_SET_PDEATHSIG), and what it
/// left in its group is stopped by the next run before that run does anything.
#[test]
fn children_never_outlive_a_rollout_killed_with_sigkill() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
name = "deploy"
cmd = "deployer deploy"

[[rollback]]
kind = "run"
name = "undo"
cmd = "deployer undo"
"#,
    );
    bench.tell("deployer", "deploy", "hang", "");
    let mut child = bench.spawn(&["promote", "app"]);
    assert!(bench.wait_for(Duration::from_secs(20), |b| {
        b.path("fake/deployer.pids").exists()
    }));
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    let [grandchild, fake] = pids(&bench, "fake/deployer.pids")[..] else {
        panic!("two pids expected");
    };
    assert!(
        bench.wait_for(Duration::from_secs(5), |_| !alive(fake)),
        "the deploy (pid {fake}) outlived rollout"
    );
    assert!(
        alive(grandchild),
        "the grandchild is what the next run must stop"
    );
    bench.forget("deployer", "deploy", "hang");
    bench
        .run(&["rollback", "app", "--emergency"])
        .status(0)
        .stderr_has("process(es) that a killed run of `app` had left running");
    assert!(
        !alive(grandchild),
        "pid {grandchild} still runs beside the rollback"
    );
}

/// SPEC §4: a step that succeeded leaves no process behind, even one that ignores TERM.
#[test]
fn a_term_ignoring_grandchild_does_not_outlive_its_step() {
    let bench = Bench::new();
    bench
        .executable(
            "bin/forker",
            "#!/bin/sh\nsh -c 'trap \"\" TERM; exec sleep 120' &\necho $! > \"$FAKE_DIR/forker.pids\"\necho started\n",
        )
        .runbook(
            "app",
            "[[steps]]\nkind = \"run\"\nname = \"fork\"\ncmd = \"forker\"\n",
        );
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("step `fork` left 1 background process running; stopped when the step ended");
    let left = pids(&bench, "fake/forker.pids");
    assert_eq!(left.len(), 1);
    assert!(!alive(left[0]), "pid {} outlived its step", left[0]);
}

/// SPEC §4.2: the one command that must go on, goes on without its lock file.
#[test]
fn an_emergency_rollback_goes_on_when_the_lock_cannot_be_written() {
    let bench = Bench::new();
    bench.runbook("app", SOAKING).fake("deployer");
    std::fs::create_dir_all(bench.path(".rollout")).unwrap();
    let Some(_ro) = mounts::read_only(&bench.path(".rollout")) else {
        return;
    };
    bench
        .run(&["rollback", "app", "--emergency"])
        .status(0)
        .stderr_has("the emergency rollback goes on without the lock");
    assert!(
        bench.calls().iter().any(|c| c == "deployer [undo]"),
        "{:?}",
        bench.calls()
    );
    assert!(
        bench.log().contains("EMERGENCY ROLLBACK COMPLETE"),
        "{}",
        bench.log()
    );
    // Any other command refuses, as before.
    bench.run(&["rollback", "app"]).status(1);
}

#[test]
fn an_emergency_rollback_goes_on_on_a_full_disk() {
    let bench = Bench::new();
    bench.runbook("app", SOAKING).fake("deployer");
    let Some(_disk) = mounts::small_disk(&bench.path(".rollout"), 64 * 1024) else {
        return;
    };
    mounts::fill(&bench.path(".rollout"));
    let run = bench.run(&["rollback", "app", "--emergency"]);
    run.status(0);
    assert!(
        bench.calls().iter().any(|c| c == "deployer [undo]"),
        "{:?}",
        bench.calls()
    );
    assert!(
        bench.log().contains("EMERGENCY ROLLBACK COMPLETE"),
        "{}",
        bench.log()
    );
}

/// SPEC §4.5: a runbook is named by its file stem, never by a path.
#[test]
fn a_runbook_name_that_is_a_path_is_refused_and_nothing_is_written() {
    let bench = Bench::new();
    bench.runbook("app", SOAKING).fake("deployer");
    bench.file("Cargo.toml", "[package]\n");
    bench.file("Cargo.lock", "original\n");
    let cargo = bench.path("Cargo").display().to_string();
    for args in [
        vec!["promote", cargo.as_str()],
        vec!["promote", "../evil"],
        vec!["resume", "../evil"],
        vec!["rollback", "../evil", "--emergency"],
        vec!["status", "a/b"],
        vec!["show", ".."],
        vec!["validate", "../app"],
        vec!["log", "--runbook", "../x"],
    ] {
        bench.run(&args).status(2).stderr_has("never by a path");
    }
    let nul = bench
        .command(&["promote"])
        .arg(std::ffi::OsStr::new("a\u{0}b"))
        .output();
    // The OS refuses a NUL in argv before rollout sees it; either way nothing runs.
    if let Ok(out) = nul {
        assert_ne!(out.status.code(), Some(0));
    }
    assert_eq!(
        std::fs::read_to_string(bench.path("Cargo.lock")).unwrap(),
        "original\n"
    );
    assert!(!bench.root().parent().unwrap().join("evil.lock").exists());
    assert!(!bench.path(".rollout").exists(), "nothing may be created");
    assert!(bench.calls().is_empty());
}

/// A tool's escape sequences inside an error message never reach stderr off a terminal.
#[test]
fn escape_sequences_in_error_messages_are_cleaned_off_a_terminal() {
    let bench = Bench::new();
    bench.fake("systemctl").runbook(
        "app",
        r#"
adapter = "systemctl"
target = "web"

[[steps]]
kind = "auth"
name = "can we"
"#,
    );
    bench.tell(
        "systemctl",
        "show",
        "out",
        "LoadState=\x1b]0;pwned\x07\x1b[31mnot-found\x1b[0m\x08\n",
    );
    let run = bench.run(&["promote", "app"]);
    run.status(1).stderr_has("not-found");
    let stderr = run.stderr();
    for control in ['\x1b', '\x07', '\x08'] {
        assert!(
            !stderr.contains(control),
            "{control:?} reached stderr: {stderr:?}"
        );
    }
}

const PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
-----END PRIVATE KEY-----";

/// A multi-line secret (a PEM key) printed by a tool is masked whole and line by line in
/// the failure tail, the log, the console, the state and JSON.
#[test]
fn a_multi_line_secret_is_masked_everywhere() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        r#"
[[steps]]
kind = "run"
name = "ship"
cmd  = ["sh", "-c", "echo shipping", "--", "{{secret.TLS_KEY}}"]

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = ["sh", "-c", "printf 'key:\n%s\n' \"$KEY\"; printf '%s' \"$KEY\" | sed 's/^/    /'; exit 1"]
env  = { KEY = "{{secret.TLS_KEY}}" }
"#,
    );
    let env = [("TLS_KEY", PEM)];
    let mut seen = Vec::new();
    for args in [
        vec!["promote", "app", "--verbose"],
        vec!["status", "app", "--json"],
        vec!["log", "--json"],
        vec!["log"],
    ] {
        let run = bench.run_with(&args, &env);
        seen.push(run.stdout());
        seen.push(run.stderr());
    }
    let run = bench.run_with(&["resume", "app", "--json", "--verbose"], &env);
    seen.push(run.stdout());
    seen.push(run.stderr());
    seen.push(bench.log());
    // Whatever the run keeps under .rollout/ (journals, snapshots, locks).
    let mut kept = vec![bench.path(".rollout")];
    while let Some(path) = kept.pop() {
        if path.is_dir() {
            kept.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            seen.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
        }
    }
    let all = seen.join("\n");
    assert!(all.contains("***"), "{all}");
    for line in PEM.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !all.contains(line),
            "a line of the key leaked: {line}\n{all}"
        );
        assert!(!all.contains(&line[..32]), "half a line of the key leaked");
    }
}

/// SPEC §4.5: a variable that doubles thirty times is an error naming it, at once.
#[test]
fn an_exponential_variable_expansion_is_a_validation_error_naming_it() {
    let bench = Bench::new();
    let mut toml = String::from("[vars]\nl0 = \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..=30 {
        toml.push_str(&format!(
            "l{i} = \"{{{{l{}}}}}{{{{l{}}}}}\"\n",
            i - 1,
            i - 1
        ));
    }
    toml.push_str("\n[[steps]]\nkind = \"run\"\ncmd = \"deployer {{l30}}\"\n");
    bench.runbook("app", &toml).fake("deployer");
    bench
        .run(&["validate", "app"])
        .status(2)
        .stderr_has("runbooks/app.toml:19:7: error: the value of `l17` grows past 1 MiB");
    bench.run(&["promote", "app"]).status(2);
    assert!(bench.calls().is_empty());
}

#[test]
fn a_chain_of_thousands_of_variables_is_an_error_not_a_stack_overflow() {
    let bench = Bench::new();
    let mut toml = String::from("[vars]\n");
    for i in 0..5250 {
        toml.push_str(&format!("v{i} = \"{{{{v{}}}}}\"\n", i + 1));
    }
    toml.push_str("v5250 = \"end\"\n\n[[steps]]\nkind = \"run\"\ncmd = \"deployer {{v0}}\"\n");
    bench.runbook("app", &toml).fake("deployer");
    let run = bench.run(&["validate", "app"]);
    run.status(2)
        .stderr_has("is reached through a chain of more than 64 variables");
    assert_eq!(run.stderr().matches("chain of more than").count(), 1);
}

/// SPEC §4.5: durations past 366 days and integers past 64 bits are errors at
/// file:line:col, never a panic (exit 101).
#[test]
fn huge_durations_and_counts_are_validation_errors_at_their_field() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd = "deployer deploy"

[[steps]]
kind = "soak"
duration = "18446744073709551615s"

[[steps]]
kind = "run"
cmd = "deployer again"
timeout = "367days"
retries = 99999999999999999999
retry_delay = "584542046090years"
"#,
    );
    let run = bench.run(&["validate", "app"]);
    run.status(2)
        .stderr_has("runbooks/app.toml:8:12: error: `duration`:")
        .stderr_has("longer than the 366 days a runbook may wait")
        .stderr_has("runbooks/app.toml:13:11: error: `timeout`:")
        .stderr_has("runbooks/app.toml:14:11: error: `retries` is far too large")
        .stderr_has("runbooks/app.toml:15:15: error: `retry_delay`:");
    bench.run(&["promote", "app"]).status(2);
    assert!(
        bench.calls().is_empty(),
        "nothing may run: {:?}",
        bench.calls()
    );
}

/// Every rejection has a `file:line:col`: invalid UTF-8 at its first bad byte, TOML
/// nesting past the parser's limit where it is, and the excerpt of a huge line is cut.
#[test]
fn invalid_utf8_and_nesting_limits_are_rejected_with_positions() {
    let bench = Bench::new();
    std::fs::write(
        bench.path("runbooks/bytes.toml"),
        b"description = \"x\"\n[[steps]]\nkind = \"run\"\ncmd = \"echo \xff\xfe\"\n",
    )
    .unwrap();
    let arrays = format!(
        "description = \"x\"\nv = {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let dotted = format!("description = \"x\"\n{} = 1\n", vec!["a"; 5000].join("."));
    let header = format!("description = \"x\"\n[{}]\n", vec!["a"; 5000].join("."));
    bench
        .runbook("arrays", &arrays)
        .runbook("dotted", &dotted)
        .runbook("header", &header);
    bench.run(&["validate", "bytes"]).status(2).stderr_has(
        "runbooks/bytes.toml:4:13: error: the file is not valid UTF-8 (byte 0xFF here)",
    );
    bench
        .run(&["promote", "bytes"])
        .status(2)
        .stderr_has("runbooks/bytes.toml:4:13:");
    let run = bench.run(&["validate", "arrays"]);
    run.status(2).stderr_has("runbooks/arrays.toml:2:");
    assert!(
        run.stderr().len() < 2000,
        "the excerpt floods: {} bytes",
        run.stderr().len()
    );
    for name in ["dotted", "header"] {
        bench
            .run(&["validate", name])
            .status(2)
            .stderr_has(&format!("runbooks/{name}.toml:2:1: error: invalid TOML"));
    }
    std::fs::write(bench.path("rollout.toml"), b"log = \"x\xff\"\n").unwrap();
    bench
        .run(&["validate", "arrays"])
        .status(2)
        .stderr_has("rollout.toml:1:9: error: the file is not valid UTF-8");
}

/// Fills the disk at `disk/` (a tmpfs in the project) from inside a step.
const FILL_DISK: &str = r#"cmd = ["sh", "-c", "cat /dev/zero > disk/fill 2>/dev/null; true"]"#;

/// As `FILL_DISK`, after padding the log with a hand-written line to the end of its
/// last page: the very next entry finds no room.
const FILL_DISK_AND_LOG: &str = r#"cmd = ["sh", "-c", "s=$(stat -c %s disk/reliability.log); p=$((4096 - s % 4096 - 2)); head -c $p /dev/zero | tr '\\0' n >> disk/reliability.log; echo >> disk/reliability.log; cat /dev/zero > disk/fill 2>/dev/null; true"]"#;

/// SPEC §4.5: on a full disk, a log line is written whole or not at all.
#[test]
fn a_log_line_that_does_not_fit_leaves_nothing_torn_behind() {
    let bench = Bench::new();
    let Some(_disk) = mounts::small_disk(&bench.path("disk"), 64 * 1024) else {
        return;
    };
    // Nearly a page of hand-written notes: the next entry spills into a page the full
    // disk does not have.
    let before = format!("# notes\n{}\n", "n".repeat(4000));
    std::fs::write(bench.path("disk/reliability.log"), &before).unwrap();
    mounts::fill(&bench.path("disk"));
    bench
        .run(&[
            "log",
            "note",
            "--log",
            "disk/reliability.log",
            "a note that will not fit",
        ])
        .status(1);
    let after = std::fs::read_to_string(bench.path("disk/reliability.log")).unwrap();
    assert_eq!(after, before, "a partial line stayed in the log");
}

/// A log that becomes unwritable mid-run stops the run (state interrupted, exit 1),
/// never a silent exit 0 with lines lost.
#[test]
fn a_log_that_fills_up_mid_run_stops_the_run() {
    let bench = Bench::new();
    let Some(_disk) = mounts::small_disk(&bench.path("disk"), 64 * 1024) else {
        return;
    };
    bench.fake("deployer").runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"run\"\nname = \"fill\"\n{FILL_DISK_AND_LOG}\n\n\
             [[steps]]\nkind = \"run\"\nname = \"deploy\"\ncmd = \"deployer deploy\"\n"
        ),
    );
    bench
        .run(&["promote", "app", "--log", "disk/reliability.log"])
        .status(1)
        .stderr_has("stopped before `deploy`: the reliability log could not be written")
        .stderr_has("rollout resume app");
    assert!(
        bench.calls().is_empty(),
        "deploy ran without its audit trail"
    );
    assert_eq!(bench.state("app")["status"], "interrupted");
    let log = std::fs::read_to_string(bench.path("disk/reliability.log")).unwrap();
    assert!(
        log.ends_with('\n'),
        "a torn line: {:?}",
        &log[log.len() - 80..]
    );
    // Once there is room again, resume goes on where it stopped.
    std::fs::remove_file(bench.path("disk/fill")).unwrap();
    bench.forget("deployer", "deploy", "exit");
    std::fs::write(bench.path("disk/reliability.log"), "").unwrap();
    bench
        .run(&["resume", "app", "--log", "disk/reliability.log"])
        .status(0);
    assert_eq!(bench.calls(), ["deployer [deploy]"]);
}

/// The `log` step fails when its line was not written.
#[test]
fn a_log_step_whose_line_was_not_written_fails() {
    let bench = Bench::new();
    let Some(_disk) = mounts::small_disk(&bench.path("disk"), 64 * 1024) else {
        return;
    };
    bench.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"run\"\nname = \"fill\"\n{FILL_DISK}\n\n\
             [[steps]]\nkind = \"log\"\nname = \"note\"\nmessage = \"{}\"\n",
            "m".repeat(6000)
        ),
    );
    let run = bench.run(&["promote", "app", "--log", "disk/reliability.log"]);
    run.status(1)
        .stderr_has("its line could not be written to the reliability log");
    let log = std::fs::read_to_string(bench.path("disk/reliability.log")).unwrap();
    assert!(log.contains("STEP OK - app step=fill"), "{log}");
    assert!(!log.contains("mmmm"), "the note is in the log after all");
    assert!(log.ends_with('\n'));
}

//! The live display under a real pseudo-terminal (util-linux `script`), and the same run
//! off a terminal: plain lines, no carriage returns, no escape sequences.

use std::process::{Command, Stdio};

use crate::support::Bench;

const RUNBOOK: &str = r#"
[[steps]]
kind  = "run"
name  = "build"
shell = true
cmd   = "echo compiling widgets; sleep 1; echo linking"

[[steps]]
kind     = "soak"
name     = "bake"
duration = "2s"
"#;

/// True (after saying so) when this machine has no `script` from util-linux, so no
/// pseudo-terminal: the test then skips.
fn no_pty() -> bool {
    let available = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("skipped: `script` (util-linux) is not installed, so no pseudo-terminal");
    }
    !available
}

/// `rollout ARGS` inside `script`, in `b`, with a terminal-like environment.
fn pty_command(b: &Bench, args: &str) -> Command {
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_rollout"));
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &line, "/dev/null"])
        .current_dir(b.root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", b.root())
        .env("USER", "tester")
        .env("TERM", "xterm-256color");
    cmd
}

/// Runs `rollout ARGS` in `b` with a pseudo-terminal as its stdio; returns what it drew.
fn on_a_tty(b: &Bench, args: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = pty_command(b, args);
    cmd.stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run script");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_spinners_bars_marks_and_a_summary() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", RUNBOOK);
    let screen = on_a_tty(&b, "promote app", &[]);
    // The spinner line carries the child's latest output line.
    assert!(screen.contains("compiling widgets"), "{screen}");
    // The soak bar: its bar characters and elapsed / total.
    assert!(screen.contains('━'), "{screen}");
    assert!(screen.contains(" / 2.0s"), "{screen}");
    assert!(screen.contains("left"), "{screen}");
    // Marks with durations, colour, and the summary at the end.
    assert!(
        screen.contains("✓") && screen.contains("build ("),
        "{screen}"
    );
    assert!(
        screen.contains("\u{1b}["),
        "colour and cursor moves on a terminal"
    );
    assert!(screen.contains("summary: 2 step(s) done"), "{screen}");
    assert!(screen.contains("changed: build"), "{screen}");
    assert!(screen.contains("reliability.log"), "{screen}");
}

#[test]
fn no_color_on_a_terminal_keeps_the_bars_but_drops_colour() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", RUNBOOK);
    let screen = on_a_tty(&b, "promote app", &[("NO_COLOR", "1")]);
    assert!(
        screen.contains('━') && screen.contains("summary:"),
        "{screen}"
    );
    assert!(
        !screen.contains("\u{1b}[32m"),
        "no green with NO_COLOR: {screen:?}"
    );
    let screen = on_a_tty(&b, "promote app --color never", &[]);
    assert!(
        !screen.contains("\u{1b}[32m"),
        "no green with --color never"
    );
}

#[test]
fn a_failure_on_a_terminal_shows_the_tail_and_the_summary() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook(
        "app",
        "[[steps]]\nkind = \"run\"\nname = \"boom\"\nshell = true\ncmd = \"echo it broke; exit 3\"\n",
    );
    let screen = on_a_tty(&b, "promote app", &[]);
    assert!(
        screen.contains("✗") && screen.contains("it broke"),
        "{screen}"
    );
    assert!(
        screen.contains("summary: 0 step(s) done, 1 failed"),
        "{screen}"
    );
}

#[test]
fn off_a_terminal_the_same_run_is_plain_lines_with_a_summary() {
    let b = Bench::new();
    b.runbook("app", RUNBOOK);
    let run = b.run(&["promote", "app"]);
    run.status(0);
    let all = run.stderr() + &run.stdout();
    assert!(!all.contains('\r') && !all.contains('\u{1b}'), "{all:?}");
    assert!(!all.contains('━'), "no bars off a terminal: {all}");
    for line in run.stderr().lines() {
        assert!(
            line.len() > 20 && line.as_bytes()[4] == b'-' && line.contains("Z "),
            "every line starts with a timestamp: {line:?}"
        );
    }
    run.stderr_has("summary: 2 step(s) done")
        .stderr_has("changed: build")
        .stderr_has("log: ");
}

#[test]
fn quiet_keeps_only_the_result_and_the_log() {
    let b = Bench::new();
    b.runbook("app", RUNBOOK);
    let run = b.run(&["promote", "app", "--quiet"]);
    run.status(0);
    assert!(!run.stderr().contains("start"), "{}", run.stderr());
    assert!(!run.stderr().contains("summary:"), "{}", run.stderr());
    run.stderr_has("app complete").stderr_has("log: ");
}

/// Runs `rollout ARGS` on a pseudo-terminal, typing `keys` once it has had a moment to
/// draw its prompt; returns what it drew.
fn answering_on_a_tty(b: &Bench, args: &str, keys: &str) -> String {
    use std::io::Write;
    let mut child = pty_command(b, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdin = child.stdin.take().expect("stdin");
    assert!(
        b.wait_for(std::time::Duration::from_secs(10), |b| b
            .log()
            .contains("RUN STARTED")),
        "the run never started"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(keys.as_bytes()).expect("type");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for script");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const CONFIRMING: &str = r#"
[[steps]]
kind    = "run"
name    = "production"
target  = "web"
cmd     = "echo shipped"
confirm = true
"#;

#[test]
fn a_confirmation_is_asked_on_the_terminal_and_the_answer_is_logged() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", CONFIRMING);
    let screen = answering_on_a_tty(&b, "promote app", "y");
    assert!(
        screen.contains("Proceed with production on web?"),
        "{screen}"
    );
    assert!(
        screen.contains("production will run: $ echo shipped"),
        "{screen}"
    );
    assert!(
        b.log().contains("confirmed at the prompt by tester"),
        "{}",
        b.log()
    );
    assert!(b.log().contains("RUN COMPLETE - app"), "{}", b.log());
}

#[test]
fn declining_a_confirmation_stops_the_run_without_running_the_step() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", CONFIRMING);
    let screen = answering_on_a_tty(&b, "promote app", "n");
    assert!(screen.contains("declined"), "{screen}");
    assert!(
        b.log().contains("declined at the prompt by tester"),
        "{}",
        b.log()
    );
    assert!(
        b.log().contains("RUN FAILED - app step=production"),
        "{}",
        b.log()
    );
    assert!(!b.log().contains("STEP OK"), "{}", b.log());
}

#[test]
fn an_approver_types_their_name_on_the_terminal_and_it_is_logged() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook(
        "app",
        "[[steps]]\nkind = \"approval\"\nname = \"approved\"\nfrom = \"a release manager\"\n[[steps]]\nkind = \"log\"\nmessage = \"shipped\"\n",
    );
    let screen = answering_on_a_tty(&b, "promote app", "alice\r");
    assert!(screen.contains("a release manager"), "{screen}");
    assert!(
        b.log().contains("approved by alice"),
        "{screen}\n{}",
        b.log()
    );
    assert!(b.log().contains("RUN COMPLETE - app"), "{}", b.log());
}

#[test]
fn ctrl_c_at_a_confirmation_interrupts_the_run() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", CONFIRMING);
    answering_on_a_tty(&b, "promote app", "\u{3}");
    assert!(
        b.log().contains("INTERRUPTED - app step=production"),
        "{}",
        b.log()
    );
    assert!(!b.log().contains("RUN FAILED"), "{}", b.log());
    assert!(!b.log().contains("STEP OK"), "{}", b.log());
    assert_eq!(b.state("app")["status"], "interrupted");
}

#[test]
fn a_health_check_on_a_terminal_draws_a_bar_of_successes() {
    if no_pty() {
        return;
    }
    let server = crate::http::TestServer::always(crate::http::Reply::ok("{\"version\":\"2\"}"));
    let b = Bench::new();
    b.runbook(
        "app",
        &format!(
            "[[steps]]\nkind = \"health\"\nname = \"healthy\"\nurl = \"{}\"\nsuccesses = 3\ninterval = \"300ms\"\n",
            server.url("/health")
        ),
    );
    let screen = on_a_tty(&b, "promote app", &[]);
    assert!(screen.contains("2/3 successes"), "{screen}");
    assert!(screen.contains('━'), "a bar: {screen}");
    assert!(screen.contains("healthy ("), "{screen}");
    assert!(b.log().contains("RUN COMPLETE - app"), "{}", b.log());
}

/// A health check that never passes, after a change: the output must say each failed
/// probe's verdict, the cause once, and alike probe lines once with a count.
fn failing_health(port: u16) -> String {
    format!(
        r#"
[[steps]]
kind = "run"
name = "ship"
cmd  = "true"

[[steps]]
kind      = "health"
name      = "healthy"
url       = "http://127.0.0.1:{port}/health"
interval  = "100ms"
within    = "1500ms"

[[rollback]]
kind = "run"
name = "undo"
cmd  = "true"
"#
    )
}

fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn off_a_terminal_the_cause_is_said_once_and_alike_lines_are_counted() {
    let b = Bench::new();
    b.runbook("app", &failing_health(refused_port()));
    let run = b.run(&["promote", "app", "--verbose"]);
    run.status(1);
    let err = run.stderr();
    assert_eq!(err.matches("not healthy within").count(), 1, "{err}");
    assert!(
        err.contains("run failed at `healthy` (the cause is above)"),
        "{err}"
    );
    assert!(
        err.contains("rolling back: step `healthy` failed\n"),
        "{err}"
    );
    // Ten or so refused probes, streamed (--verbose) and again in the failure's tail:
    // each time the first, then a count, not ten lines.
    assert_eq!(err.matches("| GET http").count(), 2, "{err}");
    assert_eq!(
        err.matches("more like it (last: GET http").count(),
        2,
        "{err}"
    );
}

#[test]
fn the_health_line_on_a_terminal_shows_failed_probes() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", &failing_health(refused_port()));
    let screen = on_a_tty(&b, "promote app", &[]);
    assert!(
        screen.contains("0/3 successes, last: connection refused"),
        "{screen}"
    );
}

const STAGED: &str = r#"
adapter = "exec"
target  = "web"

[[steps]]
kind    = "deploy"
name    = "ship"
release = "2.0"
cmd     = "true"

[[steps]]
kind    = "promote"
name    = "10%"
percent = 10
cmd     = "true"

[[steps]]
kind     = "soak"
name     = "soak at 10%"
duration = "1s"

[[steps]]
kind   = "pause"
name   = "gate"
reason = "looks good?"

[[steps]]
kind    = "promote"
name    = "100%"
percent = 100
cmd     = "true"
"#;

#[test]
fn the_live_view_shows_every_step_the_stage_and_the_releases() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", STAGED);
    let screen = on_a_tty(&b, "promote app", &[("NO_COLOR", "1")]);
    // At the start: every step to come.
    assert!(screen.contains("· soak at 10% (to come)"), "{screen}");
    assert!(screen.contains("· 100% (to come)"), "{screen}");
    // While the soak runs: done steps above it, its bar, steps to come below.
    assert!(screen.contains("✓ ship ("), "{screen}");
    assert!(screen.contains("soak at 10% ("), "{screen}");
    // The stage after the first promote, the target's releases, the gate waiting.
    assert!(screen.contains("stage: 10%"), "{screen}");
    assert!(
        screen.contains("web: stable not recorded, new 2.0"),
        "{screen}"
    );
    assert!(screen.contains("⏸ gate (waiting)  looks good?"), "{screen}");
    assert!(screen.contains("paused at `gate`"), "{screen}");
    // Going on: the steps before the gate are done earlier, the last one runs.
    let screen = on_a_tty(&b, "promote app", &[("NO_COLOR", "1")]);
    assert!(screen.contains("✓ gate (done earlier)"), "{screen}");
    assert!(screen.contains("✓ 100% ("), "{screen}");
    assert!(screen.contains("stage: 100%"), "{screen}");
    // What ran before the run (nothing recorded here), not the release it shipped.
    assert!(
        screen.contains("web: stable not recorded, new 2.0, at 100%"),
        "{screen}"
    );
    assert!(screen.contains("complete in"), "{screen}");
}

const WATCHED: &str = r#"
[[steps]]
kind = "run"
name = "build"
cmd  = "true"

[[steps]]
kind     = "soak"
name     = "bake"
duration = "2s"

[[steps]]
kind    = "log"
name    = "done"
message = "shipped"
"#;

/// Starts `promote app` in the background and waits until its run is in progress.
fn run_in_background(b: &Bench) -> std::process::Child {
    let child = b.spawn(&["promote", "app"]);
    assert!(
        b.wait_for(std::time::Duration::from_secs(10), |b| {
            // A step's state is journalled before its log line is written.
            std::fs::read_to_string(b.path("reliability.log"))
                .is_ok_and(|l| l.contains("STEP OK - app step=build"))
        }),
        "the run did not start"
    );
    child
}

#[test]
fn status_watch_follows_a_run_from_another_process_until_it_ends() {
    let b = Bench::new();
    b.runbook("app", WATCHED);
    let mut child = run_in_background(&b);
    // Off a terminal: the run's log lines from its start, then the final view.
    let watch = b.run(&["status", "app", "--watch"]);
    watch.status(0);
    let err = watch.stderr();
    assert!(err.contains("RUN STARTED - app"), "{err}");
    assert!(err.contains("STEP OK - app step=bake"), "{err}");
    assert!(err.contains("RUN COMPLETE - app"), "{err}");
    assert!(err.contains("complete in"), "{err}");
    for step in ["✓ build (", "✓ bake (", "✓ done ("] {
        assert!(err.contains(step), "{step}: {err}");
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn status_watch_on_a_terminal_draws_the_run_live() {
    if no_pty() {
        return;
    }
    let b = Bench::new();
    b.runbook("app", WATCHED);
    let mut child = run_in_background(&b);
    let screen = on_a_tty(&b, "status app --watch", &[("NO_COLOR", "1")]);
    // Mid-run: the soak running, the last step to come; then the end.
    assert!(screen.contains("✓ build ("), "{screen}");
    assert!(screen.contains("bake ("), "{screen}");
    assert!(screen.contains("· done (to come)"), "{screen}");
    assert!(screen.contains("complete in"), "{screen}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn status_watch_needs_a_runbook() {
    let b = Bench::new();
    b.runbook("app", WATCHED);
    b.run(&["status", "--watch"])
        .status(2)
        .stderr_has("RUNBOOK");
    b.run(&["status", "app", "--watch", "--json"])
        .status(2)
        .stderr_has("no --json form");
}

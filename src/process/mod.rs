//! Child processes in their own process group, with a timeout and an interrupt that stop
//! the whole group (TERM, then KILL after a grace), and output that is redacted as it
//! arrives.
//!
//! Why a group: `kill_on_drop` and `start_kill` reach the direct child only, so in
//! `sh -c "sleep 30 & sleep 30"` both sleeps would outlive a timeout.

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

mod group;
mod output;

use group::Group;
pub use group::{OWNER_VAR, owner_tag, stop_orphans};
use output::{Lines, Output, spawn_reader};

use crate::plan::Redactor;
use crate::signal::Interrupt;

/// How long a stopped group has between SIGTERM and SIGKILL (SPEC §4).
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How often a stopping group is checked.
const POLL: Duration = Duration::from_millis(50);
/// After a normal exit, how long to keep reading output a grandchild may still write.
const DRAIN: Duration = Duration::from_millis(200);
/// After SIGKILL, how long to wait for the kernel to finish the group.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// `Finished::output` keeps at most this many bytes, from the end.
const OUTPUT_CAP: usize = 1024 * 1024;
const TAIL_LINES: usize = 20;
/// A longer line is passed on in pieces, so a child without newlines cannot fill memory.
const MAX_LINE: usize = 64 * 1024;

/// What to run. `argv[0]` is looked up on PATH; `env` is added to the inherited environment.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Counted from spawn.
    pub timeout: Duration,
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal nobody here sent.
    Signaled(i32),
    /// The timeout passed; the group was stopped.
    TimedOut,
    /// Ctrl-C or SIGTERM; the group was stopped.
    Interrupted,
}

/// A child that ran and is gone.
#[derive(Clone, Debug)]
pub struct Finished {
    pub ending: Ending,
    /// Stdout and stderr in arrival order, redacted, one `\n` after each line; at most
    /// about 1 MiB, keeping the end.
    pub output: String,
    /// The last 20 lines, redacted.
    pub tail: Vec<String>,
    /// `output` unmasked: what adapters parse (SPEC: masking is for display only), so a
    /// secret inside a tool's answer (a private registry host) is read as it is. Never
    /// shown, logged or stored.
    pub raw_output: String,
    pub elapsed: Duration,
    /// Processes the child left running in its group when it exited by itself; they
    /// were stopped (TERM, then KILL after the grace). 0 when it left none.
    pub leftover: usize,
}

/// The child could not be started.
#[derive(Debug)]
pub enum SpawnError {
    NotFound { program: String },
    PermissionDenied { program: String },
    BadCwd { cwd: PathBuf },
    Other { program: String, error: io::Error },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::NotFound { program } if program.contains('/') => write!(
                f,
                "`{program}` does not exist; check the path, or build or install it first"
            ),
            SpawnError::NotFound { program } => write!(
                f,
                "`{program}` was not found on PATH; install it, or give its full path \
                 (for an adapter: `[adapters.NAME] bin` or ROLLOUT_NAME_BIN)"
            ),
            SpawnError::PermissionDenied { program } => write!(
                f,
                "`{program}` could not be executed: permission denied; \
                 check that it is a file with its execute bit set (chmod +x)"
            ),
            SpawnError::BadCwd { cwd } => write!(
                f,
                "the working directory {} does not exist or is not a directory; \
                 check the step's `cwd`",
                cwd.display()
            ),
            SpawnError::Other { program, error } => {
                write!(f, "could not run `{program}`: {error}")
            }
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Other { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl SpawnError {
    fn from_io(program: &str, error: io::Error) -> SpawnError {
        let program = program.to_string();
        match error.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound { program },
            io::ErrorKind::PermissionDenied => SpawnError::PermissionDenied { program },
            _ => SpawnError::Other { program, error },
        }
    }
}

/// Runs one child to its end. Every output line is redacted, then given to `on_line`.
///
/// On timeout or interrupt the child's whole process group gets SIGTERM, then SIGKILL
/// after [`KILL_GRACE`]; `run` returns once the group is gone. If the interrupt is
/// already set, nothing is started and the result is `Interrupted` at once. Dropping
/// the future kills the group with SIGKILL.
pub async fn run(
    spec: &ProcessSpec,
    redactor: &Redactor,
    interrupt: &Interrupt,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<Finished, SpawnError> {
    run_with_grace(spec, redactor, interrupt, on_line, KILL_GRACE).await
}

async fn run_with_grace(
    spec: &ProcessSpec,
    redactor: &Redactor,
    interrupt: &Interrupt,
    on_line: &mut (dyn FnMut(&str) + Send),
    grace: Duration,
) -> Result<Finished, SpawnError> {
    run_observed(spec, redactor, interrupt, on_line, grace)
        .await
        .map(|(finished, _)| finished)
}

/// Whether the final drain of a run gave up waiting (a grandchild kept a pipe open).
/// Tests count these: a drain that times out for a child that left nothing behind is a
/// stall of [`DRAIN`] on every such step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drain {
    Complete,
    TimedOut,
}

async fn run_observed(
    spec: &ProcessSpec,
    redactor: &Redactor,
    interrupt: &Interrupt,
    on_line: &mut (dyn FnMut(&str) + Send),
    grace: Duration,
) -> Result<(Finished, Drain), SpawnError> {
    let program = spec.argv.first().map(String::as_str).unwrap_or_default();
    if program.is_empty() {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "the command is empty");
        return Err(SpawnError::from_io(program, error));
    }
    if !spec.cwd.is_dir() {
        return Err(SpawnError::BadCwd {
            cwd: spec.cwd.clone(),
        });
    }
    let mut output = Output::new(redactor, on_line);
    if interrupt.is_set() {
        return Ok((
            output.finish(Ending::Interrupted, Duration::ZERO),
            Drain::Complete,
        ));
    }

    let started = Instant::now();
    let mut command = Command::new(program);
    command
        .args(&spec.argv[1..])
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env(OWNER_VAR, owner_tag())
        .current_dir(&spec.cwd)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let parent = std::process::id() as i32;
    // SAFETY: `bind_to_parent` makes two syscalls and allocates nothing, as a closure
    // between fork and exec must.
    unsafe {
        command.pre_exec(move || group::bind_to_parent(parent));
    }
    let mut child = command
        .spawn()
        .map_err(|error| SpawnError::from_io(program, error))?;
    // With process_group(0) the group id is the child's pid.
    let mut group = Group {
        pgid: child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    };
    let (tx, rx) = mpsc::channel(256);
    let readers: Vec<JoinHandle<()>> = [
        child.stdout.take().map(|s| spawn_reader(s, tx.clone())),
        child.stderr.take().map(|s| spawn_reader(s, tx.clone())),
    ]
    .into_iter()
    .flatten()
    .collect();
    drop(tx);
    let mut lines = Lines { rx, open: true };

    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let stop = loop {
        tokio::select! {
            biased;
            status = child.wait() => break Ok(status),
            line = lines.next() => if let Some(line) = line { output.push(&line) },
            () = &mut deadline => break Err(Ending::TimedOut),
            () = interrupt.wait() => break Err(Ending::Interrupted),
        }
    };
    let mut leftover = 0;
    let result = match stop {
        Ok(Ok(status)) => {
            // A step never leaves processes behind (SPEC §4): what the child left running
            // in its group is stopped now.
            leftover = group
                .end_leftovers(&mut child, grace, &mut lines, &mut output)
                .await;
            Ok(ending_of(status))
        }
        Ok(Err(error)) => {
            group.stop(&mut child, grace, &mut lines, &mut output).await;
            Err(SpawnError::from_io(program, error))
        }
        Err(ending) => {
            group.stop(&mut child, grace, &mut lines, &mut output).await;
            Ok(ending)
        }
    };
    // Whatever is still in the pipes, but never hang on a grandchild that holds them.
    // Both pipes may already have closed before the exit was seen: then there is
    // nothing to wait for (waiting on the closed channel would stall for DRAIN).
    let drain = if lines.open {
        let drained = tokio::time::timeout(DRAIN, async {
            while let Some(line) = lines.next().await {
                output.push(&line);
            }
        })
        .await;
        if drained.is_ok() {
            Drain::Complete
        } else {
            Drain::TimedOut
        }
    } else {
        Drain::Complete
    };
    for reader in readers {
        reader.abort();
    }
    let mut finished = output.finish(result?, started.elapsed());
    finished.leftover = leftover;
    Ok((finished, drain))
}

fn ending_of(status: ExitStatus) -> Ending {
    match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(signal)) => Ending::Signaled(signal),
        (None, None) => Ending::Exited(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use std::path::Path;

    fn sh(script: &str, timeout: Duration) -> ProcessSpec {
        ProcessSpec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![],
            cwd: std::env::temp_dir(),
            timeout,
        }
    }

    async fn go(spec: &ProcessSpec, grace: Duration) -> (Finished, Vec<String>) {
        let mut seen = Vec::new();
        let mut on_line = |line: &str| seen.push(line.to_string());
        let finished = run_with_grace(
            spec,
            &Redactor::default(),
            &Interrupt::never(),
            &mut on_line,
            grace,
        )
        .await
        .expect("spawned");
        (finished, seen)
    }

    /// Dead: no such process, or a zombie waiting for init (it cannot run any more).
    fn gone(pid: i32) -> bool {
        kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, f)| f.trim_start().starts_with('Z'))
            })
    }

    fn pids(file: &Path) -> Vec<i32> {
        let text = std::fs::read_to_string(file).expect("pid file");
        text.split_whitespace()
            .map(|p| p.parse().expect("pid"))
            .collect()
    }

    #[tokio::test]
    async fn exit_codes_and_signals_are_reported() {
        let (done, _) = go(&sh("exit 3", Duration::from_secs(5)), KILL_GRACE).await;
        assert_eq!(done.ending, Ending::Exited(3));
        let (done, _) = go(&sh("kill -TERM $$", Duration::from_secs(5)), KILL_GRACE).await;
        assert_eq!(done.ending, Ending::Signaled(15));
    }

    #[tokio::test]
    async fn lines_are_redacted_before_anyone_sees_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = sh(
            "echo \"token=$TOKEN\"; printf 'crlf\\r\\n' >&2; pwd; printf 'no newline'",
            Duration::from_secs(5),
        );
        spec.env = vec![("TOKEN".into(), "s3cr3t".into())];
        spec.cwd = dir.path().to_path_buf();
        let redactor = Redactor::new(["s3cr3t".to_string()]);
        let mut seen = Vec::new();
        let mut on_line = |line: &str| seen.push(line.to_string());
        let done = run(&spec, &redactor, &Interrupt::never(), &mut on_line)
            .await
            .expect("spawned");
        assert_eq!(done.ending, Ending::Exited(0));
        let cwd = dir.path().canonicalize().expect("canonical");
        let mut sorted = seen.clone();
        sorted.sort();
        let mut expected = vec![
            "crlf".to_string(),
            cwd.display().to_string(),
            "no newline".to_string(),
            "token=***".to_string(),
        ];
        expected.sort();
        assert_eq!(sorted, expected);
        assert_eq!(done.tail, seen);
        assert!(!done.output.contains("s3cr3t"));
        assert!(done.output.contains("token=***\n"));
    }

    #[tokio::test]
    async fn a_timeout_leaves_no_process_of_the_group_alive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pids");
        let script = format!("sleep 30 & echo $! $$ > '{}'; sleep 30", file.display());
        let (done, _) = go(&sh(&script, Duration::from_millis(300)), KILL_GRACE).await;
        assert_eq!(done.ending, Ending::TimedOut);
        assert!(done.elapsed < Duration::from_secs(3), "{:?}", done.elapsed);
        let pids = pids(&file);
        assert_eq!(pids.len(), 2);
        for pid in pids {
            assert!(gone(pid), "pid {pid} survived the timeout");
        }
    }

    #[tokio::test]
    async fn a_group_that_ignores_term_is_killed_after_the_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pids");
        let script = format!(
            "trap '' TERM; sleep 30 & echo $! $$ > '{}'; wait; sleep 30",
            file.display()
        );
        let grace = Duration::from_millis(400);
        let (done, _) = go(&sh(&script, Duration::from_millis(300)), grace).await;
        assert_eq!(done.ending, Ending::TimedOut);
        assert!(
            done.elapsed >= Duration::from_millis(700),
            "{:?}",
            done.elapsed
        );
        assert!(done.elapsed < Duration::from_secs(3), "{:?}", done.elapsed);
        for pid in pids(&file) {
            assert!(gone(pid), "pid {pid} survived SIGKILL");
        }
    }

    #[tokio::test]
    async fn an_interrupt_stops_the_child() {
        let (trigger, interrupt) = Interrupt::manual();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.fire();
        });
        let spec = sh("echo started; sleep 30", Duration::from_secs(60));
        let done = run(&spec, &Redactor::default(), &interrupt, &mut |_: &str| {})
            .await
            .expect("spawned");
        assert_eq!(done.ending, Ending::Interrupted);
        assert_eq!(done.output, "started\n");
        assert!(done.elapsed < Duration::from_secs(3), "{:?}", done.elapsed);
    }

    #[tokio::test]
    async fn nothing_starts_once_interrupted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("ran");
        let (trigger, interrupt) = Interrupt::manual();
        trigger.fire();
        let spec = sh(
            &format!("touch '{}'", marker.display()),
            Duration::from_secs(5),
        );
        let done = run(&spec, &Redactor::default(), &interrupt, &mut |_: &str| {})
            .await
            .expect("no spawn error");
        assert_eq!(done.ending, Ending::Interrupted);
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn a_grandchild_left_behind_is_stopped_when_the_step_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pids");
        let script = format!("sleep 10 & echo $! > '{}'; echo done", file.display());
        let (done, _) = go(&sh(&script, Duration::from_secs(5)), KILL_GRACE).await;
        assert_eq!(done.ending, Ending::Exited(0));
        assert_eq!(done.output, "done\n");
        assert_eq!(done.leftover, 1);
        assert!(done.elapsed < Duration::from_secs(2), "{:?}", done.elapsed);
        let grandchild = pids(&file)[0];
        assert!(gone(grandchild), "the step left pid {grandchild} running");
    }

    #[tokio::test]
    async fn a_term_ignoring_grandchild_is_killed_after_the_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pids");
        let script = format!(
            "sh -c 'trap \"\" TERM; sleep 10' & echo $! > '{}'; echo done",
            file.display()
        );
        let grace = Duration::from_millis(300);
        let (done, _) = go(&sh(&script, Duration::from_secs(5)), grace).await;
        assert_eq!(done.ending, Ending::Exited(0));
        assert!(done.leftover >= 1, "{}", done.leftover);
        let grandchild = pids(&file)[0];
        assert!(gone(grandchild), "pid {grandchild} outlived its step");
    }

    #[tokio::test]
    async fn a_child_that_leaves_nothing_reports_no_leftover() {
        let (done, _) = go(&sh("echo hi", Duration::from_secs(5)), KILL_GRACE).await;
        assert_eq!(done.leftover, 0);
    }

    #[tokio::test]
    async fn children_carry_the_owner_tag() {
        let (done, _) = go(
            &sh(&format!("echo ${OWNER_VAR}"), Duration::from_secs(5)),
            KILL_GRACE,
        )
        .await;
        assert_eq!(done.output, format!("{}\n", owner_tag()));
        assert!(owner_tag().starts_with(&format!("{}.", std::process::id())));
    }

    #[test]
    fn orphans_of_a_dead_owner_are_stopped() {
        // A process carrying a made-up tag stands in for a child of a killed rollout.
        let mut orphan = std::process::Command::new("sleep")
            .arg("30")
            .env(OWNER_VAR, "1.42")
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(stop_orphans("1.42", Duration::from_secs(2)), 1);
        let status = orphan.wait().expect("reap");
        assert_eq!(status.signal(), Some(15));
        assert_eq!(stop_orphans("1.42", Duration::from_secs(2)), 0);
        assert_eq!(stop_orphans(owner_tag(), Duration::from_secs(2)), 0);
    }

    #[test]
    fn a_tagged_daemon_in_a_session_of_its_own_is_not_an_orphan() {
        use std::os::unix::process::CommandExt;
        let mut daemon = std::process::Command::new("sleep");
        daemon.arg("30").env(OWNER_VAR, "1.43.1");
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            daemon.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(Into::into));
        }
        let mut daemon = daemon.spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(50));
        // Session 1 is not the daemon's: it detached, so it is left alone.
        assert_eq!(stop_orphans("1.43.1", Duration::from_secs(2)), 0);
        let _ = daemon.kill();
        let _ = daemon.wait();
    }

    #[tokio::test]
    async fn output_keeps_the_end_and_long_lines_come_in_pieces() {
        let (done, seen) = go(&sh("seq 1 300000", Duration::from_secs(20)), KILL_GRACE).await;
        assert_eq!(seen.len(), 300_000);
        assert!(done.output.len() <= OUTPUT_CAP);
        assert!(done.output.len() > OUTPUT_CAP - 16);
        assert!(done.output.ends_with("\n299999\n300000\n"));
        assert_eq!(done.tail.len(), TAIL_LINES);
        assert_eq!(done.tail[0], "299981");

        let script = "head -c 200000 /dev/zero | tr '\\0' x";
        let (_, seen) = go(&sh(script, Duration::from_secs(5)), KILL_GRACE).await;
        let lengths: Vec<usize> = seen.iter().map(String::len).collect();
        assert_eq!(
            lengths,
            [MAX_LINE, MAX_LINE, MAX_LINE, 200_000 - 3 * MAX_LINE]
        );
    }

    #[tokio::test]
    async fn spawn_errors_say_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let attempt = |argv: Vec<String>, cwd: PathBuf| async move {
            let spec = ProcessSpec {
                argv,
                env: vec![],
                cwd,
                timeout: Duration::from_secs(5),
            };
            run(
                &spec,
                &Redactor::default(),
                &Interrupt::never(),
                &mut |_: &str| {},
            )
            .await
            .expect_err("must not spawn")
        };
        let tmp = dir.path().to_path_buf();
        let err = attempt(vec!["no-such-program-rollout".into()], tmp.clone()).await;
        assert!(matches!(err, SpawnError::NotFound { .. }));
        assert!(
            err.to_string()
                .starts_with("`no-such-program-rollout` was not found on PATH")
        );

        let script = dir.path().join("not-executable");
        std::fs::write(&script, "#!/bin/sh\n").expect("write");
        let err = attempt(vec![script.display().to_string()], tmp.clone()).await;
        assert!(
            matches!(err, SpawnError::PermissionDenied { .. }),
            "{err:?}"
        );

        let err = attempt(vec!["sh".into()], dir.path().join("missing")).await;
        assert!(matches!(err, SpawnError::BadCwd { .. }));
        assert!(err.to_string().contains("check the step's `cwd`"));

        let err = attempt(vec![], tmp).await;
        assert!(matches!(err, SpawnError::Other { .. }));
    }

    /// The race of issue 9: `true` closes both pipes as it exits, and whichever of
    /// "pipes closed" and "child exited" is seen first, the drain must not wait.
    #[tokio::test]
    async fn quick_children_never_stall_in_the_drain() {
        let spec = ProcessSpec {
            argv: vec!["true".into()],
            env: vec![],
            cwd: std::env::temp_dir(),
            timeout: Duration::from_secs(10),
        };
        let mut stalls = 0;
        for _ in 0..500 {
            let (done, drain) = run_observed(
                &spec,
                &Redactor::default(),
                &Interrupt::never(),
                &mut |_: &str| {},
                KILL_GRACE,
            )
            .await
            .expect("spawned");
            assert_eq!(done.ending, Ending::Exited(0));
            if drain == Drain::TimedOut {
                stalls += 1;
            }
        }
        assert_eq!(
            stalls, 0,
            "{stalls} of 500 quick steps waited out the drain"
        );
    }

    #[tokio::test]
    async fn a_grandchild_holding_the_pipe_is_stopped_as_a_leftover_not_waited_out() {
        let script = "sleep 30 & echo done";
        let (done, drain) = run_observed(
            &sh(script, Duration::from_secs(5)),
            &Redactor::default(),
            &Interrupt::never(),
            &mut |_: &str| {},
            KILL_GRACE,
        )
        .await
        .expect("spawned");
        assert_eq!(done.output, "done\n");
        // The step's group is ended when the step ends (SPEC §4), so the pipe closes
        // and the drain has nothing to wait out.
        assert_eq!(done.leftover, 1);
        assert_eq!(drain, Drain::Complete);
    }

    #[test]
    fn the_run_future_can_be_spawned() {
        fn assert_send<T: Send>(_: &T) {}
        let spec = sh("true", Duration::from_secs(1));
        let (redactor, interrupt) = (Redactor::default(), Interrupt::never());
        let mut on_line = |_: &str| {};
        assert_send(&run(&spec, &redactor, &interrupt, &mut on_line));
    }
}

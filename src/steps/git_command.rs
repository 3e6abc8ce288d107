//! Runs one `git` command for the `git` step and keeps its stdout apart: git's stdout is
//! the data, its stderr (hints, warnings, "fatal: …") is only ever shown, never parsed.
//! Quick commands, so a timeout or an interrupt ends the whole process group at once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Command;

use super::StepError;
use crate::signal::Interrupt;

/// What `git` printed and how it ended.
pub struct GitOutput {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Raw stdout: the only output ever parsed.
    pub stdout: Vec<u8>,
    /// For messages only.
    pub stderr: String,
}

impl GitOutput {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Stdout as text, trimmed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }

    /// The last thing git said on stderr, for a failure message.
    pub fn complaint(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| match self.code {
                Some(code) => format!("exit {code}, no message"),
                None => "killed by a signal".to_string(),
            })
    }
}

/// Runs `git ARGS` in `cwd` within `timeout`.
pub async fn git(
    cwd: &Path,
    args: &[&str],
    timeout: Duration,
    interrupt: &Interrupt,
) -> Result<GitOutput, StepError> {
    let failed = |message: String| StepError::Failed {
        message,
        tail: Vec::new(),
    };
    if interrupt.is_set() {
        return Err(StepError::Interrupted);
    }
    let child = Command::new("git")
        .args(args)
        .current_dir(cwd)
        // Never wait for a password prompt, never take index.lock for a read-only status
        // (a concurrent git would fail on it), and say things in one language.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("LC_ALL", "C")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !cwd.is_dir() => failed(format!(
                "cannot run git in {}: the directory does not exist",
                cwd.display()
            )),
            std::io::ErrorKind::NotFound => {
                failed("git is not installed (not found on PATH)".to_string())
            }
            _ => failed(format!("cannot run git: {e}")),
        })?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let stop = |group: Option<Pid>| {
        if let Some(pgid) = group {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    };
    tokio::select! {
        output = child.wait_with_output() => {
            let output = output.map_err(|e| failed(format!("git did not finish: {e}")))?;
            Ok(GitOutput {
                code: output.status.code(),
                stdout: output.stdout,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
        () = tokio::time::sleep(timeout) => {
            stop(group);
            Err(StepError::TimedOut { after: timeout, tail: Vec::new() })
        }
        () = interrupt.wait() => {
            stop(group);
            Err(StepError::Interrupted)
        }
    }
}

//! The child's process group: stopping it (TERM, a grace, KILL) and telling when every
//! member is gone, zombies included.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

use super::output::{Lines, Output};
use super::{KILL_WAIT, POLL};

/// The child's process group while we are responsible for it; SIGKILLed if dropped then.
pub(super) struct Group {
    pub(super) pgid: Option<Pid>,
}

impl Group {
    /// TERM the group, wait up to `grace` for it to be gone, then KILL it.
    pub(super) async fn stop(
        &mut self,
        child: &mut Child,
        grace: Duration,
        lines: &mut Lines,
        output: &mut Output<'_>,
    ) {
        let Some(pgid) = self.pgid else { return };
        let _ = killpg(pgid, Signal::SIGTERM);
        if !wait_gone(pgid, child, grace, lines, output).await {
            let _ = killpg(pgid, Signal::SIGKILL);
            wait_gone(pgid, child, KILL_WAIT, lines, output).await;
        }
        self.pgid = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

/// Polls until the child is reaped and no live process is left in its group. Keeps
/// reading output meanwhile, so nobody blocks on a full pipe while dying.
async fn wait_gone(
    pgid: Pid,
    child: &mut Child,
    limit: Duration,
    lines: &mut Lines,
    output: &mut Output<'_>,
) -> bool {
    let until = tokio::time::Instant::now() + limit;
    loop {
        // An error here means it was reaped elsewhere: gone either way.
        let reaped = !matches!(child.try_wait(), Ok(None));
        if reaped && !group_alive(pgid) {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        let tick = tokio::time::sleep(POLL);
        tokio::pin!(tick);
        loop {
            tokio::select! {
                () = &mut tick => break,
                line = lines.next() => if let Some(line) = line { output.push(&line) },
            }
        }
    }
}

/// Whether any process of the group is still running. `killpg(pgid, 0)` also counts
/// zombies, and an orphaned grandchild stays a zombie until init reaps it, which takes
/// seconds on some machines; on Linux, /proc tells the dead from the living.
fn group_alive(pgid: Pid) -> bool {
    if killpg(pgid, None) == Err(Errno::ESRCH) {
        return false;
    }
    live_member_in_proc(pgid).unwrap_or(true)
}

#[cfg(target_os = "linux")]
fn live_member_in_proc(pgid: Pid) -> Option<bool> {
    let pgid = pgid.to_string();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields follow the last ')'.
        let Some((_, fields)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = fields.split_whitespace().take(3).collect();
        if let [state, _ppid, pgrp] = fields[..]
            && pgrp == pgid
            && state != "Z"
            && state != "X"
        {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(not(target_os = "linux"))]
fn live_member_in_proc(_pgid: Pid) -> Option<bool> {
    None
}

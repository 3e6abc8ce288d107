//! The child's process group: stopping it (TERM, a grace, KILL) and telling when every
//! member is gone, zombies included; binding children to this process so they never
//! outlive it, and finding the ones a killed `rollout` left behind.

use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

use super::output::{Lines, Output};
use super::{KILL_WAIT, POLL};

/// The child's process group while we are responsible for it; SIGKILLed if dropped then.
pub(super) struct Group {
    pub(super) pgid: Option<Pid>,
}

impl Group {
    /// After the child exited by itself: ends what it left running in its group (TERM,
    /// the grace, KILL), so no step leaves processes behind (SPEC §4). Returns how many
    /// live processes were left.
    pub(super) async fn end_leftovers(
        &mut self,
        child: &mut Child,
        grace: Duration,
        lines: &mut Lines,
        output: &mut Output<'_>,
    ) -> usize {
        let Some(pgid) = self.pgid else { return 0 };
        let left = live_members(pgid);
        if left > 0 {
            self.stop(child, grace, lines, output).await;
        }
        self.pgid = None;
        left
    }

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
    Some(!live_pids_in_group(pgid)?.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn live_member_in_proc(_pgid: Pid) -> Option<bool> {
    None
}

/// How many live processes the group has (1 where /proc cannot tell but it exists).
fn live_members(pgid: Pid) -> usize {
    if killpg(pgid, None) == Err(Errno::ESRCH) {
        return 0;
    }
    live_pids_in_group(pgid).map_or(1, |pids| pids.len())
}

/// Every process of the machine: (pid, state, process group), from /proc/PID/stat.
fn processes() -> Option<Vec<(i32, char, i32)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
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
            && let (Some(state), Ok(pgrp)) = (state.chars().next(), pgrp.parse())
        {
            found.push((pid, state, pgrp));
        }
    }
    Some(found)
}

/// The session of `pid` (field 6 of /proc/PID/stat).
fn session_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    // After the name: state, ppid, pgrp, session.
    fields.split_whitespace().nth(3)?.parse().ok()
}

fn live_pids_in_group(pgid: Pid) -> Option<Vec<i32>> {
    Some(
        processes()?
            .into_iter()
            .filter(|&(_, state, pgrp)| pgrp == pgid.as_raw() && state != 'Z' && state != 'X')
            .map(|(pid, _, _)| pid)
            .collect(),
    )
}

/// The environment variable every child of this process carries (and its children
/// inherit), naming this process: `PID.START.SESSION` (start time in clock ticks since
/// boot, so a reused pid never matches; its session, see [`stop_orphans`]).
pub const OWNER_VAR: &str = "ROLLOUT_CHILD_OF";

/// This process's owner tag (see [`OWNER_VAR`]).
pub fn owner_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id();
        let start = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|stat| {
                let (_, fields) = stat.rsplit_once(')')?;
                // Field 22 of stat is the start time; fields here start at field 3.
                fields.split_whitespace().nth(19).map(str::to_string)
            })
            .unwrap_or_else(|| "0".to_string());
        let session = session_of(pid as i32).unwrap_or(0);
        format!("{pid}.{start}.{session}")
    })
}

/// In the forked child, before exec: the child gets SIGKILL when this process dies,
/// however it dies (SPEC §4: children never outlive a `rollout` killed outright).
///
/// Linux sends the parent-death signal when the *thread* that forked exits, not the
/// process. Children are spawned from tokio's worker threads (or the main thread), which
/// live as long as the runtime, that is, as long as the process; nothing spawns from
/// the blocking pool, whose threads do exit. If the parent died before the signal was
/// armed, the child is already orphaned: it refuses to start.
///
/// Only async-signal-safe calls here (we are between fork and exec): two syscalls.
#[cfg(target_os = "linux")]
pub(super) fn bind_to_parent(parent: i32) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
    if nix::unistd::getppid().as_raw() != parent {
        return Err(io::Error::from(Errno::ESRCH));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(super) fn bind_to_parent(_parent: i32) -> io::Result<()> {
    Ok(())
}

/// Stops every process still carrying the owner tag `tag` of a `rollout` that is gone
/// (killed outright: its flock was free). TERM, up to `grace`, then KILL. Returns how
/// many there were. Blocking: for the start of a run, before anything else runs.
///
/// Only processes still in the dead `rollout`'s session count (the tag's last part): a
/// daemon that a step started and that detached into a session of its own (`setsid`,
/// as a service manager or the demo service does) is what the step deployed, not a
/// leftover, and is left alone.
pub fn stop_orphans(tag: &str, grace: Duration) -> usize {
    if tag == owner_tag() {
        return 0;
    }
    let session: Option<i32> = tag.split('.').nth(2).and_then(|s| s.parse().ok());
    let needle = format!("{OWNER_VAR}={tag}");
    let me = std::process::id() as i32;
    let orphans: Vec<Pid> = processes()
        .unwrap_or_default()
        .into_iter()
        .filter(|&(pid, state, _)| pid != me && state != 'Z' && state != 'X')
        .filter(|&(pid, _, _)| session.is_none_or(|sid| session_of(pid) == Some(sid)))
        .filter(|&(pid, _, _)| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
        })
        .map(|(pid, _, _)| Pid::from_raw(pid))
        .collect();
    if orphans.is_empty() {
        return 0;
    }
    let living = |pids: &[Pid]| -> Vec<Pid> {
        pids.iter()
            .copied()
            .filter(|&pid| {
                kill(pid, None).is_ok()
                    && std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                        stat.rsplit_once(')')
                            .is_some_and(|(_, f)| !f.trim_start().starts_with('Z'))
                    })
            })
            .collect()
    };
    for (signal, wait) in [(Signal::SIGTERM, grace), (Signal::SIGKILL, KILL_WAIT)] {
        let left = living(&orphans);
        if left.is_empty() {
            break;
        }
        for &pid in &left {
            let _ = kill(pid, signal);
        }
        let until = Instant::now() + wait;
        while Instant::now() < until && !living(&orphans).is_empty() {
            std::thread::sleep(POLL);
        }
    }
    orphans.len()
}

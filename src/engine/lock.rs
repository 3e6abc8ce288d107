//! One run of a runbook at a time, and no stale locks.
//!
//! The lock is an advisory `flock` on `.rollout/locks/NAME.lock`: the kernel drops it
//! when the holding process dies, however it dies. The file also says who holds it,
//! but only the flock decides whether it is held. The file is never unlinked: a new
//! file at the same path would be a second, independent lock.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ExitCode};
use crate::identity;
use crate::process;
use crate::store::Backend;
use crate::store::postgres::PgLock;
use crate::store::postgres::lock::{self as pg_lock, PgLockError};

/// Attempts at `try_lock` before calling a lock held: a `holder()` probe elsewhere may
/// hold a shared lock for a moment.
const ATTEMPTS: u32 = 5;
const ATTEMPT_PAUSE: Duration = Duration::from_millis(50);
/// A sensible `grace` for [`RunLock::take_over`]: long enough for the stopped run to
/// stop its own child group (TERM, up to `KILL_GRACE`, KILL) and record itself.
pub const TAKE_OVER_GRACE: Duration = Duration::from_secs(10);
/// After SIGKILL, how long a taken-over holder has to die.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// Who holds a runbook's lock; written into the lock file as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub since: DateTime<Utc>,
    /// The command line that took the lock, e.g. `rollout promote canary`.
    pub command: String,
    /// The owner tag its children carry (`process::OWNER_VAR`), so the next holder can
    /// find and stop what a holder killed outright left running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<String>,
}

impl Holder {
    /// This process, now.
    pub fn me(command: &str) -> Holder {
        Holder {
            user: identity::user(),
            host: identity::host(),
            pid: identity::pid(),
            since: Utc::now(),
            command: command.to_string(),
            children: Some(process::owner_tag().to_string()),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, since {}, `{}`)",
            self.user,
            self.host,
            self.pid,
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.command
        )
    }
}

/// A held lock. Dropping it releases the lock; so does the death of the process.
#[derive(Debug)]
pub struct RunLock {
    /// `None` for an emergency rollback that goes on without a lock (see [`RunLock::unheld`]).
    _file: Option<File>,
    path: PathBuf,
    /// Processes a previous holder, killed outright, had left running; stopped when the
    /// lock was taken.
    pub orphans_stopped: usize,
    /// When it was taken: a takeover note older than this is not about this run.
    acquired: std::time::SystemTime,
    /// The team backend's lock, when the project has one (SPEC §9); then `_file` is `None`.
    remote: Option<PgLock>,
}

/// Why the lock could not be had.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it; `holder` is `None` if its file could not be read.
    Held {
        runbook: String,
        holder: Option<Box<Holder>>,
    },
    /// The team backend's answer, as the error to show: held (exit 3, naming the holder
    /// on whatever machine), or down (exit 1, naming the backend).
    Backend(Box<Error>),
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held {
                runbook,
                holder: Some(holder),
            } => write!(f, "runbook `{runbook}` is locked by {holder}"),
            LockError::Held {
                runbook,
                holder: None,
            } => write!(f, "runbook `{runbook}` is locked by another run"),
            LockError::Io { path, error } => {
                write!(f, "could not use the lock file {}: {error}", path.display())
            }
            LockError::Backend(error) => write!(f, "{}", error.headline),
        }
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Io { error, .. } => Some(error),
            LockError::Held { .. } | LockError::Backend(_) => None,
        }
    }
}

impl From<LockError> for Error {
    /// `Held` is exit 3 with what to do next; `Io` is exit 1.
    fn from(err: LockError) -> Error {
        match &err {
            LockError::Held { runbook, .. } => Error::new(ExitCode::Locked, err.to_string())
                .with_hint(format!(
                    "wait for that run to end (`rollout status {runbook}` shows it); \
                     in an emergency on the same machine, `rollout rollback {runbook} \
                     --emergency` stops it and takes over"
                )),
            LockError::Backend(error) => *error.clone(),
            LockError::Io { path, .. } => Error::failed(err.to_string()).with_hint(format!(
                "check that {} is writable",
                path.parent().unwrap_or(path).display()
            )),
        }
    }
}

impl RunLock {
    /// Takes the lock of `runbook`: in the team backend when the project has one, else
    /// in `lock_dir` (see [`RunLock::acquire`]).
    pub fn acquire_in(
        backend: &Backend,
        lock_dir: &Path,
        runbook: &str,
        me: &Holder,
    ) -> Result<RunLock, LockError> {
        match backend {
            Backend::Postgres(pg) => PgLock::acquire(pg, runbook, me)
                .map(|lock| RunLock::remote(lock_dir, runbook, lock))
                .map_err(|err| remote_error(backend, runbook, err)),
            _ => RunLock::acquire(lock_dir, runbook, me),
        }
    }

    /// Who holds the lock of `runbook` now, in the team backend or in `lock_dir`.
    pub fn holder_in(
        backend: &Backend,
        lock_dir: &Path,
        runbook: &str,
    ) -> io::Result<Option<Holder>> {
        match backend {
            Backend::Postgres(pg) => pg_lock::holder(pg, runbook).map_err(io::Error::other),
            _ => RunLock::holder(lock_dir, runbook),
        }
    }

    /// [`RunLock::take_over`] in the team backend when the project has one: there the
    /// holder may be on any machine; its database session is ended, which stops it.
    pub fn take_over_in(
        backend: &Backend,
        lock_dir: &Path,
        runbook: &str,
        me: &Holder,
        grace: Duration,
    ) -> Result<(RunLock, Option<Holder>), LockError> {
        match backend {
            Backend::Postgres(pg) => PgLock::take_over(pg, runbook, me, grace)
                .map(|(lock, previous)| (RunLock::remote(lock_dir, runbook, lock), previous))
                .map_err(|err| remote_error(backend, runbook, err)),
            _ => RunLock::take_over(lock_dir, runbook, me, grace),
        }
    }

    fn remote(lock_dir: &Path, runbook: &str, lock: PgLock) -> RunLock {
        RunLock {
            _file: None,
            path: lock_path(lock_dir, runbook),
            orphans_stopped: 0,
            acquired: std::time::SystemTime::now(),
            remote: Some(lock),
        }
    }

    /// Takes the lock of `runbook` in `lock_dir` (created if missing) and records `me`
    /// in it, or says who holds it. Blocks for about 200 ms at most.
    pub fn acquire(lock_dir: &Path, runbook: &str, me: &Holder) -> Result<RunLock, LockError> {
        let path = lock_path(lock_dir, runbook);
        let io_err = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        std::fs::create_dir_all(lock_dir).map_err(|error| LockError::Io {
            path: lock_dir.to_path_buf(),
            error,
        })?;
        for attempt in 1..=ATTEMPTS {
            if let Some(lock) = Self::try_acquire(&path, me).map_err(io_err)? {
                return Ok(lock);
            }
            if attempt < ATTEMPTS {
                sleep(ATTEMPT_PAUSE);
            }
        }
        Err(LockError::Held {
            runbook: runbook.to_string(),
            holder: read_holder(&path).ok().flatten().map(Box::new),
        })
    }

    /// Who holds the lock of `runbook` now: `Some` only while a live process holds it.
    pub fn holder(lock_dir: &Path, runbook: &str) -> io::Result<Option<Holder>> {
        let path = lock_path(lock_dir, runbook);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        // A shared lock, so two probes never see each other as the holder. Dropping
        // `file` releases it at once.
        match file.try_lock_shared() {
            Ok(()) => return Ok(None),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(err)) => return Err(err),
        }
        // The holder may be between truncating the file and writing itself into it.
        for _ in 0..ATTEMPTS {
            if let Some(holder) = read_holder(&path)? {
                return Ok(Some(holder));
            }
            sleep(ATTEMPT_PAUSE);
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is locked, but it does not say by whom", path.display()),
        ))
    }

    /// For `rollback --emergency`: takes the lock even from a run in progress on this
    /// host. That run gets SIGTERM (so it can record itself interrupted), then SIGKILL
    /// if it still holds the lock after `grace`. Returns the previous holder, if any.
    /// A lock held from another host, or by this very process, is `Held`. Blocks for up
    /// to `grace` + 2 s: from async code, call it through `spawn_blocking`.
    pub fn take_over(
        lock_dir: &Path,
        runbook: &str,
        me: &Holder,
        grace: Duration,
    ) -> Result<(RunLock, Option<Holder>), LockError> {
        let previous = match Self::acquire(lock_dir, runbook, me) {
            Ok(lock) => return Ok((lock, None)),
            Err(LockError::Held {
                holder: Some(holder),
                ..
            }) if holder.host == me.host && holder.pid != me.pid => *holder,
            Err(err) => return Err(err),
        };
        let path = lock_path(lock_dir, runbook);
        // Said before the signal, so the stopped run can tell its operator who took
        // over (SPEC §4.2); read by `RunLock::taken_over_by` before it lets go.
        if let Ok(json) = serde_json::to_string(me) {
            let _ = fs::write(takeover_path(&path), json);
        }
        let pid = i32::try_from(previous.pid)
            .map(Pid::from_raw)
            .map_err(|_| LockError::Held {
                runbook: runbook.to_string(),
                holder: Some(Box::new(previous.clone())),
            })?;
        for (signal, wait) in [(Signal::SIGTERM, grace), (Signal::SIGKILL, KILL_WAIT)] {
            // Failure (it already exited) is fine: the lock is what we watch.
            let _ = kill(pid, signal);
            let until = Instant::now() + wait;
            loop {
                let lock = Self::try_acquire(&path, me).map_err(|error| LockError::Io {
                    path: path.clone(),
                    error,
                })?;
                if let Some(lock) = lock {
                    let _ = fs::remove_file(takeover_path(&path));
                    return Ok((lock, Some(previous)));
                }
                if Instant::now() >= until {
                    break;
                }
                sleep(ATTEMPT_PAUSE);
            }
        }
        Err(LockError::Held {
            runbook: runbook.to_string(),
            holder: Some(Box::new(previous)),
        })
    }

    /// No lock at all: what an emergency rollback goes on with when the lock file cannot
    /// be created or written (SPEC §4.2: a read-only checkout, a full disk).
    pub fn unheld(path: PathBuf) -> RunLock {
        RunLock {
            _file: None,
            path,
            orphans_stopped: 0,
            acquired: std::time::SystemTime::now(),
            remote: None,
        }
    }

    /// Whether the lock is really held (see [`RunLock::unheld`]).
    pub fn is_held(&self) -> bool {
        self._file.is_some() || self.remote.is_some()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One attempt: `None` if someone else holds it.
    fn try_acquire(path: &Path, me: &Holder) -> io::Result<Option<RunLock>> {
        // Not `truncate(true)`: that would wipe the holder's record before we know
        // whether we get the lock.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(err)) => return Err(err),
        }
        // The lock was free, so its last holder is gone. If it was killed outright, what
        // it was running may still run: stop that first, so no two deploys overlap.
        let orphans_stopped = match read_holder(path).ok().flatten() {
            Some(Holder {
                children: Some(tag),
                ..
            }) => process::stop_orphans(&tag, process::KILL_GRACE),
            _ => 0,
        };
        let json = serde_json::to_string(me).map_err(io::Error::other)?;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(format!("{json}\n").as_bytes())?;
        file.sync_all()?;
        Ok(Some(RunLock {
            _file: Some(file),
            path: path.to_path_buf(),
            orphans_stopped,
            acquired: std::time::SystemTime::now(),
            remote: None,
        }))
    }
}

/// Where an emergency rollback says it is taking the lock over: `NAME.lock.takeover`.
fn takeover_path(lock: &Path) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(".takeover");
    PathBuf::from(name)
}

impl RunLock {
    /// Who is taking this lock over (an emergency rollback), if anyone said so since it
    /// was acquired: the stopped run names them to its operator.
    pub fn taken_over_by(&self) -> Option<Holder> {
        if let Some(remote) = &self.remote {
            return remote.taken_over_by();
        }
        let path = takeover_path(&self.path);
        let fresh = fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= self.acquired);
        if !fresh {
            return None;
        }
        serde_json::from_slice(&fs::read(path).ok()?).ok()
    }
}

fn remote_error(backend: &Backend, runbook: &str, err: PgLockError<Holder>) -> LockError {
    match (err, backend) {
        (PgLockError::Held(holder), _) => {
            let held = LockError::Held {
                runbook: runbook.to_string(),
                holder: holder.map(Box::new),
            };
            // The holder may be on any machine, and so may the operator who must act.
            LockError::Backend(Box::new(
                Error::new(ExitCode::Locked, held.to_string()).with_hint(format!(
                    "wait for that run to end (`rollout status {runbook}` shows it, on any \
                     machine of the team); in an emergency, `rollout rollback {runbook} \
                     --emergency` on any machine stops it and takes over"
                )),
            ))
        }
        (PgLockError::Down(why), Backend::Postgres(pg)) => {
            LockError::Backend(Box::new(pg.config.down(&why)))
        }
        (PgLockError::Down(why), _) => LockError::Backend(Box::new(Error::failed(why))),
    }
}

fn lock_path(lock_dir: &Path, runbook: &str) -> PathBuf {
    lock_dir.join(format!("{runbook}.lock"))
}

/// The holder recorded in the file; `None` if it is missing, empty or not ours.
fn read_holder(path: &Path) -> io::Result<Option<Holder>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => file.read_to_end(&mut bytes)?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    fn holder(pid: u32, host: &str) -> Holder {
        Holder {
            user: "alice".into(),
            host: host.into(),
            pid,
            since: DateTime::parse_from_rfc3339("2026-11-22T18:30:00Z")
                .expect("date")
                .with_timezone(&Utc),
            command: "rollout promote canary".into(),
            children: None,
        }
    }

    #[test]
    fn a_second_acquire_is_held_and_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let locks = dir.path().join(".rollout/locks");
        let me = Holder::me("rollout promote canary");
        let first = RunLock::acquire(&locks, "canary", &me).expect("first");
        assert_eq!(first.path(), locks.join("canary.lock"));
        match RunLock::acquire(&locks, "canary", &Holder::me("other")) {
            Err(LockError::Held { runbook, holder }) => {
                assert_eq!(runbook, "canary");
                assert_eq!(holder.as_deref(), Some(&me));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(
            RunLock::holder(&locks, "canary").expect("probe"),
            Some(me.clone())
        );
        // Another runbook is another lock.
        RunLock::acquire(&locks, "web", &me).expect("independent");
        drop(first);
        assert_eq!(RunLock::holder(&locks, "canary").expect("probe"), None);
        RunLock::acquire(&locks, "canary", &me).expect("free again after drop");
        assert!(locks.join("canary.lock").exists(), "never unlinked");
    }

    #[test]
    fn holder_is_none_when_there_is_no_lock_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(RunLock::holder(dir.path(), "canary").expect("probe"), None);
    }

    #[test]
    fn messages_name_the_holder_and_the_exit_code() {
        let err = LockError::Held {
            runbook: "canary".into(),
            holder: Some(Box::new(holder(4242, "ops-1"))),
        };
        assert_eq!(
            err.to_string(),
            "runbook `canary` is locked by alice@ops-1 (pid 4242, since \
             2026-11-22T18:30:00Z, `rollout promote canary`)"
        );
        let err = Error::from(err);
        assert_eq!(err.code, ExitCode::Locked);
        assert!(
            err.hint
                .is_some_and(|h| h.contains("rollout status canary"))
        );
    }

    /// A child that takes the lock with flock(1) and records itself as `host`, then
    /// sleeps; `None` (and the test skips) when flock(1) is missing.
    fn flock_holder(locks: &Path, runbook: &str, host: &str) -> Option<Child> {
        let present = Command::new("flock").arg("--version").output();
        if !present.is_ok_and(|out| out.status.success()) {
            eprintln!("skipped: flock(1) is not installed");
            return None;
        }
        std::fs::create_dir_all(locks).expect("lock dir");
        let script = r#"exec 9>>"$LOCK"; flock -x 9; printf '{"user":"bob","host":"%s","pid":%d,"since":"2026-11-22T18:30:00Z","command":"rollout promote canary"}' "$HOST_NAME" $$ > "$LOCK"; exec sleep 30"#;
        let child = Command::new("sh")
            .args(["-c", script])
            .env("LOCK", lock_path(locks, runbook))
            .env("HOST_NAME", host)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let until = Instant::now() + Duration::from_secs(5);
        while RunLock::holder(locks, runbook).ok().flatten().is_none() {
            assert!(
                Instant::now() < until,
                "the flock holder never took the lock"
            );
            sleep(Duration::from_millis(20));
        }
        Some(child)
    }

    #[test]
    fn a_lock_held_by_a_killed_process_is_free_afterwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Some(mut child) = flock_holder(dir.path(), "canary", "elsewhere") else {
            return;
        };
        let me = Holder::me("rollout promote canary");
        match RunLock::acquire(dir.path(), "canary", &me) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.map(|h| h.pid), Some(child.id()));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        child.kill().expect("kill");
        child.wait().expect("reap");
        assert_eq!(RunLock::holder(dir.path(), "canary").expect("probe"), None);
        RunLock::acquire(dir.path(), "canary", &me).expect("no stale lock");
    }

    #[test]
    fn take_over_stops_a_run_on_this_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = Holder::me("rollout rollback canary --emergency");
        let Some(mut child) = flock_holder(dir.path(), "canary", &me.host) else {
            return;
        };
        let (lock, previous) =
            RunLock::take_over(dir.path(), "canary", &me, Duration::from_secs(2)).expect("taken");
        assert_eq!(previous.map(|h| h.pid), Some(child.id()));
        let status = child.wait().expect("reap");
        assert!(
            status.code().is_none(),
            "the holder was signalled: {status:?}"
        );
        assert_eq!(
            RunLock::holder(dir.path(), "canary").expect("probe"),
            Some(me)
        );
        drop(lock);
    }

    #[test]
    fn take_over_refuses_a_run_on_another_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Some(mut child) = flock_holder(dir.path(), "canary", "another-host") else {
            return;
        };
        let me = Holder::me("rollout rollback canary --emergency");
        let result = RunLock::take_over(dir.path(), "canary", &me, Duration::from_millis(100));
        assert!(
            matches!(result, Err(LockError::Held { holder: Some(ref h), .. }) if h.host == "another-host")
        );
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "must not be signalled"
        );
        child.kill().expect("kill");
        child.wait().expect("reap");
    }

    #[test]
    fn take_over_of_a_free_lock_just_acquires() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = Holder::me("rollout rollback canary --emergency");
        let (_lock, previous) =
            RunLock::take_over(dir.path(), "canary", &me, Duration::from_secs(1)).expect("taken");
        assert_eq!(previous, None);
    }
}

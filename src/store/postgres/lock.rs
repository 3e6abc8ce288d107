//! The run lock on PostgreSQL: a session-level advisory lock keyed by (project,
//! runbook), on a connection of its own held for the whole run. The server drops it
//! when that session ends, however it ends — the holder dies, its machine vanishes
//! (keepalives), or an emergency rollback elsewhere ends it with `pg_terminate_backend`.
//!
//! The `locks` table says who holds it (for exit 3) and carries a fencing token that
//! every new holder increments: a run's state writes check that the token is still
//! theirs, so a run that lost its lock can never write again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::PgBackend;
use serde::Serialize;
use serde::de::DeserializeOwned;

const ATTEMPTS: u32 = 5;
const ATTEMPT_PAUSE: Duration = Duration::from_millis(50);
/// How often the lock's connection is asked whether it is still there, besides
/// hearing at once when the server closes it.
const PING_EVERY: Duration = Duration::from_secs(2);

/// 64-bit FNV-1a: stable across builds and machines (std's hasher is not).
pub fn fnv64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The two int4 keys of `pg_advisory_lock(int4, int4)`: the first from the project, the
/// second from project and runbook together — never one global id, so unrelated
/// projects (and other programs' bigint advisory locks) never block each other.
pub fn keys(project: &str, runbook: &str) -> (i32, i32) {
    let fold = |h: u64| (h ^ (h >> 32)) as u32 as i32;
    (
        fold(fnv64(&format!("rollout\0{project}"))),
        fold(fnv64(&format!("{project}\0{runbook}"))),
    )
}

/// A held lock. Dropping it closes its connection, which releases the lock.
#[derive(Debug)]
pub struct PgLock {
    backend: Arc<PgBackend>,
    runbook: String,
    pub token: i64,
    /// Kept for its `Drop`: closing the connection is what lets the lock go.
    _conn: Arc<Client>,
    released: Arc<AtomicBool>,
}

/// Why the lock could not be had.
#[derive(Debug)]
pub enum PgLockError<H> {
    Held(Option<H>),
    Down(String),
}

impl PgLock {
    /// Takes the lock of `runbook` and records `me` as its holder, or says who holds it.
    pub fn acquire<H: Serialize + DeserializeOwned + Send + 'static>(
        backend: &Arc<PgBackend>,
        runbook: &str,
        me: &H,
    ) -> Result<PgLock, PgLockError<H>> {
        let (conn, ended) = backend
            .config
            .connect_watched()
            .map_err(PgLockError::Down)?;
        let conn = Arc::new(conn);
        let (k1, k2) = keys(&backend.config.project, runbook);
        for attempt in 1..=ATTEMPTS {
            let c = conn.clone();
            let got = super::run(async move {
                c.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
                    .await
                    .map(|row| row.get::<_, bool>(0))
                    .map_err(|e| super::describe(&e))
            })
            .map_err(PgLockError::Down)?;
            if got {
                let token =
                    record_holder(backend, &conn, runbook, me).map_err(PgLockError::Down)?;
                let released = Arc::new(AtomicBool::new(false));
                watch(
                    Arc::downgrade(&conn),
                    ended,
                    released.clone(),
                    backend.config.name.clone(),
                    runbook.to_string(),
                );
                backend.set_token(runbook, token);
                return Ok(PgLock {
                    backend: backend.clone(),
                    runbook: runbook.to_string(),
                    token,
                    _conn: conn,
                    released,
                });
            }
            if attempt < ATTEMPTS {
                std::thread::sleep(ATTEMPT_PAUSE);
            }
        }
        Err(PgLockError::Held(
            holder(backend, runbook).map_err(PgLockError::Down)?,
        ))
    }

    /// For `rollback --emergency` on any machine: ends the holder's database session
    /// (`pg_terminate_backend`), which releases its lock at once and tells that run to
    /// stop, then takes the lock. Returns the previous holder, if any.
    pub fn take_over<H: Serialize + DeserializeOwned + Send + 'static>(
        backend: &Arc<PgBackend>,
        runbook: &str,
        me: &H,
        grace: Duration,
    ) -> Result<(PgLock, Option<H>), PgLockError<H>> {
        let previous = match PgLock::acquire(backend, runbook, me) {
            Ok(lock) => return Ok((lock, None)),
            Err(PgLockError::Held(holder)) => holder,
            Err(err) => return Err(err),
        };
        let client = backend.client();
        let (k1, k2) = keys(&backend.config.project, runbook);
        let say = format!(
            "UPDATE {} SET taking_over = $3 WHERE project = $1 AND runbook = $2",
            backend.table("locks")
        );
        let (project, name) = (backend.config.project.clone(), runbook.to_string());
        let said = serde_json::to_value(me).map_err(|e| PgLockError::Down(e.to_string()))?;
        super::run(async move {
            let client = client.lock().await;
            // Said before the session ends, so the stopped run can name who took over.
            client
                .execute(&say, &[&project, &name, &said])
                .await
                .map_err(|e| super::describe(&e))?;
            // Whoever holds the advisory lock now, whatever the table says.
            client
                .query(
                    &format!(
                        "SELECT pg_terminate_backend(p.pid) FROM pg_locks p
                         WHERE {HELD} AND p.pid <> pg_backend_pid()"
                    ),
                    &[&i64::from(k1 as u32), &i64::from(k2 as u32)],
                )
                .await
                .map_err(|e| format!("cannot end the holder's session: {}", super::describe(&e)))?;
            Ok(())
        })
        .map_err(PgLockError::Down)?;
        let until = Instant::now() + grace;
        loop {
            match PgLock::acquire(backend, runbook, me) {
                Ok(lock) => return Ok((lock, previous)),
                Err(PgLockError::Held(_)) if Instant::now() < until => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Who took this lock over, if someone has: the holder now recorded when its token
    /// is newer than ours, or who said they are taking it over.
    pub fn taken_over_by<H: DeserializeOwned + Send + 'static>(&self) -> Option<H> {
        let (client, sql) = (
            self.backend.client(),
            format!(
                "SELECT CASE WHEN token > $3 THEN holder ELSE taking_over END
                 FROM {} WHERE project = $1 AND runbook = $2",
                self.backend.table("locks")
            ),
        );
        let (project, runbook, token) = (
            self.backend.config.project.clone(),
            self.runbook.clone(),
            self.token,
        );
        super::run(async move {
            let rows = client
                .lock()
                .await
                .query(&sql, &[&project, &runbook, &token])
                .await
                .map_err(|e| super::describe(&e))?;
            Ok(rows.first().and_then(|row| {
                row.get::<_, Option<serde_json::Value>>(0)
                    .and_then(|v| serde_json::from_value(v).ok())
            }))
        })
        .ok()
        .flatten()
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        self.released.store(true, Ordering::SeqCst);
        self.backend.clear_token(&self.runbook, self.token);
    }
}

/// A granted advisory lock on keys $1, $2 (as pg_locks shows them: unsigned) in this
/// database.
pub(crate) const HELD: &str = "p.locktype = 'advisory' AND p.granted AND p.objsubid = 2
    AND p.classid::bigint = $1 AND p.objid::bigint = $2
    AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// Who holds the lock of `runbook` now: `Some` only while a live session holds it.
pub fn holder<H: DeserializeOwned + Send + 'static>(
    backend: &PgBackend,
    runbook: &str,
) -> Result<Option<H>, String> {
    let (k1, k2) = keys(&backend.config.project, runbook);
    let sql = format!(
        "SELECT l.holder FROM {} l JOIN pg_locks p ON p.pid = l.backend_pid AND {HELD}
         WHERE l.project = $3 AND l.runbook = $4",
        backend.table("locks")
    );
    let (client, project, runbook) = (
        backend.client(),
        backend.config.project.clone(),
        runbook.to_string(),
    );
    super::run(async move {
        let rows = client
            .lock()
            .await
            .query(
                &sql,
                &[
                    &i64::from(k1 as u32),
                    &i64::from(k2 as u32),
                    &project,
                    &runbook,
                ],
            )
            .await
            .map_err(|e| super::describe(&e))?;
        Ok(rows
            .first()
            .and_then(|row| serde_json::from_value(row.get(0)).ok()))
    })
}

/// Writes `me` as the holder with the next fencing token, on the lock's own connection.
fn record_holder<H: Serialize>(
    backend: &PgBackend,
    conn: &Arc<Client>,
    runbook: &str,
    me: &H,
) -> Result<i64, String> {
    let sql = format!(
        "INSERT INTO {} AS l (project, runbook, token, holder, backend_pid)
         VALUES ($1, $2, 1, $3, pg_backend_pid())
         ON CONFLICT (project, runbook) DO UPDATE
            SET token = l.token + 1, holder = EXCLUDED.holder,
                backend_pid = EXCLUDED.backend_pid, taking_over = NULL,
                since = clock_timestamp()
         RETURNING token",
        backend.table("locks")
    );
    let holder = serde_json::to_value(me).map_err(|e| e.to_string())?;
    let (conn, project, runbook) = (
        conn.clone(),
        backend.config.project.clone(),
        runbook.to_string(),
    );
    super::run(async move {
        conn.query_one(&sql, &[&project, &runbook, &holder])
            .await
            .map(|row| row.get::<_, i64>(0))
            .map_err(|e| super::describe(&e))
    })
}

/// Watches the lock's connection: when it ends (the server closed it: a takeover, the
/// database going down) or stops answering while the lock is still wanted, this run
/// has lost its lock. It is told as on SIGTERM, so it stops its child, records itself
/// interrupted and says who took over.
fn watch(
    conn: std::sync::Weak<Client>,
    mut ended: tokio::sync::oneshot::Receiver<String>,
    released: Arc<AtomicBool>,
    backend: String,
    runbook: String,
) {
    super::spawn(async move {
        let why = loop {
            tokio::select! {
                why = &mut ended => break why.unwrap_or_else(|_| "the connection was closed".into()),
                () = tokio::time::sleep(PING_EVERY) => {
                    // Weak, so that letting the lock go closes its connection at once.
                    let Some(conn) = conn.upgrade().filter(|_| !released.load(Ordering::SeqCst)) else {
                        return;
                    };
                    let ping = tokio::time::timeout(PING_EVERY * 2, conn.simple_query("")).await;
                    match ping {
                        Ok(Ok(_)) => {}
                        Ok(Err(err)) => break super::describe(&err),
                        Err(_) => break "the database stopped answering".to_string(),
                    }
                }
            }
        };
        if released.load(Ordering::SeqCst) {
            return;
        }
        crate::ui::stderr_line(format_args!(
            "warning: lost the lock of `{runbook}` on {backend} ({why}); this run stops as interrupted"
        ));
        let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_project_and_runbook() {
        let a = keys("shop", "canary");
        assert_eq!(a, keys("shop", "canary"), "stable");
        assert_ne!(a.1, keys("blog", "canary").1);
        assert_ne!(a.0, keys("blog", "canary").0);
        assert_eq!(a.0, keys("shop", "web").0);
        assert_ne!(a.1, keys("shop", "web").1);
        // Fixed, so every machine and every build agrees.
        assert_eq!(fnv64(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64("a"), 0xaf63_dc4c_8601_ec8c);
    }
}

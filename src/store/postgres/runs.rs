//! Runs on PostgreSQL: one `runs` row per run, its journal [`Record`]s as `records`
//! rows, each appended in a transaction of its own that first checks the fencing token
//! (see `lock.rs`). Every record is also appended to the local journal under
//! `.rollout/runs/`, so an emergency rollback on this machine has local state when the
//! database is down.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::PgBackend;
use super::lock::{HELD, keys};
use crate::error::Error;
use crate::store::{FileStore, Folded, Record, RunStore};

/// Runs of one project in the backend's database.
#[derive(Debug)]
pub struct PostgresStore {
    backend: Arc<PgBackend>,
    local: FileStore,
    /// Runs this process has appended to locally: the first time, the local journal is
    /// given the run as the database has it, so it folds on its own (a run begun on
    /// another machine has no local beginning here).
    mirrored: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

/// Why a record was not stored.
enum Refused {
    /// This process no longer holds the lock (or a newer holder has taken it).
    Fenced(String),
    Down(String),
}

impl PostgresStore {
    pub fn new(backend: Arc<PgBackend>, local: FileStore) -> PostgresStore {
        PostgresStore {
            backend,
            local,
            mirrored: Default::default(),
        }
    }

    fn down(&self, why: String) -> Error {
        self.backend.config.down(&why)
    }

    fn where_(&self, runbook: &str, run_id: Option<&str>) -> String {
        format!(
            "{} ({}.runs, project `{}`, runbook `{runbook}`{})",
            self.backend.config.name,
            self.backend.config.schema,
            self.backend.config.project,
            run_id.map(|r| format!(", run {r}")).unwrap_or_default()
        )
    }

    /// Every run of `runbook` (or only `run_id`) with its records folded, in order.
    fn fold(&self, runbook: &str, run_id: Option<String>) -> Result<Vec<Folded>, Error> {
        let sql = format!(
            "SELECT r.run_id, c.record FROM {runs} r JOIN {records} c USING (project, runbook, run_id)
             WHERE r.project = $1 AND r.runbook = $2 AND ($3::text IS NULL OR r.run_id = $3)
             ORDER BY r.created_at, r.run_id, c.seq",
            runs = self.backend.table("runs"),
            records = self.backend.table("records"),
        );
        let (client, project, name) = (
            self.backend.client(),
            self.backend.config.project.clone(),
            runbook.to_string(),
        );
        let rows = super::run(async move {
            client
                .lock()
                .await
                .query(&sql, &[&project, &name, &run_id])
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|row| (row.get::<_, String>(0), row.get::<_, Value>(1)))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| super::describe(&e))
        })
        .map_err(|why| self.down(why))?;
        let mut runs: Vec<Folded> = Vec::new();
        for (run_id, record) in rows {
            let location = self.where_(runbook, Some(&run_id));
            let record: Record = serde_json::from_value(record).map_err(|e| {
                crate::store::file::unreadable(std::path::Path::new(&location), &e.to_string())
            })?;
            if runs.last().is_none_or(|last| last.run_id != run_id) {
                runs.push(Folded {
                    run_id: run_id.clone(),
                    document: Value::Null,
                    location,
                });
            }
            if let Some(last) = runs.last_mut() {
                record.apply(&mut last.document);
            }
        }
        Ok(runs)
    }

    /// Appends one record in one statement (so one round trip and one commit): the run's
    /// row is created or touched and the record inserted only if this process still
    /// holds the lock with its fencing token — the `locks` row is locked `FOR UPDATE`
    /// meanwhile, so a new holder's token cannot slip in between check and write.
    fn store(&self, runbook: &str, run_id: &str, record: &Record) -> Result<(), Refused> {
        let record = serde_json::to_value(record).map_err(|e| Refused::Down(e.to_string()))?;
        let token = self.backend.token(runbook);
        let (k1, k2) = keys(&self.backend.config.project, runbook);
        let sql = format!(
            "WITH fence AS (
                SELECT 1 FROM {locks} l
                WHERE l.project = $1 AND l.runbook = $2 AND l.token = $5
                  AND EXISTS (SELECT 1 FROM pg_locks p WHERE p.pid = l.backend_pid AND {held})
                FOR UPDATE OF l
             ), go AS (
                SELECT 1 WHERE $5::bigint IS NULL OR EXISTS (SELECT 1 FROM fence)
             ), run AS (
                INSERT INTO {runs} (project, runbook, run_id) SELECT $1, $2, $3 FROM go
                ON CONFLICT (project, runbook, run_id) DO UPDATE SET updated_at = clock_timestamp()
                RETURNING 1
             )
             INSERT INTO {records} (project, runbook, run_id, record, token)
             SELECT $1, $2, $3, $4, $5 FROM go
             RETURNING seq",
            locks = self.backend.table("locks"),
            runs = self.backend.table("runs"),
            records = self.backend.table("records"),
            held = HELD.replace("$1", "$6").replace("$2", "$7"),
        );
        let why_sql = format!(
            "SELECT l.token, EXISTS (SELECT 1 FROM pg_locks p WHERE p.pid = l.backend_pid AND {HELD})
             FROM {} l WHERE l.project = $3 AND l.runbook = $4",
            self.backend.table("locks")
        );
        let (client, project, runbook, run_id) = (
            self.backend.client(),
            self.backend.config.project.clone(),
            runbook.to_string(),
            run_id.to_string(),
        );
        let (k1, k2) = (i64::from(k1 as u32), i64::from(k2 as u32));
        super::run(async move {
            let down = |e: tokio_postgres::Error| super::describe(&e);
            let mut conn = client.lock().await;
            let statement = conn.prepared(&sql).await.map_err(down)?;
            let stored = conn
                .query_opt(
                    &statement,
                    &[&project, &runbook, &run_id, &record, &token, &k1, &k2],
                )
                .await
                .map_err(down)?;
            if stored.is_some() {
                return Ok(Ok(()));
            }
            // Refused: say why.
            let row = conn
                .query_opt(&why_sql, &[&k1, &k2, &project, &runbook])
                .await
                .map_err(down)?;
            let (now, held) = row
                .map(|r| (r.get::<_, i64>(0), r.get::<_, bool>(1)))
                .unwrap_or((0, false));
            let mine = token.unwrap_or_default();
            Ok(Err(Refused::Fenced(if now != mine {
                format!("fencing token {mine}, the lock's is now {now}")
            } else if !held {
                format!("fencing token {mine}, but its session has ended")
            } else {
                format!("fencing token {mine}")
            })))
        })
        .map_err(Refused::Down)
        .and_then(|inner| inner)
    }
}

impl RunStore for PostgresStore {
    fn latest(&self, runbook: &str) -> Result<Option<Folded>, Error> {
        let sql = format!(
            "SELECT run_id FROM {} WHERE project = $1 AND runbook = $2
             ORDER BY created_at DESC, run_id DESC LIMIT 1",
            self.backend.table("runs")
        );
        let (client, project, name) = (
            self.backend.client(),
            self.backend.config.project.clone(),
            runbook.to_string(),
        );
        let latest = super::run(async move {
            client
                .lock()
                .await
                .query_opt(&sql, &[&project, &name])
                .await
                .map(|row| row.map(|r| r.get::<_, String>(0)))
                .map_err(|e| super::describe(&e))
        })
        .map_err(|why| self.down(why))?;
        match latest {
            Some(run_id) => Ok(self.fold(runbook, Some(run_id))?.pop()),
            None => Ok(None),
        }
    }

    fn runs(&self, runbook: &str) -> Result<Vec<Folded>, Error> {
        self.fold(runbook, None)
    }

    fn runbooks(&self) -> Result<Vec<String>, Error> {
        let sql = format!(
            "SELECT DISTINCT runbook FROM {} WHERE project = $1 ORDER BY runbook",
            self.backend.table("runs")
        );
        let (client, project) = (self.backend.client(), self.backend.config.project.clone());
        super::run(async move {
            client
                .lock()
                .await
                .query(&sql, &[&project])
                .await
                .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
                .map_err(|e| super::describe(&e))
        })
        .map_err(|why| self.down(why))
    }

    fn append(
        &self,
        runbook: &str,
        run_id: &str,
        record: &Record,
        durable: bool,
    ) -> Result<(), Error> {
        // The local copy first: it is what an emergency here goes on with.
        let first = self
            .mirrored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((runbook.to_string(), run_id.to_string()));
        if first
            && record.snapshot.is_none()
            && let Ok(Some(run)) = self
                .fold(runbook, Some(run_id.to_string()))
                .map(|mut r| r.pop())
        {
            let whole = Record {
                snapshot: Some(run.document),
                ..Record::default()
            };
            let _ = self.local.append(runbook, run_id, &whole, false);
        }
        let local = self.local.append(runbook, run_id, record, false);
        let kept = match &local {
            Ok(()) => format!("kept only in {}", self.local.location(runbook).display()),
            Err(err) => format!("nor locally: {}", err.headline),
        };
        // Every record commits durably: one statement cannot lower its own
        // synchronous_commit, and a marker costs only its round trip.
        let _ = durable;
        match self.store(runbook, run_id, record) {
            Ok(()) => Ok(()),
            // Said, and the run goes on to stop: its lock's watcher interrupts it.
            Err(Refused::Fenced(why)) => {
                crate::ui::stderr_line(format_args!(
                    "warning: the backend refused a record of run {run_id}: this run no longer holds the lock of `{runbook}` ({why}); {kept}"
                ));
                Ok(())
            }
            Err(Refused::Down(why)) => {
                crate::ui::stderr_line(format_args!(
                    "warning: a record of run {run_id} could not be stored in {}: {why}; {kept}",
                    self.backend.config.name
                ));
                Ok(())
            }
        }
    }

    fn location(&self, runbook: &str) -> PathBuf {
        PathBuf::from(self.where_(runbook, None))
    }
}

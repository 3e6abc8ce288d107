//! The reliability log as rows: every entry a run appends to its local file is also a
//! `log` row of the project, so `rollout log` on any machine reads the team's log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::PgBackend;
use crate::log::Entry;
use crate::log::writer::LogMirror;

/// The project's log in the backend.
#[derive(Debug)]
pub struct PgLog {
    backend: Arc<PgBackend>,
}

impl PgLog {
    pub fn new(backend: Arc<PgBackend>) -> PgLog {
        PgLog { backend }
    }

    /// Appends the project's lines with an id after `after` to `out`, in order; returns
    /// the last id written (or `after`).
    pub fn export(&self, after: i64, out: &mut dyn Write) -> Result<i64, String> {
        let sql = format!(
            "SELECT id, line FROM {} WHERE project = $1 AND id > $2 ORDER BY id",
            self.backend.table("log")
        );
        let (client, project) = (self.backend.client(), self.backend.config.project.clone());
        let rows = super::run(async move {
            client
                .lock()
                .await
                .query(&sql, &[&project, &after])
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| super::describe(&e))
        })?;
        let mut last = after;
        for (id, line) in rows {
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            last = id;
        }
        Ok(last)
    }

    /// Where the rows are, for messages.
    pub fn name(&self) -> String {
        format!(
            "{} ({}.log, project `{}`)",
            self.backend.config.name, self.backend.config.schema, self.backend.config.project
        )
    }
}

impl LogMirror for PgLog {
    fn append(&self, entry: &Entry) {
        let sql = format!(
            "INSERT INTO {} (project, runbook, line) VALUES ($1, $2, $3)",
            self.backend.table("log")
        );
        let (client, project, runbook, line) = (
            self.backend.client(),
            self.backend.config.project.clone(),
            entry.runbook.clone(),
            entry.format(),
        );
        let stored = super::run(async move {
            let mut conn = client.lock().await;
            let statement = conn.prepared(&sql).await.map_err(|e| super::describe(&e))?;
            conn.execute(&statement, &[&project, &runbook, &line])
                .await
                .map(drop)
                .map_err(|e| super::describe(&e))
        });
        if let Err(why) = stored {
            crate::ui::stderr_line(format_args!(
                "warning: log line `{}` could not be stored in {}: {why}; it is in the local log",
                entry.event, self.backend.config.name
            ));
        }
    }
}

/// For an emergency rollback that goes on while the backend is down: counts what the
/// backend misses and, when the run is done, says which lines those were.
#[derive(Debug)]
pub struct NotStored {
    backend: String,
    lines: Mutex<Vec<(String, String)>>,
}

impl NotStored {
    pub fn new(backend: &str) -> NotStored {
        NotStored {
            backend: backend.to_string(),
            lines: Mutex::new(Vec::new()),
        }
    }
}

impl LogMirror for NotStored {
    fn append(&self, entry: &Entry) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((crate::log::format_ts(entry.ts), entry.event.clone()));
    }
}

impl Drop for NotStored {
    fn drop(&mut self) {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
            return;
        };
        crate::ui::stderr_line(format_args!(
            "warning: {} log line(s) could not be stored in {} (down), from {} `{}` to {} `{}`; \
             they and the run's state are only in the local log and .rollout/runs/",
            lines.len(),
            self.backend,
            first.0,
            first.1,
            last.0,
            last.1
        ));
    }
}

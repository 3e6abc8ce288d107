//! The team's shared backend on PostgreSQL (SPEC §9): one lock, one run state, one
//! history and one log across every machine that runs a project's runbooks.
//!
//! All database work runs on one small runtime of its own ([`run`]), so the store, the
//! lock and the log can be used from plain code and from the engine's async code alike:
//! the caller waits on a channel, never on a runtime inside a runtime.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::error::Error;

pub mod config;
pub mod lock;
pub mod log;
pub mod passfile;
pub mod runs;
pub mod schema;

pub use config::PgConfig;
pub use lock::PgLock;
pub use log::PgLog;
pub use runs::PostgresStore;

/// How long one statement may take before the database is called unreachable.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `name` can be used unquoted as a schema name: lowercase letters, digits and
/// `_`, starting with a letter or `_`, at most 63 bytes (PostgreSQL's NAMEDATALEN - 1).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rollout-postgres")
            .enable_all()
            .build()
            .unwrap_or_else(|err| {
                // Without threads the process cannot run a deploy either.
                eprintln!("error: cannot start the database runtime: {err}");
                std::process::exit(1)
            })
    })
}

/// Runs `work` on the database runtime and waits for it, with [`STATEMENT_TIMEOUT`]
/// per call unless `work` is itself bounded.
pub(crate) fn run<T, F>(work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: Future<Output = Result<T, String>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let result = match tokio::time::timeout(STATEMENT_TIMEOUT, work).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} s",
                STATEMENT_TIMEOUT.as_secs()
            )),
        };
        let _ = tx.send(result);
    });
    rx.recv()
        .unwrap_or_else(|_| Err("the database task stopped".to_string()))
}

/// Spawns `work` on the database runtime without waiting for it.
pub(crate) fn spawn<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime().spawn(work);
}

/// A connection's error as one line: the server's own message when it sent one.
pub(crate) fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                let more = inner.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = inner.source();
            }
            text
        }
    }
}

/// A connected, migrated backend: its settings and the connection that reads and writes
/// rows (the lock has a connection of its own, see [`PgLock`]).
#[derive(Debug)]
pub struct PgBackend {
    pub config: PgConfig,
    client: Shared,
    /// The fencing token of each lock this process holds, by runbook.
    tokens: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

/// One connection used by one statement or transaction at a time.
pub(crate) type Shared = Arc<Mutex<Conn>>;

/// A connection and the statements prepared on it, so a statement said once per step
/// costs one round trip, not two (parse, then execute).
#[derive(Debug)]
pub(crate) struct Conn {
    client: Client,
    statements: std::collections::HashMap<String, tokio_postgres::Statement>,
}

impl Conn {
    /// `sql`, prepared on this connection the first time it is asked for.
    pub(crate) async fn prepared(
        &mut self,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl PgBackend {
    /// Connects and creates or migrates the schema. The error names the backend without
    /// its password, with what to do (exit 1).
    pub fn open(config: PgConfig) -> Result<PgBackend, Error> {
        let client = config.connect().map_err(|err| config.down(&err))?;
        let backend = PgBackend {
            config,
            client: Arc::new(Mutex::new(Conn {
                client,
                statements: Default::default(),
            })),
            tokens: Default::default(),
        };
        let (client, schema) = (backend.client.clone(), backend.config.schema.clone());
        run(async move {
            let mut conn = client.lock().await;
            schema::migrate(&mut conn, &schema).await
        })
        .map_err(|err| backend.config.down(&err))?;
        Ok(backend)
    }

    pub(crate) fn client(&self) -> Shared {
        self.client.clone()
    }

    pub(crate) fn set_token(&self, runbook: &str, token: i64) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(runbook.to_string(), token);
    }

    pub(crate) fn clear_token(&self, runbook: &str, token: i64) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.get(runbook) == Some(&token) {
            tokens.remove(runbook);
        }
    }

    /// The fencing token of the lock this process holds on `runbook`, if it holds one.
    pub(crate) fn token(&self, runbook: &str) -> Option<i64> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(runbook)
            .copied()
    }

    /// `schema.table`, for statements (the schema is a checked identifier).
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.config.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["rollout", "_x", "team_2"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "2x", "Rollout", "a-b", "a;drop", "a b", &"x".repeat(64)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}

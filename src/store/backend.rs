//! Which backend a project uses: local files under `.rollout/` (the default), or the
//! team's PostgreSQL when `ROLLOUT_BACKEND_URL` or `[backend] url` names one (SPEC §9).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use super::postgres::log::NotStored;
use super::postgres::{PgBackend, PgConfig, PgLog, PostgresStore};
use super::{FileStore, RunStore};
use crate::error::Error;
use crate::log::writer::LogMirror;
use crate::project::Project;

/// Where a project's lock, runs and log live.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `.rollout/` and the local log only.
    Local,
    Postgres(Arc<PgBackend>),
    /// Configured but unreachable, for an emergency rollback that goes on locally.
    Down(Arc<PgConfig>),
}

impl Backend {
    /// The project's backend, connected and migrated. A configured backend that cannot be
    /// used is exit 1 naming it (never its password).
    pub fn open(project: &Project) -> Result<Backend, Error> {
        match Backend::connect(project)? {
            Backend::Down(config) => Err(config.down(&Backend::why(&config))),
            other => Ok(other),
        }
    }

    /// Like [`Backend::open`], but a backend that is down is said and gone on without:
    /// what an emergency rollback does.
    pub fn open_emergency(project: &Project) -> Result<Backend, Error> {
        let backend = Backend::connect(project)?;
        // Said once, however many parts of the rollback ask.
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if let Backend::Down(config) = &backend
            && !SAID.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            crate::ui::stderr_line(format_args!(
                "warning: the backend {} cannot be used ({}); the emergency rollback goes on \
                 with local state and the local log, and says at the end what it could not store",
                config.name,
                Backend::why(config)
            ));
        }
        Ok(backend)
    }

    /// The backend configured for `project`, without connecting.
    pub fn configured(project: &Project) -> Result<Option<PgConfig>, Error> {
        let default_project = project
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".to_string());
        PgConfig::resolve(
            &project.settings.backend,
            &default_project,
            &super::postgres::config::process_env,
        )
    }

    fn connect(project: &Project) -> Result<Backend, Error> {
        let Some(config) = Backend::configured(project)? else {
            return Ok(Backend::Local);
        };
        let key = format!("{}|{}|{}", config.name, config.schema, config.project);
        let mut opened = opened().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(backend) = opened.get(&key) {
            return Ok(backend.clone());
        }
        let backend = match PgBackend::open(config.clone()) {
            Ok(pg) => Backend::Postgres(Arc::new(pg)),
            Err(err) => {
                remember_why(&config, &err);
                Backend::Down(Arc::new(config))
            }
        };
        opened.insert(key, backend.clone());
        Ok(backend)
    }

    fn why(config: &PgConfig) -> String {
        whys()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&config.name)
            .cloned()
            .unwrap_or_else(|| "unreachable".to_string())
    }

    /// The run store: the database's (mirrored to `.rollout/`), or `.rollout/` alone.
    pub fn run_store(&self, state_dir: &Path) -> Arc<dyn RunStore> {
        let local = FileStore::new(state_dir);
        match self {
            Backend::Postgres(pg) => Arc::new(PostgresStore::new(pg.clone(), local)),
            Backend::Local | Backend::Down(_) => Arc::new(local),
        }
    }

    /// Where log entries go besides the local file.
    pub fn log_mirror(&self) -> Option<Arc<dyn LogMirror>> {
        match self {
            Backend::Local => None,
            Backend::Postgres(pg) => Some(Arc::new(PgLog::new(pg.clone()))),
            Backend::Down(config) => Some(Arc::new(NotStored::new(&config.name))),
        }
    }

    /// The project's log rows, when the backend keeps them.
    pub fn log(&self) -> Option<PgLog> {
        match self {
            Backend::Postgres(pg) => Some(PgLog::new(pg.clone())),
            _ => None,
        }
    }
}

fn opened() -> &'static Mutex<HashMap<String, Backend>> {
    static OPENED: OnceLock<Mutex<HashMap<String, Backend>>> = OnceLock::new();
    OPENED.get_or_init(Default::default)
}

fn whys() -> &'static Mutex<HashMap<String, String>> {
    static WHYS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    WHYS.get_or_init(Default::default)
}

fn remember_why(config: &PgConfig, err: &Error) {
    let prefix = format!("the backend {} cannot be used: ", config.name);
    let why = err
        .headline
        .strip_prefix(&prefix)
        .unwrap_or(&err.headline)
        .to_string();
    whys()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(config.name.clone(), why);
}

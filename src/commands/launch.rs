//! What `promote`, `resume` and `rollback` share before the engine starts: the lock,
//! the run state, the plan, the log check, and the reporters.

use std::sync::Arc;

use crate::app::Context;
use crate::engine::confirm;
use crate::engine::lock::{Holder, LockError, RunLock, TAKE_OVER_GRACE};
use crate::engine::run::{Engine, Options};
use crate::engine::session::Session;
use crate::engine::state::{RunState, StateStore};
use crate::error::Error;
use crate::event::Fanout;
use crate::log::{LogRecorder, LogWriter};
use crate::plan::Plan;
use crate::project::Project;
use crate::runbook::{self, Strictness};
use crate::signal::Interrupt;
use crate::steps::RunFlags;
use crate::store::Backend;
use crate::ui::Output;

/// Loads and resolves a runbook for this invocation, printing its warnings.
pub fn load_plan(
    cx: &Context,
    project: &Project,
    name: &str,
    run_id: &str,
    strictness: Strictness,
) -> Result<Plan, Error> {
    load_plan_with(cx, project, name, run_id, strictness, &cx.global.set)
}

/// Like [`load_plan`], with the `--set` values of a run (see `run_sets`).
pub fn load_plan_with(
    cx: &Context,
    project: &Project,
    name: &str,
    run_id: &str,
    strictness: Strictness,
    sets: &[(String, String)],
) -> Result<Plan, Error> {
    let loaded = runbook::load(
        project,
        name,
        &runbook::Context {
            sets,
            run_id,
            user: &cx.user,
            host: &cx.host,
            strictness,
        },
    )?;
    for warning in &loaded.warnings {
        crate::ui::stderr_line(format_args!("warning: {warning}"));
    }
    Ok(loaded.plan)
}

/// `promote`, `resume` and `rollback` refuse a `--set` the runbook does not use (SPEC
/// §2): a typo (`verison=2.8.0`) would otherwise ship the default. Checked before the
/// lock, the state or the log are touched, so nothing at all happens (exit 2).
pub fn refuse_unused_sets(cx: &Context, project: &Project, name: &str) -> Result<(), Error> {
    if cx.global.set.is_empty() {
        return Ok(());
    }
    let loaded = runbook::load(
        project,
        name,
        &runbook::Context {
            sets: &cx.global.set,
            run_id: "r-check",
            user: &cx.user,
            host: &cx.host,
            strictness: Strictness::Describe,
        },
    )?;
    if loaded.unused_sets.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = loaded.unused_sets.iter().map(|(k, _)| k.as_str()).collect();
    let verb = if keys.len() == 1 { "is" } else { "are" };
    let detail: Vec<String> = loaded
        .unused_sets
        .iter()
        .map(|(key, suggestion)| {
            if suggestion.is_empty() {
                format!("`{key}`: no step, variable or setting uses it")
            } else {
                format!("`{key}`: {suggestion}")
            }
        })
        .collect();
    let mut known: Vec<&str> = loaded.plan.vars.keys().map(String::as_str).collect();
    known.dedup();
    let hint = if known.is_empty() {
        format!("runbook `{name}` has no [vars]; `rollout show {name}` shows what it runs")
    } else {
        format!(
            "its variables: {} (`rollout show {name}` shows them in use)",
            known.join(", ")
        )
    };
    Err(Error::usage(format!(
        "--set {} {verb} not used by runbook `{name}`; nothing was run",
        keys.join(", ")
    ))
    .with_detail(detail.join("\n"))
    .with_hint(hint))
}

/// Fails with the loader's "no runbook `x`" error before anything is created for it.
pub fn ensure_exists(cx: &Context, project: &Project, name: &str) -> Result<(), Error> {
    if project
        .runbooks_dir()
        .join(format!("{name}.toml"))
        .is_file()
    {
        return Ok(());
    }
    load_plan(cx, project, name, "r-check", Strictness::Describe).map(|_| ())
}

/// The reliability log, checked before anything runs: a run that cannot be logged
/// does not start.
pub fn writable_log(cx: &Context, project: &Project) -> Result<LogWriter, Error> {
    let log = LogWriter::new(cx.log_path(project));
    log.check().map_err(|err| {
        Error::failed(format!(
            "cannot append to the reliability log {}",
            log.path().display()
        ))
        .with_detail(format!("{err}; nothing was run"))
        .with_hint("fix its permissions or free space, or point --log / ROLLOUT_LOG elsewhere")
    })?;
    Ok(log)
}

/// A session for `plan` whose every event is appended to `log` and rendered by `output`.
pub fn session(
    cx: &Context,
    plan: Plan,
    run_id: String,
    log: LogWriter,
    output: &Output,
    emergency: bool,
) -> Session {
    session_with(cx, plan, run_id, log, output, emergency, None)
}

/// Like [`session`], knowing what each target ran before (`before`, from the run
/// state), which the live view shows beside what the run ships.
pub fn session_with(
    cx: &Context,
    plan: Plan,
    run_id: String,
    log: LogWriter,
    output: &Output,
    emergency: bool,
    before: Option<&crate::releases::Releases>,
) -> Session {
    let log_path = log.path().to_path_buf();
    let mut reporters = Fanout::new();
    reporters.add(Box::new(LogRecorder::new(log, &cx.user, &cx.host)));
    reporters.add(output.run_reporter(&plan, before));
    Session::new(
        Arc::new(plan),
        run_id,
        Arc::new(reporters),
        Interrupt::install(),
        RunFlags {
            emergency,
            // Checked by `Launch::begin` before anything ran (exit 2).
            approvers: crate::steps::approvers::Approvers::parse(&cx.global.approved_by)
                .unwrap_or_default(),
            interactive: confirm::can_prompt(),
            rollback_to: None,
            rollback_all: false,
            log_path: Some(log_path),
        },
    )
}

/// A run about to start: the lock is held and the log can be written.
pub struct Launch {
    pub store: StateStore,
    lock: RunLock,
    log: LogWriter,
    pub me: Holder,
    emergency: bool,
}

impl Launch {
    /// Takes the runbook's lock (from a promote in progress, for an emergency) and makes
    /// sure the log can be appended (an emergency goes on without it).
    pub fn begin(
        cx: &Context,
        project: &Project,
        name: &str,
        words: &[&str],
        emergency: bool,
    ) -> Result<Launch, Error> {
        ensure_exists(cx, project, name)?;
        crate::steps::approvers::Approvers::parse(&cx.global.approved_by).map_err(|why| {
            Error::usage(why).with_detail("nothing was run").with_hint(
                "one --approved-by per role: --approved-by engineer=sam --approved-by manager=dana",
            )
        })?;
        let me = Holder::me(&cx.command_line(words));
        let lock_dir = project.state_dir().join("locks");
        // SPEC §9: with the team's database down, only an emergency goes on (locally).
        let backend = if emergency {
            Backend::open_emergency(project)?
        } else {
            project.backend()?
        };
        let lock = if emergency {
            let taken = RunLock::take_over_in(&backend, &lock_dir, name, &me, TAKE_OVER_GRACE);
            let (lock, previous) = match taken {
                // SPEC §4.2: a lock file that cannot be created or written (a read-only
                // checkout, a full disk) does not stop the way back.
                Err(err @ LockError::Io { .. }) => {
                    crate::ui::stderr_line(format_args!(
                        "warning: {err}; the emergency rollback goes on without the lock"
                    ));
                    (RunLock::unheld(lock_dir.join(format!("{name}.lock"))), None)
                }
                other => other.map_err(Error::from)?,
            };
            if let Some(previous) = previous {
                crate::ui::stderr_line(format_args!(
                    "warning: took the lock of `{name}` from {}@{} (pid {}, `{}`); that run stops as interrupted",
                    previous.user, previous.host, previous.pid, previous.command
                ));
            }
            lock
        } else {
            RunLock::acquire_in(&backend, &lock_dir, name, &me).map_err(Error::from)?
        };
        if lock.orphans_stopped > 0 {
            crate::ui::stderr_line(format_args!(
                "warning: stopped {} process(es) that a killed run of `{name}` had left running",
                lock.orphans_stopped
            ));
        }
        let log = if emergency {
            let log = LogWriter::new(cx.log_path(project)).with_mirror(backend.log_mirror());
            if let Err(err) = log.check() {
                crate::ui::stderr_line(format_args!(
                    "warning: cannot write the reliability log {}: {err}; the emergency rollback goes on without it",
                    log.path().display()
                ));
            }
            log
        } else {
            writable_log(cx, project)?.with_mirror(backend.log_mirror())
        };
        Ok(Launch {
            store: StateStore::in_backend(&backend, &project.state_dir()),
            lock,
            log,
            me,
            emergency,
        })
    }

    /// The reliability log this launch checked.
    pub fn log(&self) -> &LogWriter {
        &self.log
    }

    /// The latest run of the runbook; for an emergency an unreadable state file is moved
    /// aside (and said so) rather than stopping the rollback.
    pub fn previous(&self, name: &str, emergency: bool) -> Result<Option<RunState>, Error> {
        match self.store.load(name) {
            Ok(state) => Ok(state),
            Err(err) if emergency => {
                let path = self.store.path(name);
                let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("state");
                let aside = path.with_extension(format!(
                    "{extension}.unreadable-{}",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ));
                // Never silently discarded: moved aside when possible, and said either way.
                match std::fs::rename(&path, &aside) {
                    Ok(()) => crate::ui::stderr_line(format_args!(
                        "warning: {}; moved it to {} and going on",
                        err.headline,
                        aside.display()
                    )),
                    Err(e) => crate::ui::stderr_line(format_args!(
                        "warning: {}; cannot move it aside either ({e}); going on without it",
                        err.headline
                    )),
                }
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// The engine for `plan`, told to log and render every event.
    pub fn engine(
        self,
        cx: &Context,
        project: &Project,
        plan: Plan,
        run_id: String,
        full: bool,
        sets: Vec<(String, String)>,
    ) -> Engine {
        let before = self
            .store
            .load(&plan.name)
            .ok()
            .flatten()
            .map(|state| state.releases);
        let session = session_with(
            cx,
            plan,
            run_id,
            self.log,
            &cx.output(project),
            self.emergency,
            before.as_ref(),
        );
        let options = Options {
            full,
            yes: cx.global.yes,
            jobs: crate::engine::preflight::ALL_AT_ONCE,
            user: cx.user.clone(),
            host: cx.host.clone(),
            sets: sets.into_iter().collect(),
            wait: false,
        };
        Engine::new(session, self.store, options, self.lock)
    }
}

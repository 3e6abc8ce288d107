//! Prints a dry run: human text, or one JSON document with `--json`.

use crate::app::Context;
use crate::engine::lock::{LockError, RunLock};
use crate::error::{Error, ExitCode};
use crate::project::Project;
use crate::ui::plan_view::DryRun;

pub fn print(cx: &Context, dry: &DryRun<'_>) -> Result<ExitCode, Error> {
    let text = if cx.global.json {
        serde_json::to_string_pretty(&dry.to_json()).unwrap_or_default()
    } else {
        dry.render()
    };
    super::output::print_stdout(&text)?;
    Ok(ExitCode::Ok)
}

/// A dry run of a runbook another run holds answers as the real command would: exit 3,
/// naming the holder. It only probes the lock (a shared `flock`, dropped at once), so
/// it never takes it; without this, the held run's state reads as an interrupted one.
pub fn refuse_if_locked(project: &Project, name: &str) -> Result<(), Error> {
    let lock_dir = project.state_dir().join("locks");
    match RunLock::holder_in(&project.backend()?, &lock_dir, name) {
        Ok(None) => Ok(()),
        Ok(Some(holder)) => Err(LockError::Held {
            runbook: name.to_string(),
            holder: Some(Box::new(holder)),
        }
        .into()),
        Err(error) => Err(LockError::Io {
            path: lock_dir.join(format!("{name}.lock")),
            error,
        }
        .into()),
    }
}

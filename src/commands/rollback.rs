//! `rollout rollback [RUNBOOK] [--emergency] [--reason TEXT] [--to RELEASE]`: run `[[rollback]]`.
//! RUNBOOK defaults to the one most recently run here.

use crate::app::Context;
use crate::engine::lock::RunLock;
use crate::engine::session::new_run_id;
use crate::engine::state::StateStore;
use crate::error::{Error, ExitCode};
use crate::project::Project;
use crate::runbook::Strictness;
use crate::ui::plan_view::DryRun;

use super::dry_run;
use super::launch::{Launch, load_plan_with, refuse_unused_sets};
use super::run_sets::{self, Purpose};

pub async fn run(
    cx: &Context,
    name: Option<&str>,
    emergency: bool,
    reason: Option<&str>,
    to: Option<&str>,
    all: bool,
) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let name = match name {
        Some(name) => name.to_string(),
        None => most_recent(&project, emergency)?,
    };
    refuse_unused_sets(cx, &project, &name)?;
    let reason = reason.map(str::to_string).unwrap_or_else(|| {
        if emergency {
            format!("emergency rollback by {}", cx.user)
        } else {
            format!("manual rollback by {}", cx.user)
        }
    });
    if cx.global.dry_run {
        // An emergency takes the lock over and moves an unreadable state aside; a plain
        // rollback would stop at either, and so does its dry run.
        let backend = if emergency {
            crate::store::Backend::open_emergency(&project)?
        } else {
            project.backend()?
        };
        let store = StateStore::in_backend(&backend, &project.state_dir());
        let previous = if emergency {
            store.load(&name).unwrap_or(None)
        } else {
            dry_run::refuse_if_locked(&project, &name)?;
            store.load(&name)?
        };
        let run_id = previous
            .as_ref()
            .map(|s| s.run_id.clone())
            .unwrap_or_else(new_run_id);
        let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Rollback)?;
        let plan = load_plan_with(cx, &project, &name, &run_id, Strictness::DryRun, &sets)?;
        let mut sections = vec![("rollback", plan.rollback.as_slice())];
        if emergency {
            sections.push((
                "emergency (only if a rollback step fails)",
                plan.emergency.as_slice(),
            ));
        }
        return dry_run::print(
            cx,
            &DryRun {
                plan: &plan,
                what: if emergency {
                    "rollback --emergency"
                } else {
                    "rollback"
                },
                preflight: !emergency,
                sections,
                note: Some(dry_run_note(&project, &name, &reason, to, emergency)),
            },
        );
    }
    let words = if emergency {
        vec!["rollback", name.as_str(), "--emergency"]
    } else {
        vec!["rollback", name.as_str()]
    };
    let launch = Launch::begin(cx, &project, &name, &words, emergency)?;
    let previous = launch.previous(&name, emergency)?;
    let run_id = previous
        .as_ref()
        .map(|s| s.run_id.clone())
        .unwrap_or_else(new_run_id);
    let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Rollback)?;
    let plan = load_plan_with(cx, &project, &name, &run_id, Strictness::Run, &sets)?;
    let engine = launch
        .engine(cx, &project, plan, run_id, false, sets)
        .with_rollback_to(to.map(str::to_string))
        .with_rollback_all(all);
    Ok(engine
        .rollback(previous, &reason, emergency)
        .await?
        .exit_code())
}

/// What a dry run of a rollback adds after its steps: why, where to, and whose lock an
/// emergency would take.
fn dry_run_note(
    project: &Project,
    name: &str,
    reason: &str,
    to: Option<&str>,
    emergency: bool,
) -> String {
    let mut note = format!("reason: {reason}");
    if let Some(to) = to {
        note.push_str(&format!(
            "\nrollback steps return the target to {to} (--to)"
        ));
    }
    let lock_dir = project.state_dir().join("locks");
    if emergency
        && let Ok(backend) = crate::store::Backend::open_emergency(project)
        && let Ok(Some(holder)) = RunLock::holder_in(&backend, &lock_dir, name)
    {
        note.push_str(&format!(
            "\nwould take the lock from {holder}, which stops that run as interrupted"
        ));
    }
    note
}

/// The runbook whose run was updated last; unreadable state files are passed over here
/// (an emergency must not stop at another runbook's broken file).
fn most_recent(project: &Project, emergency: bool) -> Result<String, Error> {
    let backend = if emergency {
        crate::store::Backend::open_emergency(project)?
    } else {
        project.backend()?
    };
    let store = StateStore::in_backend(&backend, &project.state_dir());
    let names = project.runbook_names()?;
    let latest = names
        .iter()
        .filter_map(|name| store.load(name).ok().flatten())
        .max_by_key(|state| state.updated_at);
    latest.map(|s| s.runbook).ok_or_else(|| {
        Error::usage(
            "no runbook has been run in this project yet, so there is no default to roll back",
        )
        .with_hint("name it: `rollout rollback RUNBOOK` (`rollout list` shows them)")
    })
}

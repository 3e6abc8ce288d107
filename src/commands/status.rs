//! `rollout status [RUNBOOK]`: where each run stands, and who holds the lock.

use serde_json::{Value, json};

use crate::app::Context;
use crate::engine::lock::{Holder, RunLock};
use crate::engine::start::shown_status;
use crate::engine::state::{RunState, RunStatus, StateStore};
use crate::error::{Error, ExitCode};
use crate::project::Project;

use super::output::print_stdout;
use super::status_parked;
use crate::plan::Plan;
use crate::runbook::Strictness;

/// "paused at `gate`", "failed at `deploy`", "interrupted at …" — a run marked running
/// whose lock nobody holds died without saying so: it is shown as interrupted.
pub fn shown_state(state: &RunState, held: bool) -> String {
    let status = effective_status(state, held);
    match (&state.at_step, status) {
        (
            Some(step),
            RunStatus::Paused
            | RunStatus::Failed
            | RunStatus::Interrupted
            | RunStatus::Running
            | RunStatus::Baking
            | RunStatus::Waiting,
        ) => {
            format!("{} at `{step}`", shown_status(status))
        }
        _ => shown_status(status).to_string(),
    }
}

/// A run marked running whose lock nobody holds died without saying so: it shows as interrupted.
pub fn effective_status(state: &RunState, held: bool) -> RunStatus {
    if state.status == RunStatus::Running && !held {
        RunStatus::Interrupted
    } else {
        state.status
    }
}

pub fn run(cx: &Context, name: Option<&str>) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let names = match name {
        Some(name) => {
            super::launch::ensure_exists(cx, &project, name)?;
            vec![name.to_string()]
        }
        None => project.runbook_names()?,
    };
    let backend = project.backend()?;
    let store = StateStore::in_backend(&backend, &project.state_dir());
    let mut reports = Vec::new();
    for name in &names {
        // The plan says a pause's reason and the next step; a runbook that no longer
        // loads still has its state shown.
        let plan =
            super::launch::load_plan(cx, &project, name, "r-status", Strictness::Describe).ok();
        reports.push(report(&project, &store, name, plan.as_ref())?);
    }
    let text = if cx.global.json {
        let docs: Vec<Value> = reports.iter().map(|r| r.json.clone()).collect();
        let doc = if name.is_some() {
            docs.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(docs)
        };
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    } else {
        reports
            .iter()
            .map(|r| r.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    print_stdout(&text)?;
    Ok(ExitCode::Ok)
}

struct Report {
    text: String,
    json: Value,
}

fn report(
    project: &Project,
    store: &StateStore,
    name: &str,
    plan: Option<&Plan>,
) -> Result<Report, Error> {
    let holder = RunLock::holder_in(
        &project.backend()?,
        &project.state_dir().join("locks"),
        name,
    )
    .ok()
    .flatten();
    let state = store.load(name)?;
    let mut text = String::new();
    let json = match &state {
        None => {
            text.push_str(&format!("{name}: never run\n"));
            json!({"runbook": name, "status": "never_run", "lock": holder.as_ref().map(holder_json)})
        }
        Some(state) => {
            let status = effective_status(state, holder.is_some());
            text.push_str(&format!(
                "{name}: {}\n",
                shown_state(state, holder.is_some())
            ));
            text.push_str(&format!(
                "  run {} ({}), started {} by {}@{}, updated {}\n",
                state.run_id,
                state.mode.as_str(),
                state.started_at.format("%Y-%m-%d %H:%M:%SZ"),
                state.user,
                state.host,
                state.updated_at.format("%Y-%m-%d %H:%M:%SZ"),
            ));
            let done = state
                .steps
                .iter()
                .filter(|s| state.is_done(&s.name))
                .count();
            text.push_str(&format!("  steps done: {done}\n"));
            if let Some(error) = &state.error {
                text.push_str(&format!("  error: {error}\n"));
            }
            if let Some(reason) = state
                .abandoned
                .as_ref()
                .filter(|_| status == RunStatus::Abandoned)
            {
                text.push_str(&format!("  abandoned: {reason}\n"));
            }
            let mut shown = state.clone();
            shown.status = status;
            let mut waits = status_parked::waits(&shown, plan, crate::clock::now_or_real());
            if holder.is_some() && status.is_parked() {
                // `promote --wait` holds it: it goes on by itself; another promote would
                // only find the lock taken.
                waits.commands.clear();
                waits
                    .detail
                    .push("held in the foreground (promote --wait): it goes on by itself".into());
            }
            for line in status_parked::lines(&waits, status) {
                text.push_str(&line);
                text.push('\n');
            }
            if let Some(rollback) = &state.rollback {
                let how = match rollback.ok {
                    Some(true) => "complete",
                    Some(false) => "FAILED",
                    None => "did not finish",
                };
                text.push_str(&format!(
                    "  last rollback{}: {how} ({})\n",
                    if rollback.emergency {
                        " (emergency)"
                    } else {
                        ""
                    },
                    rollback.reason
                ));
            }
            for (target, release) in &state.releases {
                text.push_str(&format!("  {target}: {}\n", release.describe()));
            }
            if !state.sets.is_empty() {
                let sets: Vec<String> =
                    state.sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
                text.push_str(&format!("  started with --set {}\n", sets.join(" --set ")));
            }
            let mut doc = serde_json::to_value(state).unwrap_or(Value::Null);
            doc["status"] = json!(status.as_str());
            status_parked::json_fields(&shown, &waits, &mut doc);
            doc["lock"] = holder.as_ref().map(holder_json).unwrap_or(Value::Null);
            doc
        }
    };
    match &holder {
        Some(h) => text.push_str(&format!(
            "  locked by {}@{} (pid {}, since {}, `{}`)\n",
            h.user,
            h.host,
            h.pid,
            h.since.format("%Y-%m-%d %H:%M:%SZ"),
            h.command
        )),
        None => text.push_str("  not locked\n"),
    }
    Ok(Report { text, json })
}

fn holder_json(holder: &Holder) -> Value {
    serde_json::to_value(holder).unwrap_or(Value::Null)
}

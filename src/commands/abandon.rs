//! `rollout abandon RUNBOOK [--reason TEXT] [--force]` (SPEC §3): ends a paused, parked,
//! failed or interrupted run without running any step, so the next `promote` starts
//! afresh. A run that changed something needs `--force`, and its `RUN ABANDONED` line
//! names what it left as it is; a run already over is left as it is, saying so.

use serde_json::json;

use crate::app::Context;
use crate::engine::start::shown_status;
use crate::engine::state::{RunState, RunStatus, StateStore};
use crate::error::{Error, ExitCode};
use crate::log::Entry;

use super::dry_run;
use super::launch::{Launch, ensure_exists};
use super::output::print_stdout;

pub fn run(cx: &Context, name: &str, reason: Option<&str>, force: bool) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    ensure_exists(cx, &project, name)?;
    if cx.global.dry_run {
        dry_run::refuse_if_locked(&project, name)?;
        let state = StateStore::in_backend(&project.backend()?, &project.state_dir()).load(name)?;
        if let Some(done) = nothing_to_do(cx, name, state.as_ref())? {
            return Ok(done);
        }
        let state = state.as_ref().map(|s| (s, refuse_unforced(name, s, force)));
        if let Some((_, Err(err))) = state {
            return Err(err);
        }
        let Some((state, _)) = state else {
            return Ok(ExitCode::Ok);
        };
        print_stdout(&format!(
            "would abandon run {} of `{name}` ({}), running no step, and log RUN ABANDONED{}; nothing was changed (dry run)",
            state.run_id,
            shown_status(state.status),
            left_text(state)
                .map(|l| format!(" leaving {l} as it is"))
                .unwrap_or_default()
        ))?;
        return Ok(ExitCode::Ok);
    }
    let launch = Launch::begin(cx, &project, name, &["abandon", name], false)?;
    let state = launch.previous(name, false)?;
    if let Some(done) = nothing_to_do(cx, name, state.as_ref())? {
        return Ok(done);
    }
    let Some(mut state) = state else {
        return Ok(ExitCode::Ok);
    };
    refuse_unforced(name, &state, force)?;
    let was = shown_status(match state.status {
        // We hold the lock: a run still marked running died without saying so.
        RunStatus::Running => RunStatus::Interrupted,
        status => status,
    });
    let left = left_text(&state);
    let reason = reason
        .map(str::to_string)
        .unwrap_or_else(|| format!("abandoned by {}", cx.user));
    state.status = RunStatus::Abandoned;
    state.abandoned = Some(reason.clone());
    state.parked = None;
    state.updated_at = chrono::Utc::now();
    launch.store.save(&state)?;
    let mut entry = Entry::new("RUN ABANDONED", Some(name))
        .field("run", &state.run_id)
        .field("was", was)
        .field("reason", &reason);
    if let Some(at) = &state.at_step {
        entry = entry.field("step", at);
    }
    entry = entry.field("left", left.as_deref().unwrap_or("nothing changed"));
    entry = entry.field("user", &cx.user).field("host", &cx.host);
    if let Err(err) = launch.log().append(&entry) {
        crate::ui::stderr_line(format_args!(
            "warning: cannot write the reliability log {}: {err}",
            launch.log().path().display()
        ));
    }
    if cx.global.json {
        let doc = json!({
            "runbook": name,
            "run_id": state.run_id,
            "state": "abandoned",
            "was": was,
            "reason": reason,
            "left": left,
        });
        print_stdout(&serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        print_stdout(&format!(
            "abandoned run {} of `{name}` (it was {was}); no step ran{}\nthe next `rollout promote {name}` starts a new run",
            state.run_id,
            left.map(|l| format!("; left as it is: {l}"))
                .unwrap_or_default()
        ))?;
    }
    Ok(ExitCode::Ok)
}

/// No run, or a run already over: said so, exit 0.
fn nothing_to_do(
    cx: &Context,
    name: &str,
    state: Option<&RunState>,
) -> Result<Option<ExitCode>, Error> {
    let text = match state {
        None => format!("`{name}` has no run to abandon; nothing was done"),
        Some(state) if state.status.is_over() => format!(
            "run {} of `{name}` is already over ({}); it is left as it is",
            state.run_id,
            shown_status(state.status)
        ),
        Some(_) => return Ok(None),
    };
    if cx.global.json {
        let doc = json!({
            "runbook": name,
            "run_id": state.map(|s| s.run_id.clone()),
            "state": state.map(|s| s.status.as_str()).unwrap_or("never_run"),
            "abandoned": false,
            "message": text,
        });
        print_stdout(&serde_json::to_string_pretty(&doc).unwrap_or_default())?;
    } else {
        print_stdout(&text)?;
    }
    Ok(Some(ExitCode::Ok))
}

/// A run that changed something is abandoned only with `--force` (exit 2 otherwise),
/// naming what it changed and both ways out.
fn refuse_unforced(name: &str, state: &RunState, force: bool) -> Result<(), Error> {
    if force || !state.changed {
        return Ok(());
    }
    let what = left_text(state).unwrap_or_else(|| "something (a command step ran)".to_string());
    Err(Error::usage(format!(
        "run {} of `{name}` changed {what}; abandoning it would leave that as it is",
        state.run_id
    ))
    .with_detail("nothing was done")
    .with_hint(format!(
        "undo it with `rollout rollback {name}`, or leave it as it is with `rollout abandon {name} --force`"
    )))
}

/// What the run changed, as it stands: `web=reg/web:1.5 api=…`, or the targets alone.
fn left_text(state: &RunState) -> Option<String> {
    if !state.changed {
        return None;
    }
    let each: Vec<String> = state
        .changed_targets
        .iter()
        .map(
            |t| match state.releases.get(t).and_then(|r| r.current.clone()) {
                Some(current) => format!("{t}={current}"),
                None => t.clone(),
            },
        )
        .collect();
    if each.is_empty() {
        Some("what its command steps did".to_string())
    } else {
        Some(each.join(" "))
    }
}

//! `rollout promote RUNBOOK [--full] [--wait]`: start a run, or continue a paused or
//! parked one.

use crate::app::Context;
use crate::engine::session::new_run_id;
use crate::engine::start::{promote_start, steps_to_run};
use crate::engine::state::{RunState, RunStatus, StateStore};
use crate::error::{Error, ExitCode};
use crate::plan::{Plan, StepKind};
use crate::runbook::Strictness;
use crate::ui::plan_view::DryRun;

use super::dry_run;
use super::launch::{Launch, load_plan_with, refuse_unused_sets};
use super::run_sets::{self, Purpose};

pub async fn run(cx: &Context, name: &str, full: bool, wait: bool) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    refuse_unused_sets(cx, &project, name)?;
    if cx.global.dry_run {
        dry_run::refuse_if_locked(&project, name)?;
        let previous =
            StateStore::in_backend(&project.backend()?, &project.state_dir()).load(name)?;
        let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Promote)?;
        let plan = load_plan_with(
            cx,
            &project,
            name,
            &run_id_for(previous.as_ref()),
            Strictness::DryRun,
            &sets,
        )?;
        refuse_without_steps(&plan)?;
        let start = promote_start(&plan, previous.as_ref())?;
        let steps = steps_to_run(&plan, start, full);
        let parked = previous.as_ref().filter(|s| s.status.is_parked());
        let note = match steps.last() {
            _ if parked.is_some() => Some(format!(
                "would check `{}` again (it is {}), and go on only if it lets the run go on",
                parked
                    .and_then(|s| s.at_step.as_deref())
                    .unwrap_or("the parked step"),
                parked.map(|s| s.status.as_str()).unwrap_or("parked")
            )),
            Some(step) if matches!(step.kind, StepKind::Pause { .. }) => {
                Some(format!("would stop at the pause `{}`", step.name))
            }
            _ if start > 0 => Some(format!("would continue run after step {start}")),
            _ => None,
        };
        return dry_run::print(
            cx,
            &DryRun {
                plan: &plan,
                what: "promote",
                preflight: true,
                sections: vec![("steps", steps)],
                note,
            },
        );
    }
    let launch = Launch::begin(cx, &project, name, &["promote", name], false)?;
    let previous = launch.previous(name, false)?;
    let run_id = run_id_for(previous.as_ref());
    let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Promote)?;
    let plan = load_plan_with(cx, &project, name, &run_id, Strictness::Run, &sets)?;
    refuse_without_steps(&plan)?;
    let engine = launch
        .engine(cx, &project, plan, run_id, full, sets)
        .waiting(wait);
    Ok(engine.promote(previous).await?.exit_code())
}

/// A runbook without `[[steps]]` has nothing to promote; "complete" would be a lie.
fn refuse_without_steps(plan: &Plan) -> Result<(), Error> {
    if !plan.steps.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "runbook `{}` has no [[steps]]: there is nothing to promote",
        plan.name
    ))
    .with_detail("nothing was run")
    .with_hint(format!(
        "add [[steps]] to runbooks/{}.toml (its [[preflight]] alone runs with `rollout preflight {}`)",
        plan.name, plan.name
    )))
}

/// A paused run keeps its id; anything else starts a new one.
fn run_id_for(previous: Option<&RunState>) -> String {
    match previous {
        Some(state) if state.status == RunStatus::Paused || state.status.is_parked() => {
            state.run_id.clone()
        }
        _ => new_run_id(),
    }
}

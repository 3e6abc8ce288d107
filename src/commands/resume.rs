//! `rollout resume RUNBOOK [--from STEP]`: go on with a failed or interrupted run.

use crate::app::Context;
use crate::engine::start::{resume_start, steps_to_run};
use crate::engine::state::StateStore;
use crate::error::{Error, ExitCode};
use crate::runbook::Strictness;
use crate::ui::plan_view::DryRun;

use super::dry_run;
use super::launch::{Launch, load_plan_with, refuse_unused_sets};
use super::run_sets::{self, Purpose};

pub async fn run(cx: &Context, name: &str, from: Option<&str>) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    refuse_unused_sets(cx, &project, name)?;
    if cx.global.dry_run {
        dry_run::refuse_if_locked(&project, name)?;
        let previous =
            StateStore::in_backend(&project.backend()?, &project.state_dir()).load(name)?;
        let run_id = previous
            .as_ref()
            .map(|s| s.run_id.clone())
            .unwrap_or_default();
        let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Resume)?;
        let plan = load_plan_with(cx, &project, name, &run_id, Strictness::DryRun, &sets)?;
        let start = resume_start(&plan, previous.as_ref(), from)?;
        return dry_run::print(
            cx,
            &DryRun {
                plan: &plan,
                what: "resume",
                preflight: true,
                sections: vec![("steps", steps_to_run(&plan, start, false))],
                note: plan
                    .steps
                    .get(start)
                    .map(|s| format!("would resume at `{}`", s.name)),
            },
        );
    }
    let launch = Launch::begin(cx, &project, name, &["resume", name], false)?;
    let previous = launch.previous(name, false)?;
    let run_id = previous
        .as_ref()
        .map(|s| s.run_id.clone())
        .unwrap_or_default();
    let sets = run_sets::effective(&cx.global.set, previous.as_ref(), Purpose::Resume)?;
    let plan = load_plan_with(cx, &project, name, &run_id, Strictness::Run, &sets)?;
    let engine = launch.engine(cx, &project, plan, run_id, false, sets);
    Ok(engine.resume(previous, from).await?.exit_code())
}

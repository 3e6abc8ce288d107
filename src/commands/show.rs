//! `rollout show RUNBOOK`: the plan, every command line resolved, secrets masked.

use crate::app::Context;
use crate::error::{Error, ExitCode};
use crate::runbook::Strictness;
use crate::ui::plan_view::{plan_json, render_plan};

use super::launch::load_plan;
use super::output::print_stdout;

pub fn run(cx: &Context, name: &str) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    // `show` never needs a secret's value, and names the run id it would get.
    let plan = load_plan(
        cx,
        &project,
        name,
        "r-YYYYMMDD-HHMMSS-xxxx",
        Strictness::Describe,
    )?;
    let text = if cx.global.json {
        serde_json::to_string_pretty(&plan_json(&plan)).unwrap_or_default()
    } else {
        render_plan(&plan)
    };
    print_stdout(&text)?;
    Ok(ExitCode::Ok)
}

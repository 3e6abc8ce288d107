//! Prints a dry run: human text, or one JSON document with `--json`.

use crate::app::Context;
use crate::error::{Error, ExitCode};
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

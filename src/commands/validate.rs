//! `rollout validate [RUNBOOK…]`: every problem in every runbook, `file:line:col`, exit 2
//! on any error. Runs nothing.

use serde_json::json;

use crate::app::Context;
use crate::error::{Error, ExitCode};
use crate::runbook::{self, Strictness};

use super::output::print_stdout;

pub fn run(cx: &Context, names: &[String]) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let names = if names.is_empty() {
        project.runbook_names()?
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return Err(Error::usage(format!(
            "no runbooks to validate in {}",
            project.runbooks_dir().display()
        ))
        .with_hint("write one as runbooks/NAME.toml"));
    }
    let context = runbook::Context {
        sets: &cx.global.set,
        run_id: "r-validate",
        user: &cx.user,
        host: &cx.host,
        strictness: Strictness::Describe,
    };
    let mut failed = 0;
    let mut docs = Vec::new();
    let mut text = Vec::new();
    for name in &names {
        match runbook::check(&project, name, &context) {
            Ok(loaded) => {
                let steps = loaded.plan.preflight.len()
                    + loaded.plan.steps.len()
                    + loaded.plan.rollback.len()
                    + loaded.plan.emergency.len();
                text.push(format!(
                    "ok    {} ({steps} steps)",
                    loaded.plan.file().display()
                ));
                for warning in &loaded.warnings {
                    text.push(format!("      warning: {warning}"));
                }
                docs.push(
                    json!({"runbook": name, "ok": true, "errors": [], "warnings": loaded.warnings}),
                );
            }
            Err(diagnostics) => {
                failed += 1;
                for diagnostic in &diagnostics {
                    crate::ui::stderr_line(format_args!("{diagnostic}"));
                }
                text.push(format!("FAIL  {name}: {} error(s)", diagnostics.len()));
                let errors: Vec<_> = diagnostics
                    .iter()
                    .map(|d| {
                        json!({"file": d.file, "line": d.line, "col": d.col, "message": d.message, "help": d.help})
                    })
                    .collect();
                docs.push(json!({"runbook": name, "ok": false, "errors": errors, "warnings": []}));
            }
        }
    }
    if cx.global.json {
        print_stdout(
            &serde_json::to_string_pretty(&json!({"ok": failed == 0, "runbooks": docs}))
                .unwrap_or_default(),
        )?;
    } else if !cx.global.quiet || failed > 0 {
        print_stdout(&text.join("\n"))?;
    }
    Ok(if failed == 0 {
        ExitCode::Ok
    } else {
        ExitCode::Usage
    })
}

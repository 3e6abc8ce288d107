//! `rollout list`: the runbooks found, with descriptions, the state of each, and a mark
//! on those that do not validate.

use serde_json::{Value, json};

use crate::app::Context;
use crate::engine::lock::RunLock;
use crate::engine::state::StateStore;
use crate::error::{Error, ExitCode};
use crate::runbook::{self, Strictness};

use super::output::print_stdout;
use super::status::{effective_status, shown_state};

/// One runbook's row.
struct Row {
    name: String,
    description: Option<String>,
    /// What people read: "paused at `gate`", "never run".
    shown: String,
    json: Value,
}

pub fn run(cx: &Context) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let backend = project.backend()?;
    let store = StateStore::in_backend(&backend, &project.state_dir());
    let lock_dir = project.state_dir().join("locks");
    let context = runbook::Context {
        sets: &cx.global.set,
        run_id: "r-list",
        user: &cx.user,
        host: &cx.host,
        strictness: Strictness::Describe,
    };
    let mut rows = Vec::new();
    for name in project.runbook_names()? {
        let description = runbook::describe(&project, &name);
        let errors = match runbook::check(&project, &name, &context) {
            Ok(_) => 0,
            Err(diagnostics) => diagnostics.len(),
        };
        let held = RunLock::holder_in(&backend, &lock_dir, &name)
            .ok()
            .flatten()
            .is_some();
        // The one spelling of a state in JSON is the state's own (`never_run`,
        // `rolled_back`), as `status --json` writes it.
        let (mut shown, state, step, parked) = match store.load(&name) {
            Ok(Some(s)) => (
                shown_state(&s, held),
                Value::from(effective_status(&s, held).as_str()),
                s.at_step.clone(),
                super::status_parked::until_fields(&s),
            ),
            Ok(None) => (
                "never run".to_string(),
                Value::from("never_run"),
                None,
                Value::Null,
            ),
            Err(_) => (
                "unreadable state".to_string(),
                Value::Null,
                None,
                Value::Null,
            ),
        };
        if errors > 0 {
            shown = format!(
                "INVALID ({errors} error{}: rollout validate {name})",
                if errors == 1 { "" } else { "s" }
            );
        }
        let mut json = json!({
            "name": name,
            "description": description,
            "state": state,
            "at_step": step,
            "valid": errors == 0,
            "errors": errors,
        });
        // SPEC §4.3: a parked run has `until` (a bake's end) or `opens_at` (a window's).
        if let (Value::Object(fields), Value::Object(doc)) = (parked, &mut json) {
            doc.extend(fields);
        }
        rows.push(Row {
            name,
            description,
            shown,
            json,
        });
    }
    let text = if cx.global.json {
        let list: Vec<&Value> = rows.iter().map(|r| &r.json).collect();
        serde_json::to_string_pretty(&list).unwrap_or_default()
    } else if rows.is_empty() {
        format!(
            "no runbooks in {}\nhint: write one as runbooks/NAME.toml (see the README)",
            project.runbooks_dir().display()
        )
    } else {
        let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let state_width = rows.iter().map(|r| r.shown.len()).max().unwrap_or(0);
        rows.iter()
            .map(|r| {
                format!(
                    "{:<width$}  {:<state_width$}  {}",
                    r.name,
                    r.shown,
                    r.description.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    print_stdout(&text)?;
    Ok(ExitCode::Ok)
}

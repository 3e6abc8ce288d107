//! `rollout list`: the runbooks found, with descriptions and the state of each.

use serde_json::json;

use crate::app::Context;
use crate::engine::lock::RunLock;
use crate::engine::state::StateStore;
use crate::error::{Error, ExitCode};
use crate::runbook;

use super::output::print_stdout;
use super::status::shown_state;

pub fn run(cx: &Context) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let store = StateStore::new(&project.state_dir());
    let lock_dir = project.state_dir().join("locks");
    let mut rows = Vec::new();
    for name in project.runbook_names()? {
        let description = runbook::describe(&project, &name);
        let (state, broken) = match store.load(&name) {
            Ok(state) => (state, false),
            Err(_) => (None, true),
        };
        let held = RunLock::holder(&lock_dir, &name).ok().flatten().is_some();
        let status = if broken {
            "unreadable state".to_string()
        } else {
            state
                .as_ref()
                .map(|s| shown_state(s, held))
                .unwrap_or_else(|| "never run".to_string())
        };
        rows.push((name, description, status));
    }
    let text = if cx.global.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(name, description, status)| json!({"name": name, "description": description, "state": status}))
            .collect();
        serde_json::to_string_pretty(&list).unwrap_or_default()
    } else if rows.is_empty() {
        format!(
            "no runbooks in {}\nhint: write one as runbooks/NAME.toml (see the README)",
            project.runbooks_dir().display()
        )
    } else {
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let state_width = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
        rows.iter()
            .map(|(name, description, status)| {
                format!(
                    "{name:<width$}  {status:<state_width$}  {}",
                    description.as_deref().unwrap_or("")
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

//! `rollout history [RUNBOOK]`: past runs, newest first, from their journals — who ran
//! them, when, how they ended, how long they took, and the releases they left.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::app::Context;
use crate::engine::lock::RunLock;
use crate::engine::state::{RunState, RunStatus, StateStore};
use crate::error::{Error, ExitCode};
use crate::ui::human_duration;

use super::output::print_stdout;
use super::status::effective_status;

pub fn run(cx: &Context, name: Option<&str>, limit: Option<usize>) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let backend = project.backend()?;
    let store = StateStore::in_backend(&backend, &project.state_dir());
    let with_runs = store.runbooks()?;
    let names = match name {
        Some(name) => {
            // A runbook deleted since still has its history; any other name must exist.
            if !with_runs.iter().any(|n| n == name) {
                super::launch::ensure_exists(cx, &project, name)?;
            }
            vec![name.to_string()]
        }
        None => with_runs,
    };
    let locks = project.state_dir().join("locks");
    let mut runs: Vec<Run> = Vec::new();
    for name in &names {
        let held = RunLock::holder_in(&backend, &locks, name)
            .ok()
            .flatten()
            .is_some();
        let history = store.history(name)?;
        let latest = history.first().map(|s| s.run_id.clone());
        for state in history {
            // Only the latest run can be the one holding the lock; an older run still
            // marked running died without saying so.
            let held = held && latest.as_deref() == Some(state.run_id.as_str());
            runs.push(Run::new(state, held));
        }
    }
    runs.sort_by(|a, b| {
        (b.state.started_at, &b.state.run_id).cmp(&(a.state.started_at, &a.state.run_id))
    });
    runs.truncate(limit.unwrap_or(usize::MAX));

    let text = if cx.global.json {
        let docs: Vec<Value> = runs.iter().map(Run::json).collect();
        let mut text = serde_json::to_string_pretty(&docs).unwrap_or_default();
        text.push('\n');
        text
    } else if runs.is_empty() {
        match name {
            Some(name) => format!("{name}: no runs yet\n"),
            None => "no runs yet\n".to_string(),
        }
    } else {
        table(&runs)
    };
    print_stdout(&text)?;
    Ok(ExitCode::Ok)
}

/// One past run and how it ended.
struct Run {
    state: RunState,
    status: RunStatus,
    ended_at: Option<DateTime<Utc>>,
}

impl Run {
    fn new(state: RunState, held: bool) -> Run {
        let status = effective_status(&state, held);
        let ended_at = match status {
            RunStatus::Running | RunStatus::Paused | RunStatus::Baking | RunStatus::Waiting => None,
            _ => Some(state.updated_at),
        };
        Run {
            state,
            status,
            ended_at,
        }
    }

    fn duration(&self) -> Option<std::time::Duration> {
        (self.ended_at? - self.state.started_at).to_std().ok()
    }

    /// SPEC §4.3: `run_id`, `user`, `host`, `started_at`, `ended_at`, `state`,
    /// `releases`; also the runbook, the duration and the step it stopped at.
    fn json(&self) -> Value {
        let s = &self.state;
        let mut doc = json!({
            "run_id": s.run_id,
            "runbook": s.runbook,
            "user": s.user,
            "host": s.host,
            "started_at": s.started_at,
            "ended_at": self.ended_at,
            "duration_ms": self.duration().map(|d| d.as_millis() as u64),
            "state": self.status.as_str(),
            "mode": s.mode.as_str(),
            "at_step": s.at_step,
            "error": s.error,
            "releases": serde_json::to_value(&s.releases).unwrap_or(Value::Null),
        });
        // SPEC §4.3: a parked run has `until` (a bake's end) or `opens_at` (a window's).
        if let (Value::Object(fields), Value::Object(doc)) =
            (super::status_parked::until_fields(s), &mut doc)
        {
            doc.extend(fields);
        }
        doc
    }
}

fn table(runs: &[Run]) -> String {
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|run| {
            let s = &run.state;
            let releases: Vec<String> = s
                .releases
                .iter()
                .filter_map(|(target, r)| Some(format!("{target}={}", r.current.as_deref()?)))
                .collect();
            let state = match (&s.at_step, run.status) {
                (
                    Some(step),
                    RunStatus::Failed
                    | RunStatus::Paused
                    | RunStatus::Interrupted
                    | RunStatus::Baking
                    | RunStatus::Waiting,
                ) => {
                    format!("{} at `{step}`", run.status.as_str())
                }
                _ => run.status.as_str().to_string(),
            };
            [
                s.run_id.clone(),
                s.runbook.clone(),
                state,
                s.started_at.format("%Y-%m-%d %H:%M:%SZ").to_string(),
                run.duration().map_or("-".to_string(), human_duration),
                format!("{}@{}", s.user, s.host),
                releases.join(" "),
            ]
        })
        .collect();
    let header = [
        "RUN", "RUNBOOK", "STATE", "STARTED", "DURATION", "BY", "RELEASES",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ", width = widths[i]);
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    text
}

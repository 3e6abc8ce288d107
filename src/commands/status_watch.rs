//! `rollout status RUNBOOK --watch`: the live view of a run from another terminal. It
//! follows what the running `rollout` writes — the run state (after every step) and the
//! reliability log (every event) — and never asks the platform anything. It shows the
//! same view as the run's own terminal, with the log's lines for this runbook above it,
//! and ends when the run it watched ends (Ctrl-C before).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::app::Context;
use crate::engine::lock::RunLock;
use crate::engine::state::{RunState, RunStatus, StateStore};
use crate::error::{Error, ExitCode};
use crate::event::{Event, EventKind, Mode};
use crate::log::{self, Filter, LogLine};
use crate::plan::Section;
use crate::runbook::Strictness;
use crate::signal::Interrupt;
use crate::ui::run_view::RunView;

use super::launch::load_plan;
use super::status::effective_status;

/// How often the state and the log are read again.
const EVERY: Duration = Duration::from_millis(300);

/// Off a terminal, a quiet run is said to be going at least this often.
const HEARTBEAT: Duration = Duration::from_secs(30);

pub async fn run(cx: &Context, name: &str) -> Result<ExitCode, Error> {
    if cx.global.json {
        return Err(Error::usage("--watch draws a live view; it has no --json form")
            .with_hint(format!(
                "for JSON, `rollout status {name} --json` once, or `rollout log --follow --json --runbook {name}`"
            )));
    }
    let project = cx.project()?;
    let plan = load_plan(cx, &project, name, "r-watch", Strictness::Describe)?;
    let backend = project.backend()?;
    let store = StateStore::in_backend(&backend, &project.state_dir());
    let lock_dir = project.state_dir().join("locks");
    let log_path = cx.log_path(&project);
    let filter = Filter {
        runbook: Some(name.to_string()),
        ..Filter::default()
    };
    // Lines already in the log are history (`rollout log` shows them), except those of
    // the run in progress: its story from the start.
    let mut seen = {
        let lines = log::read(&log_path, &filter).unwrap_or_default();
        let current = store.load(name).ok().flatten().map(|s| s.run_id);
        lines
            .iter()
            .position(|l| match (l, &current) {
                (LogLine::Entry(e), Some(id)) => e.get("run") == Some(id.as_str()),
                _ => false,
            })
            .unwrap_or(lines.len())
    };
    let mut quiet_since = std::time::Instant::now();
    let live = std::io::stderr().is_terminal()
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true);
    let board = if live {
        let board = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        board.set_style(
            ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Some(board)
    } else {
        None
    };
    let interrupt = Interrupt::install();
    let mut watched: Option<String> = None;
    let mut said_waiting = false;
    let mut tick = 0usize;
    loop {
        let state = store.load(name).ok().flatten();
        let held = RunLock::holder_in(&backend, &lock_dir, name)
            .ok()
            .flatten()
            .is_some();
        let running = state.as_ref().is_some_and(|s| {
            let status = effective_status(s, held);
            // A parked run is in progress too: the next cron `promote` goes on with it.
            status == RunStatus::Running || status.is_parked()
        });
        let mut view = RunView::new(&plan, None);
        if let Some(state) = &state {
            for kind in events_of(state, held, &plan.steps) {
                view.observe(&Event {
                    ts: state.updated_at,
                    runbook: name.to_string(),
                    run_id: state.run_id.clone(),
                    kind,
                });
            }
        }
        // New log lines of this runbook, above the view.
        if let Ok(lines) = log::read(&log_path, &filter)
            && lines.len() > seen
        {
            for line in &lines[seen..] {
                say_log_line(board.as_ref(), line);
            }
            seen = lines.len();
            quiet_since = std::time::Instant::now();
        }
        // Off a terminal, a long step still says it is going, at least every 30 s.
        if board.is_none() && running && quiet_since.elapsed() >= HEARTBEAT {
            quiet_since = std::time::Instant::now();
            if let Some(row) = view
                .rows
                .iter()
                .find(|r| matches!(r.state, crate::ui::run_view::RowState::Running { .. }))
            {
                plain(&format!(
                    "{} still running `{}` (last step ended {} ago)",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
                    row.name,
                    crate::ui::human_duration(
                        (chrono::Utc::now()
                            - state.as_ref().map_or(chrono::Utc::now(), |s| s.updated_at))
                        .to_std()
                        .unwrap_or_default()
                    )
                ));
            }
        }
        let now_id = state.as_ref().map(|s| s.run_id.clone());
        if running {
            watched = now_id.clone();
        } else if watched.is_some() {
            // The run we watched ended (or another took its place): the final view.
            finish(board.as_ref(), &view);
            return Ok(ExitCode::Ok);
        } else if !said_waiting {
            said_waiting = true;
            let line = format!(
                "no run of `{name}` in progress; waiting for one to start (Ctrl-C to stop)"
            );
            match &board {
                Some(board) => board.println(line),
                None => plain(&line),
            }
        }
        if let Some(board) = &board {
            tick += 1;
            board.set_message(crate::ui::draw_view(&view, tick));
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = interrupt.wait() => {
                if let Some(board) = &board {
                    board.finish_and_clear();
                }
                return Ok(ExitCode::Interrupted);
            }
        }
    }
}

/// The state file's story as the events the view understands. A step that is running
/// is not in the state (it is written when a step ends): while the run is going, the
/// first step not finished yet is shown running since the last write.
fn events_of(state: &RunState, held: bool, steps: &[crate::plan::Step]) -> Vec<EventKind> {
    let mut events = vec![EventKind::RunStarted {
        mode: state.mode,
        steps: 0,
        from_step: None,
    }];
    let (main, undo): (Vec<_>, Vec<_>) = state
        .steps
        .iter()
        .partition(|r| r.section == Section::Steps);
    let finished = |r: &crate::engine::state::StepRecord| EventKind::StepFinished {
        observed: Vec::new(),
        section: r.section,
        step: r.name.clone(),
        kind: String::new(),
        status: r.status,
        duration_ms: r.duration_ms,
        attempts: r.attempts,
        error: r.error.clone(),
        tail: Vec::new(),
    };
    events.extend(main.iter().map(|r| finished(r)));
    if let Some(rollback) = &state.rollback {
        events.push(EventKind::RollbackStarted {
            emergency: rollback.emergency,
            reason: rollback.reason.clone(),
        });
        events.extend(undo.iter().map(|r| finished(r)));
    }
    events.push(EventKind::Releases {
        releases: state.releases.clone(),
    });
    match effective_status(state, held) {
        RunStatus::Running => {
            if let Some(next) = steps.iter().find(|s| !state.is_done(&s.name)) {
                events.push(EventKind::StepStarted {
                    section: Section::Steps,
                    step: next.name.clone(),
                    kind: String::new(),
                    index: 0,
                    total: 0,
                    detail: "running (the state is written when a step ends)".into(),
                });
            }
        }
        RunStatus::Paused => events.push(EventKind::Paused {
            step: state.at_step.clone().unwrap_or_default(),
            reason: None,
        }),
        RunStatus::Baking | RunStatus::Waiting => events.push(EventKind::Paused {
            step: state.at_step.clone().unwrap_or_default(),
            reason: super::status_parked::summary(state, crate::clock::now_or_real()),
        }),
        RunStatus::Abandoned => events.push(EventKind::Warning {
            message: format!(
                "abandoned{}",
                state
                    .abandoned
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        }),
        RunStatus::Completed => events.push(EventKind::RunComplete {
            duration_ms: (state.updated_at - state.started_at)
                .num_milliseconds()
                .max(0) as u64,
        }),
        RunStatus::Failed => events.push(EventKind::RunFailed {
            step: state.at_step.clone().unwrap_or_default(),
            error: state.error.clone().unwrap_or_default(),
            next: None,
        }),
        RunStatus::Interrupted => events.push(EventKind::Interrupted {
            step: state.at_step.clone(),
        }),
        RunStatus::RolledBack | RunStatus::RollbackFailed => {
            if let Some(rollback) = &state.rollback {
                events.push(EventKind::RollbackFinished {
                    emergency: rollback.emergency,
                    ok: rollback.ok.unwrap_or(false),
                    error: rollback.error.clone(),
                    observed: Vec::new(),
                });
            }
        }
    }
    if state.mode == Mode::Rollback || state.mode == Mode::Emergency {
        // A rollback-only run has no main steps to show as to come.
        events.retain(|e| !matches!(e, EventKind::StepStarted { .. }));
    }
    events
}

fn say_log_line(board: Option<&ProgressBar>, line: &LogLine) {
    let mut text = Vec::new();
    if log::render_human(line, &mut text).is_err() {
        return;
    }
    let text = String::from_utf8_lossy(&text).trim_end().to_string();
    match board {
        Some(board) => board.println(text),
        None => plain(&text),
    }
}

fn finish(board: Option<&ProgressBar>, view: &RunView) {
    if let Some(board) = board {
        board.finish_and_clear();
    }
    let width = console::Term::stderr().size().1 as usize;
    for line in view.render(chrono::Utc::now(), width.saturating_sub(1), 0) {
        plain(&line);
    }
}

fn plain(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

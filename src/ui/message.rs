//! What to say about each event, shared by the terminal and plain renderers; they only
//! decorate it differently (symbols and colour, or a timestamp).

use std::time::Duration;

use super::Verbosity;
use super::format::{clean_line, human_duration};
use crate::event::{Event, EventKind, Mode, StepStatus};
use crate::plan::Section;

/// The kind of line, which decides its symbol and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Info,
    Ok,
    Warn,
    Fail,
    Pause,
}

/// One thing to tell a person, with lines of detail under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub mark: Mark,
    pub text: String,
    pub detail: Vec<String>,
}

impl Message {
    fn new(mark: Mark, text: impl Into<String>) -> Message {
        Message {
            mark,
            text: text.into(),
            detail: Vec::new(),
        }
    }

    fn with_detail(mut self, detail: impl IntoIterator<Item = String>) -> Message {
        self.detail.extend(detail);
        self
    }

    /// Still said under `--quiet`: failures, warnings and how the run ended.
    pub fn matters_when_quiet(&self, event: &Event) -> bool {
        matches!(self.mark, Mark::Fail | Mark::Warn | Mark::Pause)
            || matches!(
                event.kind,
                EventKind::RunComplete { .. } | EventKind::RollbackFinished { .. }
            )
    }
}

/// `[2/5]`, `[preflight 1/2]`, `[rollback 1/1]`.
pub fn position(section: Section, index: usize, total: usize) -> String {
    match section {
        Section::Steps => format!("[{index}/{total}]"),
        other => format!("[{other} {index}/{total}]"),
    }
}

/// The message for an event, or None when this renderer should stay silent about it.
/// Step starts and output are left to the renderers, which show them differently.
pub fn message(event: &Event, verbosity: Verbosity) -> Option<Message> {
    let runbook = &event.runbook;
    let message = match &event.kind {
        EventKind::RunStarted {
            mode,
            steps,
            from_step,
        } => {
            let what = match (mode, from_step) {
                (Mode::Resume, Some(step)) => {
                    format!("resuming run {} from `{step}`", event.run_id)
                }
                (Mode::Promote, Some(step)) => {
                    format!("continuing run {} past `{step}`", event.run_id)
                }
                (mode, _) => format!("run {} started ({})", event.run_id, mode.as_str()),
            };
            Message::new(
                Mark::Info,
                format!("{runbook}: {what}, {steps} step(s) to go"),
            )
        }
        EventKind::PreflightStarted { checks } => {
            Message::new(Mark::Info, format!("preflight: {checks} check(s)"))
        }
        EventKind::PreflightFinished {
            ok: true,
            duration_ms,
            ..
        } => Message::new(Mark::Ok, format!("preflight passed ({})", ms(*duration_ms))),
        EventKind::PreflightFinished { failed, .. } => Message::new(
            Mark::Fail,
            format!(
                "preflight failed: {}; nothing was changed",
                failed.join(", ")
            ),
        ),
        EventKind::Releases { .. }
        | EventKind::Finished { .. }
        | EventKind::StepStarted { .. }
        | EventKind::StepOutput { .. }
        | EventKind::StepProgress { .. }
        | EventKind::StepHeartbeat { .. } => {
            return None;
        }
        EventKind::StepRetry {
            step,
            attempt,
            error,
            delay_ms,
            ..
        } => Message::new(
            Mark::Warn,
            format!(
                "{step}: try {attempt} failed: {error}; trying again in {}",
                ms(*delay_ms)
            ),
        ),
        EventKind::StepFinished {
            section,
            step,
            status,
            duration_ms,
            attempts,
            error,
            tail,
            observed,
            ..
        } => {
            let mut tries = if *attempts > 1 {
                format!(", {attempts} tries")
            } else {
                String::new()
            };
            // What the step saw, e.g. `release=reg/web:1.5 target=web` (SPEC §4.4).
            for (key, value) in observed {
                tries.push_str(&format!(
                    ", {key}={}",
                    crate::log::logfmt::encode_value(value)
                ));
            }
            let label = match section {
                Section::Steps => step.clone(),
                other => format!("{other}: {step}"),
            };
            match status {
                StepStatus::Ok => {
                    Message::new(Mark::Ok, format!("{label} ({}{tries})", ms(*duration_ms)))
                }
                StepStatus::Warned => Message::new(
                    Mark::Warn,
                    format!(
                        "{label} failed, going on (continue_on_error): {}",
                        error.as_deref().unwrap_or("failed")
                    ),
                )
                .with_detail(tail_lines(tail)),
                StepStatus::Failed => Message::new(
                    Mark::Fail,
                    format!(
                        "{label} failed after {}{tries}: {}",
                        ms(*duration_ms),
                        error.as_deref().unwrap_or("failed")
                    ),
                )
                .with_detail(tail_lines(tail)),
            }
        }
        EventKind::Paused { step, reason } => {
            let why = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            Message::new(Mark::Pause, format!("paused at `{step}`{why}"))
                .with_detail([format!("continue with: rollout promote {runbook}")])
        }
        EventKind::Parked {
            step,
            kind,
            message,
            observed,
            ..
        } => {
            let what = if kind == "window" {
                format!("waiting at `{step}`: {message}")
            } else {
                format!("baking at `{step}`: {message}")
            };
            let mut detail: Vec<String> = observed
                .iter()
                .map(|(key, value)| format!("{key}: {value}"))
                .collect();
            detail.push(format!(
                "parked (exit 0); the next `rollout promote {runbook}` checks again and goes on when it may (`rollout status {runbook}` says what it waits for)"
            ));
            Message::new(Mark::Pause, what).with_detail(detail)
        }
        EventKind::StepObserved { .. } => return None,
        EventKind::RunComplete { duration_ms } => Message::new(
            Mark::Ok,
            format!("{runbook} complete in {}", ms(*duration_ms)),
        ),
        EventKind::RunFailed { step, error, next } => {
            Message::new(Mark::Fail, format!("run failed at `{step}`: {error}"))
                .with_detail(next.iter().map(|n| format!("next: {n}")))
        }
        EventKind::Interrupted { step } => {
            let at = step
                .as_deref()
                .map(|s| format!(" at `{s}`"))
                .unwrap_or_default();
            Message::new(Mark::Fail, format!("interrupted{at}")).with_detail([format!(
                "go on with `rollout resume {runbook}`, undo with `rollout rollback {runbook}`, or end it as it is with `rollout abandon {runbook}`"
            )])
        }
        EventKind::RollbackStarted { emergency, reason } => {
            let what = if *emergency {
                "EMERGENCY rollback"
            } else {
                "rolling back"
            };
            Message::new(Mark::Warn, format!("{what}: {reason}"))
        }
        EventKind::RollbackFinished {
            ok: true,
            emergency,
            ..
        } => Message::new(
            Mark::Ok,
            if *emergency {
                "emergency rollback complete"
            } else {
                "rollback complete"
            },
        ),
        EventKind::RollbackFinished { error, .. } => Message::new(
            Mark::Fail,
            format!(
                "ROLLBACK FAILED: {} — a person must act now",
                error.as_deref().unwrap_or("a rollback step failed")
            ),
        ),
        EventKind::Note { message, .. } => Message::new(Mark::Info, format!("note: {message}")),
        EventKind::Warning { message } => Message::new(Mark::Warn, message.clone()),
    };
    if verbosity == Verbosity::Quiet && !message.matters_when_quiet(event) {
        return None;
    }
    Some(message)
}

fn tail_lines(tail: &[String]) -> Vec<String> {
    let cleaned: Vec<String> = tail.iter().map(|l| clean_line(l)).collect();
    super::repeats::collapse(&cleaned)
        .into_iter()
        .map(|l| format!("| {l}"))
        .collect()
}

fn ms(ms: u64) -> String {
    human_duration(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event(kind: EventKind) -> Event {
        Event {
            ts: Utc::now(),
            runbook: "canary".into(),
            run_id: "r-1".into(),
            kind,
        }
    }

    #[test]
    fn a_failed_step_carries_its_output_tail() {
        let m = message(
            &event(EventKind::StepFinished {
                observed: Vec::new(),
                section: Section::Steps,
                step: "smoke".into(),
                kind: "smoke".into(),
                status: StepStatus::Failed,
                duration_ms: 1500,
                attempts: 2,
                error: Some("`./smoke.sh` exited with 1 (expected 0)".into()),
                tail: vec!["GET /health 500".into()],
            }),
            Verbosity::Normal,
        )
        .unwrap();
        assert_eq!(m.mark, Mark::Fail);
        assert_eq!(
            m.text,
            "smoke failed after 1.5s, 2 tries: `./smoke.sh` exited with 1 (expected 0)"
        );
        assert_eq!(m.detail, vec!["| GET /health 500"]);
    }

    #[test]
    fn quiet_keeps_failures_and_endings_only() {
        let ok = event(EventKind::PreflightStarted { checks: 2 });
        assert!(message(&ok, Verbosity::Quiet).is_none());
        let done = event(EventKind::RunComplete { duration_ms: 10 });
        assert!(message(&done, Verbosity::Quiet).is_some());
    }

    #[test]
    fn a_pause_says_how_to_go_on() {
        let m = message(
            &event(EventKind::Paused {
                step: "gate".into(),
                reason: Some("manager approval".into()),
            }),
            Verbosity::Normal,
        )
        .unwrap();
        assert_eq!(m.text, "paused at `gate`: manager approval");
        assert_eq!(m.detail, vec!["continue with: rollout promote canary"]);
    }
}

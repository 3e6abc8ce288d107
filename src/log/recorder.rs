//! Turns engine events into reliability-log entries (SPEC §6). The log is told about
//! the run like the UI is; it drives nothing. When an entry cannot be written, an
//! emergency rollback says so on stderr and goes on; any other run warns once.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Entry, LogWriter};
use crate::event::{Event, EventKind, Reporter, StepStatus};
use crate::plan::Section;

/// A reporter that appends each event to the reliability log as one line.
pub struct LogRecorder {
    writer: LogWriter,
    user: String,
    host: String,
    failed: AtomicBool,
}

impl LogRecorder {
    pub fn new(writer: LogWriter, user: &str, host: &str) -> LogRecorder {
        LogRecorder {
            writer,
            user: user.to_string(),
            host: host.to_string(),
            failed: AtomicBool::new(false),
        }
    }

    /// The log entry for an event, if it is one the log keeps.
    pub fn entry(&self, event: &Event) -> Option<Entry> {
        let rb = Some(event.runbook.as_str());
        let entry = match &event.kind {
            EventKind::RunStarted {
                mode, from_step, ..
            } => {
                let mut e = Entry::new("RUN STARTED", rb)
                    .field("run", &event.run_id)
                    .field("mode", mode.as_str());
                if let Some(step) = from_step {
                    e = e.field("from", step);
                }
                e
            }
            EventKind::PreflightFinished {
                ok: true,
                duration_ms,
                ..
            } => Entry::new("PREFLIGHT OK", rb)
                .field("run", &event.run_id)
                .field("duration", seconds(*duration_ms)),
            EventKind::PreflightFinished {
                failed,
                duration_ms,
                ..
            } => Entry::new("PREFLIGHT FAILED", rb)
                .field("run", &event.run_id)
                .field("failed", failed.join(", "))
                .field("duration", seconds(*duration_ms)),
            EventKind::StepFinished {
                section,
                step,
                kind,
                status,
                duration_ms,
                attempts,
                error,
                tail,
                observed,
            } => {
                let name = if *status == StepStatus::Ok {
                    "STEP OK"
                } else {
                    "STEP FAILED"
                };
                let mut e = Entry::new(name, rb).field("step", step);
                if *section != Section::Steps {
                    e = e.field("section", section.as_str());
                }
                e = e
                    .field("run", &event.run_id)
                    .field("duration", seconds(*duration_ms));
                if *attempts > 1 {
                    e = e.field("attempts", attempts);
                }
                for (key, value) in observed {
                    e = e.field(key, value);
                }
                if let Some(error) = error {
                    e = e.field("error", error);
                }
                if *status == StepStatus::Warned {
                    e = e.field("continue_on_error", "true");
                }
                if kind == "smoke" && *status != StepStatus::Ok && !tail.is_empty() {
                    e = e.field("output", tail.join("\n"));
                }
                e
            }
            EventKind::Paused { step, reason } => {
                let mut e = Entry::new("PAUSED", rb)
                    .field("step", step)
                    .field("run", &event.run_id);
                if let Some(reason) = reason {
                    e = e.field("reason", reason);
                }
                e
            }
            EventKind::RunComplete { duration_ms } => Entry::new("RUN COMPLETE", rb)
                .field("run", &event.run_id)
                .field("duration", seconds(*duration_ms)),
            EventKind::RunFailed { step, error, .. } => Entry::new("RUN FAILED", rb)
                .field("step", step)
                .field("run", &event.run_id)
                .field("error", error),
            EventKind::Interrupted { step } => {
                let mut e = Entry::new("INTERRUPTED", rb);
                if let Some(step) = step {
                    e = e.field("step", step);
                }
                e.field("run", &event.run_id)
            }
            EventKind::RollbackStarted { emergency, reason } => {
                let name = if *emergency {
                    "EMERGENCY ROLLBACK INITIATED"
                } else {
                    "ROLLBACK INITIATED"
                };
                Entry::new(name, rb)
                    .field("run", &event.run_id)
                    .field("reason", reason)
            }
            EventKind::RollbackFinished {
                emergency,
                ok,
                error,
                observed,
            } => {
                let name = match (emergency, ok) {
                    (true, true) => "EMERGENCY ROLLBACK COMPLETE",
                    (true, false) => "EMERGENCY ROLLBACK FAILED",
                    (false, true) => "ROLLBACK COMPLETE",
                    (false, false) => "ROLLBACK FAILED",
                };
                let mut e = Entry::new(name, rb).field("run", &event.run_id);
                if let Some(error) = error {
                    e = e.field("error", error);
                }
                for (key, value) in observed {
                    e = e.field(key, value);
                }
                e
            }
            EventKind::Parked {
                step,
                kind,
                until,
                opens_at,
                message,
                observed,
            } => {
                let name = if kind == "window" {
                    "WAITING"
                } else {
                    "BAKING"
                };
                let mut e = Entry::new(name, rb)
                    .field("step", step)
                    .field("run", &event.run_id);
                if let Some(until) = until {
                    e = e.field(
                        "until",
                        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                }
                if let Some(opens_at) = opens_at {
                    e = e.field(
                        "opens_at",
                        opens_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                }
                for (key, value) in observed {
                    e = e.field(key, value);
                }
                e.field("message", message)
            }
            EventKind::Note { step, message } => Entry::new("NOTE", rb)
                .field("step", step)
                .field("run", &event.run_id)
                .field("message", message),
            EventKind::PreflightStarted { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepOutput { .. }
            | EventKind::StepProgress { .. }
            | EventKind::StepHeartbeat { .. }
            | EventKind::StepRetry { .. }
            | EventKind::StepObserved { .. }
            | EventKind::Releases { .. }
            | EventKind::Finished { .. }
            | EventKind::Warning { .. } => return None,
        };
        Some(entry.field("user", &self.user).field("host", &self.host))
    }
}

impl Reporter for LogRecorder {
    fn intact(&self) -> bool {
        !self.failed.load(Ordering::SeqCst)
    }

    fn report(&self, event: &Event) {
        let Some(mut entry) = self.entry(event) else {
            return;
        };
        entry.ts = event.ts;
        if let Err(err) = self.writer.append(&entry) {
            // Said once per run: a full disk must not bury the run's own output.
            if !self.failed.swap(true, Ordering::SeqCst) {
                crate::ui::stderr_line(format_args!(
                    "warning: cannot write the reliability log {}: {err}",
                    self.writer.path().display()
                ));
            }
        }
    }
}

/// `41.2s`: the log's duration format.
fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

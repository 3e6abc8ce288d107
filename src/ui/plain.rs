//! Off a terminal: one timestamped line per event, no bars, no escape sequences; a
//! progress line at least every 30 s of a long wait.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::Verbosity;
use super::cause::Causes;
use super::format::{clean_line, human_duration};
use super::message::{Mark, message, position};
use super::repeats::Repeats;
use super::summary::Tally;
use crate::event::{Event, EventKind, Reporter};

/// Long waits say how they are going at least this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

pub struct PlainRenderer {
    verbosity: Verbosity,
    log_path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    out: Box<dyn Write + Send>,
    /// When each waiting step last printed a progress line (elapsed ms).
    last_progress: HashMap<String, u64>,
    /// Each running step's latest output line, for its heartbeat.
    last_output: HashMap<String, String>,
    repeats: Repeats,
    causes: Causes,
    tally: Tally,
}

impl PlainRenderer {
    pub fn stderr(verbosity: Verbosity, log_path: PathBuf) -> PlainRenderer {
        PlainRenderer::new(Box::new(std::io::stderr()), verbosity, log_path)
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        verbosity: Verbosity,
        log_path: PathBuf,
    ) -> PlainRenderer {
        PlainRenderer {
            verbosity,
            log_path,
            inner: Mutex::new(Inner {
                out,
                last_progress: HashMap::new(),
                last_output: HashMap::new(),
                repeats: Repeats::default(),
                causes: Causes::default(),
                tally: Tally::default(),
            }),
        }
    }

    fn lines(&self, event: &Event, inner: &mut Inner) -> Vec<String> {
        let quiet = self.verbosity == Verbosity::Quiet;
        match &event.kind {
            EventKind::StepStarted {
                section,
                step,
                index,
                total,
                detail,
                ..
            } if !quiet => {
                vec![format!(
                    "start {} {step}: {}",
                    position(*section, *index, *total),
                    clean_line(detail)
                )]
            }
            EventKind::StepOutput { step, line, .. } => {
                let line = clean_line(line);
                if !line.trim().is_empty() {
                    inner.last_output.insert(step.clone(), line.clone());
                }
                if self.verbosity != Verbosity::Verbose {
                    return Vec::new();
                }
                inner
                    .repeats
                    .push(step, &line)
                    .into_iter()
                    .map(|l| format!("  | {l}"))
                    .collect()
            }
            EventKind::StepProgress {
                step,
                elapsed_ms,
                total_ms,
                message,
                ..
            } if !quiet => {
                let last = inner.last_progress.get(step).copied().unwrap_or(0);
                if elapsed_ms.saturating_sub(last) < PROGRESS_EVERY.as_millis() as u64 {
                    return Vec::new();
                }
                inner.last_progress.insert(step.clone(), *elapsed_ms);
                vec![format!(
                    "wait  {step}: {} of {}, {}",
                    human_duration(Duration::from_millis(*elapsed_ms)),
                    human_duration(Duration::from_millis(*total_ms)),
                    message
                )]
            }
            EventKind::StepHeartbeat {
                step, elapsed_ms, ..
            } if !quiet => {
                // Waits that report progress have said enough already.
                let last = inner.last_progress.get(step).copied().unwrap_or(0);
                if elapsed_ms.saturating_sub(last) < PROGRESS_EVERY.as_millis() as u64 {
                    return Vec::new();
                }
                inner.last_progress.insert(step.clone(), *elapsed_ms);
                let last = inner
                    .last_output
                    .get(step)
                    .map(|l| format!("; last: {l}"))
                    .unwrap_or_default();
                vec![format!(
                    "wait  {step}: still running after {}{last}",
                    human_duration(Duration::from_millis(*elapsed_ms))
                )]
            }
            _ => {
                let mut lines = Vec::new();
                if let EventKind::StepFinished { step, .. } = &event.kind {
                    inner.last_output.remove(step);
                    lines.extend(
                        inner
                            .repeats
                            .finish(step)
                            .into_iter()
                            .map(|l| format!("  | {l}")),
                    );
                }
                let Some(message) = message(event, self.verbosity) else {
                    return lines;
                };
                let message = inner.causes.said_once(event, message);
                lines.push(format!("{} {}", label(message.mark), message.text));
                lines.extend(message.detail.iter().map(|d| format!("      {d}")));
                lines
            }
        }
    }
}

/// A fixed-width word instead of a symbol, so the lines grep well.
fn label(mark: Mark) -> &'static str {
    match mark {
        Mark::Info => "info ",
        Mark::Ok => "ok   ",
        Mark::Warn => "warn ",
        Mark::Fail => "FAIL ",
        Mark::Pause => "pause",
    }
}

impl Reporter for PlainRenderer {
    fn report(&self, event: &Event) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let stamp = event.ts.format("%Y-%m-%dT%H:%M:%SZ");
        let mut lines = self.lines(event, &mut inner);
        let quiet = self.verbosity == Verbosity::Quiet;
        let summary = inner.tally.observe(event, &self.log_path);
        lines.extend(
            summary
                .into_iter()
                .filter(|l| !quiet || l.starts_with("log:"))
                .map(|l| format!("      {l}")),
        );
        for line in lines {
            // Error texts may carry a tool's escape sequences: plain output stays plain.
            let _ = writeln!(inner.out, "{stamp} {}", clean_line(&line));
        }
        let _ = inner.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Section;
    use chrono::Utc;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn progress(elapsed_ms: u64) -> Event {
        Event {
            ts: Utc::now(),
            runbook: "canary".into(),
            run_id: "r-1".into(),
            kind: EventKind::StepProgress {
                section: Section::Steps,
                step: "soak".into(),
                elapsed_ms,
                total_ms: 120_000,
                message: "soaking".into(),
                tally: None,
            },
        }
    }

    #[test]
    fn long_waits_print_a_line_every_30_seconds_and_no_more() {
        let buffer = Buffer::default();
        let r = PlainRenderer::new(Box::new(buffer.clone()), Verbosity::Normal, "log".into());
        for s in 1..=65 {
            r.report(&progress(s * 1000));
        }
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}'));
    }

    #[test]
    fn a_silent_long_step_still_says_it_is_running() {
        let buffer = Buffer::default();
        let r = PlainRenderer::new(Box::new(buffer.clone()), Verbosity::Normal, "log".into());
        for elapsed_ms in [30_000, 60_000] {
            r.report(&Event {
                ts: Utc::now(),
                runbook: "canary".into(),
                run_id: "r-1".into(),
                kind: EventKind::StepHeartbeat {
                    section: Section::Steps,
                    step: "deploy".into(),
                    elapsed_ms,
                },
            });
        }
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("wait  deploy: still running after 30.0s"),
            "{text}"
        );
        assert!(text.contains("still running after 1m 00s"), "{text}");
    }

    #[test]
    fn a_heartbeat_carries_the_last_output_line() {
        let buffer = Buffer::default();
        let r = PlainRenderer::new(Box::new(buffer.clone()), Verbosity::Normal, "log".into());
        let at = |kind| Event {
            ts: Utc::now(),
            runbook: "canary".into(),
            run_id: "r-1".into(),
            kind,
        };
        r.report(&at(EventKind::StepOutput {
            section: Section::Steps,
            step: "deploy".into(),
            line: "waiting for 2/3 machines".into(),
        }));
        r.report(&at(EventKind::StepHeartbeat {
            section: Section::Steps,
            step: "deploy".into(),
            elapsed_ms: 30_000,
        }));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        // Not verbose: the output line itself is not printed, only carried by the heartbeat.
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("still running after 30.0s; last: waiting for 2/3 machines"),
            "{text}"
        );
    }
}

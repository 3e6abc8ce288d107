//! The few lines at the end of a run: how many steps did what, which of them changed
//! something, the run id and where the log is. Both line renderers print it; it is
//! worked out from the events alone.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::format::human_duration;
use crate::event::{Event, EventKind, StepStatus};
use crate::plan::Section;

/// Step kinds whose success changes the target (SPEC §4 counts `smoke` too, for
/// auto-rollback; a summary of what changed leaves tests out).
const CHANGING: &[&str] = &["run", "deploy", "promote", "rollback", "restart", "scale"];

/// At most this many changed steps are named; the rest are counted.
const NAMED: usize = 8;

/// Counts of step outcomes over a run, for the closing summary.
#[derive(Default)]
pub struct Tally {
    started: Option<DateTime<Utc>>,
    ok: usize,
    warned: usize,
    failed: usize,
    changed: Vec<String>,
    undone: usize,
    releases: Vec<String>,
    /// The result line (`app complete in 12.0s`) already said how long: a summary says
    /// one duration, never a second, different one.
    timed: bool,
}

impl Tally {
    /// Takes note of `event`; returns the summary lines when it ends something.
    pub fn observe(&mut self, event: &Event, log_path: &Path) -> Vec<String> {
        match &event.kind {
            EventKind::RunStarted { .. } | EventKind::RollbackStarted { .. }
                if self.started.is_none() =>
            {
                self.started = Some(event.ts);
            }
            EventKind::StepFinished {
                section,
                step,
                kind,
                status,
                ..
            } => match (section, status) {
                (Section::Steps, StepStatus::Ok) => {
                    self.ok += 1;
                    if CHANGING.contains(&kind.as_str()) {
                        self.changed.push(step.clone());
                    }
                }
                (Section::Rollback | Section::Emergency, StepStatus::Ok) => self.undone += 1,
                (_, StepStatus::Warned) => self.warned += 1,
                (_, StepStatus::Failed) => self.failed += 1,
                _ => {}
            },
            EventKind::Releases { releases } => {
                self.releases = releases
                    .iter()
                    .map(|(target, release)| format!("{target}: {}", release.describe()))
                    .collect();
            }
            EventKind::RunComplete { .. } => self.timed = true,
            // Once per invocation, after a failure's auto-rollback too.
            EventKind::Finished { .. } => return self.lines(event, log_path),
            _ => {}
        }
        Vec::new()
    }

    fn lines(&self, event: &Event, log_path: &Path) -> Vec<String> {
        let mut counts = Vec::new();
        if self.ok > 0 || self.undone == 0 {
            counts.push(format!("{} step(s) done", self.ok));
        }
        if self.warned > 0 {
            counts.push(format!("{} warned", self.warned));
        }
        if self.failed > 0 {
            counts.push(format!("{} failed", self.failed));
        }
        if self.undone > 0 {
            counts.push(format!("{} rollback step(s) done", self.undone));
        }
        if let Some(started) = self.started.filter(|_| !self.timed) {
            let took = (event.ts - started).to_std().unwrap_or_default();
            counts.push(format!("in {}", human_duration(took)));
        }
        let mut lines = vec![format!("summary: {}", counts.join(", "))];
        if !self.changed.is_empty() {
            let mut named: Vec<String> = self.changed.iter().take(NAMED).cloned().collect();
            if self.changed.len() > NAMED {
                named.push(format!("and {} more", self.changed.len() - NAMED));
            }
            lines.push(format!("changed: {}", named.join(", ")));
        }
        lines.extend(self.releases.iter().map(|r| format!("release: {r}")));
        lines.push(format!("run: {}", event.run_id));
        lines.push(format!("log: {}", log_path.display()));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, kind: EventKind) -> Event {
        Event {
            ts: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            runbook: "demo".into(),
            run_id: "r-1".into(),
            kind,
        }
    }

    fn finished(step: &str, kind: &str, status: StepStatus) -> EventKind {
        EventKind::StepFinished {
            observed: Vec::new(),
            section: Section::Steps,
            step: step.into(),
            kind: kind.into(),
            status,
            duration_ms: 10,
            attempts: 1,
            error: None,
            tail: Vec::new(),
        }
    }

    #[test]
    fn the_summary_counts_steps_and_names_what_changed() {
        let mut t = Tally::default();
        let log = Path::new("/p/reliability.log");
        let started = EventKind::RunStarted {
            mode: crate::event::Mode::Promote,
            steps: 3,
            from_step: None,
        };
        assert!(t.observe(&at(0, started), log).is_empty());
        t.observe(&at(1, finished("deploy", "run", StepStatus::Ok)), log);
        t.observe(&at(2, finished("soak", "soak", StepStatus::Ok)), log);
        t.observe(
            &at(3, finished("notify", "notify", StepStatus::Warned)),
            log,
        );
        let complete = EventKind::RunComplete {
            duration_ms: 12_000,
        };
        assert!(
            t.observe(&at(12, complete), log).is_empty(),
            "not before the end"
        );
        let lines = t.observe(
            &at(
                12,
                EventKind::Finished {
                    outcome: crate::event::Outcome::Completed,
                    exit_code: 0,
                },
            ),
            log,
        );
        assert_eq!(
            lines,
            vec![
                "summary: 2 step(s) done, 1 warned",
                "changed: deploy",
                "run: r-1",
                "log: /p/reliability.log",
            ]
        );
    }
}

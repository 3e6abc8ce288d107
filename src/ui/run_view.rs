//! The whole run at a glance, in the spirit of `kubectl argo rollouts get rollout
//! --watch`: every step with its state (done, running, waiting, to come), the stage
//! (the last promote's percent or label), and per target the release it ran before the
//! run and the one the run ships. Worked out from the plan and the events alone; the
//! live terminal display and `rollout status --watch` both draw it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::format::{clean_line, human_duration};
use crate::event::{Event, EventKind, Mode, StepStatus};
use crate::plan::{Plan, Section, Step, StepKind, Verb};
use crate::releases::Releases;

/// Where a step stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowState {
    ToCome,
    Running {
        since: DateTime<Utc>,
    },
    /// A pause (or a parked wait) the run stopped at.
    Waiting,
    Done {
        ms: u64,
    },
    /// Done by an earlier invocation of this run.
    DoneBefore,
    Warned {
        ms: u64,
    },
    Failed {
        ms: u64,
    },
}

/// One line of the view.
#[derive(Clone, Debug)]
pub struct Row {
    pub section: Section,
    pub name: String,
    pub kind: String,
    pub state: RowState,
    /// What it is doing now: the child's last line, the wait's progress.
    pub note: String,
    /// A counted or timed wait: done of total.
    pub progress: Option<(u64, u64)>,
    /// The stage a promote step sets (`10%`, `beta`).
    stage: Option<String>,
}

/// One target's releases as the view shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetView {
    /// What ran before this run changed it.
    pub stable: Option<String>,
    /// What the run ships (or shipped).
    pub new: Option<String>,
    pub percent: Option<u8>,
}

/// The run as a list of rows, a stage and targets.
#[derive(Clone, Debug)]
pub struct RunView {
    pub runbook: String,
    pub run_id: Option<String>,
    pub mode: Option<Mode>,
    pub rows: Vec<Row>,
    pub stage: Option<String>,
    pub targets: BTreeMap<String, TargetView>,
    /// How it ended, once it has.
    pub result: Option<String>,
    plan_steps: Vec<Row>,
    plan_rollback: Vec<Row>,
}

fn row(step: &Step) -> Row {
    let stage = match &step.kind {
        StepKind::Platform(p) => match &p.verb {
            Verb::Promote { percent, label, .. } => match (percent, label) {
                (Some(p), Some(l)) => Some(format!("{p}% {l}")),
                (Some(p), None) => Some(format!("{p}%")),
                (None, Some(l)) => Some(l.clone()),
                (None, None) => None,
            },
            _ => None,
        },
        _ => None,
    };
    Row {
        section: step.section,
        name: step.name.clone(),
        kind: step.kind.name().to_string(),
        state: RowState::ToCome,
        note: String::new(),
        progress: None,
        stage,
    }
}

/// The release a deploy step ships, as people name it.
fn shipped(step: &Step) -> Option<(String, String)> {
    let StepKind::Platform(p) = &step.kind else {
        return None;
    };
    let Verb::Deploy(d) = &p.verb else {
        return None;
    };
    let release = [&d.release, &d.image, &d.manifest]
        .into_iter()
        .flatten()
        .next()?;
    let target = step.target.as_ref()?.shown().to_string();
    Some((target, release.shown().to_string()))
}

impl RunView {
    /// The view before anything ran: the plan's steps to come; per target, the release
    /// recorded before (`before`, from the run state) and what its deploys ship.
    pub fn new(plan: &Plan, before: Option<&Releases>) -> RunView {
        let mut targets: BTreeMap<String, TargetView> = BTreeMap::new();
        for (target, release) in before.into_iter().flatten() {
            let view = targets.entry(target.clone()).or_default();
            view.stable = release.current.clone();
            view.percent = release.percent;
        }
        for (target, release) in plan.steps.iter().filter_map(shipped) {
            targets.entry(target).or_default().new = Some(release);
        }
        // A run continued after its deploy already runs the new release: what ran
        // before it is the one recorded as previous.
        for (target, release) in before.into_iter().flatten() {
            if let Some(view) = targets.get_mut(target)
                && view.new.is_some()
                && view.stable == view.new
            {
                view.stable = release.previous.clone();
            }
        }
        RunView {
            runbook: plan.name.clone(),
            run_id: None,
            mode: None,
            rows: Vec::new(),
            stage: None,
            targets,
            result: None,
            plan_steps: plan.steps.iter().map(row).collect(),
            plan_rollback: plan.rollback.iter().map(row).collect(),
        }
    }

    fn find(&mut self, section: Section, name: &str) -> Option<&mut Row> {
        self.rows
            .iter_mut()
            .find(|r| r.section == section && r.name == name)
    }

    /// Takes `event` into the view.
    pub fn observe(&mut self, event: &Event) {
        self.run_id.get_or_insert_with(|| event.run_id.clone());
        match &event.kind {
            EventKind::RunStarted {
                mode, from_step, ..
            } => {
                self.mode = Some(*mode);
                self.rows = self.plan_steps.clone();
                if let Some(from) = from_step {
                    // Continuing past a pause: it and the steps before it are done;
                    // resuming: the steps before the one that failed.
                    let upto = self.rows.iter().position(|r| &r.name == from);
                    let past = usize::from(*mode == Mode::Promote);
                    for row in self.rows.iter_mut().take(upto.map_or(0, |i| i + past)) {
                        row.state = RowState::DoneBefore;
                        if row.stage.is_some() {
                            self.stage = row.stage.clone();
                        }
                    }
                }
            }
            EventKind::RollbackStarted { emergency, .. } => {
                if self.mode.is_none() {
                    self.mode = Some(if *emergency {
                        Mode::Emergency
                    } else {
                        Mode::Rollback
                    });
                }
                self.rows.extend(self.plan_rollback.iter().cloned());
            }
            EventKind::StepStarted {
                section,
                step,
                kind,
                detail,
                ..
            } => {
                if self.find(*section, step).is_none() {
                    // Preflight checks and emergency rungs appear as they run; preflight
                    // above the steps it guards.
                    let row = Row {
                        section: *section,
                        name: step.clone(),
                        kind: kind.clone(),
                        state: RowState::ToCome,
                        note: String::new(),
                        progress: None,
                        stage: None,
                    };
                    let at = match section {
                        Section::Preflight => self
                            .rows
                            .iter()
                            .position(|r| r.section != Section::Preflight)
                            .unwrap_or(self.rows.len()),
                        _ => self.rows.len(),
                    };
                    self.rows.insert(at, row);
                }
                if let Some(row) = self.find(*section, step) {
                    row.state = RowState::Running { since: event.ts };
                    row.note = clean_line(detail);
                    row.progress = None;
                }
            }
            EventKind::StepOutput {
                section,
                step,
                line,
            } => {
                let line = clean_line(line);
                if let Some(row) = self.find(*section, step)
                    && row.progress.is_none()
                    && !line.trim().is_empty()
                {
                    row.note = line;
                }
            }
            EventKind::StepProgress {
                section,
                step,
                elapsed_ms,
                total_ms,
                message,
                tally,
            } => {
                if let Some(row) = self.find(*section, step) {
                    row.progress = Some(match tally {
                        Some(t) => (u64::from(t.done), u64::from(t.needed)),
                        None => (*elapsed_ms, *total_ms),
                    });
                    // A timed wait says where it is; a counted one's message has its count.
                    row.note = match tally {
                        Some(_) => clean_line(message),
                        None => format!(
                            "{} / {}  {}",
                            human_duration(Duration::from_millis(*elapsed_ms)),
                            human_duration(Duration::from_millis(*total_ms)),
                            clean_line(message)
                        ),
                    };
                }
            }
            EventKind::StepFinished {
                section,
                step,
                status,
                duration_ms,
                error,
                ..
            } => {
                let mut stage = None;
                if let Some(row) = self.find(*section, step) {
                    row.progress = None;
                    row.state = match status {
                        StepStatus::Ok => RowState::Done { ms: *duration_ms },
                        StepStatus::Warned => RowState::Warned { ms: *duration_ms },
                        StepStatus::Failed => RowState::Failed { ms: *duration_ms },
                    };
                    row.note = error.as_deref().map(clean_line).unwrap_or_default();
                    if *status == StepStatus::Ok && *section == Section::Steps {
                        stage = row.stage.clone();
                    }
                }
                if stage.is_some() {
                    self.stage = stage;
                }
            }
            EventKind::Paused { step, reason } => {
                if let Some(row) = self.find(Section::Steps, step) {
                    row.state = RowState::Waiting;
                    row.note = reason.clone().unwrap_or_default();
                }
                self.result = Some(format!("paused at `{step}`"));
            }
            EventKind::Releases { releases } => {
                for (target, release) in releases {
                    let view = self.targets.entry(target.clone()).or_default();
                    if release.current.is_some() {
                        view.new = release.current.clone();
                    }
                    if view.stable.is_none() {
                        view.stable = release.previous.clone();
                    }
                    view.percent = release.percent;
                }
            }
            EventKind::RunComplete { duration_ms } => {
                self.result = Some(format!(
                    "complete in {}",
                    human_duration(Duration::from_millis(*duration_ms))
                ));
            }
            EventKind::RunFailed { step, .. } => {
                self.result = Some(format!("failed at `{step}`"));
            }
            EventKind::Interrupted { step } => {
                self.result = Some(match step {
                    Some(step) => format!("interrupted at `{step}`"),
                    None => "interrupted".to_string(),
                });
            }
            EventKind::RollbackFinished { ok, emergency, .. } => {
                let what = if *emergency {
                    "emergency rollback"
                } else {
                    "rollback"
                };
                self.result = Some(if *ok {
                    format!("{what} complete")
                } else {
                    format!("{} FAILED", what.to_uppercase())
                });
            }
            _ => {}
        }
    }

    /// Whether a step is running now (the display then needs redrawing as time passes).
    pub fn busy(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.state, RowState::Running { .. }))
    }

    /// The view as lines of at most `width` columns, at `now`. `tick` turns the
    /// spinner; colour is the caller's.
    pub fn render(&self, now: DateTime<Utc>, width: usize, tick: usize) -> Vec<String> {
        const SPIN: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        let mut lines = Vec::new();
        let mut head = self.runbook.clone();
        if let Some(run_id) = &self.run_id {
            head.push_str(&format!("  run {run_id}"));
        }
        if let Some(mode) = self.mode {
            head.push_str(&format!(" ({})", mode.as_str()));
        }
        if let Some(stage) = &self.stage {
            head.push_str(&format!("  stage: {stage}"));
        }
        if let Some(result) = &self.result {
            head.push_str(&format!("  — {result}"));
        }
        lines.push(head);
        for (target, view) in &self.targets {
            let percent = view
                .percent
                .map(|p| format!(", at {p}%"))
                .unwrap_or_default();
            lines.push(format!(
                "  {target}: stable {}, new {}{percent}",
                view.stable.as_deref().unwrap_or("not recorded"),
                view.new.as_deref().unwrap_or("—"),
            ));
        }
        let mut last_section = None;
        for row in &self.rows {
            if last_section != Some(row.section) {
                lines.push(format!("  {}:", row.section));
                last_section = Some(row.section);
            }
            let (mark, state) = match &row.state {
                RowState::ToCome => ("·", "to come".to_string()),
                RowState::Running { since } => (
                    SPIN[tick % SPIN.len()],
                    human_duration((now - *since).to_std().unwrap_or_default()),
                ),
                RowState::Waiting => ("⏸", "waiting".to_string()),
                RowState::Done { ms } => ("✓", human_duration(Duration::from_millis(*ms))),
                RowState::DoneBefore => ("✓", "done earlier".to_string()),
                RowState::Warned { ms } => ("!", human_duration(Duration::from_millis(*ms))),
                RowState::Failed { ms } => ("✗", human_duration(Duration::from_millis(*ms))),
            };
            let mut line = format!("    {mark} {} ({state})", row.name);
            let running = matches!(row.state, RowState::Running { .. });
            if let (true, Some((done, total))) = (running, row.progress) {
                line.push_str(&format!(" {}", bar(done, total, 20)));
            }
            if !row.note.is_empty() && !matches!(row.state, RowState::ToCome) && !running {
                line.push_str(&format!("  {}", row.note));
            }
            lines.push(line);
            // What a running step is doing gets a line of its own: it is the line that
            // matters most, and must not be cut off by the bar.
            if running && !row.note.is_empty() {
                lines.push(format!("        {}", row.note));
            }
        }
        lines
            .into_iter()
            .map(|l| console::truncate_str(&l, width.max(20), "…").into_owned())
            .collect()
    }
}

impl RunView {
    /// Like [`render`](RunView::render), within `height` lines: a long runbook on a
    /// short terminal counts the steps finished before the first open one and the steps
    /// to come past the bottom instead of listing them (a block taller than the screen
    /// cannot be redrawn in place).
    pub fn render_within(
        &self,
        now: DateTime<Utc>,
        width: usize,
        height: usize,
        tick: usize,
    ) -> Vec<String> {
        let full = self.render(now, width, tick);
        if full.len() <= height {
            return full;
        }
        let first_open = self
            .rows
            .iter()
            .position(|r| {
                !matches!(
                    r.state,
                    RowState::Done { .. } | RowState::DoneBefore | RowState::Warned { .. }
                )
            })
            .unwrap_or(self.rows.len());
        let mut open = self.clone();
        open.rows = self.rows[first_open..].to_vec();
        let mut lines = open.render(now, width, tick);
        let head = 1 + self.targets.len();
        if first_open > 0 {
            lines.insert(head, format!("    ✓ {first_open} earlier step(s) done"));
        }
        if lines.len() > height {
            let keep = height.saturating_sub(1).max(head + 3).min(lines.len());
            let hidden = lines[keep..]
                .iter()
                .filter(|l| l.trim_start().starts_with('·'))
                .count();
            lines.truncate(keep);
            if hidden > 0 {
                lines.push(format!("    · {hidden} more to come"));
            }
        }
        lines
    }
}

/// `━━━━━━╸     ` filled `done` of `total`.
fn bar(done: u64, total: u64, width: usize) -> String {
    let filled = if total == 0 {
        width
    } else {
        ((done.min(total) as f64 / total as f64) * width as f64).round() as usize
    };
    let mut s = "━".repeat(filled);
    if filled < width {
        s.push('╸');
        s.push_str(&" ".repeat(width - filled - 1));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tally;
    use crate::project::Project;
    use crate::runbook::{self, Strictness};

    fn plan() -> Plan {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("runbooks")).unwrap();
        std::fs::write(
            dir.path().join("runbooks/app.toml"),
            "adapter = \"exec\"\ntarget = \"web\"\n\
             [[steps]]\nkind = \"deploy\"\nname = \"ship\"\nrelease = \"2.0\"\ncmd = \"true\"\n\
             [[steps]]\nkind = \"health\"\nname = \"healthy\"\nurl = \"http://127.0.0.1:1/\"\n\
             [[steps]]\nkind = \"promote\"\nname = \"10%\"\npercent = 10\ncmd = \"true\"\n\
             [[steps]]\nkind = \"pause\"\nname = \"gate\"\n\
             [[steps]]\nkind = \"promote\"\nname = \"100%\"\npercent = 100\ncmd = \"true\"\n\
             [[rollback]]\nkind = \"run\"\nname = \"undo\"\ncmd = \"true\"\n",
        )
        .unwrap();
        let project = Project::discover(Some(dir.path())).unwrap();
        let cx = runbook::Context {
            sets: &[],
            run_id: "r-1",
            user: "u",
            host: "h",
            strictness: Strictness::Describe,
        };
        runbook::load(&project, "app", &cx).unwrap().plan
    }

    fn at(secs: i64, kind: EventKind) -> Event {
        Event {
            ts: DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            runbook: "app".into(),
            run_id: "r-1".into(),
            kind,
        }
    }

    fn finished(step: &str, status: StepStatus) -> EventKind {
        EventKind::StepFinished {
            observed: Vec::new(),
            section: Section::Steps,
            step: step.into(),
            kind: "run".into(),
            status,
            duration_ms: 1000,
            attempts: 1,
            error: None,
            tail: vec![],
        }
    }

    fn started(step: &str) -> EventKind {
        EventKind::StepStarted {
            section: Section::Steps,
            step: step.into(),
            kind: "run".into(),
            index: 1,
            total: 5,
            detail: "$ true".into(),
        }
    }

    #[test]
    fn every_step_shows_its_state_the_stage_and_the_releases() {
        let mut before = Releases::new();
        before.insert(
            "web".into(),
            crate::releases::Release {
                current: Some("1.0".into()),
                ..Default::default()
            },
        );
        let mut v = RunView::new(&plan(), Some(&before));
        v.observe(&at(
            0,
            EventKind::RunStarted {
                mode: Mode::Promote,
                steps: 4,
                from_step: None,
            },
        ));
        v.observe(&at(0, started("ship")));
        v.observe(&at(1, finished("ship", StepStatus::Ok)));
        v.observe(&at(1, started("healthy")));
        v.observe(&at(
            2,
            EventKind::StepProgress {
                section: Section::Steps,
                step: "healthy".into(),
                elapsed_ms: 1000,
                total_ms: 120_000,
                message: "1/3 successes, last: 404 in 5ms".into(),
                tally: Some(Tally { done: 1, needed: 3 }),
            },
        ));
        let now = DateTime::from_timestamp(1_800_000_003, 0).unwrap();
        let lines = v.render(now, 200, 0);
        assert_eq!(lines[0], "app  run r-1 (promote)");
        assert_eq!(lines[1], "  web: stable 1.0, new 2.0");
        assert_eq!(lines[2], "  steps:");
        assert_eq!(lines[3], "    ✓ ship (1.0s)");
        assert_eq!(lines[4], "    ⠋ healthy (2.0s) ━━━━━━━╸            ");
        assert_eq!(lines[5], "        1/3 successes, last: 404 in 5ms");
        assert_eq!(lines[6], "    · 10% (to come)");
        v.observe(&at(3, finished("healthy", StepStatus::Ok)));
        v.observe(&at(3, started("10%")));
        v.observe(&at(4, finished("10%", StepStatus::Ok)));
        v.observe(&at(
            4,
            EventKind::Paused {
                step: "gate".into(),
                reason: Some("looks good?".into()),
            },
        ));
        let lines = v.render(now, 200, 0);
        assert_eq!(
            lines[0],
            "app  run r-1 (promote)  stage: 10%  — paused at `gate`"
        );
        assert_eq!(lines[6], "    ⏸ gate (waiting)  looks good?");
        assert_eq!(lines[7], "    · 100% (to come)");
        assert!(!v.busy());
    }

    #[test]
    fn continuing_past_a_pause_marks_the_steps_before_done() {
        let mut v = RunView::new(&plan(), None);
        v.observe(&at(
            0,
            EventKind::RunStarted {
                mode: Mode::Promote,
                steps: 1,
                from_step: Some("gate".into()),
            },
        ));
        let lines = v.render(DateTime::from_timestamp(1_800_000_000, 0).unwrap(), 200, 0);
        assert_eq!(lines[0], "app  run r-1 (promote)  stage: 10%");
        assert_eq!(lines[1], "  web: stable not recorded, new 2.0");
        assert_eq!(lines[6], "    ✓ gate (done earlier)");
        assert_eq!(lines[7], "    · 100% (to come)");
        // Preflight checks go above the steps, as they run.
        v.observe(&at(
            0,
            EventKind::StepStarted {
                section: Section::Preflight,
                step: "tests".into(),
                kind: "run".into(),
                index: 1,
                total: 1,
                detail: "$ cargo test".into(),
            },
        ));
        let lines = v.render(DateTime::from_timestamp(1_800_000_000, 0).unwrap(), 200, 0);
        assert_eq!(lines[2], "  preflight:");
        assert_eq!(lines[3], "    ⠋ tests (0.0s)");
        assert_eq!(lines[5], "  steps:");
        // A rollback adds its steps below.
        v.observe(&at(
            1,
            EventKind::RollbackStarted {
                emergency: true,
                reason: "r".into(),
            },
        ));
        let lines = v.render(DateTime::from_timestamp(1_800_000_001, 0).unwrap(), 30, 0);
        assert_eq!(lines[11], "  rollback:");
        assert_eq!(lines[12], "    · undo (to come)");
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 30));
    }

    #[test]
    fn a_short_screen_counts_what_does_not_fit() {
        let mut v = RunView::new(&plan(), None);
        v.observe(&at(
            0,
            EventKind::RunStarted {
                mode: Mode::Promote,
                steps: 5,
                from_step: None,
            },
        ));
        v.observe(&at(0, started("ship")));
        v.observe(&at(1, finished("ship", StepStatus::Ok)));
        v.observe(&at(1, started("healthy")));
        let now = DateTime::from_timestamp(1_800_000_002, 0).unwrap();
        assert_eq!(v.render_within(now, 80, 100, 0), v.render(now, 80, 0));
        let lines = v.render_within(now, 80, 6, 0);
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert_eq!(lines[2], "    ✓ 1 earlier step(s) done");
        assert_eq!(lines[3], "  steps:");
        assert!(lines[4].starts_with("    ⠋ healthy (1.0s)"), "{lines:?}");
        assert_eq!(lines[5], "    · 3 more to come");
    }
}

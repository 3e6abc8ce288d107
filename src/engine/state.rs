//! The state of a runbook's latest run, in `.rollout/state/NAME.json`: where it stands,
//! what finished, whether anything changed. Written atomically after every step; a file
//! that cannot be read is an error naming it and is never overwritten.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::event::{Mode, StepStatus};
use crate::plan::Section;
use crate::releases::Releases;

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Paused,
    Failed,
    Interrupted,
    Completed,
    RolledBack,
    RollbackFailed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Completed => "completed",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackFailed => "rollback_failed",
        }
    }

    /// A finished run: the next `promote` starts a new one.
    pub fn is_over(self) -> bool {
        matches!(self, RunStatus::Completed | RunStatus::RolledBack)
    }
}

/// One finished step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub section: Section,
    pub status: StepStatus,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last rollback of this run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub emergency: bool,
    pub reason: String,
    pub started_at: DateTime<Utc>,
    pub ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The state of one runbook's latest run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub runbook: String,
    pub status: RunStatus,
    pub mode: Mode,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// A completed deploy, promote, run, … step: auto-rollback has something to undo.
    pub changed: bool,
    /// Targets that platform steps of this run changed: auto-rollback acts on these
    /// only, so a failure in staging never rolls production back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_targets: Vec<String>,
    /// Main steps that finished, in the order they finished.
    pub steps: Vec<StepRecord>,
    /// The step the run is stopped at: the pause it waits behind, or the one that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// The `--set` values the run started with; it keeps them to the end.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sets: BTreeMap<String, String>,
    /// Per target: current and previous release, promote percentage. Carried from run
    /// to run of the runbook.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub releases: Releases,
}

impl RunState {
    pub fn new(runbook: &str, run_id: &str, mode: Mode, user: &str, host: &str) -> RunState {
        let now = Utc::now();
        RunState {
            run_id: run_id.to_string(),
            runbook: runbook.to_string(),
            status: RunStatus::Running,
            mode,
            started_at: now,
            updated_at: now,
            user: user.to_string(),
            host: host.to_string(),
            pid: std::process::id(),
            changed: false,
            changed_targets: Vec::new(),
            sets: BTreeMap::new(),
            steps: Vec::new(),
            at_step: None,
            error: None,
            rollback: None,
            releases: BTreeMap::new(),
        }
    }

    /// Whether a main step already finished (ok or warned) in this run.
    pub fn is_done(&self, step: &str) -> bool {
        self.steps.iter().any(|r| {
            r.name == step && r.section == Section::Steps && r.status != StepStatus::Failed
        })
    }

    /// Records that this run changed `target`, so auto-rollback touches it (once).
    pub fn note_changed_target(&mut self, target: &str) {
        if !self.changed_targets.iter().any(|t| t == target) {
            self.changed_targets.push(target.to_string());
        }
    }

    /// Records a finished step, replacing an earlier record of the same step.
    pub fn record(&mut self, record: StepRecord) {
        self.steps
            .retain(|r| !(r.name == record.name && r.section == record.section));
        self.steps.push(record);
    }
}

/// Reads and writes run states under `.rollout/state/`.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// `state_dir` is the project's `.rollout/`.
    pub fn new(state_dir: &Path) -> StateStore {
        StateStore {
            dir: state_dir.join("state"),
        }
    }

    /// Where `runbook`'s state file lives.
    pub fn path(&self, runbook: &str) -> PathBuf {
        self.dir.join(format!("{runbook}.json"))
    }

    /// The latest run of `runbook`, if any. A file that exists but cannot be read or
    /// parsed is an error naming it (exit 2), so it is never silently replaced.
    pub fn load(&self, runbook: &str) -> Result<Option<RunState>, Error> {
        let path = self.path(runbook);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(&path, &e.to_string())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| unreadable(&path, &e.to_string()))
    }

    /// Writes `state` atomically: a temporary file in the same folder, synced, renamed.
    pub fn save(&self, state: &RunState) -> Result<(), Error> {
        let path = self.path(&state.runbook);
        let write = || -> std::io::Result<()> {
            fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
            tmp.write_all(&json)?;
            tmp.write_all(b"\n")?;
            tmp.as_file().sync_all()?;
            tmp.persist(&path).map_err(|e| e.error)?;
            // The rename is durable only once the directory itself is synced.
            if let Ok(dir) = fs::File::open(&self.dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            Error::failed(format!("cannot write the run state {}", path.display()))
                .with_detail(e.to_string())
                .with_hint("check the permissions and free space of the project's .rollout/ folder")
        })
    }

    /// Every runbook with a state file, most recently updated first. Unreadable files are
    /// errors, as in `load`.
    pub fn all(&self) -> Result<Vec<RunState>, Error> {
        let mut states = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(states),
            Err(e) => return Err(unreadable(&self.dir, &e.to_string())),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && let Some(state) = self.load(stem)?
            {
                states.push(state);
            }
        }
        states.sort_by_key(|s| std::cmp::Reverse(s.updated_at));
        Ok(states)
    }
}

fn unreadable(path: &Path, why: &str) -> Error {
    Error::usage(format!("the run state {} cannot be read", path.display()))
        .with_detail(why.to_string())
        .with_hint(format!(
            "rollout will not overwrite it. Inspect it, then move it aside (mv {0} {0}.broken) to start fresh",
            path.display()
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: StepStatus) -> StepRecord {
        StepRecord {
            name: name.into(),
            section: Section::Steps,
            status,
            started_at: Utc::now(),
            duration_ms: 5,
            attempts: 1,
            error: None,
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut state = RunState::new("canary", "r-1", Mode::Promote, "alice", "ops-1");
        state.record(record("deploy", StepStatus::Ok));
        store.save(&state).unwrap();
        assert_eq!(store.load("canary").unwrap(), Some(state));
        assert_eq!(store.load("other").unwrap(), None);
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        fs::create_dir_all(dir.path().join("state")).unwrap();
        fs::write(store.path("canary"), "{not json").unwrap();
        let err = store.load("canary").unwrap_err();
        assert_eq!(err.code.code(), 2);
        assert!(err.headline.contains("canary.json"), "{}", err.headline);
        assert_eq!(
            fs::read_to_string(store.path("canary")).unwrap(),
            "{not json"
        );
    }

    #[test]
    fn record_replaces_an_earlier_try_of_the_same_step() {
        let mut state = RunState::new("c", "r", Mode::Promote, "u", "h");
        state.record(record("deploy", StepStatus::Failed));
        assert!(!state.is_done("deploy"));
        state.record(record("deploy", StepStatus::Ok));
        assert!(state.is_done("deploy"));
        assert_eq!(state.steps.len(), 1);
    }

    #[test]
    fn all_lists_the_most_recent_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut old = RunState::new("old", "r-1", Mode::Promote, "u", "h");
        old.updated_at = Utc::now() - chrono::Duration::hours(1);
        store.save(&old).unwrap();
        store
            .save(&RunState::new("new", "r-2", Mode::Promote, "u", "h"))
            .unwrap();
        let names: Vec<_> = store
            .all()
            .unwrap()
            .into_iter()
            .map(|s| s.runbook)
            .collect();
        assert_eq!(names, vec!["new", "old"]);
    }
}

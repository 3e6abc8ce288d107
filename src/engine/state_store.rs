//! Run states in a [`RunStore`]: each save appends only what changed since the last one
//! (the fields that changed, and the steps that finished since), so a step costs the
//! same at the 5,000th step as at the first, and a killed process loses at most the step
//! it was in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::state::{RunState, StepRecord};
use crate::error::Error;
use crate::store::{Backend, FileStore, Record, RunStore, diff, fields, file::unreadable};

/// The one field of a run state that only grows: appended, never rewritten.
const STEPS: &str = "steps";

/// Reads and writes run states; on local files under `.rollout/` unless given another
/// store.
#[derive(Clone, Debug)]
pub struct StateStore {
    store: Arc<dyn RunStore>,
    /// What was last saved or loaded, per runbook, to write only the difference.
    saved: Arc<Mutex<HashMap<String, Saved>>>,
}

#[derive(Debug)]
struct Saved {
    run_id: String,
    /// Every field but the steps.
    head: Map<String, Value>,
    steps: Vec<StepRecord>,
}

impl StateStore {
    /// `state_dir` is the project's `.rollout/`.
    pub fn new(state_dir: &Path) -> StateStore {
        StateStore::with_store(Arc::new(FileStore::new(state_dir)))
    }

    /// On `backend`: the team's database, or `.rollout/` (`state_dir`) without one.
    pub fn in_backend(backend: &Backend, state_dir: &Path) -> StateStore {
        StateStore::with_store(backend.run_store(state_dir))
    }

    pub fn with_store(store: Arc<dyn RunStore>) -> StateStore {
        StateStore {
            store,
            saved: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Where `runbook`'s latest run is kept (for messages, and for moving it aside).
    pub fn path(&self, runbook: &str) -> PathBuf {
        self.store.location(runbook)
    }

    /// The latest run of `runbook`, if any. A state that exists but cannot be read is an
    /// error naming its file (exit 2), so it is never silently replaced.
    pub fn load(&self, runbook: &str) -> Result<Option<RunState>, Error> {
        let Some(folded) = self.store.latest(runbook)? else {
            return Ok(None);
        };
        let state = parse(folded.document.clone(), &folded.location)?;
        if let Some(saved) = Saved::of(&folded.run_id, folded.document) {
            self.remember(runbook, saved);
        }
        Ok(Some(state))
    }

    /// Appends `state` to its run's journal: only what changed since the last save, or
    /// the whole state for a run's first save.
    pub fn save(&self, state: &RunState) -> Result<(), Error> {
        let head = fields::to_object_without(state, &[STEPS])
            .map_err(|e| Error::failed("cannot encode the run state").with_detail(e.to_string()))?;
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        let last = saved
            .get(&state.runbook)
            .filter(|last| last.run_id == state.run_id);
        let record = match last {
            Some(last) => change(last, &head, &state.steps),
            None => None,
        }
        .unwrap_or_else(|| Record {
            snapshot: Some(whole(head.clone(), &state.steps)),
            ..Record::default()
        });
        let grows = last.is_some_and(|last| only_appended(&last.steps, &state.steps));
        if record != Record::default() {
            let durable = !is_marker(&record);
            self.store
                .append(&state.runbook, &state.run_id, &record, durable)?;
        }
        let steps = if grows {
            let mut steps = saved
                .remove(&state.runbook)
                .map(|last| last.steps)
                .unwrap_or_default();
            steps.extend_from_slice(&state.steps[steps.len()..]);
            steps
        } else {
            state.steps.clone()
        };
        saved.insert(
            state.runbook.clone(),
            Saved {
                run_id: state.run_id.clone(),
                head,
                steps,
            },
        );
        Ok(())
    }

    /// Every runbook's latest run, most recently updated first. Unreadable states are
    /// errors, as in `load`.
    pub fn all(&self) -> Result<Vec<RunState>, Error> {
        let mut states = Vec::new();
        for runbook in self.store.runbooks()? {
            states.extend(self.load(&runbook)?);
        }
        states.sort_by_key(|s| std::cmp::Reverse(s.updated_at));
        Ok(states)
    }

    /// Every kept run of `runbook`, newest first.
    pub fn history(&self, runbook: &str) -> Result<Vec<RunState>, Error> {
        let mut runs = Vec::new();
        for folded in self.store.runs(runbook)? {
            runs.push(parse(folded.document, &folded.location)?);
        }
        runs.sort_by(|a, b| (b.started_at, &b.run_id).cmp(&(a.started_at, &a.run_id)));
        Ok(runs)
    }

    /// The runbooks that have runs.
    pub fn runbooks(&self) -> Result<Vec<String>, Error> {
        self.store.runbooks()
    }

    fn remember(&self, runbook: &str, saved: Saved) {
        self.saved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(runbook.to_string(), saved);
    }
}

impl Saved {
    fn of(run_id: &str, document: Value) -> Option<Saved> {
        let Value::Object(mut head) = document else {
            return None;
        };
        let steps = serde_json::from_value(head.remove(STEPS)?).ok()?;
        Some(Saved {
            run_id: run_id.to_string(),
            head,
            steps,
        })
    }
}

/// The record from `last` to (`head`, `steps`): changed fields as a merge patch, new steps
/// appended. `None` when a patch cannot say it (then a snapshot is written).
fn change(last: &Saved, head: &Map<String, Value>, steps: &[StepRecord]) -> Option<Record> {
    let patch = diff(&last.head, head).ok()?;
    let mut record = Record {
        patch,
        ..Record::default()
    };
    if only_appended(&last.steps, steps) {
        let new = &steps[last.steps.len()..];
        if !new.is_empty() {
            record
                .append
                .insert(STEPS.to_string(), serde_json::to_value(new).ok()?);
        }
    } else {
        // An earlier step was tried again: the list is said whole, once.
        let mut patch = match record.patch.take() {
            Some(Value::Object(patch)) => patch,
            _ => Map::new(),
        };
        patch.insert(STEPS.to_string(), serde_json::to_value(steps).ok()?);
        record.patch = Some(Value::Object(patch));
    }
    Some(record)
}

/// Whether `now` is `before` with steps added at the end.
///
/// Steps change only through [`RunState::record`], which removes an earlier record of the
/// same step and pushes the new one at the end; after that, the record at the old last
/// position differs unless nothing before it moved. So comparing the length and that one
/// record is exact, and a step costs the same at the 5,000th step as at the first (a
/// whole comparison would grow with the run). Debug builds check the whole prefix.
fn only_appended(before: &[StepRecord], now: &[StepRecord]) -> bool {
    let cheap = now.len() >= before.len()
        && before
            .last()
            .is_none_or(|last| now.get(before.len() - 1) == Some(last));
    debug_assert_eq!(
        cheap,
        now.starts_with(before),
        "steps changed other than through RunState::record"
    );
    cheap
}

/// The fields a record that only says "now at this step" changes.
const MARKER_FIELDS: [&str; 2] = ["at_step", "updated_at"];

/// Whether `record` only marks the step a run is about to start. Such a record is written
/// (a killed process is then found at that step) but not synced on its own: the record
/// after the step syncs it along, so a step costs one sync of the journal, not two.
fn is_marker(record: &Record) -> bool {
    record.snapshot.is_none()
        && record.append.is_empty()
        && record.patch.as_ref().is_some_and(|patch| {
            patch
                .as_object()
                .is_some_and(|fields| fields.keys().all(|k| MARKER_FIELDS.contains(&k.as_str())))
        })
}

fn whole(mut head: Map<String, Value>, steps: &[StepRecord]) -> Value {
    head.insert(
        STEPS.to_string(),
        serde_json::to_value(steps).unwrap_or_else(|_| Value::Array(Vec::new())),
    );
    Value::Object(head)
}

fn parse(document: Value, location: &str) -> Result<RunState, Error> {
    serde_json::from_value(document).map_err(|e| unreadable(Path::new(location), &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Mode, StepStatus};
    use crate::plan::Section;
    use chrono::Utc;

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

    fn journal(dir: &Path, runbook: &str, run_id: &str) -> String {
        std::fs::read_to_string(dir.join(format!("runs/{runbook}/{run_id}.journal")))
            .expect("journal")
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut state = RunState::new("canary", "r-1", Mode::Promote, "alice", "ops-1");
        state.record(record("deploy", StepStatus::Ok));
        store.save(&state).unwrap();
        assert_eq!(store.load("canary").unwrap(), Some(state.clone()));
        assert_eq!(store.load("other").unwrap(), None);
        // Another process, and another run after it.
        let fresh = StateStore::new(dir.path());
        assert_eq!(fresh.load("canary").unwrap(), Some(state));
        let next = RunState::new("canary", "r-2", Mode::Promote, "bob", "ops-2");
        fresh.save(&next).unwrap();
        assert_eq!(store.load("canary").unwrap(), Some(next));
        let ids: Vec<String> = store
            .history("canary")
            .unwrap()
            .into_iter()
            .map(|s| s.run_id)
            .collect();
        assert_eq!(ids, vec!["r-2", "r-1"]);
    }

    /// A save writes what changed: a step is one small record whatever came before it.
    #[test]
    fn each_save_appends_only_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let mut state = RunState::new("big", "r-1", Mode::Promote, "u", "h");
        store.save(&state).unwrap();
        let mut sizes = Vec::new();
        for i in 0..300 {
            let before = journal(dir.path(), "big", "r-1").len();
            state.at_step = Some(format!("step {i}"));
            state.record(record(&format!("step {i}"), StepStatus::Ok));
            store.save(&state).unwrap();
            sizes.push(journal(dir.path(), "big", "r-1").len() - before);
        }
        let (first, last) = (sizes[0], sizes[299]);
        assert!(
            last <= first + 8,
            "record grew from {first} to {last} bytes"
        );
        // A retried earlier step is said whole once, and the fold is still right.
        state.record(record("step 5", StepStatus::Warned));
        store.save(&state).unwrap();
        state.rollback = Some(crate::engine::state::RollbackRecord {
            emergency: false,
            reason: "r".into(),
            started_at: Utc::now(),
            ok: None,
            error: None,
            recovered_after: None,
            check: None,
        });
        store.save(&state).unwrap();
        state.updated_at = Utc::now();
        store.save(&state).unwrap();
        assert_eq!(
            StateStore::new(dir.path()).load("big").unwrap(),
            Some(state)
        );
    }

    #[test]
    fn a_state_that_does_not_fit_is_an_error_naming_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        std::fs::create_dir_all(dir.path().join("runs/app")).unwrap();
        std::fs::write(dir.path().join("runs/app/latest"), "r-1\n").unwrap();
        std::fs::write(
            dir.path().join("runs/app/r-1.journal"),
            "{\"snapshot\":{\"run_id\":7}}\n",
        )
        .unwrap();
        let err = store.load("app").unwrap_err();
        assert_eq!(err.code.code(), 2);
        assert!(err.headline.contains("r-1.journal"), "{}", err.headline);
    }

    #[test]
    fn only_a_step_marker_goes_unsynced() {
        let marker = Record {
            patch: Some(serde_json::json!({"at_step": "x", "updated_at": "t"})),
            ..Record::default()
        };
        assert!(is_marker(&marker));
        let status = Record {
            patch: Some(serde_json::json!({"at_step": "x", "status": "paused"})),
            ..Record::default()
        };
        assert!(!is_marker(&status));
        let step = Record {
            patch: marker.patch.clone(),
            append: Map::from_iter([(STEPS.to_string(), serde_json::json!([{}]))]),
            ..Record::default()
        };
        assert!(!is_marker(&step));
        assert!(!is_marker(&Record::default()));
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

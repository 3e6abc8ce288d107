//! Runs on local files: `.rollout/runs/RUNBOOK/RUN_ID.journal`, one JSON [`Record`] per
//! line, each appended with one `write` and an `fdatasync`; `.rollout/runs/RUNBOOK/latest`
//! names the latest run (replaced atomically, once per run).
//!
//! A last record cut short by a killed process is ignored, with a warning, and cut off
//! before the next append; any other record that cannot be read is an error naming the
//! file and line, and the file is left alone. The first version's single state file,
//! `.rollout/state/RUNBOOK.json`, is still read, and is moved into a journal (once,
//! saying so) when the runbook next records a step. The newest [`KEEP_RUNS`] journals of
//! each runbook are kept.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use super::{Folded, Record, RunStore};
use crate::error::Error;

/// How many runs of each runbook keep their journal; older ones are deleted when a new
/// run starts. `rollout history` shows what is kept.
pub const KEEP_RUNS: usize = 200;

const JOURNAL: &str = "journal";
const LATEST: &str = "latest";

/// Journals under a project's `.rollout/`.
#[derive(Debug)]
pub struct FileStore {
    root: PathBuf,
    /// The journal each runbook appends to in this process, open.
    open: Mutex<HashMap<String, (String, File)>>,
}

impl FileStore {
    /// `state_dir` is the project's `.rollout/`.
    pub fn new(state_dir: &Path) -> FileStore {
        FileStore {
            root: state_dir.to_path_buf(),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn runs_dir(&self, runbook: &str) -> PathBuf {
        self.root.join("runs").join(runbook)
    }

    fn journal_path(&self, runbook: &str, run_id: &str) -> PathBuf {
        self.runs_dir(runbook)
            .join(format!("{}.{JOURNAL}", file_safe(run_id)))
    }

    fn pointer_path(&self, runbook: &str) -> PathBuf {
        self.runs_dir(runbook).join(LATEST)
    }

    /// The first version's state file.
    fn legacy_path(&self, runbook: &str) -> PathBuf {
        self.root.join("state").join(format!("{runbook}.json"))
    }

    /// The run the pointer names; `None` when there is no pointer.
    fn pointer(&self, runbook: &str) -> Result<Option<String>, Error> {
        let path = self.pointer_path(runbook);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let run_id = text.trim();
                if run_id.is_empty() || file_safe(run_id) != run_id {
                    return Err(unreadable(&path, "it does not name a run"));
                }
                Ok(Some(run_id.to_string()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unreadable(&path, &e.to_string())),
        }
    }

    /// The first version's state, if its file is there.
    fn legacy(&self, runbook: &str) -> Result<Option<Folded>, Error> {
        let path = self.legacy_path(runbook);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            // `state` being a file is not a state of the first version either.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(unreadable(&path, &e.to_string())),
        };
        let document: Value =
            serde_json::from_str(&text).map_err(|e| unreadable(&path, &e.to_string()))?;
        let run_id = document
            .get("run_id")
            .and_then(Value::as_str)
            .map_or_else(|| "migrated".to_string(), file_safe);
        Ok(Some(Folded {
            run_id,
            document,
            location: path.display().to_string(),
        }))
    }

    /// Moves the first version's state file into a journal of its own, once. The old
    /// file is kept beside, renamed, so nothing is ever discarded.
    fn migrate(&self, runbook: &str) -> Result<(), Error> {
        if self.pointer(runbook)?.is_some() {
            return Ok(());
        }
        let Some(old) = self.legacy(runbook)? else {
            return Ok(());
        };
        let legacy = self.legacy_path(runbook);
        let journal = self.journal_path(runbook, &old.run_id);
        let kept = legacy.with_extension("json.migrated");
        let record = Record {
            snapshot: Some(old.document),
            ..Record::default()
        };
        let write = || -> io::Result<()> {
            fs::create_dir_all(self.runs_dir(runbook))?;
            let mut file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&journal)?;
            file.write_all(&line(&record)?)?;
            file.sync_data()?;
            self.point_at(runbook, &old.run_id)?;
            fs::rename(&legacy, &kept)
        };
        write().map_err(|e| cannot_write(&journal, &e))?;
        eprintln!(
            "note: moved the run state {} into the run journal {} (the old file is kept as {})",
            legacy.display(),
            journal.display(),
            kept.display()
        );
        Ok(())
    }

    /// Makes `run_id` the runbook's latest run: a new pointer file renamed over the old.
    fn point_at(&self, runbook: &str, run_id: &str) -> io::Result<()> {
        let dir = self.runs_dir(runbook);
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        writeln!(tmp, "{run_id}")?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.pointer_path(runbook))
            .map_err(|e| e.error)?;
        sync_dir(&dir);
        Ok(())
    }

    /// Opens the journal of a run for appending, creating it for a new run, and cutting
    /// off a torn last record left by a killed process.
    fn open_journal(&self, runbook: &str, run_id: &str) -> Result<File, Error> {
        self.migrate(runbook)?;
        let path = self.journal_path(runbook, run_id);
        let open = || -> io::Result<(File, bool)> {
            fs::create_dir_all(self.runs_dir(runbook))?;
            let existed = path.exists();
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)?;
            if !existed {
                sync_dir(&self.runs_dir(runbook));
            }
            Ok((file, existed))
        };
        let (file, existed) = open().map_err(|e| cannot_write(&path, &e))?;
        if existed {
            let text = fs::read(&path).map_err(|e| unreadable(&path, &e.to_string()))?;
            let (_, good) = fold(&text, &path)?;
            if good < text.len() as u64 {
                file.set_len(good).map_err(|e| cannot_write(&path, &e))?;
            }
        }
        Ok(file)
    }

    /// Makes `run_id` the latest run, if it is not yet: only once its journal holds a
    /// record, so a run killed before its first never hides the one before it.
    fn ensure_latest(&self, runbook: &str, run_id: &str) -> Result<(), Error> {
        if self.pointer(runbook)?.as_deref() != Some(run_id) {
            self.point_at(runbook, run_id)
                .map_err(|e| cannot_write(&self.pointer_path(runbook), &e))?;
            self.prune(runbook, run_id);
        }
        Ok(())
    }

    /// Deletes the oldest journals beyond [`KEEP_RUNS`] (run ids sort by their start).
    fn prune(&self, runbook: &str, current: &str) {
        let mut journals = journal_ids(&self.runs_dir(runbook));
        if journals.len() <= KEEP_RUNS {
            return;
        }
        journals.retain(|id| id != current);
        let excess = journals.len() + 1 - KEEP_RUNS;
        for id in journals.iter().take(excess) {
            let _ = fs::remove_file(self.journal_path(runbook, id));
        }
    }

    fn read_run(&self, runbook: &str, run_id: &str) -> Result<Option<Folded>, Error> {
        let path = self.journal_path(runbook, run_id);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unreadable(&path, &e.to_string())),
        };
        let (document, _) = fold(&text, &path)?;
        Ok(document.map(|document| Folded {
            run_id: run_id.to_string(),
            document,
            location: path.display().to_string(),
        }))
    }
}

impl RunStore for FileStore {
    fn latest(&self, runbook: &str) -> Result<Option<Folded>, Error> {
        match self.pointer(runbook)? {
            Some(run_id) => self.read_run(runbook, &run_id),
            None => self.legacy(runbook),
        }
    }

    fn runs(&self, runbook: &str) -> Result<Vec<Folded>, Error> {
        let mut runs = Vec::new();
        for id in journal_ids(&self.runs_dir(runbook)) {
            runs.extend(self.read_run(runbook, &id)?);
        }
        if self.pointer(runbook)?.is_none() {
            runs.extend(self.legacy(runbook)?);
        }
        Ok(runs)
    }

    fn runbooks(&self) -> Result<Vec<String>, Error> {
        let mut names = BTreeSet::new();
        for (dir, journals) in [
            (self.root.join("runs"), true),
            (self.root.join("state"), false),
        ] {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unreadable(&dir, &e.to_string())),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = if journals {
                    path.is_dir().then(|| path.file_name()).flatten()
                } else {
                    (path.extension().and_then(|e| e.to_str()) == Some("json"))
                        .then(|| path.file_stem())
                        .flatten()
                };
                if let Some(name) = name.and_then(|n| n.to_str()) {
                    names.insert(name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    fn append(
        &self,
        runbook: &str,
        run_id: &str,
        record: &Record,
        durable: bool,
    ) -> Result<(), Error> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let opening = open.get(runbook).is_none_or(|(id, _)| id != run_id);
        if opening {
            let file = self.open_journal(runbook, run_id)?;
            open.insert(runbook.to_string(), (run_id.to_string(), file));
        }
        let path = self.journal_path(runbook, run_id);
        let Some((_, file)) = open.get_mut(runbook) else {
            return Err(cannot_write(&path, &io::Error::other("not open")));
        };
        // One write of the whole line, then its data on disk, as the log does. A run's
        // first record is always synced: the pointer is moved to it next.
        let bytes = line(record).map_err(|e| cannot_write(&path, &e))?;
        let written = file.write_all(&bytes).and_then(|()| {
            if durable || opening {
                file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Reopened (and a torn tail cut off) by the next append.
            open.remove(runbook);
            return Err(cannot_write(&path, &e));
        }
        if opening {
            self.ensure_latest(runbook, run_id)?;
        }
        Ok(())
    }

    fn location(&self, runbook: &str) -> PathBuf {
        match self.pointer(runbook) {
            Ok(Some(run_id)) => self.journal_path(runbook, &run_id),
            Ok(None) if self.legacy_path(runbook).exists() => self.legacy_path(runbook),
            Ok(None) => self.runs_dir(runbook),
            Err(_) => self.pointer_path(runbook),
        }
    }
}

/// A record as one line of the journal.
fn line(record: &Record) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(record).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Folds a journal's records. Returns the document (`None` when no record could be read)
/// and the length of the records that were read. A last record that is cut short or
/// unreadable is torn: ignored, with a warning. Any other unreadable record is an error.
fn fold(text: &[u8], path: &Path) -> Result<(Option<Value>, u64), Error> {
    let mut document = None;
    let mut good = 0usize;
    let mut rest = text;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (raw, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        let consumed = raw.len() + usize::from(complete);
        let is_last = consumed == rest.len();
        let parsed = if complete {
            serde_json::from_slice::<Record>(raw).ok()
        } else {
            None
        };
        match parsed {
            Some(record) => {
                record.apply(document.get_or_insert(Value::Null));
                good += consumed;
            }
            None if is_last => {
                warn_torn(path, number);
                break;
            }
            None => {
                return Err(unreadable(
                    path,
                    &format!("record {number} is not a journal record"),
                ));
            }
        }
        rest = &rest[consumed..];
    }
    Ok((document, good as u64))
}

/// Says once per process that a journal ends in a torn record.
fn warn_torn(path: &Path, number: usize) {
    static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(path.to_path_buf())
    {
        eprintln!(
            "warning: the run journal {} ends in a torn record (record {number}: a process \
             was stopped while writing it); it is ignored, and the run stands at the record \
             before it",
            path.display()
        );
    }
}

/// The run ids that have a journal in `dir`, oldest first.
fn journal_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension().and_then(|e| e.to_str()) == Some(JOURNAL))
                .then(|| path.file_stem()?.to_str().map(str::to_string))
                .flatten()
        })
        .collect();
    ids.sort();
    ids
}

/// A run id as a file name: anything but letters, digits, `.`, `_` and `-` becomes `_`.
fn file_safe(run_id: &str) -> String {
    let safe: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

fn sync_dir(dir: &Path) {
    // A new name is durable only once its directory is synced.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// A state that cannot be read: exit 2, naming the file; it is never overwritten.
pub fn unreadable(path: &Path, why: &str) -> Error {
    Error::usage(format!("the run state {} cannot be read", path.display()))
        .with_detail(why.to_string())
        .with_hint(format!(
            "rollout will not overwrite it. Inspect it, then move it aside (mv {0} {0}.broken) to start fresh",
            path.display()
        ))
}

fn cannot_write(path: &Path, error: &io::Error) -> Error {
    Error::failed(format!("cannot write the run state {}", path.display()))
        .with_detail(error.to_string())
        .with_hint("check the permissions and free space of the project's .rollout/ folder")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(doc: Value) -> Record {
        Record {
            snapshot: Some(doc),
            ..Record::default()
        }
    }

    fn patch(doc: Value) -> Record {
        Record {
            patch: Some(doc),
            ..Record::default()
        }
    }

    #[test]
    fn appends_fold_back_and_the_latest_run_is_the_last_started() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        assert_eq!(store.latest("app").expect("read"), None);
        store
            .append("app", "r-1", &snapshot(json!({"n": 0})), true)
            .expect("write");
        store
            .append("app", "r-1", &patch(json!({"n": 1})), true)
            .expect("write");
        store
            .append("app", "r-2", &snapshot(json!({"n": 10})), true)
            .expect("write");
        let latest = store.latest("app").expect("read").expect("a run");
        assert_eq!(
            (latest.run_id.as_str(), &latest.document),
            ("r-2", &json!({"n": 10}))
        );
        // A second process (a fresh store) sees the same, and continues the old run.
        let other = FileStore::new(dir.path());
        other
            .append("app", "r-1", &patch(json!({"m": 2})), true)
            .expect("write");
        let mut runs = other.runs("app").expect("read");
        runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        assert_eq!(runs[0].document, json!({"n": 1, "m": 2}));
        assert_eq!(
            other.latest("app").expect("read").expect("run").run_id,
            "r-1"
        );
        assert_eq!(other.runbooks().expect("list"), vec!["app"]);
    }

    #[test]
    fn a_torn_last_record_is_ignored_then_cut_off_before_the_next_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        store
            .append("app", "r-1", &snapshot(json!({"n": 0})), true)
            .expect("write");
        store
            .append("app", "r-1", &patch(json!({"n": 1})), true)
            .expect("write");
        let path = store.journal_path("app", "r-1");
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(br#"{"patch":{"n":"#).expect("tear");
        drop(file);
        let latest = store.latest("app").expect("a torn record is not fatal");
        assert_eq!(latest.expect("run").document, json!({"n": 1}));
        let fresh = FileStore::new(dir.path());
        fresh
            .append("app", "r-1", &patch(json!({"n": 2})), true)
            .expect("write");
        assert_eq!(
            fresh.latest("app").expect("read").expect("run").document,
            json!({"n": 2})
        );
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 3, "{text}");
    }

    #[test]
    fn a_bad_record_before_the_last_is_an_error_naming_the_file_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        store
            .append("app", "r-1", &snapshot(json!({"n": 0})), true)
            .expect("write");
        let path = store.journal_path("app", "r-1");
        let broken = "{\"snapshot\":{\"n\":0}}\nnot json\n{\"patch\":{\"n\":1}}\n";
        fs::write(&path, broken).expect("write");
        let err = FileStore::new(dir.path())
            .latest("app")
            .expect_err("corrupt");
        assert_eq!(err.code.code(), 2);
        assert!(err.headline.contains("r-1.journal"), "{}", err.headline);
        assert!(err.detail.unwrap_or_default().contains("record 2"));
        let err = FileStore::new(dir.path())
            .append("app", "r-1", &patch(json!({"n": 2})), true)
            .expect_err("never appended to");
        assert!(err.headline.contains("r-1.journal"));
        assert_eq!(fs::read_to_string(&path).expect("read"), broken);
    }

    #[test]
    fn a_first_version_state_file_is_read_then_migrated_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("state")).expect("dir");
        let legacy = dir.path().join("state/app.json");
        fs::write(&legacy, r#"{"run_id":"r-old","status":"paused"}"#).expect("write");
        let store = FileStore::new(dir.path());
        let old = store.latest("app").expect("read").expect("legacy run");
        assert_eq!(old.run_id, "r-old");
        assert!(legacy.exists(), "reading changes nothing");
        store
            .append("app", "r-new", &snapshot(json!({"run_id": "r-new"})), true)
            .expect("write");
        assert!(!legacy.exists());
        assert!(dir.path().join("state/app.json.migrated").exists());
        let mut ids: Vec<String> = store
            .runs("app")
            .expect("read")
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        ids.sort();
        assert_eq!(ids, vec!["r-new", "r-old"]);
        assert_eq!(
            store.latest("app").expect("read").expect("run").run_id,
            "r-new"
        );
    }

    #[test]
    fn only_the_newest_runs_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        for i in 0..KEEP_RUNS + 3 {
            store
                .append(
                    "app",
                    &format!("r-{i:04}"),
                    &snapshot(json!({"i": i})),
                    false,
                )
                .expect("write");
        }
        let ids = journal_ids(&store.runs_dir("app"));
        assert_eq!(ids.len(), KEEP_RUNS);
        assert_eq!(ids[0], "r-0003");
    }

    #[test]
    fn run_ids_become_safe_file_names() {
        assert_eq!(
            file_safe("r-20261122-183000-7f3a"),
            "r-20261122-183000-7f3a"
        );
        assert_eq!(file_safe("../x/y"), "_.._x_y");
    }
}

//! The test bench: a temporary project with runbooks, fake platform executables first
//! on PATH that record their argv, and the real `rollout` binary run inside it.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The fake CLI every test can install under any name. It appends one line per call
/// to `$FAKE_DIR/calls.log` — its name, then each argument in brackets, so a value with
/// spaces visibly stays one argument — and behaves as files in `$FAKE_DIR` tell it:
/// `NAME.VERB.exit` (exit code), `NAME.VERB.out` (printed), `NAME.VERB.hang` (sleeps,
/// with a grandchild in its process group, writing both pids to `NAME.pids`).
const FAKE_EXIT: &str = r#"if [ -f "$FAKE_DIR/$name.$verb.exit" ]; then exit "$(cat "$FAKE_DIR/$name.$verb.exit")"; fi
exit 0
"#;

/// What every fake does first: record its argv, print `NAME.VERB.out`, obey
/// `NAME.VERB.hang`. Richer fakes (tests/e2e/fakes.rs) add their own behaviour after it.
pub const FAKE_PRELUDE: &str = r#"#!/bin/sh
name=$(basename "$0")
verb="${1:-none}"
line="$name"
for arg in "$@"; do line="$line [$arg]"; done
echo "$line" >> "$FAKE_DIR/calls.log"
if [ -f "$FAKE_DIR/$name.$verb.out" ]; then cat "$FAKE_DIR/$name.$verb.out"; fi
if [ -f "$FAKE_DIR/$name.$verb.hang" ]; then
  sleep 300 &
  echo "$! $$" >> "$FAKE_DIR/$name.pids"
  sleep 300
fi
"#;

pub struct Bench {
    dir: TempDir,
}

impl Bench {
    /// An empty project: `runbooks/`, and `bin/` for fakes.
    pub fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("runbooks")).unwrap();
        fs::create_dir_all(dir.path().join("bin")).unwrap();
        fs::create_dir_all(dir.path().join("fake")).unwrap();
        Bench { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn runbook(&self, name: &str, toml: &str) -> &Bench {
        self.file(&format!("runbooks/{name}.toml"), toml)
    }

    pub fn file(&self, rel: &str, content: &str) -> &Bench {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, content).unwrap();
        self
    }

    /// Installs the recording fake under `name` in `bin/`.
    pub fn fake(&self, name: &str) -> &Bench {
        self.executable(
            &format!("bin/{name}"),
            &format!("{FAKE_PRELUDE}{FAKE_EXIT}"),
        )
    }

    pub fn executable(&self, rel: &str, content: &str) -> &Bench {
        self.file(rel, content);
        let path = self.path(rel);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// Tells fake `name` how to answer `verb`: "exit" with a code, "out" text, "hang".
    pub fn tell(&self, name: &str, verb: &str, what: &str, value: &str) -> &Bench {
        self.file(&format!("fake/{name}.{verb}.{what}"), value)
    }

    pub fn forget(&self, name: &str, verb: &str, what: &str) -> &Bench {
        let _ = fs::remove_file(self.path(&format!("fake/{name}.{verb}.{what}")));
        self
    }

    /// Every call the fakes recorded, one line each.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.path("fake/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The reliability log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.path("reliability.log")).unwrap_or_default()
    }

    /// The EVENT of each log line, in order.
    pub fn log_events(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| {
                let rest = l.split_once("] ")?.1;
                Some(rest.split(" - ").next()?.to_string())
            })
            .collect()
    }

    /// The state of `runbook`'s latest run: its journal folded (`.rollout/runs/NAME/latest`
    /// names it), or a first-version `.rollout/state/NAME.json`.
    pub fn state(&self, runbook: &str) -> serde_json::Value {
        let Ok(run_id) = fs::read_to_string(self.path(&format!(".rollout/runs/{runbook}/latest")))
        else {
            let text = fs::read_to_string(self.path(&format!(".rollout/state/{runbook}.json")))
                .expect("state file");
            return serde_json::from_str(&text).expect("state json");
        };
        let journal = format!(".rollout/runs/{runbook}/{}.journal", run_id.trim());
        fold_journal(&fs::read_to_string(self.path(&journal)).expect("journal"))
    }

    /// Every byte rollout keeps about runs (journals, pointers, first-version state
    /// files), by file, to show that nothing changed or that nothing secret is there.
    pub fn state_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut dirs = vec![self.path(".rollout/runs"), self.path(".rollout/state")];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let bytes = fs::read(&path).unwrap_or_default();
                    files.push((path, bytes));
                }
            }
        }
        files.sort();
        files
    }

    /// `rollout` in this project, with a clean, deterministic environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rollout"));
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.args(args)
            .current_dir(self.root())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.root())
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("FAKE_DIR", self.path("fake"))
            // Systemd reads units from here too: drop-ins under it pass validation.
            .env("SYSTEMD_UNIT_PATH", self.path("units"))
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run(cmd.output().expect("run rollout"))
    }

    /// Starts `rollout` without waiting, output piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rollout")
    }

    /// Waits until `what` is true, for at most `limit`.
    pub fn wait_for(&self, limit: Duration, what: impl Fn(&Bench) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if what(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// A finished `rollout`, with assertions that print everything when they fail.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    #[track_caller]
    pub fn status(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(!text.is_empty(), "an empty needle is in every output");
        assert!(
            self.stderr().contains(text),
            "stderr lacks {text:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.stderr(),
            self.stdout()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(!text.is_empty(), "an empty needle is in every output");
        assert!(
            self.stdout().contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Whether a process is still alive (zombies count as gone).
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Folds a run journal as SPEC'd by the store: one JSON record per line — `snapshot`
/// (the whole document), `patch` (an RFC 7386 merge patch), `append` (items added to
/// top-level arrays); a last line without its newline is torn and ignored.
pub fn fold_journal(text: &str) -> serde_json::Value {
    use serde_json::Value;
    fn merge(target: &mut Value, patch: &Value) {
        let Value::Object(patch) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = Value::Object(Default::default());
        }
        let target = target.as_object_mut().unwrap();
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
    let mut doc = Value::Null;
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for line in complete.lines() {
        let record: Value = serde_json::from_str(line).expect("journal record");
        if let Some(snapshot) = record.get("snapshot") {
            doc = snapshot.clone();
        }
        if let Some(patch) = record.get("patch") {
            merge(&mut doc, patch);
        }
        if let Some(Value::Object(append)) = record.get("append") {
            for (key, items) in append {
                let items = items.as_array().cloned().unwrap_or_default();
                match doc.get_mut(key) {
                    Some(Value::Array(list)) => list.extend(items),
                    _ => doc[key.as_str()] = Value::Array(items),
                }
            }
        }
    }
    doc
}

//! Finding the project root (the folder with `runbooks/`) and reading its optional
//! `rollout.toml`, the defaults every runbook of the project shares.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::plan::AdapterSettings;
use crate::runbook::{self, Source, VarDef};

/// A project: its root and its settings.
#[derive(Clone, Debug)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
}

/// `rollout.toml`: project-wide defaults. A runbook's own settings win.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The reliability log, resolved against the root.
    pub log: Option<PathBuf>,
    /// The default adapter of runbooks that name none.
    pub adapter: Option<String>,
    pub auto_rollback: Option<bool>,
    /// `[vars]`, as written; a runbook's `[vars]` entry of the same name wins.
    pub vars: Vec<VarDef>,
    /// `[adapters.NAME]`; a runbook's settings win field by field.
    pub adapters: BTreeMap<String, AdapterSettings>,
    /// `[backend]`: the team's shared PostgreSQL (SPEC §9).
    pub backend: BackendSettings,
}

/// `[backend]` of rollout.toml, as written. `ROLLOUT_BACKEND_URL` wins over `url`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackendSettings {
    /// `postgres://…`; may hold a password, so it is never shown.
    pub url: Option<String>,
    /// Scopes every lock and row (default: the root's folder name).
    pub project: Option<String>,
    /// The PostgreSQL schema (default `rollout`).
    pub schema: Option<String>,
}

const RUNBOOKS: &str = "runbooks";

/// A runbook's name as the command line gives it: a file stem of `runbooks/` and nothing
/// else (SPEC §4.5), since it becomes part of paths (`runbooks/NAME.toml`,
/// `.rollout/state/NAME.json`, `.rollout/locks/NAME.lock`). For clap's `value_parser`.
pub fn parse_runbook_name(name: &str) -> Result<String, String> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.contains('/') || name.contains('\\') {
        Some("it holds a path separator")
    } else if name.contains("..") {
        Some("it holds `..`")
    } else if name.contains('\0') {
        Some("it holds a NUL byte")
    } else if name.starts_with('.') {
        Some("it starts with `.`")
    } else if name.chars().any(char::is_control) {
        Some("it holds a control character")
    } else {
        None
    };
    match problem {
        None => Ok(name.to_string()),
        Some(problem) => Err(format!(
            "{problem}; a runbook is named by the stem of its file in runbooks/ \
             (`canary` for runbooks/canary.toml), never by a path"
        )),
    }
}
const SETTINGS_FILE: &str = "rollout.toml";

impl Project {
    /// The project at `dir` (`-C`), or the nearest ancestor of the working directory
    /// with a `runbooks/` folder. Exit 2 when there is none, or rollout.toml is invalid.
    pub fn discover(dir: Option<&Path>) -> Result<Project, Error> {
        let cwd = std::env::current_dir().map_err(|err| {
            Error::usage(format!("cannot read the working directory: {err}"))
                .with_hint("cd into the project, or pass -C DIR")
        })?;
        let home = std::env::var("HOME").ok();
        Project::discover_from(dir, &cwd, home.as_deref())
    }

    pub(crate) fn discover_from(
        dir: Option<&Path>,
        cwd: &Path,
        home: Option<&str>,
    ) -> Result<Project, Error> {
        let root = match dir {
            Some(dir) => {
                // `-C .` names the working directory; keep `.` out of every path shown.
                let dir: PathBuf = cwd
                    .join(dir)
                    .components()
                    .filter(|c| !matches!(c, Component::CurDir))
                    .collect();
                if !dir.is_dir() {
                    return Err(Error::usage(format!("-C {}: no such directory", dir.display()))
                        .with_hint("pass -C the project's root: the folder that holds runbooks/"));
                }
                if !dir.join(RUNBOOKS).is_dir() {
                    return Err(Error::usage(format!(
                        "no runbooks/ folder in {}",
                        dir.display()
                    ))
                    .with_hint(format!(
                        "create {} with a NAME.toml runbook (`rollout init` writes a starter), or pass -C the project's root",
                        dir.join(RUNBOOKS).display()
                    )));
                }
                dir
            }
            None => cwd
                .ancestors()
                .find(|a| a.join(RUNBOOKS).is_dir())
                .map(Path::to_path_buf)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "no runbooks/ folder in {} or any parent",
                        cwd.display()
                    ))
                    .with_hint(
                        "create runbooks/ in the project's root (`rollout init` writes a starter), or pass -C DIR",
                    )
                })?,
        };
        let settings = read_settings(&root, home)?;
        Ok(Project { root, settings })
    }

    /// `ROOT/runbooks`.
    pub fn runbooks_dir(&self) -> PathBuf {
        self.root.join(RUNBOOKS)
    }

    /// The runbooks' names: the sorted file stems of `runbooks/*.toml`.
    pub fn runbook_names(&self) -> Result<Vec<String>, Error> {
        let dir = self.runbooks_dir();
        let entries = std::fs::read_dir(&dir)
            .map_err(|err| Error::usage(format!("cannot read {}: {err}", dir.display())))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Where the lock, runs and log live: `.rollout/` or the team's database (SPEC §9),
    /// connected and migrated; exit 1 naming it when it cannot be used.
    pub fn backend(&self) -> Result<crate::store::Backend, Error> {
        crate::store::Backend::open(self)
    }

    /// `ROOT/.rollout`: run state and locks.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".rollout")
    }

    /// The reliability log: `--log` (clap folds `ROLLOUT_LOG` into it; relative to the
    /// working directory), else rollout.toml's `log`, else `ROOT/reliability.log`.
    pub fn log_path(&self, flag: Option<&Path>) -> PathBuf {
        match (flag, &self.settings.log) {
            (Some(flag), _) => std::path::absolute(flag).unwrap_or_else(|_| flag.to_path_buf()),
            (None, Some(log)) => log.clone(),
            (None, None) => self.root.join("reliability.log"),
        }
    }
}

/// rollout.toml, if the project has one.
fn read_settings(root: &Path, home: Option<&str>) -> Result<Settings, Error> {
    let path = root.join(SETTINGS_FILE);
    let text = match std::fs::read(&path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(err)) => {
            let diagnostic =
                runbook::invalid_utf8(SETTINGS_FILE, err.as_bytes(), &err.utf8_error());
            return Err(Error::usage(format!("{SETTINGS_FILE}: 1 error"))
                .with_detail(diagnostic)
                .with_hint(format!("fix {}", path.display())));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(err) => {
            return Err(Error::usage(format!(
                "cannot read {}: {err}",
                path.display()
            )));
        }
    };
    let source = Arc::new(Source::new(SETTINGS_FILE, text));
    runbook::parse_project_settings(source, root, home).map_err(|diagnostics| {
        Error::usage(format!(
            "{SETTINGS_FILE}: {}",
            runbook::count_errors(diagnostics.len())
        ))
        .with_detail(runbook::render_all(&diagnostics))
        .with_hint(format!("fix {}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("runbooks")).expect("mkdir");
        dir
    }

    #[test]
    fn finds_the_nearest_ancestor_with_runbooks() {
        let dir = project_dir();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).expect("mkdir");
        let p = Project::discover_from(None, &deep, None).expect("found");
        assert_eq!(p.root, dir.path());
        assert_eq!(p.state_dir(), dir.path().join(".rollout"));
        assert_eq!(p.log_path(None), dir.path().join("reliability.log"));
    }

    #[test]
    fn no_runbooks_anywhere_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Project::discover_from(None, dir.path(), None).unwrap_err();
        assert_eq!(err.code.code(), 2);
        assert!(err.headline.contains("or any parent"), "{}", err.headline);
        assert!(err.hint.expect("hint").contains("-C"));
    }

    #[test]
    fn dash_c_needs_an_existing_dir_with_runbooks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Project::discover_from(Some(Path::new("nope")), dir.path(), None).unwrap_err();
        assert!(
            err.headline.contains("no such directory"),
            "{}",
            err.headline
        );
        let err = Project::discover_from(Some(dir.path()), Path::new("/"), None).unwrap_err();
        assert_eq!(
            err.headline,
            format!("no runbooks/ folder in {}", dir.path().display())
        );
        assert_eq!(err.code.code(), 2);
        // -C wins over the working directory, even when the latter is a project.
        let other = project_dir();
        let p = Project::discover_from(Some(other.path()), dir.path(), None).expect("found");
        assert_eq!(p.root, other.path());
        let p = Project::discover_from(Some(Path::new(".")), other.path(), None).expect("found");
        assert_eq!(p.runbooks_dir(), other.path().join("runbooks"));
    }

    #[test]
    fn runbook_names_are_stems_never_paths() {
        for good in ["canary", "k8s-canary", "web_2", "v1.2"] {
            assert_eq!(parse_runbook_name(good).as_deref(), Ok(good));
        }
        for bad in [
            "",
            "../evil",
            "/abs/Cargo",
            "a/b",
            "..",
            ".hidden",
            "a\0b",
            "a..b",
            "x\\y",
            "a\nb",
        ] {
            let err = parse_runbook_name(bad).expect_err(bad);
            assert!(err.contains("never by a path"), "{err}");
        }
    }

    #[test]
    fn runbook_names_are_sorted_toml_stems() {
        let dir = project_dir();
        for f in ["zeta.toml", "alpha.toml", "notes.md", ".hidden.toml"] {
            std::fs::write(dir.path().join("runbooks").join(f), "").expect("write");
        }
        std::fs::create_dir(dir.path().join("runbooks/sub.toml")).expect("mkdir");
        let p = Project::discover_from(Some(dir.path()), Path::new("/"), None).expect("found");
        assert_eq!(p.runbook_names().expect("names"), vec!["alpha", "zeta"]);
    }

    #[test]
    fn log_path_precedence_flag_then_settings_then_default() {
        let dir = project_dir();
        std::fs::write(
            dir.path().join("rollout.toml"),
            "log = \"feedback/reliability.md\"\n",
        )
        .expect("write");
        let p = Project::discover_from(Some(dir.path()), Path::new("/"), None).expect("found");
        assert_eq!(p.log_path(None), dir.path().join("feedback/reliability.md"));
        assert_eq!(
            p.log_path(Some(Path::new("/tmp/x.log"))),
            Path::new("/tmp/x.log")
        );
        let relative = p.log_path(Some(Path::new("x.log")));
        assert!(relative.is_absolute() && relative.ends_with("x.log"));
    }

    #[test]
    fn an_invalid_rollout_toml_is_an_exit_2_error_with_positions() {
        let dir = project_dir();
        std::fs::write(dir.path().join("rollout.toml"), "\nlgo = \"x\"\n").expect("write");
        let err = Project::discover_from(Some(dir.path()), Path::new("/"), None).unwrap_err();
        assert_eq!(err.headline, "rollout.toml: 1 error");
        let detail = err.detail.expect("detail");
        assert!(
            detail.starts_with("rollout.toml:2:1: error: unknown key `lgo`"),
            "{detail}"
        );
    }
}

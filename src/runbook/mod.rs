//! Runbook files: loading, validation with `file:line:col` diagnostics, templating.
//! The one door from TOML to a [`Plan`]: nothing downstream sees raw TOML.

mod adapters;
mod build;
mod checks;
mod command;
mod compose_file;
mod diagnostic;
mod document;
mod environment;
mod kinds;
mod platform;
mod probe_fields;
pub mod schema;
mod settings;
mod source;
mod step;
mod step_names;
pub(crate) mod suggest;
mod table;
mod template;
mod vars;
mod watch_fields;
mod window_fields;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::plan::Plan;
use crate::project::Project;

pub use diagnostic::Diagnostic;
pub use vars::VarDef;

pub(crate) use diagnostic::{count as count_errors, render_all};
pub(crate) use settings::project as parse_project_settings;
pub(crate) use source::Source;

/// What a load needs besides the file: `--set` values and the run's built-ins.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// `--set KEY=VALUE`, in command-line order (the last of a key wins).
    pub sets: &'a [(String, String)],
    pub run_id: &'a str,
    pub user: &'a str,
    pub host: &'a str,
    pub strictness: Strictness,
}

/// How missing environment variables and secrets are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// About to run: a missing `{{env.X}}` or `{{secret.X}}` is an error.
    Run,
    /// `show`, `validate`, `list`: a missing secret shows as `***`, a missing env var as
    /// `<unset env.X>` with a warning.
    Describe,
    /// `--dry-run`: like `Describe`, but a missing secret shows as `<secret NAME>`, so
    /// a dry run works where production secrets are not set (SPEC §3).
    DryRun,
}

/// A loaded runbook and the warnings met on the way (never fatal).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub plan: Plan,
    pub warnings: Vec<String>,
    /// `--set` keys the runbook does not use, with a did-you-mean or "" (also a warning):
    /// `promote`, `resume` and `rollback` refuse them.
    pub unused_sets: Vec<(String, String)>,
}

/// Loads and validates runbook `name`. Every error is exit 2: an unknown name (with a
/// suggestion), or "runbooks/NAME.toml: N errors" with each diagnostic in the detail.
pub fn load(project: &Project, name: &str, cx: &Context<'_>) -> Result<Loaded, Error> {
    load_with_env(project, name, cx, &process_env)
}

/// Like [`load`], but reports every problem of the file as diagnostics, for `validate`.
pub fn check(project: &Project, name: &str, cx: &Context<'_>) -> Result<Loaded, Vec<Diagnostic>> {
    check_with_env(project, name, cx, &process_env)
}

/// The rendered diagnostic for a settings file that is not UTF-8, at its first bad byte.
pub(crate) fn invalid_utf8(file: &str, bytes: &[u8], err: &std::str::Utf8Error) -> String {
    Diagnostic::invalid_utf8(file, bytes, err).to_string()
}

/// The runbook's `description`, read cheaply and even when the rest is invalid.
pub fn describe(project: &Project, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(file_of(project, name)).ok()?;
    let doc = toml::de::DeTable::parse(&text).ok()?;
    let value = doc.get_ref().get("description")?;
    value.get_ref().as_str().map(str::to_string)
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

pub(crate) fn load_with_env(
    project: &Project,
    name: &str,
    cx: &Context<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Error> {
    let names = project.runbook_names()?;
    if !names.iter().any(|n| n == name) {
        return Err(unknown_runbook(project, name, &names));
    }
    check_with_env(project, name, cx, env).map_err(|diagnostics| {
        Error::usage(format!(
            "{}: {}",
            relative_file(name).display(),
            count_errors(diagnostics.len())
        ))
        .with_detail(render_all(&diagnostics))
        .with_hint(format!(
            "fix the file, then check it with `rollout validate {name}`"
        ))
    })
}

pub(crate) fn check_with_env(
    project: &Project,
    name: &str,
    cx: &Context<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let file = relative_file(name);
    let names = project.runbook_names().unwrap_or_default();
    if !names.iter().any(|n| n == name) {
        let err = unknown_runbook(project, name, &names);
        return Err(vec![
            Diagnostic::file(file, err.headline).with_help(err.detail.or(err.hint)),
        ]);
    }
    let text = match std::fs::read(project.root.join(&file)).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(err)) => {
            return Err(vec![Diagnostic::invalid_utf8(
                file,
                err.as_bytes(),
                &err.utf8_error(),
            )]);
        }
        Err(err) => {
            return Err(vec![Diagnostic::file(
                file,
                format!("cannot read it: {err}"),
            )]);
        }
    };
    document::build(project, name, Arc::new(Source::new(file, text)), cx, env)
}

/// `runbooks/NAME.toml`, relative to the project root.
fn relative_file(name: &str) -> PathBuf {
    Path::new("runbooks").join(format!("{name}.toml"))
}

fn file_of(project: &Project, name: &str) -> PathBuf {
    project.root.join(relative_file(name))
}

fn unknown_runbook(project: &Project, name: &str, names: &[String]) -> Error {
    // `runbooks/canary.toml` typed for `canary`: suggest the stem.
    let stem = Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| *s != name && names.iter().any(|n| n == s));
    let suggestion = stem
        .map(|s| format!("did you mean `{s}`?"))
        .or_else(|| suggest::did_you_mean(name, names.iter().map(String::as_str)));
    let err = Error::usage(format!(
        "no runbook `{name}` in {}",
        project.runbooks_dir().display()
    ));
    let err = match suggestion {
        Some(s) => err.with_detail(s),
        None => err,
    };
    if names.is_empty() {
        // Pointing at `rollout list` would only list nothing.
        return err.with_hint(format!(
            "the folder has no runbooks yet: `rollout init --name {name}` writes a starter"
        ));
    }
    err.with_hint("`rollout list` shows the runbooks there")
}

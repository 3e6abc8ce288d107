//! `rollout init [--adapter fly|kubectl|systemctl|exec] [--name NAME] [--force]`: writes a
//! commented starter runbook into `runbooks/` (creating it) and a `rollout.toml` when
//! the project has none, then validates what it wrote.

use std::fs;
use std::path::{Path, PathBuf};

use crate::app::Context;
use crate::cli::InitAdapter;
use crate::commands::output::print_stdout;
use crate::error::{Error, ExitCode};
use crate::project::Project;
use crate::runbook::{self, Strictness};

const FLY: &str = include_str!("fly.toml");
const KUBECTL: &str = include_str!("kubectl.toml");
const SYSTEMCTL: &str = include_str!("systemctl.toml");
const EXEC: &str = include_str!("exec.toml");

pub fn run(
    cx: &Context,
    adapter: InitAdapter,
    name: Option<&str>,
    force: bool,
) -> Result<ExitCode, Error> {
    let name = name.unwrap_or("deploy");
    check_name(name)?;
    let root = root(cx)?;
    let runbooks = root.join("runbooks");
    let file = runbooks.join(format!("{name}.toml"));
    if file.exists() && !force {
        return Err(Error::usage(format!(
            "{} already exists; init never overwrites a runbook by itself",
            shown(&root, &file)
        ))
        .with_detail("nothing was written")
        .with_hint("pass --force to overwrite it, or --name OTHER to write another runbook"));
    }
    let settings = root.join("rollout.toml");
    if cx.global.dry_run {
        let verb = if file.exists() { "overwrite" } else { "write" };
        print_stdout(&format!(
            "would {verb} {} ({} starter, {} lines)",
            shown(&root, &file),
            adapter_name(adapter),
            starter(adapter, name).lines().count()
        ))?;
        if settings.exists() {
            print_stdout("rollout.toml exists: it would be left as it is")?;
        } else {
            print_stdout("would write rollout.toml")?;
        }
        print_stdout("(dry run: nothing was written)")?;
        return Ok(ExitCode::Ok);
    }
    fs::create_dir_all(&runbooks)
        .map_err(|e| Error::failed(format!("cannot create {}: {e}", runbooks.display())))?;
    write(&file, &starter(adapter, name))?;
    print_stdout(&format!("wrote {}", shown(&root, &file)))?;

    if !settings.exists() {
        write(&settings, &settings_text(adapter))?;
        print_stdout(&format!("wrote {}", shown(&root, &settings)))?;
    }

    validate(&root, name)?;
    print_stdout(&format!("{name} validates. Next:"))?;
    print_stdout(&format!("  rollout show {name}"))?;
    print_stdout(&format!("  rollout promote {name} --dry-run"))?;
    Ok(ExitCode::Ok)
}

/// The starter runbook's text for `adapter`, named `name`.
pub fn starter(adapter: InitAdapter, name: &str) -> String {
    let template = match adapter {
        InitAdapter::Fly => FLY,
        InitAdapter::Kubectl => KUBECTL,
        InitAdapter::Systemctl => SYSTEMCTL,
        InitAdapter::Exec => EXEC,
    };
    template.replace("NAME", name)
}

fn adapter_name(adapter: InitAdapter) -> &'static str {
    match adapter {
        InitAdapter::Fly => "fly",
        InitAdapter::Kubectl => "kubectl",
        InitAdapter::Systemctl => "systemctl",
        InitAdapter::Exec => "exec",
    }
}

fn settings_text(adapter: InitAdapter) -> String {
    let adapter = adapter_name(adapter);
    format!(
        "# Project settings shared by every runbook; a runbook's own settings win.\n\
         # log = \"reliability.log\"          # the reliability log (commit it if you like)\n\
         adapter = \"{adapter}\"\n\
         \n\
         # [vars]                             # variables every runbook can use\n\
         # region = \"ams\"\n"
    )
}

/// `-C DIR`, else the project around the working directory, else the working directory
/// (init is how a project gets its runbooks/ in the first place).
fn root(cx: &Context) -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the working directory: {e}")))?;
    if let Some(dir) = &cx.global.dir {
        let dir = cwd.join(dir);
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "-C {}: no such directory",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    Ok(Project::discover(None).map(|p| p.root).unwrap_or(cwd))
}

fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("`{name}` cannot be a runbook name"))
            .with_hint("use letters, digits, `-`, `_` and `.`, e.g. --name canary"))
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    fs::write(path, text)
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))
}

fn validate(root: &Path, name: &str) -> Result<(), Error> {
    let project = Project::discover(Some(root))?;
    let cx = runbook::Context {
        sets: &[],
        run_id: "r-init",
        user: "-",
        host: "-",
        strictness: Strictness::Describe,
    };
    runbook::load(&project, name, &cx).map(|_| ())
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("canary-2").is_ok());
        assert!(check_name("../x").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn every_starter_names_itself() {
        for adapter in [
            InitAdapter::Fly,
            InitAdapter::Kubectl,
            InitAdapter::Systemctl,
            InitAdapter::Exec,
        ] {
            let text = starter(adapter, "web");
            assert!(text.contains("rollout promote web") && !text.contains("NAME"));
        }
    }
}

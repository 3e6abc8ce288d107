//! Adapters: a platform verb (deploy, rollback, …) turned into the platform CLI's own
//! command lines, run through the process runner, their results read. One file per
//! platform; this file resolves binaries and runs commands for all of them.

pub mod compose;
pub mod exec;
pub mod fly;
pub mod kubectl;
pub mod systemctl;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use crate::plan::{AdapterSettings, Redactor, Text, Verb};
use crate::process::{self, Ending, Finished, ProcessSpec};
use crate::releases::Release;
use crate::signal::Interrupt;

/// One command line: each argument keeps its masked form for display.
pub type Argv = Vec<Text>;

/// An argv from plain strings (adapter flags and names carry no secret of their own).
pub fn argv<S: AsRef<str>>(parts: &[S]) -> Argv {
    parts.iter().map(|p| Text::plain(p.as_ref())).collect()
}

/// A command line as people read it: shell-quoted, secrets masked.
pub fn display(argv: &[Text]) -> String {
    format!("$ {}", shown(argv))
}

/// Quotes an argument only where a shell would need it (`=` and `:` need not).
fn quote(arg: &str) -> std::borrow::Cow<'_, str> {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        arg.into()
    } else {
        shell_words::quote(arg)
    }
}

/// The binary of adapter `name`: `[adapters.NAME] bin`, else `ROLLOUT_<NAME>_BIN`, else
/// the plain name (looked up on PATH when run). `~/` is expanded.
pub fn binary(
    name: &str,
    settings: &AdapterSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let chosen = settings
        .bin
        .clone()
        .or_else(|| env(&env_var(name)).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| default_binary(name).to_string());
    match (chosen.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest).to_string_lossy().into_owned(),
        _ => chosen,
    }
}

/// The binary an adapter runs when nothing names one: its own name, except compose,
/// which is `docker compose` (v2); `bin = "docker-compose"` picks v1.
fn default_binary(adapter: &str) -> &str {
    match adapter {
        "compose" => "docker",
        other => other,
    }
}

/// `ROLLOUT_FLY_BIN`.
pub fn env_var(name: &str) -> String {
    format!("ROLLOUT_{}_BIN", name.to_uppercase())
}

/// This process's environment, the usual `env` lookup for adapters.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Checks that `program` can be run, before anything is: a path must be a file, a name
/// must be on PATH. The error names the adapter's binary and both ways to set it.
pub fn locate(adapter: &str, program: &str) -> Result<PathBuf, Failure> {
    let how = format!(
        "install it, or set its path with `[adapters.{adapter}] bin = \"/path/to/{adapter}\"` or {}",
        env_var(adapter)
    );
    let found = if program.contains('/') {
        Some(PathBuf::from(program)).filter(|p| p.is_file())
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
    };
    found.ok_or_else(|| {
        let where_ = if program.contains('/') {
            "does not exist"
        } else {
            "was not found on PATH"
        };
        Failure::failed(format!(
            "the {adapter} adapter's binary `{program}` {where_}; {how}"
        ))
    })
}

/// How an adapter's work failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Failed { message: String, tail: Vec<String> },
    TimedOut { tail: Vec<String> },
    Interrupted,
}

impl Failure {
    /// A failure with this message and no output tail.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure::Failed {
            message: message.into(),
            tail: Vec::new(),
        }
    }
}

/// What a platform step changed, for release tracking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing to record (auth, restart, scale).
    None,
    /// This release is now current.
    Deployed(String),
    /// The target was returned to this release.
    RolledBack(String),
    /// Traffic or the flag is at this percentage.
    Promoted(u8),
}

/// One platform step to carry out.
pub struct Call<'a> {
    pub verb: &'a Verb,
    pub target: &'a Text,
    /// `rollback --to` (or the step's `to`).
    pub to: Option<String>,
    /// What release tracking knows of the target.
    pub known: Release,
    /// The stable release this run pinned for the target (SPEC §4.1): what a rollback
    /// returns to when no `to` is given. `None`: not pinned by this run.
    pub stable: Option<crate::releases::Stable>,
}

/// What a target runs now, as read from the platform: the release a person names and
/// the platform's own number for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub release: String,
    pub revision: Option<String>,
}

/// Runs an adapter's command lines: in the project root, streamed, redacted, killed
/// (with their process group) when the step's time is up.
pub struct Runner<'a> {
    pub root: &'a Path,
    pub redactor: &'a Redactor,
    pub interrupt: &'a Interrupt,
    pub deadline: Instant,
    pub on_line: &'a (dyn Fn(&str) + Send + Sync),
    /// Reports what the adapter saw of the platform (SPEC §4.4), e.g. fly's
    /// `version=` of the release a deploy made.
    pub observe: &'a (dyn Fn(&str, &str) + Send + Sync),
}

impl Runner<'_> {
    /// Time left before the step's deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Runs `argv`; anything but exit 0 is a failure naming the command.
    pub async fn run(&self, argv: &[Text]) -> Result<Finished, Failure> {
        let finished = self.spawn(argv).await?;
        match finished.ending {
            Ending::Exited(0) => Ok(finished),
            Ending::Exited(code) => Err(Failure::Failed {
                message: format!("`{}` exited with {code}", shown(argv)),
                tail: finished.tail,
            }),
            Ending::Signaled(signal) => Err(Failure::Failed {
                message: format!("`{}` was killed by signal {signal}", shown(argv)),
                tail: finished.tail,
            }),
            Ending::TimedOut => Err(Failure::TimedOut {
                tail: finished.tail,
            }),
            Ending::Interrupted => Err(Failure::Interrupted),
        }
    }

    /// Runs `argv` and hands back how it ended, whatever the exit code.
    pub async fn spawn(&self, argv: &[Text]) -> Result<Finished, Failure> {
        let spec = ProcessSpec {
            argv: argv.iter().map(|a| a.value().to_string()).collect(),
            env: Vec::new(),
            cwd: self.root.to_path_buf(),
            timeout: self.remaining(),
        };
        let mut on_line = |line: &str| (self.on_line)(line);
        process::run(&spec, self.redactor, self.interrupt, &mut on_line)
            .await
            .map_err(|e| Failure::failed(e.to_string()))
    }
}

/// The command as a one-line, masked string for messages.
fn shown(argv: &[Text]) -> String {
    let words: Vec<_> = argv.iter().map(|a| quote(a.shown())).collect();
    words.join(" ")
}

/// The adapter a step names, ready to describe or run its verbs.
pub enum Adapter {
    Fly(fly::Fly),
    Kubectl(kubectl::Kubectl),
    Systemctl(systemctl::Systemctl),
    Compose(compose::Compose),
    /// With its `current_cmd`, if it has one.
    Exec(Option<Vec<String>>),
}

impl Adapter {
    /// `name` with its settings; `env` resolves `ROLLOUT_<NAME>_BIN` and `HOME`.
    pub fn new(
        name: &str,
        settings: &AdapterSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Adapter {
        let bin = binary(name, settings, env);
        match name {
            "fly" => Adapter::Fly(fly::Fly { bin }),
            "kubectl" => Adapter::Kubectl(kubectl::Kubectl {
                bin,
                context: settings.context.clone(),
                namespace: settings.namespace.clone(),
            }),
            "systemctl" => Adapter::Systemctl(systemctl::Systemctl::new(bin, settings, env)),
            "compose" => Adapter::Compose(compose::Compose::new(bin, settings)),
            _ => Adapter::Exec(settings.current_cmd.clone()),
        }
    }

    /// The lines `show` and `--dry-run` print: every command, in order.
    pub fn describe(&self, verb: &Verb, target: &Text, timeout: Duration) -> Vec<String> {
        match self {
            Adapter::Fly(fly) => fly.describe(verb, target),
            Adapter::Kubectl(k) => k.describe(verb, target, timeout),
            Adapter::Systemctl(s) => s.describe(verb, target),
            Adapter::Compose(c) => c.describe(verb, target),
            Adapter::Exec(_) => exec::describe(verb),
        }
    }

    /// What `target` runs now, read from the platform (SPEC adapters table, "read
    /// stable"); `Ok(None)` when it runs nothing rollout can name (a first deploy).
    pub async fn read_stable(
        &self,
        target: &Text,
        runner: &Runner<'_>,
    ) -> Result<Option<Running>, Failure> {
        match self {
            Adapter::Fly(fly) => {
                locate("fly", &fly.bin)?;
                fly.read_stable(target, runner).await
            }
            Adapter::Kubectl(k) => {
                locate("kubectl", &k.bin)?;
                k.read_stable(target, runner).await
            }
            Adapter::Systemctl(s) => Ok(s.read_stable()),
            Adapter::Compose(c) => {
                locate("compose", &c.bin)?;
                if c.is_v1() {
                    // v1 reads the engine through the `docker` CLI beside it.
                    locate("compose", "docker")?;
                }
                c.read_stable(target, runner).await
            }
            Adapter::Exec(Some(current_cmd)) => {
                exec::read_current(current_cmd, target, runner).await
            }
            Adapter::Exec(None) => Ok(None),
        }
    }

    /// Carries out `call`.
    pub async fn execute(&self, call: &Call<'_>, runner: &Runner<'_>) -> Result<Change, Failure> {
        match self {
            Adapter::Fly(fly) => {
                locate("fly", &fly.bin)?;
                fly.execute(call, runner).await
            }
            Adapter::Kubectl(k) => {
                locate("kubectl", &k.bin)?;
                k.execute(call, runner).await
            }
            Adapter::Systemctl(s) => {
                locate("systemctl", &s.bin)?;
                s.execute(call, runner).await
            }
            Adapter::Compose(c) => {
                locate("compose", &c.bin)?;
                c.execute(call, runner).await
            }
            Adapter::Exec(_) => Err(exec::no_default(call.verb)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_setting_wins_over_the_env_var_which_wins_over_path() {
        let env = env_of(&[("ROLLOUT_FLY_BIN", "~/bin/fly"), ("HOME", "/home/op")]);
        let configured = AdapterSettings {
            bin: Some("/opt/fly".into()),
            ..Default::default()
        };
        assert_eq!(binary("fly", &configured, &env), "/opt/fly");
        assert_eq!(
            binary("fly", &AdapterSettings::default(), &env),
            "/home/op/bin/fly"
        );
        assert_eq!(
            binary("kubectl", &AdapterSettings::default(), &env),
            "kubectl"
        );
    }

    #[test]
    fn display_quotes_only_what_a_shell_needs() {
        let a = argv(&[
            "fly",
            "deploy",
            "--image",
            "reg/app:1",
            "FLAG=5",
            "<the previous>",
        ]);
        assert_eq!(
            display(&a),
            "$ fly deploy --image reg/app:1 FLAG=5 '<the previous>'"
        );
    }

    #[test]
    fn a_missing_binary_names_itself_and_the_ways_to_set_it() {
        let err = locate("fly", "/nonexistent/fly").unwrap_err();
        let Failure::Failed { message, .. } = err else {
            panic!("not a failure")
        };
        assert!(
            message.contains("`/nonexistent/fly` does not exist"),
            "{message}"
        );
        assert!(message.contains("[adapters.fly] bin"), "{message}");
        assert!(message.contains("ROLLOUT_FLY_BIN"), "{message}");
        assert!(locate("sh", "sh").is_ok());
    }
}

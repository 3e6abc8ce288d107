//! The command line, as clap sees it. Nothing here does work: `app.rs` turns these
//! raw values into a validated context and calls the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::{ArgValueCompleter, Shell};

pub use crate::commands::demo::args::{DemoAction, DemoPort};
use crate::completion::{runbook_completer, step_completer};

/// Deployment runbooks you can trust: plan, run, pause, resume, roll back, and a
/// reliability log of all of it.
#[derive(Debug, Parser)]
#[command(
    name = "rollout",
    version,
    propagate_version = true,
    arg_required_else_help = true,
    after_help = "Examples:\n  rollout list\n  rollout show canary\n  rollout promote canary\n  rollout rollback --emergency --reason \"5xx spike\"\n  rollout log --since 24h"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Project root (default: the nearest ancestor with a `runbooks/` folder)
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Reliability log file (default: rollout.toml's `log`, else reliability.log)
    #[arg(long, global = true, value_name = "FILE", env = "ROLLOUT_LOG")]
    pub log: Option<PathBuf>,

    /// Set a runbook variable; wins over [vars] (repeatable)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,

    /// Answer yes to every confirmation
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Who approved this run (for `approval` steps when not on a terminal); ROLE=NAME
    /// answers the approvals of that role (repeatable)
    #[arg(long, global = true, value_name = "NAME")]
    pub approved_by: Vec<String>,

    /// Print what would run and change nothing
    #[arg(short = 'n', long, global = true)]
    pub dry_run: bool,

    /// Machine-readable output: one JSON document, or one JSON event per line for runs
    #[arg(long, global = true)]
    pub json: bool,

    /// Only errors and the final result
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Stream every line of child output
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    Junit,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the runbooks with their descriptions and the state of each
    #[command(after_help = "Example:\n  rollout list --json")]
    List,

    /// Show the plan: every step with its resolved command lines and waits
    #[command(after_help = "Example:\n  rollout show canary --set image=registry/app:1.4.2")]
    Show {
        /// Runbook name (file stem under runbooks/)
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: String,
    },

    /// Check runbooks without running anything (all of them by default)
    #[command(after_help = "Example:\n  rollout validate canary k8s-canary")]
    Validate {
        /// Runbook names; all runbooks when none is given
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbooks: Vec<String>,
    },

    /// Run only the [[preflight]] checks, concurrently
    #[command(
        after_help = "Example:\n  rollout preflight canary --format junit --report preflight.xml"
    )]
    Preflight {
        /// Runbook name (file stem under runbooks/)
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: String,
        /// How many checks run at once (default: all of them)
        #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Report format printed on stdout
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Also write the report (in --format) to this file
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },

    /// Start a runbook, or continue it past its pause, bake or window
    #[command(
        after_help = "Examples:\n  rollout promote canary\n  rollout promote canary --full --yes\n  rollout promote flag-rollout --yes          # from cron: checks a bake, goes on when it may\n  rollout promote flag-rollout --yes --wait   # hold the process through bakes and windows"
    )]
    Promote {
        /// Runbook name (file stem under runbooks/)
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: String,
        /// Go through every pause without stopping (never through a bake or a closed window)
        #[arg(long)]
        full: bool,
        /// Stay in the foreground through bakes and closed windows instead of parking
        #[arg(long)]
        wait: bool,
    },

    /// Continue a failed or interrupted run from the step that failed
    #[command(
        after_help = "Examples:\n  rollout resume canary\n  rollout resume canary --from \"deploy production\""
    )]
    Resume {
        /// Runbook name (file stem under runbooks/)
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: String,
        /// Start from this step instead of the failed one
        #[arg(long, value_name = "STEP", add = ArgValueCompleter::new(step_completer))]
        from: Option<String>,
    },

    /// Run [[rollback]]; the runbook defaults to the one most recently run
    #[command(
        after_help = "Examples:\n  rollout rollback canary --reason \"error rate 4%\"\n  rollout rollback --emergency"
    )]
    Rollback {
        /// Runbook name; default: the one most recently run in this project
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: Option<String>,
        /// No preflight, no prompts, no gates; take the lock; escalate through [[emergency]]
        #[arg(long)]
        emergency: bool,
        /// Why, for the log
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Return to this release (an image, a revision, a release directory) instead of the stable one
        #[arg(long, value_name = "RELEASE")]
        to: Option<String>,
        /// Also roll back targets the run did not change (each to the release before the one it runs)
        #[arg(long)]
        all: bool,
    },

    /// End a paused, parked, failed or interrupted run without running any step
    #[command(
        after_help = "Examples:\n  rollout abandon canary --reason \"typo in --set\"\n  rollout abandon canary --force --reason \"fixed by hand\""
    )]
    Abandon {
        /// Runbook name (file stem under runbooks/)
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: String,
        /// Why, for the log
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// End it even though it changed something (left as it is; nothing is rolled back)
        #[arg(long)]
        force: bool,
    },

    /// Where each run stands: step, status, lock holder
    #[command(
        after_help = "Examples:\n  rollout status canary --json\n  rollout status canary --watch"
    )]
    Status {
        /// Runbook name; default: every runbook of the project
        #[arg(add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
        runbook: Option<String>,
        /// Follow the run live from another terminal (its state and the log) until it ends
        #[arg(long, requires = "runbook")]
        watch: bool,
    },

    /// Past runs, newest first: who, when, outcome, duration, releases
    #[command(
        after_help = "Examples:\n  rollout history canary --limit 10\n  rollout history --json"
    )]
    History {
        /// Only the runs of this runbook (default: every runbook)
        #[arg(add = ArgValueCompleter::new(runbook_completer))]
        runbook: Option<String>,
        /// At most N runs
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },

    /// Read the reliability log, or append a note to it
    #[command(
        after_help = "Examples:\n  rollout log --since 24h --runbook canary\n  rollout log --event \"STEP FAILED\" --json\n  rollout log note \"paging db team about replica lag\""
    )]
    Log(LogArgs),

    /// Print the completion script for a shell
    #[command(
        after_help = "Example:\n  rollout completions bash > ~/.local/share/bash-completion/completions/rollout"
    )]
    Completions {
        /// The shell to write the script for
        #[arg(value_enum)]
        shell: Shell,
    },

    /// Print the JSON Schema of the runbook format, for editors (Taplo, Even Better TOML)
    #[command(after_help = "Example:\n  rollout schema > schema/runbook.json")]
    Schema,

    /// Write a commented starter runbook into runbooks/ (and rollout.toml if absent)
    #[command(
        after_help = "Examples:\n  rollout init\n  rollout init --adapter kubectl --name canary\n  rollout init --adapter exec --name release\n  rollout init --adapter fly --force\n  rollout init --dry-run"
    )]
    Init {
        /// The platform the starter runbook deploys to
        #[arg(long, value_enum, default_value_t = InitAdapter::Fly)]
        adapter: InitAdapter,
        /// The runbook's name (runbooks/NAME.toml); default: deploy
        #[arg(long, value_name = "NAME", value_parser = crate::project::parse_runbook_name)]
        name: Option<String>,
        /// Overwrite a runbook that already exists
        #[arg(long)]
        force: bool,
    },

    /// The demo's throwaway local HTTP service (used by runbooks/demo.toml)
    #[command(
        hide = true,
        name = "demo-service",
        after_help = "Examples:\n  rollout demo-service deploy --port 47080 --release 2.0.0\n  rollout demo-service probe --port 47080 --expect-release 2.0.0 --successes 3\n  rollout demo-service stop"
    )]
    DemoService {
        #[command(subcommand)]
        action: DemoAction,
    },
}

/// The platforms `rollout init` writes a starter for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitAdapter {
    Fly,
    Kubectl,
    Systemctl,
    /// Your own scripts: every platform step gives its `cmd`
    Exec,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogArgs {
    #[command(subcommand)]
    pub action: Option<LogAction>,

    /// Only entries newer than this (e.g. 30m, 24h, 7d)
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// Only entries of this runbook
    #[arg(long, value_name = "RUNBOOK", add = ArgValueCompleter::new(runbook_completer), value_parser = crate::project::parse_runbook_name)]
    pub runbook: Option<String>,

    /// Only entries of this event (e.g. "STEP FAILED"; case-insensitive)
    #[arg(long, value_name = "EVENT")]
    pub event: Option<String>,

    /// Only the last N entries
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,

    /// Only the entries of this run (its id, as `rollout history` shows it)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// Keep printing entries as they are appended
    #[arg(long, short = 'f')]
    pub follow: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LogAction {
    /// Append a note to the reliability log
    #[command(
        after_help = "Example:\n  rollout log note --runbook canary \"paging the db team about replica lag\""
    )]
    Note {
        /// The note's text (words are joined with spaces)
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        /// Attach the note to a runbook
        #[arg(long, value_name = "RUNBOOK", value_parser = crate::project::parse_runbook_name)]
        runbook: Option<String>,
    },
}

fn parse_set(raw: &str) -> Result<(String, String), String> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{raw}` has an empty KEY"));
    }
    Ok((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn set_keeps_everything_after_the_first_equals_sign() {
        assert_eq!(
            parse_set("msg=a = b; c").unwrap(),
            ("msg".to_string(), "a = b; c".to_string())
        );
        assert!(parse_set("novalue").is_err());
        assert!(parse_set("=x").is_err());
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["rollout", "promote", "canary", "--yes", "-C", "/p"]).unwrap();
        assert!(cli.global.yes);
        assert_eq!(cli.global.dir, Some(PathBuf::from("/p")));
    }

    #[test]
    fn log_note_is_a_subcommand_of_log() {
        let cli = Cli::try_parse_from(["rollout", "log", "note", "hello", "world"]).unwrap();
        match cli.command {
            Command::Log(LogArgs {
                action: Some(LogAction::Note { text, .. }),
                ..
            }) => assert_eq!(text, vec!["hello", "world"]),
            other => panic!("parsed as {other:?}"),
        }
    }
}

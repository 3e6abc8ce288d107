//! From argv to exit code: parse, build the invocation's context, run the command on a
//! tokio runtime, print an error once.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode as ProcessExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::commands;
use crate::error::{Error, ExitCode};
use crate::identity;
use crate::project::Project;
use crate::ui::{Output, Verbosity};

/// Runs `rollout` with these arguments and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ProcessExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ProcessExitCode::from(if err.use_stderr() {
                ExitCode::Usage.code()
            } else {
                0
            });
        }
    };
    let context = Context::new(cli.global.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            report(&Error::failed(format!(
                "cannot start the async runtime: {err}"
            )));
            return ProcessExitCode::from(ExitCode::Failed.code());
        }
    };
    let result = runtime.block_on(dispatch(&context, cli.command));
    // Children are already reaped; do not wait for stray blocking tasks (a prompt).
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(code) => ProcessExitCode::from(code.code()),
        Err(err) => {
            report(&err);
            ProcessExitCode::from(err.code.code())
        }
    }
}

async fn dispatch(cx: &Context, command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::List => commands::list::run(cx),
        Command::Show { runbook } => commands::show::run(cx, &runbook),
        Command::Validate { runbooks } => commands::validate::run(cx, &runbooks),
        Command::Preflight {
            runbook,
            jobs,
            format,
            report,
        } => {
            commands::preflight::run(
                cx,
                &runbook,
                jobs.map(usize::from),
                format,
                report.as_deref(),
            )
            .await
        }
        Command::Promote {
            runbook,
            full,
            wait,
        } => commands::promote::run(cx, &runbook, full, wait).await,
        Command::Abandon {
            runbook,
            reason,
            force,
        } => commands::abandon::run(cx, &runbook, reason.as_deref(), force),
        Command::Resume { runbook, from } => {
            commands::resume::run(cx, &runbook, from.as_deref()).await
        }
        Command::Rollback {
            runbook,
            emergency,
            reason,
            to,
            all,
        } => {
            commands::rollback::run(
                cx,
                runbook.as_deref(),
                emergency,
                reason.as_deref(),
                to.as_deref(),
                all,
            )
            .await
        }
        Command::Status {
            runbook: Some(runbook),
            watch: true,
        } => commands::status_watch::run(cx, &runbook).await,
        Command::Status { runbook, .. } => commands::status::run(cx, runbook.as_deref()),
        Command::History { runbook, limit } => {
            commands::history::run(cx, runbook.as_deref(), limit)
        }
        Command::Log(args) => commands::log::run(cx, &args),
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Schema => commands::schema::run(),
        Command::Init {
            adapter,
            name,
            force,
        } => commands::init::run(cx, adapter, name.as_deref(), force),
        Command::DemoService { action } => commands::demo::run(&action).await,
    }
}

/// Prints an error the way SPEC §5 and STYLE ask: `error:` (red on a terminal), the
/// headline, the detail indented, and the next step.
fn report(err: &Error) {
    let colored = std::io::stderr().is_terminal() && console::colors_enabled_stderr();
    let label = if colored {
        console::style("error:").red().bold().to_string()
    } else {
        "error:".to_string()
    };
    // The one place errors are printed: a tool's words inside them (escape sequences,
    // control characters) are cleaned here, on a terminal too.
    let clean = crate::ui::clean_text;
    crate::ui::stderr_line(format_args!("{label} {}", clean(&err.headline)));
    if let Some(detail) = &err.detail {
        for line in detail.lines() {
            crate::ui::stderr_line(format_args!("  {}", clean(line)));
        }
    }
    if let Some(hint) = &err.hint {
        crate::ui::stderr_line(format_args!("hint: {}", clean(hint)));
    }
}

/// What every command may need: the global flags, who is running it, and (on demand)
/// the project and the output setup.
pub struct Context {
    pub global: GlobalArgs,
    pub user: String,
    pub host: String,
}

impl Context {
    pub fn new(global: GlobalArgs) -> Context {
        Context {
            global,
            user: identity::user(),
            host: identity::host(),
        }
    }

    /// The project this invocation works on (SPEC §1).
    pub fn project(&self) -> Result<Project, Error> {
        Project::discover(self.global.dir.as_deref())
    }

    /// The reliability log: `--log`, `ROLLOUT_LOG`, rollout.toml, or the default.
    pub fn log_path(&self, project: &Project) -> PathBuf {
        project.log_path(self.global.log.as_deref())
    }

    /// `--quiet` or `--verbose`, else normal.
    pub fn verbosity(&self) -> Verbosity {
        if self.global.quiet {
            Verbosity::Quiet
        } else if self.global.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }

    /// How this invocation renders runs; decides colour for the process.
    pub fn output(&self, project: &Project) -> Output {
        Output::detect(
            self.global.json,
            self.verbosity(),
            self.global.color,
            self.log_path(project),
        )
    }

    /// The command line as the lock shows it to whoever is kept waiting.
    pub fn command_line(&self, words: &[&str]) -> String {
        let mut line = vec!["rollout"];
        line.extend_from_slice(words);
        line.join(" ")
    }
}

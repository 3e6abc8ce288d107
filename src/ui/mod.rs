//! Three renderers of one event stream: `terminal` (live spinners and bars on stderr),
//! `plain` (timestamped lines, for CI and pipes) and `json` (one event per line on
//! stdout). They are told events; they drive nothing.

mod cause;
mod format;
mod json;
mod message;
mod plain;
pub mod plan_view;
mod repeats;
pub mod run_view;
mod summary;
mod terminal;

use std::io::IsTerminal;
use std::path::PathBuf;

pub use format::{clean_line, clean_text, human_duration};
pub use json::JsonRenderer;
pub use plain::PlainRenderer;
pub use terminal::TerminalRenderer;

use crate::cli::ColorChoice;
use crate::event::Reporter;

/// Writes one line to stderr, ignoring a stderr that is closed or full: `eprintln!`
/// would panic (exit 101) there, and an emergency rollback must go on, and every
/// command keep its exit code, even when `2>&1 | head` has gone away.
///
/// Off a terminal, escape sequences and control characters are dropped (a tool's words
/// inside an error must not reach a CI log raw, SPEC §5).
pub fn stderr_line(line: impl std::fmt::Display) {
    use std::io::{IsTerminal, Write};
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = writeln!(stderr.lock(), "{line}");
    } else {
        let _ = writeln!(stderr.lock(), "{}", clean_text(&line.to_string()));
    }
}

/// The live display of this process, if one is drawing: a prompt must suspend it.
static LIVE: std::sync::Mutex<Option<indicatif::MultiProgress>> = std::sync::Mutex::new(None);

fn register_live(multi: &indicatif::MultiProgress) {
    if let Ok(mut live) = LIVE.lock() {
        *live = Some(multi.clone());
    }
}

/// Runs `f` (a prompt on the terminal) with the live display cleared and held still,
/// redrawn after; without one, just runs `f`.
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let multi = LIVE.lock().ok().and_then(|live| live.clone());
    match multi {
        Some(multi) => multi.suspend(f),
        None => f(),
    }
}

/// The run view as the terminal draws it: coloured, fitted to stderr's width, the
/// spinner turned to `tick`.
pub fn draw_view(view: &run_view::RunView, tick: usize) -> String {
    terminal::draw(view, tick)
}

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// How output is shaped for this invocation.
#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub verbosity: Verbosity,
    /// stderr is a terminal that can draw (not `TERM=dumb`).
    pub terminal: bool,
    pub log_path: PathBuf,
}

impl Output {
    /// Decides terminal vs plain and sets up colour once, for the whole process.
    pub fn detect(
        json: bool,
        verbosity: Verbosity,
        color: ColorChoice,
        log_path: PathBuf,
    ) -> Output {
        let dumb = std::env::var("TERM").map(|t| t == "dumb").unwrap_or(false);
        let terminal = std::io::stderr().is_terminal() && !dumb;
        let colors = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // console already honours NO_COLOR, CLICOLOR and CLICOLOR_FORCE here.
            ColorChoice::Auto => console::colors_enabled_stderr() && terminal,
        };
        console::set_colors_enabled(colors && !json);
        console::set_colors_enabled_stderr(colors);
        Output {
            json,
            verbosity,
            terminal,
            log_path,
        }
    }

    /// The renderer for a run of `plan`: on a terminal, the live view of the whole run;
    /// `before` is what each target ran before (from the run state).
    pub fn run_reporter(
        &self,
        plan: &crate::plan::Plan,
        before: Option<&crate::releases::Releases>,
    ) -> Box<dyn Reporter> {
        if self.terminal && !self.json {
            let view = run_view::RunView::new(plan, before);
            return Box::new(
                TerminalRenderer::new(self.verbosity, self.log_path.clone()).with_view(view),
            );
        }
        self.reporter()
    }

    /// The renderer for runs.
    pub fn reporter(&self) -> Box<dyn Reporter> {
        if self.json {
            Box::new(JsonRenderer::stdout())
        } else if self.terminal {
            Box::new(TerminalRenderer::new(self.verbosity, self.log_path.clone()))
        } else {
            Box::new(PlainRenderer::stderr(self.verbosity, self.log_path.clone()))
        }
    }
}

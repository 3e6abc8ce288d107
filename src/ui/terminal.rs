//! On a terminal: a live spinner per running step with its elapsed time and the child's
//! latest output line, a bar for waits, `✓`/`✗` lines when steps end, and a summary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Verbosity;
use super::cause::Causes;
use super::format::{clean_line, human_duration};
use super::message::{Mark, Message, message, position};
use super::repeats::Repeats;
use super::run_view::RunView;
use super::summary::Tally;
use crate::event::{Event, EventKind, Reporter};

pub struct TerminalRenderer {
    verbosity: Verbosity,
    log_path: PathBuf,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, Running>>,
    tally: Mutex<Tally>,
    /// Causes said once and repeated output lines counted, under `bars`' lock.
    said: Mutex<(Causes, Repeats)>,
    /// The whole run, redrawn live below the lines already said (when the plan is known).
    live: Option<Live>,
}

/// The live view of the whole run: one redrawn block, refreshed by its own thread while
/// a step runs (spinner, elapsed time), and by every event.
struct Live {
    board: ProgressBar,
    view: Arc<Mutex<RunView>>,
    stop: Arc<AtomicBool>,
}

impl Live {
    fn start(multi: &MultiProgress, view: RunView) -> Live {
        let board = multi.add(ProgressBar::new_spinner());
        board.set_style(
            ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let view = Arc::new(Mutex::new(view));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, v, s) = (board.clone(), view.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut tick = 0usize;
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(120));
                tick += 1;
                let lines = match v.lock() {
                    Ok(view) if view.busy() => draw(&view, tick),
                    _ => continue,
                };
                if !s.load(Ordering::Relaxed) {
                    b.set_message(lines);
                }
            }
        });
        Live { board, view, stop }
    }

    fn observe(&self, event: &Event) {
        let lines = match self.view.lock() {
            Ok(mut view) => {
                view.observe(event);
                draw(&view, 0)
            }
            Err(_) => return,
        };
        self.board.set_message(lines);
    }

    /// The final picture, as lines that stay on screen.
    fn finish(&self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.board.finish_and_clear();
        match self.view.lock() {
            Ok(view) => draw(&view, 0).lines().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The view, coloured, fitted to the terminal's width.
pub(super) fn draw(view: &RunView, tick: usize) -> String {
    let (height, width) = console::Term::stderr().size();
    // A few lines stay free for the lines said above the view.
    let height = (height as usize).saturating_sub(3).max(8);
    view.render_within(
        chrono::Utc::now(),
        width.saturating_sub(1) as usize,
        height,
        tick,
    )
    .into_iter()
    .map(|line| colour(&line))
    .collect::<Vec<_>>()
    .join("\n")
}

fn colour(line: &str) -> String {
    let trimmed = line.trim_start();
    if trimmed.starts_with('✓') {
        line.replacen('✓', &style("✓").green().bold().to_string(), 1)
    } else if trimmed.starts_with('✗') {
        style(line).red().to_string()
    } else if trimmed.starts_with('·') {
        style(line).dim().to_string()
    } else if !line.starts_with(' ') {
        style(line).bold().to_string()
    } else {
        line.to_string()
    }
}

/// A step on screen.
struct Running {
    bar: ProgressBar,
    /// Switched from a spinner to a bar once the step reports progress.
    waiting: bool,
}

impl TerminalRenderer {
    pub fn new(verbosity: Verbosity, log_path: PathBuf) -> TerminalRenderer {
        TerminalRenderer {
            verbosity,
            log_path,
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            tally: Mutex::new(Tally::default()),
            said: Mutex::new((Causes::default(), Repeats::default())),
            live: None,
        }
    }

    /// A renderer that draws the whole run live (every step, stage, releases) from
    /// `view`, above which failures, warnings and notes are said as lines.
    pub fn with_view(mut self, view: RunView) -> TerminalRenderer {
        if self.verbosity != Verbosity::Quiet {
            super::register_live(&self.multi);
            self.live = Some(Live::start(&self.multi, view));
        }
        self
    }

    fn spinner_style() -> ProgressStyle {
        ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {elapsed:>4} {wide_msg:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "·"])
    }

    fn bar_style() -> ProgressStyle {
        ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {bar:30.cyan/blue} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("━╸ ")
    }

    fn print(&self, text: String) {
        // println on a MultiProgress draws above the bars; when hidden it prints nothing,
        // but this renderer only exists when stderr is a terminal.
        let _ = self.multi.println(text);
    }

    /// The message for `event`, its cause said once.
    fn said_once(&self, event: &Event) -> Option<Message> {
        let message = message(event, self.verbosity)?;
        Some(match self.said.lock() {
            Ok(mut said) => said.0.said_once(event, message),
            Err(_) => message,
        })
    }

    /// Verbose output lines, alike ones counted instead of repeated.
    fn print_output(&self, step: &str, line: Option<&str>) {
        let Ok(mut said) = self.said.lock() else {
            return;
        };
        let lines = match line {
            Some(line) => said.1.push(step, line),
            None => said.1.finish(step),
        };
        for line in lines {
            self.print(format!("    {}", style(format!("| {line}")).dim()));
        }
    }

    fn print_message(&self, message: &Message) {
        let symbol = match message.mark {
            Mark::Ok => style("✓").green().bold(),
            Mark::Fail => style("✗").red().bold(),
            Mark::Warn => style("!").yellow().bold(),
            Mark::Pause => style("⏸").cyan().bold(),
            Mark::Info => style("•").dim(),
        };
        let text = match message.mark {
            Mark::Fail => style(message.text.clone()).red().to_string(),
            Mark::Warn => style(message.text.clone()).yellow().to_string(),
            _ => message.text.clone(),
        };
        self.print(format!("{symbol} {text}"));
        for line in &message.detail {
            self.print(format!("    {}", style(line).dim()));
        }
    }

    /// After the line that ends a run or a rollback: the summary, dimmed (under
    /// `--quiet`, only where the log is).
    fn print_summary(&self, event: &Event) {
        let lines = match self.tally.lock() {
            Ok(mut tally) => tally.observe(event, &self.log_path),
            Err(_) => return,
        };
        let quiet = self.verbosity == Verbosity::Quiet;
        for line in lines {
            if !quiet || line.starts_with("log:") {
                self.print(format!("    {}", style(line).dim()));
            }
        }
    }

    fn key(section: impl std::fmt::Display, step: &str) -> String {
        format!("{section}/{step}")
    }
}

impl TerminalRenderer {
    /// With the live view: the view draws steps; lines are said only for what it cannot
    /// show (a failure's cause and output, warnings, notes, the end).
    fn report_live(&self, live: &Live, event: &Event) {
        live.observe(event);
        match &event.kind {
            EventKind::StepOutput {
                section,
                step,
                line,
            } if self.verbosity == Verbosity::Verbose => {
                self.print_output(&Self::key(section, step), Some(&clean_line(line)));
            }
            EventKind::StepFinished {
                section,
                step,
                status,
                ..
            } => {
                if self.verbosity == Verbosity::Verbose {
                    self.print_output(&Self::key(section, step), None);
                }
                if *status != crate::event::StepStatus::Ok
                    && let Some(message) = self.said_once(event)
                {
                    self.print_message(&message);
                }
            }
            EventKind::Finished { .. } => {
                for line in live.finish() {
                    self.print(line);
                }
            }
            EventKind::StepStarted { .. }
            | EventKind::StepOutput { .. }
            | EventKind::StepProgress { .. }
            | EventKind::StepHeartbeat { .. }
            | EventKind::RunStarted { .. } => {}
            _ => {
                if let Some(message) = self.said_once(event) {
                    self.print_message(&message);
                }
            }
        }
        self.print_summary(event);
    }
}

impl Reporter for TerminalRenderer {
    fn report(&self, event: &Event) {
        if let Some(live) = &self.live {
            return self.report_live(live, event);
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match &event.kind {
            EventKind::StepStarted {
                section,
                step,
                index,
                total,
                detail,
                ..
            } => {
                if self.verbosity == Verbosity::Quiet {
                    return;
                }
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(Self::spinner_style());
                bar.set_prefix(format!("{} {step}", position(*section, *index, *total)));
                bar.set_message(clean_line(detail));
                bar.enable_steady_tick(Duration::from_millis(100));
                bars.insert(
                    Self::key(section, step),
                    Running {
                        bar,
                        waiting: false,
                    },
                );
            }
            EventKind::StepOutput {
                section,
                step,
                line,
            } => {
                let line = clean_line(line);
                if self.verbosity == Verbosity::Verbose {
                    self.print_output(&Self::key(section, step), Some(&line));
                }
                // A wait's bar carries its own line (time left, the last probe): output
                // written over it would make the two alternate.
                if let Some(running) = bars.get(&Self::key(section, step))
                    && !running.waiting
                    && !line.trim().is_empty()
                {
                    running.bar.set_message(line);
                }
            }
            EventKind::StepProgress {
                section,
                step,
                elapsed_ms,
                total_ms,
                message,
                tally,
            } => {
                if let Some(running) = bars.get_mut(&Self::key(section, step)) {
                    if !running.waiting {
                        running.waiting = true;
                        running.bar.set_style(Self::bar_style());
                    }
                    // A counted step (health successes, metrics samples) fills by count;
                    // a wait fills by time.
                    let (position, length) = match tally {
                        Some(t) => (u64::from(t.done), u64::from(t.needed)),
                        None => (*elapsed_ms, *total_ms),
                    };
                    running.bar.set_length(length);
                    running.bar.set_position(position);
                    running.bar.set_message(format!(
                        "{} / {}  {}",
                        human_duration(Duration::from_millis(*elapsed_ms)),
                        human_duration(Duration::from_millis(*total_ms)),
                        clean_line(message)
                    ));
                }
            }
            EventKind::StepFinished { section, step, .. } => {
                if let Some(running) = bars.remove(&Self::key(section, step)) {
                    running.bar.finish_and_clear();
                    self.multi.remove(&running.bar);
                }
                if self.verbosity == Verbosity::Verbose {
                    self.print_output(&Self::key(section, step), None);
                }
                if let Some(message) = self.said_once(event) {
                    self.print_message(&message);
                }
            }
            _ => {
                if let Some(message) = self.said_once(event) {
                    self.print_message(&message);
                }
            }
        }
        drop(bars);
        self.print_summary(event);
    }
}

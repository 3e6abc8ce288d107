//! `rollout log`: read the reliability log with filters, follow it, or append a note.

use std::io::Write;
use std::path::Path;

use chrono::Utc;

use crate::app::Context;
use crate::cli::{LogAction, LogArgs};
use crate::error::{Error, ExitCode};
use crate::log::{self, Entry, Filter, LogWriter};
use crate::project::Project;
use crate::runbook::suggest;

pub fn run(cx: &Context, args: &LogArgs) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let backend = project.backend()?;
    if let Some(LogAction::Note { text, runbook }) = &args.action {
        let path = cx.log_path(&project);
        if let Some(runbook) = runbook {
            known_runbook(&project, runbook, &path)?;
        }
        let entry = Entry::new("NOTE", runbook.as_deref())
            .field("message", text.join(" "))
            .field("user", &cx.user)
            .field("host", &cx.host);
        if cx.global.dry_run {
            crate::commands::output::print_stdout(&format!(
                "would append to {}:\n{}\n(dry run: nothing was written)",
                path.display(),
                entry.format()
            ))?;
            return Ok(ExitCode::Ok);
        }
        LogWriter::new(path.clone())
            .with_mirror(backend.log_mirror())
            .append(&entry).map_err(|e| {
            Error::failed(format!("cannot append to the reliability log {}", path.display()))
                .with_detail(e.to_string())
                .with_hint("check the file's permissions and free space, or point --log / ROLLOUT_LOG elsewhere")
        })?;
        return Ok(ExitCode::Ok);
    }

    // With a team backend the log is its rows (every machine's lines), copied into a
    // temporary file that the same reader reads; `--follow` keeps copying new rows.
    // `--log FILE` (or ROLLOUT_LOG) still reads that file: this machine's own lines.
    let rows = match (backend.log(), &cx.global.log) {
        (Some(rows), None) => Some(rows_file(rows, args.follow)?),
        _ => None,
    };
    let path = match &rows {
        Some(file) => file.path().to_path_buf(),
        None => cx.log_path(&project),
    };
    let since = match &args.since {
        Some(text) => Some(
            log::parse_since(text, Utc::now())
                .map_err(|e| Error::usage(format!("--since {text}: {e}")))?,
        ),
        None => None,
    };
    if let Some(event) = &args.event {
        let wanted = log::normalize_event(event);
        if !log::EVENTS.contains(&wanted.as_str()) {
            return Err(Error::usage(format!(
                "--event {event}: not an event of the reliability log"
            ))
            .with_hint(format!("one of: {}", log::EVENTS.join(", "))));
        }
    }
    if let Some(runbook) = &args.runbook {
        known_runbook(&project, runbook, &path)?;
    }
    let filter = Filter {
        since,
        runbook: args.runbook.clone(),
        event: args.event.clone(),
        tail: args.tail,
        run: args.run.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = if args.follow {
        log::follow(&path, &filter, cx.global.json, &mut out, &|| false)
    } else {
        print(&path, &filter, cx.global.json, &mut out)
    };
    match result {
        Ok(()) => Ok(ExitCode::Ok),
        // `rollout log | head` closing the pipe early is success, not a crash.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::Ok),
        Err(e) => Err(Error::failed(format!(
            "cannot read the reliability log {}",
            path.display()
        ))
        .with_detail(e.to_string())),
    }
}

/// The backend's log rows in a temporary file; with `follow`, new rows are appended to
/// it every half second for as long as the command runs.
fn rows_file(
    rows: crate::store::postgres::PgLog,
    follow: bool,
) -> Result<tempfile::NamedTempFile, Error> {
    let cannot =
        |e: String| Error::failed(format!("cannot read the log of {}", rows.name())).with_detail(e);
    let file = tempfile::NamedTempFile::new().map_err(|e| cannot(e.to_string()))?;
    let mut out = file.reopen().map_err(|e| cannot(e.to_string()))?;
    let mut last = rows.export(0, &mut out).map_err(cannot)?;
    if follow {
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                match rows.export(last, &mut out) {
                    Ok(id) => last = id,
                    Err(why) => {
                        crate::ui::stderr_line(format_args!(
                            "warning: stopped reading the log of {}: {why}",
                            rows.name()
                        ));
                        return;
                    }
                }
            }
        });
    }
    Ok(file)
}

/// `--runbook R` names a runbook of the project or one the log has lines of (a runbook
/// since deleted keeps its history); anything else is a typo that would show nothing.
fn known_runbook(project: &Project, runbook: &str, path: &Path) -> Result<(), Error> {
    let names = project.runbook_names().unwrap_or_default();
    if names.iter().any(|n| n == runbook) {
        return Ok(());
    }
    let in_log = log::read(
        path,
        &Filter {
            runbook: Some(runbook.to_string()),
            tail: Some(1),
            ..Filter::default()
        },
    )
    .map(|lines| !lines.is_empty())
    .unwrap_or(false);
    if in_log {
        return Ok(());
    }
    let err = Error::usage(format!(
        "--runbook {runbook}: no runbook of that name in {}, and the log has no line of one",
        project.runbooks_dir().display()
    ));
    let err = match suggest::did_you_mean(runbook, names.iter().map(String::as_str)) {
        Some(s) => err.with_detail(s),
        None => err,
    };
    Err(err.with_hint("`rollout list` shows the runbooks"))
}

fn print(
    path: &std::path::Path,
    filter: &Filter,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // Streamed: a line is written as soon as it is read, so memory stays bounded.
    if json {
        // The same text as one pretty-printed array: each element indented by two.
        let mut first = true;
        log::each(path, filter, &mut |line| {
            let text = serde_json::to_string_pretty(&log::to_json(&line))
                .map_err(std::io::Error::other)?;
            out.write_all(if first { b"[\n" } else { b",\n" })?;
            first = false;
            for (i, part) in text.lines().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                write!(out, "  {part}")?;
            }
            Ok(())
        })?;
        writeln!(out, "{}", if first { "[]" } else { "\n]" })?;
    } else {
        log::each(path, filter, &mut |line| log::render_human(&line, out))?;
    }
    out.flush()
}

//! `rollout log`: read the reliability log with filters, follow it, or append a note.

use std::io::Write;

use chrono::Utc;

use crate::app::Context;
use crate::cli::{LogAction, LogArgs};
use crate::error::{Error, ExitCode};
use crate::log::{self, Entry, Filter, LogWriter};

pub fn run(cx: &Context, args: &LogArgs) -> Result<ExitCode, Error> {
    let project = cx.project()?;
    let path = cx.log_path(&project);
    if let Some(LogAction::Note { text, runbook }) = &args.action {
        let entry = Entry::new("NOTE", runbook.as_deref())
            .field("message", text.join(" "))
            .field("user", &cx.user)
            .field("host", &cx.host);
        LogWriter::new(path.clone()).append(&entry).map_err(|e| {
            Error::failed(format!("cannot append to the reliability log {}", path.display()))
                .with_detail(e.to_string())
                .with_hint("check the file's permissions and free space, or point --log / ROLLOUT_LOG elsewhere")
        })?;
        return Ok(ExitCode::Ok);
    }

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

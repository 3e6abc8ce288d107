//! Reading the reliability log for `rollout log`: filters and the human and JSON forms
//! of a line. `--follow` is in [`follow`](mod@super::follow).
//!
//! A hand-written line has no time of its own; for `--since` it goes by the time of the
//! entry before it (and is left out by `--since` when no entry precedes it).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::line::{LogLine, format_ts, normalize_event, parse_line};
use super::logfmt;

/// What `rollout log` shows. `None` everywhere shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only lines at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries of this runbook (exact); hand-written lines never match.
    pub runbook: Option<String>,
    /// Only this event; case-insensitive, `_` or `-` for spaces. `NOTE` includes
    /// hand-written lines.
    pub event: Option<String>,
    /// Only the last N lines that pass the other filters.
    pub tail: Option<usize>,
    /// Only entries of this run (their `run=` field); hand-written lines never match.
    pub run: Option<String>,
}

impl Filter {
    /// Whether `line` passes every filter but `tail`. `ts` is the time a hand-written
    /// line goes by: that of the entry before it, if any.
    pub fn matches(&self, line: &LogLine, ts: Option<DateTime<Utc>>) -> bool {
        let (ts, event, runbook) = match line {
            LogLine::Entry(entry) => (
                Some(entry.ts),
                entry.event.as_str(),
                entry.runbook.as_deref(),
            ),
            LogLine::Handwritten(_) => (ts, "NOTE", None),
        };
        if let Some(since) = self.since
            && ts.is_none_or(|ts| ts < since)
        {
            return false;
        }
        if let Some(wanted) = &self.runbook
            && runbook != Some(wanted.as_str())
        {
            return false;
        }
        if let Some(wanted) = &self.run
            && !matches!(line, LogLine::Entry(entry) if entry.get("run") == Some(wanted.as_str()))
        {
            return false;
        }
        if let Some(wanted) = &self.event
            && normalize_event(wanted) != normalize_event(event)
        {
            return false;
        }
        true
    }
}

/// Reads `--since`: a duration back from `now` (`30m`, `24h`, `7d`, `1h 30m`), an RFC 3339
/// time, or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(ago) = humantime::parse_duration(text) {
        return chrono::Duration::from_std(ago)
            .ok()
            .and_then(|ago| now.checked_sub_signed(ago))
            .ok_or_else(|| format!("`{text}` reaches back further than a date can"));
    }
    if let Ok(ts) = DateTime::parse_from_rfc3339(text) {
        return Ok(ts.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    Err(format!(
        "`{text}` is neither a duration nor a time; use a duration back from now \
         (30m, 24h, 7d), an RFC 3339 time (2026-11-22T18:30:00Z) or a date \
         (2026-11-22, midnight UTC)"
    ))
}

/// The lines of the log that pass `filter`, in file order. A missing file is an empty
/// log; bytes that are not UTF-8 are replaced rather than refused. Reads with bounded
/// memory (see [`each`](super::stream::each)) but keeps what it returns.
pub fn read(path: &Path, filter: &Filter) -> io::Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    super::stream::each(path, filter, &mut |line| {
        lines.push(line);
        Ok(())
    })?;
    Ok(lines)
}

/// The length of the log without a last entry that has no line end: rollout writes a
/// line whole or not at all, so such a line was cut short (a full disk, an older version,
/// another tool) and its fields cannot be trusted. It is left out, saying so on stderr. A
/// hand-written last line without a newline is kept. `last_block` is the end of the file
/// (up to `len` bytes).
pub(super) fn whole_length(last_block: &[u8], len: u64, path: &Path) -> u64 {
    if last_block.last().is_none_or(|&b| b == b'\n') {
        return len;
    }
    let Some(start) = last_block
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .or(
            // A last line longer than the block: it cannot be judged, so it is kept.
            (last_block.len() as u64 == len).then_some(0),
        )
    else {
        return len;
    };
    let last = &last_block[start..];
    let looks_like_entry =
        last.first() == Some(&b'[') && last.get(1).is_some_and(u8::is_ascii_digit);
    if !looks_like_entry {
        return len;
    }
    crate::ui::stderr_line(format_args!(
        "note: the last line of {} has no line end (a write cut short); it is not shown",
        path.display()
    ));
    len - (last_block.len() - start) as u64
}

/// Writes one line for people, with its newline.
///
/// An entry is written as [`Entry::format`](super::Entry::format) gives it, which is how
/// `rollout` wrote it (re-encoding also keeps a hand-edited entry from smuggling terminal
/// escapes). A hand-written line has no time of its own and is shown as a note whose
/// text is the line, logfmt-quoted:
///
/// ```text
/// [hand-written] NOTE - - text="restarted the db by hand"
/// ```
pub fn render_human(line: &LogLine, out: &mut dyn Write) -> io::Result<()> {
    match line {
        LogLine::Entry(entry) => writeln!(out, "{}", entry.format()),
        LogLine::Handwritten(text) => {
            writeln!(
                out,
                "[hand-written] NOTE - - text={}",
                logfmt::encode_value(text)
            )
        }
    }
}

/// The JSON form of a line. Entries and hand-written lines have the same keys:
/// `{"ts","event","runbook","fields":{…},"handwritten"}`; a hand-written line has
/// `ts` and `runbook` null, `event` `"NOTE"`, `handwritten` true, and its `text`.
/// When a key repeats in an entry, `fields` keeps the first, as [`Entry::get`](super::Entry::get) does.
pub fn to_json(line: &LogLine) -> Value {
    match line {
        LogLine::Entry(entry) => {
            let mut fields = Map::new();
            for (key, value) in &entry.fields {
                fields
                    .entry(key.clone())
                    .or_insert_with(|| Value::String(value.clone()));
            }
            json!({
                "ts": format_ts(entry.ts),
                "event": entry.event,
                "runbook": entry.runbook,
                "fields": fields,
                "handwritten": false,
            })
        }
        LogLine::Handwritten(text) => json!({
            "ts": null,
            "event": "NOTE",
            "runbook": null,
            "fields": {},
            "handwritten": true,
            "text": text,
        }),
    }
}

pub(super) fn apply_tail(lines: &mut Vec<LogLine>, tail: Option<usize>) {
    if let Some(n) = tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
}

/// Parses lines in file order, remembering the last entry's time for the hand-written
/// lines after it.
pub(super) struct Scanner<'a> {
    filter: &'a Filter,
    pub(super) last_ts: Option<DateTime<Utc>>,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(filter: &'a Filter) -> Self {
        Scanner {
            filter,
            last_ts: None,
        }
    }

    /// The line, if it is not blank and passes the filter (all but `tail`).
    pub(super) fn push(&mut self, raw: &[u8]) -> Option<LogLine> {
        let text = String::from_utf8_lossy(raw);
        if text.trim().is_empty() {
            return None;
        }
        let line = parse_line(&text);
        if let LogLine::Entry(entry) = &line {
            self.last_ts = Some(entry.ts);
        }
        self.filter.matches(&line, self.last_ts).then_some(line)
    }
}

/// The identity of a file, to notice when the path points at a new one.
pub(super) type FileId = (u64, u64);

/// What one read of the log found.
pub(super) struct Chunk {
    pub(super) bytes: Vec<u8>,
    pub(super) id: FileId,
    /// The offset just after `bytes`.
    pub(super) end: u64,
    /// The file was replaced or shrank, so `bytes` start from its beginning.
    pub(super) restarted: bool,
}

/// Reads the log from `offset` on, or from the start if it is no longer the file `known`
/// or has shrunk below `offset`. `None` when there is no file.
pub(super) fn read_from(
    path: &Path,
    known: Option<FileId>,
    offset: u64,
) -> io::Result<Option<Chunk>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    // A shared lock waits out any append in progress, so we never see half a line. Some
    // filesystems cannot lock; reading without it is still better than not reading.
    let _ = file.lock_shared();
    let meta = file.metadata()?;
    let id = (meta.dev(), meta.ino());
    let restarted = known.is_some_and(|known| known != id) || meta.len() < offset;
    let start = if restarted || known.is_none() {
        0
    } else {
        offset
    };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some(Chunk {
        end: start + bytes.len() as u64,
        bytes,
        id,
        restarted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Entry;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 18, minute, 0).unwrap()
    }

    fn entry(minute: u32, event: &str, runbook: Option<&str>) -> String {
        Entry::new(event, runbook)
            .at(at(minute))
            .field("n", minute)
            .format()
    }

    /// A log with a heading before any entry, entries of two runbooks, a note without a
    /// runbook, blank lines and a hand-written line at minute 20.
    fn sample() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reliability.md");
        let text = [
            "# Reliability log".to_string(),
            "".into(),
            entry(0, "RUN STARTED", Some("canary")),
            entry(10, "STEP FAILED", Some("canary")),
            entry(20, "STEP OK", Some("web")),
            "   ".into(),
            "restarted the db by hand".into(),
            entry(30, "NOTE", None),
            entry(40, "ROLLBACK COMPLETE", Some("canary")),
        ]
        .join("\n");
        std::fs::write(&path, text + "\n").unwrap();
        (dir, path)
    }

    /// Each line as a short label: the `n` field of an entry, or the hand-written text.
    fn labels(lines: &[LogLine]) -> Vec<String> {
        let label = |line: &LogLine| match line {
            LogLine::Entry(e) => e.get("n").unwrap_or("?").to_string(),
            LogLine::Handwritten(text) => text.clone(),
        };
        lines.iter().map(label).collect()
    }

    fn read_with(filter: Filter) -> Vec<String> {
        let (_dir, path) = sample();
        labels(&read(&path, &filter).unwrap())
    }

    #[test]
    fn no_filter_reads_every_non_blank_line() {
        assert_eq!(
            read_with(Filter::default()),
            [
                "# Reliability log",
                "0",
                "10",
                "20",
                "restarted the db by hand",
                "30",
                "40"
            ]
        );
    }

    #[test]
    fn a_torn_last_entry_is_left_out_and_a_hand_written_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reliability.log");
        let whole = entry(1, "STEP OK", Some("canary"));
        std::fs::write(
            &path,
            format!("{whole}\n[2026-11-22T18:02:00.000Z] STEP OK - can"),
        )
        .unwrap();
        let lines = read(&path, &Filter::default()).unwrap();
        assert_eq!(lines.len(), 1);
        std::fs::write(&path, format!("{whole}\nrestarted db by hand")).unwrap();
        let lines = read(&path, &Filter::default()).unwrap();
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn a_missing_file_is_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read(&dir.path().join("nope.log"), &Filter::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn since_gives_hand_written_lines_the_time_of_the_entry_before() {
        let since = |m| Filter {
            since: Some(at(m)),
            ..Filter::default()
        };
        assert_eq!(
            read_with(since(20)),
            ["20", "restarted the db by hand", "30", "40"]
        );
        assert_eq!(read_with(since(21)), ["30", "40"]);
        // The heading precedes every entry, so any --since leaves it out.
        assert_eq!(read_with(since(0))[0], "0");
    }

    #[test]
    fn runbook_matches_exactly_and_never_a_hand_written_line() {
        let runbook = |r: &str| Filter {
            runbook: Some(r.into()),
            ..Filter::default()
        };
        assert_eq!(read_with(runbook("canary")), ["0", "10", "40"]);
        assert_eq!(read_with(runbook("Canary")), Vec::<String>::new());
    }

    #[test]
    fn event_is_loose_about_case_and_separators_and_note_takes_hand_written_lines() {
        let event = |e: &str| Filter {
            event: Some(e.into()),
            ..Filter::default()
        };
        assert_eq!(read_with(event("step_failed")), ["10"]);
        assert_eq!(read_with(event("Rollback-Complete")), ["40"]);
        assert_eq!(read_with(event("STEP OK")), ["20"]);
        assert_eq!(
            read_with(event("note")),
            ["# Reliability log", "restarted the db by hand", "30"]
        );
    }

    #[test]
    fn tail_applies_after_the_other_filters() {
        let filter = Filter {
            runbook: Some("canary".into()),
            tail: Some(2),
            ..Filter::default()
        };
        assert_eq!(read_with(filter), ["10", "40"]);
        assert_eq!(
            read_with(Filter {
                tail: Some(0),
                ..Filter::default()
            }),
            Vec::<String>::new()
        );
        assert_eq!(
            read_with(Filter {
                tail: Some(99),
                ..Filter::default()
            })
            .len(),
            7
        );
    }

    #[test]
    fn parse_since_takes_durations_times_and_dates() {
        let now = at(30);
        assert_eq!(parse_since("30m", now), Ok(at(0)));
        assert_eq!(
            parse_since(" 24h ", now),
            Ok(now - chrono::Duration::hours(24))
        );
        assert_eq!(parse_since("7d", now), Ok(now - chrono::Duration::days(7)));
        assert_eq!(parse_since("2026-11-22T19:10:00+01:00", now), Ok(at(10)));
        assert_eq!(
            parse_since("2026-11-22", now),
            Ok(Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap())
        );
        let err = parse_since("yesterday", now).unwrap_err();
        assert!(err.contains("`yesterday`") && err.contains("24h") && err.contains("2026-11-22"));
        assert!(parse_since("", now).is_err());
    }

    #[test]
    fn human_form_keeps_entries_and_marks_hand_written_lines() {
        let line = entry(0, "STEP OK", Some("canary"));
        let mut out = Vec::new();
        render_human(&parse_line(&line), &mut out).unwrap();
        render_human(&LogLine::Handwritten("fixed \"it\"\u{1b}".into()), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{line}\n[hand-written] NOTE - - text=\"fixed \\\"it\\\"\\u001b\"\n")
        );
    }

    #[test]
    fn json_form_has_the_same_keys_for_both_kinds() {
        let line = Entry::new("STEP OK", Some("canary"))
            .at(at(0))
            .field("a", "1")
            .field("a", "2");
        assert_eq!(
            to_json(&LogLine::Entry(line)),
            json!({"ts": "2026-11-22T18:00:00.000Z", "event": "STEP OK", "runbook": "canary",
                   "fields": {"a": "1"}, "handwritten": false})
        );
        assert_eq!(
            to_json(&LogLine::Handwritten("hi".into())),
            json!({"ts": null, "event": "NOTE", "runbook": null, "fields": {},
                   "handwritten": true, "text": "hi"})
        );
    }
}

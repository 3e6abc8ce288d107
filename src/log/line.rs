//! One line of the reliability log (SPEC §6): formatting an entry and reading one back.
//!
//! ```text
//! [2026-11-22T18:30:00.123Z] STEP OK - canary step="deploy staging" run=r-1 duration=41.2s
//! ```
//!
//! Any line that is not exactly this shape was written by a person and is kept as such.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

use super::logfmt;

/// Every event `rollout` writes (SPEC §6).
pub const EVENTS: &[&str] = &[
    "RUN STARTED",
    "PREFLIGHT OK",
    "PREFLIGHT FAILED",
    "STEP OK",
    "STEP FAILED",
    "PAUSED",
    "RUN COMPLETE",
    "RUN FAILED",
    "INTERRUPTED",
    "ROLLBACK INITIATED",
    "ROLLBACK COMPLETE",
    "ROLLBACK FAILED",
    "EMERGENCY ROLLBACK INITIATED",
    "EMERGENCY ROLLBACK COMPLETE",
    "EMERGENCY ROLLBACK FAILED",
    "NOTE",
    "BAKING",
    "WAITING",
    "RUN ABANDONED",
];

/// One entry: when, what, which runbook, and logfmt fields in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Always whole milliseconds, which is what the file keeps.
    pub ts: DateTime<Utc>,
    /// In capitals, e.g. `STEP OK`.
    pub event: String,
    pub runbook: Option<String>,
    pub fields: Vec<(String, String)>,
}

impl Entry {
    /// An entry stamped now. The event is normalised to what the file can hold: capitals,
    /// digits, `_` and single spaces.
    pub fn new(event: &str, runbook: Option<&str>) -> Entry {
        Entry {
            ts: Utc::now().trunc_subsecs(3),
            event: normalize_event(event),
            runbook: runbook.map(str::to_string),
            fields: Vec::new(),
        }
    }

    /// The same entry stamped at `ts` (cut to milliseconds), e.g. an engine event's time.
    pub fn at(mut self, ts: DateTime<Utc>) -> Entry {
        self.ts = ts.trunc_subsecs(3);
        self
    }

    /// Adds a field. A key that logfmt cannot hold bare has its offending characters
    /// replaced by `_`.
    pub fn field(mut self, key: &str, value: impl ToString) -> Entry {
        self.fields
            .push((logfmt::encode_key(key).into_owned(), value.to_string()));
        self
    }

    /// The first field named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The line as it goes into the file, without the trailing newline. Always one line:
    /// newlines in the runbook or values are escaped.
    pub fn format(&self) -> String {
        let mut line = format!(
            "[{}] {} - ",
            format_ts(self.ts),
            normalize_event(&self.event)
        );
        match &self.runbook {
            // A runbook literally named `-` is quoted so it cannot read back as "none".
            Some(runbook) if runbook == "-" => line.push_str("\"-\""),
            Some(runbook) => line.push_str(&logfmt::encode_value(runbook)),
            None => line.push('-'),
        }
        let pairs = logfmt::encode(&self.fields);
        if !pairs.is_empty() {
            line.push(' ');
            line.push_str(&pairs);
        }
        line
    }

    /// Reads a line written by [`Entry::format`]; `None` when the line has any other shape.
    /// A trailing `\r` (the file was edited on Windows) is ignored.
    pub fn parse(line: &str) -> Option<Entry> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (ts, rest) = line.strip_prefix('[')?.split_once("] ")?;
        let ts = DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc);
        let (event, rest) = rest.split_once(" - ")?;
        // SPEC §6 lists every event: anything else was written by a person, even when it
        // looks like an entry, and is shown as a note.
        if !EVENTS.contains(&event) {
            return None;
        }
        let (runbook, used) = logfmt::take_value(rest).ok()?;
        let runbook = match (runbook.as_str(), rest.starts_with('"')) {
            ("-", false) => None,
            ("", false) => return None,
            _ => Some(runbook),
        };
        let rest = &rest[used..];
        if !rest.is_empty() && !rest.starts_with(' ') {
            return None;
        }
        let fields = logfmt::parse(rest).ok()?;
        Some(Entry {
            ts,
            event: event.to_string(),
            runbook,
            fields,
        })
    }
}

/// A line of the log file: an entry, or something a person wrote by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    Entry(Entry),
    /// The line's text, without its newline (or trailing `\r`).
    Handwritten(String),
}

/// Reads one line of the file (without its `\n`). Blank lines come back as
/// `Handwritten` with blank text; readers skip them.
pub fn parse_line(line: &str) -> LogLine {
    match Entry::parse(line) {
        Some(entry) => LogLine::Entry(entry),
        None => LogLine::Handwritten(line.strip_suffix('\r').unwrap_or(line).to_string()),
    }
}

/// The timestamp as the file writes it: RFC 3339, UTC, milliseconds, `Z`.
pub fn format_ts(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `step_failed`, `Step-Failed` and ` step  failed ` all become `STEP FAILED`; any other
/// character becomes `_`. Used for writing and for `--event` matching alike.
pub fn normalize_event(event: &str) -> String {
    let upper: String = event
        .chars()
        .map(|c| match c {
            '_' | '-' => ' ',
            c if c.is_whitespace() => ' ',
            c if c.is_ascii_alphanumeric() => c.to_ascii_uppercase(),
            _ => '_',
        })
        .collect();
    upper.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ts() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 18, 30, 0).unwrap() + chrono::Duration::milliseconds(123)
    }

    #[test]
    fn formats_the_spec_example_exactly() {
        let entry = Entry::new("STEP OK", Some("canary"))
            .at(ts())
            .field("step", "deploy staging")
            .field("run", "r-20261122-183000-7f3a")
            .field("duration", "41.2s")
            .field("user", "alice")
            .field("host", "ops-1");
        assert_eq!(
            entry.format(),
            "[2026-11-22T18:30:00.123Z] STEP OK - canary step=\"deploy staging\" \
             run=r-20261122-183000-7f3a duration=41.2s user=alice host=ops-1"
        );
    }

    #[test]
    fn no_runbook_is_a_dash_and_no_fields_leave_no_trailing_space() {
        assert_eq!(
            Entry::new("NOTE", None).at(ts()).format(),
            "[2026-11-22T18:30:00.123Z] NOTE - -"
        );
        assert_eq!(
            Entry::new("PAUSED", Some("canary")).at(ts()).format(),
            "[2026-11-22T18:30:00.123Z] PAUSED - canary"
        );
    }

    #[test]
    fn new_stamps_whole_milliseconds_and_normalises_the_event() {
        let entry = Entry::new("step_failed", None);
        assert_eq!(entry.event, "STEP FAILED");
        assert_eq!(entry.ts.timestamp_subsec_nanos() % 1_000_000, 0);
        assert_eq!(
            normalize_event(" Emergency-Rollback  failed\n"),
            "EMERGENCY ROLLBACK FAILED"
        );
        assert_eq!(normalize_event("a.b"), "A_B");
    }

    #[test]
    fn newlines_anywhere_stay_on_one_line() {
        let entry = Entry::new("NOTE", Some("two\nlines"))
            .at(ts())
            .field("text", "first\nsecond\r\nthird")
            .field("bad key\n", "x");
        let line = entry.format();
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        assert_eq!(Entry::parse(&line).as_ref(), Some(&entry));
        assert_eq!(entry.get("bad_key_"), Some("x"));
    }

    #[test]
    fn parse_of_format_is_the_same_entry() {
        let entries = [
            Entry::new("RUN STARTED", Some("canary")).field("mode", "promote"),
            Entry::new("NOTE", None).field("text", "said \"hi\" = \\o/"),
            Entry::new("NOTE", Some("-")),
            Entry::new("NOTE", Some("my runbook")).field("empty", ""),
            Entry::new("ROLLBACK FAILED", Some("web")).field("reason", "exit 1\nstderr: boom"),
        ];
        for entry in entries {
            let entry = entry.at(ts());
            assert_eq!(
                Entry::parse(&entry.format()),
                Some(entry.clone()),
                "{}",
                entry.format()
            );
        }
    }

    #[test]
    fn parse_accepts_other_offsets_and_a_windows_line_end() {
        let entry = Entry::parse("[2026-11-22T19:30:00.123+01:00] STEP OK - canary step=x\r")
            .expect("an entry");
        assert_eq!(entry.ts, ts());
        assert_eq!(entry.get("step"), Some("x"));
        assert_eq!(entry.get("nope"), None);
    }

    #[test]
    fn prose_headings_and_blank_lines_are_handwritten() {
        for line in [
            "",
            "   ",
            "\t",
            "# Reliability log",
            "## 2026-11-22 incident",
            "- restarted the db by hand",
            "Restarted the database by hand, all good now.",
            "[2026-11-22T18:30:00.123Z] restarted by hand - alice",
            "[2026-11-22T18:30:00.123Z] STEP OK - canary step=\"unterminated",
            "[2026-11-22T18:30:00.123Z] STEP OK - canary just words",
            "[yesterday] STEP OK - canary",
            "[2026-11-22T18:30:00.123Z] STEP OK",
            "[2026-11-22T18:30:00.123Z] STEP  OK - canary",
            " [2026-11-22T18:30:00.123Z] STEP OK - canary",
        ] {
            assert_eq!(
                parse_line(line),
                LogLine::Handwritten(line.to_string()),
                "{line:?}"
            );
        }
        assert_eq!(parse_line("hello\r"), LogLine::Handwritten("hello".into()));
    }

    #[test]
    fn an_entry_with_an_event_rollout_never_writes_is_a_hand_written_line() {
        let line = "[2026-11-22T18:30:00.123Z] DEPLOYED BY HAND - web percent=25";
        assert_eq!(parse_line(line), LogLine::Handwritten(line.to_string()));
    }

    #[test]
    fn every_spec_event_is_already_normal() {
        for event in EVENTS {
            assert_eq!(normalize_event(event), *event);
        }
    }
}

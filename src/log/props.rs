//! Property tests of the log-line format (issue 11's fuzzing): any line parses without
//! a panic, and every entry rollout writes parses back to itself. `PROPTEST_CASES`
//! sets how many cases run (256 by default; RELIABILITY.md has a longer run).

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::line::{EVENTS, Entry, LogLine, parse_line};

/// Field keys as rollout writes them: logfmt identifiers.
fn key() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,12}"
}

proptest! {
    #[test]
    fn any_line_parses_without_panic(line in any::<String>()) {
        let _ = parse_line(&line);
    }

    #[test]
    fn entry_shaped_garbage_parses_without_panic(
        event in prop::sample::select(EVENTS),
        rest in "[ -~\\t\"\\\\=]{0,200}",
    ) {
        let _ = parse_line(&format!("[2026-11-22T18:30:00.123Z] {event} - {rest}"));
    }

    #[test]
    fn a_written_entry_parses_back_to_itself(
        millis in 0i64..4_102_444_800_000,
        event in prop::sample::select(EVENTS),
        runbook in prop::option::of("[a-zA-Z0-9_.-]{1,20}"),
        fields in prop::collection::vec((key(), any::<String>()), 0..6),
    ) {
        let mut entry = Entry::new(event, runbook.as_deref())
            .at(Utc.timestamp_millis_opt(millis).unwrap());
        for (k, v) in &fields {
            entry = entry.field(k, v);
        }
        let line = entry.format();
        prop_assert!(!line.contains('\n'), "one line: {line:?}");
        prop_assert_eq!(parse_line(&line), LogLine::Entry(entry));
    }
}

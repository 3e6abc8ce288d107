//! Reading the log without holding it: forwards line by line (`--since`, filters), or
//! backwards from the end in blocks (`--tail N`), so memory stays bounded by what is
//! shown, not by the size of the file, and `--tail 20` of a million lines reads a few
//! blocks.
//!
//! The shared lock is held only to learn the length: every byte before it belongs to a
//! whole line (each append is one write under the exclusive lock), and a writer is never
//! kept waiting on a reader whose output goes to a slow pager.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::line::{LogLine, format_ts};
use super::view::{Filter, Scanner, whole_length};

/// How much is read at a time when going backwards.
const BLOCK: usize = 64 * 1024;

/// Calls `visit` with every line that passes `filter`, in file order; with `tail`, only
/// the last N of them. A missing file is an empty log.
pub fn each(
    path: &Path,
    filter: &Filter,
    visit: &mut dyn FnMut(LogLine) -> io::Result<()>,
) -> io::Result<()> {
    let Some((file, len)) = open_whole(path)? else {
        return Ok(());
    };
    match filter.tail {
        Some(n) => {
            for line in tail(&file, len, filter, n)? {
                visit(line)?;
            }
            Ok(())
        }
        None => forwards(file, len, filter, visit),
    }
}

/// The file and the length of its whole lines, learnt under a shared lock that waits out
/// an append in progress. Some filesystems cannot lock; reading without it is still better
/// than not reading.
fn open_whole(path: &Path) -> io::Result<Option<(File, u64)>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    let locked = file.lock_shared().is_ok();
    let len = file.metadata()?.len();
    if locked {
        let _ = file.unlock();
    }
    let block_len = len.min(BLOCK as u64);
    let mut last_block = vec![0; block_len as usize];
    file.read_exact_at(&mut last_block, len - block_len)?;
    let len = whole_length(&last_block, len, path);
    Ok(Some((file, len)))
}

fn forwards(
    mut file: File,
    len: u64,
    filter: &Filter,
    visit: &mut dyn FnMut(LogLine) -> io::Result<()>,
) -> io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(BLOCK, file.take(len));
    let mut scanner = Scanner::new(filter);
    let since = filter.since.map(SinceKey::new);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            return Ok(());
        }
        let raw = raw.strip_suffix(b"\n").unwrap_or(&raw);
        if let Some(since) = &since
            && since.is_entry_before(raw)
        {
            // Skipped without parsing; a hand-written line after it goes by its time,
            // which is before `since` too.
            scanner.last_ts = None;
            continue;
        }
        if let Some(line) = scanner.push(raw) {
            visit(line)?;
        }
    }
}

/// `--since` as the file writes times, so that most lines before it are skipped by
/// comparing 24 bytes (RFC 3339 in one fixed form sorts as text) instead of parsing them.
struct SinceKey(String);

impl SinceKey {
    fn new(since: DateTime<Utc>) -> Self {
        SinceKey(format_ts(since))
    }

    /// Whether `raw` starts like an entry (`[` + a time in the file's own form + `] `)
    /// whose time is before `since`. Anything else is left to the parser.
    fn is_entry_before(&self, raw: &[u8]) -> bool {
        let key = self.0.as_bytes();
        let Some(ts) = raw.get(1..1 + key.len()) else {
            return false;
        };
        key.len() == 24
            && raw.first() == Some(&b'[')
            && raw.get(1 + key.len()..3 + key.len()) == Some(b"] ")
            && ts.ends_with(b"Z")
            && ts[10] == b'T'
            && ts < key
    }
}

/// The last `n` lines that pass `filter`, in file order, read from the end.
///
/// A hand-written line goes by the time of the entry before it, which is met only after
/// it when going backwards; with `--since`, such lines wait until that entry is read.
fn tail(file: &File, len: u64, filter: &Filter, n: usize) -> io::Result<Vec<LogLine>> {
    let mut found: Vec<LogLine> = Vec::new();
    if n == 0 {
        return Ok(found);
    }
    let mut backwards = Backwards::new(file, len);
    let mut scanner = Scanner::new(filter);
    // Hand-written lines (newest first) waiting for the entry before them.
    let mut waiting: Vec<Vec<u8>> = Vec::new();
    while found.len() < n {
        let Some(raw) = backwards.next_line()? else {
            // The top of the file: no entry precedes these, so they have no time.
            scanner.last_ts = None;
            for raw in waiting.drain(..) {
                found.extend(scanner.push(&raw));
            }
            break;
        };
        if filter.since.is_none() {
            found.extend(scanner.push(&raw));
            continue;
        }
        let line = super::line::parse_line(&String::from_utf8_lossy(&raw));
        match line {
            LogLine::Handwritten(_) => waiting.push(raw),
            LogLine::Entry(entry) => {
                scanner.last_ts = Some(entry.ts);
                for raw in waiting.drain(..) {
                    // The entry's time is set; pushing a hand-written line keeps it.
                    found.extend(scanner.push(&raw));
                }
                let line = LogLine::Entry(entry);
                if filter.matches(&line, scanner.last_ts) {
                    found.push(line);
                }
            }
        }
    }
    found.truncate(n);
    found.reverse();
    Ok(found)
}

/// The lines of a file from the last to the first, read in blocks from the end.
struct Backwards<'a> {
    file: &'a File,
    /// Where the bytes not read yet end.
    pos: u64,
    /// Read, not yet split: the start of a line whose end has been read, or whole lines.
    buf: Vec<u8>,
}

impl<'a> Backwards<'a> {
    fn new(file: &'a File, len: u64) -> Self {
        Backwards {
            file,
            pos: len,
            buf: Vec::new(),
        }
    }

    /// The line before the ones already given, without its newline; `None` at the top.
    fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf.iter().rposition(|&b| b == b'\n') {
                let line = self.buf.split_off(i + 1);
                self.buf.truncate(i);
                return Ok(Some(line));
            }
            if self.pos == 0 {
                return Ok((!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf)));
            }
            let size = usize::try_from(self.pos).map_or(BLOCK, |pos| pos.min(BLOCK));
            self.pos -= size as u64;
            let mut block = vec![0; size];
            self.file.read_exact_at(&mut block, self.pos)?;
            block.extend_from_slice(&self.buf);
            self.buf = block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Entry;
    use chrono::TimeZone;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, second).unwrap()
    }

    fn entry(second: u32, event: &str, runbook: &str) -> String {
        let mut entry = Entry::new(event, Some(runbook)).field("n", second.to_string());
        entry.ts = at(second);
        entry.format()
    }

    fn collect(path: &Path, filter: &Filter) -> Vec<String> {
        let mut seen = Vec::new();
        each(path, filter, &mut |line| {
            seen.push(match line {
                LogLine::Entry(e) => format!("{} {}", e.event, e.get("n").unwrap_or("")),
                LogLine::Handwritten(text) => format!("hand {text}"),
            });
            Ok(())
        })
        .expect("read");
        seen
    }

    /// Every filter through `each` gives what reading the whole file and filtering gives,
    /// over a file many blocks long with hand-written lines and a hand-written last line
    /// that has no newline.
    #[test]
    fn tail_and_since_agree_with_a_whole_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let mut text = String::from("hand at the top\n");
        for second in 0..50 {
            for i in 0..100 {
                let event = if i % 7 == 0 { "STEP FAILED" } else { "STEP OK" };
                let book = if i % 2 == 0 { "a" } else { "b" };
                text.push_str(&entry(second, event, book));
                text.push('\n');
                if i % 33 == 0 {
                    text.push_str(&format!("hand {second} {i} {}\n", "x".repeat(900)));
                }
            }
        }
        text.push_str(&entry(59, "NOTE", "a"));
        // A hand-written last line without a newline is kept (a torn *entry* is not:
        // see view.rs).
        text.push_str("\nhand-written at the end");
        std::fs::write(&path, &text).expect("write");
        assert!(text.len() > 4 * BLOCK);

        let whole = |filter: &Filter| {
            let mut scanner = Scanner::new(filter);
            let mut lines: Vec<String> = text
                .as_bytes()
                .split(|&b| b == b'\n')
                .filter_map(|raw| scanner.push(raw))
                .map(|line| match line {
                    LogLine::Entry(e) => format!("{} {}", e.event, e.get("n").unwrap_or("")),
                    LogLine::Handwritten(text) => format!("hand {text}"),
                })
                .collect();
            if let Some(n) = filter.tail {
                lines.drain(..lines.len().saturating_sub(n));
            }
            lines
        };
        let filters = [
            Filter::default(),
            Filter {
                tail: Some(20),
                ..Filter::default()
            },
            Filter {
                tail: Some(0),
                ..Filter::default()
            },
            Filter {
                tail: Some(100_000),
                ..Filter::default()
            },
            Filter {
                since: Some(at(42)),
                ..Filter::default()
            },
            Filter {
                since: Some(at(42)),
                tail: Some(150),
                ..Filter::default()
            },
            Filter {
                since: Some(at(0)),
                tail: Some(100_000),
                ..Filter::default()
            },
            Filter {
                event: Some("note".into()),
                tail: Some(7),
                ..Filter::default()
            },
            Filter {
                runbook: Some("b".into()),
                event: Some("step_failed".into()),
                since: Some(at(30)),
                tail: Some(12),
                run: None,
            },
        ];
        for filter in &filters {
            let expected = whole(filter);
            assert_eq!(collect(&path, filter), expected, "{filter:?}");
        }
        assert_eq!(collect(&path, &filters[1]).len(), 20);
        assert!(
            collect(&path, &filters[5])
                .iter()
                .any(|l| l.starts_with("hand"))
        );
    }

    #[test]
    fn a_missing_or_empty_log_has_no_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let tail = Filter {
            tail: Some(3),
            ..Filter::default()
        };
        assert!(collect(&path, &tail).is_empty());
        std::fs::write(&path, "").expect("write");
        assert!(collect(&path, &tail).is_empty());
        assert!(collect(&path, &Filter::default()).is_empty());
    }

    #[test]
    fn since_skips_only_canonical_times_before_it() {
        let key = SinceKey::new(at(30));
        assert!(key.is_entry_before(b"[2026-11-22T18:00:29.999Z] STEP OK - a"));
        assert!(!key.is_entry_before(b"[2026-11-22T18:00:30.000Z] STEP OK - a"));
        assert!(!key.is_entry_before(b"[2026-11-22T18:00:29Z] STEP OK - a"));
        assert!(!key.is_entry_before(b"2026-11-22T18:00:29.999Z something"));
        assert!(!key.is_entry_before(b"["));
    }
}

//! `rollout log --follow`: print what matches, then keep printing what is appended, like
//! `tail -F`, surviving truncation and rotation.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::line::LogLine;
use super::view::{Filter, Scanner, apply_tail, read_from, render_human, to_json};

/// How often `follow` looks for new lines.
const POLL: Duration = Duration::from_millis(250);

/// Prints the lines that match (honouring `tail`), then keeps printing matching lines as
/// they are appended, polling every 250 ms, until `stop()` returns true. With `json`, one
/// compact object per line. If the file shrinks (truncated) or is replaced (rotated or
/// rewritten by an editor), it is read again from the start. Output is flushed after
/// each batch; a write error (e.g. a closed pipe) is returned.
pub fn follow(
    path: &Path,
    filter: &Filter,
    json: bool,
    out: &mut dyn Write,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let mut scanner = Scanner::new(filter);
    let mut file_id = None;
    let mut offset = 0;
    if let Some(chunk) = read_from(path, None, 0)? {
        let mut lines: Vec<LogLine> = chunk
            .bytes
            .split(|&b| b == b'\n')
            .filter_map(|raw| scanner.push(raw))
            .collect();
        apply_tail(&mut lines, filter.tail);
        emit(&lines, json, out)?;
        file_id = Some(chunk.id);
        offset = chunk.end;
    }
    // Bytes after the last newline: an append still in flight, held until it ends.
    let mut pending = Vec::new();
    while !stop() {
        std::thread::sleep(POLL);
        let Some(chunk) = read_from(path, file_id, offset)? else {
            continue;
        };
        if chunk.restarted {
            pending.clear();
            scanner.last_ts = None;
        }
        file_id = Some(chunk.id);
        offset = chunk.end;
        pending.extend_from_slice(&chunk.bytes);
        let Some(cut) = pending.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        let rest = pending.split_off(cut + 1);
        let lines: Vec<LogLine> = pending
            .split(|&b| b == b'\n')
            .filter_map(|raw| scanner.push(raw))
            .collect();
        pending = rest;
        emit(&lines, json, out)?;
    }
    Ok(())
}

fn emit(lines: &[LogLine], json: bool, out: &mut dyn Write) -> io::Result<()> {
    for line in lines {
        if json {
            serde_json::to_writer(&mut *out, &to_json(line))?;
            writeln!(out)?;
        } else {
            render_human(line, out)?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Entry, LogWriter};
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::{Value, json};
    use std::sync::atomic::{AtomicBool, Ordering};

    fn entry(minute: u32, event: &str, runbook: Option<&str>) -> String {
        let ts: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 22, 18, minute, 0).unwrap();
        Entry::new(event, runbook)
            .at(ts)
            .field("n", minute)
            .format()
    }

    /// An output the test can read while `follow` is still writing to it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_string).collect()
        }

        /// Waits (up to 5 s) until `n` lines have been printed.
        fn wait_for(&self, n: usize) -> Vec<String> {
            for _ in 0..100 {
                if self.lines().len() >= n {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            self.lines()
        }
    }

    #[test]
    fn follow_prints_the_tail_then_appends_and_restarts_on_truncation_or_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reliability.log");
        let text = [
            "# Reliability log".to_string(),
            entry(10, "STEP OK", Some("web")),
            entry(20, "STEP OK", Some("web")),
            entry(30, "STEP FAILED", Some("web")),
        ];
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        let filter = Filter {
            event: Some("step ok".into()),
            tail: Some(1),
            ..Filter::default()
        };
        let out = Shared::default();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let follower = scope.spawn(|| {
                let mut sink = out.clone();
                follow(&path, &filter, true, &mut sink, &|| {
                    done.load(Ordering::SeqCst)
                })
            });
            assert_eq!(out.wait_for(1).len(), 1);
            let writer = LogWriter::new(path.clone());
            writer
                .append(&Entry::new("STEP FAILED", Some("web")))
                .unwrap();
            writer
                .append(&Entry::new("STEP OK", Some("web")).field("n", 50))
                .unwrap();
            assert_eq!(out.wait_for(2).len(), 2);
            // Truncated (as by logrotate's copytruncate), then written again.
            std::fs::write(&path, entry(55, "STEP OK", Some("web")) + "\n").unwrap();
            assert_eq!(out.wait_for(3).len(), 3);
            // Replaced by a longer file (rotated, or saved by an editor): a new inode.
            let new = path.with_extension("new");
            let text = [
                entry(56, "STEP OK", None),
                entry(57, "NOTE", None),
                entry(58, "STEP OK", None),
            ];
            std::fs::write(&new, text.join("\n") + "\n").unwrap();
            std::fs::rename(&new, &path).unwrap();
            let lines = out.wait_for(5);
            done.store(true, Ordering::SeqCst);
            follower.join().unwrap().unwrap();
            let n: Vec<Value> = lines
                .iter()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()["fields"]["n"].clone())
                .collect();
            assert_eq!(
                n,
                [
                    json!("20"),
                    json!("50"),
                    json!("55"),
                    json!("56"),
                    json!("58")
                ]
            );
        });
    }
}

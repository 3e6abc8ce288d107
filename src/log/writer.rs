//! Appending to the reliability log so that many processes at once lose no line and
//! tear none (SPEC §6): each entry is one `write` of the whole line, under an exclusive
//! lock, then synced. A line is written whole or not at all (SPEC §4.5): when a write
//! comes up short (a full disk), what it did write is cut off again before the lock is
//! let go, so no reader ever sees half a line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::line::Entry;

/// Somewhere else every entry also goes (the team backend's log table, SPEC §9). The
/// file stays the record of this machine; a mirror that fails says so itself.
pub trait LogMirror: std::fmt::Debug + Send + Sync {
    fn append(&self, entry: &Entry);
}

/// Appends entries to the log file at one path.
#[derive(Debug, Clone)]
pub struct LogWriter {
    path: PathBuf,
    mirror: Option<Arc<dyn LogMirror>>,
}

impl LogWriter {
    pub fn new(path: PathBuf) -> LogWriter {
        LogWriter { path, mirror: None }
    }

    /// Also sends every entry to `mirror`.
    pub fn with_mirror(mut self, mirror: Option<Arc<dyn LogMirror>>) -> LogWriter {
        self.mirror = mirror;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the log can be appended to, creating it (and its folder) if missing.
    /// Writes nothing; commands call it to refuse to start rather than fail half-way.
    pub fn check(&self) -> io::Result<()> {
        self.open().map(drop)
    }

    /// Appends one entry as one line, whole or not at all.
    pub fn append(&self, entry: &Entry) -> io::Result<()> {
        if let Some(mirror) = &self.mirror {
            mirror.append(entry);
        }
        let mut file = self.open()?;
        // flock: released by the kernel if we die, so a crash leaves no stale lock.
        file.lock()?;
        let mut buf = Vec::new();
        // A person may have left the file without a final newline; start a fresh line in
        // the same write so the two never merge.
        if !ends_with_newline(&mut file)? {
            buf.push(b'\n');
        }
        buf.extend_from_slice(entry.format().as_bytes());
        buf.push(b'\n');
        // Under the lock every writer appends at the end, so this is where ours starts.
        let before = file.metadata()?.len();
        if let Err(err) = file.write_all(&buf).and_then(|()| file.sync_data()) {
            // Undo a short write; if even that fails, say both.
            return match file.set_len(before).and_then(|()| file.sync_data()) {
                Ok(()) => Err(err),
                Err(undo) => Err(io::Error::new(
                    err.kind(),
                    format!("{err}; and a partial line may remain: {undo}"),
                )),
            };
        }
        file.unlock()
    }

    fn open(&self) -> io::Result<File> {
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            fs::create_dir_all(parent)?;
        }
        // `read` too, to look at the last byte; O_APPEND still sends every write to the end.
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
    }
}

/// True for an empty file, or one whose last byte is `\n`.
fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::line::{LogLine, parse_line};

    #[test]
    fn check_creates_the_file_and_its_folder_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feedback/deep/reliability.md");
        let writer = LogWriter::new(path.clone());
        writer.check().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        assert_eq!(writer.path(), path);
    }

    #[test]
    fn check_fails_when_the_log_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: cannot be opened for append, as root too.
        let writer = LogWriter::new(dir.path().to_path_buf());
        assert!(writer.check().is_err());
        assert!(writer.append(&Entry::new("NOTE", None)).is_err());
    }

    #[test]
    fn append_adds_one_line_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LogWriter::new(dir.path().join("reliability.log"));
        let first = Entry::new("RUN STARTED", Some("canary")).field("run", "r-1");
        let second = Entry::new("NOTE", None).field("text", "two\nlines");
        writer.append(&first).unwrap();
        writer.append(&second).unwrap();
        let text = fs::read_to_string(writer.path()).unwrap();
        assert_eq!(text, format!("{}\n{}\n", first.format(), second.format()));
    }

    #[test]
    fn a_hand_edited_file_without_final_newline_is_not_merged_into() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reliability.md");
        fs::write(&path, "# Reliability\nrestarted db by hand").unwrap();
        let entry = Entry::new("NOTE", Some("web"));
        LogWriter::new(path.clone()).append(&entry).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("# Reliability\nrestarted db by hand\n{}\n", entry.format())
        );
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        // /dev/full takes no byte: the write fails as on a full disk.
        if !Path::new("/dev/full").exists() {
            eprintln!("skipping: no /dev/full");
            return;
        }
        let writer = LogWriter::new(PathBuf::from("/dev/full"));
        assert!(writer.append(&Entry::new("NOTE", None)).is_err());
    }

    #[test]
    fn concurrent_appends_keep_every_line_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reliability.log");
        let threads = 8;
        let per_thread = 50;
        // Long values make a torn or interleaved write easy to spot.
        let filler = "x".repeat(2000);
        std::thread::scope(|scope| {
            for t in 0..threads {
                let writer = LogWriter::new(path.clone());
                let filler = &filler;
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let entry = Entry::new("STEP OK", Some("canary"))
                            .field("thread", t)
                            .field("i", i)
                            .field("filler", filler);
                        writer.append(&entry).unwrap();
                    }
                });
            }
        });
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        let mut seen = std::collections::HashSet::new();
        for line in text.lines() {
            let LogLine::Entry(entry) = parse_line(line) else {
                panic!("torn line: {:.80}", line);
            };
            assert_eq!(entry.get("filler"), Some(filler.as_str()));
            let key = (
                entry.get("thread").unwrap().to_string(),
                entry.get("i").unwrap().to_string(),
            );
            assert!(seen.insert(key), "duplicate line");
        }
        assert_eq!(seen.len(), threads * per_thread);
    }
}

//! The child's output: lines from both pipes as they arrive, redacted before anything
//! else sees them, and the end of it kept for the result.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Ending, Finished, MAX_LINE, OUTPUT_CAP, TAIL_LINES};
use crate::plan::Redactor;

/// Lines from both pipes, as they arrive.
pub(super) struct Lines {
    pub(super) rx: mpsc::Receiver<String>,
    pub(super) open: bool,
}

impl Lines {
    /// The next line; `None` once both pipes are closed, and pending forever after that
    /// so a `select!` loop does not spin.
    pub(super) async fn next(&mut self) -> Option<String> {
        if !self.open {
            std::future::pending::<()>().await;
        }
        let line = self.rx.recv().await;
        self.open = line.is_some();
        line
    }
}

pub(super) fn spawn_reader<R>(stream: R, tx: mpsc::Sender<String>) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            let chunk = match reader.fill_buf().await {
                Ok([]) | Err(_) => break,
                Ok(chunk) => chunk,
            };
            let newline = chunk.iter().position(|&b| b == b'\n');
            let take = newline
                .map_or(chunk.len(), |i| i + 1)
                .min(MAX_LINE - line.len());
            line.extend_from_slice(&chunk[..take]);
            reader.consume(take);
            if line.ends_with(b"\n") || line.len() >= MAX_LINE {
                if tx.send(decode(&line)).await.is_err() {
                    return;
                }
                line.clear();
            }
        }
        if !line.is_empty() {
            let _ = tx.send(decode(&line)).await;
        }
    })
}

fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Redacts each line first, then hands it on and keeps the end of it all.
pub(super) struct Output<'a> {
    redactor: &'a Redactor,
    on_line: &'a mut (dyn FnMut(&str) + Send),
    lines: VecDeque<String>,
    bytes: usize,
    /// The same lines unmasked, for adapters to parse (never shown, logged or stored).
    raw: VecDeque<String>,
    raw_bytes: usize,
}

impl<'a> Output<'a> {
    pub(super) fn new(redactor: &'a Redactor, on_line: &'a mut (dyn FnMut(&str) + Send)) -> Self {
        Output {
            redactor,
            on_line,
            lines: VecDeque::new(),
            bytes: 0,
            raw: VecDeque::new(),
            raw_bytes: 0,
        }
    }

    pub(super) fn push(&mut self, raw: &str) {
        self.raw_bytes += raw.len() + 1;
        self.raw.push_back(raw.to_string());
        while self.raw_bytes > OUTPUT_CAP {
            match self.raw.pop_front() {
                Some(old) => self.raw_bytes -= old.len() + 1,
                None => break,
            }
        }
        let line = self.redactor.redact(raw).into_owned();
        (self.on_line)(&line);
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.bytes > OUTPUT_CAP {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len() + 1,
                None => break,
            }
        }
    }

    pub(super) fn finish(self, ending: Ending, elapsed: Duration) -> Finished {
        let mut output = String::with_capacity(self.bytes);
        for line in &self.lines {
            output.push_str(line);
            output.push('\n');
        }
        let skip = self.lines.len().saturating_sub(TAIL_LINES);
        let mut raw_output = String::with_capacity(self.raw_bytes);
        for line in &self.raw {
            raw_output.push_str(line);
            raw_output.push('\n');
        }
        Finished {
            ending,
            output,
            raw_output,
            tail: self.lines.into_iter().skip(skip).collect(),
            elapsed,
            leftover: 0,
        }
    }
}

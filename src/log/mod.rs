//! The reliability log (SPEC §6): one line per entry, appended under a lock and synced,
//! never rewritten; lines people wrote by hand are kept and read back as notes.
//!
//! [`line`](mod@line) formats and parses an entry, [`logfmt`] its `key=value` pairs,
//! [`writer`] appends, [`view`] reads and filters for `rollout log`, and
//! [`follow`](mod@follow) keeps reading as lines are appended.

pub mod follow;
pub mod line;
pub mod logfmt;
pub mod recorder;
pub mod stream;
pub mod view;
pub mod writer;

#[cfg(test)]
mod props;

pub use follow::follow;
pub use line::{EVENTS, Entry, LogLine, format_ts, normalize_event, parse_line};
pub use recorder::LogRecorder;
pub use stream::each;
pub use view::{Filter, parse_since, read, render_human, to_json};
pub use writer::LogWriter;

//! One file per subcommand. Each takes the invocation's [`Context`](crate::app::Context)
//! and its own arguments, and returns the exit code or an error for people.

pub mod abandon;
pub mod completions;
pub mod demo;
pub mod dry_run;
pub mod history;
pub mod init;
pub mod launch;
pub mod list;
pub mod log;
pub mod output;
pub mod preflight;
pub mod promote;
pub mod resume;
pub mod rollback;
pub mod run_sets;
pub mod schema;
pub mod show;
pub mod status;
pub mod status_parked;
pub mod status_watch;
pub mod validate;

//! Runs a plan: the sequence, retries, timeouts, auto-rollback, pause, resume; and the
//! machinery under it — processes, signals, the lock, the state file.

pub mod attempt;
pub mod confirm;
pub mod event;
pub mod identity;
pub mod lock;
pub mod preflight;
pub mod process;
pub mod releases;
pub mod rollback;
pub mod run;
pub mod session;
pub mod signal;
pub mod start;
pub mod state;

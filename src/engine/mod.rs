//! Runs a plan: the sequence, retries, timeouts, auto-rollback, pause, resume; and the
//! machinery under it — processes, signals, the lock, the state file.

pub mod event;
pub mod identity;
pub mod lock;
pub mod process;
pub mod signal;
pub mod state;
pub mod attempt;
pub mod confirm;
pub mod preflight;
pub mod rollback;
pub mod run;
pub mod session;

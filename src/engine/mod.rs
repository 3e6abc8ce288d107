//! Runs a plan: the sequence, retries, timeouts, auto-rollback, pause, resume, preflight,
//! confirmations; and what a run owns — its lock and its state file.

pub mod attempt;
mod bake;
pub mod confirm;
mod late;
pub mod lock;
mod park;
pub mod preflight;
pub mod rollback;
pub mod run;
pub mod session;
mod soak_clock;
pub mod start;
pub mod state;
mod state_store;
mod window_gate;

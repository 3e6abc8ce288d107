//! `rollout` as a library: the binary is a thin wrapper around [`run`], and the tests
//! and benches reach the modules directly.
//!
//! The flow goes one way: `runbook` (TOML → validated) → `plan` → `engine` → `steps` →
//! `engine::process`. The `log` and `ui` are told about events; they drive nothing.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod engine;
pub mod error;
pub mod log;
pub mod plan;
pub mod project;
pub mod runbook;
pub mod steps;
pub mod ui;

pub use app::run;

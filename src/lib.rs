//! `rollout` as a library: the binary is a thin wrapper around [`run`], and the tests
//! and benches reach the modules directly.
//!
//! The flow goes one way: `runbook` (TOML → validated) → `plan` → `engine` → `steps` →
//! `adapters` → `process` (child processes) and HTTP. `event` is the vocabulary they
//! report in; the `log` and `ui` are told about events and drive nothing. `signal`,
//! `releases` and `identity` are small shared facts every room may read.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod completion;
pub mod engine;
pub mod error;
pub mod event;
pub mod identity;
pub mod log;
pub mod plan;
pub mod process;
pub mod project;
pub mod releases;
pub mod runbook;
pub mod signal;
pub mod steps;
pub mod store;
pub mod ui;

pub use app::run;

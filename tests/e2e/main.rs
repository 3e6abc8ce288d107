//! End-to-end tests: the real `rollout` binary in temporary projects, against fake
//! platform executables that record their argv.

mod support;

mod cli;
mod engine;
mod interrupt;
mod lock;
mod log;
mod preflight;
mod run;
mod secrets;
mod validate;

//! End-to-end tests: the real `rollout` binary in temporary projects, against fake
//! platform executables that record their argv.

mod support;

mod cli;
mod demo;
mod generated;
mod help;
mod init;
mod install;
mod interrupt;
mod lock;
mod log;
mod run;
mod secrets;
mod terminal;
mod validate;

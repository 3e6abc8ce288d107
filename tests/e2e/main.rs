//! End-to-end tests: the real `rollout` binary in temporary projects, against fake
//! platform executables that record their argv.

mod fakes;
mod support;

mod adapters_fly;
mod adapters_kubectl;
mod adapters_systemctl;
mod cli;
mod engine;
mod examples;
mod interrupt;
mod lock;
mod log;
mod preflight;
mod run;
mod secrets;
mod validate;

mod http;

mod gates;
mod health;
mod metrics;

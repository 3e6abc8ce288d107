//! End-to-end tests: the real `rollout` binary in temporary projects, against fake
//! platform executables that record their argv.

mod fakes;
mod http;
mod mounts;
mod support;

mod abandon;
mod adapters_fly;
mod adapters_kubectl;
mod adapters_systemctl;
mod approvals_roles;
mod bakes;
mod bakes_example;
mod cli;
mod demo;
mod engine;
mod examples;
mod exec_rollback;
mod faults;
mod gates;
mod generated;
mod git;
mod hardening;
mod health;
mod help;
mod history;
mod init;
mod install;
mod interrupt;
mod journal;
mod lock;
mod log;
mod metrics;
mod observed;
mod preflight;
mod prometheus;
mod promote_flags;
mod redirects;
mod rollback_scenarios;
mod run;
mod secrets;
mod settings;
mod soak_resume;
mod terminal;
mod validate;
mod windows_park;

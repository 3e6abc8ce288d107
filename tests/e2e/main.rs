//! End-to-end tests: the real `rollout` binary in temporary projects, against fake
//! platform executables that record their argv.

mod fakes;
mod http;
mod mounts;
mod pg_server;
mod support;

mod adapters_fly;
mod adapters_kubectl;
mod adapters_systemctl;
mod cli;
mod demo;
mod engine;
mod examples;
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
mod postgres;
mod preflight;
mod prometheus;
mod promote_flags;
mod redirects;
mod rollback_scenarios;
mod run;
mod secrets;
mod settings;
mod terminal;
mod validate;

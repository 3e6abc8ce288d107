//! The hidden `demo-service` subcommand's arguments (clap definitions only; `cli.rs`
//! nests them under `rollout demo-service`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the demo service keeps its pid, releases and log (relative to the working
/// directory, which is the project root when a runbook runs it).
const DEMO_STATE: &str = ".rollout/demo";

#[derive(Debug, Clone, Args)]
pub struct DemoPort {
    /// Port on 127.0.0.1
    #[arg(long, default_value_t = 47080)]
    pub port: u16,
    /// Folder for the pid file, release history and service log
    #[arg(long, value_name = "DIR", default_value = DEMO_STATE)]
    pub state: PathBuf,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DemoAction {
    /// Start VERSION in the background (replacing what runs on the port), wait until healthy
    Deploy {
        #[command(flatten)]
        at: DemoPort,
        /// The release to run, e.g. 2.0.0
        #[arg(long, value_name = "RELEASE")]
        release: String,
    },
    /// Start VERSION only if nothing serves on the port yet
    Ensure {
        #[command(flatten)]
        at: DemoPort,
        /// The release to run, e.g. 2.0.0
        #[arg(long, value_name = "RELEASE")]
        release: String,
    },
    /// Print the release the demo service runs (nothing when none runs): its "platform"
    /// record, what `[adapters.exec] current_cmd` reads
    Current {
        #[command(flatten)]
        at: DemoPort,
    },
    /// Check only: pass when the port is free or the demo service answers on it
    Check {
        #[command(flatten)]
        at: DemoPort,
    },
    /// Put RELEASE back (default: the release before the current one)
    Rollback {
        #[command(flatten)]
        at: DemoPort,
        /// The release to return to
        #[arg(long, value_name = "RELEASE")]
        to: Option<String>,
    },
    /// Set the traffic percentage the service reports
    Promote {
        #[command(flatten)]
        at: DemoPort,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        percent: u8,
    },
    /// Stop the service
    Stop {
        #[command(flatten)]
        at: DemoPort,
    },
    /// GET a path until it answers 200 (and the expected version) N times in a row
    Probe {
        #[command(flatten)]
        at: DemoPort,
        #[arg(long, default_value = "/health")]
        path: String,
        /// Fail unless the answer names this release
        #[arg(long, value_name = "RELEASE")]
        expect_release: Option<String>,
        #[arg(long, default_value_t = 1)]
        successes: u32,
        #[arg(long, default_value = "300ms", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        within: std::time::Duration,
    },
    /// Serve in the foreground (what `deploy` runs in the background)
    Serve {
        #[command(flatten)]
        at: DemoPort,
        /// The release to run, e.g. 2.0.0
        #[arg(long, value_name = "RELEASE")]
        release: String,
    },
}

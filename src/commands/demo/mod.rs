//! `rollout demo-service …` (hidden): the throwaway local HTTP service `runbooks/demo.toml`
//! deploys, checks, promotes and rolls back, so the demo needs nothing but this binary.
//!
//! The "platform" is a folder (`.rollout/demo/PORT/`): a pid file, the release history
//! (one version a line, newest last), the traffic percent, and the service's own log.

pub mod args;
mod daemon;
mod http;
mod probe;
mod server;

use crate::cli::DemoAction;
use crate::error::{Error, ExitCode};

pub async fn run(action: &DemoAction) -> Result<ExitCode, Error> {
    match action {
        DemoAction::Deploy { at, release } => daemon::deploy(at, release).await,
        DemoAction::Ensure { at, release } => daemon::ensure(at, release).await,
        DemoAction::Check { at } => daemon::check(at).await,
        DemoAction::Current { at } => daemon::current(at),
        DemoAction::Rollback { at, to } => daemon::rollback(at, to.as_deref()).await,
        DemoAction::Promote { at, percent } => daemon::promote(at, *percent),
        DemoAction::Stop { at } => daemon::stop(at),
        DemoAction::Probe {
            at,
            path,
            expect_release,
            successes,
            interval,
            within,
        } => {
            probe::run(
                at.port,
                &probe::Expect {
                    path,
                    version: expect_release.as_deref(),
                    successes: *successes,
                    interval: *interval,
                    within: *within,
                },
            )
            .await
        }
        DemoAction::Serve { at, release } => server::serve(at, release),
    }
}

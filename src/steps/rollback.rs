//! `rollback`: returns the target to its previous release (or `to`, or
//! `rollout rollback --to`) and records that release as current.

use super::{Effect, StepEnv, StepError, platform};
use crate::adapters::Change;
use crate::plan::{PlatformStep, Verb};

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    let change = platform::carry_out(env, p).await?;
    let key = platform::target_key(env);
    let release = match change {
        Change::RolledBack(release) => Some(release),
        // A `cmd` of the runbook's own: trust `--to`/`to`, else what tracking knew.
        _ => {
            let to = match &p.verb {
                Verb::Rollback { to } => to.as_ref().map(|t| t.shown().to_string()),
                _ => None,
            };
            env.flags
                .rollback_to
                .clone()
                .or(to)
                .or_else(|| env.releases.get(&key).previous)
        }
    };
    if let Some(release) = release {
        // An adapter reports the release it ran with, secrets and all; state and the
        // summary only ever see the masked form.
        let release = env.plan.redactor.redact(&release);
        env.releases.rolled_back(&key, &release);
    }
    Ok(Effect::Continue)
}

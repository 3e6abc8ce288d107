//! `rollback`: returns the target to the stable release its run pinned (or `to`, or
//! `rollout rollback --to`) and records that release as current.

use super::{Effect, StepEnv, StepError, platform};
use crate::adapters::Change;
use crate::plan::PlatformStep;

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    let change = platform::carry_out(env, p).await?;
    let key = platform::target_key(env);
    let release = match change {
        Change::RolledBack(release) => Some(release),
        // A `cmd` of the runbook's own: what it returned to is not known (SPEC §4.1:
        // state never claims a release rollout did not read or set).
        _ => {
            env.releases.forget_current(&key);
            None
        }
    };
    env.observe("target", key.clone());
    if let Some(release) = &release {
        // SPEC §4.4: the log line names the release the target returned to (masked).
        env.observe("release", env.plan.redactor.redact(release).into_owned());
    }
    if let Some(release) = release {
        // An adapter reports the release it ran with, secrets and all; state and the
        // summary only ever see each secret as its `{{secret.NAME}}` reference.
        let release = env.plan.redactor.to_refs(&release);
        env.releases.rolled_back(&key, &release);
    }
    Ok(Effect::Continue)
}

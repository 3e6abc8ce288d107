//! `promote`: moves traffic or a feature flag to a percentage through the adapter (or
//! the step's `cmd`, with `{{percent}}`), and records the percentage.

use super::{Effect, StepEnv, StepError, platform};
use crate::plan::{PlatformStep, Verb};

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    platform::carry_out(env, p).await?;
    if let Verb::Promote {
        percent: Some(percent),
        ..
    } = &p.verb
    {
        env.releases.promoted(&platform::target_key(env), *percent);
    }
    Ok(Effect::Continue)
}

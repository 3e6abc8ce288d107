//! `promote`: moves traffic or a feature flag to a percentage through the adapter (or
//! the step's `cmd`, with `{{percent}}`), and records the percentage.

use super::{Effect, StepEnv, StepError, platform};
use crate::plan::{PlatformStep, Verb};

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    platform::carry_out(env, p).await?;
    env.observe("target", platform::target_key(env));
    if let Verb::Promote { percent, label, .. } = &p.verb {
        // SPEC §4.4: the log line says the stage it moved to.
        if let Some(percent) = percent {
            env.observe("percent", percent.to_string());
            env.releases.promoted(&platform::target_key(env), *percent);
        }
        if let Some(label) = label {
            env.observe("label", label.clone());
        }
    }
    Ok(Effect::Continue)
}

//! `scale`: sets the instance count; 0 stops the target (the last-resort escalation).

use super::{Effect, StepEnv, StepError, platform};
use crate::plan::PlatformStep;

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    platform::carry_out(env, p).await.map(|_| Effect::Continue)
}

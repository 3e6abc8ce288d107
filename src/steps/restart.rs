//! `restart`: restarts the target; the release stays what it was.

use super::{Effect, StepEnv, StepError, platform};
use crate::plan::PlatformStep;

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    platform::carry_out(env, p).await.map(|_| Effect::Continue)
}

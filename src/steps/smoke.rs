//! `smoke`: a smoke test. It runs like `run`; the difference is what is kept of a
//! failure — the log recorder writes its output tail into the reliability log.

use super::{Effect, StepEnv, StepError, run};
use crate::plan::CommandSpec;

pub async fn execute(env: &StepEnv<'_>, spec: &CommandSpec) -> Result<Effect, StepError> {
    run::execute(env, spec).await
}

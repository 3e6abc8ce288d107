//! `deploy`: ships a release through the adapter, waits until it is rolled out, and
//! records it as the target's current release (the one before becomes previous).

use super::{Effect, StepEnv, StepError, platform};
use crate::adapters::Change;
use crate::plan::{PlatformStep, Text, Verb};

pub async fn execute(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Effect, StepError> {
    let change = match platform::carry_out(env, p).await {
        Ok(change) => change,
        Err(error) => {
            // A deploy that failed after it started changing the target may have
            // shipped (SPEC §4): state says so, unconfirmed, never that it did not.
            if env.releases.started(&platform::target_key(env))
                && let Verb::Deploy(d) = &p.verb
                && let Some(release) = d.shipped()
            {
                let release = env.plan.redactor.to_refs(release.value());
                env.releases.attempted(&platform::target_key(env), &release);
            }
            return Err(error);
        }
    };
    let release = match change {
        Change::Deployed(release) => Some(release),
        // A `cmd` of the runbook's own: the release is what its fields name, if any.
        _ => match &p.verb {
            Verb::Deploy(d) => d
                .image
                .as_ref()
                .or(d.release.as_ref())
                .map(|t: &Text| t.value().to_string()),
            _ => None,
        },
    };
    env.observe("target", platform::target_key(env));
    if let Some(release) = release {
        // SPEC §4.4: the log line names what shipped (masked).
        env.observe("release", env.plan.redactor.redact(&release).into_owned());
        // An adapter reports the release as it ran it, secrets included: state keeps
        // each secret as its `{{secret.NAME}}` reference.
        let release = env.plan.redactor.to_refs(&release);
        env.releases.deployed(&platform::target_key(env), &release);
    }
    Ok(Effect::Continue)
}

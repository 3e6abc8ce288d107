//! What the platform steps share: the runbook's own `cmd`, or the step's adapter
//! turning the verb into its CLI's command lines, run with the step's deadline and
//! their output streamed as the step's.

use super::{StepEnv, StepError, run};
use crate::adapters::{self, Adapter, Call, Change, Failure, Runner};
use crate::plan::{PlatformStep, Step, Verb};

/// Carries out the step and says what it changed.
pub async fn carry_out(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Change, StepError> {
    let step = env.step;
    let adapter = step
        .adapter
        .as_deref()
        .map(|name| Adapter::new(name, &p.settings, &adapters::process_env));
    let on_line = |line: &str| env.say(line);
    let observe = |key: &str, value: &str| env.observe(key, value);
    let runner = Runner {
        root: &env.plan.root,
        redactor: &env.plan.redactor,
        interrupt: env.interrupt,
        deadline: env.deadline,
        on_line: &on_line,
        observe: &observe,
    };
    let key = target_key(env);
    let changes = p.verb.changes_things();
    // Only the run's own steps pin: a rollback or emergency step must never take the
    // release it is undoing for the stable one. A `cmd` of the runbook's own pins only
    // for exec, whose stable release is what `current_cmd` prints or rollout recorded.
    if let (Some(adapter), Some(target)) = (&adapter, step.target.as_ref())
        && changes
        && step.section == crate::plan::Section::Steps
        && !matches!(p.verb, Verb::Rollback { .. })
        && (p.cmd.is_none() || matches!(adapter, Adapter::Exec(_)))
        && !env.releases.is_pinned_by(&key, env.run_id)
    {
        pin_stable(env, adapter, target, &key, &runner).await?;
    }
    if let Some(spec) = &p.cmd {
        if changes {
            env.releases.change_started(&key);
        }
        let finished = run::run_command(env, spec).await?;
        run::judge(spec, finished)?;
        // A rollback `cmd` bound with `{{to}}` keeps the release it returned to as its
        // `to` (engine::late); any other `cmd` says nothing rollout could vouch for.
        return Ok(match &p.verb {
            Verb::Rollback { to: Some(to) } => Change::RolledBack(to.value().to_string()),
            _ => Change::None,
        });
    }
    let (Some(adapter), Some(target)) = (adapter, step.target.as_ref()) else {
        return Err(failed(format!(
            "`{}` needs an adapter and a target, or a `cmd` ({})",
            step.name, step.location
        )));
    };
    if let Verb::Deploy(d) = &p.verb {
        env.releases
            .used_config(&key, d.config.as_ref().map(|c| c.shown().to_string()));
    }
    if changes {
        // From here on the target counts as changed, whatever the step's outcome
        // (SPEC §4): a deploy that fails half-way has changed it.
        env.releases.change_started(&key);
    }
    let to = match &p.verb {
        // `rollback --to` wins over the step's own `to`.
        Verb::Rollback { to } => env
            .flags
            .rollback_to
            .clone()
            .or_else(|| to.as_ref().map(|t| t.value().to_string())),
        _ => None,
    };
    let known = env.releases.get(&key);
    let call = Call {
        verb: &p.verb,
        target,
        to,
        stable: known.stable.clone(),
        known,
    };
    adapter.execute(&call, &runner).await.map_err(|f| match f {
        Failure::Failed { message, tail } => StepError::Failed { message, tail },
        Failure::TimedOut { tail } => StepError::TimedOut {
            after: step.timeout,
            tail,
        },
        Failure::Interrupted => StepError::Interrupted,
    })
}

/// SPEC §4.1: just before this run first changes `target`, what the platform runs now
/// is pinned as its stable release (a secret part as its `{{secret.NAME}}` reference,
/// filled in again from the environment when a rollback uses it).
async fn pin_stable(
    env: &StepEnv<'_>,
    adapter: &Adapter,
    target: &crate::plan::Text,
    key: &str,
    runner: &Runner<'_>,
) -> Result<(), StepError> {
    let running = match adapter {
        // exec without `current_cmd`: the release rollout last recorded for the target.
        Adapter::Exec(None) => env.releases.get(key).current.map(|release| adapters::Running {
            release,
            revision: None,
        }),
        _ => adapter
            .read_stable(target, runner)
            .await
            .map_err(|f| match f {
                Failure::Interrupted => StepError::Interrupted,
                Failure::Failed { message, tail } => StepError::Failed {
                    message: format!(
                        "cannot read what {key} runs before changing it, so nothing was changed: {message}"
                    ),
                    tail,
                },
                Failure::TimedOut { tail } => StepError::TimedOut {
                    after: env.step.timeout,
                    tail,
                },
            })?,
    };
    // SPEC §4.1: a secret part of the release is kept as its `{{secret.NAME}}`
    // reference, never as the value.
    let redact = |text: &str| env.plan.redactor.to_refs(text);
    let shown = running.map(|r| (redact(&r.release), r.revision.map(|v| redact(&v))));
    if let Some((release, _)) = &shown {
        env.say(format!("stable release of {key}: {release}"));
    } else {
        env.say(format!(
            "{key} runs nothing yet: no stable release to return to"
        ));
    }
    env.releases.pin(key, env.run_id, shown);
    Ok(())
}

/// The target as release tracking keys it (masked, so no secret reaches state).
pub fn target_key(env: &StepEnv<'_>) -> String {
    env.step
        .target
        .as_ref()
        .map(|t| t.shown().to_string())
        .unwrap_or_else(|| env.plan.name.clone())
}

/// Every command the step will run, in order: what `show` and `--dry-run` print.
pub fn describe(step: &Step, p: &PlatformStep) -> String {
    if let Some(spec) = &p.cmd {
        return run::describe(spec);
    }
    let (Some(name), Some(target)) = (step.adapter.as_deref(), step.target.as_ref()) else {
        return "error: no adapter or target, and no `cmd`".to_string();
    };
    Adapter::new(name, &p.settings, &adapters::process_env)
        .describe(&p.verb, target, step.timeout)
        .join(", then ")
}

fn failed(message: String) -> StepError {
    StepError::Failed {
        message,
        tail: Vec::new(),
    }
}

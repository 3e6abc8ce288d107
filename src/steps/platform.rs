//! What the platform steps share: the runbook's own `cmd`, or the step's adapter
//! turning the verb into its CLI's command lines, run with the step's deadline and
//! their output streamed as the step's.

use super::{StepEnv, StepError, run};
use crate::adapters::{self, Adapter, Call, Change, Failure, Runner};
use crate::plan::{PlatformStep, Step, Verb};

/// Carries out the step and says what it changed.
pub async fn carry_out(env: &StepEnv<'_>, p: &PlatformStep) -> Result<Change, StepError> {
    if let Some(spec) = &p.cmd {
        let finished = run::run_command(env, spec).await?;
        run::judge(spec, finished)?;
        return Ok(Change::None);
    }
    let step = env.step;
    let (Some(name), Some(target)) = (step.adapter.as_deref(), step.target.as_ref()) else {
        return Err(failed(format!(
            "`{}` needs an adapter and a target, or a `cmd` ({})",
            step.name, step.location
        )));
    };
    let adapter = Adapter::new(name, &p.settings, &adapters::process_env);
    let on_line = |line: &str| env.say(line);
    let runner = Runner {
        root: &env.plan.root,
        redactor: &env.plan.redactor,
        interrupt: env.interrupt,
        deadline: env.deadline,
        on_line: &on_line,
    };
    let to = match &p.verb {
        // `rollback --to` wins over the step's own `to`.
        Verb::Rollback { to } => env
            .flags
            .rollback_to
            .clone()
            .or_else(|| to.as_ref().map(|t| t.value().to_string())),
        _ => None,
    };
    let call = Call {
        verb: &p.verb,
        target,
        to,
        known: env.releases.get(target.shown()),
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

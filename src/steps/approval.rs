//! `approval`: records who approved. `--approved-by NAME` answers in advance; on a
//! terminal the approver types their name; without either the run refused up front
//! (see `engine::confirm`). The name goes into the reliability log as a `NOTE`.
//! `--emergency` skips approvals.

use super::{Effect, StepEnv, StepError};
use crate::event::EventKind;
use crate::plan::Text;

pub async fn execute(
    env: &StepEnv<'_>,
    from: Option<&Text>,
    role: Option<&str>,
) -> Result<Effect, StepError> {
    if env.flags.emergency {
        env.say("skipped: --emergency needs no approval".to_string());
        return Ok(Effect::Continue);
    }
    let name = match env.flags.approvers.for_role(role) {
        Some(name) => name.trim().to_string(),
        None if env.flags.interactive => ask(env, from, role).await?,
        None => {
            let flag = match role {
                Some(role) => format!("--approved-by {role}=NAME"),
                None => "--approved-by NAME".to_string(),
            };
            return Err(StepError::Failed {
                message: format!("no approver: pass {flag}, or run it from a terminal"),
                tail: Vec::new(),
            });
        }
    };
    if name.is_empty() {
        return Err(StepError::Failed {
            message: "the approver's name is empty; nothing was approved".to_string(),
            tail: Vec::new(),
        });
    }
    let name = env.plan.redactor.redact(&name).into_owned();
    let mut message = format!("approved by {name}");
    if let Some(role) = role {
        message.push_str(&format!(" as {role}"));
    }
    if let Some(from) = from {
        message.push_str(&format!(" (approval from {})", from.shown()));
    }
    env.say(message.clone());
    (env.emit)(EventKind::Note {
        step: env.step.name.clone(),
        message,
    });
    Ok(Effect::Continue)
}

pub fn describe(from: Option<&Text>, role: Option<&str>) -> String {
    let flag = match role {
        Some(role) => format!("--approved-by {role}=NAME"),
        None => "--approved-by NAME".to_string(),
    };
    match (from, role) {
        (Some(from), _) => format!("record an approval from {from} ({flag}, or asked)"),
        (None, Some(role)) => format!("record the {role}'s approval ({flag}, or asked)"),
        (None, None) => format!("record who approves ({flag}, or asked)"),
    }
}

/// Asks on the terminal. The prompt blocks a thread of its own, so Ctrl-C and the
/// step's timeout still end the step.
async fn ask(
    env: &StepEnv<'_>,
    from: Option<&Text>,
    role: Option<&str>,
) -> Result<String, StepError> {
    let who = role
        .map(|r| format!("{r}'s name"))
        .unwrap_or_else(|| "Approver's name".to_string());
    let prompt = match from {
        Some(from) => format!("{who} for `{}` ({from})", env.step.name),
        None => format!("{who} for `{}`", env.step.name),
    };
    // The live display holds still while the person types (it would redraw over them).
    let asking = tokio::task::spawn_blocking(move || {
        crate::ui::suspended(|| {
            dialoguer::Input::<String>::new()
                .with_prompt(prompt)
                .interact_text()
        })
    });
    tokio::select! {
        answer = asking => match answer {
            Ok(Ok(name)) => Ok(name.trim().to_string()),
            _ => Err(StepError::Failed {
                message: "no approver's name was given".to_string(),
                tail: Vec::new(),
            }),
        },
        _ = env.interrupt.wait() => Err(StepError::Interrupted),
        _ = tokio::time::sleep_until(env.deadline) => Err(StepError::TimedOut {
            after: env.step.timeout,
            tail: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_the_hint() {
        assert_eq!(
            describe(Some(&Text::plain("release managers")), None),
            "record an approval from release managers (--approved-by NAME, or asked)"
        );
    }
}

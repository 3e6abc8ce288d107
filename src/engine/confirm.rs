//! Confirmations before steps with `confirm = true`, and the approver's name for
//! `approval` steps. Without a terminal to ask on (and without `--yes` or
//! `--approved-by`), the run refuses up front — before any step has run, never half-way.

use std::io::IsTerminal;

use super::run::Engine;
use crate::error::Error;
use crate::event::EventKind;
use crate::plan::{Plan, Step, StepKind};
use crate::steps::approvers::Approvers;

/// Whether a person can be asked: both stdin and stderr are terminals.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// What the person answered in advance, and whether they can be asked.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// `--yes`.
    pub yes: bool,
    /// `--approved-by NAME` / `ROLE=NAME`.
    pub approvers: Approvers,
    /// A terminal is there to ask on.
    pub interactive: bool,
}

/// Refuses (exit 2) when a step that will run needs a confirmation or an approver's
/// name that cannot be given.
pub fn check_up_front<'a>(
    steps: impl IntoIterator<Item = &'a Step>,
    answers: Answers,
) -> Result<(), Error> {
    if answers.interactive {
        return Ok(());
    }
    let steps: Vec<&Step> = steps.into_iter().collect();
    let names = |f: &dyn Fn(&Step) -> bool| -> Vec<String> {
        steps
            .iter()
            .filter(|s| f(s))
            .map(|s| format!("`{}`", s.name))
            .collect()
    };
    let confirming = if answers.yes {
        Vec::new()
    } else {
        names(&|s| s.confirm)
    };
    let approving = names(&|s| match &s.kind {
        StepKind::Approval { role, .. } => answers.approvers.for_role(role.as_deref()).is_none(),
        _ => false,
    });
    // The flags that answer the approvals still open: `--approved-by manager=NAME`.
    let mut flags: Vec<String> = steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Approval { role, .. }
                if answers.approvers.for_role(role.as_deref()).is_none() =>
            {
                Some(match role {
                    Some(role) => format!("--approved-by {role}=NAME"),
                    None => "--approved-by NAME".to_string(),
                })
            }
            _ => None,
        })
        .collect();
    flags.dedup();
    let flags = flags.join(" ");
    let (message, hint) = match (confirming.is_empty(), approving.is_empty()) {
        (true, true) => return Ok(()),
        (false, true) => (
            format!("confirmation needed for {}", confirming.join(", ")),
            "pass --yes to confirm in advance, or run it from a terminal".to_string(),
        ),
        (true, false) => (
            format!("an approver's name is needed for {}", approving.join(", ")),
            format!("pass {flags}, or run it from a terminal"),
        ),
        (false, false) => (
            format!(
                "confirmation needed for {} and an approver's name for {}",
                confirming.join(", "),
                approving.join(", ")
            ),
            format!("pass --yes and {flags}, or run it from a terminal"),
        ),
    };
    Err(
        Error::usage(format!("{message} but there is no terminal to ask on"))
            .with_detail("nothing was run")
            .with_hint(hint),
    )
}

/// Refuses (exit 2) an `--approved-by ROLE=NAME` whose role no approval of the runbook
/// asks for, and a plain name when every approval has a role: a typo must not
/// silently approve nothing.
pub fn check_roles(plan: &Plan, approvers: &Approvers) -> Result<(), Error> {
    let roles: Vec<Option<&str>> = [
        &plan.preflight,
        &plan.steps,
        &plan.rollback,
        &plan.emergency,
    ]
    .into_iter()
    .flatten()
    .filter_map(|s| match &s.kind {
        StepKind::Approval { role, .. } => Some(role.as_deref()),
        _ => None,
    })
    .collect();
    let asked: Vec<String> = roles
        .iter()
        .map(|r| match r {
            Some(role) => format!("--approved-by {role}=NAME"),
            None => "--approved-by NAME".to_string(),
        })
        .collect();
    let hint = if asked.is_empty() {
        format!(
            "runbook `{}` has no approval steps: leave --approved-by out",
            plan.name
        )
    } else {
        let mut asked = asked;
        asked.dedup();
        format!("its approvals take: {}", asked.join(", "))
    };
    for role in approvers.by_role.keys() {
        if !roles.contains(&Some(role.as_str())) {
            return Err(Error::usage(format!(
                "--approved-by {role}=…: no approval step of `{}` asks for the role `{role}`",
                plan.name
            ))
            .with_detail("nothing was run")
            .with_hint(hint));
        }
    }
    if approvers.plain.is_some() && !roles.is_empty() && !roles.contains(&None) {
        return Err(Error::usage(format!(
            "every approval of `{}` asks for a role; a name without one answers none of them",
            plan.name
        ))
        .with_detail("nothing was run")
        .with_hint(hint));
    }
    Ok(())
}

/// The question of SPEC §4.
pub fn question(plan: &Plan, step: &Step) -> String {
    match step.target.as_ref().or(plan.target.as_ref()) {
        Some(target) => format!("Proceed with {} on {}?", step.name, target.shown()),
        None => format!("Proceed with {}?", step.name),
    }
}

/// What the person said at a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Ctrl-C at the prompt: the terminal is in raw mode, so it arrives as a key, not
    /// as a signal, and must stop the run like one.
    Interrupted,
}

/// Asks on the terminal, after showing what the step will run (SPEC §4: the command
/// lines, secrets masked). An error reading the answer (other than Ctrl-C) counts as "no".
pub fn ask(plan: &Plan, step: &Step) -> Answer {
    let asked = crate::ui::suspended(|| {
        crate::ui::stderr_line(format_args!(
            "{} will run: {}",
            step.name,
            crate::steps::describe(step)
        ));
        dialoguer::Confirm::new()
            .with_prompt(question(plan, step))
            .default(false)
            .interact()
    });
    match asked {
        Ok(true) => Answer::Yes,
        Ok(false) => Answer::No,
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            Answer::Interrupted
        }
        Err(_) => Answer::No,
    }
}

impl Engine {
    /// Whether `step` may go ahead. A step with `confirm = true` is asked about on the
    /// terminal unless `--yes` answered in advance or `not_asked` says why no one is
    /// asked (an emergency, an auto-rollback). Every answer goes into the log as a note.
    pub(super) fn confirmed(&self, step: &Step, not_asked: Option<&str>) -> Answer {
        if !step.confirm {
            return Answer::Yes;
        }
        let plan = &self.session.plan;
        let (answer, how) = if self.options.yes {
            (Answer::Yes, "confirmed in advance with --yes".to_string())
        } else if let Some(why) = not_asked {
            (Answer::Yes, format!("not asked ({why})"))
        } else {
            let answer = ask(plan, step);
            let how = match answer {
                Answer::Yes => format!("confirmed at the prompt by {}", self.options.user),
                Answer::No => format!("declined at the prompt by {}", self.options.user),
                Answer::Interrupted => "interrupted at the prompt (Ctrl-C)".to_string(),
            };
            (answer, how)
        };
        self.session.emit(EventKind::Note {
            step: step.name.clone(),
            message: format!("{} {how}", question(plan, step)),
        });
        answer
    }
}

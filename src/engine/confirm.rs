//! Confirmations before steps with `confirm = true`. Without a terminal to ask on, the
//! run refuses up front — before any step has run, never half-way.

use std::io::IsTerminal;

use crate::error::Error;
use crate::plan::{Plan, Step};

/// Whether a person can be asked: both stdin and stderr are terminals.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Refuses (exit 2) when a step that will run needs a confirmation that cannot be given.
pub fn check_up_front<'a>(
    steps: impl IntoIterator<Item = &'a Step>,
    yes: bool,
    interactive: bool,
) -> Result<(), Error> {
    if yes || interactive {
        return Ok(());
    }
    let needing: Vec<&str> = steps
        .into_iter()
        .filter(|s| s.confirm)
        .map(|s| s.name.as_str())
        .collect();
    if needing.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "confirmation needed for {} but there is no terminal to ask on",
        needing
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .with_detail("nothing was run")
    .with_hint("pass --yes to confirm in advance, or run it from a terminal"))
}

/// The question of SPEC §4.
pub fn question(plan: &Plan, step: &Step) -> String {
    match step.target.as_ref().or(plan.target.as_ref()) {
        Some(target) => format!("Proceed with {} on {}?", step.name, target.shown()),
        None => format!("Proceed with {}?", step.name),
    }
}

/// Asks on the terminal. An error reading the answer counts as "no".
pub fn ask(plan: &Plan, step: &Step) -> bool {
    dialoguer::Confirm::new()
        .with_prompt(question(plan, step))
        .default(false)
        .interact()
        .unwrap_or(false)
}

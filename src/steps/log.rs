//! `log`: a line of the runbook's own in the reliability log. The step reports a note;
//! the log recorder, told of it like every other event, appends the `NOTE` line.

use super::{Effect, StepEnv};
use crate::event::EventKind;
use crate::plan::Text;

pub fn execute(env: &StepEnv<'_>, message: &Text) -> Effect {
    (env.emit)(EventKind::Note {
        step: env.step.name.clone(),
        message: message.shown().to_string(),
    });
    Effect::Continue
}

pub fn describe(message: &Text) -> String {
    format!("log: {message}")
}

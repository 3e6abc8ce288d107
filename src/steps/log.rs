//! `log`: a line of the runbook's own in the reliability log. The step reports a note;
//! the log recorder, told of it like every other event, appends the `NOTE` line.

use super::{Effect, StepEnv, StepError};
use crate::event::EventKind;
use crate::plan::Text;

pub fn execute(env: &StepEnv<'_>, message: &Text) -> Result<Effect, StepError> {
    (env.emit)(EventKind::Note {
        step: env.step.name.clone(),
        message: message.shown().to_string(),
    });
    // The recorder appends synchronously: if the line did not make it, the step did not
    // do its one job. An emergency rollback goes on without the log (SPEC §4.2).
    if !(env.logged)() && !env.flags.emergency {
        return Err(StepError::Failed {
            message: "its line could not be written to the reliability log".to_string(),
            tail: Vec::new(),
        });
    }
    Ok(Effect::Continue)
}

pub fn describe(message: &Text) -> String {
    format!("log: {message}")
}

//! `pause`: a manual gate. The step itself only asks the run to stop; whether it does
//! (or `--full` goes through) is the engine's decision.

use super::Effect;
use crate::plan::Text;

pub fn execute(reason: Option<&Text>) -> Effect {
    Effect::Pause {
        reason: reason.map(|r| r.shown().to_string()),
    }
}

pub fn describe(reason: Option<&Text>) -> String {
    match reason {
        Some(reason) => format!("pause: {reason}"),
        None => "pause until the next `rollout promote`".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_passed_on_masked() {
        let reason = Text::with_shown("approve s3cret", "approve ***");
        assert_eq!(
            execute(Some(&reason)),
            Effect::Pause {
                reason: Some("approve ***".into())
            }
        );
    }
}

//! A failure's cause, said once. The `✗` line of the step that failed says why; the
//! run's failure and the rollback that follows then name the step, not the cause again.

use crate::event::{Event, EventKind, StepStatus};

use super::message::Message;

/// What the last failed step said, to keep the lines after it from repeating it.
#[derive(Default)]
pub struct Causes {
    said: Option<String>,
}

impl Causes {
    /// `message` for `event`, without a cause that was already said.
    pub fn said_once(&mut self, event: &Event, mut message: Message) -> Message {
        match &event.kind {
            EventKind::StepFinished {
                status: StepStatus::Failed,
                error: Some(error),
                ..
            } => self.said = Some(error.clone()),
            EventKind::RunFailed { step, error, .. } => {
                if self.said.as_deref() == Some(error.as_str()) {
                    message.text = format!("run failed at `{step}` (the cause is above)");
                }
                self.said = Some(error.clone());
            }
            EventKind::RollbackStarted {
                emergency: false,
                reason,
            } => {
                if let Some(said) = &self.said
                    && let Some(head) = reason.strip_suffix(&format!(": {said}"))
                {
                    message.text = format!("rolling back: {head}");
                }
            }
            _ => {}
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Mode;
    use crate::plan::Section;

    fn event(kind: EventKind) -> Event {
        Event {
            ts: chrono::Utc::now(),
            runbook: "app".into(),
            run_id: "r-1".into(),
            kind,
        }
    }

    fn said(causes: &mut Causes, kind: EventKind) -> String {
        let e = event(kind);
        let m =
            super::super::message::message(&e, super::super::Verbosity::Normal).expect("a message");
        causes.said_once(&e, m).text
    }

    #[test]
    fn the_cause_is_said_on_the_failed_step_only() {
        let mut c = Causes::default();
        let _ = said(
            &mut c,
            EventKind::RunStarted {
                mode: Mode::Promote,
                steps: 1,
                from_step: None,
            },
        );
        let step = said(
            &mut c,
            EventKind::StepFinished {
                observed: Vec::new(),
                section: Section::Steps,
                step: "smoke".into(),
                kind: "smoke".into(),
                status: StepStatus::Failed,
                duration_ms: 10,
                attempts: 1,
                error: Some("`./smoke.sh` exited with 1".into()),
                tail: vec![],
            },
        );
        assert!(step.contains("`./smoke.sh` exited with 1"), "{step}");
        let run = said(
            &mut c,
            EventKind::RunFailed {
                step: "smoke".into(),
                error: "`./smoke.sh` exited with 1".into(),
                next: None,
            },
        );
        assert_eq!(run, "run failed at `smoke` (the cause is above)");
        let rollback = said(
            &mut c,
            EventKind::RollbackStarted {
                emergency: false,
                reason: "step `smoke` failed: `./smoke.sh` exited with 1".into(),
            },
        );
        assert_eq!(rollback, "rolling back: step `smoke` failed");
        // A cause nobody said yet is said in full.
        let mut fresh = Causes::default();
        let run = said(
            &mut fresh,
            EventKind::RunFailed {
                step: "preflight".into(),
                error: "preflight failed: tests".into(),
                next: None,
            },
        );
        assert!(run.contains("preflight failed: tests"), "{run}");
    }
}

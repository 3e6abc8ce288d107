//! `notify`: POSTs `{"text": message}` (Slack-compatible) to a webhook, with a bounded
//! timeout. It fails softly by default (`continue_on_error`), so a dead chat service
//! never blocks a rollout or a rollback. The webhook URL is shown only masked.

use std::time::Duration;

use super::http_client::{self, Request};
use super::probe::{excerpt, millis};
use super::{Effect, StepEnv, StepError};
use crate::plan::NotifySpec;

/// The longest a webhook may take, whatever the step's timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn execute(env: &StepEnv<'_>, spec: &NotifySpec) -> Result<Effect, StepError> {
    let timeout = REQUEST_TIMEOUT.min(env.remaining());
    let body = serde_json::json!({ "text": spec.message.value() });
    let request = Request {
        method: "POST",
        url: spec.webhook.value(),
        headers: &[],
        json: Some(&body),
        timeout,
    };
    let sent = tokio::select! {
        sent = http_client::send(&request) => sent,
        _ = env.interrupt.wait() => return Err(StepError::Interrupted),
    };
    let redact = |text: String| env.plan.redactor.redact(&text).into_owned();
    match sent {
        Ok(answer) if (200..300).contains(&answer.status) => {
            let note = answer
                .note
                .map(|note| format!(" ({note})"))
                .unwrap_or_default();
            env.say(redact(format!(
                "POST {} → {} in {}{note}",
                spec.webhook.shown(),
                answer.status,
                millis(answer.latency)
            )));
            Ok(Effect::Continue)
        }
        Ok(answer) => Err(StepError::Failed {
            message: redact(format!(
                "the webhook {} answered {}: {}",
                spec.webhook.shown(),
                answer.status,
                excerpt(&answer.body)
            )),
            tail: Vec::new(),
        }),
        Err(reason) => Err(StepError::Failed {
            message: redact(format!(
                "the webhook {} failed: {reason}",
                spec.webhook.shown()
            )),
            tail: Vec::new(),
        }),
    }
}

pub fn describe(spec: &NotifySpec) -> String {
    format!(
        "POST {} text: {}",
        spec.webhook.shown(),
        spec.message.shown()
    )
}

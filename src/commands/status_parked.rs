//! What `status` says about a run that waits (SPEC §3, §4.3): why (the pause's reason,
//! the bake's end and last check with each watch's value, the window's next opening,
//! absolute in its time zone and relative), the next step, and the exact command that
//! goes on.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::engine::state::{RunState, RunStatus};
use crate::plan::{Plan, StepKind};
use crate::steps::window::opening_in_words;

/// What a stopped run waits for, the step after it, and the command that goes on.
pub struct Waits {
    /// One line: "the bake `bake 10%` to end 2026-12-05 10:00:00Z (in 1d 22h)".
    pub why: Option<String>,
    /// Further lines: a bake's last check, one watch a line.
    pub detail: Vec<String>,
    pub next_step: Option<String>,
    /// The commands that go on (or end the run), the first being the way forward.
    pub commands: Vec<String>,
}

/// The one-line summary of a parked run (for `status --watch`).
pub fn summary(state: &RunState, now: DateTime<Utc>) -> Option<String> {
    waits(state, None, now).why
}

/// What `state` (of the runbook `plan`, when it loads) waits for at `now`.
pub fn waits(state: &RunState, plan: Option<&Plan>, now: DateTime<Utc>) -> Waits {
    let name = &state.runbook;
    let at = state.at_step.as_deref().unwrap_or_default();
    let after = |at: &str| -> Option<String> {
        let plan = plan?;
        let index = plan.step_index(at)?;
        plan.steps.get(index + 1).map(|s| s.name.clone())
    };
    let mut w = Waits {
        why: None,
        detail: Vec::new(),
        next_step: None,
        commands: Vec::new(),
    };
    match state.status {
        RunStatus::Paused => {
            let reason = plan
                .and_then(|p| p.steps.iter().find(|s| s.name == at))
                .and_then(|s| match &s.kind {
                    StepKind::Pause { reason } => reason.as_ref().map(|r| r.shown().to_string()),
                    _ => None,
                });
            w.why = Some(match reason {
                Some(reason) => format!("the pause `{at}`: {reason}"),
                None => format!("the pause `{at}`"),
            });
            w.next_step = after(at);
            w.commands.push(format!("rollout promote {name}"));
        }
        RunStatus::Baking => {
            let parked = state.parked.as_ref();
            let until = parked.and_then(|p| p.until);
            w.why = Some(match until {
                Some(until) if until > now => format!(
                    "the bake `{at}` to end {} (in {})",
                    until.format("%Y-%m-%d %H:%M:%SZ"),
                    crate::clock::span_in_words(until - now)
                ),
                Some(until) => format!(
                    "the bake `{at}` ended {}: the next promote checks the watches once more and goes on",
                    until.format("%Y-%m-%d %H:%M:%SZ")
                ),
                None => format!("the bake `{at}`"),
            });
            if let Some(check) = parked.and_then(|p| p.last_check.as_ref()) {
                w.detail.push(format!(
                    "last check {} ({} ago){}",
                    check.at.format("%Y-%m-%d %H:%M:%SZ"),
                    crate::clock::span_in_words(now - check.at),
                    if check.watches.is_empty() {
                        ": no watches"
                    } else {
                        ":"
                    }
                ));
                for watch in &check.watches {
                    let verdict = if watch.ok {
                        "ok".to_string()
                    } else {
                        format!(
                            "BAD, {} of {} in a row",
                            watch.failures, watch.failures_allowed
                        )
                    };
                    w.detail.push(format!(
                        "  {} = {} ({verdict}; {})",
                        watch.watch, watch.value, watch.threshold
                    ));
                }
            }
            w.next_step = after(at);
            w.commands.push(format!("rollout promote {name} --yes"));
            w.commands
                .push(format!("rollout promote {name} --yes --wait"));
        }
        RunStatus::Waiting => {
            let parked = state.parked.as_ref();
            let opening = parked.and_then(|p| Some((p.opens_at?, p.tz.clone()?)));
            w.why = Some(match opening {
                Some((open, tz)) => format!(
                    "the window `{at}` to open: {}",
                    opening_in_words(open, &tz, now)
                ),
                None => format!(
                    "the window `{at}`: {}",
                    parked
                        .and_then(|p| p.message.clone())
                        .unwrap_or_else(|| "closed".to_string())
                ),
            });
            w.next_step = after(at);
            w.commands.push(format!("rollout promote {name} --yes"));
            w.commands
                .push(format!("rollout promote {name} --yes --wait"));
        }
        RunStatus::Failed if !state.changed => {
            w.commands.push(format!("rollout promote {name}"));
        }
        RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => {
            w.next_step = state.at_step.clone();
            w.commands.push(format!("rollout resume {name}"));
            w.commands.push(format!("rollout rollback {name}"));
            w.commands.push(format!(
                "rollout abandon {name}{}",
                if state.changed { " --force" } else { "" }
            ));
        }
        RunStatus::RollbackFailed => {
            w.commands.push(format!("rollout rollback {name}"));
            w.commands
                .push(format!("rollout rollback {name} --emergency"));
        }
        RunStatus::Completed | RunStatus::RolledBack | RunStatus::Abandoned => {
            w.commands.push(format!("rollout promote {name}"));
        }
    }
    w
}

/// The text rows of `status` for these waits.
pub fn lines(w: &Waits, status: RunStatus) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = &w.why {
        out.push(format!("  waits for: {why}"));
    }
    for line in &w.detail {
        out.push(format!("  {line}"));
    }
    if let Some(next) = &w.next_step {
        out.push(format!("  next step: {next}"));
    }
    let Some((first, rest)) = w.commands.split_first() else {
        return out;
    };
    let verb = match status {
        RunStatus::Completed | RunStatus::RolledBack | RunStatus::Abandoned => "a new run",
        RunStatus::Failed if w.next_step.is_none() => "over (it changed nothing); a new run",
        RunStatus::RollbackFailed => "make it safe",
        _ => "go on",
    };
    out.push(format!("  {verb}: {first}"));
    for other in rest {
        let label = if other.contains("--wait") {
            "or hold it in the foreground"
        } else if other.contains("abandon") {
            "or end it as it is"
        } else if other.contains("rollback") {
            "or undo it"
        } else {
            "or"
        };
        out.push(format!("  {label}: {other}"));
    }
    out
}

/// `until` / `opens_at` (RFC 3339) of a parked run, as an object (empty otherwise), for
/// every JSON output that lists runs (SPEC §4.3).
pub fn until_fields(state: &RunState) -> Value {
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut fields = serde_json::Map::new();
    if let Some(parked) = state.parked.as_ref().filter(|_| state.status.is_parked()) {
        if let Some(until) = parked.until {
            fields.insert("until".into(), json!(rfc(until)));
        }
        if let Some(open) = parked.opens_at {
            fields.insert("opens_at".into(), json!(rfc(open)));
        }
    }
    Value::Object(fields)
}

/// The JSON fields of these waits: `until` / `opens_at` (RFC 3339), `waiting_for`,
/// `last_check`, `next_step`, `command`.
pub fn json_fields(state: &RunState, w: &Waits, doc: &mut Value) {
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    if let Some(parked) = state.parked.as_ref().filter(|_| state.status.is_parked()) {
        if let Some(until) = parked.until {
            doc["until"] = json!(rfc(until));
        }
        if let Some(open) = parked.opens_at {
            doc["opens_at"] = json!(rfc(open));
        }
        if let Some(check) = &parked.last_check {
            doc["last_check"] = serde_json::to_value(check).unwrap_or(Value::Null);
        }
    }
    doc["waiting_for"] = json!(w.why);
    doc["next_step"] = json!(w.next_step);
    doc["command"] = json!(w.commands.first());
}

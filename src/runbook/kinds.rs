//! The step kinds this build knows, the fields of each, and the parsers of the simple
//! ones (`soak`, `pause`, `log`); `run` and `smoke` live in `command.rs`.

use crate::plan::{BakeSpec, StepKind};

use super::build::Build;
use super::checks;
use super::command;
use super::platform;
use super::probe_fields;
use super::table::{Table, Wait};
use super::watch_fields;
use super::window_fields;

/// Fields every step has, whatever its kind.
pub(crate) const COMMON_FIELDS: &[&str] = &[
    "kind",
    "name",
    "adapter",
    "target",
    "timeout",
    "retries",
    "retry_delay",
    "confirm",
    "continue_on_error",
];

/// Each kind and its own fields. Adding a kind: a row here and an arm in [`parse`].
pub(crate) const KINDS: &[(&str, &[&str])] = &[
    ("run", command::FIELDS),
    ("smoke", command::FIELDS),
    ("soak", &["duration", "watch"]),
    ("pause", &["reason"]),
    ("log", &["message"]),
    ("auth", platform::AUTH),
    ("deploy", platform::DEPLOY),
    ("rollback", platform::ROLLBACK),
    ("restart", platform::RESTART),
    ("scale", platform::SCALE),
    ("promote", platform::PROMOTE),
    ("health", probe_fields::HEALTH_FIELDS),
    ("metrics", checks::METRICS_FIELDS),
    ("window", window_fields::FIELDS),
    ("approval", checks::APPROVAL_FIELDS),
    ("git", checks::GIT_FIELDS),
    ("notify", checks::NOTIFY_FIELDS),
    ("bake", &["duration", "watch", "interval"]),
];

/// The own fields of `kind`, if this build knows it.
pub(crate) fn fields(kind: &str) -> Option<&'static [&'static str]> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)
}

/// "run, smoke, soak, pause, log".
pub(crate) fn known_list() -> String {
    KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

/// Advice for a key that is not a field of this step but is one of another kind.
pub(crate) fn owner_help(key: &str) -> Option<String> {
    let owners: Vec<&str> = KINDS
        .iter()
        .filter(|(_, f)| f.contains(&key))
        .map(|(k, _)| *k)
        .collect();
    (!owners.is_empty()).then(|| format!("`{key}` is a field of {} steps", owners.join("/")))
}

/// The kind-specific part of a step whose `kind` is known. `None` when a field is
/// wrong (and reported).
pub(crate) fn parse(kind: &str, t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<StepKind> {
    match kind {
        "run" => command::parse(t, b).map(StepKind::Run),
        "smoke" => command::parse(t, b).map(StepKind::Smoke),
        "soak" => {
            let example = "\"30m\"";
            t.required_string("duration", example, &mut b.diagnostics)?;
            let duration = b.duration(t, "duration", Wait::Positive);
            let watches = watch_fields::watches(t, b)?;
            Some(StepKind::Soak {
                duration: duration?,
                watches,
            })
        }
        "bake" => {
            t.required_string(
                "duration",
                "\"48h\" (or \"{{bake}}\", to rehearse with --set bake=30s)",
                &mut b.diagnostics,
            )?;
            let duration = b.duration(t, "duration", Wait::Positive);
            let interval = b.duration(t, "interval", Wait::Positive);
            let watches = watch_fields::watches(t, b)?;
            if t.contains("interval") && interval.is_none() {
                return None;
            }
            Some(StepKind::Bake(Box::new(BakeSpec {
                duration: duration?,
                watches,
                interval: interval.unwrap_or(std::time::Duration::from_secs(60)),
            })))
        }
        "pause" => {
            let reason = match t.string("reason", &mut b.diagnostics) {
                Some(s) => Some(b.text(&s)?),
                None if t.contains("reason") => return None,
                None => None,
            };
            Some(StepKind::Pause { reason })
        }
        "log" => {
            let s = t.required_string("message", "\"deployed {{target}}\"", &mut b.diagnostics)?;
            Some(StepKind::Log {
                message: b.text(&s)?,
            })
        }
        "auth" | "deploy" | "rollback" | "restart" | "scale" | "promote" => {
            platform::parse(kind, t, b).map(|p| StepKind::Platform(Box::new(p)))
        }
        "health" => probe_fields::health(t, b).map(|s| StepKind::Health(Box::new(s))),
        "metrics" => checks::metrics(t, b).map(|s| StepKind::Metrics(Box::new(s))),
        "window" => window_fields::parse(t, b).map(|s| StepKind::Window(Box::new(s))),
        "approval" => checks::approval(t, b).map(|(from, role)| StepKind::Approval { from, role }),
        "git" => checks::git(t, b).map(|s| StepKind::Git(Box::new(s))),
        "notify" => checks::notify(t, b).map(|s| StepKind::Notify(Box::new(s))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_row_and_no_field_shadows_a_common_one() {
        for (kind, own) in KINDS {
            assert!(fields(kind).is_some());
            for f in *own {
                assert!(!COMMON_FIELDS.contains(f), "{kind}.{f}");
            }
        }
        assert!(known_list().starts_with("run, smoke, soak, pause, log"));
    }

    #[test]
    fn owner_help_names_the_kinds_that_have_the_field() {
        assert_eq!(
            owner_help("duration").as_deref(),
            Some("`duration` is a field of soak/bake steps")
        );
        assert_eq!(
            owner_help("cmd").as_deref(),
            Some("`cmd` is a field of run/smoke/auth/deploy/rollback/restart/scale/promote steps")
        );
        assert_eq!(owner_help("bogus"), None);
    }
}

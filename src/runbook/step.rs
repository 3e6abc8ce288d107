//! One entry of `[[preflight]]`, `[[steps]]`, `[[rollback]]` or `[[emergency]]`: the
//! fields every step has, then its kind's own.

use std::ops::Range;
use std::time::Duration;

use toml::de::DeValue;

use crate::plan::{LateValues, Section, Step, StepKind, Verb, late};

use super::Diagnostic;
use super::build::Build;
use super::kinds;
use super::suggest;
use super::table::{Table, Value, Wait, article};

/// A parsed step whose name may still have to be derived.
pub(crate) struct Parsed {
    /// `name` is empty until `step_names::assign` fills it in.
    pub step: Step,
    /// The explicit `name` and its span.
    pub explicit: Option<(String, Range<usize>)>,
    /// Where the step's table is, for problems found once every step is known.
    pub span: Range<usize>,
}

/// The default pause between tries (SPEC §2).
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// Parses entry `index` (1-based) of `section`. `None` when anything was wrong.
pub(crate) fn parse(
    b: &mut Build<'_>,
    section: Section,
    index: usize,
    value: &Value<'_>,
) -> Option<Parsed> {
    let source = b.source.clone();
    let mut what = format!("[[{section}]] #{index}");
    let DeValue::Table(inner) = value.get_ref() else {
        b.diagnostics.push(Diagnostic::at(
            &source,
            value.span(),
            format!(
                "{what} must be a table of step fields, not {}",
                article(value.get_ref().type_str())
            ),
        ));
        return None;
    };
    let mut t = Table::new(&source, inner, value.span(), what.clone());
    let d = &mut b.diagnostics;

    let explicit = match t.string("name", d) {
        Some(s) if s.text.trim().is_empty() || s.text.contains(char::is_control) => {
            d.push(t.error(s.span.clone(), "`name` must be a visible, one-line name"));
            None
        }
        Some(s) => {
            what = format!("{what} (\"{}\")", s.text);
            t.set_what(what.clone());
            Some((s.text.to_string(), s.span))
        }
        None => None,
    };

    let kind = kind(&t, d);
    let adapter = adapter(&t, d);
    let timeout = t.duration("timeout", Wait::Positive, d);
    let retries = retries(&t, d);
    let retry_delay = t.duration("retry_delay", Wait::ZeroOk, d);
    let confirm = t.bool("confirm", d);
    let continue_on_error = t.bool("continue_on_error", d);
    let target = match t.string("target", d) {
        Some(s) => b.text(&s),
        None => b.target.clone(),
    };

    let kind_name = kind?;
    let own = kinds::fields(kind_name).unwrap_or_default();
    let known: Vec<&str> = kinds::COMMON_FIELDS.iter().chain(own).copied().collect();
    t.reject_unknown(&known, kinds::owner_help, &mut b.diagnostics);
    // The late built-ins this step may use resolve to themselves here; the engine binds
    // them when the step runs (plan::late). `{{release}}` is the deploy's own, bound now.
    let late = late_names(section, kind_name);
    for name in late {
        b.resolver.scoped_builtin(name, Some(late::marker(name)));
    }
    let step_kind = kinds::parse(kind_name, &t, b);
    for name in late {
        b.resolver.scoped_builtin(name, None);
    }
    let step_kind = bind_release(step_kind?);
    if let (StepKind::Bake(_), Some(value)) = (&step_kind, t.get("timeout")) {
        b.diagnostics.push(
            t.error(
                value.span(),
                "a `bake` has no `timeout`: it parks the run, and its `duration` is how long it waits",
            )
            .with_help(Some("remove `timeout`; `duration` says when the bake may end".into())),
        );
        return None;
    }
    if matches!(step_kind, StepKind::Bake(_)) && section != Section::Steps {
        b.diagnostics.push(
            t.error(
                value.span(),
                format!("a `bake` parks the run between invocations: it belongs in [[steps]], not [[{section}]]"),
            )
            .with_help(Some("to wait in this process, use kind = \"soak\"".into())),
        );
        return None;
    }
    if step_kind.uses_late("release") {
        b.diagnostics.push(t.error(
            t.span(),
            format!(
                "{} uses `{{{{release}}}}` but names no release: add release = \"…\" (what it ships)",
                t.what()
            ),
        ));
        return None;
    }
    if let (StepKind::Soak { duration, .. }, Some(timeout), Some(value)) =
        (&step_kind, timeout, t.get("timeout"))
        && timeout < *duration
    {
        b.diagnostics.push(t.error(
            value.span(),
            format!(
                "`timeout` ({}) is shorter than the soak's `duration` ({}): the step could never pass",
                humantime::format_duration(timeout),
                humantime::format_duration(*duration)
            ),
        ));
        return None;
    }

    let failed_common = (t.contains("timeout") && timeout.is_none())
        || (t.contains("retry_delay") && retry_delay.is_none())
        || (t.contains("confirm") && confirm.is_none())
        || (t.contains("continue_on_error") && continue_on_error.is_none())
        || (t.contains("target") && target.is_none())
        || retries.is_none()
        || adapter.is_none();
    if failed_common {
        return None;
    }
    // A notification must never hold up a rollout or a rollback (SPEC §2).
    let soft_by_default = matches!(step_kind, StepKind::Notify(_));
    Some(Parsed {
        step: Step {
            name: String::new(),
            section,
            timeout: timeout.unwrap_or_else(|| step_kind.default_timeout()),
            kind: step_kind,
            adapter: adapter.flatten().or_else(|| b.adapter.clone()),
            target,
            retries: retries.unwrap_or(0),
            retry_delay: retry_delay.unwrap_or(RETRY_DELAY),
            confirm: confirm.unwrap_or(false),
            continue_on_error: continue_on_error.unwrap_or(soft_by_default),
            location: source.location(value.span()),
        },
        explicit,
        span: value.span(),
    })
}

/// The late built-ins (SPEC §2) a step of `kind` in `section` may use.
fn late_names(section: Section, kind: &str) -> &'static [&'static str] {
    const ROLLBACK: &[&str] = &["stable", "to", "reason"];
    const ROLLBACK_DEPLOY: &[&str] = &["stable", "to", "reason", "release"];
    let undoing = matches!(section, Section::Rollback | Section::Emergency);
    let texts = matches!(
        kind,
        "run"
            | "smoke"
            | "log"
            | "notify"
            | "pause"
            | "auth"
            | "rollback"
            | "restart"
            | "scale"
            | "promote"
    );
    match (undoing, kind) {
        (true, "deploy") => ROLLBACK_DEPLOY,
        (false, "deploy") => &["release"],
        (true, _) if texts => ROLLBACK,
        _ => &[],
    }
}

/// A deploy's `{{release}}` is what it ships (its `release`, else its `image`).
fn bind_release(kind: StepKind) -> StepKind {
    let shipped = match &kind {
        StepKind::Platform(p) => match &p.verb {
            Verb::Deploy(d) => d.shipped().cloned(),
            _ => return kind,
        },
        _ => return kind,
    };
    kind.bind_late(&LateValues {
        release: shipped,
        ..Default::default()
    })
}

/// The step's `kind`, if it is one this build knows.
fn kind<'a>(t: &Table<'a, '_>, d: &mut Vec<Diagnostic>) -> Option<&'a str> {
    if !t.contains("kind") {
        d.push(
            t.error(
                t.span(),
                format!("{} has no `kind`: add e.g. kind = \"run\"", t.what()),
            )
            .with_help(Some(format!("this build knows {}", kinds::known_list()))),
        );
        return None;
    }
    let s = t.string("kind", d)?;
    if kinds::fields(s.text).is_some() {
        return Some(s.text);
    }
    let names = kinds::KINDS.iter().map(|(k, _)| *k);
    d.push(
        t.error(
            s.span.clone(),
            format!(
                "unknown step kind `{}`; this build knows {}",
                s.text,
                kinds::known_list()
            ),
        )
        .with_help(suggest::did_you_mean(s.text, names)),
    );
    None
}

/// `Some(None)`: no `adapter`; `None`: a wrong one (reported).
fn adapter(t: &Table<'_, '_>, d: &mut Vec<Diagnostic>) -> Option<Option<String>> {
    if !t.contains("adapter") {
        return Some(None);
    }
    super::adapters::adapter_name(t, "adapter", d).map(Some)
}

/// `retries`, an integer ≥ 0. `None` only when it is written wrong.
fn retries(t: &Table<'_, '_>, d: &mut Vec<Diagnostic>) -> Option<u32> {
    if !t.contains("retries") {
        return Some(0);
    }
    let (n, span) = t.integer("retries", d)?;
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            d.push(t.error(
                span,
                format!("`retries` must be 0 or more (tries after the first failure), not {n}"),
            ));
            None
        }
    }
}

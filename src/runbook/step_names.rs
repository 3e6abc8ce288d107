//! Step names: explicit ones must be unique across all sections; the others are derived
//! from the kind and its command or wait, with ` #2`, ` #3` added until unique.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use crate::plan::{CommandLine, StepKind, Verb};

use super::diagnostic::Diagnostic;
use super::source::Source;
use super::step::Parsed;
use super::table::Value;

/// How much of a command a derived name keeps.
const MAX_COMMAND: usize = 48;

/// The name a step gets when it has none. Built from shown (masked) text only, so a
/// secret can never become part of a name.
pub(crate) fn derive(kind: &StepKind) -> String {
    match kind {
        StepKind::Run(spec) | StepKind::Smoke(spec) => {
            // A script reads better as itself than as `sh -c '…'`.
            let command = match &spec.line {
                CommandLine::Shell(script) => script.shown().to_string(),
                CommandLine::Argv(_) => spec.display(),
            };
            format!("{} {}", kind.name(), truncate(&command, MAX_COMMAND))
        }
        StepKind::Soak { duration, .. } => {
            format!("soak {}", humantime::format_duration(*duration))
        }
        StepKind::Bake(spec) => {
            format!("bake {}", humantime::format_duration(spec.duration))
        }
        StepKind::Pause { .. } | StepKind::Log { .. } => kind.name().to_string(),
        StepKind::Platform(p) => match (&p.cmd, &p.verb) {
            (Some(spec), _) => {
                format!("{} {}", kind.name(), truncate(&spec.display(), MAX_COMMAND))
            }
            (
                None,
                Verb::Promote {
                    label: Some(label), ..
                },
            ) => format!("promote {label}"),
            (
                None,
                Verb::Promote {
                    percent: Some(percent),
                    ..
                },
            ) => format!("promote {percent}%"),
            (None, Verb::Scale { count }) => format!("scale to {count}"),
            (None, _) => kind.name().to_string(),
        },
        StepKind::Health(spec) => match spec.probes.as_slice() {
            [one] => format!("health {}", truncate(one.url.shown(), MAX_COMMAND)),
            many => format!("health of {} URLs", many.len()),
        },
        StepKind::Metrics(spec) => format!(
            "metrics {}",
            truncate(spec.check.query.shown(), MAX_COMMAND)
        ),
        StepKind::Window(_)
        | StepKind::Approval { .. }
        | StepKind::Git(_)
        | StepKind::Notify(_) => kind.name().to_string(),
    }
}

/// The explicit `name` of a step entry, read even when the rest of the step is wrong,
/// so a duplicate is found whichever of the two has other problems.
pub(crate) fn explicit(value: &Value<'_>) -> Option<(String, Range<usize>)> {
    let name = value.get_ref().as_table()?.get("name")?;
    let text = name.get_ref().as_str()?;
    (!text.trim().is_empty()).then(|| (text.to_string(), name.span()))
}

/// Reports explicit names used twice (at the second), then fills in every parsed
/// step's name: its own, or a derived one that no other step has.
pub(crate) fn assign(
    steps: &mut [Parsed],
    explicit: &[(String, Range<usize>)],
    source: &Source,
    d: &mut Vec<Diagnostic>,
) {
    let mut first_at: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, span) in explicit {
        match first_at.get(name.as_str()) {
            Some(first) => d.push(
                Diagnostic::at(
                    source,
                    span.clone(),
                    format!(
                        "duplicate step name `{name}`: the step at line {first} has it already"
                    ),
                )
                .with_help(Some(
                    "step names must be unique across all sections; rename one".into(),
                )),
            ),
            None => {
                first_at.insert(name, source.position(span.clone()).line);
            }
        }
    }
    let mut taken: BTreeSet<String> = first_at.into_keys().map(str::to_string).collect();
    // The next suffix to try per base name, so 10,000 `run true` steps do not each
    // count up from #2 again (quadratic).
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    for parsed in steps.iter_mut() {
        parsed.step.name = match &parsed.explicit {
            Some((name, _)) => name.clone(),
            None => {
                let base = derive(&parsed.step.kind);
                let n = next_suffix.entry(base.clone()).or_insert(2);
                let mut name = base.clone();
                while taken.contains(&name) {
                    name = format!("{base} #{n}");
                    *n += 1;
                }
                taken.insert(name.clone());
                name
            }
        };
    }
}

/// At most `max` characters, cut at a character boundary, with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_at_a_character_boundary() {
        assert_eq!(truncate("short", 48), "short");
        let long = "é".repeat(60);
        let cut = truncate(&long, 48);
        assert_eq!(cut.chars().count(), 49);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn soak_names_read_like_the_duration() {
        let kind = StepKind::Soak {
            duration: std::time::Duration::from_secs(5400),
            watches: Vec::new(),
        };
        assert_eq!(derive(&kind), "soak 1h 30m");
    }
}

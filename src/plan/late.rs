//! Built-ins known only when a step runs (SPEC §2 "Variables"): `{{stable}}`, `{{to}}`
//! and `{{reason}}` in `[[rollback]]` and `[[emergency]]`, `{{release}}` in a `deploy`.
//!
//! The loader resolves them to themselves (the text `{{to}}` stays in the argument it was
//! written in, after every other variable was substituted and the command was split), so
//! `show` and validation see them as written; the engine binds them just before the step
//! runs, when the pins and the reason are known. A step that still holds one when it
//! runs fails, naming it: a rollback never runs a command with a hole in it.

use super::{CommandLine, CommandSpec, Step, StepKind, Text, Verb};

/// The late built-ins, by name.
pub const NAMES: [&str; 4] = ["stable", "to", "reason", "release"];

/// `{{name}}`: what stands in the resolved text until the step is bound.
pub fn marker(name: &str) -> String {
    format!("{{{{{name}}}}}")
}

/// The values to bind; `None` leaves the built-in in place (to fail when run).
#[derive(Clone, Debug, Default)]
pub struct LateValues {
    pub stable: Option<Text>,
    pub to: Option<Text>,
    pub reason: Option<Text>,
    pub release: Option<Text>,
}

impl LateValues {
    fn get(&self, name: &str) -> Option<&Text> {
        match name {
            "stable" => self.stable.as_ref(),
            "to" => self.to.as_ref(),
            "reason" => self.reason.as_ref(),
            "release" => self.release.as_ref(),
            _ => None,
        }
    }
}

impl StepKind {
    /// This kind with every late built-in that has a value substituted.
    pub fn bind_late(&self, values: &LateValues) -> StepKind {
        let mut kind = self.clone();
        each_text(&mut kind, &mut |text| {
            for name in NAMES {
                if let Some(value) = values.get(name) {
                    *text = text.substitute(&marker(name), value);
                }
            }
        });
        kind
    }

    /// Whether `{{name}}` is in any of this kind's texts.
    pub fn uses_late(&self, name: &str) -> bool {
        let marker = marker(name);
        let mut found = false;
        each_text(&mut self.clone(), &mut |text| {
            found |= text.value().contains(&marker);
        });
        found
    }
}

impl Step {
    /// The late built-in this step still holds, if any (a step must not run then).
    pub fn unbound_late(&self) -> Option<&'static str> {
        NAMES.into_iter().find(|name| self.kind.uses_late(name))
    }
}

/// Calls `f` on every text a late built-in may be written in: commands (argv, script,
/// env), log and notify messages, a pause's reason, a rollback's `to`, a deploy's fields.
fn each_text(kind: &mut StepKind, f: &mut dyn FnMut(&mut Text)) {
    match kind {
        StepKind::Run(spec) | StepKind::Smoke(spec) => command(spec, f),
        StepKind::Log { message } => f(message),
        StepKind::Pause {
            reason: Some(reason),
        } => f(reason),
        StepKind::Notify(spec) => f(&mut spec.message),
        StepKind::Platform(p) => {
            if let Some(spec) = &mut p.cmd {
                command(spec, f);
            }
            match &mut p.verb {
                Verb::Rollback { to: Some(to) } => f(to),
                Verb::Deploy(d) => {
                    for text in [
                        &mut d.config,
                        &mut d.strategy,
                        &mut d.image,
                        &mut d.manifest,
                        &mut d.container,
                        &mut d.release,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        f(text);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

fn command(spec: &mut CommandSpec, f: &mut dyn FnMut(&mut Text)) {
    match &mut spec.line {
        CommandLine::Argv(args) => args.iter_mut().for_each(&mut *f),
        CommandLine::Shell(script) => f(script),
    }
    spec.env.iter_mut().for_each(|(_, value)| f(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> StepKind {
        StepKind::Run(CommandSpec {
            line: CommandLine::Argv(args.iter().map(|a| Text::plain(*a)).collect()),
            env: vec![("WHY".into(), Text::plain("{{reason}}"))],
            cwd: None,
            expect_exit: vec![0],
            expect_output: None,
        })
    }

    fn argv(kind: &StepKind) -> Vec<String> {
        match kind {
            StepKind::Run(spec) => spec.argv(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn binds_inside_one_argument_and_keeps_the_masked_form() {
        let kind = run(&["deploy-tool", "--release={{to}}", "{{stable}}"]);
        let values = LateValues {
            to: Some(Text::with_shown("reg.s3cret/app:1", "***/app:1")),
            reason: Some(Text::plain("smoke failed")),
            ..Default::default()
        };
        let bound = kind.bind_late(&values);
        assert_eq!(
            argv(&bound),
            ["deploy-tool", "--release=reg.s3cret/app:1", "{{stable}}"]
        );
        let StepKind::Run(spec) = &bound else {
            unreachable!()
        };
        assert_eq!(
            spec.display(),
            "WHY='smoke failed' deploy-tool '--release=***/app:1' {{stable}}"
        );
        assert!(bound.uses_late("stable"));
        assert!(!bound.uses_late("to"));
        assert!(!bound.uses_late("reason"));
    }

    #[test]
    fn a_kind_without_texts_holds_none() {
        let kind = StepKind::Soak {
            duration: std::time::Duration::from_secs(1),
            watches: Vec::new(),
        };
        assert!(NAMES.iter().all(|n| !kind.uses_late(n)));
    }
}

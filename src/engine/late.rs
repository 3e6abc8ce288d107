//! Binding a rollback or emergency step's late built-ins (`{{stable}}`, `{{to}}`,
//! `{{reason}}`, plan::late) just before it runs, from the run's pins, `--to` and the
//! rollback's reason.

use super::run::Engine;
use crate::plan::{LateValues, Step, StepKind, Text, Verb, late};

impl Engine {
    /// `step` with its late built-ins bound. `{{stable}}`: the release the run pinned for
    /// the step's target (else the one recorded before the current one); `{{to}}`:
    /// `--to`, else the step's `to`, else `{{stable}}`. One left without a value stays
    /// in a command, and the step fails saying so when it runs; a message says "none".
    ///
    /// A rollback `cmd` that uses `{{to}}` returns its target there: its bound `to` says
    /// so, and the step records it (SPEC §4.1: state never claims a release rollout did
    /// not set). One that does not use it has no `to`: its command never saw one.
    pub(super) fn bind_late(&self, step: &Step, reason: &str) -> Step {
        let key = step
            .target
            .as_ref()
            .map(|t| t.shown().to_string())
            .unwrap_or_else(|| self.session.plan.name.clone());
        let known = self.session.releases.get(&key);
        // A secret part is kept as `{{secret.NAME}}`: filled in from this run's secrets.
        let redactor = &self.session.plan.redactor;
        // A pin that found nothing (a first deploy) means no stable release; with no pin
        // at all (`--all` on a target no run pinned), the release before the current one.
        let stable = match &known.stable {
            Some(pin) => pin.release.clone(),
            None => known.previous.clone(),
        }
        .map(|release| redactor.from_refs(&release));
        let own_to = match &step.kind {
            StepKind::Platform(p) => match &p.verb {
                Verb::Rollback { to } => to.clone(),
                _ => None,
            },
            _ => None,
        };
        let to = match (&self.session.flags.rollback_to, own_to) {
            (Some(flag), _) => Some(Text::plain(flag)),
            (None, Some(own)) => Some(match &stable {
                Some(stable) => own.substitute(&late::marker("stable"), stable),
                None => own,
            }),
            (None, None) => stable.clone(),
        };
        // A message only tells: one about a target with no stable release says "none"
        // rather than failing the rollback. A command never runs with the hole.
        let message = matches!(
            step.kind,
            StepKind::Log { .. } | StepKind::Notify(_) | StepKind::Pause { .. }
        );
        let none = || message.then(|| Text::plain("none"));
        let values = LateValues {
            stable: stable.or_else(none),
            to: to.clone().or_else(none),
            reason: Some(Text::plain(reason)),
            release: None,
        };
        let mut bound = step.clone();
        bound.kind = step.kind.bind_late(&values);
        if let StepKind::Platform(p) = &mut bound.kind
            && p.cmd.is_some()
            && let Verb::Rollback { to: bound_to } = &mut p.verb
        {
            let used = match &step.kind {
                StepKind::Platform(original) => original
                    .cmd
                    .as_ref()
                    .is_some_and(|c| StepKind::Run(c.clone()).uses_late("to")),
                _ => false,
            };
            *bound_to = if used { to } else { None };
        }
        bound
    }
}

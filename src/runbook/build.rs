//! The state of turning one runbook file into a plan: its source, the resolver, the
//! runbook-wide defaults, and the diagnostics found so far.

use std::path::Path;
use std::sync::Arc;

use crate::plan::Text;

use super::diagnostic::Diagnostic;
use super::source::Source;
use super::table::{Str, Table, Wait};
use super::vars::Resolver;

pub(crate) struct Build<'a> {
    pub source: Arc<Source>,
    pub resolver: Resolver<'a>,
    pub diagnostics: Vec<Diagnostic>,
    /// Commands run here unless `cwd` says otherwise.
    pub root: &'a Path,
    /// The runbook's (or rollout.toml's) adapter, for steps that name none.
    pub adapter: Option<String>,
    /// The runbook's resolved target, for steps that name none.
    pub target: Option<Text>,
}

impl Build<'_> {
    /// A templated string field: `{{…}}` substituted, secrets masked in its shown form.
    pub fn text(&mut self, s: &Str<'_>) -> Option<Text> {
        self.resolver.text(&self.source, s, &mut self.diagnostics)
    }

    /// A duration that may be a template (SPEC §2: `duration = "{{bake}}"`, so a runbook
    /// is rehearsed with `--set bake=10s`): validated after substitution, at the field.
    pub fn duration(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        wait: Wait,
    ) -> Option<std::time::Duration> {
        let raw = t.get(key)?;
        let Some(text) = raw.get_ref().as_str().filter(|s| s.contains("{{")) else {
            return t.duration(key, wait, &mut self.diagnostics);
        };
        let s = Str {
            text,
            span: raw.span(),
        };
        let resolved = self.text(&s)?;
        if resolved.has_secret() {
            self.diagnostics
                .push(t.error(raw.span(), format!("`{key}` cannot come from a secret")));
            return None;
        }
        t.duration_text(
            key,
            resolved.value(),
            raw.span(),
            wait,
            &mut self.diagnostics,
        )
    }

    /// A `shell = true` script: values are shell-quoted as they are substituted.
    pub fn shell_text(&mut self, s: &Str<'_>) -> Option<Text> {
        self.resolver
            .shell_text(&self.source, s, &mut self.diagnostics)
    }

    /// A regex: values are regex-escaped as they are substituted.
    pub fn regex_text(&mut self, s: &Str<'_>) -> Option<Text> {
        self.resolver
            .regex_text(&self.source, s, &mut self.diagnostics)
    }

    /// A command string, split like a shell, then substituted argument by argument.
    pub fn args(&mut self, s: &Str<'_>) -> Option<Vec<Text>> {
        self.resolver.args(&self.source, s, &mut self.diagnostics)
    }

    /// A table of templated strings such as `env` or `headers`, empty when `key` is
    /// absent. A name `name_ok` refuses is reported as `not a valid {kind}`; a value
    /// `value_problem` finds fault with is reported at the value.
    pub fn text_map(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        kind: &str,
        name_ok: impl Fn(&str) -> bool,
        value_problem: impl Fn(&Text) -> Option<&'static str>,
    ) -> Option<Vec<(String, Text)>> {
        if !t.contains(key) {
            return Some(Vec::new());
        }
        let what = format!("`{key}` of {}", t.what());
        let table = t.table(key, &what, &mut self.diagnostics)?;
        let mut out = Vec::new();
        let mut ok = true;
        for (name, _) in table.entries() {
            if !name_ok(name.text) {
                self.diagnostics.push(t.error(
                    name.span.clone(),
                    format!("`{}` is not a valid {kind}", name.text),
                ));
                ok = false;
                continue;
            }
            let value = table
                .string(name.text, &mut self.diagnostics)
                .and_then(|s| {
                    let text = self.text(&s)?;
                    if let Some(problem) = value_problem(&text) {
                        self.diagnostics.push(t.error(s.span.clone(), problem));
                        return None;
                    }
                    Some(text)
                });
            match value {
                Some(text) => out.push((name.text.to_string(), text)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

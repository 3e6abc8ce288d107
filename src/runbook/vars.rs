//! Resolving `{{…}}`: `--set`, then `[vars]` (recursively, loops reported), then the
//! built-ins, `env.NAME` and `secret.NAME`. Every result is a [`Text`] whose shown
//! form has `***` for each secret, and every secret value is collected for the redactor.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;

use crate::plan::Text;
use crate::plan::limits::{MAX_DEPTH, MAX_EXPANSION};

use super::Strictness;
use super::diagnostic::Diagnostic;
use super::environment::{Environment, Missing};
use super::source::Source;
use super::suggest;
use super::table::Str;
use super::template::{self, Piece};

/// A `[vars]` entry as written: its template, and where (runbook or rollout.toml).
#[derive(Clone, Debug)]
pub struct VarDef {
    pub name: String,
    pub template: String,
    pub(crate) source: Arc<Source>,
    pub(crate) span: Range<usize>,
}

/// Everything a template may refer to.
pub(crate) struct Scope<'a> {
    pub sets: &'a [(String, String)],
    pub vars: BTreeMap<String, VarDef>,
    pub builtins: Vec<(&'static str, String)>,
    /// The runbook's top-level `target`, itself a template: `{{target}}`.
    pub target: Option<VarDef>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub strictness: Strictness,
}

/// How a value is spliced into its template.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Splice {
    /// As is: the template is one argument, a URL, a message.
    Raw,
    /// Shell-quoted: the template is a script for `sh -c`, and a value must stay data.
    Shell,
    /// Regex-escaped: the template is a regex (`expect_body`), and a value such as a
    /// version `1.4.2` must match itself, not any character for each `.`.
    Regex,
}

/// What a finished resolver hands back: secrets `(NAME, value)`, warnings, and unused
/// `--set` keys with their did-you-mean.
pub(crate) type Finished = (Vec<(String, String)>, Vec<String>, Vec<(String, String)>);

/// A resolved template, and the env vars and secrets it needed but did not find.
#[derive(Clone, Debug)]
struct Resolved {
    text: Text,
    missing: Vec<Missing>,
}

// The cache key of the runbook's own `target`, distinct from a `[vars]` entry `target`.
const TARGET_KEY: &str = "<target>";

/// Resolves templates against one [`Scope`], remembering what it found.
pub(crate) struct Resolver<'a> {
    scope: Scope<'a>,
    /// `None`: resolving it failed, and that was reported already.
    cache: HashMap<String, Option<Resolved>>,
    stack: Vec<String>,
    /// The names looked up, to spot `--set`s nothing uses.
    used: BTreeSet<String>,
    environment: Environment<'a>,
    /// A chain past [`MAX_DEPTH`] was reported: one long chain is one error, not one per
    /// 64 of its links.
    too_deep: bool,
}

impl<'a> Resolver<'a> {
    pub fn new(scope: Scope<'a>) -> Self {
        Resolver {
            environment: Environment::new(scope.env, scope.strictness),
            scope,
            cache: HashMap::new(),
            stack: Vec::new(),
            used: BTreeSet::new(),
            too_deep: false,
        }
    }

    /// A string field: one value, substituted as is.
    pub fn text(
        &mut self,
        source: &Arc<Source>,
        s: &Str<'_>,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Text> {
        self.whole(source, s, Splice::Raw, d)
    }

    /// A `shell = true` script: every value is shell-quoted as it goes in.
    pub fn shell_text(
        &mut self,
        source: &Arc<Source>,
        s: &Str<'_>,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Text> {
        self.whole(source, s, Splice::Shell, d)
    }

    /// A regex field: every value is regex-escaped as it goes in.
    pub fn regex_text(
        &mut self,
        source: &Arc<Source>,
        s: &Str<'_>,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Text> {
        self.whole(source, s, Splice::Regex, d)
    }

    /// A command string: split like a shell first, then each argument substituted.
    pub fn args(
        &mut self,
        source: &Arc<Source>,
        s: &Str<'_>,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Vec<Text>> {
        let words = match template::split_args(s.text) {
            Ok(words) => words,
            Err(err) => {
                // A bad quote has no one place: underline the whole value.
                let span = match err.offset {
                    template::WHOLE => s.span.clone(),
                    offset => {
                        let at = source.offset_in_string(&s.span, s.text, offset);
                        at..at + 2
                    }
                };
                d.push(Diagnostic::at(source, span, err.message));
                return None;
            }
        };
        let mut args = Vec::new();
        let mut ok = true;
        for pieces in words {
            let resolved = self.render(source, &s.span, s.text, &pieces, Splice::Raw, d);
            match resolved.and_then(|r| self.finish(r, d)) {
                Some(text) => args.push(text),
                None => ok = false,
            }
        }
        ok.then_some(args)
    }

    /// Sets (or with `None` removes) a built-in for the templates resolved next:
    /// `{{percent}}` exists only while one promote step is read.
    pub fn scoped_builtin(&mut self, name: &'static str, value: Option<String>) {
        self.scope.builtins.retain(|(b, _)| *b != name);
        if let Some(value) = value {
            self.scope.builtins.push((name, value));
        }
    }

    /// The runbook's target: what `{{target}}` is (`--set target=…`, a `[vars]` entry
    /// `target`, else the top-level `target`), so the plan and its templates agree.
    pub fn target(&mut self, d: &mut Vec<Diagnostic>) -> Option<Text> {
        let resolved = if let Some(text) = self.set_value("target") {
            plain_resolved(text)
        } else if let Some(def) = self.scope.vars.get("target").cloned() {
            self.resolve_def("target", def, d)?
        } else {
            let def = self.scope.target.clone()?;
            self.resolve_def(TARGET_KEY, def, d)?
        };
        self.finish(resolved, d)
    }

    /// Resolves every `[vars]` entry, so errors in unused ones are found too. Missing
    /// env vars and secrets only count where a variable is used.
    pub fn all_vars(&mut self, d: &mut Vec<Diagnostic>) -> BTreeMap<String, Text> {
        let defs: Vec<VarDef> = self.scope.vars.values().cloned().collect();
        let mut out = BTreeMap::new();
        for def in defs {
            let name = def.name.clone();
            let from_def = self.resolve_def(&name, def, d);
            let value = match self.set_value(&name) {
                Some(text) => Some(text),
                None => from_def.map(|r| r.text),
            };
            if let Some(text) = value {
                out.insert(name, text);
            }
        }
        out
    }

    /// The secrets met (`(NAME, value)`), the warnings (Describe mode) raised, and the
    /// `--set` keys nothing uses, each with its did-you-mean (or "") — also among the
    /// warnings.
    pub fn finish_up(self) -> Finished {
        let (secrets, mut warnings) = self.environment.into_parts();
        let mut known: Vec<&str> = self.scope.vars.keys().map(String::as_str).collect();
        known.extend(self.used.iter().map(String::as_str));
        let mut unused = Vec::new();
        for (key, _) in self.scope.sets {
            if !self.used.contains(key) && !self.scope.vars.contains_key(key) {
                let suggestion =
                    suggest::did_you_mean(key, known.iter().copied()).unwrap_or_default();
                let hint = if suggestion.is_empty() {
                    String::new()
                } else {
                    format!(" ({suggestion})")
                };
                let warning = format!("--set {key}=… is not used by this runbook{hint}");
                if !warnings.contains(&warning) {
                    unused.push((key.clone(), suggestion));
                    warnings.push(warning);
                }
            }
        }
        (secrets, warnings, unused)
    }

    fn whole(
        &mut self,
        source: &Arc<Source>,
        s: &Str<'_>,
        splice: Splice,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Text> {
        let pieces = match template::parse(s.text) {
            Ok(pieces) => pieces,
            Err(err) => {
                let at = source.offset_in_string(&s.span, s.text, err.offset);
                d.push(Diagnostic::at(source, at..at + 2, err.message));
                return None;
            }
        };
        let resolved = self.render(source, &s.span, s.text, &pieces, splice, d)?;
        self.finish(resolved, d)
    }

    fn finish(&mut self, resolved: Resolved, d: &mut Vec<Diagnostic>) -> Option<Text> {
        self.environment.settle(resolved.text, &resolved.missing, d)
    }

    /// Substitutes `pieces`, written in `content` at `span` of `source`.
    fn render(
        &mut self,
        source: &Arc<Source>,
        span: &Range<usize>,
        content: &str,
        pieces: &[Piece],
        splice: Splice,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Resolved> {
        let mut value = String::new();
        let mut shown = String::new();
        let mut missing = Vec::new();
        let mut ok = true;
        for piece in pieces {
            match piece {
                Piece::Lit(lit) => {
                    value.push_str(lit);
                    shown.push_str(lit);
                }
                Piece::Var { name, at } => {
                    let start = source.offset_in_string(span, content, at.start);
                    match self.lookup(name, source, start..start + at.len(), d) {
                        Some(found) => {
                            let (v, s) = (found.text.value(), found.text.shown());
                            match splice {
                                Splice::Shell => {
                                    value.push_str(&shell_words::quote(v));
                                    shown.push_str(&shell_words::quote(s));
                                }
                                Splice::Regex => {
                                    value.push_str(&regex::escape(v));
                                    shown.push_str(&regex::escape(s));
                                }
                                Splice::Raw => {
                                    value.push_str(v);
                                    shown.push_str(s);
                                }
                            }
                            missing.extend(found.missing);
                        }
                        None => ok = false,
                    }
                    // SPEC §4.5: `b = "{{a}}{{a}}"` thirty times over must cost a
                    // diagnostic, not gigabytes.
                    if value.len().max(shown.len()) > MAX_EXPANSION {
                        let what = self.stack.last().map_or_else(
                            || format!("`{name}`"),
                            |k| format!("`{}`", display_key(k)),
                        );
                        d.push(
                            Diagnostic::at(source, span.clone(), format!(
                                "the value of {what} grows past 1 MiB as its variables are expanded"
                            ))
                            .with_help(Some(
                                "variables that repeat other variables multiply their size; write the value out, or shorten the chain".into(),
                            )),
                        );
                        return None;
                    }
                }
            }
        }
        ok.then(|| Resolved {
            text: Text::with_shown(value, shown),
            missing,
        })
    }

    /// One `{{name}}`, written at `at` of `source`.
    fn lookup(
        &mut self,
        name: &str,
        source: &Arc<Source>,
        at: Range<usize>,
        d: &mut Vec<Diagnostic>,
    ) -> Option<Resolved> {
        if let Some((ns @ ("env" | "secret"), var)) = name.split_once('.') {
            let (text, missing) = self.environment.lookup(ns == "secret", var, source, at);
            return Some(Resolved {
                text,
                missing: missing.into_iter().collect(),
            });
        }
        if let Some(text) = self.set_value(name) {
            return Some(plain_resolved(text));
        }
        self.used.insert(name.to_string());
        if let Some(def) = self.scope.vars.get(name).cloned() {
            return self.resolve_def(name, def, d);
        }
        if let Some((_, value)) = self.scope.builtins.iter().find(|(b, _)| *b == name) {
            return Some(plain_resolved(Text::plain(value.clone())));
        }
        if name == "target" {
            if let Some(def) = self.scope.target.clone() {
                return self.resolve_def(TARGET_KEY, def, d);
            }
            d.push(
                Diagnostic::at(
                    source,
                    at,
                    "`{{target}}` is used but the runbook has no `target`",
                )
                .with_help(Some("add target = \"…\" at the top of the runbook".into())),
            );
            return None;
        }
        let mut known: Vec<&str> = self.scope.sets.iter().map(|(k, _)| k.as_str()).collect();
        known.extend(self.scope.vars.keys().map(String::as_str));
        known.extend(self.scope.builtins.iter().map(|(b, _)| *b));
        known.push("target");
        let help = match name {
            "stable" | "to" | "reason" => format!(
                "`{{{{{name}}}}}` is known in the steps of [[rollback]] and [[emergency]] (commands, messages, `to`), when the rollback runs"
            ),
            "release" => "`{{release}}` is known inside a `deploy` step: what it ships (its `release` or `image`)".to_string(),
            _ => suggest::did_you_mean(name, known)
                .unwrap_or_else(|| format!("define it under [vars], or pass --set {name}=VALUE")),
        };
        d.push(
            Diagnostic::at(source, at.clone(), format!("unknown variable `{name}`"))
                .with_help(Some(help)),
        );
        None
    }

    fn set_value(&mut self, name: &str) -> Option<Text> {
        // The last `--set` of a name wins, as with most CLIs.
        let (key, value) = self.scope.sets.iter().rev().find(|(k, _)| k == name)?;
        self.used.insert(key.clone());
        Some(Text::plain(value.clone()))
    }

    /// A `[vars]` entry (or the runbook's target), resolved once and cached.
    fn resolve_def(&mut self, key: &str, def: VarDef, d: &mut Vec<Diagnostic>) -> Option<Resolved> {
        if let Some(done) = self.cache.get(key) {
            return done.clone();
        }
        if let Some(start) = self.stack.iter().position(|k| k == key) {
            let mut cycle: Vec<&str> = self.stack[start..].iter().map(|k| display_key(k)).collect();
            cycle.push(display_key(key));
            d.push(
                Diagnostic::at(
                    &def.source,
                    def.span.clone(),
                    format!(
                        "variables refer to each other in a loop: {}",
                        cycle.join(" → ")
                    ),
                )
                .with_help(Some(
                    "give one of them a value that does not refer back".into(),
                )),
            );
            return None;
        }
        if self.stack.len() >= MAX_DEPTH {
            if std::mem::replace(&mut self.too_deep, true) {
                return None;
            }
            d.push(
                Diagnostic::at(
                    &def.source,
                    def.span.clone(),
                    format!(
                        "variable `{}` is reached through a chain of more than {MAX_DEPTH} variables ({} → …)",
                        display_key(key),
                        display_key(&self.stack[0])
                    ),
                )
                .with_help(Some("shorten the chain: let a variable hold its value directly".into())),
            );
            // Not cached: the same variable reached through a shorter chain is fine.
            return None;
        }
        self.stack.push(key.to_string());
        let resolved = match template::parse(&def.template) {
            Ok(pieces) => self.render(
                &def.source,
                &def.span,
                &def.template,
                &pieces,
                Splice::Raw,
                d,
            ),
            Err(err) => {
                let at = def
                    .source
                    .offset_in_string(&def.span, &def.template, err.offset);
                d.push(Diagnostic::at(&def.source, at..at + 2, err.message));
                None
            }
        };
        self.stack.pop();
        self.cache.insert(key.to_string(), resolved.clone());
        resolved
    }
}

fn plain_resolved(text: Text) -> Resolved {
    Resolved {
        text,
        missing: Vec::new(),
    }
}

fn display_key(key: &str) -> &str {
    if key == TARGET_KEY { "target" } else { key }
}

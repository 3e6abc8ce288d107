//! A whole runbook file into a [`Plan`]: the top-level keys, `[vars]`, `[adapters]`, and
//! the four step sections, collecting every problem rather than stopping at the first.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::plan::{Plan, Redactor, Section, Step};
use crate::project::Project;

use super::build::Build;
use super::diagnostic::Diagnostic;
use super::source::Source;
use super::table::{Table, article};
use super::vars::{Resolver, Scope, VarDef};
use super::{Context, Loaded, adapters, kinds, settings, step, step_names};

pub(crate) const TOP_KEYS: &[&str] = &[
    "description",
    "adapter",
    "target",
    "auto_rollback",
    "vars",
    "adapters",
    "preflight",
    "steps",
    "rollback",
    "emergency",
];

const SECTIONS: [Section; 4] = [
    Section::Preflight,
    Section::Steps,
    Section::Rollback,
    Section::Emergency,
];

/// Builds the plan of runbook `name` from `source`, or every problem found.
pub(crate) fn build(
    project: &Project,
    name: &str,
    source: Arc<Source>,
    cx: &Context<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let doc =
        DeTable::parse(&source.text).map_err(|err| vec![settings::syntax_error(&source, &err)])?;
    let top = Table::new(&source, doc.get_ref(), 0..0, "the top level");
    let mut d = Vec::new();
    let home = env("HOME");
    let root = project.root.as_path();

    let description = top
        .string("description", &mut d)
        .map(|s| s.text.to_string());
    let adapter = match top.contains("adapter") {
        true => adapters::adapter_name(&top, "adapter", &mut d),
        false => project.settings.adapter.clone(),
    };
    let target = top.string("target", &mut d).map(|s| VarDef {
        name: "target".into(),
        template: s.text.to_string(),
        source: source.clone(),
        span: s.span,
    });
    let auto_rollback = top
        .bool("auto_rollback", &mut d)
        .or(project.settings.auto_rollback)
        .unwrap_or(true);

    let mut vars: BTreeMap<String, VarDef> = BTreeMap::new();
    let own_vars = settings::vars(&top, &source, &mut d);
    for def in project.settings.vars.iter().cloned().chain(own_vars) {
        vars.insert(def.name.clone(), def);
    }
    let adapter_settings = merged_adapters(&top, project, root, home.as_deref(), &mut d);

    let mut resolver = Resolver::new(Scope {
        sets: cx.sets,
        vars,
        builtins: vec![
            ("runbook", name.to_string()),
            ("run_id", cx.run_id.to_string()),
            ("user", cx.user.to_string()),
            ("host", cx.host.to_string()),
            // The running binary, so a runbook can call `{{rollout}} demo-service …`
            // without rollout on PATH.
            ("rollout", rollout_binary()),
        ],
        target,
        env,
        strictness: cx.strictness,
    });
    let plan_vars = resolver.all_vars(&mut d);
    let plan_target = resolver.target(&mut d);

    let mut b = Build {
        source: source.clone(),
        resolver,
        diagnostics: d,
        root,
        adapter: adapter.clone(),
        target: plan_target.clone(),
    };
    let mut adapter_settings = adapter_settings;
    if let Some(argv) = templated_current_cmd(&top, &mut b) {
        adapter_settings
            .entry("exec".to_string())
            .or_default()
            .current_cmd = Some(argv);
    }
    let mut parsed = Vec::new();
    let mut explicit = Vec::new();
    for section in SECTIONS {
        for (index, value) in section_entries(&top, section, &mut b.diagnostics)
            .into_iter()
            .enumerate()
        {
            explicit.extend(step_names::explicit(value));
            if let Some(p) = step::parse(&mut b, section, index + 1, value) {
                parsed.push(p);
            }
        }
    }
    step_names::assign(&mut parsed, &explicit, &source, &mut b.diagnostics);
    top.reject_unknown(TOP_KEYS, top_level_help, &mut b.diagnostics);

    let (secrets, warnings, unused_sets) = b.resolver.finish_up();
    let mut d = b.diagnostics;
    compose_project(&parsed, &mut adapter_settings, root, &source, env, &mut d);
    if !d.is_empty() {
        // rollout.toml's problems (its vars) sort before the runbook's; each file in order.
        d.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        d.dedup();
        return Err(d);
    }
    let mut by_section: BTreeMap<&str, Vec<Step>> = BTreeMap::new();
    for mut p in parsed {
        super::platform::attach_settings(&mut p.step, &adapter_settings);
        by_section
            .entry(p.step.section.as_str())
            .or_default()
            .push(p.step);
    }
    let mut take = |s: Section| by_section.remove(s.as_str()).unwrap_or_default();
    Ok(Loaded {
        plan: Plan {
            name: name.to_string(),
            path: root.join(&source.file),
            root: root.to_path_buf(),
            description,
            adapter,
            target: plan_target,
            auto_rollback,
            preflight: take(Section::Preflight),
            steps: take(Section::Steps),
            rollback: take(Section::Rollback),
            emergency: take(Section::Emergency),
            redactor: Redactor::named(secrets),
            adapters: adapter_settings,
            vars: plan_vars,
        },
        warnings,
        unused_sets,
    })
}

/// The runbook's own `[adapters.exec] current_cmd`, templated like a `cmd` (split, then
/// substituted inside each argument); `{{target}}` stays, for the adapter to fill in with
/// each step's own target. A secret is refused: what reads a release needs none, and its
/// command line is shown.
fn templated_current_cmd(top: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<String>> {
    let mut ignored = Vec::new();
    let adapters = top.table("adapters", "[adapters]", &mut ignored)?;
    let exec = adapters.table("exec", "[adapters.exec]", &mut ignored)?;
    let value = exec.get("current_cmd")?;
    b.resolver
        .scoped_builtin("target", Some(crate::plan::late::marker("target")));
    let args = match value.get_ref() {
        DeValue::String(text) => b.args(&super::table::Str {
            text: text.as_ref(),
            span: value.span(),
        }),
        DeValue::Array(items) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(text) => b.text(&super::table::Str {
                    text: text.as_ref(),
                    span: item.span(),
                }),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    b.resolver.scoped_builtin("target", None);
    let args = args.filter(|a| !a.is_empty())?;
    if args.iter().any(|a| a.has_secret()) {
        b.diagnostics.push(exec.error(
            value.span(),
            "`current_cmd` cannot use a secret: it only reads which release runs, and its command line is shown",
        ));
        return None;
    }
    Some(args.iter().map(|a| a.value().to_string()).collect())
}

/// For a runbook with `compose` steps: the compose files and project name as compose
/// itself would find them (kept in the settings, so the adapter runs exactly those), and
/// each step's target checked against the services in them.
fn compose_project(
    parsed: &[step::Parsed],
    settings: &mut BTreeMap<String, crate::plan::AdapterSettings>,
    root: &Path,
    source: &Arc<Source>,
    env: &dyn Fn(&str) -> Option<String>,
    d: &mut Vec<Diagnostic>,
) {
    let compose_steps: Vec<&step::Parsed> = parsed
        .iter()
        .filter(|p| p.step.adapter.as_deref() == Some("compose"))
        .filter(|p| matches!(p.step.kind, crate::plan::StepKind::Platform(_)))
        .collect();
    if compose_steps.is_empty() {
        return;
    }
    let entry = settings.entry("compose".to_string()).or_default();
    let project = match super::compose_file::resolve(entry, root, env) {
        Ok(project) => project,
        Err(problems) => {
            d.extend(problems);
            return;
        }
    };
    for p in compose_steps {
        let Some(service) = p.step.target.as_ref() else {
            continue;
        };
        if service.has_secret() || project.services.iter().any(|s| s == service.value()) {
            continue;
        }
        let files: Vec<String> = project
            .files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
            .collect();
        d.push(
            Diagnostic::at(
                source,
                p.span.clone(),
                format!(
                    "service `{}` is not in {} (its services: {})",
                    service.shown(),
                    files.join(", "),
                    if project.services.is_empty() {
                        "none".to_string()
                    } else {
                        project.services.join(", ")
                    }
                ),
            )
            .with_help(super::suggest::did_you_mean(
                service.value(),
                project.services.iter().map(String::as_str),
            )),
        );
    }
    // Adapters run in the project root: files there are named relative to it, as a
    // person would type them (and as `show` prints them).
    entry.files = Some(
        project
            .files
            .into_iter()
            .map(|f| f.strip_prefix(root).map(Path::to_path_buf).unwrap_or(f))
            .collect(),
    );
    entry.project = Some(project.name);
}

/// The runbook's `[adapters.NAME]`, each merged over rollout.toml's.
fn merged_adapters(
    top: &Table<'_, '_>,
    project: &Project,
    root: &Path,
    home: Option<&str>,
    d: &mut Vec<Diagnostic>,
) -> BTreeMap<String, crate::plan::AdapterSettings> {
    let mut merged = project.settings.adapters.clone();
    if top.contains("adapters")
        && let Some(t) = top.table("adapters", "[adapters]", d)
    {
        for (name, own) in adapters::parse(&t, root, home, d) {
            let base = merged.remove(&name).unwrap_or_default();
            merged.insert(name, own.over(&base));
        }
    }
    merged
}

/// The entries of `[[section]]`; a single `[section]` table is an error.
fn section_entries<'a, 'i>(
    top: &Table<'a, 'i>,
    section: Section,
    d: &mut Vec<Diagnostic>,
) -> Vec<&'a super::table::Value<'i>> {
    let key = section.as_str();
    let Some(value) = top.get(key) else {
        return Vec::new();
    };
    match value.get_ref() {
        DeValue::Array(items) => items.iter().collect(),
        DeValue::Table(_) => {
            d.push(
                top.error(
                    value.span(),
                    format!("`{key}` must be an array of tables: write each step under its own [[{key}]] (double brackets)"),
                ),
            );
            Vec::new()
        }
        other => {
            d.push(top.error(
                value.span(),
                format!(
                    "`{key}` must be a list of steps written as [[{key}]] tables, not {}",
                    article(other.type_str())
                ),
            ));
            Vec::new()
        }
    }
}

fn top_level_help(key: &str) -> Option<String> {
    if key == "log" {
        return Some("`log` is a project setting: put it in rollout.toml".into());
    }
    let step_field = kinds::COMMON_FIELDS.contains(&key) || kinds::owner_help(key).is_some();
    step_field.then(|| format!("`{key}` is a step field: put it under a [[steps]] table"))
}

/// The path of the running `rollout`, or plain `rollout` when the OS cannot say.
fn rollout_binary() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "rollout".to_string())
}

//! `[vars]` (in a runbook or rollout.toml) and the whole of rollout.toml, the project's
//! defaults: `log`, `adapter`, `auto_rollback`, `[vars]`, `[adapters.NAME]`.

use std::path::Path;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::project::{BackendSettings, Settings};

use super::adapters;
use super::diagnostic::Diagnostic;
use super::source::Source;
use super::table::{Table, article};
use super::vars::VarDef;

/// The top-level keys of rollout.toml.
const PROJECT_KEYS: &[&str] = &[
    "log",
    "adapter",
    "auto_rollback",
    "vars",
    "adapters",
    "backend",
];
/// The keys of `[backend]` (SPEC §9).
const BACKEND_KEYS: &[&str] = &["url", "project", "schema"];

/// Every `[vars]` entry; values must be strings (templates themselves).
pub(crate) fn vars(
    top: &Table<'_, '_>,
    source: &Arc<Source>,
    d: &mut Vec<Diagnostic>,
) -> Vec<VarDef> {
    if !top.contains("vars") {
        return Vec::new();
    }
    let Some(table) = top.table("vars", "[vars]", d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.entries() {
        if key.text.contains('.') || key.text.is_empty() {
            d.push(table.error(
                key.span.clone(),
                format!(
                    "`{}` is not a variable name: use letters, digits, `_` and `-`",
                    key.text
                ),
            ));
            continue;
        }
        match value.get_ref() {
            DeValue::String(template) => out.push(VarDef {
                name: key.text.to_string(),
                template: template.to_string(),
                source: source.clone(),
                span: value.span(),
            }),
            other => d.push(
                table
                    .error(
                        value.span(),
                        format!(
                            "[vars] values must be strings, and `{}` is {}",
                            key.text,
                            article(other.type_str())
                        ),
                    )
                    .with_help(Some(format!("quote it: {} = \"…\"", key.text))),
            ),
        }
    }
    out
}

/// Parses rollout.toml at `root`. `home` expands `~/` in paths.
pub(crate) fn project(
    source: Arc<Source>,
    root: &Path,
    home: Option<&str>,
) -> Result<Settings, Vec<Diagnostic>> {
    let doc = match DeTable::parse(&source.text) {
        Ok(doc) => doc,
        Err(err) => return Err(vec![syntax_error(&source, &err)]),
    };
    let top = Table::new(&source, doc.get_ref(), 0..0, "rollout.toml");
    let mut d = Vec::new();
    let log = top.string("log", &mut d).and_then(|s| {
        if s.text.trim().is_empty() {
            d.push(top.error(s.span.clone(), "`log` is empty: give the log file's path"));
            return None;
        }
        Some(match (s.text.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => Path::new(home).join(rest),
            _ => root.join(s.text),
        })
    });
    let adapter = top
        .contains("adapter")
        .then(|| adapters::adapter_name(&top, "adapter", &mut d))
        .flatten();
    let auto_rollback = top.bool("auto_rollback", &mut d);
    let vars = vars(&top, &source, &mut d);
    let adapters = match top.contains("adapters") {
        true => match top.table("adapters", "[adapters]", &mut d) {
            Some(t) => adapters::parse(&t, root, home, &mut d),
            None => Default::default(),
        },
        false => Default::default(),
    };
    let backend = match top.contains("backend") {
        true => match top.table("backend", "[backend]", &mut d) {
            Some(t) => backend(&t, &mut d),
            None => Default::default(),
        },
        false => Default::default(),
    };
    top.reject_unknown(
        PROJECT_KEYS,
        |key| {
            matches!(
                key,
                "description" | "target" | "preflight" | "steps" | "rollback" | "emergency"
            )
            .then(|| format!("`{key}` belongs in a runbook (runbooks/NAME.toml), not rollout.toml"))
        },
        &mut d,
    );
    if !d.is_empty() {
        d.sort_by_key(|d| (d.line, d.col));
        return Err(d);
    }
    Ok(Settings {
        log,
        adapter,
        auto_rollback,
        vars,
        adapters,
        backend,
    })
}

/// `[backend]`: `url`, `project`, `schema`, each a non-empty string.
fn backend(table: &Table<'_, '_>, d: &mut Vec<Diagnostic>) -> BackendSettings {
    let url = non_empty(table, "url", d);
    let project = non_empty(table, "project", d);
    let schema = non_empty(table, "schema", d).and_then(|s| {
        if crate::store::postgres::is_identifier(s.text) {
            return Some(s);
        }
        d.push(
            table
                .error(s.span.clone(), format!("`{}` is not a schema name", s.text))
                .with_help(Some(
                    "use lowercase letters, digits and `_`, starting with a letter".into(),
                )),
        );
        None
    });
    table.reject_unknown(BACKEND_KEYS, |_| None, d);
    BackendSettings {
        url: url.map(|s| s.text.to_string()),
        project: project.map(|s| s.text.to_string()),
        schema: schema.map(|s| s.text.to_string()),
    }
}

fn non_empty<'a>(
    table: &Table<'a, '_>,
    key: &str,
    d: &mut Vec<Diagnostic>,
) -> Option<super::table::Str<'a>> {
    let s = table.string(key, d)?;
    if s.text.trim().is_empty() {
        d.push(table.error(s.span.clone(), format!("`{key}` is empty")));
        return None;
    }
    Some(s)
}

/// A TOML syntax error as a diagnostic.
pub(crate) fn syntax_error(source: &Source, err: &toml::de::Error) -> Diagnostic {
    let message = format!("invalid TOML: {}", err.message());
    match err.span().or_else(|| deepest_line(&source.text)) {
        Some(span) => Diagnostic::at(source, span, message),
        None => Diagnostic::file(source.file.clone(), message),
    }
}

/// Where a span-less error (toml's "recursion limit" for a key or header of thousands of
/// dotted parts) most likely is: the start of the line with the most nesting
/// characters. `None` for a file without any.
fn deepest_line(text: &str) -> Option<std::ops::Range<usize>> {
    let mut best: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let depth = line
            .bytes()
            .filter(|b| matches!(b, b'.' | b'[' | b'{'))
            .count();
        if depth > 0 && best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, offset));
        }
        offset += line.len();
    }
    best.map(|(_, at)| at..at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Settings, Vec<Diagnostic>> {
        project(
            Arc::new(Source::new("rollout.toml", text)),
            Path::new("/proj"),
            Some("/home/op"),
        )
    }

    #[test]
    fn reads_every_setting() {
        let s = settings(
            "log = \"feedback/reliability.md\"\nadapter = \"fly\"\nauto_rollback = false\n\
             [vars]\nregion = \"ams\"\n[adapters.fly]\nbin = \"/opt/fly\"\n",
        )
        .expect("valid");
        assert_eq!(
            s.log,
            Some(Path::new("/proj/feedback/reliability.md").to_path_buf())
        );
        assert_eq!(s.adapter.as_deref(), Some("fly"));
        assert_eq!(s.auto_rollback, Some(false));
        assert_eq!(s.vars[0].name, "region");
        assert_eq!(s.vars[0].template, "ams");
        assert_eq!(s.adapters["fly"].bin.as_deref(), Some("/opt/fly"));
    }

    #[test]
    fn reads_the_backend_and_checks_it() {
        let s = settings(
            "[backend]\nurl = \"postgres://ops@db/deploys\"\nproject = \"shop\"\nschema = \"team_rollout\"\n",
        )
        .expect("valid");
        assert_eq!(
            s.backend,
            BackendSettings {
                url: Some("postgres://ops@db/deploys".into()),
                project: Some("shop".into()),
                schema: Some("team_rollout".into()),
            }
        );
        assert_eq!(
            settings("").expect("valid").backend,
            BackendSettings::default()
        );
        let d =
            settings("[backend]\nurl = \"\"\nschema = \"Bad-Name\"\nprojet = \"x\"\n").unwrap_err();
        let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "`url` is empty",
                "`Bad-Name` is not a schema name",
                "unknown key `projet` in [backend]"
            ]
        );
        assert_eq!(d[2].help.as_deref(), Some("did you mean `project`?"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_with_positions() {
        let d = settings("lgo = \"x.log\"\nadapter = \"dokku\"\n[vars]\nn = 3\n").unwrap_err();
        assert_eq!(d.len(), 3);
        assert_eq!((d[0].line, d[0].col), (1, 1));
        assert_eq!(d[0].message, "unknown key `lgo` in rollout.toml");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `log`?"));
        assert_eq!((d[1].line, d[1].col), (2, 11));
        assert!(d[1].message.starts_with("unknown adapter `dokku`"));
        assert_eq!((d[2].line, d[2].col), (4, 5));
        assert_eq!(
            d[2].message,
            "[vars] values must be strings, and `n` is an integer"
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let d = settings("log = \n").unwrap_err();
        assert_eq!((d[0].line, d[0].col), (1, 7));
        assert!(
            d[0].message.starts_with("invalid TOML: "),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn runbook_keys_in_rollout_toml_say_where_they_belong() {
        let d = settings("target = \"app\"\n").unwrap_err();
        assert_eq!(
            d[0].help.as_deref(),
            Some("`target` belongs in a runbook (runbooks/NAME.toml), not rollout.toml")
        );
    }
}

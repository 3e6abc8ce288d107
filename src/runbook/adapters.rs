//! `adapter = "…"` and the `[adapters.NAME]` tables, in a runbook or in rollout.toml.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{ADAPTERS, AdapterSettings};

use super::diagnostic::Diagnostic;
use super::suggest;
use super::table::Table;

/// The settings each adapter accepts.
pub(crate) fn keys(adapter: &str) -> &'static [&'static str] {
    match adapter {
        "kubectl" => &["bin", "context", "namespace"],
        "systemctl" => &["bin", "user", "sudo", "current", "dropin_dir"],
        "exec" => &["bin", "current_cmd"],
        "compose" => &["bin", "file", "project"],
        _ => &["bin"],
    }
}

/// An adapter name at `key`, one of fly, kubectl, systemctl, exec.
pub(crate) fn adapter_name(
    t: &Table<'_, '_>,
    key: &str,
    d: &mut Vec<Diagnostic>,
) -> Option<String> {
    if let Some(value) = t.get(key).filter(|v| v.get_ref().is_table()) {
        // `[adapter.fly]` for `[adapters.fly]` is an easy slip.
        d.push(
            t.wrong_type(key, value, "an adapter name")
                .with_help(Some("adapter settings go under [adapters.NAME]".into())),
        );
        return None;
    }
    let s = t.string(key, d)?;
    if ADAPTERS.contains(&s.text) {
        return Some(s.text.to_string());
    }
    d.push(
        t.error(
            s.span.clone(),
            format!(
                "unknown adapter `{}`; use one of {}",
                s.text,
                ADAPTERS.join(", ")
            ),
        )
        .with_help(suggest::did_you_mean(s.text, ADAPTERS)),
    );
    None
}

/// The `[adapters]` table: one sub-table per adapter. `home` expands `~/` in paths.
pub(crate) fn parse(
    t: &Table<'_, '_>,
    root: &Path,
    home: Option<&str>,
    d: &mut Vec<Diagnostic>,
) -> BTreeMap<String, AdapterSettings> {
    let mut out = BTreeMap::new();
    for (name, _) in t.entries() {
        if !ADAPTERS.contains(&name.text) {
            d.push(
                t.error(
                    name.span.clone(),
                    format!(
                        "unknown adapter `{}` in [adapters]; use one of {}",
                        name.text,
                        ADAPTERS.join(", ")
                    ),
                )
                .with_help(suggest::did_you_mean(name.text, ADAPTERS)),
            );
            continue;
        }
        let what = format!("[adapters.{}]", name.text);
        let Some(table) = t.table(name.text, &what, d) else {
            continue;
        };
        let own = keys(name.text);
        table.reject_unknown(own, owner_help, d);
        let path = |key: &str, d: &mut Vec<Diagnostic>| {
            table
                .string(key, d)
                .map(|s| resolve_path(s.text, root, home))
        };
        let settings = AdapterSettings {
            bin: table
                .string("bin", d)
                .map(|s| resolve_bin(s.text, root, home)),
            context: table.string("context", d).map(|s| s.text.to_string()),
            namespace: table.string("namespace", d).map(|s| s.text.to_string()),
            user: table.bool("user", d),
            sudo: table.bool("sudo", d),
            current: path("current", d),
            dropin_dir: path("dropin_dir", d),
            current_cmd: current_cmd(&table, d),
            files: compose_files(&table, root, home, d),
            project: table.string("project", d).map(|s| s.text.to_string()),
        };
        if let (Some(dir), Some(value)) = (&settings.dropin_dir, table.get("dropin_dir"))
            && let Some(problem) = dropin_dir_problem(dir, home)
        {
            d.push(t.error(value.span(), problem));
        }
        out.insert(name.text.to_string(), settings);
    }
    out
}

/// `[adapters.exec] current_cmd`: a command line (split as a shell would, never run by
/// one) or an array of arguments.
fn current_cmd(t: &Table<'_, '_>, d: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let value = t.get("current_cmd")?;
    let argv = match value.get_ref() {
        toml::de::DeValue::String(text) => match shell_words::split(text) {
            Ok(words) => words,
            Err(e) => {
                d.push(t.error(
                    value.span(),
                    format!("`current_cmd` cannot be split into arguments: {e}"),
                ));
                return None;
            }
        },
        toml::de::DeValue::Array(items) => {
            let mut argv = Vec::new();
            for item in items {
                match item.get_ref().as_str() {
                    Some(arg) => argv.push(arg.to_string()),
                    None => {
                        d.push(t.error(item.span(), "`current_cmd` arguments must be strings"));
                        return None;
                    }
                }
            }
            argv
        }
        _ => {
            d.push(t.wrong_type(
                "current_cmd",
                value,
                "a command (a string or an array of strings)",
            ));
            return None;
        }
    };
    if argv.is_empty() {
        d.push(t.error(
            value.span(),
            "`current_cmd` is empty: give the command that prints the release a target runs",
        ));
        return None;
    }
    Some(argv)
}

/// `[adapters.compose] file`: one compose file or a list, relative to the project root.
fn compose_files(
    t: &Table<'_, '_>,
    root: &Path,
    home: Option<&str>,
    d: &mut Vec<Diagnostic>,
) -> Option<Vec<PathBuf>> {
    let value = t.get("file")?;
    let names: Vec<&str> = match value.get_ref() {
        toml::de::DeValue::String(text) => vec![text.as_ref()],
        toml::de::DeValue::Array(items) if !items.is_empty() => {
            let names: Vec<&str> = items.iter().filter_map(|i| i.get_ref().as_str()).collect();
            if names.len() != items.len() {
                d.push(t.error(value.span(), "`file` must list compose files as strings"));
                return None;
            }
            names
        }
        _ => {
            d.push(t.wrong_type("file", value, "a compose file, or a list of them"));
            return None;
        }
    };
    Some(
        names
            .into_iter()
            .map(|n| resolve_path(n, root, home))
            .collect(),
    )
}

/// Folders systemd reads unit files (and their `UNIT.d/` drop-ins) from: systemd.unit(5)
/// "Unit File Load Path", system and user, plus `$SYSTEMD_UNIT_PATH`, which systemd
/// itself honours.
fn unit_search_path(home: Option<&str>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [
        "/etc/systemd/system.control",
        "/run/systemd/system.control",
        "/run/systemd/transient",
        "/run/systemd/generator.early",
        "/etc/systemd/system",
        "/etc/systemd/system.attached",
        "/run/systemd/system",
        "/run/systemd/system.attached",
        "/run/systemd/generator",
        "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
        "/run/systemd/generator.late",
        "/etc/systemd/user",
        "/run/systemd/user",
        "/usr/local/lib/systemd/user",
        "/usr/lib/systemd/user",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if let Some(home) = home {
        for rel in [".config/systemd/user", ".local/share/systemd/user"] {
            dirs.push(Path::new(home).join(rel));
        }
    }
    if let Ok(extra) = std::env::var("SYSTEMD_UNIT_PATH") {
        dirs.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs
}

/// Why systemd would never read drop-ins from `dir`, if it would not: it must be a
/// `UNIT.d` folder directly inside one of the unit search path's folders.
fn dropin_dir_problem(dir: &Path, home: Option<&str>) -> Option<String> {
    let named_d = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.len() > 2 && n.ends_with(".d"));
    let parent = dir.parent();
    let search = unit_search_path(home);
    if named_d && parent.is_some_and(|p| search.iter().any(|s| s == p)) {
        return None;
    }
    Some(format!(
        "systemd would not read drop-ins from `{}`: `dropin_dir` must be a `UNIT.d` folder in systemd's unit search path, e.g. /etc/systemd/system/web.service.d (or ~/.config/systemd/user/web.service.d with user = true; $SYSTEMD_UNIT_PATH adds folders)",
        dir.display()
    ))
}

/// "`namespace` is a setting of [adapters.kubectl]".
fn owner_help(key: &str) -> Option<String> {
    ADAPTERS
        .iter()
        .find(|a| keys(a).contains(&key))
        .map(|a| format!("`{key}` is a setting of [adapters.{a}]"))
}

/// `~/x` → `$HOME/x`; relative paths are relative to the project root.
fn resolve_path(text: &str, root: &Path, home: Option<&str>) -> PathBuf {
    match (text.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => root.join(text.strip_prefix("./").unwrap_or(text)),
    }
}

/// Like [`resolve_path`], but a bare name stays a name, for the adapter to find on PATH.
fn resolve_bin(text: &str, root: &Path, home: Option<&str>) -> String {
    if text.contains('/') {
        resolve_path(text, root, home)
            .to_string_lossy()
            .into_owned()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::source::Source;
    use toml::de::DeTable;

    fn parse_text(text: &str) -> (BTreeMap<String, AdapterSettings>, Vec<Diagnostic>) {
        let source = Source::new("rollout.toml", text);
        let doc = DeTable::parse(&source.text).expect("test TOML parses");
        let top = Table::new(&source, doc.get_ref(), 0..0, "the top level");
        let mut d = Vec::new();
        let adapters = top
            .table("adapters", "[adapters]", &mut d)
            .expect("has [adapters]");
        let out = parse(&adapters, Path::new("/proj"), Some("/home/op"), &mut d);
        (out, d)
    }

    #[test]
    fn paths_expand_home_and_join_the_root() {
        let (out, d) = parse_text(
            "[adapters.fly]\nbin = \"~/.fly/bin/fly\"\n[adapters.kubectl]\nbin = \"kubectl\"\n\
             [adapters.systemctl]\nbin = \"./bin/systemctl\"\ncurrent = \"/srv/app/current\"\nuser = true\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(out["fly"].bin.as_deref(), Some("/home/op/.fly/bin/fly"));
        assert_eq!(out["kubectl"].bin.as_deref(), Some("kubectl"));
        assert_eq!(out["systemctl"].bin.as_deref(), Some("/proj/bin/systemctl"));
        assert_eq!(
            out["systemctl"].current,
            Some(PathBuf::from("/srv/app/current"))
        );
        assert_eq!(out["systemctl"].user, Some(true));
    }

    #[test]
    fn unknown_adapters_and_foreign_keys_are_errors() {
        let (_, d) =
            parse_text("[adapters.flyy]\nbin = \"x\"\n[adapters.fly]\nnamespace = \"prod\"\n");
        assert_eq!(d.len(), 2);
        let (flyy, ns) = if d[0].line == 1 {
            (&d[0], &d[1])
        } else {
            (&d[1], &d[0])
        };
        assert_eq!((flyy.line, flyy.col), (1, 11));
        assert_eq!(flyy.help.as_deref(), Some("did you mean `fly`?"));
        assert_eq!((ns.line, ns.col), (4, 1));
        assert_eq!(ns.message, "unknown key `namespace` in [adapters.fly]");
        assert_eq!(
            ns.help.as_deref(),
            Some("`namespace` is a setting of [adapters.kubectl]")
        );
    }
}

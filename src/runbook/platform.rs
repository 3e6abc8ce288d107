//! The fields of the platform steps (`auth`, `deploy`, `rollback`, `restart`, `scale`,
//! `promote`), checked against the step's adapter: a field the adapter does not use is
//! an error, and so is a step the adapter cannot run without `cmd`.

use std::collections::BTreeMap;

use crate::plan::{AdapterSettings, CommandSpec, Deploy, PlatformStep, Step, StepKind, Text, Verb};

use super::build::Build;
use super::command;
use super::table::Table;

/// What every platform step may have: `cmd` and its companions replace the default.
const CMD_FIELDS: &[&str] = &["cmd", "shell", "env", "cwd"];

pub(crate) const AUTH: &[&str] = CMD_FIELDS;
pub(crate) const RESTART: &[&str] = CMD_FIELDS;
pub(crate) const DEPLOY: &[&str] = &[
    "cmd",
    "shell",
    "env",
    "cwd",
    "config",
    "strategy",
    "image",
    "manifest",
    "container",
    "release",
    "build",
];
pub(crate) const ROLLBACK: &[&str] = &["cmd", "shell", "env", "cwd", "to"];
pub(crate) const SCALE: &[&str] = &["cmd", "shell", "env", "cwd", "count"];
pub(crate) const PROMOTE: &[&str] = &[
    "cmd", "shell", "env", "cwd", "percent", "flag", "flags", "label",
];

/// The platform step `kind`; `None` when anything is wrong (and reported).
pub(crate) fn parse(kind: &str, t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<PlatformStep> {
    let adapter = step_adapter(t, b);
    // `{{percent}}` is known inside a promote's fields only.
    // `percent` may be left out when `flags` say everything.
    let percent = if kind == "promote" && (t.contains("percent") || !t.contains("flags")) {
        Some(percent(t, b)?)
    } else {
        None
    };
    b.resolver
        .scoped_builtin("percent", percent.map(|p| p.to_string()));
    let cmd = cmd(t, b);
    let flags = if kind == "promote" {
        b.text_map(t, "flags", "environment variable name", is_env_name, |_| {
            None
        })
    } else {
        Some(Vec::new())
    };
    b.resolver.scoped_builtin("percent", None);
    let flags = flags?;
    let cmd = cmd?;
    let verb = match kind {
        "auth" => Verb::Auth,
        "restart" => Verb::Restart,
        "deploy" => Verb::Deploy(Box::new(deploy(t, b, adapter.as_deref(), cmd.is_some())?)),
        "rollback" => Verb::Rollback {
            to: optional_text(t, b, "to")?,
        },
        "scale" => Verb::Scale {
            count: count(t, b)?,
        },
        "promote" => {
            let flag = optional_text(t, b, "flag")?;
            // A name made from a secret is not checked here: the message would show it.
            if let Some(flag) = &flag
                && !flag.has_secret()
                && !is_env_name(flag.value())
            {
                let span = t.get("flag").map(|v| v.span()).unwrap_or(t.span());
                b.diagnostics.push(t.error(
                    span,
                    format!(
                        "`{}` is not a valid environment variable name",
                        flag.shown()
                    ),
                ));
                return None;
            }
            let label = optional_text(t, b, "label")?.map(|l| l.shown().to_string());
            if flag.is_none() && flags.is_empty() && cmd.is_none() {
                b.diagnostics.push(t.error(
                    t.span(),
                    format!(
                        "{} has no `flag`: add e.g. flag = \"CANARY_PERCENT\", or a `cmd` using {{{{percent}}}}",
                        t.what()
                    ),
                ));
                return None;
            }
            Verb::Promote {
                percent,
                flag,
                flags,
                label,
            }
        }
        _ => return None,
    };
    if cmd.is_none() && !adapter_ready(t, b, adapter.as_deref(), kind) {
        return None;
    }
    Some(PlatformStep {
        verb,
        cmd,
        settings: Default::default(),
    })
}

/// Gives a platform step its adapter's merged settings, once they are all known.
pub(crate) fn attach_settings(step: &mut Step, all: &BTreeMap<String, AdapterSettings>) {
    if let (StepKind::Platform(p), Some(adapter)) = (&mut step.kind, &step.adapter) {
        p.settings = all.get(adapter).cloned().unwrap_or_default();
    }
}

/// The step's adapter: its own `adapter`, else the runbook's.
fn step_adapter(t: &Table<'_, '_>, b: &Build<'_>) -> Option<String> {
    match t.get("adapter").and_then(|v| v.get_ref().as_str()) {
        Some(own) => Some(own.to_string()),
        None => b.adapter.clone(),
    }
}

/// `Some(None)` without `cmd`; `None` when `cmd` is wrong.
fn cmd(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Option<CommandSpec>> {
    if !t.contains("cmd") {
        for key in ["shell", "env", "cwd"] {
            if let Some(value) = t.get(key) {
                b.diagnostics.push(t.error(
                    value.span(),
                    format!("`{key}` only applies with `cmd`, which this step does not have"),
                ));
                return None;
            }
        }
        return Some(None);
    }
    command::parse(t, b).map(Some)
}

/// Without `cmd` the step needs an adapter that has a default for it, and a target.
fn adapter_ready(t: &Table<'_, '_>, b: &mut Build<'_>, adapter: Option<&str>, kind: &str) -> bool {
    let problem = match adapter {
        None => Some(format!(
            "{} needs an adapter: set adapter = \"fly\" (or kubectl, systemctl) at the top of the runbook or on the step, or give a `cmd`",
            t.what()
        )),
        Some("exec") => Some(format!(
            "{} uses the exec adapter, which has no default for `{kind}`: give a `cmd`",
            t.what()
        )),
        Some(_) if t.get("target").is_none() && b.target.is_none() => Some(format!(
            "{} has no target: set target = \"…\" at the top of the runbook or on the step",
            t.what()
        )),
        Some(_) => None,
    };
    match problem {
        Some(message) => {
            b.diagnostics.push(t.error(t.span(), message));
            false
        }
        None => true,
    }
}

fn deploy(
    t: &Table<'_, '_>,
    b: &mut Build<'_>,
    adapter: Option<&str>,
    has_cmd: bool,
) -> Option<Deploy> {
    let own: &[&str] = match adapter {
        Some("fly") => &["config", "strategy", "image"],
        Some("kubectl") => &["manifest", "image", "container"],
        Some("systemctl") => &["release"],
        Some("compose") => &["image", "build"],
        _ => &[
            "config",
            "strategy",
            "image",
            "manifest",
            "container",
            "release",
        ],
    };
    let mut ok = true;
    for key in [
        "config",
        "strategy",
        "image",
        "manifest",
        "container",
        "release",
        "build",
    ] {
        if let (Some(value), Some(adapter)) = (t.get(key), adapter)
            && !own.contains(&key)
            && !has_cmd
        {
            b.diagnostics.push(
                t.error(
                    value.span(),
                    format!("`{key}` is not a deploy field of the {adapter} adapter"),
                )
                .with_help(Some(format!(
                    "the {adapter} adapter's deploy takes {}",
                    own.join(", ")
                ))),
            );
            ok = false;
        }
    }
    let deploy = Deploy {
        config: optional_text(t, b, "config")?,
        strategy: optional_text(t, b, "strategy")?,
        image: optional_text(t, b, "image")?,
        manifest: optional_text(t, b, "manifest")?,
        container: optional_text(t, b, "container")?,
        release: optional_text(t, b, "release")?,
        build: match t.get("build") {
            Some(_) => t.bool("build", &mut b.diagnostics)?,
            None => false,
        },
    };
    if !ok {
        return None;
    }
    if has_cmd {
        return Some(deploy);
    }
    let missing = match adapter {
        Some("kubectl") => match (&deploy.manifest, &deploy.image, &deploy.container) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => None,
            (Some(_), _, _) => Some("either `manifest`, or `image` with `container`, not both"),
            (None, Some(_), None) => Some("`container` to go with `image`: container = \"app\""),
            (None, None, Some(_)) => {
                Some("`image` to go with `container`: image = \"repo/app:1.2\"")
            }
            (None, None, None) => Some(
                "`manifest` (a file or folder for kubectl apply -f), or `image` with `container`",
            ),
        },
        Some("compose") => match (&deploy.image, deploy.build) {
            (Some(_), true) => Some("either `image` or `build = true`, not both"),
            (None, false) => Some(
                "`image` (the image the service runs, e.g. image = \"reg/app:{{version}}\"), or build = true to build it from the compose file's `build:`",
            ),
            _ => None,
        },
        Some("systemctl") if deploy.release.is_none() => Some(
            "`release`: the directory to make current, e.g. release = \"/srv/app/releases/{{env.VERSION}}\"",
        ),
        _ => None,
    };
    if let Some(missing) = missing {
        b.diagnostics
            .push(t.error(t.span(), format!("{} needs {missing}", t.what())));
        return None;
    }
    Some(deploy)
}

/// `Some(None)` when absent; `None` when wrong (reported).
fn optional_text(t: &Table<'_, '_>, b: &mut Build<'_>, key: &str) -> Option<Option<Text>> {
    match t.string(key, &mut b.diagnostics) {
        Some(s) if s.text.trim().is_empty() => {
            b.diagnostics
                .push(t.error(s.span.clone(), format!("`{key}` is empty")));
            None
        }
        Some(s) => b.text(&s).map(Some),
        None if t.contains(key) => None,
        None => Some(None),
    }
}

fn percent(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<u8> {
    if !t.contains("percent") {
        b.diagnostics.push(t.error(
            t.span(),
            format!("{} has no `percent`: add e.g. percent = 25", t.what()),
        ));
        return None;
    }
    let (n, span) = t.integer("percent", &mut b.diagnostics)?;
    match u8::try_from(n).ok().filter(|p| *p <= 100) {
        Some(p) => Some(p),
        None => {
            b.diagnostics.push(t.error(
                span,
                format!("`percent` must be between 0 and 100, not {n}"),
            ));
            None
        }
    }
}

/// A name systemd, the shell and the platforms take as an environment variable:
/// letters, digits and `_`, not starting with a digit.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn count(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<u32> {
    if !t.contains("count") {
        b.diagnostics.push(t.error(
            t.span(),
            format!(
                "{} has no `count`: add e.g. count = 3 (0 stops it)",
                t.what()
            ),
        ));
        return None;
    }
    let (n, span) = t.integer("count", &mut b.diagnostics)?;
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            b.diagnostics.push(t.error(
                span,
                format!("`count` must be 0 or more instances, not {n}"),
            ));
            None
        }
    }
}

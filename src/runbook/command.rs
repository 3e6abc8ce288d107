//! The fields of `run` and `smoke` steps, into a [`CommandSpec`].

use regex::Regex;
use toml::de::DeValue;

use crate::plan::{CommandLine, CommandSpec, Text};

use super::build::Build;
use super::table::{Str, Table, article, integer};

/// The own fields of `run` and `smoke`.
pub(crate) const FIELDS: &[&str] = &["cmd", "shell", "env", "cwd", "expect_exit", "expect_output"];

/// Reads every field, reporting every problem; `None` if any was wrong.
pub(crate) fn parse(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<CommandSpec> {
    let shell = t.bool("shell", &mut b.diagnostics).unwrap_or(false);
    let line = line(t, shell, b);
    let env = env(t, b);
    let cwd = match t.string("cwd", &mut b.diagnostics) {
        Some(s) => match b.text(&s) {
            // A path is printed as is everywhere, so it cannot carry a secret.
            Some(cwd) if cwd.has_secret() => {
                b.diagnostics
                    .push(t.error(s.span.clone(), "`cwd` cannot contain a secret"));
                None
            }
            Some(cwd) => Some(Some(b.root.join(cwd.value()))),
            None => None,
        },
        None if t.contains("cwd") => None,
        None => Some(None),
    };
    let expect_exit = expect_exit(t, b);
    let expect_output = expect_output(t, b);
    Some(CommandSpec {
        line: line?,
        env: env?,
        cwd: cwd?,
        expect_exit: expect_exit?,
        expect_output: expect_output?,
    })
}

fn line(t: &Table<'_, '_>, shell: bool, b: &mut Build<'_>) -> Option<CommandLine> {
    let Some(value) = t.get("cmd") else {
        b.diagnostics.push(t.error(
            t.span(),
            format!(
                "{} has no `cmd`: add e.g. cmd = \"./deploy.sh --check\"",
                t.what()
            ),
        ));
        return None;
    };
    let empty = || format!("`cmd` in {} is empty: give the command to run", t.what());
    match value.get_ref() {
        DeValue::String(text) => {
            let s = Str {
                text: text.as_ref(),
                span: value.span(),
            };
            if s.text.trim().is_empty() {
                b.diagnostics.push(t.error(value.span(), empty()));
                return None;
            }
            if shell {
                return b.shell_text(&s).map(CommandLine::Shell);
            }
            let args = b.args(&s)?;
            if args.is_empty() {
                b.diagnostics.push(t.error(value.span(), empty()));
                return None;
            }
            Some(CommandLine::Argv(args))
        }
        DeValue::Array(items) => {
            if shell {
                b.diagnostics.push(t.error(
                    value.span(),
                    "with shell = true, `cmd` must be a string: the script for sh -c",
                ));
                return None;
            }
            if items.is_empty() {
                b.diagnostics.push(t.error(value.span(), empty()));
                return None;
            }
            let mut args = Vec::new();
            let mut ok = true;
            for item in items.iter() {
                let DeValue::String(text) = item.get_ref() else {
                    b.diagnostics.push(t.error(
                        item.span(),
                        format!(
                            "`cmd` items must be strings, not {}",
                            article(item.get_ref().type_str())
                        ),
                    ));
                    ok = false;
                    continue;
                };
                let s = Str {
                    text: text.as_ref(),
                    span: item.span(),
                };
                match b.text(&s) {
                    Some(arg) => args.push(arg),
                    None => ok = false,
                }
            }
            if ok && args.first().is_some_and(|a| a.value().is_empty()) {
                b.diagnostics.push(t.error(
                    value.span(),
                    "the program (the first item of `cmd`) is empty",
                ));
                return None;
            }
            ok.then_some(CommandLine::Argv(args))
        }
        _ => {
            b.diagnostics
                .push(t.wrong_type("cmd", value, "a string or an array of strings"));
            None
        }
    }
}

fn env(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<(String, Text)>> {
    b.text_map(
        t,
        "env",
        "environment variable name",
        |name| !name.is_empty() && !name.contains(['=', '\0']),
        |_| None,
    )
}

fn expect_exit(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Vec<i32>> {
    let Some(value) = t.get("expect_exit") else {
        return Some(vec![0]);
    };
    let mut codes = Vec::new();
    let mut ok = true;
    let mut one = |item: &toml::Spanned<DeValue<'_>>, b: &mut Build<'_>| match integer(item)
        .and_then(|n| i32::try_from(n).ok())
        .filter(|n| (0..=255).contains(n))
    {
        Some(code) => codes.push(code),
        None => {
            let message = if item.get_ref().is_integer() {
                "exit codes are 0 to 255".to_string()
            } else {
                format!(
                    "`expect_exit` must be an exit code or a list of them, not {}",
                    article(item.get_ref().type_str())
                )
            };
            b.diagnostics.push(t.error(item.span(), message));
            ok = false;
        }
    };
    match value.get_ref() {
        DeValue::Array(items) if items.is_empty() => {
            b.diagnostics.push(t.error(
                value.span(),
                "`expect_exit` is empty: list the exit codes that mean success, e.g. [0, 3]",
            ));
            return None;
        }
        DeValue::Array(items) => {
            for item in items.iter() {
                one(item, b);
            }
        }
        _ => one(value, b),
    }
    ok.then_some(codes)
}

fn expect_output(t: &Table<'_, '_>, b: &mut Build<'_>) -> Option<Option<Regex>> {
    let Some(s) = t.string("expect_output", &mut b.diagnostics) else {
        return (!t.contains("expect_output")).then_some(None);
    };
    match Regex::new(s.text) {
        Ok(re) => Some(Some(re)),
        Err(err) => {
            // regex's message spans lines with its own caret; keep only the verdict.
            let err = err.to_string();
            let reason = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ");
            b.diagnostics.push(t.error(
                s.span.clone(),
                format!("`expect_output` is not a valid regex: {reason}"),
            ));
            None
        }
    }
}

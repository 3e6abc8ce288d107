//! Files generated from the CLI definition and kept in the repository: the completion
//! scripts in `completions/`, the man pages `man/rollout*.1` and the runbook JSON Schema
//! `schema/runbook.json`. Each test fails when its file is stale; after any CLI or
//! runbook-field change, `UPDATE_GENERATED=1 cargo test --test e2e generated` rewrites
//! them all.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;

use crate::support::Bench;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Compares `path` with what the generator says it should hold (or rewrites it).
#[track_caller]
fn check_fresh(path: &Path, expected: &[u8]) {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, expected).unwrap();
        return;
    }
    let actual = fs::read(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale: run `UPDATE_GENERATED=1 cargo test generated` and commit it",
        path.display()
    );
}

#[test]
fn committed_completions_match_the_generator() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let file = match shell {
            "bash" => "rollout.bash",
            "zsh" => "_rollout",
            "fish" => "rollout.fish",
            "powershell" => "_rollout.ps1",
            _ => "rollout.elv",
        };
        check_fresh(&repo(&format!("completions/{file}")), &out.stdout);
    }
}

/// Every man page clap_mangen makes from the CLI — `rollout.1` and one per subcommand
/// (`rollout-promote.1`, `rollout-log-note.1`, …) — each ending in a SEE ALSO that
/// points at the others and at the hand-written `rollout-runbook.5`.
fn man_pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, pages);
        }
        let man = clap_mangen::Man::new(cmd.clone());
        let mut page = Vec::new();
        man.render(&mut page).unwrap();
        let me = man.get_filename();
        let mut see_also: Vec<String> = vec!["rollout-runbook(5)".into()];
        if me != "rollout.1" {
            see_also.insert(0, "rollout(1)".into());
        }
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_display_name().unwrap_or(sub.get_name());
            see_also.push(format!("{name}(1)"));
        }
        let roff: Vec<String> = see_also
            .iter()
            .map(|r| {
                let (name, section) = r.trim_end_matches(')').split_once('(').unwrap();
                format!(".BR {} ({})", name.replace('-', "\\-"), section)
            })
            .collect();
        page.extend_from_slice(format!(".SH \"SEE ALSO\"\n{}\n", roff.join(" ,\n")).as_bytes());
        pages.push((me, page));
    }
    let mut cmd = rollout::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    walk(&cmd, &mut pages);
    pages
}

#[test]
fn committed_man_pages_match_the_generator() {
    let pages = man_pages();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"rollout.1") && names.contains(&"rollout-promote.1"));
    assert!(names.contains(&"rollout-log-note.1"), "{names:?}");
    for (name, page) in &pages {
        check_fresh(&repo(&format!("man/{name}")), page);
    }
    // A page for a subcommand that is gone is stale too.
    for entry in fs::read_dir(repo("man")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if file.ends_with(".1") && !names.contains(&file.as_str()) {
            if std::env::var_os("UPDATE_GENERATED").is_some() {
                fs::remove_file(repo(&format!("man/{file}"))).unwrap();
            } else {
                panic!(
                    "man/{file} has no subcommand: run `UPDATE_GENERATED=1 cargo test generated`"
                );
            }
        }
    }
}

#[test]
fn committed_schema_matches_rollout_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    check_fresh(&repo("schema/runbook.json"), &out.stdout);
}

#[test]
fn every_positional_argument_has_help_text() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_positionals() {
            if arg.get_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&rollout::cli::Cli::command(), "rollout", &mut missing);
    assert!(missing.is_empty(), "no help text: {missing:?}");
}

/// The hand-written page covers what SPEC §8 asks of it, and names every subcommand.
#[test]
fn the_runbook_man_page_covers_the_reference() {
    let page = fs::read_to_string(repo("man/rollout-runbook.5")).unwrap();
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH ENVIRONMENT",
        ".SH \"LOG FORMAT\"",
        ".SH \"STEP KINDS\"",
    ] {
        assert!(page.contains(section), "{section}");
    }
    for kind in [
        "run", "smoke", "soak", "health", "metrics", "window", "notify",
    ] {
        assert!(page.contains(&format!(".B {kind}")), "{kind}");
    }
}

/// Runs the committed bash script's completion function as bash would on TAB, in `dir`.
fn bash_complete(dir: &Path, words: &[&str]) -> Option<Vec<String>> {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("skipped: bash is not installed");
        return None;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rollout")).parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_rollout rollout '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        repo("completions/rollout.bash").display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .output()
        .unwrap();
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn bash_completes_runbook_names_from_the_project() {
    let b = Bench::new();
    b.runbook("canary", "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\n")
        .runbook("web", "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\n");
    fs::create_dir_all(b.path("sub")).unwrap();
    let Some(found) = bash_complete(&b.path("sub"), &["rollout", "promote", "ca"]) else {
        return;
    };
    assert_eq!(found, vec!["canary"], "{found:?}");
    let found = bash_complete(b.root(), &["rollout", "show", ""]).unwrap();
    assert!(found.contains(&"canary".to_string()) && found.contains(&"web".to_string()));
}

#[test]
fn bash_completes_step_names_for_resume_from() {
    let b = Bench::new();
    b.runbook(
        "canary",
        "[[steps]]\nkind = \"soak\"\nname = \"bake\"\nduration = \"1s\"\n\n[[steps]]\nkind = \"pause\"\nname = \"gate\"\n",
    );
    let Some(found) = bash_complete(b.root(), &["rollout", "resume", "canary", "--from", ""])
    else {
        return;
    };
    assert_eq!(found, vec!["bake", "gate"], "{found:?}");
}

#[test]
fn bash_completes_subcommands() {
    let b = Bench::new();
    let Some(found) = bash_complete(b.root(), &["rollout", "pro"]) else {
        return;
    };
    assert_eq!(found, vec!["promote"], "{found:?}");
}

/// What fish offers after `line`, with the committed fish script loaded, or None (and
/// why) when fish is not installed.
fn fish_complete(dir: &Path, line: &str) -> Option<Vec<String>> {
    if Command::new("fish").arg("--version").output().is_err() {
        eprintln!("skipped: fish is not installed");
        return None;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rollout")).parent().unwrap();
    let script = format!(
        "source '{}'; complete -C '{line}'",
        repo("completions/rollout.fish").display()
    );
    let out = Command::new("fish")
        .args(["--no-config", "-c", &script])
        .current_dir(dir)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .output()
        .unwrap();
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect(),
    )
}

#[test]
fn fish_completes_runbook_and_step_names_from_the_project() {
    let b = Bench::new();
    b.runbook(
        "canary",
        "description = \"the canary\"\n[[steps]]\nkind = \"soak\"\nname = \"bake\"\nduration = \"1s\"\n",
    )
    .runbook("web", "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\n");
    let Some(found) = fish_complete(b.root(), "rollout promote ca") else {
        return;
    };
    assert_eq!(found, vec!["canary"], "{found:?}");
    let found = fish_complete(b.root(), "rollout resume canary --from ").unwrap();
    assert_eq!(found, vec!["bake"], "{found:?}");
}

/// Whether interactive zsh, with the committed `_rollout` loaded, turns `typed` + TAB into
/// a line containing `expected`; None (and why) when zsh is not installed. zsh runs in
/// a pseudo-terminal of its own (zpty), bounded by `timeout`.
fn zsh_completes(dir: &Path, typed: &str, expected: &str) -> Option<bool> {
    if Command::new("zsh").arg("--version").output().is_err() {
        eprintln!("skipped: zsh is not installed");
        return None;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rollout")).parent().unwrap();
    let script = format!(
        r#"zmodload zsh/zpty || exit 4
zpty z zsh -f -i
zpty -w z "PATH={bin}:\$PATH; PS1='> '; autoload -U compinit; compinit -u; source {completion}; cd {dir}; print READY"
zpty -r -m z out '*READY*' || exit 3
zpty -n -w z $'{typed}\t'
zpty -r -m z out '*{expected}*' && print COMPLETED
zpty -d z
"#,
        bin = bin_dir.display(),
        completion = repo("completions/_rollout").display(),
        dir = dir.display(),
    );
    let out = Command::new("timeout")
        .args(["4", "zsh", "-f", "-c", &script])
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).contains("COMPLETED"))
}

#[test]
fn zsh_completes_runbook_names_from_the_project() {
    let b = Bench::new();
    b.runbook("canary", "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\n")
        .runbook("web", "[[steps]]\nkind = \"soak\"\nduration = \"1s\"\n");
    let Some(done) = zsh_completes(b.root(), "rollout promote ca", "canary") else {
        return;
    };
    assert!(done, "zsh did not complete `ca` to `canary`");
    assert_eq!(
        zsh_completes(b.root(), "rollout show we", "web"),
        Some(true)
    );
    // Nothing to offer for a prefix no runbook has: the line stays as typed.
    assert_eq!(
        zsh_completes(b.root(), "rollout show zz", "zzz-none"),
        Some(false)
    );
}

/// Step names with spaces, for the tests below: `--from smoke test` must stay one word.
const SPACED: &str = "[[steps]]\nkind = \"soak\"\nname = \"smoke test\"\nduration = \"1s\"\n\n[[steps]]\nkind = \"pause\"\nname = \"gate\"\n";

#[test]
fn bash_completes_a_step_name_with_spaces_as_one_word() {
    let b = Bench::new();
    b.runbook("canary", SPACED);
    let Some(found) = bash_complete(b.root(), &["rollout", "resume", "canary", "--from", "smo"])
    else {
        return;
    };
    // bash inserts COMPREPLY verbatim: the backslash keeps the space inside the word.
    assert_eq!(found, vec!["smoke\\ test"], "{found:?}");
    let found = bash_complete(
        b.root(),
        &["rollout", "resume", "canary", "--from", "smoke\\ t"],
    )
    .unwrap();
    assert_eq!(found, vec!["smoke\\ test"], "{found:?}");
    let found = bash_complete(
        b.root(),
        &["rollout", "resume", "canary", "--from", "\"smo"],
    )
    .unwrap();
    assert_eq!(found, vec!["smoke\\ test"], "{found:?}");
    // What bash then runs: one argument.
    let out = Command::new("bash")
        .args(["-c", &format!("set -- {}; echo $#", found[0])])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[test]
fn fish_completes_a_step_name_with_spaces_as_one_word() {
    let b = Bench::new();
    b.runbook("canary", SPACED);
    let Some(found) = fish_complete(b.root(), "rollout resume canary --from smo") else {
        return;
    };
    assert_eq!(found, vec!["smoke test"], "{found:?}");
    let found = fish_complete(b.root(), "rollout resume canary --from smoke\\\\ t").unwrap();
    assert_eq!(found, vec!["smoke test"], "{found:?}");
}

#[test]
fn zsh_completes_a_step_name_with_spaces_as_one_word() {
    let b = Bench::new();
    b.runbook("canary", SPACED);
    // The glob `smoke\\ test` matches the line `… --from smoke\ test`: one quoted word.
    let Some(done) = zsh_completes(
        b.root(),
        "rollout resume canary --from smo",
        "--from smoke\\\\ test",
    ) else {
        return;
    };
    assert!(done, "zsh did not complete `smo` to `smoke\\ test`");
}

#[test]
fn bash_completes_the_new_flags() {
    let b = Bench::new();
    b.runbook("canary", SPACED);
    let Some(found) = bash_complete(b.root(), &["rollout", "status", "canary", "--wa"]) else {
        return;
    };
    assert_eq!(found, vec!["--watch"], "{found:?}");
    let found = bash_complete(b.root(), &["rollout", "sch"]).unwrap();
    assert_eq!(found, vec!["schema"], "{found:?}");
    let found = bash_complete(b.root(), &["rollout", "init", "--adapter", "e"]).unwrap();
    assert_eq!(found, vec!["exec"], "{found:?}");
}

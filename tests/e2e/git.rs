//! The `git` step against real repositories in temporary directories: rollout's own files
//! (`.rollout/`, the reliability log wherever it is inside the repository) never make the
//! tree dirty; git's stderr is never read as data; a detached HEAD at the branch's tip
//! passes.

use std::path::Path;
use std::process::Command;

use crate::support::Bench;

fn git_path() -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

/// Runs git in `dir`, failing the test if it fails; its stdout.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository at the bench's root with everything committed on `main`.
fn repo(bench: &Bench) {
    git(bench.root(), &["init", "-q", "-b", "main"]);
    git(bench.root(), &["add", "-A"]);
    git(bench.root(), &["commit", "-qm", "init"]);
}

/// A check in preflight, then a pause: each `promote` runs the check again, after the
/// run before it wrote state and log lines into the tree.
const CLEAN: &str = "[[preflight]]\nkind = \"git\"\nclean = true\nbranch = \"main\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"one\"\n\n[[steps]]\nkind = \"pause\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"two\"\n";

#[test]
fn rollouts_own_state_and_log_never_make_the_tree_dirty() {
    if git_path().is_none() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let bench = Bench::new();
    bench.runbook("app", CLEAN);
    repo(&bench);
    bench.run(&["promote", "app"]).status(0);
    assert!(bench.path(".rollout").is_dir() && bench.path("reliability.log").is_file());
    // No .gitignore: state and log are untracked files now, and still not "changes".
    bench
        .run(&["promote", "app"])
        .status(0)
        .stderr_has("app complete");
    // A real change is one, named; rollout's own files are not listed with it.
    bench.file("notes.txt", "x");
    let run = bench.run(&["promote", "app"]);
    run.status(1)
        .stderr_has("the working tree has 1 uncommitted change: notes.txt");
    assert!(!run.stderr().contains(".rollout/"), "{}", run.stderr());
}

#[test]
fn a_log_kept_elsewhere_in_the_repository_is_ignored_there_too() {
    if git_path().is_none() {
        eprintln!("skipped: git is not installed");
        return;
    }
    // The team commits its log (SPEC §1): a modified tracked file, in a subfolder.
    let bench = Bench::new();
    bench.runbook("app", CLEAN);
    bench.file("rollout.toml", "log = \"feedback/reliability.md\"\n");
    bench.file("feedback/reliability.md", "");
    repo(&bench);
    bench.run(&["promote", "app"]).status(0);
    assert!(git(bench.root(), &["status", "--porcelain"]).contains("feedback/reliability.md"));
    bench.run(&["promote", "app"]).status(0);
    // --log elsewhere: the default file name is no longer rollout's, so it counts.
    let bench = Bench::new();
    bench.runbook("app", CLEAN);
    repo(&bench);
    bench
        .run(&["promote", "app", "--log", "ops/deploys.log"])
        .status(0);
    bench
        .run(&["promote", "app", "--log", "ops/deploys.log"])
        .status(0);
    bench.file("reliability.log", "not rollout's this time\n");
    bench
        .run(&["promote", "app", "--log", "ops/deploys.log"])
        .status(1)
        .stderr_has("1 uncommitted change: reliability.log");
}

#[test]
fn a_project_in_a_subfolder_of_the_repository() {
    if git_path().is_none() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let bench = Bench::new();
    bench.file("deploy/runbooks/app.toml", CLEAN);
    bench.file("README", "the repository's own files\n");
    repo(&bench);
    bench.run(&["-C", "deploy", "promote", "app"]).status(0);
    assert!(bench.path("deploy/.rollout").is_dir());
    bench.run(&["-C", "deploy", "promote", "app"]).status(0);
    // A `.rollout/` that is not this project's is a change like any other.
    bench.file("other/.rollout/x", "y");
    bench
        .run(&["-C", "deploy", "promote", "app"])
        .status(1)
        .stderr_has("other/.rollout/x");
}

#[test]
fn gits_stderr_is_never_read_as_data() {
    let Some(real) = git_path() else {
        eprintln!("skipped: git is not installed");
        return;
    };
    let bench = Bench::new();
    bench.runbook(
        "app",
        "[[preflight]]\nkind = \"git\"\nclean = true\nbranch = \"main\"\ntag_pattern = \"v*\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"shipped\"\n",
    );
    // git first on PATH that also talks on stderr, as hooks, safe.directory warnings and
    // advice do; before this fix the lines were parsed as changes and as the branch name.
    bench.executable(
        "bin/git",
        &format!(
            "#!/bin/sh\necho 'warning: a line on stderr' >&2\necho ' M not-a-change.txt' >&2\nexec {real} \"$@\"\n"
        ),
    );
    repo(&bench);
    git(bench.root(), &["tag", "v1"]);
    bench
        .run(&["promote", "app", "--verbose"])
        .status(0)
        .stderr_has("working tree clean")
        .stderr_has("on branch main")
        .stderr_has("HEAD is tagged v1");
}

#[test]
fn a_detached_head_passes_only_at_the_tip_of_the_branch() {
    if git_path().is_none() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let bench = Bench::new();
    bench.runbook(
        "app",
        "[[preflight]]\nkind = \"git\"\nbranch = \"main\"\n\n[[steps]]\nkind = \"log\"\nmessage = \"shipped\"\n",
    );
    repo(&bench);
    let first = git(bench.root(), &["rev-parse", "HEAD"]);
    bench.file("more.txt", "more");
    git(bench.root(), &["add", "-A"]);
    git(bench.root(), &["commit", "-qm", "more"]);
    // As CI checks out: the commit, detached.
    git(bench.root(), &["checkout", "-q", "--detach", "main"]);
    bench
        .run(&["promote", "app", "--verbose"])
        .status(0)
        .stderr_has("HEAD is detached at the tip of main");
    git(bench.root(), &["checkout", "-q", "--detach", &first]);
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("HEAD is detached and is not the tip of branch `main`");
}

#[test]
fn outside_a_repository_git_says_why() {
    if git_path().is_none() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let bench = Bench::new();
    bench.runbook("app", CLEAN);
    // GIT_CEILING_DIRECTORIES keeps git from finding a repository above the temp dir.
    let parent = bench.root().parent().map(|p| p.display().to_string());
    bench
        .run_with(
            &["promote", "app"],
            &[("GIT_CEILING_DIRECTORIES", parent.as_deref().unwrap_or("/"))],
        )
        .status(1)
        .stderr_has("`git status --porcelain=v1 -z --untracked-files=all` failed in")
        .stderr_has("fatal: not a git repository");
}

//! `git`: checks of the project's working tree — no uncommitted changes, the expected
//! branch, a tag on HEAD matching a pattern — by running `git` (argv only) in the project
//! root and reading its stdout only. rollout's own files (`.rollout/` and the reliability
//! log, wherever it is inside the repository) never count as changes: the run itself
//! writes them.

use std::path::{Path, PathBuf};

use super::git_command::{GitOutput, git};
use super::{Effect, StepEnv, StepError};
use crate::plan::GitSpec;

pub async fn execute(env: &StepEnv<'_>, spec: &GitSpec) -> Result<Effect, StepError> {
    let mut problems = Vec::new();
    if spec.clean {
        let status = run(
            env,
            &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
        )
        .await?;
        let toplevel = run(env, &["rev-parse", "--show-toplevel"]).await?.text();
        let own = own_files(&env.plan.root, env.flags.log_path.as_deref());
        let dirty: Vec<String> = changed_paths(&status.stdout)
            .into_iter()
            .filter(|path| {
                !own.iter()
                    .any(|mine| mine.covers(Path::new(&toplevel), path))
            })
            .collect();
        if dirty.is_empty() {
            env.say("working tree clean".to_string());
        } else {
            let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
            let more = dirty.len().saturating_sub(shown.len());
            problems.push(format!(
                "the working tree has {} uncommitted change{}: {}{}",
                dirty.len(),
                if dirty.len() == 1 { "" } else { "s" },
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
    }
    if let Some(branch) = &spec.branch {
        let head = run(env, &["rev-parse", "--abbrev-ref", "HEAD"])
            .await?
            .text();
        if head == branch.value() {
            env.say(format!("on branch {head}"));
        } else if head == "HEAD" {
            // Detached (CI checks out a commit): fine when it is the branch's tip.
            match detached_at_tip(env, branch.value()).await? {
                Some(tip) => env.say(format!("HEAD is detached at the tip of {tip}")),
                None => problems.push(format!(
                    "HEAD is detached and is not the tip of branch `{branch}`"
                )),
            }
        } else {
            problems.push(format!("on branch `{head}`, not `{branch}`"));
        }
    }
    if let Some(pattern) = &spec.tag_pattern {
        let tags = run(
            env,
            &["tag", "--points-at", "HEAD", "--list", pattern.value()],
        )
        .await?
        .text();
        let tags: Vec<&str> = tags.lines().filter(|l| !l.trim().is_empty()).collect();
        if tags.is_empty() {
            problems.push(format!("HEAD has no tag matching `{pattern}`"));
        } else {
            env.say(format!("HEAD is tagged {}", tags.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(Effect::Continue)
    } else {
        Err(StepError::Failed {
            message: problems.join("; "),
            tail: Vec::new(),
        })
    }
}

pub fn describe(spec: &GitSpec) -> String {
    let mut checks = Vec::new();
    if spec.clean {
        checks.push("working tree clean".to_string());
    }
    if let Some(branch) = &spec.branch {
        checks.push(format!("on branch {branch}"));
    }
    if let Some(pattern) = &spec.tag_pattern {
        checks.push(format!("HEAD tagged {pattern}"));
    }
    format!("git: {}", checks.join(", "))
}

/// `git ARGS` in the project root; fails the step (with git's own complaint) unless it
/// exits 0.
async fn run(env: &StepEnv<'_>, args: &[&str]) -> Result<GitOutput, StepError> {
    let out = run_any(env, args).await?;
    if out.ok() {
        return Ok(out);
    }
    let complaint = env.plan.redactor.redact(&out.complaint()).into_owned();
    Err(StepError::Failed {
        message: format!(
            "`git {}` failed in {}: {complaint}",
            args.join(" "),
            env.plan.root.display()
        ),
        tail: Vec::new(),
    })
}

/// `git ARGS` whatever its exit code.
async fn run_any(env: &StepEnv<'_>, args: &[&str]) -> Result<GitOutput, StepError> {
    git(&env.plan.root, args, env.remaining(), env.interrupt)
        .await
        .map_err(|e| match e {
            StepError::TimedOut { tail, .. } => StepError::TimedOut {
                after: env.step.timeout,
                tail,
            },
            other => other,
        })
}

/// The branch (`main` or `origin/main`) whose tip HEAD is, if any.
async fn detached_at_tip(env: &StepEnv<'_>, branch: &str) -> Result<Option<String>, StepError> {
    let head = run(env, &["rev-parse", "--verify", "HEAD^{commit}"])
        .await?
        .text();
    for (shown, reference) in [
        (
            branch.to_string(),
            format!("refs/heads/{branch}^{{commit}}"),
        ),
        (
            format!("origin/{branch}"),
            format!("refs/remotes/origin/{branch}^{{commit}}"),
        ),
    ] {
        let tip = run_any(env, &["rev-parse", "--verify", "--quiet", &reference]).await?;
        if tip.ok() && tip.text() == head {
            return Ok(Some(shown));
        }
    }
    Ok(None)
}

/// A path rollout writes itself: a directory (everything under it) or one file.
#[derive(Debug, PartialEq)]
enum OwnFile {
    Dir(PathBuf),
    File(PathBuf),
}

impl OwnFile {
    /// Whether `path` (relative to the repository's top level, as git prints it) is this.
    fn covers(&self, toplevel: &Path, path: &str) -> bool {
        let path = toplevel.join(path);
        match self {
            OwnFile::Dir(dir) => path.starts_with(dir),
            OwnFile::File(file) => path == *file,
        }
    }
}

/// `.rollout/` of the project and the reliability log, as absolute, symlink-free paths
/// (git prints the top level that way).
fn own_files(root: &Path, log: Option<&Path>) -> Vec<OwnFile> {
    let mut own = vec![OwnFile::Dir(real(&root.join(".rollout")))];
    if let Some(log) = log {
        own.push(OwnFile::File(real(&root.join(log))));
    }
    own
}

/// `path` with symlinks resolved as far as it exists (the log may not exist yet).
fn real(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => real(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// The paths of `git status --porcelain=v1 -z`: `XY PATH\0`, and after a rename or copy
/// the original path as one more field (skipped: the new path is the change).
fn changed_paths(stdout: &[u8]) -> Vec<String> {
    let mut paths = Vec::new();
    let mut fields = stdout.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        if field.len() < 4 {
            continue;
        }
        let (xy, path) = (&field[..2], &field[3..]);
        paths.push(String::from_utf8_lossy(path).into_owned());
        if xy.contains(&b'R') || xy.contains(&b'C') {
            fields.next();
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_z_paths_with_spaces_and_renames() {
        let out = b" M src/a b.rs\0R  new.rs\0old.rs\0?? .rollout/state/x.json\0";
        assert_eq!(
            changed_paths(out),
            vec!["src/a b.rs", "new.rs", ".rollout/state/x.json"]
        );
        assert!(changed_paths(b"").is_empty());
    }

    #[test]
    fn rollouts_own_files_are_recognised_wherever_they_are() {
        let top = Path::new("/repo");
        let own = [
            OwnFile::Dir(PathBuf::from("/repo/deploy/.rollout")),
            OwnFile::File(PathBuf::from("/repo/feedback/reliability.md")),
        ];
        let mine = |p: &str| own.iter().any(|o| o.covers(top, p));
        assert!(mine("deploy/.rollout/state/canary.json"));
        assert!(mine("feedback/reliability.md"));
        assert!(!mine("feedback/reliability.md.bak"));
        assert!(!mine(".rollout/state/x.json"), "another project's .rollout");
        assert!(!mine("deploy/.rollout-notes"));
    }
}

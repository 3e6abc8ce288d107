//! `git`: checks of the project's working tree — no uncommitted changes, the expected
//! branch, a tag on HEAD matching a pattern — by running `git` (argv only, through
//! `process`) in the project root.

use super::{Effect, StepEnv, StepError};
use crate::plan::GitSpec;
use crate::process::{self, Ending, ProcessSpec};

pub async fn execute(env: &StepEnv<'_>, spec: &GitSpec) -> Result<Effect, StepError> {
    let mut problems = Vec::new();
    if spec.clean {
        let status = git(env, &["status", "--porcelain"]).await?;
        let dirty: Vec<&str> = status.lines().filter(|l| !l.trim().is_empty()).collect();
        if dirty.is_empty() {
            env.say("working tree clean".to_string());
        } else {
            let shown: Vec<&str> = dirty.iter().take(5).copied().collect();
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
        let head = git(env, &["rev-parse", "--abbrev-ref", "HEAD"]).await?;
        let head = head.trim();
        if head == branch.value() {
            env.say(format!("on branch {head}"));
        } else if head == "HEAD" {
            problems.push(format!("HEAD is detached, not on branch `{branch}`"));
        } else {
            problems.push(format!("on branch `{head}`, not `{branch}`"));
        }
    }
    if let Some(pattern) = &spec.tag_pattern {
        let tags = git(
            env,
            &["tag", "--points-at", "HEAD", "--list", pattern.value()],
        )
        .await?;
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

/// Runs `git ARGS` in the project root; its stdout, or why it failed.
async fn git(env: &StepEnv<'_>, args: &[&str]) -> Result<String, StepError> {
    let mut argv = vec!["git".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let spec = ProcessSpec {
        argv,
        env: vec![("GIT_TERMINAL_PROMPT".into(), "0".into())],
        cwd: env.plan.root.clone(),
        timeout: env.remaining(),
    };
    let mut ignore = |_: &str| {};
    let finished = process::run(&spec, &env.plan.redactor, env.interrupt, &mut ignore)
        .await
        .map_err(|e| StepError::Failed {
            message: e.to_string(),
            tail: Vec::new(),
        })?;
    match finished.ending {
        Ending::Exited(0) => Ok(finished.output),
        Ending::Interrupted => Err(StepError::Interrupted),
        Ending::TimedOut => Err(StepError::TimedOut {
            after: env.step.timeout,
            tail: finished.tail,
        }),
        _ => {
            let why = finished
                .tail
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "no output".to_string());
            Err(StepError::Failed {
                message: format!(
                    "`git {}` failed in {}: {why}",
                    args.join(" "),
                    env.plan.root.display()
                ),
                tail: finished.tail,
            })
        }
    }
}

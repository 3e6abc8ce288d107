//! `run`: a command as an argv vector (or `sh -c` when asked), judged by its exit code
//! and, optionally, a regex over its output.

use super::{Effect, StepEnv, StepError};
use crate::plan::{CommandLine, CommandSpec};
use crate::process::{self, Ending, Finished, ProcessSpec};

pub async fn execute(env: &StepEnv<'_>, spec: &CommandSpec) -> Result<Effect, StepError> {
    let finished = run_command(env, spec).await?;
    judge(spec, finished).map(|_| Effect::Continue)
}

pub fn describe(spec: &CommandSpec) -> String {
    let mut text = format!("$ {}", spec.display());
    if let Some(cwd) = &spec.cwd {
        text.push_str(&format!("  (in {})", cwd.display()));
    }
    text
}

/// Spawns the command and streams its output as events.
pub async fn run_command(env: &StepEnv<'_>, spec: &CommandSpec) -> Result<Finished, StepError> {
    let process_spec = ProcessSpec {
        argv: spec.argv(),
        env: spec.env_values(),
        cwd: spec.cwd.clone().unwrap_or_else(|| env.plan.root.clone()),
        timeout: env.remaining(),
    };
    let mut on_line = |line: &str| env.say(line);
    let finished = process::run(
        &process_spec,
        &env.plan.redactor,
        env.interrupt,
        &mut on_line,
    )
    .await
    .map_err(|e| StepError::Failed {
        message: e.to_string(),
        tail: Vec::new(),
    })?;
    if finished.leftover > 0 {
        (env.emit)(crate::event::EventKind::leftovers_stopped(
            &env.step.name,
            finished.leftover,
        ));
    }
    match finished.ending {
        // The step's timeout, not the try's elapsed time: that is what the runbook says.
        Ending::TimedOut => Err(StepError::TimedOut {
            after: env.step.timeout,
            tail: finished.tail,
        }),
        Ending::Interrupted => Err(StepError::Interrupted),
        _ => Ok(finished),
    }
}

/// Success means an expected exit code and, when asked, output matching the regex.
pub fn judge(spec: &CommandSpec, finished: Finished) -> Result<Finished, StepError> {
    let program = shown_program(spec);
    match finished.ending {
        Ending::Exited(code) if spec.expect_exit.contains(&code) => {}
        Ending::Exited(code) => {
            return Err(StepError::Failed {
                message: format!(
                    "`{program}` exited with {code} (expected {})",
                    expected(&spec.expect_exit)
                ),
                tail: finished.tail,
            });
        }
        Ending::Signaled(signal) => {
            return Err(StepError::Failed {
                message: format!("`{program}` was killed by signal {signal}"),
                tail: finished.tail,
            });
        }
        Ending::TimedOut => {
            return Err(StepError::TimedOut {
                after: finished.elapsed,
                tail: finished.tail,
            });
        }
        Ending::Interrupted => return Err(StepError::Interrupted),
    }
    if let Some(regex) = &spec.expect_output
        && !regex.is_match(&finished.output)
    {
        return Err(StepError::Failed {
            message: format!(
                "the output of `{program}` did not match /{}/",
                regex.as_str()
            ),
            tail: finished.tail,
        });
    }
    Ok(finished)
}

/// The program's name as shown: its masked form, so a secret never leaks through it.
fn shown_program(spec: &CommandSpec) -> String {
    match &spec.line {
        CommandLine::Argv(args) => args
            .first()
            .map(|a| a.shown().to_string())
            .unwrap_or_default(),
        CommandLine::Shell(_) => "sh -c".to_string(),
    }
}

fn expected(codes: &[i32]) -> String {
    let list: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    list.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Text;
    use std::time::Duration;

    fn spec(expect_exit: Vec<i32>, expect_output: Option<&str>) -> CommandSpec {
        CommandSpec {
            line: CommandLine::Argv(vec![Text::plain("deploy-tool")]),
            env: vec![],
            cwd: None,
            expect_exit,
            expect_output: expect_output.map(|r| regex::Regex::new(r).unwrap()),
        }
    }

    fn finished(ending: Ending, output: &str) -> Finished {
        Finished {
            ending,
            output: output.to_string(),
            raw_output: output.to_string(),
            tail: output.lines().map(String::from).collect(),
            elapsed: Duration::from_millis(3),
            leftover: 0,
        }
    }

    #[test]
    fn an_unexpected_exit_code_fails_with_the_code_and_the_tail() {
        let err = judge(&spec(vec![0], None), finished(Ending::Exited(3), "boom")).unwrap_err();
        assert_eq!(
            err,
            StepError::Failed {
                message: "`deploy-tool` exited with 3 (expected 0)".into(),
                tail: vec!["boom".into()]
            }
        );
    }

    #[test]
    fn listed_exit_codes_pass() {
        assert!(judge(&spec(vec![0, 3], None), finished(Ending::Exited(3), "")).is_ok());
    }

    #[test]
    fn expect_output_must_match() {
        let s = spec(vec![0], Some("version: 1\\.4"));
        assert!(judge(&s, finished(Ending::Exited(0), "version: 1.4.2")).is_ok());
        let err = judge(&s, finished(Ending::Exited(0), "version: 1.3.0")).unwrap_err();
        assert!(err.message().contains("did not match"), "{}", err.message());
    }
}

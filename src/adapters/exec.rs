//! The exec adapter: no platform CLI and no defaults. Its platform steps run their own
//! `cmd` (handled by the step); without one there is nothing it could run. What a target
//! runs is what `[adapters.exec] current_cmd` prints, else what rollout last recorded.

use super::{Failure, Runner, Running};
use crate::plan::{Text, Verb};

pub fn describe(verb: &Verb) -> Vec<String> {
    vec![format!(
        "error: the exec adapter has no default for `{}`; give a `cmd`",
        verb.name()
    )]
}

/// The loader rejects such steps; this is the same message should one get through.
pub fn no_default(verb: &Verb) -> Failure {
    Failure::failed(format!(
        "the exec adapter has no default command for `{}`: give the step a `cmd`",
        verb.name()
    ))
}

/// `current_cmd` for `target`: each argument with `{{target}}` replaced (inside the
/// argument: a target can never become extra arguments).
pub fn current_argv(current_cmd: &[String], target: &Text) -> Vec<Text> {
    current_cmd
        .iter()
        .map(|arg| {
            Text::with_shown(
                arg.replace("{{target}}", target.value()),
                arg.replace("{{target}}", target.shown()),
            )
        })
        .collect()
}

/// Runs `current_cmd`: its last non-empty output line (read unmasked) is the release
/// `target` runs; no output means it runs nothing yet.
pub async fn read_current(
    current_cmd: &[String],
    target: &Text,
    runner: &Runner<'_>,
) -> Result<Option<Running>, Failure> {
    let argv = current_argv(current_cmd, target);
    let finished = runner.run(&argv).await.map_err(|failure| match failure {
        Failure::Failed { message, tail } => Failure::Failed {
            message: format!("[adapters.exec] current_cmd: {message}"),
            tail,
        },
        other => other,
    })?;
    Ok(last_line(&finished.raw_output).map(|release| Running {
        release,
        revision: None,
    }))
}

fn last_line(output: &str) -> Option<String> {
    output
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_names_the_release_and_the_target_stays_one_argument() {
        assert_eq!(last_line("checking…\nv1.4.2\n\n"), Some("v1.4.2".into()));
        assert_eq!(last_line("  \n"), None);
        let argv = current_argv(
            &["app-version".into(), "--of={{target}}".into()],
            &Text::plain("web api"),
        );
        let values: Vec<&str> = argv.iter().map(Text::value).collect();
        assert_eq!(values, ["app-version", "--of=web api"]);
    }
}

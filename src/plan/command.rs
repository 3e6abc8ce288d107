//! A command line of a `run` or `smoke` step, resolved and ready to spawn.

use std::path::PathBuf;

use regex::Regex;

use super::Text;

/// How the command is given: an argv vector (the default; substitution happens inside
/// each argument) or, only with `shell = true`, a script for `sh -c`.
#[derive(Clone, Debug)]
pub enum CommandLine {
    Argv(Vec<Text>),
    Shell(Text),
}

/// Everything needed to start a child process and judge its result.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    pub line: CommandLine,
    pub env: Vec<(String, Text)>,
    /// Where to run it; `None` is the project root.
    pub cwd: Option<PathBuf>,
    /// Exit codes that count as success.
    pub expect_exit: Vec<i32>,
    /// A regex the combined stdout+stderr must match.
    pub expect_output: Option<Regex>,
}

impl CommandSpec {
    /// The real argv to execute.
    pub fn argv(&self) -> Vec<String> {
        match &self.line {
            CommandLine::Argv(args) => args.iter().map(|a| a.value().to_string()).collect(),
            CommandLine::Shell(script) => {
                vec!["sh".into(), "-c".into(), script.value().to_string()]
            }
        }
    }

    /// The command as a person reads it: shell-quoted, secrets masked, its `env` in
    /// front as a shell would take it (`TOKEN=*** deploy-tool ship`).
    pub fn display(&self) -> String {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!("{k}={}", shell_words::quote(v.shown()))
                } else {
                    shell_words::quote(&format!("{k}={}", v.shown())).into_owned()
                }
            })
            .collect();
        let line = self.display_line();
        if env.is_empty() {
            line
        } else {
            format!("{} {line}", env.join(" "))
        }
    }

    fn display_line(&self) -> String {
        match &self.line {
            CommandLine::Argv(args) => {
                shell_words::join(args.iter().map(|a| a.shown().to_string()))
            }
            CommandLine::Shell(script) => shell_words::join(["sh", "-c", script.shown()]),
        }
    }

    /// The environment for the child, real values.
    pub fn env_values(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.value().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(line: CommandLine) -> CommandSpec {
        CommandSpec {
            line,
            env: vec![],
            cwd: None,
            expect_exit: vec![0],
            expect_output: None,
        }
    }

    #[test]
    fn display_quotes_arguments_and_masks_secrets() {
        let s = spec(CommandLine::Argv(vec![
            Text::plain("curl"),
            Text::plain("-H"),
            Text::with_shown("Authorization: t0k3n", "Authorization: ***"),
        ]));
        assert_eq!(s.display(), "curl -H 'Authorization: ***'");
        assert_eq!(s.argv()[2], "Authorization: t0k3n");
    }

    #[test]
    fn shell_commands_go_through_sh_c_as_one_argument() {
        let s = spec(CommandLine::Shell(Text::plain("echo a; echo b")));
        assert_eq!(s.argv(), vec!["sh", "-c", "echo a; echo b"]);
    }
}

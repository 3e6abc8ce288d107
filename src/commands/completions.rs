//! `rollout completions SHELL`: the completion script on stdout.

use std::io::Write;

use clap_complete::Shell;

use crate::completion::script;
use crate::error::{Error, ExitCode};

pub fn run(shell: Shell) -> Result<ExitCode, Error> {
    let script = script(shell);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::Ok),
        Err(e) => Err(Error::failed(format!(
            "cannot write the completion script: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let text = String::from_utf8(script(shell)).unwrap();
            assert!(
                text.contains("promote") && text.contains("rollback"),
                "{shell}"
            );
        }
    }
}

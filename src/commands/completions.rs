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

//! The `rollout` binary: answer a shell's completion request if that is what this is,
//! else parse the command line, run, exit with the code SPEC §7 names.

fn main() -> std::process::ExitCode {
    rollout::completion::complete_from_env();
    rollout::run(std::env::args_os())
}

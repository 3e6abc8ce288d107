//! The `rollout` binary: parse the command line, run, exit with the code SPEC §7 names.

fn main() -> std::process::ExitCode {
    rollout::run(std::env::args_os())
}

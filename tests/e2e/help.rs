//! Help that teaches: every subcommand's `--help` ends with an example, and a typo in a
//! subcommand suggests the right one.

use clap::CommandFactory;

use crate::support::Bench;

#[test]
fn every_subcommand_help_has_an_example() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            let help = sub.clone().render_long_help().to_string();
            if !help.contains("Example") {
                missing.push(path.clone());
            }
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    let cli = rollout::cli::Cli::command();
    for sub in cli
        .get_subcommands()
        .filter(|s| s.get_name() != "demo-service")
    {
        let help = sub.clone().render_long_help().to_string();
        if !help.contains("Example") {
            missing.push(sub.get_name().to_string());
        }
        if sub.get_name() == "log" {
            walk(sub, "log", &mut missing);
        }
    }
    assert!(missing.is_empty(), "no example in --help of: {missing:?}");
}

#[test]
fn a_mistyped_subcommand_suggests_the_right_one() {
    Bench::new()
        .run(&["inti"])
        .status(2)
        .stderr_has("a similar subcommand exists: 'init'");
}

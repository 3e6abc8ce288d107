//! `rollout init`: a starter runbook that validates, in a folder with no runbooks/ yet.

use std::fs;

use crate::support::Bench;

/// A bench whose root has no runbooks/ folder: where `init` is first run.
fn empty() -> Bench {
    let b = Bench::new();
    fs::remove_dir_all(b.path("runbooks")).unwrap();
    b
}

#[test]
fn init_writes_a_starter_that_validates_for_every_adapter() {
    for adapter in ["fly", "kubectl", "systemctl", "exec"] {
        let b = empty();
        b.run(&["init", "--adapter", adapter])
            .status(0)
            .stdout_has("wrote runbooks/deploy.toml")
            .stdout_has("wrote rollout.toml")
            .stdout_has("deploy validates");
        b.run(&["validate"]).status(0);
        b.run(&["show", "deploy"]).status(0);
        let text = fs::read_to_string(b.path("runbooks/deploy.toml")).unwrap();
        assert!(text.starts_with("# A starter runbook"), "{adapter}");
        let settings = fs::read_to_string(b.path("rollout.toml")).unwrap();
        assert!(settings.contains(&format!("adapter = \"{adapter}\"")));
    }
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let b = empty();
    b.run(&["init", "--name", "canary"]).status(0);
    fs::write(b.path("rollout.toml"), "# mine\n").unwrap();
    b.run(&["init", "--name", "canary"])
        .status(2)
        .stderr_has("runbooks/canary.toml already exists; init never overwrites")
        .stderr_has("nothing was written")
        .stderr_has("--force");
    b.run(&[
        "init",
        "--name",
        "canary",
        "--adapter",
        "kubectl",
        "--force",
    ])
    .status(0);
    let text = fs::read_to_string(b.path("runbooks/canary.toml")).unwrap();
    assert!(text.contains("kubectl"));
    // An existing rollout.toml is never touched.
    assert_eq!(
        fs::read_to_string(b.path("rollout.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn init_rejects_a_name_that_is_not_a_file_stem() {
    empty()
        .run(&["init", "--name", "../escape"])
        .status(2)
        .stderr_has("it holds a path separator");
}

#[test]
fn init_names_the_runbook_it_writes() {
    let b = empty();
    b.run(&["init", "--adapter", "exec", "--name", "release"])
        .status(0)
        .stdout_has("wrote runbooks/release.toml")
        .stdout_has("rollout show release");
    assert!(!b.path("runbooks/deploy.toml").exists());
    let text = fs::read_to_string(b.path("runbooks/release.toml")).unwrap();
    assert!(text.contains("adapter = \"exec\"") && text.contains("rollout promote release"));
}

#[test]
fn init_dry_run_writes_nothing() {
    let b = empty();
    b.run(&["init", "--name", "canary", "--dry-run"])
        .status(0)
        .stdout_has("would write runbooks/canary.toml (fly starter")
        .stdout_has("would write rollout.toml")
        .stdout_has("nothing was written");
    assert!(!b.path("runbooks").exists());
    assert!(!b.path("rollout.toml").exists());
    // A dry run refuses what the real one would refuse.
    b.run(&["init", "--name", "canary"]).status(0);
    b.run(&["init", "--name", "canary", "--dry-run"])
        .status(2)
        .stderr_has("already exists");
    b.run(&["init", "--name", "canary", "--dry-run", "--force"])
        .status(0)
        .stdout_has("would overwrite runbooks/canary.toml")
        .stdout_has("rollout.toml exists");
}

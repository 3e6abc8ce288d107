//! `install.sh` into a scratch prefix, twice: the same files, nothing left behind.

use std::path::Path;
use std::process::Command;

fn install(prefix: &Path, shell: &str) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .args(["--bin", env!("CARGO_BIN_EXE_rollout"), "--shell", shell])
        .arg("--prefix")
        .arg(prefix)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run install.sh")
}

fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn install_twice_into_a_prefix_is_safe() {
    let prefix = tempfile::tempdir().unwrap();
    for shell in ["bash", "bash", "zsh", "fish"] {
        let out = install(prefix.path(), shell);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every committed man page, in the section its name ends with.
    let mut expected = vec![
        "bin/rollout".to_string(),
        "share/bash-completion/completions/rollout".to_string(),
        "share/fish/vendor_completions.d/rollout.fish".to_string(),
        "share/zsh/site-functions/_rollout".to_string(),
    ];
    for page in files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("man")) {
        let section = page.rsplit('.').next().unwrap().to_string();
        expected.push(format!("share/man/man{section}/{page}"));
    }
    expected.sort();
    assert_eq!(files(prefix.path()), expected);
    for page in [
        "share/man/man1/rollout.1",
        "share/man/man1/rollout-promote.1",
        "share/man/man5/rollout-runbook.5",
    ] {
        assert!(prefix.path().join(page).is_file(), "{page}");
    }
    let version = Command::new(prefix.path().join("bin/rollout"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("rollout "));
}

#[test]
fn install_rejects_unknown_arguments() {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

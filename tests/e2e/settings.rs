//! Where settings come from: the log path (flag, env, rollout.toml, default), adapter
//! binaries (runbook, rollout.toml, `ROLLOUT_<NAME>_BIN`, PATH), and global flags on
//! either side of the subcommand.

use crate::support::Bench;

#[test]
fn the_log_path_is_flag_then_env_then_rollout_toml_then_default() {
    let bench = Bench::new();
    bench.runbook("app", "[[steps]]\nkind = \"log\"\nmessage = \"x\"\n");
    let note = |args: &[&str], env: &[(&str, &str)], text: &str| {
        let mut all = args.to_vec();
        all.extend(["log", "note", text]);
        bench.run_with(&all, env).status(0);
    };
    let read = |rel: &str| std::fs::read_to_string(bench.path(rel)).unwrap_or_default();

    note(&[], &[], "default");
    assert!(read("reliability.log").contains("NOTE - - message=default"));

    bench.file("rollout.toml", "log = \"feedback/reliability.md\"\n");
    std::fs::create_dir_all(bench.path("feedback")).unwrap();
    note(&[], &[], "from-toml");
    assert!(read("feedback/reliability.md").contains("from-toml"));

    note(&[], &[("ROLLOUT_LOG", "env.log")], "from-env");
    assert!(read("env.log").contains("from-env"));

    note(
        &["--log", "flag.log"],
        &[("ROLLOUT_LOG", "env.log")],
        "from-flag",
    );
    assert!(read("flag.log").contains("from-flag"));

    // Each entry went to exactly one place.
    assert!(!read("reliability.log").contains("from-"));
    assert!(!read("feedback/reliability.md").contains("from-env"));
    assert!(!read("env.log").contains("from-flag"));

    // A run honours it too, and `rollout log` reads the same file.
    bench.run(&["promote", "app"]).status(0);
    assert!(read("feedback/reliability.md").contains("RUN COMPLETE - app"));
    bench
        .run(&["log", "--event", "run complete"])
        .status(0)
        .stdout_has("RUN COMPLETE - app");
}

// `get -o json` (the stable release read before a change) answers a workload with no
// revision yet.
const FAKE_BIN: &str =
    "#!/bin/sh\necho \"$0 $*\" >> \"$FAKE_DIR/which.log\"\n[ \"$1\" = get ] && echo '{}'\nexit 0\n";

#[test]
fn adapter_binaries_come_from_the_runbook_then_rollout_toml_then_the_environment() {
    let bench = Bench::new();
    for name in ["kubectl", "systemctl"] {
        bench
            .executable(&format!("bin/{name}"), FAKE_BIN)
            .executable(&format!("env/{name}"), FAKE_BIN)
            .executable(&format!("toml/{name}"), FAKE_BIN)
            .executable(&format!("book/{name}"), FAKE_BIN)
            .runbook(
                name,
                &format!("adapter = \"{name}\"\ntarget = \"web\"\n[[steps]]\nkind = \"restart\"\n"),
            );
    }
    let env = [
        ("ROLLOUT_KUBECTL_BIN", bench.path("env/kubectl")),
        ("ROLLOUT_SYSTEMCTL_BIN", bench.path("env/systemctl")),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
    let used = |runbook: &str, env: &[(&str, &str)]| -> String {
        let _ = std::fs::remove_file(bench.path("fake/which.log"));
        bench.run_with(&["promote", runbook], env).status(0);
        let line = std::fs::read_to_string(bench.path("fake/which.log")).unwrap_or_default();
        let bin = line.split_whitespace().next().unwrap_or("").to_string();
        let dir = std::path::Path::new(&bin).parent().unwrap();
        dir.file_name().unwrap().to_string_lossy().into_owned()
    };
    for name in ["kubectl", "systemctl"] {
        assert_eq!(used(name, &[]), "bin", "{name} on PATH");
        assert_eq!(used(name, &env), "env", "ROLLOUT_{name}_BIN");
    }
    bench.file(
        "rollout.toml",
        "[adapters.kubectl]\nbin = \"toml/kubectl\"\n[adapters.systemctl]\nbin = \"toml/systemctl\"\n",
    );
    for name in ["kubectl", "systemctl"] {
        assert_eq!(
            used(name, &env),
            "toml",
            "rollout.toml over the env for {name}"
        );
        bench.runbook(
            name,
            &format!(
                "adapter = \"{name}\"\ntarget = \"web\"\n[adapters.{name}]\nbin = \"book/{name}\"\n[[steps]]\nkind = \"restart\"\n"
            ),
        );
        assert_eq!(
            used(name, &env),
            "book",
            "the runbook over rollout.toml for {name}"
        );
    }
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let bench = Bench::new();
    bench.fake("deployer").runbook(
        "app",
        "description = \"the app\"\n[[steps]]\nkind = \"run\"\ncmd = \"deployer {{what}}\"\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let root = bench.root().to_str().unwrap().to_string();
    for args in [
        vec![
            "-C",
            &root,
            "--dry-run",
            "--set",
            "what=x",
            "promote",
            "app",
        ],
        vec![
            "promote",
            "app",
            "-C",
            &root,
            "--dry-run",
            "--set",
            "what=x",
        ],
        vec!["-n", "promote", "-C", &root, "app", "--set=what=x"],
    ] {
        let out = bench
            .command(&args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(stdout.contains("$ deployer x"), "{args:?}: {stdout}");
    }
    assert!(bench.calls().is_empty());
    assert!(!bench.path(".rollout").exists());
    assert!(!bench.path("reliability.log").exists());

    let before = bench.run(&["--json", "list"]).status(0).stdout();
    let after = bench.run(&["list", "--json"]).status(0).stdout();
    assert_eq!(before, after);
    serde_json::from_str::<serde_json::Value>(&before).unwrap();

    bench
        .run(&[
            "--log", "a.log", "-y", "-q", "promote", "app", "--set", "what=1",
        ])
        .status(0);
    bench
        .run(&[
            "promote", "app", "--log", "b.log", "--yes", "--quiet", "--set", "what=2",
        ])
        .status(0);
    assert!(
        std::fs::read_to_string(bench.path("a.log"))
            .unwrap()
            .contains("RUN COMPLETE")
    );
    assert!(
        std::fs::read_to_string(bench.path("b.log"))
            .unwrap()
            .contains("RUN COMPLETE")
    );
    assert_eq!(bench.calls(), vec!["deployer [1]", "deployer [2]"]);
}

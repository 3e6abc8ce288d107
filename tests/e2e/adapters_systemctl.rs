//! The systemctl adapter end to end: release directories behind the `current`
//! symlink, flags in a drop-in; and its argv through the real systemctl where there
//! is no systemd to touch.

use std::fs;
use std::process::Command;

use rollout::adapters::systemctl::Systemctl;
use rollout::plan::{AdapterSettings, Text, Verb};

use crate::fakes;
use crate::support::{Bench, alive};

const APP: &str = r#"
adapter = "systemctl"
target  = "web"

[vars]
version = "v1"

[adapters.systemctl]
current    = "srv/current"
dropin_dir = "units/web.service.d"

[[steps]]
kind    = "deploy"
name    = "release"
release = "srv/releases/{{version}}"

[[steps]]
kind    = "promote"
name    = "flag 10"
percent = 10
flag    = "NEW_CHECKOUT"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind    = "promote"
name    = "flag off"
percent = 0
flag    = "NEW_CHECKOUT"

[[rollback]]
kind = "rollback"
name = "previous release"

[[emergency]]
kind = "restart"
name = "restart"

[[emergency]]
kind  = "scale"
name  = "stop"
count = 0
"#;

fn bench() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", APP).fake("checker").fake("systemctl");
    for v in ["v1", "v2"] {
        fs::create_dir_all(bench.path(&format!("srv/releases/{v}"))).unwrap();
    }
    bench
}

fn current(bench: &Bench) -> String {
    fs::read_link(bench.path("srv/current"))
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn dropin(bench: &Bench) -> String {
    fs::read_to_string(bench.path("units/web.service.d/rollout-NEW_CHECKOUT.conf")).unwrap()
}

#[test]
fn a_failed_check_turns_the_flag_off_and_repoints_to_the_previous_release() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(current(&bench), "v1");
    assert!(dropin(&bench).contains("[Service]\nEnvironment=NEW_CHECKOUT=10\n"));
    let before = bench.calls().len();

    bench.tell("checker", "none", "exit", "1");
    bench
        .run(&["promote", "app", "--set", "version=v2"])
        .status(1);
    assert_eq!(
        bench.calls()[before..],
        [
            "systemctl [restart] [web]",
            "systemctl [is-active] [web]",
            "systemctl [daemon-reload]",
            "systemctl [restart] [web]",
            "checker",
            "systemctl [daemon-reload]",
            "systemctl [restart] [web]",
            "systemctl [restart] [web]",
            "systemctl [is-active] [web]",
        ]
    );
    assert_eq!(current(&bench), "v1");
    assert!(dropin(&bench).contains("Environment=NEW_CHECKOUT=0\n"));
    let web = &bench.state("app")["releases"]["web"];
    assert!(
        web["current"]
            .as_str()
            .unwrap()
            .ends_with("srv/releases/v1"),
        "{web}"
    );
    assert_eq!(web["percent"], 0);
}

#[test]
fn emergency_rollback_uses_the_last_run_and_the_symlink_history() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["promote", "app", "--set", "version=v2"])
        .status(0);
    assert_eq!(current(&bench), "v2");
    // Without the state, the history kept next to the symlink still knows v1.
    fs::remove_dir_all(bench.path(".rollout/runs")).unwrap();
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert_eq!(current(&bench), "v1");
}

#[test]
fn a_failed_rollback_escalates_in_order_and_exits_4() {
    let bench = bench();
    bench.run(&["promote", "app"]).status(0);
    let before = bench.calls().len();
    bench.tell("systemctl", "restart", "exit", "1");
    // The last rung fails too: the ladder ends failed (SPEC §4.2).
    bench.tell("systemctl", "stop", "exit", "1");
    bench.run(&["rollback", "--emergency"]).status(4);
    assert_eq!(
        bench.calls()[before..],
        [
            "systemctl [daemon-reload]",
            "systemctl [restart] [web]",
            "systemctl [restart] [web]",
            "systemctl [stop] [web]",
        ]
    );
    assert_eq!(bench.state("app")["status"], "rollback_failed");
}

#[test]
fn user_and_sudo_shape_every_call() {
    let bench = bench();
    fakes::sudo(&bench);
    bench.runbook(
        "app",
        "adapter = \"systemctl\"\ntarget = \"web\"\n[adapters.systemctl]\nuser = true\nsudo = true\n\
         [[steps]]\nkind = \"restart\"\n",
    );
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(bench.calls(), ["systemctl [--user] [restart] [web]"]);
    let sudo = fs::read_to_string(bench.path("fake/sudo.log")).unwrap();
    assert_eq!(sudo, "sudo -n systemctl --user restart web\n");
}

#[test]
fn auth_needs_the_unit_loaded() {
    let bench = bench();
    bench.runbook(
        "app",
        "adapter = \"systemctl\"\ntarget = \"web\"\n[[preflight]]\nkind = \"auth\"\n[[steps]]\nkind = \"restart\"\n",
    );
    bench.tell("systemctl", "show", "out", "LoadState=not-found\n");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("unit `web` is not loaded");
    bench.tell("systemctl", "show", "out", "LoadState=loaded\n");
    bench.run(&["promote", "app"]).status(0);
}

#[test]
fn a_hung_systemctl_is_killed_at_the_step_timeout() {
    let bench = bench();
    bench.runbook(
        "app",
        "adapter = \"systemctl\"\ntarget = \"web\"\n[[steps]]\nkind = \"restart\"\ntimeout = \"1s\"\n",
    );
    bench.tell("systemctl", "restart", "hang", "");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("timed out after 1s");
    let pids = fakes::hung_pids(&bench, "systemctl");
    assert!(
        !pids.is_empty() && pids.iter().all(|p| !alive(*p)),
        "{pids:?}"
    );
}

#[test]
fn dry_run_calls_nothing_and_touches_nothing() {
    let bench = Bench::new();
    bench.runbook("app", APP);
    bench
        .run(&["promote", "app", "--dry-run"])
        .status(0)
        .stdout_has("srv/releases/v1")
        .stdout_has("$ systemctl restart web, then $ systemctl is-active web")
        .stdout_has("Environment=NEW_CHECKOUT=10, then $ systemctl daemon-reload");
    assert!(bench.calls().is_empty());
    assert!(!bench.path("srv/current").exists());
    assert!(!bench.path("units/web.service.d").exists());
}

/// Every systemctl command line, through the real systemctl where systemd is not
/// running (so nothing can be restarted): each must fail on the missing systemd,
/// never on a verb or option systemctl lacks.
#[test]
fn the_real_systemctl_accepts_every_command_line() {
    if Command::new("systemctl").arg("--version").output().is_err() {
        eprintln!("skipped: systemctl is not installed on this machine");
        return;
    }
    if std::path::Path::new("/run/systemd/system").exists() {
        eprintln!("skipped: systemd is running here, and these commands would act on it");
        return;
    }
    let unit = Text::plain("rollout-test-absent.service");
    for user in [false, true] {
        let settings = AdapterSettings {
            user: Some(user),
            ..Default::default()
        };
        let s = Systemctl::new("systemctl".into(), &settings, &|_| None);
        let mut lines = Vec::new();
        for verb in [
            Verb::Auth,
            Verb::Restart,
            Verb::Scale { count: 0 },
            Verb::Scale { count: 1 },
            Verb::Deploy(Box::default()),
            Verb::Promote {
                percent: Some(5),
                flag: Some(Text::plain("F")),
                flags: Vec::new(),
                label: None,
            },
        ] {
            lines.extend(s.describe(&verb, &unit));
        }
        for line in lines.iter().filter_map(|l| l.strip_prefix("$ ")) {
            let words = shell_words::split(line).unwrap();
            let out = Command::new(&words[0]).args(&words[1..]).output().unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "`{line}` succeeded without systemd");
            for bad in [
                "Unknown command verb",
                "unrecognized option",
                "invalid option",
                "Unknown operation",
            ] {
                assert!(!all.contains(bad), "`{line}`: {all}");
            }
            assert!(
                all.contains("systemd") || all.contains("bus") || all.contains("Host is down"),
                "`{line}` did not fail on the missing systemd: {all}"
            );
        }
    }
}

//! SPEC §4.1 for the exec adapter and the late built-ins (§2): a team's own deploy script
//! is pinned from `[adapters.exec] current_cmd` (else from what rollout recorded), and
//! its rollback `cmd` gets the release to return to through `{{to}}`. The script below
//! is a stand-in for such a team tool: it keeps what it "serves" per target in a file,
//! and the tests assert on that file.

use crate::support::Bench;

/// `appctl current T` prints what T serves (nothing before a first deploy);
/// `appctl ship T RELEASE` serves RELEASE.
const APPCTL: &str = r#"#!/bin/sh
printf '%s\n' "appctl $*" >> "$(dirname "$0")/../fake/calls.log"
served="$(dirname "$0")/../fake/served.$2"
case "$1" in
  current) [ -f "$served" ] && { echo "looking up $2…"; cat "$served"; }; exit 0 ;;
  ship) printf '%s\n' "$3" > "$served" ;;
  *) echo "appctl: unknown verb $1" >&2; exit 2 ;;
esac
"#;

const RUNBOOK: &str = r#"
adapter = "exec"
target  = "web"

[vars]
version = "v2"
ctl     = "appctl"

[adapters.exec]
current_cmd = "{{ctl}} current {{target}}"     # templated like a cmd; {{target}}: the step's

[[steps]]
kind    = "deploy"
name    = "ship"
release = "{{version}}"
cmd     = "appctl ship {{target}} {{release}}"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
name = "back"
cmd  = "appctl ship {{target}} {{to}}"

[[rollback]]
kind    = "log"
name    = "why"
message = "web back on {{stable}} because {{reason}}"
"#;

fn bench(serving: Option<&str>) -> Bench {
    let bench = Bench::new();
    bench
        .runbook("app", RUNBOOK)
        .executable("bin/appctl", APPCTL)
        .fake("checker");
    if let Some(release) = serving {
        bench.file("fake/served.web", &format!("{release}\n"));
    }
    bench
}

fn serves(bench: &Bench) -> String {
    std::fs::read_to_string(bench.path("fake/served.web"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn a_failed_run_returns_an_exec_target_to_what_current_cmd_printed_before_it() {
    let bench = bench(Some("v1"));
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(serves(&bench), "v1");
    let calls = bench.calls();
    assert_eq!(calls[0], "appctl current web", "{calls:?}");
    assert_eq!(calls[1], "appctl ship web v2");
    assert_eq!(calls.last().unwrap(), "appctl ship web v1");
    let state = bench.state("app");
    assert_eq!(state["releases"]["web"]["stable"]["release"], "v1");
    // The rollback's command took the release through {{to}}: state may say so.
    assert_eq!(state["releases"]["web"]["current"], "v1");
    let log = bench.log();
    assert!(
        log.contains("web back on v1 because") && log.contains("smoke"),
        "{log}"
    );
    assert!(log.contains("releases=\"web=v1\""), "{log}");
    // SPEC §4.4: the rollback step's own line names where it returned the target.
    assert!(
        log.lines().any(|l| l.contains("step=back")
            && l.contains("target=web")
            && l.contains("release=v1")),
        "{log}"
    );
}

#[test]
fn rollback_to_reaches_an_exec_cmd_through_its_to() {
    let bench = bench(Some("v1"));
    bench.run(&["promote", "app"]).status(0);
    assert_eq!(serves(&bench), "v2");
    bench
        .run(&["rollback", "app", "--to", "v0", "--yes"])
        .status(0);
    assert_eq!(serves(&bench), "v0");
    assert_eq!(bench.state("app")["releases"]["web"]["current"], "v0");
}

#[test]
fn without_current_cmd_the_stable_release_is_the_one_rollout_recorded() {
    let bench = bench(None);
    let without = RUNBOOK.replace("current_cmd = \"{{ctl}} current {{target}}\"", "");
    bench.runbook("app", &without);
    bench
        .run(&["promote", "app", "--set", "version=v1"])
        .status(0);
    assert_eq!(bench.state("app")["releases"]["web"]["current"], "v1");
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    assert_eq!(serves(&bench), "v1");
}

#[test]
fn a_first_exec_deploy_has_nothing_to_return_to_and_the_rollback_names_to() {
    let bench = bench(None);
    bench.tell("checker", "none", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(4)
        .stderr_has("web has no stable release to return to")
        .stderr_has("--to RELEASE");
    // The hole was never run: the bad release is still served, and nothing pretends.
    assert_eq!(serves(&bench), "v2");
    assert!(
        !bench.calls().iter().any(|c| c.contains("{{")),
        "{:?}",
        bench.calls()
    );
    bench
        .run(&["rollback", "app", "--to", "v1", "--yes"])
        .status(0);
    assert_eq!(serves(&bench), "v1");
}

#[test]
fn late_built_ins_outside_their_sections_are_validation_errors_that_say_where_they_live() {
    let bench = Bench::new();
    bench.runbook(
        "app",
        r#"
[[steps]]
kind = "run"
cmd  = "echo {{reason}}"
"#,
    );
    bench
        .run(&["validate", "app"])
        .status(2)
        .stderr_has("unknown variable `reason`")
        .stderr_has("[[rollback]] and [[emergency]]");
    bench.runbook(
        "app",
        r#"
[[steps]]
kind    = "deploy"
adapter = "exec"
target  = "web"
cmd     = "ship {{release}}"
"#,
    );
    bench
        .run(&["validate", "app"])
        .status(2)
        .stderr_has("uses `{{release}}` but names no release");
}

#[test]
fn show_prints_late_built_ins_as_written() {
    let bench = bench(Some("v1"));
    bench
        .run(&["show", "app"])
        .status(0)
        .stdout_has("appctl ship web v2")
        .stdout_has("appctl ship web {{to}}")
        .stdout_has("web back on {{stable}} because {{reason}}");
}

#[test]
fn a_message_about_a_target_with_no_stable_release_says_none_and_does_not_fail() {
    let bench = bench(None);
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "app", "--to", "v1", "--yes"])
        .status(0);
    assert!(
        bench
            .log()
            .contains("web back on none because manual rollback"),
        "{}",
        bench.log()
    );
}

#[test]
fn current_cmd_is_templated_like_a_cmd_and_refuses_a_secret() {
    let bench = bench(Some("v1"));
    bench
        .runbook(
            "app",
            &RUNBOOK.replace("{{ctl}} current", "{{ctll}} current"),
        )
        .run(&["validate", "app"])
        .status(2)
        .stderr_has("unknown variable `ctll`")
        .stderr_has("did you mean `ctl`?");
    bench
        .runbook(
            "app",
            &RUNBOOK.replace(
                "{{ctl}} current {{target}}",
                "{{ctl}} current {{secret.TOKEN}}",
            ),
        )
        .run_with(&["validate", "app"], &[("TOKEN", "t0ps3cret")])
        .status(2)
        .stderr_has("`current_cmd` cannot use a secret");
}

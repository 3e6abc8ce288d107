//! SPEC §4.1–4.2 scenarios against the platform simulators: after every failure, what the
//! platform *serves* is what ran before the run — not only the command lines sent.

use crate::fakes;
use crate::http::{Reply, TestServer};
use crate::support::Bench;

/// Deploy, then a flag (a `fly secrets set`: a release of its own carrying the new
/// image), then a failing smoke test.
const FLY_FLAG: &str = r#"
adapter = "fly"
target  = "web"

[[steps]]
kind  = "deploy"
name  = "deploy"
image = "reg/web:2"

[[steps]]
kind    = "promote"
name    = "flag on"
percent = 50
flag    = "NEW_CHECKOUT"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
name = "back"
"#;

#[test]
fn fly_deploy_then_flag_then_failure_serves_the_image_of_before_the_run() {
    let bench = Bench::new();
    bench.runbook("app", FLY_FLAG).fake("checker");
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    // The newest complete release before the flag's release is reg/web:2 — the bad
    // image. The pin says what ran before the run.
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    assert_eq!(
        bench
            .calls()
            .into_iter()
            .rev()
            .find(|c| c.starts_with("fly [deploy]"))
            .unwrap_or_default(),
        "fly [deploy] [--app] [web] [--image] [reg/web:1]"
    );
    let log = bench.log();
    assert!(
        log.contains("ROLLBACK COMPLETE - app") && log.contains("releases=\"web=reg/web:1\""),
        "{log}"
    );
}

const TWO_APPS: &str = r#"
adapter = "fly"

[[steps]]
kind   = "deploy"
name   = "deploy api"
target = "api"
image  = "reg/api:2"

[[steps]]
kind   = "deploy"
name   = "deploy web"
target = "web"
image  = "reg/web:2"

[[rollback]]
kind   = "rollback"
name   = "api back"
target = "api"

[[rollback]]
kind   = "rollback"
name   = "web back"
target = "web"
"#;

/// fly with two apps, api and web, each serving its release 1.
fn two_apps_serving_release_1(bench: &Bench) {
    fakes::fly(bench, &[]);
    for app in ["api", "web"] {
        bench.file(
            &format!("fake/fly.{app}.releases"),
            &format!("1 complete reg/{app}:1\n"),
        );
        bench.file(&format!("fake/fly.{app}.serving"), &format!("reg/{app}:1"));
    }
}

/// A `fly` in front of the simulator whose `deploy` fails for the argv matching `case`.
fn fly_failing_deploy_of(bench: &Bench, case: &str) -> String {
    bench.executable(
        "bin/fly-wrap",
        &format!(
            "#!/bin/sh\ncase \"$*\" in {case}) echo 1 > \"$FAKE_DIR/fly.deploy.exit\";; *) rm -f \"$FAKE_DIR/fly.deploy.exit\";; esac\nexec fly \"$@\"\n"
        ),
    );
    bench.path("bin/fly-wrap").to_string_lossy().into_owned()
}

#[test]
fn a_deploy_that_fails_half_way_is_a_change_and_is_rolled_back() {
    let bench = Bench::new();
    bench.runbook("two", TWO_APPS);
    two_apps_serving_release_1(&bench);
    // The web deploy fails with some machines already on the new image.
    bench.file("fake/fly.deploy.partial", "");
    let fly = fly_failing_deploy_of(&bench, "*'--app web --image reg/web:2'*");
    bench
        .run_with(&["promote", "two"], &[("ROLLOUT_FLY_BIN", &fly)])
        .status(1);
    // Both apps serve what they served before: the failed deploy counted as a change.
    assert_eq!(fakes::fly_serves(&bench, "api"), "reg/api:1");
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
}

#[test]
fn without_a_rollback_a_half_done_deploy_is_shown_as_unconfirmed_not_as_never_shipped() {
    let bench = Bench::new();
    bench.runbook(
        "two",
        &format!(
            "auto_rollback = false
{TWO_APPS}"
        ),
    );
    two_apps_serving_release_1(&bench);
    bench.file("fake/fly.deploy.partial", "");
    let fly = fly_failing_deploy_of(&bench, "*'--app web --image reg/web:2'*");
    bench
        .run_with(&["promote", "two"], &[("ROLLOUT_FLY_BIN", &fly)])
        .status(1);
    // Some machines run the new image: state must not say web still runs reg/web:1.
    assert_ne!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    bench
        .run(&["status", "two"])
        .status(0)
        .stdout_has("web: stable reg/web:1, current reg/web:2 (unconfirmed");
    assert_eq!(bench.state("two")["releases"]["web"]["unconfirmed"], true);
    assert_eq!(
        bench.state("two")["releases"]["web"]["previous"],
        serde_json::Value::Null
    );
}

#[test]
fn when_one_target_fails_to_roll_back_the_others_still_are_and_exit_4_names_it() {
    let bench = Bench::new();
    bench.runbook("two", &TWO_APPS.replace("image  = \"reg/web:2\"", "image  = \"reg/web:2\"\n\n[[steps]]\nkind = \"smoke\"\nname = \"smoke\"\ncmd = \"checker\""));
    bench.fake("checker");
    two_apps_serving_release_1(&bench);
    bench.tell("checker", "none", "exit", "1");
    // api's rollback deploy fails; web's must still run.
    let fly = fly_failing_deploy_of(&bench, "*'--app api --image reg/api:1'*");
    bench
        .run_with(&["promote", "two"], &[("ROLLOUT_FLY_BIN", &fly)])
        .status(4)
        .stderr_has("`api back` on api failed");
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:1");
    assert_eq!(fakes::fly_serves(&bench, "api"), "reg/api:2");
    assert!(bench.log().contains("ROLLBACK FAILED - two"));
}

const KUBE: &str = r#"
adapter = "kubectl"
target  = "web"

[[steps]]
kind      = "deploy"
name      = "set image"
image     = "reg/web:2"
container = "app"

[[rollback]]
kind = "rollback"
name = "undo"
"#;

#[test]
fn a_rollout_status_that_times_out_after_set_image_is_rolled_back() {
    let bench = Bench::new();
    bench.runbook("app", KUBE);
    fakes::kubectl(&bench);
    // `rollout status` fails after the new template was applied (the undo's own wait
    // then succeeds).
    bench.file("fake/kubectl.status.exit", "1");
    bench.executable(
        "bin/kube-wrap",
        "#!/bin/sh\ncase \"$*\" in *undo*) rm -f \"$FAKE_DIR/kubectl.status.exit\";; esac\nexec kubectl \"$@\"\n",
    );
    bench
        .run_with(
            &["promote", "app"],
            &[(
                "ROLLOUT_KUBECTL_BIN",
                bench.path("bin/kube-wrap").to_str().unwrap(),
            )],
        )
        .status(1);
    let (_, image, _) = fakes::kubectl_serves(&bench, "deployment/web");
    assert_eq!(image, "reg/web:1");
    assert!(bench.log().contains("ROLLBACK COMPLETE - app"));
}

#[test]
fn a_first_deploy_has_nothing_to_return_to_and_the_rollback_names_to() {
    let bench = Bench::new();
    bench.runbook("app", FLY_FLAG).fake("checker");
    fakes::fly(&bench, &[]);
    bench.tell("checker", "none", "exit", "1");
    bench
        .run(&["promote", "app"])
        .status(4)
        .stderr_has("web has no stable release")
        .stderr_has("--to");
    assert!(
        bench
            .calls()
            .contains(&"fly [releases] [--app] [web] [--json]".to_string())
    );
}

#[test]
fn a_to_that_a_rollback_cmd_cannot_use_is_refused_before_anything_runs() {
    let bench = Bench::new();
    bench
        .runbook(
            "app",
            r#"
[[steps]]
kind = "run"
cmd  = "deployer ship"

[[rollback]]
kind    = "rollback"
adapter = "exec"
target  = "web"
name    = "back"
cmd     = "deployer undo"
"#,
        )
        .fake("deployer");
    bench.run(&["promote", "app"]).status(0);
    bench
        .run(&["rollback", "app", "--to", "v1", "--yes"])
        .status(2)
        .stderr_has("--to cannot be used: rollback step `back` runs a command of its own");
    assert_eq!(bench.calls(), vec!["deployer [ship]"]);
    // Without --to it runs (`--all`: the run's own step changed no target), and state
    // claims no release it did not see.
    bench.run(&["rollback", "app", "--yes", "--all"]).status(0);
    assert_eq!(bench.calls().last().unwrap(), "deployer [undo]");
    assert!(bench.state("app")["releases"]["web"]["current"].is_null());
}

#[test]
fn a_secret_registry_host_reaches_the_rollback_deploy_unmasked_and_state_masked() {
    let bench = Bench::new();
    bench
        .runbook(
            "app",
            &FLY_FLAG.replace("reg/web:2", "{{secret.REGISTRY}}/web:2"),
        )
        .fake("checker");
    fakes::fly(&bench, &["1 complete registry.internal.example:5000/web:1"]);
    bench.tell("checker", "none", "exit", "1");
    bench
        .run_with(
            &["promote", "app"],
            &[("REGISTRY", "registry.internal.example:5000")],
        )
        .status(1);
    assert_eq!(
        fakes::fly_serves(&bench, "web"),
        "registry.internal.example:5000/web:1"
    );
    let state = bench.state("app");
    let text = state.to_string();
    assert!(!text.contains("registry.internal.example"), "{text}");
    // SPEC §4.1: the secret part of the pin is kept as its reference.
    assert_eq!(
        state["releases"]["web"]["stable"]["release"],
        "{{secret.REGISTRY}}/web:1"
    );
    assert_eq!(
        state["releases"]["web"]["current"],
        "{{secret.REGISTRY}}/web:1"
    );
    assert!(!bench.log().contains("registry.internal.example"));
}

#[test]
fn an_exec_stable_release_with_a_secret_reaches_the_rollback_command_and_never_state() {
    let bench = Bench::new();
    bench
        .runbook(
            "app",
            r#"
adapter = "exec"
target  = "web"

[adapters.exec]
current_cmd = "current-of web"

[[steps]]
kind    = "deploy"
release = "{{secret.REGISTRY}}/web:2"
cmd     = "shipper {{release}}"

[[steps]]
kind = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
cmd  = "shipper {{to}}"
"#,
        )
        .fake("shipper")
        .fake("checker")
        .fake("current-of");
    bench.tell("current-of", "web", "out", "reg.internal:5000/web:1\n");
    bench.tell("checker", "none", "exit", "1");
    bench
        .run_with(&["promote", "app"], &[("REGISTRY", "reg.internal:5000")])
        .status(1);
    let calls = bench.calls();
    assert_eq!(
        calls.last().unwrap(),
        "shipper [reg.internal:5000/web:1]",
        "{calls:?}"
    );
    let state = bench.state("app").to_string();
    assert!(!state.contains("reg.internal"), "{state}");
    assert!(state.contains("{{secret.REGISTRY}}/web:1"), "{state}");
}

/// The ladder of SPEC §4.2: restart, a health check, scale to zero.
fn ladder(health_url: &str) -> String {
    format!(
        r#"
adapter = "fly"
target  = "web"

[[steps]]
kind  = "deploy"
name  = "deploy"
image = "reg/web:2"

[[rollback]]
kind = "rollback"
name = "back"

[[emergency]]
kind = "restart"
name = "restart"

[[emergency]]
kind      = "health"
name      = "healthy again"
url       = "{health_url}"
interval  = "100ms"
successes = 1
within    = "2s"

[[emergency]]
kind  = "scale"
name  = "scale to zero"
count = 0
"#
    )
}

#[test]
fn the_ladder_stops_at_a_passing_check_and_never_scales_a_fixed_service_to_zero() {
    let server = TestServer::always(Reply::ok("ok"));
    let bench = Bench::new();
    bench.runbook("app", &ladder(&server.url("/health")));
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    bench.run(&["promote", "app"]).status(0);
    bench.tell("fly", "deploy", "exit", "1");
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert!(
        !bench.calls().iter().any(|c| c.starts_with("fly [scale]")),
        "{:?}",
        bench.calls()
    );
    assert_eq!(fakes::fly_serves(&bench, "web"), "reg/web:2");
    let log = bench.log();
    let complete = log
        .lines()
        .find(|l| l.contains("EMERGENCY ROLLBACK COMPLETE - app"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        complete.contains("recovered_after=restart check=\"healthy again\""),
        "{complete}"
    );
}

#[test]
fn the_ladder_climbs_on_when_the_check_fails() {
    let server = TestServer::always(Reply::new(503, "down"));
    let bench = Bench::new();
    bench.runbook("app", &ladder(&server.url("/health")));
    fakes::fly(&bench, &["1 complete reg/web:1"]);
    bench.run(&["promote", "app"]).status(0);
    bench.tell("fly", "deploy", "exit", "1");
    bench.run(&["rollback", "app", "--emergency"]).status(0);
    assert_eq!(
        bench.calls().last().unwrap(),
        "fly [scale] [count] [0] [--app] [web] [--yes]"
    );
    // fly destroys the machines: nothing is served.
    assert_eq!(fakes::fly_serves(&bench, "web"), "");
    assert!(bench.log().contains("EMERGENCY ROLLBACK COMPLETE - app"));
}

/// A systemd unit behind a `current` symlink, a flag in a drop-in.
const SYSTEMD: &str = r#"
adapter = "systemctl"
target  = "web"

[adapters.systemctl]
current    = "srv/current"
dropin_dir = "units/web.service.d"

[[steps]]
kind    = "deploy"
name    = "release"
release = "srv/releases/v2"

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
kind = "rollback"
name = "release back"

[[rollback]]
kind    = "promote"
name    = "flag off"
percent = 0
flag    = "NEW_CHECKOUT"
"#;

fn systemd_bench() -> Bench {
    let bench = Bench::new();
    bench.runbook("app", SYSTEMD).fake("checker");
    for v in ["v1", "v2"] {
        std::fs::create_dir_all(bench.path(&format!("srv/releases/{v}"))).unwrap();
    }
    std::os::unix::fs::symlink(bench.path("srv/releases/v1"), bench.path("srv/current")).unwrap();
    fakes::systemctl(&bench, &[("web", "srv/current", "units/web.service.d")]);
    bench
}

#[test]
fn a_systemd_restart_that_fails_after_the_switch_is_rolled_back_to_the_release_of_before() {
    let bench = systemd_bench();
    // The new release's process does not start: `current` was already switched.
    bench.file("fake/systemctl.fail", "v2\n");
    bench.run(&["promote", "app"]).status(1);
    let (active, serving, _) = fakes::systemd_serves(&bench, "web");
    assert_eq!((active.as_str(), serving.as_str()), ("active", "v1"));
    assert!(
        std::fs::read_link(bench.path("srv/current"))
            .unwrap()
            .ends_with("srv/releases/v1")
    );
    let log = bench.log();
    assert!(log.contains("ROLLBACK COMPLETE - app"), "{log}");
}

#[test]
fn a_systemd_flag_stays_in_its_drop_in_until_the_rollback_turns_it_off() {
    let bench = systemd_bench();
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    let (active, serving, env) = fakes::systemd_serves(&bench, "web");
    assert_eq!((active.as_str(), serving.as_str()), ("active", "v1"));
    // Repointing `current` alone would have restarted v1 with the flag still at 10.
    assert_eq!(env["NEW_CHECKOUT"], "0", "{env}");
}

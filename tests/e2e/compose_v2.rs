//! The compose adapter with `docker compose` (v2) against the simulator
//! (tests/sim/docker.py, behaviour cited from docker/compose's source); the real engine
//! with v1 is tests/e2e/compose.rs. Each test asserts what the services serve.

use crate::fakes;
use crate::support::Bench;

const RUNBOOK: &str = r#"
adapter = "compose"
target  = "web"

[vars]
version = "v2"

[adapters.compose]
project = "shop"

[[steps]]
kind  = "deploy"
image = "app:{{version}}"

[[steps]]
kind    = "promote"
percent = 10
flag    = "NEW_CHECKOUT"

[[steps]]
kind = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"

[[rollback]]
kind    = "promote"
percent = 0
flag    = "NEW_CHECKOUT"
"#;

const COMPOSE: &str = "services:\n  web:\n    image: app:v1\n  cache:\n    image: cache:v1\n";

fn bench() -> Bench {
    let bench = Bench::new();
    bench
        .runbook("app", RUNBOOK)
        .file("compose.yaml", COMPOSE)
        .fake("checker");
    fakes::docker(&bench, &[("web", "app:v1"), ("cache", "cache:v1")]);
    bench
}

#[test]
fn a_failed_run_serves_the_image_of_before_and_never_recreates_the_other_service() {
    let bench = bench();
    let (cache_id, _, _, cache_starts) = fakes::docker_serves(&bench, "cache");
    bench.tell("checker", "none", "exit", "1");
    bench.run(&["promote", "app"]).status(1);
    let (_, image, env, _) = fakes::docker_serves(&bench, "web");
    assert_eq!(image, "app:v1");
    assert_eq!(env["NEW_CHECKOUT"], "0", "{env}");
    assert_eq!(
        fakes::docker_serves(&bench, "cache"),
        (
            cache_id,
            "cache:v1".to_string(),
            serde_json::json!({}),
            cache_starts
        )
    );
    let ups: Vec<String> = bench
        .calls()
        .into_iter()
        .filter(|c| c.contains("[up]"))
        .collect();
    assert!(
        ups.iter().all(|c| c.contains("[--no-deps] [--wait] [web]")
            && c.starts_with("docker [compose] [-p] [shop]")),
        "{ups:?}"
    );
}

#[test]
fn a_deploy_whose_container_exits_is_a_change_and_is_rolled_back() {
    let bench = bench();
    bench.file("fake/docker.crash", "app:v2\n");
    bench
        .run(&["promote", "app"])
        .status(1)
        .stderr_has("container shop-web-1 exited (1)");
    let (_, image, _, _) = fakes::docker_serves(&bench, "web");
    assert_eq!(image, "app:v1");
}

#[test]
fn a_moved_tag_sends_the_rollback_to_the_pinned_image_id_not_the_new_image() {
    let bench = bench();
    bench
        .run(&["promote", "app", "--set", "version=v1"])
        .status(0);
    // Someone rebuilt and re-pushed app:v1 since: the tag names another image now.
    bench.file("fake/docker.retag", "app:v1 sha256:rebuilt\n");
    bench.tell("checker", "none", "exit", "1");
    bench.runbook("app", &RUNBOOK.replace("app:{{version}}", "app:v3"));
    bench.run(&["promote", "app"]).status(1);
    let (_, image, _, _) = fakes::docker_serves(&bench, "web");
    assert!(
        image.starts_with("sha256:") && image != "sha256:rebuilt",
        "{image}"
    );
}

#[test]
fn flags_are_one_recreate_and_restart_keeps_the_container() {
    let bench = bench();
    bench.runbook(
        "flags",
        r#"
adapter = "compose"
target  = "web"

[[steps]]
kind    = "promote"
percent = 25
flag    = "NEW_CHECKOUT"
flags   = { STAGE = "beta" }

[[steps]]
kind = "restart"
"#,
    );
    bench.run(&["promote", "flags"]).status(0);
    let (id, image, env, starts) = fakes::docker_serves(&bench, "web");
    assert_eq!(image, "app:v1");
    assert_eq!(
        env,
        serde_json::json!({"NEW_CHECKOUT": "25", "STAGE": "beta"})
    );
    assert_eq!(starts, 2, "restarted in place once");
    assert_eq!(
        bench.calls().iter().filter(|c| c.contains("[up]")).count(),
        1
    );
    assert!(!id.is_empty());
}

#[test]
fn show_prints_every_compose_command() {
    let bench = bench();
    bench
        .run(&["show", "app"])
        .status(0)
        .stdout_has("write .rollout/compose/shop.override.yml: services.web.image = app:v2")
        .stdout_has(
            "compose.yaml -f .rollout/compose/shop.override.yml up -d --no-deps --wait web",
        );
}

#[test]
fn the_shipped_compose_stack_example_validates_and_shows_each_compose_command() {
    let bench = Bench::new();
    let repo = env!("CARGO_MANIFEST_DIR");
    bench
        .run(&["-C", repo, "validate", "compose-stack"])
        .status(0);
    bench
        .run(&["-C", repo, "show", "compose-stack"])
        .status(0)
        .stdout_has("docker compose -p openhands -f deploy/openhands/docker-compose.yml -f .rollout/compose/openhands.override.yml up -d --no-deps --wait openhands")
        .stdout_has("services.openhands.image = <the image the service ran before the run changed it>")
        .stdout_has("log: openhands back on {{stable}}: {{reason}}");
}

#[test]
fn a_build_deploy_records_the_image_compose_built_as_read_from_the_engine() {
    let bench = bench();
    bench.runbook(
        "build",
        r#"
adapter = "compose"
target  = "web"

[adapters.compose]
project = "shop"

[[steps]]
kind  = "deploy"
build = true

[[rollback]]
kind = "rollback"
"#,
    );
    let (before, _, _, _) = fakes::docker_serves(&bench, "web");
    bench.run(&["promote", "build"]).status(0);
    let (after, image, _, _) = fakes::docker_serves(&bench, "web");
    assert_ne!(before, after, "the built image recreated the container");
    assert_eq!(image, "app:v1");
    let web = &bench.state("build")["releases"]["web"];
    assert_eq!(web["current"], "app:v1");
    assert_eq!(web["stable"]["release"], "app:v1");
    assert!(
        bench
            .calls()
            .iter()
            .any(|c| c.contains("[up] [-d] [--no-deps] [--build] [--wait] [web]")),
        "{:?}",
        bench.calls()
    );
    // The name now means the new build: a rollback goes back to the image ID that ran.
    bench.run(&["rollback", "build", "--yes"]).status(0);
    let (_, image, _, _) = fakes::docker_serves(&bench, "web");
    assert!(image.starts_with("sha256:"), "{image}");
}

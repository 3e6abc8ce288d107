//! The compose adapter against a real Docker engine (a daemon of the test's own, see
//! `dockerd.rs`) and Debian's `docker-compose` (v1): a two-service project where only
//! `web` is ever recreated.

use std::fs;

use crate::dockerd::{Dockerd, free_port, get};
use crate::support::Bench;

fn compose_file(web: u16, cache: u16) -> String {
    // `stop_grace_period`: busybox httpd as pid 1 ignores SIGTERM; no need to wait 10s.
    format!(
        r#"services:
  web:
    image: t/app:v1
    pull_policy: never
    network_mode: host
    stop_grace_period: 1s
    command: ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:{web}", "-h", "/www"]
  cache:
    image: t/cache:1
    pull_policy: never
    network_mode: host
    stop_grace_period: 1s
    command: ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:{cache}", "-h", "/www"]
"#
    )
}

fn app(web: u16) -> String {
    format!(
        r#"
adapter = "compose"
target  = "web"

[vars]
version = "v1"

[adapters.compose]
bin     = "docker-compose"
file    = "compose.yaml"
project = "shop"

[[steps]]
kind  = "deploy"
name  = "release"
image = "t/app:{{{{version}}}}"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = ["busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:{web}/ok"]

[[rollback]]
kind = "rollback"
name = "stable image"
"#
    )
}

const FLAGS: &str = r#"
adapter = "compose"
target  = "web"

[adapters.compose]
bin     = "docker-compose"
file    = "compose.yaml"
project = "shop"

[[steps]]
kind  = "promote"
name  = "beta"
flags = { CHECKOUT = "new", STAGE = "beta" }
"#;

/// A rollback that cannot succeed (the image is not there and is never pulled), so
/// `--emergency` climbs to the ladder's restart.
const LADDER: &str = r#"
adapter = "compose"
target  = "web"

[adapters.compose]
bin     = "docker-compose"
file    = "compose.yaml"
project = "shop"

[[steps]]
kind = "restart"
name = "restart"

[[rollback]]
kind = "rollback"
name = "to a missing image"
to   = "t/app:missing"

[[emergency]]
kind = "restart"
name = "restart web"
"#;

fn container(d: &Dockerd, service: &str) -> String {
    d.docker(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        "label=com.docker.compose.project=shop",
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ])
    .unwrap()
}

fn inspect(d: &Dockerd, id: &str, format: &str) -> String {
    d.docker(&["inspect", "--format", format, id]).unwrap()
}

#[test]
fn a_service_deploys_rolls_back_to_its_stable_image_and_leaves_the_other_alone() {
    let d = match Dockerd::start() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipping the real-engine compose test: {why}");
            return;
        }
    };
    d.image("t/app:v1", &[("index.html", "v1\n"), ("ok", "ok\n")]);
    // v2 lacks /ok: its smoke test fails.
    d.image("t/app:v2", &[("index.html", "v2\n")]);
    d.image("t/cache:1", &[("index.html", "cache\n")]);
    let (web, cache) = (free_port(), free_port());

    let bench = Bench::new();
    bench
        .file("compose.yaml", &compose_file(web, cache))
        .runbook("app", &app(web))
        .runbook("flags", FLAGS)
        .runbook("ladder", LADDER);
    let env = [("DOCKER_HOST", d.host.as_str())];
    let compose = |args: &[&str]| {
        let out = std::process::Command::new("docker-compose")
            .args(["-p", "shop", "-f", "compose.yaml"])
            .args(args)
            .current_dir(bench.root())
            .env("DOCKER_HOST", &d.host)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    // The stack's other service runs before rollout touches anything.
    compose(&["up", "-d", "cache"]);
    let cache_id = container(&d, "cache");
    assert!(!cache_id.is_empty());

    // A first deploy: nothing ran before, v1 comes up and passes its smoke test.
    bench.run_with(&["promote", "app"], &env).status(0);
    assert_eq!(get(web, "/").map(|r| r.1), Some("v1\n".into()));
    let override_file = fs::read_to_string(bench.path(".rollout/compose/shop.web.yml")).unwrap();
    assert!(
        override_file.contains("\"image\": \"t/app:v1\""),
        "{override_file}"
    );

    // v2 fails its smoke test: the automatic rollback serves v1 again.
    let run = bench.run_with(&["promote", "app", "--set", "version=v2"], &env);
    run.status(1)
        .stderr_has("release: web: stable t/app:v1")
        .stderr_has("rollback complete");
    assert_eq!(get(web, "/").map(|r| r.1), Some("v1\n".into()));
    let web_id = container(&d, "web");
    assert_eq!(inspect(&d, &web_id, "{{.Config.Image}}"), "t/app:v1");
    assert_eq!(container(&d, "cache"), cache_id, "cache was recreated");

    // `rollback --to` names an image of its own.
    bench
        .run_with(&["rollback", "app", "--to", "t/app:v2"], &env)
        .status(0);
    assert_eq!(get(web, "/").map(|r| r.1), Some("v2\n".into()));

    // Flags land in the container's environment, the image pinned to what runs.
    bench.run_with(&["promote", "flags"], &env).status(0);
    let web_id = container(&d, "web");
    let env_vars = inspect(&d, &web_id, "{{json .Config.Env}}");
    assert!(env_vars.contains("\"CHECKOUT=new\""), "{env_vars}");
    assert!(env_vars.contains("\"STAGE=beta\""), "{env_vars}");
    assert_eq!(inspect(&d, &web_id, "{{.Config.Image}}"), "t/app:v2");
    assert_eq!(get(web, "/").map(|r| r.1), Some("v2\n".into()));

    // The emergency ladder: the rollback fails (no such image), the restart runs.
    bench.run_with(&["promote", "ladder"], &env).status(0);
    let started = inspect(&d, &web_id, "{{.State.StartedAt}}");
    let run = bench.run_with(
        &["rollback", "ladder", "--emergency", "--reason", "test"],
        &env,
    );
    run.stderr_has("restart web");
    let web_now = container(&d, "web");
    assert_eq!(web_now, web_id, "the restart must not recreate web");
    assert_ne!(inspect(&d, &web_id, "{{.State.StartedAt}}"), started);
    assert_eq!(container(&d, "cache"), cache_id, "cache was recreated");
    assert_eq!(get(cache, "/").map(|r| r.1), Some("cache\n".into()));
}

#[test]
fn bad_input_is_named_before_anything_changes() {
    let d = match Dockerd::start() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipping the real-engine compose test: {why}");
            return;
        }
    };
    let project = |compose: &str| {
        let bench = Bench::new();
        bench.file("compose.yaml", compose).runbook(
            "app",
            &app(free_port()).replace("target  = \"web\"", "target  = \"wbe\""),
        );
        bench
    };
    let env = [("DOCKER_HOST", d.host.as_str())];
    let bench = project(&compose_file(free_port(), free_port()));
    bench
        .run_with(&["promote", "app"], &env)
        .status(1)
        .stderr_has("service `wbe` is not in")
        .stderr_has("compose.yaml")
        .stderr_has("nothing was changed");

    let bench = project("services:\n  web: [unclosed\n");
    bench
        .run_with(&["promote", "app"], &env)
        .status(1)
        .stderr_has("compose cannot read")
        .stderr_has("compose.yaml");

    let bench = project(&compose_file(free_port(), free_port()));
    let gone = format!("unix://{}/nothing.sock", d.path().display());
    bench
        .run_with(&["promote", "app"], &[("DOCKER_HOST", gone.as_str())])
        .status(1)
        .stderr_has(&format!("the Docker engine at {gone} does not answer"));
    assert!(!bench.path(".rollout/compose").exists());
}

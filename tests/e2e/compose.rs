//! The compose adapter against a real Docker engine (tests/e2e/docker_engine.rs) and
//! Debian's `docker-compose` (v1): what each service *serves* after a deploy, a failed
//! run's rollback, `--to`, flags and the emergency ladder — and that a step on one
//! service never recreates another.

use crate::docker_engine::{Engine, page};
use crate::support::Bench;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two services from the same busybox image family: `web` (the one rolled out) and
/// `cache`, each serving its image's page on its own port of the host network.
fn compose_file(web: u16, cache: u16) -> String {
    let service = |image: &str, port: u16| {
        format!(
            // `stop_grace_period`: busybox httpd as pid 1 ignores SIGTERM, so each
            // recreate would otherwise wait out compose's 10s default.
            "    image: {image}\n    network_mode: host\n    stop_grace_period: 1s\n    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"127.0.0.1:{port}\", \"-h\", \"/www\"]\n"
        )
    };
    format!(
        "version: \"2.4\"\nservices:\n  web:\n{}  cache:\n{}",
        service("app:v1", web),
        service("cache:v1", cache)
    )
}

const RUNBOOK: &str = r#"
adapter = "compose"
target  = "web"

[vars]
version = "v2"

[adapters.compose]
bin     = "docker-compose"
project = "shop"

[[preflight]]
kind = "auth"

[[steps]]
kind  = "deploy"
image = "app:{{version}}"

[[steps]]
kind = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"

[[rollback]]
kind = "run"
cmd  = "after-rollback"

[[emergency]]
kind = "restart"
"#;

fn container(engine: &Engine, service: &str) -> String {
    engine
        .docker(&[
            "ps",
            "-q",
            "--filter",
            "label=com.docker.compose.project=shop",
            "--filter",
            &format!("label=com.docker.compose.service={service}"),
        ])
        .unwrap_or_default()
}

/// A throwaway engine with `images` (name, page), and the project `shop` of `compose`
/// (given the web and cache ports) up at v1 in a bench, as production was before
/// rollout; `None` (said) where no engine can start.
struct Stack {
    engine: Engine,
    bench: Bench,
    web: u16,
    cache: u16,
}

impl Stack {
    fn up(images: &[(&str, &str)], compose: fn(u16, u16) -> String) -> Option<Stack> {
        let engine = match Engine::start() {
            Ok(engine) => engine,
            Err(why) => {
                eprintln!("skipped: no Docker engine for the compose test: {why}");
                return None;
            }
        };
        for (name, page) in images {
            engine.image(name, page);
        }
        let (web, cache) = (free_port(), free_port());
        let bench = Bench::new();
        bench
            .runbook("app", RUNBOOK)
            .file("compose.yaml", &compose(web, cache))
            .fake("checker")
            .fake("after-rollback");
        let up = std::process::Command::new("docker-compose")
            .args(["-p", "shop", "up", "-d"])
            .current_dir(bench.root())
            .env("DOCKER_HOST", &engine.host)
            .output()
            .unwrap();
        assert!(
            up.status.success(),
            "{}",
            String::from_utf8_lossy(&up.stderr)
        );
        Some(Stack {
            engine,
            bench,
            web,
            cache,
        })
    }
}

#[test]
fn a_compose_service_is_rolled_out_rolled_back_and_flagged_on_a_real_engine() {
    let Some(Stack {
        engine,
        bench,
        web,
        cache,
    }) = Stack::up(
        &[
            ("app:v1", "web v1"),
            ("app:v2", "web v2"),
            ("cache:v1", "cache v1"),
        ],
        compose_file,
    )
    else {
        return;
    };
    let env = [("DOCKER_HOST", engine.host.as_str())];
    let wait = |port: u16, want: &str| {
        bench.wait_for(std::time::Duration::from_secs(20), |_| page(port) == want)
    };
    assert!(wait(web, "web v1") && wait(cache, "cache v1"));
    let cache_id = container(&engine, "cache");

    // A failed smoke test: the automatic rollback serves v1 again.
    bench.tell("checker", "none", "exit", "1");
    bench.run_with(&["promote", "app"], &env).status(1);
    assert!(wait(web, "web v1"), "web serves {:?}", page(web));
    let state = bench.state("app");
    assert_eq!(state["releases"]["web"]["stable"]["release"], "app:v1");
    assert_eq!(state["releases"]["web"]["current"], "app:v1");
    assert!(
        bench.log().contains("releases=\"web=app:v1\""),
        "{}",
        bench.log()
    );

    // A good run, then `rollback --to`.
    bench.tell("checker", "none", "exit", "0");
    bench.run_with(&["promote", "app"], &env).status(0);
    assert!(wait(web, "web v2"), "web serves {:?}", page(web));
    bench
        .run_with(&["rollback", "app", "--to", "app:v1", "--yes"], &env)
        .status(0);
    assert!(wait(web, "web v1"), "web serves {:?}", page(web));

    // Flags: one change, in the container's environment.
    bench.runbook(
        "flags",
        r#"
adapter = "compose"
target  = "web"

[adapters.compose]
bin     = "docker-compose"
project = "shop"

[[steps]]
kind    = "promote"
percent = 10
flag    = "NEW_CHECKOUT"
flags   = { STAGE = "beta" }
"#,
    );
    bench.run_with(&["promote", "flags"], &env).status(0);
    let web_id = container(&engine, "web");
    let env_of = engine
        .docker(&["inspect", "--format", "{{json .Config.Env}}", &web_id])
        .unwrap();
    assert!(
        env_of.contains("NEW_CHECKOUT=10") && env_of.contains("STAGE=beta"),
        "{env_of}"
    );
    assert!(wait(web, "web v1"), "the flag kept the image rollout set");

    // The emergency ladder: the rollback's own check fails, the restart rung runs.
    let started = |id: &str| {
        engine
            .docker(&["inspect", "--format", "{{.State.StartedAt}}", id])
            .unwrap()
    };
    let before = started(&web_id);
    bench.tell("after-rollback", "none", "exit", "1");
    bench
        .run_with(&["rollback", "app", "--emergency", "--to", "app:v1"], &env)
        .status(0);
    let web_now = container(&engine, "web");
    assert_ne!(started(&web_now), before, "the restart rung ran");

    // Through all of it, the other service was never recreated.
    assert_eq!(container(&engine, "cache"), cache_id);
    assert_eq!(page(cache), "cache v1");
}

#[test]
fn a_service_that_is_not_in_the_compose_file_is_an_error_before_anything_runs() {
    let bench = Bench::new();
    bench
        .runbook(
            "app",
            &RUNBOOK.replace("target  = \"web\"", "target  = \"wbe\""),
        )
        .file("compose.yaml", &compose_file(1, 2));
    bench
        .run(&["promote", "app"])
        .status(2)
        .stderr_has("service `wbe` is not in compose.yaml (its services: web, cache)")
        .stderr_has("did you mean `web`?");
    bench.file("compose.yaml", "services:\n  web:\n    image: [app\n");
    bench
        .run(&["validate", "app"])
        .status(2)
        .stderr_has("compose.yaml:")
        .stderr_has("compose file does not parse");
    assert!(bench.calls().is_empty());
}

#[test]
fn an_engine_that_cannot_be_reached_is_named_before_anything_changes() {
    let bench = Bench::new();
    bench
        .runbook("app", RUNBOOK)
        .file("compose.yaml", &compose_file(1, 2));
    if !std::path::Path::new("/usr/bin/docker-compose").exists() {
        eprintln!("skipped: docker-compose is not installed");
        return;
    }
    let sock = bench.path("no-such.sock").display().to_string();
    bench
        .run_with(
            &["promote", "app"],
            &[("DOCKER_HOST", &format!("unix://{sock}"))],
        )
        .status(1)
        .stderr_has(&sock);
    assert!(!bench.path(".rollout/compose/shop.override.yml").exists());
}

/// `web` with a healthcheck that passes only where the image's page says "healthy".
fn compose_file_with_healthcheck(web: u16, cache: u16) -> String {
    compose_file(web, cache).replacen(
        "    stop_grace_period: 1s\n",
        "    stop_grace_period: 1s\n    healthcheck:\n      test: [\"CMD\", \"/bin/busybox\", \"grep\", \"-q\", \"healthy\", \"/www/index.html\"]\n      interval: 1s\n      retries: 2\n",
        1,
    )
}

/// v1 has no `up --wait`: the deploy waits for the healthcheck, an image that never
/// turns healthy fails its deploy (a change, rolled back), and a stable tag that moved
/// during the run sends the rollback to the image id the service ran.
#[test]
fn v1_waits_for_health_and_a_moved_tag_returns_to_the_pinned_image_on_a_real_engine() {
    let Some(Stack {
        engine, bench, web, ..
    }) = Stack::up(
        &[
            ("app:v1", "web v1 healthy"),
            ("app:v2", "web v2 healthy"),
            ("app:v3", "web v3 broken"),
            ("cache:v1", "cache v1"),
        ],
        compose_file_with_healthcheck,
    )
    else {
        return;
    };
    let env = [("DOCKER_HOST", engine.host.as_str())];
    let cache_id = container(&engine, "cache");
    let inspect = |format: &str| {
        engine
            .docker(&["inspect", "--format", format, &container(&engine, "web")])
            .unwrap()
    };

    // The deploy returns only once the new container is healthy.
    bench.run_with(&["promote", "app"], &env).status(0);
    assert_eq!(inspect("{{.State.Health.Status}}"), "healthy");
    assert_eq!(page(web), "web v2 healthy");

    // v3 never turns healthy: the deploy fails, and is rolled back to v2.
    bench
        .run_with(&["promote", "app", "--set", "version=v3"], &env)
        .status(1)
        .stderr_has("unhealthy");
    assert_eq!(inspect("{{.Config.Image}}"), "app:v2");
    assert_eq!(page(web), "web v2 healthy");

    // `app:live` names v1 when the run pins it; then a new build takes the tag (v2)
    // and its smoke test fails. The rollback serves v1 again, by its image id.
    engine.docker(&["tag", "app:v1", "app:live"]).unwrap();
    bench
        .run_with(&["rollback", "app", "--to", "app:live", "--yes"], &env)
        .status(0);
    assert_eq!(page(web), "web v1 healthy");
    let v1_id = engine
        .docker(&["image", "inspect", "--format", "{{.Id}}", "app:v1"])
        .unwrap();
    engine.docker(&["tag", "app:v2", "app:live"]).unwrap();
    bench.tell("checker", "none", "exit", "1");
    bench
        .run_with(&["promote", "app", "--set", "version=live"], &env)
        .status(1);
    assert_eq!(page(web), "web v1 healthy");
    assert_eq!(inspect("{{.Image}}"), v1_id);

    assert_eq!(container(&engine, "cache"), cache_id, "cache was recreated");
}

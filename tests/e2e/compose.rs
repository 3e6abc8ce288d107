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
    healthcheck:
      test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:{web}/"]
      interval: 1s
      retries: 3
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
    d.image("t/app:v3", &[("ok", "ok\n")]);
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
    // v1 has no `up --wait`: the deploy waited for the healthcheck to pass.
    let first = container(&d, "web");
    assert_eq!(inspect(&d, &first, "{{.State.Health.Status}}"), "healthy");
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

    // v3 never turns healthy (no index page): the v1-style wait fails the deploy,
    // which is rolled back like any change.
    bench
        .run_with(&["promote", "app", "--set", "version=v3"], &env)
        .status(1)
        .stderr_has("is unhealthy after `up`")
        .stderr_has("rollback complete");
    assert_eq!(get(web, "/").map(|r| r.1), Some("v1\n".into()));
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

    // A moved tag: `t/app:live` named v1 when the run pinned it, then a new build took
    // the tag (v2, failing its smoke test). The rollback returns to the image v1 by id.
    d.docker(&["tag", "t/app:v1", "t/app:live"]).unwrap();
    bench
        .run_with(&["rollback", "app", "--to", "t/app:live"], &env)
        .status(0);
    assert_eq!(get(web, "/").map(|r| r.1), Some("v1\n".into()));
    d.docker(&["tag", "t/app:v2", "t/app:live"]).unwrap();
    bench
        .run_with(&["promote", "app", "--set", "version=live"], &env)
        .status(1)
        .stderr_has("rollback complete");
    assert_eq!(get(web, "/").map(|r| r.1), Some("v1\n".into()));
    let v1_id = d
        .docker(&["image", "inspect", "--format", "{{.Id}}", "t/app:v1"])
        .unwrap();
    let override_file = fs::read_to_string(bench.path(".rollout/compose/shop.web.yml")).unwrap();
    assert!(override_file.contains(&v1_id), "{override_file}");
    assert_eq!(container(&d, "cache"), cache_id, "cache was recreated");

    // The emergency ladder: the rollback fails (no such image), the restart runs.
    let web_id = container(&d, "web");
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

/// After the shared prelude: a `docker` that behaves like the docker CLI with the
/// compose v2 plugin where the adapter depends on it, for the version Debian cannot
/// give us. State lives in `$FAKE_DIR/svc.SERVICE.{id,image,env,project}`.
///
/// - `info` answers, or with `fake/engine.down` fails as docker/cli does when the
///   socket does not answer ("Cannot connect to the Docker daemon at …").
/// - `compose [-p P] -f F… SUB`: a `-f` file that does not exist fails (compose-go
///   `cli/options.go` reads every file given); the services are the keys under
///   `services:` of the first file; the last file is rollout's override.
/// - `compose … config --services` prints them (docker/compose `cmd/compose/config.go`
///   "services").
/// - `compose … up`: takes only the flags `cmd/compose/up.go` defines that rollout
///   uses (`-d`, `--no-deps`, `--wait`, `--build`, `--scale S=N`; cobra fails on any
///   other: "unknown flag"); a service not in the files fails with "no such service"
///   (docker/compose `pkg/compose/up.go` via project.GetServices). The named service's
///   container is recreated only when its image or environment changed (the config
///   hash of `pkg/compose/convergence.go` mustRecreate); an image not in
///   `fake/images` fails like the engine ("No such image"); `--scale S=0` removes it.
///   Other services are untouched: `--no-deps` (`up.go` noDeps).
/// - `compose … restart S` restarts in place (`pkg/compose/restart.go`): same id.
/// - `image inspect --format {{.Id}} REF`: the id of an image in `fake/images` (tags
///   never move in the simulator), else "No such image" and exit 1, as docker/cli does.
/// - `ps -a -q --no-trunc --filter label=…project=P --filter label=…service=S` and
///   `inspect --type container ID` read the containers by the compose labels.
const DOCKER_V2: &str = r#"
st="$FAKE_DIR"
if [ "$1" = "info" ]; then
  if [ -f "$st/engine.down" ]; then
    echo "Cannot connect to the Docker daemon at ${DOCKER_HOST:-unix:///var/run/docker.sock}. Is the docker daemon running?" >&2
    exit 1
  fi
  echo "27.5.1"; exit 0
fi
if [ "$1" = "ps" ]; then
  project=""; service=""
  for a in "$@"; do
    case "$a" in
      label=com.docker.compose.project=*) project="${a#label=com.docker.compose.project=}" ;;
      label=com.docker.compose.service=*) service="${a#label=com.docker.compose.service=}" ;;
    esac
  done
  if [ -s "$st/svc.$service.id" ] && [ "$(cat "$st/svc.$service.project")" = "$project" ]; then cat "$st/svc.$service.id"; fi
  exit 0
fi
if [ "$1 $2" = "image inspect" ]; then
  # The id of an image the engine has (`fake/images`); tags never move here.
  grep -qx "$5" "$st/images" || { echo "Error: No such image: $5" >&2; exit 1; }
  echo "sha256:$(echo "$5" | cksum | cut -d' ' -f1)"; exit 0
fi
if [ "$1" = "inspect" ]; then
  shift 3
  printf '['
  sep=""
  for id in "$@"; do
    for f in "$st"/svc.*.id; do
      [ "$(cat "$f")" = "$id" ] || continue
      s=$(basename "$f" .id); s=${s#svc.}
      env=$(tr '\n' ' ' < "$st/svc.$s.env" 2>/dev/null)
      printf '%s{"Id": "%s", "Image": "sha256:%s", "State": {"Status": "running"}, "Config": {"Image": "%s", "Labels": {"com.docker.compose.service": "%s"}, "Env": [%s]}}' \
        "$sep" "$id" "$(cksum < "$st/svc.$s.image" | cut -d' ' -f1)" "$(cat "$st/svc.$s.image")" "$s" "$env"
      sep=","
    done
  done
  echo ']'; exit 0
fi
[ "$1" = "compose" ] || { echo "docker: '$1' is not a docker command" >&2; exit 1; }
shift
project=""; files=""; last=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p) project="$2"; shift 2 ;;
    -f) [ -f "$2" ] || { echo "open $2: no such file or directory" >&2; exit 1; }
        files="$files $2"; last="$2"; shift 2 ;;
    *) break ;;
  esac
done
first=${files# }; first=${first%% *}
[ -n "$project" ] || project=$(basename "$(pwd)")
services=$(sed -n '/^services:/,/^[^ ]/p' "$first" | sed -n 's/^  \([A-Za-z0-9_-]*\):.*/\1/p')
sub="$1"; shift
case "$sub" in
  config)
    [ "$1" = "--services" ] && echo "$services"; exit 0 ;;
  restart)
    echo "$services" | grep -qx "$1" || { echo "no such service: $1" >&2; exit 1; }
    echo x >> "$st/svc.$1.restarts"; exit 0 ;;
  up)
    service=""; scale=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -d|--no-deps|--wait|--build) ;;
        --scale) scale="${2#*=}"; shift ;;
        -*) echo "unknown flag: $1" >&2; exit 1 ;;
        *) service="$1" ;;
      esac
      shift
    done
    echo "$services" | grep -qx "$service" || { echo "no such service: $service" >&2; exit 1; }
    if [ "$scale" = "0" ]; then : > "$st/svc.$service.id"; exit 0; fi
    image=""
    [ "$last" = "$first" ] || image=$(sed -n 's/^ *"image": "\(.*\)",\{0,1\}$/\1/p' "$last" | head -n 1)
    [ -n "$image" ] || image=$(sed -n "/^  $service:/,/^  [^ ]/p" "$first" | sed -n 's/^    image: *//p' | head -n 1)
    if [ -f "$st/images" ] && ! grep -qx "$image" "$st/images"; then
      echo "Error response from daemon: No such image: $image" >&2; exit 1
    fi
    env=$(sed -n '/"environment"/,/}/p' "$last" | sed -n 's/^ *"\([A-Za-z_][A-Za-z0-9_]*\)": "\(.*\)",\{0,1\}$/"\1=\2"/p' | paste -sd, -)
    old="$(cat "$st/svc.$service.image" 2>/dev/null) $(cat "$st/svc.$service.env" 2>/dev/null)"
    if [ ! -s "$st/svc.$service.id" ] || [ "$old" != "$image $env" ]; then
      n=$(( $(cat "$st/containers" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$st/containers"
      printf '%064d\n' "$n" > "$st/svc.$service.id"
    fi
    echo "$image" > "$st/svc.$service.image"; echo "$env" > "$st/svc.$service.env"
    echo "$project" > "$st/svc.$service.project"
    exit 0 ;;
esac
echo "unknown docker compose command: $sub" >&2; exit 1
"#;

fn simulated(bench: &Bench) -> std::collections::BTreeMap<String, String> {
    ["web", "cache"]
        .iter()
        .flat_map(|s| {
            ["id", "image", "env"].map(|f| {
                let v = fs::read_to_string(bench.path(&format!("fake/svc.{s}.{f}")))
                    .unwrap_or_default();
                (format!("{s}.{f}"), v.trim().to_string())
            })
        })
        .collect()
}

const APP_V2: &str = r#"
adapter = "compose"
target  = "web"

[vars]
version = "v1"

[adapters.compose]
project = "shop"

[[steps]]
kind  = "deploy"
name  = "release"
image = "t/app:{{version}}"

[[steps]]
kind = "smoke"
name = "smoke"
cmd  = "checker"

[[rollback]]
kind = "rollback"
name = "stable image"

[[emergency]]
kind  = "scale"
name  = "stop web"
count = 0
"#;

#[test]
fn compose_v2_argv_through_the_simulator() {
    let bench = Bench::new();
    bench
        .file("compose.yaml", &compose_file(1, 2))
        .file("fake/images", "t/app:v1\nt/app:v2\nt/cache:1\n")
        .runbook("app", APP_V2)
        .runbook(
            "flags",
            &FLAGS.replace("bin     = \"docker-compose\"\n", ""),
        )
        .fake("checker")
        .executable(
            "bin/docker",
            &format!("{}{DOCKER_V2}", crate::support::FAKE_PRELUDE),
        );
    // The other service runs before rollout touches anything.
    let up_cache = std::process::Command::new(bench.path("bin/docker"))
        .args([
            "compose",
            "-p",
            "shop",
            "-f",
            "compose.yaml",
            "up",
            "-d",
            "cache",
        ])
        .current_dir(bench.root())
        .env("FAKE_DIR", bench.path("fake"))
        .status()
        .unwrap();
    assert!(up_cache.success());
    let cache = simulated(&bench)["cache.id"].clone();

    bench.run(&["promote", "app"]).status(0);
    let compose_yaml = bench.path("compose.yaml").display().to_string();
    let up = format!(
        "docker [compose] [-p] [shop] [-f] [{compose_yaml}] [-f] [.rollout/compose/shop.web.yml] [up] [-d] [--no-deps] [--wait] [web]"
    );
    assert!(bench.calls().contains(&up), "{:?}", bench.calls());
    assert!(bench.calls().contains(&format!(
        "docker [compose] [-p] [shop] [-f] [{compose_yaml}] [config] [--services]"
    )));
    assert!(
        bench
            .calls()
            .contains(&"docker [info] [--format] [{{.ServerVersion}}]".to_string())
    );
    assert_eq!(simulated(&bench)["web.image"], "t/app:v1");

    bench.tell("checker", "none", "exit", "1");
    bench
        .run(&["promote", "app", "--set", "version=v2"])
        .status(1)
        .stderr_has("release: web: stable t/app:v1");
    let now = simulated(&bench);
    assert_eq!(now["web.image"], "t/app:v1");
    assert_eq!(now["cache.id"], cache, "cache was recreated");
    // The test's own `up … cache` is the only call that names cache.
    let cache_calls = bench
        .calls()
        .iter()
        .filter(|c| c.ends_with("[cache]"))
        .count();
    assert_eq!(cache_calls, 1, "rollout touched cache: {:?}", bench.calls());

    bench.forget("checker", "none", "exit");
    bench
        .run(&["rollback", "app", "--to", "t/app:v2"])
        .status(0);
    assert_eq!(simulated(&bench)["web.image"], "t/app:v2");

    bench.run(&["promote", "flags"]).status(0);
    let now = simulated(&bench);
    assert_eq!(
        now["web.image"], "t/app:v2",
        "flags must not change the image"
    );
    assert_eq!(now["web.env"], "\"CHECKOUT=new\",\"STAGE=beta\"");

    // A rollback to an image the engine lacks fails; the ladder stops web.
    let run = bench.run(&["rollback", "app", "--emergency", "--to", "t/app:v9"]);
    run.stderr_has("No such image: t/app:v9")
        .stderr_has("stop web");
    assert!(
        bench
            .calls()
            .iter()
            .any(|c| c.contains("[--scale] [web=0] [web]"))
    );
    assert_eq!(simulated(&bench)["web.id"], "");
    assert_eq!(simulated(&bench)["cache.id"], cache);

    // The engine down: named, nothing changed.
    let bench2 = Bench::new();
    bench2
        .file("compose.yaml", &compose_file(1, 2))
        .file("fake/engine.down", "")
        .runbook("app", APP_V2)
        .executable(
            "bin/docker",
            &format!("{}{DOCKER_V2}", crate::support::FAKE_PRELUDE),
        );
    bench2
        .run_with(
            &["promote", "app"],
            &[("DOCKER_HOST", "tcp://10.9.9.9:2375")],
        )
        .status(1)
        .stderr_has("the Docker engine at tcp://10.9.9.9:2375 does not answer")
        .stderr_has("nothing was changed");
    assert!(!bench2.calls().iter().any(|c| c.contains("[up]")));
}

#[test]
fn the_example_stack_validates_and_shows_its_commands() {
    let bench = Bench::new();
    bench
        .runbook(
            "compose-stack",
            include_str!("../../runbooks/compose-stack.toml"),
        )
        .file(
            "deploy/docker-compose.yml",
            "services:\n  app:\n    build: .\n  redis:\n    image: redis:7-alpine\n  postgres:\n    image: postgres:16\n",
        );
    let env = [("POSTGRES_PASSWORD", "hunter2")];
    bench
        .run_with(&["validate", "compose-stack"], &env)
        .status(0);
    let show = bench.run_with(&["show", "compose-stack"], &env);
    show.status(0)
        .stdout_has("up -d --no-deps --wait app")
        .stdout_has("-f .rollout/compose/shop.app.yml")
        .stdout_has("DATABASE_URL=postgresql://app:***@postgres")
        .stdout_has("--scale app=0 app");
    assert!(!show.stdout().contains("hunter2"));
}

#[test]
fn the_loader_checks_compose_fields_at_their_line() {
    let bench = Bench::new();
    bench.runbook(
        "bad",
        r#"adapter = "compose"
target  = "web"

[adapters.compose]
file    = 3
project = "shop"

[[steps]]
kind = "deploy"
name = "nothing to deploy"

[[steps]]
kind  = "deploy"
name  = "both"
image = "app:1"
build = true

[[steps]]
kind    = "deploy"
name    = "a directory"
release = "/srv/app"
"#,
    );
    let run = bench.run(&["validate", "bad"]);
    run.status(2)
        .stderr_has("bad.toml:5:11")
        .stderr_has("a compose file path or a list of them")
        .stderr_has("needs `image` (the image the service runs")
        .stderr_has("either `image` or `build = true`, not both")
        .stderr_has("`release` is not a deploy field of the compose adapter");
    bench.runbook(
        "good",
        "adapter = \"compose\"\ntarget = \"web\"\n[adapters.compose]\nfile = [\"a.yaml\", \"b.yaml\"]\n[[steps]]\nkind = \"deploy\"\nbuild = true\n",
    );
    bench
        .run(&["show", "good"])
        .status(0)
        .stdout_has("/b.yaml -f .rollout/compose/web.yml up -d --no-deps --wait --build web");
}

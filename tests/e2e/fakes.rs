//! Richer platform fakes: a `fly` that keeps its releases (the list grows on deploy and
//! is printed as JSON, newest first), and a `sudo -n` that runs what follows. Like the
//! bench's recording fake, each records its argv and obeys `NAME.VERB.exit|hang|out`.

use crate::support::{Bench, FAKE_PRELUDE};

/// After the shared prelude: a `fly` that behaves like flyctl where rollback depends on
/// it. It keeps each app's releases (`fake/fly.APP.releases`, lines "VERSION STATUS
/// IMAGE"; an app starts with the seed `fake/fly.releases`) and what its machines serve
/// (`fake/fly.APP.serving`, an image; empty when none run).
///
/// - `deploy --image I` makes a new release and moves the machines to I. A deploy that
///   fails (`fly.deploy.exit`) still made its release, `failed`; with
///   `fake/fly.deploy.partial` some machines were already replaced, so they serve I
///   (flyctl `internal/command/deploy/machines_deploymachinesapp.go`: a rolling deploy
///   updates machines one by one and stops at the first that fails).
/// - `secrets set K=V…` is a release of its own carrying the image that runs now, and
///   restarts the machines (flyctl `internal/command/secrets/set.go` → `DeploySecrets`,
///   which redeploys the current image unless `--stage`).
/// - `releases --json` prints fly-go's `Release` fields with Go names, newest first, at
///   most 25, and `null` when there is none (fly-go `resource_releases.go`; a nil slice
///   marshals to `null`).
/// - `scale count 0` destroys the machines: nothing is served
///   (flyctl `internal/command/scale/count_machines.go`).
const FLY: &str = r#"app=""; prev=""
for a in "$@"; do [ "$prev" = "--app" ] && app="$a"; prev="$a"; done
[ "$1 $2" = "apps restart" ] && app="$3"
rel="$FAKE_DIR/fly.$app.releases"
serving="$FAKE_DIR/fly.$app.serving"
if [ -n "$app" ] && [ ! -f "$rel" ] && [ -f "$FAKE_DIR/fly.releases" ]; then
  cp "$FAKE_DIR/fly.releases" "$rel"
  sort -rn "$rel" | awk '$2=="complete"{print $3; exit}' | tr -d '\n' > "$serving"
fi
newest_image() { [ -f "$rel" ] && sort -rn "$rel" | awk '$2=="complete"{print $3; exit}'; }
next_version() { n=1; [ -f "$rel" ] && n=$(( $(wc -l < "$rel") + 1 )); echo "$n"; }
code=0
[ -f "$FAKE_DIR/$name.$verb.exit" ] && code=$(cat "$FAKE_DIR/$name.$verb.exit")
case "$verb" in
  deploy)
    image=""; prev=""
    for a in "$@"; do [ "$prev" = "--image" ] && image="$a"; prev="$a"; done
    n=$(next_version)
    [ -z "$image" ] && image="registry.fly.io/app:deployment-$n"
    if [ "$code" != 0 ]; then
      echo "$n failed $image" >> "$rel"
      [ -f "$FAKE_DIR/fly.deploy.partial" ] && printf '%s' "$image" > "$serving"
      echo "Error: fly deploy failed" >&2; exit "$code"
    fi
    echo "$n complete $image" >> "$rel"
    printf '%s' "$image" > "$serving"
    ;;
  secrets)
    if [ "$code" != 0 ]; then echo "Error: fly secrets failed" >&2; exit "$code"; fi
    current=$(cat "$serving" 2>/dev/null)
    [ -z "$current" ] && current=$(newest_image)
    echo "$(next_version) complete $current" >> "$rel"
    for a in "$@"; do case "$a" in *=*) echo "$a" >> "$FAKE_DIR/fly.$app.secrets";; esac; done
    ;;
  releases)
    if [ "$code" != 0 ]; then echo "Error: fly releases failed" >&2; exit "$code"; fi
    if [ ! -s "$rel" ]; then echo null; exit 0; fi
    printf '['
    sort -rn "$rel" | head -25 | awk '{ printf "%s{\"Version\":%s,\"Status\":\"%s\",\"ImageRef\":\"%s\",\"CreatedAt\":\"2026-01-01T00:00:%02dZ\"}", (NR>1?",":""), $1, $2, $3, $1 % 60 }'
    printf ']\n'
    ;;
  scale)
    if [ "$code" != 0 ]; then echo "Error: fly scale failed" >&2; exit "$code"; fi
    [ "$3" = 0 ] && printf '' > "$serving"
    ;;
  *)
    if [ "$code" != 0 ]; then echo "Error: fly $verb failed" >&2; exit "$code"; fi
    ;;
esac
exit 0
"#;

const SUDO: &str = r#"#!/bin/sh
echo "sudo $*" >> "$FAKE_DIR/sudo.log"
[ "$1" = "-n" ] && shift
exec "$@"
"#;

/// Installs the stateful `fly`, with `releases` (lines "VERSION STATUS IMAGE") already
/// deployed.
pub fn fly(bench: &Bench, releases: &[&str]) {
    bench.executable("bin/fly", &format!("{FAKE_PRELUDE}{FLY}"));
    if !releases.is_empty() {
        bench.file("fake/fly.releases", &format!("{}\n", releases.join("\n")));
    }
}

/// The value of secret `name` that `app`'s machines get (the last one set).
pub fn fly_secret(bench: &Bench, app: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(bench.path(&format!("fake/fly.{app}.secrets"))).ok()?;
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .next_back()
}

/// `app`'s releases, oldest first, as "VERSION STATUS IMAGE".
pub fn fly_releases(bench: &Bench, app: &str) -> Vec<String> {
    std::fs::read_to_string(bench.path(&format!("fake/fly.{app}.releases")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The image `app`'s machines serve now (empty: none run).
pub fn fly_serves(bench: &Bench, app: &str) -> String {
    std::fs::read_to_string(bench.path(&format!("fake/fly.{app}.serving"))).unwrap_or_default()
}

pub fn sudo(bench: &Bench) {
    bench.executable("bin/sudo", SUDO);
}

/// The pids a hung fake wrote, all of them.
pub fn hung_pids(bench: &Bench, name: &str) -> Vec<i32> {
    std::fs::read_to_string(bench.path(&format!("fake/{name}.pids")))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Installs the kubectl simulator (`tests/sim/kubectl.py`, which cites the kubectl and
/// Kubernetes sources each behaviour comes from) behind the recording prelude, so calls
/// are recorded and `Bench::tell("kubectl", VERB, "hang"|"out", …)` still works. The
/// cluster starts with `deployment/web` at revision 1 serving `reg/web:1`.
pub fn kubectl(bench: &Bench) {
    let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sim/kubectl.py");
    bench.executable(
        "bin/kubectl",
        &format!("{FAKE_PRELUDE}exec python3 '{sim}' \"$@\"\n"),
    );
}

/// What `workload` serves now: its newest revision's number, image and env.
pub fn kubectl_serves(bench: &Bench, workload: &str) -> (u64, String, serde_json::Value) {
    let text = std::fs::read_to_string(bench.path("fake/kubectl.json")).unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let newest = state[workload]["revisions"]
        .as_array()
        .and_then(|revs| revs.iter().max_by_key(|r| r["rev"].as_u64()))
        .cloned()
        .unwrap_or_default();
    (
        newest["rev"].as_u64().unwrap_or(0),
        newest["image"].as_str().unwrap_or_default().to_string(),
        newest["env"].clone(),
    )
}

/// Installs the systemctl simulator (`tests/sim/systemctl.py`, which cites systemd's
/// source for each behaviour) with `units` (name, `current` symlink, drop-in folder,
/// relative to the project root), each active and serving what `current` points at now.
pub fn systemctl(bench: &Bench, units: &[(&str, &str, &str)]) {
    let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sim/systemctl.py");
    bench.executable(
        "bin/systemctl",
        &format!("{FAKE_PRELUDE}exec python3 '{sim}' \"$@\"\n"),
    );
    let config: serde_json::Map<String, serde_json::Value> = units
        .iter()
        .map(|(unit, current, dropins)| {
            (
                unit.to_string(),
                serde_json::json!({"current": current, "dropin_dir": dropins}),
            )
        })
        .collect();
    bench.file(
        "fake/systemctl.units.json",
        &serde_json::Value::Object(config).to_string(),
    );
    let state: serde_json::Map<String, serde_json::Value> = units
        .iter()
        .map(|(unit, current, _)| {
            let serving = std::fs::canonicalize(bench.path(current))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            (
                unit.to_string(),
                serde_json::json!({"active": "active", "serving": serving, "env": {}}),
            )
        })
        .collect();
    bench.file(
        "fake/systemctl.json",
        &serde_json::Value::Object(state).to_string(),
    );
}

/// What `unit` serves now: its ActiveState, the release its process runs, and the
/// environment it started with.
pub fn systemd_serves(bench: &Bench, unit: &str) -> (String, String, serde_json::Value) {
    let text = std::fs::read_to_string(bench.path("fake/systemctl.json")).unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    (
        state[unit]["active"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        state[unit]["serving"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        state[unit]["env"].clone(),
    )
}

/// Installs the `docker` simulator with `docker compose` v2 (`tests/sim/docker.py`, which
/// cites docker/compose's source) and a project `shop` whose `services` (name, image)
/// each run one container of that image already.
pub fn docker(bench: &Bench, services: &[(&str, &str)]) {
    let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sim/docker.py");
    bench.executable(
        "bin/docker",
        &format!("{FAKE_PRELUDE}exec python3 '{sim}' \"$@\"\n"),
    );
    let mut base = serde_json::Map::new();
    let mut containers = serde_json::Map::new();
    for (n, (service, image)) in services.iter().enumerate() {
        base.insert(service.to_string(), serde_json::json!({"image": image}));
        containers.insert(
            service.to_string(),
            serde_json::json!([{"id": format!("c{:012}", n + 1), "image": image, "env": {},
                                "started": 1, "project": "shop", "status": "running"}]),
        );
    }
    let state = serde_json::json!({"services": base, "containers": containers, "next_id": 100});
    bench.file("fake/docker.json", &state.to_string());
}

/// What `service`'s first container runs: (id, image, env, starts).
pub fn docker_serves(bench: &Bench, service: &str) -> (String, String, serde_json::Value, u64) {
    let text = std::fs::read_to_string(bench.path("fake/docker.json")).unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let c = &state["containers"][service][0];
    (
        c["id"].as_str().unwrap_or_default().to_string(),
        c["image"].as_str().unwrap_or_default().to_string(),
        c["env"].clone(),
        c["started"].as_u64().unwrap_or(0),
    )
}

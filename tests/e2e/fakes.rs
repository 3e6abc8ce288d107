//! Richer platform fakes: a `fly` that keeps its releases (the list grows on deploy and
//! is printed as JSON, newest first), and a `sudo -n` that runs what follows. Like the
//! bench's recording fake, each records its argv and obeys `NAME.VERB.exit|hang|out`.

use crate::support::{Bench, FAKE_PRELUDE};

/// After the shared prelude: fly's own failure message, and its releases.
const FLY: &str = r#"if [ -f "$FAKE_DIR/$name.$verb.exit" ]; then
  code=$(cat "$FAKE_DIR/$name.$verb.exit")
  if [ "$code" != 0 ]; then echo "Error: fly $verb failed" >&2; exit "$code"; fi
fi
rel="$FAKE_DIR/fly.releases"
case "$verb" in
  deploy)
    image=""; prev=""
    for a in "$@"; do [ "$prev" = "--image" ] && image="$a"; prev="$a"; done
    n=1
    if [ -f "$rel" ]; then n=$(( $(wc -l < "$rel") + 1 )); fi
    [ -z "$image" ] && image="registry.fly.io/app:deployment-$n"
    echo "$n complete $image" >> "$rel"
    ;;
  releases)
    printf '['
    if [ -f "$rel" ]; then
      sort -rn "$rel" | awk '{ printf "%s{\"Version\":%s,\"Status\":\"%s\",\"ImageRef\":\"%s\",\"CreatedAt\":\"2026-01-01T00:00:%02dZ\"}", (NR>1?",":""), $1, $2, $3, $1 }'
    fi
    printf ']\n'
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

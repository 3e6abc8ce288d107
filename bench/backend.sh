#!/usr/bin/env bash
# W1 (N `true` steps, bench/run.sh) on the local default (.rollout/ + flock) against the
# team backend on PostgreSQL (issue 13), on this machine. Timings live here and in
# bench/RESULTS.md, never in tests.
#
#   bench/backend.sh            # W1 at 100 and 1,000 steps, local vs database
#
# Starts a throwaway PostgreSQL (Debian's package: initdb into a temp dir, as the
# `postgres` user when run as root, 127.0.0.1 on a free port, default durability:
# fsync and synchronous_commit on, as a real server has) and stops it at the end.
# Needs hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pgdir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work" "$pgdir"
}
trap cleanup EXIT
say() { printf '%s\n' "$*" >&2; }

command -v hyperfine >/dev/null || { say "hyperfine is needed (apt-get install hyperfine)"; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || { say "PostgreSQL is needed (apt-get install postgresql)"; exit 1; }
cargo build --release --quiet
bin="$root/target/release/rollout"

as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$pgdir"
  as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
"${as_pg[@]}" "$pgbin/postgres" -D "$pgdir/data" -k "$pgdir" -h 127.0.0.1 -p "$port" >"$work/pg.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.1
done
"$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc 'CREATE DATABASE bench' >/dev/null

mkdir -p "$work/local/runbooks" "$work/pg/runbooks"
printf '[backend]\nurl = "postgres://postgres@127.0.0.1:%s/bench"\n' "$port" > "$work/pg/rollout.toml"

echo "# W1: local default vs PostgreSQL backend — $(date -u +%FT%TZ)"
echo
echo "machine: $(nproc) cores, $(uname -sr), PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | backend | median ms | min–max ms | runs |"
echo "|---|---|---|---|---|"
for n in 100 1000; do
  for dir in local pg; do
    for _ in $(seq "$n"); do printf '[[steps]]\nkind = "run"\ncmd = "true"\n\n'; done > "$work/$dir/runbooks/w1-$n.toml"
  done
  runs=$([ "$n" = 100 ] && echo 10 || echo 3)
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/w1-$n.json" \
    -n "local $n" "$bin -C $work/local promote w1-$n --yes" \
    -n "postgres $n" "$bin -C $work/pg promote w1-$n --yes" >/dev/null
  python3 - "$work/w1-$n.json" "$n" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    name, n = r["command"].split()
    print(f"| w1-{n} | {name} | {r['median']*1000:.1f} | {r['min']*1000:.1f}–{r['max']*1000:.1f} | {len(r['times'])} |")
PY
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

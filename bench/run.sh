#!/usr/bin/env bash
# The benchmark of issue 9: rollout against bash, just and Ansible, and against the
# physical floor of this machine. Timings live here and in bench/RESULTS.md, never in tests.
#
#   bench/run.sh                 # every workload (about 6 minutes)
#   bench/run.sh w1 log          # some: floor w1 w2 w3 startup validate log soak
#
# Builds the release binary; needs hyperfine (installed with apt-get or cargo when
# missing); installs just (cargo) and ansible-core (a throwaway venv) into
# $BENCH_TOOLS (default ~/.cache/rollout-bench) when it can, and skips them, saying so,
# when it cannot. Each workload is one hyperfine invocation for every tool, so the
# ratios are fair. Prints markdown tables; the raw JSON is kept in $BENCH_OUT (default
# a temporary folder, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=${BENCH_TOOLS:-$HOME/.cache/rollout-bench}
work=$(mktemp -d)
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$tools" "$out" "$work/runbooks"
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
want() { [ $# -eq 0 ] || [ -z "${selected:-}" ] || [[ " $selected " == *" $1 "* ]]; }
selected="$*"
say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------- tools
cargo build --release --quiet
bin="$root/target/release/rollout"
if ! command -v hyperfine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq hyperfine >/dev/null 2>&1 || true; fi
  command -v hyperfine >/dev/null || cargo install --quiet --root "$tools" hyperfine || true
  PATH="$tools/bin:$PATH"
fi
command -v hyperfine >/dev/null || { say "hyperfine is needed and could not be installed"; exit 1; }
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null 2>&1 || true; fi
gnutime=/usr/bin/time; [ -x "$gnutime" ] || { gnutime=""; say "skipping peak RSS: GNU time is not installed"; }
just=$(command -v just || true)
if [ -z "$just" ] && [ -x "$tools/bin/just" ]; then just="$tools/bin/just"; fi
if [ -z "$just" ]; then
  say "installing just with cargo (not in Debian bookworm)…"
  if cargo install --quiet --locked --root "$tools" just >/dev/null 2>&1; then just="$tools/bin/just"
  else say "skipping just: cargo install just failed"; fi
fi
ansible="$tools/venv/bin/ansible-playbook"
if [ ! -x "$ansible" ]; then
  say "installing ansible-core into a throwaway venv…"
  if ! { python3 -m venv "$tools/venv" && "$tools/venv/bin/pip" install -q ansible-core; } >/dev/null 2>&1; then
    say "skipping Ansible: could not install ansible-core"; ansible=""
  fi
fi

bench() { # bench ID RUNS label=cmd…
  local id=$1 runs=$2; shift 2
  local args=()
  for pair in "$@"; do args+=(-n "${pair%%=*}" "${pair#*=}"); done
  hyperfine -N --style none --warmup "${WARMUP:-1}" --runs "$runs" --export-json "$out/$id.json" "${args[@]}" >/dev/null
}
table() { # table ID…: median and spread of every command of these runs, in ms
  python3 - "$out" "$@" <<'PY'
import json, sys, os
out = sys.argv[1]
for id in sys.argv[2:]:
    for r in json.load(open(os.path.join(out, id + ".json")))["results"]:
        print(f"| {id} | {r['command']} | {r['median']*1000:.1f} | {r['min']*1000:.1f}–{r['max']*1000:.1f} | {len(r['times'])} |")
PY
}
rss() { # rss CMD…: "seconds peak-MiB" of one run
  if [ -z "$gnutime" ]; then echo "? ?"; return; fi
  "$gnutime" -f "%e %M" -o "$work/rss" "$@" >/dev/null 2>&1 || true
  awk '{ printf "%s %.1f", $1, $2 / 1024 }' "$work/rss"
}

echo "# rollout benchmark — $(date -u +%FT%TZ)"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), $(uname -sr); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| workload | command | median ms | min–max ms | runs |"
echo "|---|---|---|---|---|"

# ---------------------------------------------------------------------------- floor
if want floor; then
  cat > "$work/floor.c" <<'C'
/* The physical floor of a step: spawn /bin/true and wait, then append one line and
   fdatasync it (what a step must do: run the child, record it durably). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv) {
  int n = atoi(argv[1]), spawn = strchr(argv[2], 's') != 0, sync = strchr(argv[2], 'f') != 0;
  int fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
  char *args[] = {"/bin/true", 0};
  for (int i = 0; i < n; i++) {
    if (spawn) { pid_t pid; int st; posix_spawn(&pid, "/bin/true", 0, 0, args, environ); waitpid(pid, &st, 0); }
    if (sync) { char line[96]; int len = snprintf(line, sizeof line, "{\"step\":%d,\"status\":\"ok\"}\n", i); write(fd, line, len); fdatasync(fd); }
  }
  return 0;
}
C
  cc -O2 -o "$work/floor" "$work/floor.c"
  bench floor 5 "spawn+wait ×1000=$work/floor 1000 s $work/floor.out" \
    "append+fdatasync ×1000=$work/floor 1000 f $work/floor.out" \
    "spawn+append+fdatasync ×1000=$work/floor 1000 sf $work/floor.out"
  table floor
fi

# ---------------------------------------------------------------------------- W1
w1_files() { # N: a bash script, a justfile, a playbook and a runbook of N `true` steps
  local n=$1
  { echo "set -e"; for _ in $(seq "$n"); do echo /bin/true; done; } > "$work/w1-$n.sh"
  { echo "w:"; for _ in $(seq "$n"); do echo "    true"; done; } > "$work/w1-$n.just"
  { echo "- hosts: localhost"; echo "  connection: local"; echo "  gather_facts: false"; echo "  tasks:"
    for _ in $(seq "$n"); do echo "    - command: 'true'"; done; } > "$work/w1-$n.yml"
  for _ in $(seq "$n"); do printf '[[steps]]\nkind = "run"\ncmd = "true"\n\n'; done > "$work/runbooks/w1-$n.toml"
}
if want w1; then
  for n in 100 1000 5000; do
    w1_files "$n"
    runs=$([ "$n" = 100 ] && echo 10 || { [ "$n" = 1000 ] && echo 3 || echo 2; })
    cmds=("bash $n=bash $work/w1-$n.sh")
    [ -n "$just" ] && cmds+=("just $n=$just --justfile $work/w1-$n.just --working-directory $work w")
    cmds+=("rollout $n=$bin -C $work promote w1-$n --yes")
    bench "w1-$n" "$runs" "${cmds[@]}"
    table "w1-$n"
  done
  if [ -n "$ansible" ]; then
    WARMUP=0 bench w1-ansible-100 1 "ansible 100=$ansible -i localhost, -e ansible_python_interpreter=$tools/venv/bin/python3 $work/w1-100.yml"
    table w1-ansible-100
  fi
fi

# ---------------------------------------------------------------------------- W2
if want w2; then
  { for _ in $(seq 10); do printf '[[preflight]]\nkind = "run"\ncmd = "sleep 1"\n\n'; done
    printf '[[steps]]\nkind = "log"\nmessage = "x"\n'; } > "$work/runbooks/w2.toml"
  { echo "for i in \$(seq 10); do sleep 1 & done; wait"; } > "$work/w2.sh"
  cmds=("bash=bash $work/w2.sh")
  if [ -n "$just" ]; then
    { printf '[parallel]\nall: %s\n' "$(seq -f 's%g' -s ' ' 10)"
      for i in $(seq 10); do printf 's%s:\n    sleep 1\n' "$i"; done; } > "$work/w2.just"
    "$just" --justfile "$work/w2.just" --working-directory "$work" --dry-run all >/dev/null 2>&1 \
      && cmds+=("just [parallel]=$just --justfile $work/w2.just --working-directory $work all")
  fi
  cmds+=("rollout preflight=$bin -C $work preflight w2")
  bench w2 3 "${cmds[@]}"
  table w2
fi

# ---------------------------------------------------------------------------- servers
server() { # MODE: starts a local HTTP server answering /health, its port in $port;
  # "nagle" writes headers and body in two writes with Nagle on (as python's http.server
  # does), "plain" in one.
  local mode=$1 portfile="$work/port-$1"
  python3 - "$mode" "$portfile" >/dev/null 2>&1 <<'PY' &
import socket, sys, threading
mode, portfile = sys.argv[1], sys.argv[2]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(64)
open(portfile, "w").write(str(srv.getsockname()[1]))
body = b'{"status":"ok"}'
head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data: return
                buf += data
            _, buf = buf.split(b"\r\n\r\n", 1)
            if mode == "nagle":
                conn.sendall(head); conn.sendall(body)
            else:
                conn.sendall(head + body)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
  servers+=($!)
  for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  port=$(cat "$portfile")
}

# ---------------------------------------------------------------------------- W3
if want w3 || want soak; then
  server plain; plain=$port; server nagle; nagle=$port
fi
if want w3; then
  for kind in plain nagle; do
    port=$([ "$kind" = plain ] && echo "$plain" || echo "$nagle")
    printf '[[steps]]\nkind = "health"\nurl = "http://127.0.0.1:%s/health"\nsuccesses = 20\ninterval = "1ms"\nwithin = "60s"\n' "$port" > "$work/runbooks/w3-$kind.toml"
    echo "for i in \$(seq 20); do curl -fsS http://127.0.0.1:$port/health >/dev/null; done" > "$work/w3-$kind.sh"
    bench "w3-$kind" 5 "bash+curl ($kind)=bash $work/w3-$kind.sh" "rollout ($kind)=$bin -C $work promote w3-$kind --yes"
    table "w3-$kind"
  done
fi

# ---------------------------------------------------------------------------- start-up
if want startup; then
  printf '[[steps]]\nkind = "log"\nmessage = "x"\n' > "$work/runbooks/tiny.toml"
  bench startup 30 "rollout --version=$bin --version" "rollout validate tiny=$bin -C $work validate tiny"
  table startup
fi

# ---------------------------------------------------------------------------- validate
if want validate; then
  for n in 1000 10000; do
    for _ in $(seq "$n"); do printf '[[steps]]\nkind = "run"\ncmd = "true"\n\n'; done > "$work/runbooks/v$n.toml"
  done
  bench validate 10 "validate 1k=$bin -C $work validate v1000" "validate 10k=$bin -C $work validate v10000"
  table validate
fi

# ---------------------------------------------------------------------------- log
if want log; then
  python3 - "$work" <<'PY'
import datetime, sys
start = datetime.datetime(2026, 11, 1)
for n, name in ((1_000_000, "log-1m"), (300_000, "log-300k")):
    with open(f"{sys.argv[1]}/{name}", "w") as f:
        for i in range(n):
            ts = (start + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            f.write(f'[{ts}] STEP OK - canary step="deploy {i % 50}" run=r-20261101-000000-{i // 1000:04x} duration=0.1s attempts=1 user=alice host=ops-1\n')
PY
  # --since: the last tenth of each log.
  since_1m="2026-11-11T10:00:00.000Z"; since_300k="2026-11-04T03:00:00.000Z"
  for size in 300k 1m; do
    since=$([ "$size" = 1m ] && echo "$since_1m" || echo "$since_300k")
    f="$work/log-$size"
    bench "log-tail-$size" 10 "tail -n 20 ($size)=tail -n 20 $f" "rollout log --tail 20 ($size)=$bin -C $work --log $f log --tail 20"
    table "log-tail-$size"
    bench "log-since-$size" 3 "awk since ($size)=awk -v s=[$since \$1>=s $f" \
      "rollout log --since ($size)=$bin -C $work --log $f log --since $since"
    table "log-since-$size"
    echo "| log-rss-$size | peak RSS MiB: tail $(rss tail -n 20 "$f" | cut -d' ' -f2), rollout --tail $(rss "$bin" -C "$work" --log "$f" log --tail 20 | cut -d' ' -f2), awk $(rss awk -v s="[$since" '$1>=s' "$f" | cut -d' ' -f2), rollout --since $(rss "$bin" -C "$work" --log "$f" log --since "$since" | cut -d' ' -f2) | | | |"
  done
fi

# ---------------------------------------------------------------------------- soak
if want soak; then
  printf '[[steps]]\nkind = "soak"\nduration = "30s"\nwatch = { url = "http://127.0.0.1:%s/health", interval = "1s" }\n' "$plain" > "$work/runbooks/soak.toml"
  if [ -n "$gnutime" ]; then
    "$gnutime" -f "%e %U %S %M" -o "$work/soak" "$bin" -C "$work" promote soak --yes >/dev/null 2>&1 || true
    read -r wall user sys kib < "$work/soak"
    echo "| soak 30s, 1s watch | wall ${wall}s, CPU $(awk "BEGIN { print $user + $sys }")s (user $user, sys $sys), peak RSS $(awk "BEGIN { printf \"%.1f\", $kib / 1024 }") MiB | | | 1 |"
  fi
fi

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $out"

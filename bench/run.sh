#!/usr/bin/env bash
# Timings of rollout, kept out of the tests: run this, read bench/RESULTS.md.
#   bench/run.sh            # all
#   bench/run.sh soak       # one: soak | log | startup
# Needs only the project's own build; uses hyperfine for startup when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/rollout"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/runbooks"
which="${1:-all}"

ms_between() { # two RFC 3339 timestamps with milliseconds → difference in ms
  python3 - "$1" "$2" <<'PY' 2>/dev/null || echo "?"
import sys, datetime
f = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
print(round((f(sys.argv[2]) - f(sys.argv[1])).total_seconds() * 1000))
PY
}

if [ "$which" = all ] || [ "$which" = soak ]; then
  # Soak precision: a 10 s soak should take 10 s, not 10.5.
  printf '[[steps]]\nkind = "soak"\nname = "soak"\nduration = "10s"\n' > "$work/runbooks/soak.toml"
  out=$("$bin" -C "$work" promote soak --json)
  start=$(echo "$out" | grep '"step_started"' | sed 's/.*"ts":"\([^"]*\)".*/\1/')
  end=$(echo "$out" | grep '"step_finished"' | sed 's/.*"ts":"\([^"]*\)".*/\1/')
  echo "soak 10s: step took $(ms_between "$start" "$end") ms (started $start, finished $end)"
fi

if [ "$which" = all ] || [ "$which" = log ]; then
  # Log appends: 8 processes x 50 notes, each a locked O_APPEND write + fsync.
  t0=$(date +%s%N)
  for p in $(seq 8); do
    ( for i in $(seq 50); do "$bin" -C "$work" log note "bench $p $i" >/dev/null; done ) &
  done
  wait
  t1=$(date +%s%N)
  lines=$(grep -c " NOTE - " "$work/reliability.log")
  echo "log: $lines notes from 8 processes in $(( (t1 - t0) / 1000000 )) ms"
fi

if [ "$which" = all ] || [ "$which" = startup ]; then
  printf '[[steps]]\nkind = "log"\nmessage = "x"\n' > "$work/runbooks/tiny.toml"
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 3 --runs 30 -N "$bin -C $work show tiny" 2>/dev/null | grep -E "Time|Range"
  else
    t0=$(date +%s%N); for i in $(seq 30); do "$bin" -C "$work" show tiny >/dev/null; done; t1=$(date +%s%N)
    echo "show: $(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / 30 / 1000000 }") ms per run (mean of 30; install hyperfine for more)"
  fi
fi

#!/bin/sh
# Kill trials (RELIABILITY.md): N times, start `rollout promote` of a runbook whose deploy
# hangs with a grandchild, SIGKILL rollout at a random moment, then check what a killed
# run may leave: no stale lock, a readable state, only whole log lines, and — after the
# next run of the runbook — no process of the killed run alive.
# Usage: bench/kill_trials.sh [N] (default 50); needs a built target/release/rollout.
set -eu
N="${1:-50}"
ROLLOUT="$(cd "$(dirname "$0")/.." && pwd)/target/release/rollout"
[ -x "$ROLLOUT" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p runbooks bin
cat > bin/deployer <<'SH'
#!/bin/sh
echo "$$" >> "$PWD/pids"
sleep 300 & echo "$!" >> "$PWD/pids"
sleep 300
SH
chmod +x bin/deployer
cat > runbooks/app.toml <<'TOML'
[[steps]]
kind = "log"
message = "before"

[[steps]]
kind = "run"
name = "deploy"
cmd = "deployer"

[[rollback]]
kind = "log"
message = "rolled back"
TOML
export PATH="$work/bin:$PATH" NO_COLOR=1 TERM=dumb
failures=0
i=0
while [ "$i" -lt "$N" ]; do
  i=$((i + 1))
  : > pids
  "$ROLLOUT" promote app >/dev/null 2>&1 &
  pid=$!
  # 0–400 ms: before, during and after the deploy starts.
  sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 5 ))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # The next run (an emergency rollback) must first stop what the killed run left.
  "$ROLLOUT" rollback app --emergency >/dev/null 2>&1 || { echo "trial $i: rollback failed"; failures=$((failures + 1)); }
  for p in $(cat pids); do
    if [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
      echo "trial $i: pid $p outlived the killed run"; failures=$((failures + 1)); kill -KILL "$p" 2>/dev/null || true
    fi
  done
  "$ROLLOUT" status app | grep -q "not locked" || { echo "trial $i: stale lock"; failures=$((failures + 1)); }
  "$ROLLOUT" status app --json >/dev/null 2>&1 || { echo "trial $i: unreadable state"; failures=$((failures + 1)); }
  if [ -s reliability.log ] && [ "$(tail -c1 reliability.log | od -An -c | tr -d ' ')" != '\n' ]; then
    echo "trial $i: torn log line"; failures=$((failures + 1))
  fi
  grep -qv '^\[' reliability.log && { echo "trial $i: a line that is not an entry"; failures=$((failures + 1)); }
done
echo "kill trials: $N, failures: $failures, log lines: $(wc -l < reliability.log)"
[ "$failures" -eq 0 ]

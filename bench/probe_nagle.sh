#!/usr/bin/env bash
# Health probes against a server that writes the headers and the body of an answer in two
# sends with Nagle on (as python's http.server does): on a reused keep-alive connection
# the body waits for the client's ACK of the headers, and Linux delays that ACK (~40 ms).
# This measures 20 sequential probes each way, to choose the fix:
#   - client variants on raw sockets (python): reuse, reuse + TCP_NODELAY on the client,
#     reuse + TCP_QUICKACK before every read, a fresh connection per probe;
#   - curl (a fresh process and connection per probe, what a bash loop does);
#   - rollout itself: one `health` step, successes = 20, interval = 1ms.
#   bench/probe_nagle.sh                 # uses target/release/rollout (builds it)
#   ROLLOUT_BIN=path bench/probe_nagle.sh
# Timings only; the tests assert behaviour (connections opened), never wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ROLLOUT_BIN:-}" ]; then
  cargo build --release --quiet
  ROLLOUT_BIN="$PWD/target/release/rollout"
fi
command -v python3 >/dev/null 2>&1 || { echo "skipped: needs python3 for the Nagle server"; exit 0; }
work=$(mktemp -d)
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
probes=20

# mode "split": headers, then body, two sends (Nagle on); mode "whole": one send.
cat > "$work/server.py" <<'PY'
import socket, sys, threading
mode, port_file = sys.argv[1], sys.argv[2]
body = b'{"status":"ok"}'
head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            _, buf = buf.split(b"\r\n\r\n", 1)
            if mode == "split":
                conn.sendall(head); conn.sendall(body)
            else:
                conn.sendall(head + body)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open(port_file, "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

cat > "$work/client.py" <<'PY'
import socket, sys, time
port, variant, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
def connect():
    c = socket.create_connection(("127.0.0.1", port))
    if variant == "nodelay":
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c
def answer(c):
    buf = b""
    while True:
        if variant == "quickack":
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        data = c.recv(65536)
        if not data:
            raise SystemExit("closed")
        buf += data
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
            if len(rest) >= length:
                return
c = connect()
start = time.perf_counter()
for i in range(n):
    if variant == "fresh" and i > 0:
        c.close(); c = connect()
    c.sendall(req); answer(c)
print("%.1f" % ((time.perf_counter() - start) * 1000))
PY

for mode in split whole; do
  python3 "$work/server.py" "$mode" "$work/port.$mode" >/dev/null 2>&1 &
  server_pids+=($!)
done
for _ in $(seq 50); do [ -s "$work/port.split" ] && [ -s "$work/port.whole" ] && break; sleep 0.1; done
split=$(cat "$work/port.split")
whole=$(cat "$work/port.whole")

echo "== $probes sequential probes (ms, total; lower is better)"
printf '%-44s %10s %10s\n' "client" "split" "whole"
for variant in reuse nodelay quickack fresh; do
  printf '%-44s %10s %10s\n' "python, keep-alive: $variant" \
    "$(python3 "$work/client.py" "$split" "$variant" "$probes")" \
    "$(python3 "$work/client.py" "$whole" "$variant" "$probes")"
done

curl_loop() {
  local t0 t1
  t0=$(date +%s%N)
  for _ in $(seq "$probes"); do curl -fsS -o /dev/null "http://127.0.0.1:$1/health"; done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
if command -v curl >/dev/null 2>&1; then
  printf '%-44s %10s %10s\n' "bash + curl (a process per probe)" "$(curl_loop "$split")" "$(curl_loop "$whole")"
fi

rollout_probes() { # port → ms the health step took, from its own JSON events
  mkdir -p "$work/p$1/runbooks"
  printf '[[steps]]\nkind = "health"\nname = "h"\nurl = "http://127.0.0.1:%s/health"\nsuccesses = %s\ninterval = "1ms"\nwithin = "1m"\n' \
    "$1" "$probes" > "$work/p$1/runbooks/h.toml"
  "$ROLLOUT_BIN" -C "$work/p$1" promote h --json --log "$work/p$1/log" \
    | grep '"step_finished"' | sed 's/.*"duration_ms":\([0-9]*\).*/\1/'
}
printf '%-44s %10s %10s\n' "rollout health step ($ROLLOUT_BIN)" "$(rollout_probes "$split")" "$(rollout_probes "$whole")"

#!/usr/bin/env bash
# wait-probe against its peers, side by side in one run, on 127.0.0.1 only.
#
#   scripts/bench/wait-probe.sh [REPS_BOOT] [REPS_503]    (defaults: 9 and 5)
#
# Scenario (a) boot: the port refuses connections until the server starts
# (after a random 1.5-2.5 s), then answers 200. Figure: the median detection
# lag, from the server listening to the waiter exiting.
# Scenario (b) up but not ready: the server answers 503 for 10 s, then 200.
# Figures: HTTP requests that reached it during the 10 s, and the lag from
# the switch to 200 to the waiter exiting.
#
# Peers: wait-for-it (TCP only; apt package wait-for-it) and the classic
# `until curl -fsS URL; do sleep 1; done` loop. hyperfine does not fit: the
# figures are lags against a server's clock, not a command's run time, so a
# small python3 driver (below) runs the server, starts each waiter, and
# timestamps both sides with one monotonic clock. Every waiter is bounded
# (30 s), and the whole run takes about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

reps_boot=${1:-9}
reps_503=${2:-5}

for tool in python3 curl wait-for-it; do
  command -v "$tool" >/dev/null || { echo "wait-probe.sh: $tool is required (scripts/bench/run installs it)" >&2; exit 2; }
done
bin="$(scripts/build-release.sh -p wait-probe)/wait-probe"   # the shipped build

driver=$(mktemp --suffix=.py)
trap 'rm -f "$driver"' EXIT
cat >"$driver" <<'PY'
import http.server, random, socket, statistics, subprocess, sys, threading, time

BIN, REPS_BOOT, REPS_503 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = time.monotonic

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

def start_server(port, ready_at):
    """Serves 503 before `ready_at` (monotonic), 200 after; logs each request."""
    log = []
    class H(http.server.BaseHTTPRequestHandler):
        # Headers and body go out in two writes: without TCP_NODELAY the
        # second waits for the client's delayed ACK (~40 ms), which would
        # be the server's lag, not the waiter's.
        disable_nagle_algorithm = True
        def do_GET(self):
            t = now(); status = 200 if t >= ready_at else 503
            log.append((t, status))
            body = b"ok" if status == 200 else b"starting"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): pass
    srv = Server(("127.0.0.1", port), H)   # bound and listening from here
    listening = now()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, listening, log

def waiters(port, http_only):
    url = f"http://127.0.0.1:{port}/readyz"
    w = {
        "wait-probe (http)": [BIN, "-q", "--budget", "30s", url],
        "curl + sleep 1 loop (http)": ["bash", "-c",
            f"end=$((SECONDS+30)); until curl -fsS -o /dev/null --max-time 5 {url}; do "
            f"[ $SECONDS -ge $end ] && exit 1; sleep 1; done"],
    }
    if not http_only:
        w["wait-probe (tcp)"] = [BIN, "-q", "--budget", "30s", f"tcp://127.0.0.1:{port}"]
    w["wait-for-it (tcp)"] = ["wait-for-it", "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "30"]
    return w

def run_waiter(argv):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p

def boot(name, argv_for):
    port = free_port()
    p = run_waiter(argv_for(port)[name])
    time.sleep(1.5 + random.random())
    srv, listening, log = start_server(port, ready_at=0)
    rc = p.wait(timeout=40); exited = now()
    srv.shutdown(); srv.server_close()
    return (exited - listening) * 1000, rc, len(log)

def not_ready(name, argv_for):
    port = free_port()
    srv, listening, log = start_server(port, ready_at=now() + 10.0)
    switch = listening + 10.0
    time.sleep(random.random())        # so a fixed-period loop is not always in the same phase
    p = run_waiter(argv_for(port)[name])
    rc = p.wait(timeout=40); exited = now()
    srv.shutdown(); srv.server_close()
    during = sum(1 for t, s in log if t < switch)
    return during, (exited - switch) * 1000, rc

def fmt(ms): return f"{ms:.0f} ms" if abs(ms) >= 10 else f"{ms:.1f} ms"

print("### (a) Boot: refused until the server starts, then 200\n")
print(f"{REPS_BOOT} runs per waiter, server start delayed by a random 1.5-2.5 s.\n")
print("| waiter | median lag | min | max | exit statuses |")
print("|---|---:|---:|---:|---|")
names = list(waiters(1, False))
results = {n: [] for n in names}
for _ in range(REPS_BOOT):          # interleaved: peers side by side in one run
    for n in names:
        results[n].append(boot(n, lambda port: waiters(port, False)))
for n in names:
    lags = [r[0] for r in results[n]]
    rcs = sorted({r[1] for r in results[n]})
    print(f"| {n} | {fmt(statistics.median(lags))} | {fmt(min(lags))} | {fmt(max(lags))} | {rcs} |")
sys.stdout.flush()

print("\n### (b) Up but not ready: 503 for 10 s, then 200\n")
print(f"{REPS_503} runs per waiter, each started 0-1 s (random) after the server. Requests = HTTP requests that reached the server during the 10 s of 503; "
      "lag = from the switch to 200 to the waiter's exit (negative: it exited before the service was ready).\n")
print("| waiter | requests during the 10 s (each run) | lag after 200 (each run) | median lag | exit statuses |")
print("|---|---|---|---:|---|")
names = list(waiters(1, True))
results = {n: [] for n in names}
for _ in range(REPS_503):
    for n in names:
        results[n].append(not_ready(n, lambda port: waiters(port, True)))
for n in names:
    reqs = ", ".join(str(r[0]) for r in results[n])
    lags = ", ".join(fmt(r[1]) for r in results[n])
    rcs = sorted({r[2] for r in results[n]})
    print(f"| {n} | {reqs} | {lags} | {fmt(statistics.median(r[1] for r in results[n]))} | {rcs} |")
PY

echo "## wait-probe: detection lag and load, against wait-for-it and a curl loop"
echo
echo "Measured by \`scripts/bench/wait-probe.sh\` on $(uname -sr), $(nproc) cores, $(date -u +%Y-%m-%d);"
echo "wait-probe $("$bin" --version | cut -d' ' -f2) (release, defaults: --max-interval 1s), $(curl --version | head -1 | cut -d' ' -f1-2), wait-for-it $(dpkg-query -W -f='${Version}' wait-for-it 2>/dev/null || echo '?')."
echo
python3 "$driver" "$bin" "$reps_boot" "$reps_503"

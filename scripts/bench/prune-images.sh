#!/usr/bin/env bash
# prune-images planning time against an engine holding many images, side by
# side with `docker image ls` on the same engine (the floor: listing).
#
#   scripts/bench/prune-images.sh [IMAGES] [RUNS]      (defaults: 500 and 20)
#
# A throwaway dockerd (vfs, no iptables, no bridge, socket in a temp dir) is
# loaded with IMAGES tiny images (50 repositories, a one-file layer each,
# created 1..IMAGES hours ago) from one hand-written docker-archive, and a
# few containers. hyperfine then runs, on that socket:
#   - docker image ls                 (list, format, print: the floor)
#   - prune-images local              (list images and containers, plan, table)
#   - prune-images local --json
# Nothing is removed (no --apply). Target: prune-images within 2x of the
# floor. The same runs against podman's service as well, when podman is
# installed (PODMAN=0 skips it), with `curl …/images/json` on its socket as
# the floor: the listing prune-images cannot do without (target: at most
# 1.2x it, printed from the same hyperfine run).
# Loopback/Unix socket only; every step bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

images=${1:-500}
runs=${2:-20}

for tool in dockerd docker curl python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "prune-images.sh: $tool is required (scripts/bench/run installs it)" >&2; exit 2; }
done
bin="$(scripts/build-release.sh -p prune-images)/prune-images"   # the shipped build

work=$(mktemp -d /tmp/dk-bench-prune-XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
  # dockerd may leave its data root bind-mounted on itself.
  umount "$work/dockerd/root" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# One docker-archive holding every image: manifest.json, configs, layers.
python3 - "$work/archive" "$images" <<'PY'
import hashlib, io, json, os, sys, tarfile, time
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
now = int(time.time())
manifest = []
for i in range(n):
    data = f"deploykit bench image {i}\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo("seed.txt"); info.size = len(data); info.mtime = 1600000000
        t.addfile(info, io.BytesIO(data))
    layer = buf.getvalue()
    diff = hashlib.sha256(layer).hexdigest()
    os.makedirs(f"{out}/{diff}", exist_ok=True)
    open(f"{out}/{diff}/layer.tar", "wb").write(layer)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - (n - i) * 3600))
    config = json.dumps({"created": created, "architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/seed.txt"]},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff}"]}}).encode()
    cfg = hashlib.sha256(config).hexdigest()
    open(f"{out}/{cfg}.json", "wb").write(config)
    manifest.append({"Config": f"{cfg}.json",
                     "RepoTags": [f"localhost/bench/app-{i % 50:02d}:b{i}"],
                     "Layers": [f"{diff}/layer.tar"]})
json.dump(manifest, open(f"{out}/manifest.json", "w"))
PY
tar -C "$work/archive" -cf "$work/images.tar" .

start_dockerd() {
  local d="$work/dockerd"; mkdir -p "$d"
  dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    -H "unix://$d/engine.sock" --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
    >"$d/log" 2>&1 &
  pids+=($!)
  sock="$d/engine.sock"
}

start_podman() {
  local d="$work/podman"; mkdir -p "$d/run" "$d/graph" "$d/tmp"
  printf '[containers]\nnetns = "none"\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/tmp/events.log"\ntmp_dir = "%s/tmp"\nlock_type = "file"\n' "$d" "$d" >"$d/containers.conf"
  printf '[storage]\ndriver = "vfs"\nrunroot = "%s/run"\ngraphroot = "%s/graph"\n' "$d" "$d" >"$d/storage.conf"
  printf 'short-name-mode = "disabled"\nunqualified-search-registries = []\n' >"$d/registries.conf"
  CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" CONTAINERS_REGISTRIES_CONF="$d/registries.conf" \
    podman system service --time=0 "unix://$d/engine.sock" >"$d/log" 2>&1 &
  pids+=($!)
  sock="$d/engine.sock"
}

wait_ready() {
  for _ in $(seq 1 300); do
    curl -sf --max-time 2 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "prune-images.sh: engine at $1 did not start" >&2; exit 3
}

load() {
  local sock=$1
  curl -sSf --max-time 600 --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary "@$work/images.tar" "http://engine/v1.41/images/load?quiet=1" >/dev/null
  # A few containers, so the plan has in-use images to honour.
  for i in 0 1 2 3 4; do
    curl -sSf --max-time 30 --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
      --data-binary "{\"Image\":\"localhost/bench/app-0$i:b$i\",\"Cmd\":[\"/seed.txt\"],\"HostConfig\":{\"NetworkMode\":\"none\"}}" \
      "http://engine/v1.41/containers/create?name=bench-$i" >/dev/null
  done
  local n
  n=$(curl -sSf --unix-socket "$sock" http://engine/v1.41/images/json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  echo "engine at $sock holds $n images" >&2
}

bench() {
  local name=$1 sock=$2 peer=$3
  echo "== $name: $images images, $runs runs ==" >&2
  hyperfine --warmup 3 --runs "$runs" --style basic --export-markdown "$work/$name.md" --export-json "$work/$name.json" \
    -n "$peer" "$peer" \
    -n "prune-images local" "DOCKER_HOST=unix://$sock $bin local -q >/dev/null" \
    -n "prune-images local --json" "DOCKER_HOST=unix://$sock $bin local -q --json >/dev/null"
  cat "$work/$name.md"
  python3 - "$work/$name.json" "$name" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
floor = rs[0]["mean"]
for r in rs[1:]:
    print("%s: %s ÷ the listing floor: %.3f / %.3f s = %.2fx" % (sys.argv[2], r["command"], r["mean"], floor, r["mean"] / floor))
PY
}

# (Not in $(…): the pids must reach the cleanup trap.)
start_dockerd; wait_ready "$sock"; load "$sock"
bench dockerd "$sock" "docker -H unix://$sock image ls >/dev/null"

if [ "${PODMAN:-1}" = 1 ] && command -v podman >/dev/null; then
  start_podman; wait_ready "$sock"; load "$sock"
  bench podman "$sock" "curl -sSf --unix-socket $sock http://engine/v1.41/images/json >/dev/null"
fi

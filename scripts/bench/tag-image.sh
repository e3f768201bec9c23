#!/usr/bin/env bash
# tag-image apply against its peers, side by side in one run, against the
# same local registry (distribution 2.8, docker-registry) on 127.0.0.1 only.
#
#   scripts/bench/tag-image.sh [LAYER_MIB] [RUNS]     (defaults: 32 and 10)
#
# The image: one platform, one gzip layer of LAYER_MIB MiB of random bytes
# (incompressible, so bytes on the wire are honest), written as an OCI
# layout with no engine and pushed with skopeo.
#
# Scenarios:
#   retag    same repository, new tag  (tag-image apply SRC TAG
#                                       vs skopeo copy docker://SRC docker://REPO:TAG)
#   promote  another repository of the same registry
#                                      (tag-image apply SRC TAG --to REPO2
#                                       vs skopeo copy docker://SRC docker://REPO2:TAG)
#   pull-tag-push through the docker CLI, when an engine answers `docker info`
#   (none is started here; the row says so when there is none).
#
# Wall time: hyperfine (RUNS runs, 1 warm-up) straight against the registry
# (no proxy on the path); every run writes a fresh tag (and, for promote, a
# fresh repository) so no run is a no-op.
# Bytes: each command once more through a counting TCP proxy (python3) in
# front of the registry; the figure is request + response bytes.
set -euo pipefail
cd "$(dirname "$0")/../.."

layer_mib=${1:-32}
runs=${2:-10}

for tool in docker-registry skopeo hyperfine python3 sha256sum gzip; do
  command -v "$tool" >/dev/null || { echo "tag-image.sh: $tool is required (scripts/bench/run installs it)" >&2; exit 2; }
done
bin="$(scripts/build-release.sh -p tag-image)/tag-image"   # the shipped build

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the registry
port=$(free_port)
cat >"$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.05
done

# --- the counting proxy
pport=$(free_port)
cat >"$work/proxy.py" <<'PY'
import socket, sys, threading
listen, upstream, counts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock(); total = [0]
def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b: break
            with lock: total[0] += len(b)
            dst.sendall(b)
    except OSError: pass
    finally:
        try: dst.shutdown(socket.SHUT_WR)
        except OSError: pass
def handle(c):
    u = socket.create_connection(("127.0.0.1", upstream))
    t = threading.Thread(target=pump, args=(u, c)); t.start()
    pump(c, u); t.join(); c.close(); u.close()
    with lock:
        with open(counts, "w") as f: f.write(str(total[0]))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen)); s.listen(64)
while True:
    c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
echo 0 >"$work/counts"
python3 "$work/proxy.py" "$pport" "$port" "$work/counts" &
pids+=($!)
sleep 0.3

# --- the image: an OCI layout with one layer of random bytes
layout="$work/layout"
mkdir -p "$layout/blobs/sha256" "$work/rootfs"
head -c "$((layer_mib << 20))" /dev/urandom >"$work/rootfs/payload.bin"
tar -C "$work/rootfs" -cf "$work/layer.tar" payload.bin
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -1 -c "$work/layer.tar" >"$work/layer.tar.gz"
put_blob() { local h; h=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$layout/blobs/sha256/$h"; echo "$h $(stat -c %s "$1")"; }
read -r layer_hex layer_size < <(put_blob "$work/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" >"$work/config.json"
read -r config_hex config_size < <(put_blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config_hex" "$config_size" "$layer_hex" "$layer_size" >"$work/manifest.json"
read -r manifest_hex manifest_size < <(put_blob "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"build"}}]}' \
  "$manifest_hex" "$manifest_size" >"$layout/index.json"
export HOME="$work/home"   # skopeo never reads the user's auth files
mkdir -p "$HOME"
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$layout:build" "docker://127.0.0.1:$port/ci/app:build-1"
reg="127.0.0.1:$pport"
src="$reg/ci/app:build-1"
echo "tag-image.sh: image sha256:$manifest_hex, layer $layer_size bytes; registry 127.0.0.1:$port behind the counting proxy $reg" >&2

# --- commands (each writes a fresh tag / repository)
# A fresh name per run from bash's clock, not a $(date) process: a fork and
# exec would add a millisecond to every command timed.
fresh='${EPOCHREALTIME/./}'
ti_retag="$bin -q apply --plain-http $src r-$fresh"
sk_retag="skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://$src docker://$reg/ci/app:r-$fresh"
ti_promote="$bin -q apply --plain-http $src prod-abc1234 --to $reg/rel-$fresh/app"
sk_promote="skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://$src docker://$reg/rel-$fresh/app:prod-abc1234"
engine=""
if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
  engine=yes
  # One fresh name for the tag and the push: each $fresh expands anew.
  dk_retag="t=$fresh; docker pull -q $src >/dev/null && docker tag $src $reg/ci/app:d-\$t && docker push -q $reg/ci/app:d-\$t >/dev/null"
fi

bytes_of() {
  local before after
  before=$(cat "$work/counts")
  bash -c "$1" >/dev/null
  sleep 0.3
  after=$(cat "$work/counts")
  echo $((after - before))
}

echo "## bytes through the proxy (one run each)"
printf '%-32s %14s\n' command bytes
for name in ti_retag sk_retag ti_promote sk_promote ${engine:+dk_retag}; do
  printf '%-32s %14s\n' "$name" "$(bytes_of "${!name}")"
done
[ -n "$engine" ] || echo "docker pull-tag-push: no engine answers docker info here; not measured"

echo
echo "## wall time (direct to the registry)"
for name in ti_retag sk_retag ti_promote sk_promote ${engine:+dk_retag}; do
  printf -v "$name" '%s' "${!name//$reg/127.0.0.1:$port}"
done
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/retag.md" \
  -n "tag-image apply (retag)" "$ti_retag" \
  -n "skopeo copy (retag)" "$sk_retag" \
  ${engine:+-n "docker pull+tag+push (retag)" "$dk_retag"}
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/promote.md" \
  -n "tag-image apply --to (promote)" "$ti_promote" \
  -n "skopeo copy (promote)" "$sk_promote"

# The floor under any retag: the registry's own answers to the two requests
# a retag cannot do without (GET the manifest, PUT it under the new tag),
# each on a fresh connection, from a running Python client (no process
# start in it).
echo
echo "## retag floor (the registry's GET + PUT, no client overhead)"
python3 - "$port" "$runs" <<'PY'
import http.client, sys, time
port, n = int(sys.argv[1]), max(int(sys.argv[2]), 10) * 3
accept = "application/vnd.oci.image.manifest.v1+json"
def exchange(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse(); data = r.read(); c.close()
    return r, data
took = []
for i in range(n + 3):
    t = time.perf_counter()
    r, body = exchange("GET", "/v2/ci/app/manifests/build-1", headers={"Accept": accept})
    ctype = r.getheader("Content-Type")
    r, _ = exchange("PUT", "/v2/ci/app/manifests/floor-%d-%d" % (time.time_ns(), i), body, {"Content-Type": ctype})
    assert r.status == 201, r.status
    if i >= 3:
        took.append(time.perf_counter() - t)
took.sort()
print("GET + PUT manifest, fresh connections (%d runs): mean %.1f ms, min %.1f ms" % (n, sum(took) / n * 1000, took[0] * 1000))
PY
cat "$work/retag.md" "$work/promote.md"

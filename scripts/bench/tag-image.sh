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
# Each scenario runs twice: over TLS with a test CA, the path to every
# remote registry (tag-image --cacert; skopeo --src-cert-dir and
# --dest-cert-dir), and on a plain-HTTP registry with --plain-http and
# skopeo's --src/--dest-tls-verify=false (a flag users do not type for a
# remote registry; these rows are labelled "plain").
#
# Wall time: hyperfine (RUNS runs, 1 warm-up) straight against the registry
# (no proxy on the path); every run writes a fresh tag (and, for promote, a
# fresh repository) so no run is a no-op.
# Bytes: each command once more through a counting TCP proxy (python3) in
# front of the registry; the figure is request + response bytes.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib/test-ca.sh
. scripts/bench/lib/test-ca.sh

layer_mib=${1:-32}
runs=${2:-10}

for tool in docker-registry skopeo hyperfine python3 sha256sum gzip openssl; do
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

# --- the registries: plain HTTP, and TLS with a test CA
make_test_ca "$work/ca"
start_registry() { # name port tls(0|1)
  {
    printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/data-$1" "$2"
    [ "$3" = 1 ] && registry_tls "$work/ca"
  } >"$work/config-$1.yml"
  docker-registry serve "$work/config-$1.yml" >"$work/registry-$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$2),0.2)" 2>/dev/null && break
    sleep 0.05
  done
}
port=$(free_port) tport=$(free_port)
start_registry plain "$port" 0
start_registry tls "$tport" 1

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
# The same in front of the TLS registry: it counts the bytes of the TLS
# records, handshakes included.
tpport=$(free_port)
echo 0 >"$work/tcounts"
python3 "$work/proxy.py" "$tpport" "$tport" "$work/tcounts" &
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
skopeo --insecure-policy copy --quiet --dest-cert-dir "$work/ca/certs" "oci:$layout:build" "docker://127.0.0.1:$tport/ci/app:build-1"
reg="127.0.0.1:$pport" treg="127.0.0.1:$tpport"
src="$reg/ci/app:build-1" tsrc="$treg/ci/app:build-1"
echo "tag-image.sh: image sha256:$manifest_hex, layer $layer_size bytes; registries 127.0.0.1:$port (plain) and 127.0.0.1:$tport (TLS) behind the counting proxies $reg and $treg" >&2

# --- commands (each writes a fresh tag / repository)
# A fresh name per run from bash's clock, not a $(date) process: a fork and
# exec would add a millisecond to every command timed.
fresh='${EPOCHREALTIME/./}'
ti_retag="$bin -q apply --plain-http $src r-$fresh"
sk_retag="skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://$src docker://$reg/ci/app:r-$fresh"
ti_promote="$bin -q apply --plain-http $src prod-abc1234 --to $reg/rel-$fresh/app"
sk_promote="skopeo --insecure-policy copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://$src docker://$reg/rel-$fresh/app:prod-abc1234"
ca="--cacert $work/ca/ca.crt" certs="--src-cert-dir $work/ca/certs --dest-cert-dir $work/ca/certs"
ti_retag_tls="$bin -q apply $ca $tsrc r-$fresh"
sk_retag_tls="skopeo --insecure-policy copy --quiet $certs docker://$tsrc docker://$treg/ci/app:r-$fresh"
ti_promote_tls="$bin -q apply $ca $tsrc prod-abc1234 --to $treg/rel-$fresh/app"
sk_promote_tls="skopeo --insecure-policy copy --quiet $certs docker://$tsrc docker://$treg/rel-$fresh/app:prod-abc1234"
engine=""
if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
  engine=yes
  # One fresh name for the tag and the push: each $fresh expands anew.
  dk_retag="t=$fresh; docker pull -q $src >/dev/null && docker tag $src $reg/ci/app:d-\$t && docker push -q $reg/ci/app:d-\$t >/dev/null"
fi

bytes_of() { # command counts-file
  local before after
  before=$(cat "$2")
  bash -c "$1" >/dev/null
  sleep 0.3
  after=$(cat "$2")
  echo $((after - before))
}

echo "## bytes through the proxy (one run each)"
printf '%-32s %14s\n' command bytes
for name in ti_retag_tls sk_retag_tls ti_promote_tls sk_promote_tls; do
  printf '%-32s %14s\n' "$name" "$(bytes_of "${!name}" "$work/tcounts")"
done
for name in ti_retag sk_retag ti_promote sk_promote ${engine:+dk_retag}; do
  printf '%-32s %14s\n' "$name (plain)" "$(bytes_of "${!name}" "$work/counts")"
done
[ -n "$engine" ] || echo "docker pull-tag-push: no engine answers docker info here; not measured"

echo
echo "## wall time (direct to the registry)"
for name in ti_retag sk_retag ti_promote sk_promote ${engine:+dk_retag}; do
  printf -v "$name" '%s' "${!name//$reg/127.0.0.1:$port}"
done
for name in ti_retag_tls sk_retag_tls ti_promote_tls sk_promote_tls; do
  printf -v "$name" '%s' "${!name//$treg/127.0.0.1:$tport}"
done
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/retag-tls.md" \
  -n "tag-image apply --cacert (retag, TLS)" "$ti_retag_tls" \
  -n "skopeo copy --src-cert-dir --dest-cert-dir (retag, TLS)" "$sk_retag_tls"
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/promote-tls.md" \
  -n "tag-image apply --cacert --to (promote, TLS)" "$ti_promote_tls" \
  -n "skopeo copy --src-cert-dir --dest-cert-dir (promote, TLS)" "$sk_promote_tls"
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/retag.md" \
  -n "tag-image apply --plain-http (retag, plain)" "$ti_retag" \
  -n "skopeo copy --tls-verify=false (retag, plain)" "$sk_retag" \
  ${engine:+-n "docker pull+tag+push (retag, plain)" "$dk_retag"}
hyperfine --shell=bash --style basic --warmup 1 --runs "$runs" --export-markdown "$work/promote.md" \
  -n "tag-image apply --plain-http --to (promote, plain)" "$ti_promote" \
  -n "skopeo copy --tls-verify=false (promote, plain)" "$sk_promote"

# The floor under any retag: the registry's own answers to the two requests
# a retag cannot do without (GET the manifest, PUT it under the new tag),
# each on a fresh connection, from a running Python client (no process
# start in it).
echo
echo "## retag floor (the registry's GET + PUT from a warm client, no process start)"
python3 - "$port" "$runs" "$tport" "$work/ca/ca.crt" <<'PY'
import http.client, ssl, sys, time
port, n, tport, ca = int(sys.argv[1]), max(int(sys.argv[2]), 10) * 3, int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)   # loaded once: a warm client
accept = "application/vnd.oci.image.manifest.v1+json"
for label, tls, p in [("TLS", True, tport), ("plain", False, port)]:
    def exchange(method, path, body=None, headers=None):
        c = (http.client.HTTPSConnection("127.0.0.1", p, context=ctx) if tls
             else http.client.HTTPConnection("127.0.0.1", p))
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
    print("GET + PUT manifest, fresh connections, %s (%d runs): mean %.1f ms, min %.1f ms" % (label, n, sum(took) / n * 1000, took[0] * 1000))
PY
cat "$work/retag-tls.md" "$work/promote-tls.md" "$work/retag.md" "$work/promote.md"

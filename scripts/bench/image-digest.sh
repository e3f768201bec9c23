#!/usr/bin/env bash
# image-digest side by side with its peers, in one run, on loopback only.
#
#   resolve:     image-digest resolve  vs  skopeo inspect --format '{{.Digest}}'
#                against a local distribution registry (open, and htpasswd
#                Basic auth): wall time (hyperfine: mean, median, min) and
#                HTTP requests per resolve (from the registry's access log),
#                next to the floor any CLI pays: starting a process
#                (/bin/true) plus one manifest GET on a fresh connection
#                from a running client; and, in the same hyperfine run as
#                the tools, a static C program that sends that one GET and
#                prints the digest header (floor-get.c): the least a client
#                process can take here. image-digest is the shipped build
#                (scripts/build-release.sh: static-pie), with the
#                ordinary dynamic build beside it.
#   fingerprint: image-digest fingerprint  vs  find | sort | xargs sha256sum | sha256sum
#                on a generated tree (FILES files, about MB megabytes), warm
#                page cache: throughput in MB/s, next to the single-core
#                sha256 throughput of this CPU (openssl speed) as the limit.
#
# Usage: scripts/bench/image-digest.sh [FILES] [MB]   (defaults 20000 1024)
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=${1:-20000}
MB=${2:-1024}
for p in docker-registry skopeo hyperfine htpasswd openssl sha256sum cc; do
  command -v "$p" >/dev/null || { echo "bench: $p missing (scripts/bench/run installs it)" >&2; exit 1; }
done
BIN=$(scripts/build-release.sh -p image-digest)/image-digest
DYN=$(scripts/build-release.sh --dynamic -p image-digest)/image-digest
W=$(mktemp -d /tmp/dk-bench-image-digest.XXXXXX)
# start_registry runs in a command substitution (a subshell), so each
# registry's pid goes to a file, not to a variable of this shell.
cleanup() {
  for f in "$W"/*/pid; do [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }; done
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_registry() { # name [htpasswd-file] -> prints port
  local name=$1 auth=${2:-} port; port=$(free_port)
  mkdir -p "$W/$name"
  {
    printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$W/$name/data" "$port"
    [ -n "$auth" ] && printf 'auth:\n  htpasswd:\n    realm: bench\n    path: %s\n' "$auth"
  } >"$W/$name/config.yml"
  docker-registry serve "$W/$name/config.yml" >"$W/$name/log" 2>&1 &
  echo $! >"$W/$name/pid"
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.05; done
  echo "$port"
}

# A one-layer OCI image, written without an engine.
make_layout() {
  local d=$W/layout; mkdir -p "$d/blobs/sha256" "$W/rootfs"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  echo "bench $(date +%s)" >"$W/rootfs/hello.txt"
  tar --mtime=@0 --owner=0 --group=0 -C "$W/rootfs" -cf "$W/layer.tar" hello.txt
  local diff; diff=$(sha256sum <"$W/layer.tar" | cut -d' ' -f1)
  gzip -n -c "$W/layer.tar" >"$W/layer.tgz"
  local l; l=$(sha256sum <"$W/layer.tgz" | cut -d' ' -f1); cp "$W/layer.tgz" "$d/blobs/sha256/$l"
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff" >"$W/config.json"
  local c; c=$(sha256sum <"$W/config.json" | cut -d' ' -f1); cp "$W/config.json" "$d/blobs/sha256/$c"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$c" "$(stat -c%s "$W/config.json")" "$l" "$(stat -c%s "$W/layer.tgz")" >"$W/manifest.json"
  local m; m=$(sha256sum <"$W/manifest.json" | cut -d' ' -f1); cp "$W/manifest.json" "$d/blobs/sha256/$m"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
    "$m" "$(stat -c%s "$W/manifest.json")" >"$d/index.json"
}

requests() { grep -c '"\(GET\|HEAD\) /v2/' "$1" || true; }
cc -O2 -static -no-pie -o "$W/floor-get" scripts/bench/floor-get.c

echo "== resolve"
make_layout
export HOME=$W/home; mkdir -p "$HOME"   # skopeo and image-digest see no developer credentials
OPEN=$(start_registry open)
htpasswd -Bbn bench bench-pw >"$W/htpasswd"
BASIC=$(start_registry basic "$W/htpasswd")
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$BASIC" "$(printf bench:bench-pw | base64)" >"$W/auth.json"
mkdir -p "$W/docker" && cp "$W/auth.json" "$W/docker/config.json"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$W/layout:1" "docker://127.0.0.1:$OPEN/bench/app:1"
skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-authfile "$W/auth.json" "oci:$W/layout:1" "docker://127.0.0.1:$BASIC/bench/app:1"

for kind in open basic; do
  port=$OPEN; [ $kind = basic ] && port=$BASIC
  ref=127.0.0.1:$port/bench/app:1
  a=$(requests "$W/$kind/log"); DOCKER_CONFIG=$W/docker "$BIN" resolve --plain-http "$ref" >/dev/null
  b=$(requests "$W/$kind/log"); skopeo --insecure-policy inspect --tls-verify=false --authfile "$W/auth.json" --format '{{.Digest}}' "docker://$ref" >/dev/null
  c=$(requests "$W/$kind/log")
  echo "requests per resolve ($kind registry): image-digest $((b - a)), skopeo inspect $((c - b))"
  digest=$(DOCKER_CONFIG=$W/docker "$BIN" resolve --digest-only --plain-http "$ref")
  [ "$digest" = \
    "$(skopeo --insecure-policy inspect --tls-verify=false --authfile "$W/auth.json" --format '{{.Digest}}' "docker://$ref")" ] \
    || { echo "bench: digests differ" >&2; exit 1; }
  floor=()
  if [ $kind = open ]; then
    [ "$("$W/floor-get" "$port" /v2/bench/app/manifests/1)" = "$digest" ] \
      || { echo "bench: floor-get read another digest" >&2; exit 1; }
    floor=(-n "floor: one GET from a static C program ($kind)" "$W/floor-get $port /v2/bench/app/manifests/1")
  fi
  DOCKER_CONFIG=$W/docker hyperfine -N --warmup 5 --runs 200 --export-markdown "$W/resolve-$kind.md" \
    --export-json "$W/resolve-$kind.json" \
    -n "image-digest resolve ($kind)" "$BIN resolve --plain-http $ref" \
    -n "image-digest resolve, dynamic build ($kind)" "$DYN resolve --plain-http $ref" \
    "${floor[@]}" \
    -n "skopeo inspect ($kind)" "skopeo --insecure-policy inspect --tls-verify=false --authfile $W/auth.json --format {{.Digest}} docker://$ref"
  python3 - "$W/resolve-$kind.json" <<'PY'
import json, statistics, sys
rs = json.load(open(sys.argv[1]))["results"]
ours = rs[0]
for r in rs:
    t = [x * 1000 for x in r["times"]]
    print("%-45s mean %6.2f ms  median %6.2f ms  min %6.2f ms  (%d runs)  skopeo/this: mean %.1fx, median %.1fx"
          % (r["command"], r["mean"] * 1000, statistics.median(t), min(t), len(t),
             rs[-1]["mean"] / r["mean"], statistics.median(rs[-1]["times"]) / statistics.median(r["times"])))
PY
done

# The floor under any resolve from a CLI: a process start, and the
# registry's answer to one manifest GET on a fresh connection (measured from
# a running Python client, so no process start is in it).
echo "== resolve floor"
hyperfine -N --warmup 10 --runs 300 --export-markdown "$W/resolve-floor.md" \
  -n "process start (/bin/true)" /bin/true \
  -n "image-digest --version" "$BIN --version" \
  -n "image-digest --version, dynamic build" "$DYN --version"
python3 - "$OPEN" "$BASIC" <<'PY'
import base64, http.client, statistics, sys, time
n = 300
accept = "application/vnd.oci.image.manifest.v1+json"
basic = "Basic " + base64.b64encode(b"bench:bench-pw").decode()
for kind, port, headers in [("open", int(sys.argv[1]), {"Accept": accept}),
                            ("Basic auth", int(sys.argv[2]), {"Accept": accept, "Authorization": basic})]:
    def get():
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/v2/bench/app/manifests/1", headers=headers)
        r = c.getresponse(); r.read(); c.close()
        assert r.status == 200, r.status
    for _ in range(10):
        get()
    times = []
    for _ in range(n):
        t = time.perf_counter(); get(); times.append((time.perf_counter() - t) * 1000)
    print("manifest GET on a fresh connection (%s registry, %d runs): mean %.2f ms, median %.2f ms"
          % (kind, n, statistics.mean(times), statistics.median(times)))
PY

echo "== fingerprint ($FILES files, ~$MB MB)"
T=$W/tree; mkdir -p "$T"
per=$(( MB * 1024 * 1024 / FILES ))
head -c $(( MB * 1024 * 1024 )) /dev/urandom >"$W/blob"
python3 - "$W/blob" "$T" "$FILES" "$per" <<'PY'
import os, sys
blob, root, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(blob, 'rb') as f:
    for i in range(n):
        d = os.path.join(root, f"d{i % 97:02d}", f"s{i % 13}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}.bin"), 'wb') as o:
            o.write(f.read(per))
PY
rm -f "$W/blob"
du -sm "$T" | awk '{print "tree size: " $1 " MB"}'
cat "$T"/*/*/* >/dev/null   # warm the page cache for both
cd "$W"
hyperfine --warmup 1 --min-runs 10 --export-markdown "$W/fingerprint.md" --export-json "$W/fingerprint.json" \
  -n "image-digest fingerprint (all cores)" "$BIN fingerprint tree" \
  -n "image-digest fingerprint --jobs 1" "$BIN fingerprint --jobs 1 tree" \
  -n "find|sort|xargs sha256sum|sha256sum" "find tree -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum"
/usr/bin/time -f "image-digest fingerprint: max RSS %M KiB" "$BIN" fingerprint tree >/dev/null
echo "== single-core sha256 limit (openssl speed -evp sha256, 16 KiB blocks)"
speed=$(openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null | tail -1)
echo "$speed"
echo "cores: $(nproc)"
python3 - "$W/fingerprint.json" tree "$(awk '{print $2}' <<<"$speed")" "$(nproc)" <<'PY'
import json, os, sys
doc, root, per_core, cores = sys.argv[1], sys.argv[2], float(sys.argv[3].rstrip("k")) * 1000 / 1e6, int(sys.argv[4])
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
print("file data: %.1f MB; sha256 limit %.0f MB/s a core, %.0f MB/s for %d" % (size / 1e6, per_core, per_core * cores, cores))
for r in json.load(open(doc))["results"]:
    used = 1 if "--jobs 1" in r["command"] or "sha256sum" in r["command"] else cores
    mbs = size / 1e6 / r["mean"]
    print("%-40s %7.1f ms  %6.0f MB/s  %3.0f%% of the limit x %d core(s)"
          % (r["command"], r["mean"] * 1000, mbs, 100 * mbs / (per_core * used), used))
PY
cat "$W"/resolve-open.md "$W"/resolve-basic.md "$W"/resolve-floor.md "$W"/fingerprint.md

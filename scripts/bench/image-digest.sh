#!/usr/bin/env bash
# image-digest side by side with its peers, in one run, on loopback only.
#
#   resolve:     image-digest resolve  vs  skopeo inspect --format '{{.Digest}}'
#                as users type them, against local distribution registries:
#                - over TLS with a test CA (the path to every remote
#                  registry): open, htpasswd Basic auth, and the bearer-token
#                  flow of GHCR and Docker Hub (a token service started here
#                  hands out one RS256 JWT, signed once at the start with
#                  openssl); image-digest gets --cacert, skopeo --cert-dir;
#                - on a loopback plain-HTTP registry with no flag (image-digest
#                  finds plain HTTP by itself on loopback; skopeo needs
#                  --tls-verify=false, which is how a user reaches a plain
#                  registry with it), next to the `--plain-http` rows, which
#                  users do not type, labelled as such; the ratio no flag ÷
#                  --plain-http is printed (target: at most 1.3×).
#                Per row: wall time (hyperfine: mean, median, min), HTTP
#                requests per resolve (registry access log, token service
#                log), and two floors: curl sending the same requests (one
#                GET; for the token flow the token GET, then the manifest
#                GET, in one sh script), and the registry's own answer to
#                them from a warm client (Python http.client, its TLS
#                context loaded once, a fresh connection per request). The
#                plain rows also have a static C program sending the one
#                GET (floor-get.c). image-digest is the shipped build
#                (scripts/build-release.sh: static-pie), with the ordinary
#                dynamic build beside it on the plain registry.
#   fingerprint: image-digest fingerprint  vs  find | sort | xargs sha256sum | sha256sum
#                on a generated tree (FILES files, about MB megabytes), warm
#                page cache: throughput in MB/s, next to the single-core
#                sha256 throughput of this CPU (openssl speed) as the limit.
#
# Usage: scripts/bench/image-digest.sh [FILES] [MB] [RUNS]   (defaults 20000 1024 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib/test-ca.sh
. scripts/bench/lib/test-ca.sh
FILES=${1:-20000}
MB=${2:-1024}
RUNS=${3:-200}
for p in docker-registry skopeo hyperfine htpasswd openssl sha256sum cc curl python3; do
  command -v "$p" >/dev/null || { echo "bench: $p missing (scripts/bench/run installs it)" >&2; exit 1; }
done
BIN=$(scripts/build-release.sh -p image-digest)/image-digest
DYN=$(scripts/build-release.sh --dynamic -p image-digest)/image-digest
W=$(mktemp -d /tmp/dk-bench-image-digest.XXXXXX)
# start_registry runs in a command substitution (a subshell), so each
# server's pid goes to a file, not to a variable of this shell.
cleanup() {
  for f in "$W"/*/pid; do [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }; done
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CA=$W/ca
make_test_ca "$CA"
SERVICE=deploykit-bench-registry ISSUER=deploykit-bench-issuer

# The token service: one JWT for pull and push on bench/app, signed once
# here (so the service's answer costs what a static file does), the way
# distribution's token auth checks it: RS256, the signing certificate in
# x5c and in the registry's rootcertbundle, iss/aud/exp/nbf/iat, and the
# access it grants. Served over TLS with the test CA, like GHCR's realm.
start_token_service() { # -> prints its port
  local d=$W/token; mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$ISSUER" \
    -keyout "$d/sign.key" -out "$d/sign.crt" 2>/dev/null
  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  local now header claims input
  now=$(date +%s)
  header=$(printf '{"typ":"JWT","alg":"RS256","x5c":["%s"]}' "$(openssl x509 -in "$d/sign.crt" -outform DER | base64 -w0)" | b64url)
  claims=$(printf '{"iss":"%s","sub":"","aud":"%s","exp":%s,"nbf":%s,"iat":%s,"jti":"bench-%s","access":[{"type":"repository","name":"bench/app","actions":["pull","push"]}]}' \
    "$ISSUER" "$SERVICE" $((now + 86400)) $((now - 60)) "$now" "$now" | b64url)
  input=$header.$claims
  printf '%s.%s' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$d/sign.key" | b64url)" >"$d/jwt"
  python3 - "$d/port" "$d/jwt" "$CA/server.crt" "$CA/server.key" "$d/log" >/dev/null 2>&1 <<'PY' &
import http.server, json, socket, ssl, sys
port_file, jwt, cert, key, log = sys.argv[1:6]
token = open(jwt).read().strip()
body = json.dumps({"token": token, "access_token": token, "expires_in": 86400}).encode()
class Token(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body are two writes: no 40 ms delayed-ACK stall
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        with open(log, "a") as f:
            f.write("GET %s\n" % self.path)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
# The handshake runs in accept(), before the handler sets TCP_NODELAY:
# set it on the listener (accepted sockets inherit it), and send no TLS 1.3
# session tickets (no client here resumes), so no small write waits for a
# delayed ACK.
server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.num_tickets = 0
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
PY
  echo $! >"$d/pid"
  for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.05; done
  touch "$d/log"
  cat "$d/port"
}

start_registry() { # name auth(open|basic|token) scheme(http|https) -> prints port
  local name=$1 auth=$2 scheme=$3 port; port=$(free_port)
  mkdir -p "$W/$name"
  {
    printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$W/$name/data" "$port"
    [ "$scheme" = https ] && registry_tls "$CA"
    case $auth in
      basic) printf 'auth:\n  htpasswd:\n    realm: bench\n    path: %s\n' "$W/htpasswd" ;;
      token) printf 'auth:\n  token:\n    realm: https://127.0.0.1:%s/token\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
               "$TOKEN_PORT" "$SERVICE" "$ISSUER" "$W/token/sign.crt" ;;
    esac
  } >"$W/$name/config.yml"
  docker-registry serve "$W/$name/config.yml" >"$W/$name/log" 2>&1 &
  echo $! >"$W/$name/pid"
  for _ in $(seq 100); do curl -s --cacert "$CA/ca.crt" -o /dev/null "$scheme://127.0.0.1:$port/v2/" && break; sleep 0.05; done
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

# HTTP requests a server has logged so far (registry access log lines; the
# token service logs one line per request).
requests() {
  local n; n=$(grep -c '"\(GET\|HEAD\) /v2/' "$W/$1/log" || true)
  [ "$1" = tls-token ] && n=$((n + $(wc -l <"$W/token/log")))
  echo "$n"
}
cc -O2 -static -no-pie -o "$W/floor-get" scripts/bench/floor-get.c

echo "== resolve"
make_layout
export HOME=$W/home; mkdir -p "$HOME"   # skopeo and image-digest see no developer credentials
htpasswd -Bbn bench bench-pw >"$W/htpasswd"
TOKEN_PORT=$(start_token_service)
declare -A PORT SCHEME
for spec in plain-open:open:http plain-basic:basic:http tls-open:open:https tls-basic:basic:https tls-token:token:https; do
  IFS=: read -r name auth scheme <<<"$spec"
  PORT[$name]=$(start_registry "$name" "$auth" "$scheme")
  SCHEME[$name]=$scheme
done
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"},"127.0.0.1:%s":{"auth":"%s"}}}' \
  "${PORT[plain-basic]}" "$(printf bench:bench-pw | base64)" "${PORT[tls-basic]}" "$(printf bench:bench-pw | base64)" >"$W/auth.json"
mkdir -p "$W/docker" && cp "$W/auth.json" "$W/docker/config.json"
export DOCKER_CONFIG=$W/docker
for name in plain-open plain-basic tls-open tls-basic tls-token; do
  tls=(--dest-tls-verify=false); [ "${SCHEME[$name]}" = https ] && tls=(--dest-cert-dir "$CA/certs")
  skopeo --insecure-policy copy -q "${tls[@]}" --dest-authfile "$W/auth.json" "oci:$W/layout:1" "docker://127.0.0.1:${PORT[$name]}/bench/app:1"
done

ACCEPT=application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json
MPATH=/v2/bench/app/manifests/1
# The token flow with curl, as one script: GET the token, then the manifest with it.
cat >"$W/curl-token.sh" <<EOF
t=\$(curl -sS --cacert $CA/ca.crt "https://127.0.0.1:$TOKEN_PORT/token?service=$SERVICE&scope=repository:bench/app:pull")
t=\${t#*\"token\":\"}; t=\${t%%\"*}
curl -sS --cacert $CA/ca.crt -H "Accept: $ACCEPT" -H "Authorization: Bearer \$t" -o /dev/null https://127.0.0.1:${PORT[tls-token]}$MPATH
EOF

# The rows of each registry: label, then the command, as hyperfine -N takes them.
rows() { # name
  local name=$1 port=${PORT[$1]} ref url
  ref=127.0.0.1:$port/bench/app:1 url=${SCHEME[$1]}://127.0.0.1:$port$MPATH
  local sk="skopeo --insecure-policy inspect --authfile $W/auth.json --format {{.Digest}}"
  case $name in
    plain-open)
      printf '%s\n' "image-digest resolve, no flag ($name)" "$BIN resolve $ref" \
        "image-digest resolve --plain-http, a flag users do not type ($name)" "$BIN resolve --plain-http $ref" \
        "image-digest resolve --plain-http, dynamic build ($name)" "$DYN resolve --plain-http $ref" \
        "floor: one GET from a static C program ($name)" "$W/floor-get $port $MPATH" \
        "floor: curl, one GET ($name)" "curl -sS -H Accept:$ACCEPT -o /dev/null $url" \
        "skopeo inspect --tls-verify=false ($name)" "$sk --tls-verify=false docker://$ref" ;;
    plain-basic)
      printf '%s\n' "image-digest resolve --plain-http, a flag users do not type ($name)" "$BIN resolve --plain-http $ref" \
        "image-digest resolve, no flag ($name)" "$BIN resolve $ref" \
        "floor: curl, one GET ($name)" "curl -sS -u bench:bench-pw -H Accept:$ACCEPT -o /dev/null $url" \
        "skopeo inspect --tls-verify=false ($name)" "$sk --tls-verify=false docker://$ref" ;;
    tls-open|tls-basic)
      local auth=(); [ "$name" = tls-basic ] && auth=(-u bench:bench-pw)
      printf '%s\n' "image-digest resolve --cacert ($name)" "$BIN resolve --cacert $CA/ca.crt $ref" \
        "floor: curl --cacert, one GET ($name)" "curl -sS --cacert $CA/ca.crt ${auth[*]} -H Accept:$ACCEPT -o /dev/null $url" \
        "skopeo inspect --cert-dir ($name)" "$sk --cert-dir $CA/certs docker://$ref" ;;
    tls-token)
      printf '%s\n' "image-digest resolve --cacert ($name)" "$BIN resolve --cacert $CA/ca.crt $ref" \
        "floor: curl --cacert, token GET then manifest GET, in sh ($name)" "sh $W/curl-token.sh" \
        "skopeo inspect --cert-dir ($name)" "$sk --cert-dir $CA/certs docker://$ref" ;;
  esac
}

for name in plain-open plain-basic tls-open tls-basic tls-token; do
  mapfile -t spec < <(rows "$name")
  want=
  for ((i = 0; i < ${#spec[@]}; i += 2)); do
    read -r -a cmd <<<"${spec[i + 1]}"
    a=$(requests "$name")
    out=$("${cmd[@]}") || { echo "bench: failed: ${spec[i + 1]}" >&2; exit 1; }
    b=$(requests "$name")
    echo "requests: $((b - a)) for ${spec[i]}"
    case ${spec[i]} in
      floor:\ curl*) ;;   # prints nothing
      *) got=${out%%$'\n'*}; got=${got##* }; got=${got##*@}
         [ -n "$want" ] || want=$got
         [ "$got" = "$want" ] || { echo "bench: ${spec[i]} printed $got, not $want" >&2; exit 1; } ;;
    esac
  done
  args=()
  for ((i = 0; i < ${#spec[@]}; i += 2)); do args+=(-n "${spec[i]}" "${spec[i + 1]}"); done
  hyperfine -N --warmup 5 --runs "$RUNS" --export-markdown "$W/resolve-$name.md" \
    --export-json "$W/resolve-$name.json" "${args[@]}"
  python3 - "$W/resolve-$name.json" <<'PY'
import json, statistics, sys
rs = json.load(open(sys.argv[1]))["results"]
sk = rs[-1]
for r in rs:
    t = [x * 1000 for x in r["times"]]
    print("%-75s mean %6.2f ms  median %6.2f ms  min %6.2f ms  (%d runs)  skopeo/this: mean %.2fx, median %.2fx"
          % (r["command"], r["mean"] * 1000, statistics.median(t), min(t), len(t),
             sk["mean"] / r["mean"], statistics.median(sk["times"]) / statistics.median(r["times"])))
PY
done
python3 - "$W/resolve-plain-open.json" <<'PY'
import json, statistics, sys
rs = {r["command"].split(" (")[0]: r for r in json.load(open(sys.argv[1]))["results"]}
a, b = rs["image-digest resolve, no flag"], rs["image-digest resolve --plain-http, a flag users do not type"]
print("loopback plain-HTTP registry, no flag ÷ --plain-http: mean %.2f / %.2f ms = %.2fx, median %.2fx (target: at most 1.3x)"
      % (a["mean"] * 1000, b["mean"] * 1000, a["mean"] / b["mean"],
         statistics.median(a["times"]) / statistics.median(b["times"])))
PY

# The floor under any resolve from a CLI: a process start, and the
# registry's answer to the same requests from a running client (Python,
# its TLS context loaded once, so neither a process start nor root loading
# is in it; a fresh connection, and so a handshake, per request).
echo "== resolve floor"
hyperfine -N --warmup 10 --runs "$RUNS" --export-markdown "$W/resolve-floor.md" \
  -n "process start (/bin/true)" /bin/true \
  -n "image-digest --version" "$BIN --version" \
  -n "image-digest --version, dynamic build" "$DYN --version"
python3 - "$CA/ca.crt" "$TOKEN_PORT" "$SERVICE" "$RUNS" "${PORT[plain-open]}" "${PORT[plain-basic]}" "${PORT[tls-open]}" "${PORT[tls-basic]}" "${PORT[tls-token]}" <<'PY'
import base64, http.client, json, ssl, statistics, sys, time
ca, token_port, service, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], max(int(sys.argv[4]), 20)
ports = dict(zip(["plain-open", "plain-basic", "tls-open", "tls-basic", "tls-token"], map(int, sys.argv[5:10])))
ctx = ssl.create_default_context(cafile=ca)
accept = "application/vnd.oci.image.manifest.v1+json"
basic = "Basic " + base64.b64encode(b"bench:bench-pw").decode()
def get(port, path, headers, tls):
    c = (http.client.HTTPSConnection("127.0.0.1", port, context=ctx) if tls
         else http.client.HTTPConnection("127.0.0.1", port))
    c.request("GET", path, headers=headers)
    r = c.getresponse(); body = r.read(); c.close()
    assert r.status == 200, (port, path, r.status)
    return body
def token_then_manifest():
    t = json.loads(get(token_port, "/token?service=%s&scope=repository:bench/app:pull" % service, {}, True))["token"]
    get(ports["tls-token"], "/v2/bench/app/manifests/1", {"Accept": accept, "Authorization": "Bearer " + t}, True)
cases = [
    ("plain-open", "manifest GET", lambda: get(ports["plain-open"], "/v2/bench/app/manifests/1", {"Accept": accept}, False)),
    ("plain-basic", "manifest GET, Basic", lambda: get(ports["plain-basic"], "/v2/bench/app/manifests/1", {"Accept": accept, "Authorization": basic}, False)),
    ("tls-open", "manifest GET over TLS", lambda: get(ports["tls-open"], "/v2/bench/app/manifests/1", {"Accept": accept}, True)),
    ("tls-basic", "manifest GET over TLS, Basic", lambda: get(ports["tls-basic"], "/v2/bench/app/manifests/1", {"Accept": accept, "Authorization": basic}, True)),
    ("tls-token", "token GET then manifest GET, over TLS", token_then_manifest),
]
for name, what, f in cases:
    for _ in range(10):
        f()
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append((time.perf_counter() - t) * 1000)
    print("the registry's answer from a warm client (%s: %s, fresh connections, %d runs): mean %.2f ms, median %.2f ms"
          % (name, what, n, statistics.mean(times), statistics.median(times)))
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
cat "$W"/resolve-plain-open.md "$W"/resolve-plain-basic.md "$W"/resolve-tls-open.md "$W"/resolve-tls-basic.md "$W"/resolve-tls-token.md "$W"/resolve-floor.md "$W"/fingerprint.md

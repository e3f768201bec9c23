#!/usr/bin/env bash
# The pre-push gate: boot the image just built with a minimal environment
# (no secrets, no database) and require /livez to answer within 20 s, so an
# image whose process cannot even start is never pushed. The container is
# always removed, whatever happens.
set -euo pipefail

prog=test-image.sh
usage() {
  cat <<'EOF'
Usage: test-image.sh [options] IMAGE

Starts IMAGE (already in the engine: --pull never) on the host network with
a minimal environment (HEALTH_PORT, NODE_ENV=production and any --env; no
secrets), polls http://127.0.0.1:PORT/livez with wait-probe for at most
--budget, then removes the container. On failure it shows the container's
state and its last log lines.

Options:
  --port PORT      the health port given to the image as HEALTH_PORT [default: 9000]
  --budget DUR     how long /livez may take, at most 20s [default: 20s]
  --env NAME=VALUE another variable for the container (repeatable; never a secret)
  -h, --help       print this help

Environment: DOCKER (the CLI) [default: docker], DOCKER_HOST.

Examples:
  # In CI, between the build and the push
  scripts/pipeline/test-image.sh ghcr.io/acme/shop:staging-3f2a9c0-billing-worker

  # On a runner where port 9000 is taken
  scripts/pipeline/test-image.sh --port 19000 --budget 10s 127.0.0.1:5000/shop:v1

Exit status:
  0  the process came alive: /livez answered 2xx
  1  /livez did not answer within the budget (the image is broken)
  2  usage error, a tool missing
  3  the engine could not start the container
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

port=9000 budget=20s image=''
envs=()
docker=${DOCKER:-docker}
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --budget) budget=${2:?--budget needs a value}; shift 2 ;;
    --env) envs+=(--env "${2:?--env needs a value}"); shift 2 ;;
    -*) die 2 "unknown option: $1 (see --help)" ;;
    *) [ -z "$image" ] || die 2 "one image only (got $image and $1)"; image=$1; shift ;;
  esac
done
[ -n "$image" ] || die 2 "no IMAGE (see --help)"
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then die 2 "--port $port is not a port"; fi
for tool in wait-probe "$docker"; do
  command -v "$tool" >/dev/null || die 2 "$tool is not on PATH"
done
# At most 20 s: the gate is about a process booting, not about a slow one.
case $budget in
  *ms) [ "${budget%ms}" -le 20000 ] 2>/dev/null || die 2 "--budget $budget: at most 20s" ;;
  *s) [ "${budget%s}" -le 20 ] 2>/dev/null || die 2 "--budget $budget: at most 20s" ;;
  *) die 2 "--budget $budget: give seconds (20s) or milliseconds (500ms)" ;;
esac

container=dk-test-image-$$-$RANDOM
cleanup() {
  "$docker" rm --force "$container" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting $image as $container (HEALTH_PORT=$port)"
"$docker" run --detach --name "$container" --pull never --network host \
  --env "HEALTH_PORT=$port" --env NODE_ENV=production "${envs[@]}" "$image" >/dev/null ||
  die 3 "the engine could not start $image"

rc=0
wait-probe --budget "$budget" "http://127.0.0.1:$port/livez" >&2 || rc=$?
if [ "$rc" != 0 ]; then
  state=$("$docker" inspect --format '{{.State.Status}} (exit code {{.State.ExitCode}})' "$container" 2>/dev/null || echo unknown)
  say "$image did not come alive within $budget: container $state; its last log lines:"
  "$docker" logs --tail 20 "$container" 2>&1 | sed 's/^/  | /' >&2 || true
  exit "$rc"
fi
say "$image is alive"

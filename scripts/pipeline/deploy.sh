#!/usr/bin/env bash
# The digest-driven deploy of one container on a VM, hardened so that a
# failed deploy never takes the site down: the reference must be pinned by
# digest, the runtime environment must pass validate-dsns --runtime, and the
# new version must pass its probes (alive, ready, and answering /version with
# the expected commit) as a candidate on other ports, beside the running
# version, before it replaces it; if it fails after the swap, the previous
# one is put back and waited for. Only then are old images pruned, keeping
# the rollback window.
set -euo pipefail

prog=deploy.sh
usage() {
  cat <<'EOF'
Usage: deploy.sh --env-file FILE --sha SHA [options] IMAGE@sha256:…

Deploys IMAGE as the container --name on this host (Docker CLI against
DOCKER_HOST, host network), in this order, stopping at the first failure:
  1. refuse IMAGE unless pinned by digest (tag-image check --require-digest),
     and the all-zeros placeholder digest of an image not built yet
  2. check the runtime env file (validate-dsns --runtime): no admin DSN, no
     legacy variables, both runtime DSNs well formed
  3. record the running version (its reference and commit), pull IMAGE
     unless the engine has it already
  4. stage: start IMAGE as NAME-candidate beside the running version, with
     its port variables (--stage-vars) moved by --stage-offset, and gate it
     with wait-probe there: /livez within --livez-budget, then /readyz within
     --readyz-budget, then /version must carry "sha": SHA. A candidate that
     fails is removed and the running version was never touched: exit
     non-zero
  5. swap: stop the old container (kept, stopped, as NAME-previous), start
     IMAGE as NAME with --pull never, and gate it again on the real ports
  6. on failure: remove the new container, start the previous one again,
     wait until it is ready, exit non-zero; on success: remove NAME-previous
     and prune-images local --keep N --apply, protecting the new and the
     previous image (the rollback window)
stdout: the reference now running, on success only. Progress on stderr.

On the host network the old and the new container cannot listen on the same
port at once, hence the staging: a build that fails its probes never takes
the real port, and the site is down only during the swap of a build that
passed (stop, start: well under a second when the app exits promptly on
SIGTERM). Staging needs the app to take its ports from variables (the
scaffolded services read HEALTH_PORT, web apps usually PORT); --no-stage skips step 4 for
an app that cannot, and then whatever answers during the gate is the new
build, until it fails and the previous one is put back. Nothing is staged
when nothing runs yet.

Options:
  --env-file FILE        the container's runtime environment (Docker env-file
                         format: NAME=value lines, no quotes); required
  --sha SHA              the commit /version must report [env: GIT_SHA]
  --name NAME            the container's name [default: app]
  --health-url URL       where /livez, /readyz, /version answer
                         [default: http://127.0.0.1:$HEALTH_PORT, HEALTH_PORT
                         from the env file, else 9000]
  --livez-budget DUR     [default: 20s]
  --readyz-budget DUR    also the budget of the rollback's wait [default: 120s]
  --version-budget DUR   [default: 30s]
  --stop-timeout SECS    grace period of docker stop [default: 10]
  --stage-offset N       the candidate's ports are the real ones plus N (may
                         be negative) [default: 1000]
  --stage-vars LIST      the env file's port variables to move, comma
                         separated; HEALTH_PORT is set for the candidate even
                         when the file leaves it to the default
                         [default: PORT,HEALTH_PORT]
  --no-stage             start IMAGE in place of the running version at once
  --keep N               images kept per repository by the prune [default: 3]
  --prune-min-age DUR    prune-images --min-age [default: prune-images' 1h]
  --prune-repo PATTERN   the repositories the prune may touch (prune-images
                         --repo) [default: IMAGE's repository only]
  --no-prune             do not prune
  -h, --help             print this help

Environment: DOCKER_HOST (the engine), DOCKER (the CLI) [default: docker].

Examples:
  # Deploy the digest CI pushed; the app must report this commit
  GIT_SHA=3f2a9c0 scripts/pipeline/deploy.sh --env-file /etc/shop/runtime.env \
    ghcr.io/acme/shop:prod-3f2a9c0@sha256:4c1e…

  # A second app on the same host, its probes on port 9100, its candidate
  # on 9200 (and its PORT moved by the same 100)
  scripts/pipeline/deploy.sh --name billing --env-file /etc/billing.env --sha "$GIT_SHA" \
    --health-url http://127.0.0.1:9100 --stage-offset 100 --keep 5 "$BILLING_IMAGE"

Exit status:
  0    deployed (or IMAGE was already running and passes its probes)
  1    refused (not pinned by digest or on the placeholder digest, runtime
       env rejected, another deploy of NAME running) or the new version
       failed its probes: the candidate removed, or rolled back after the
       swap
  2    usage error: bad flag, unreadable env file, a tool missing
  3    the engine or registry failed (pull, start): rolled back
  4    a remote refused access (passed through from the tool)
  130  interrupted by SIGINT (candidate removed, or rolled back)
  143  terminated by SIGTERM (candidate removed, or rolled back)
  Any other failure of a tool stops the deploy with that tool's exit status.
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

name=app env_file='' sha=${GIT_SHA:-} health_url=''
livez_budget=20s readyz_budget=120s version_budget=30s stop_timeout=10
keep=3 prune=1 prune_min_age='' prune_repo='' ref=''
stage=1 stage_offset=1000 stage_vars=PORT,HEALTH_PORT
docker=${DOCKER:-docker}

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --env-file) env_file=${2:?--env-file needs a value}; shift 2 ;;
    --sha) sha=${2:?--sha needs a value}; shift 2 ;;
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --health-url) health_url=${2:?--health-url needs a value}; shift 2 ;;
    --livez-budget) livez_budget=${2:?}; shift 2 ;;
    --readyz-budget) readyz_budget=${2:?}; shift 2 ;;
    --version-budget) version_budget=${2:?}; shift 2 ;;
    --stop-timeout) stop_timeout=${2:?}; shift 2 ;;
    --keep) keep=${2:?--keep needs a value}; shift 2 ;;
    --prune-min-age) prune_min_age=${2:?}; shift 2 ;;
    --prune-repo) prune_repo=${2:?}; shift 2 ;;
    --no-prune) prune=0; shift ;;
    --stage-offset) stage_offset=${2:?--stage-offset needs a value}; shift 2 ;;
    --stage-vars) stage_vars=${2:?--stage-vars needs a value}; shift 2 ;;
    --no-stage) stage=0; shift ;;
    --) shift; break ;;
    -*) die 2 "unknown option: $1 (see --help)" ;;
    *) [ -z "$ref" ] || die 2 "one image reference only (got $ref and $1)"; ref=$1; shift ;;
  esac
done
if [ $# -gt 0 ]; then
  if [ -n "$ref" ] || [ $# != 1 ]; then die 2 "one image reference only"; fi
  ref=$1
fi

[ -n "$ref" ] || die 2 "no image reference (see --help)"
[ -n "$env_file" ] || die 2 "--env-file is required: the runtime environment is checked before anything starts"
[ -r "$env_file" ] || die 2 "cannot read --env-file $env_file"
[ -n "$sha" ] || die 2 "--sha (or GIT_SHA) is required: /version must prove the new build answers"
[[ $name =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ ]] || die 2 "--name $name is not a valid container name"
[[ $keep =~ ^[0-9]+$ ]] || die 2 "--keep $keep is not a number"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die 2 "--stop-timeout $stop_timeout is not a whole number of seconds"
[[ $stage_offset =~ ^-?[1-9][0-9]{0,4}$ ]] || die 2 "--stage-offset $stage_offset is not a non-zero whole number"
[[ $stage_vars =~ ^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$ ]] ||
  die 2 "--stage-vars $stage_vars is not a comma-separated list of variable names"
for tool in tag-image validate-dsns wait-probe prune-images "$docker"; do
  command -v "$tool" >/dev/null || die 2 "$tool is not on PATH"
done

# NAME's numeric value in the env file (the last assignment wins, as in
# Docker), else DEFAULT; a value that is not a port number stops the deploy.
env_value() {
  local value
  value=$(sed -n "s/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}$1=//p" "$env_file" | tail -n 1)
  value=${value:-$2}
  [ -z "$value" ] || [[ $value =~ ^[0-9]{1,5}$ ]] || die 2 "$1 in $env_file is not a port number"
  printf '%s' "$value"
}
if [ -z "$health_url" ]; then
  health_url=http://127.0.0.1:$(env_value HEALTH_PORT 9000)
fi
base=${health_url%/}
[[ $base =~ ^(https?://[^/:]+|https?://\[[^]]+\]):([0-9]+)(/.*)?$ ]] ||
  die 2 "--health-url $health_url must name its port (http://HOST:PORT)"
health_origin=${BASH_REMATCH[1]} health_port=$((10#${BASH_REMATCH[2]})) health_path=${BASH_REMATCH[3]}

# The candidate's environment: the port variables moved by the offset, the
# health port among them (else its probes would reach the running version).
moved=()
if [ "$stage" = 1 ]; then
  health_moved=0
  IFS=, read -r -a vars <<<"$stage_vars"
  for var in "${vars[@]}"; do
    value=$(env_value "$var" '')
    if [ -z "$value" ] && [ "$var" = HEALTH_PORT ]; then value=$health_port; fi
    [ -n "$value" ] || continue
    [ "$((10#$value))" = "$health_port" ] && health_moved=1
    value=$((10#$value + stage_offset))
    if [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
      die 2 "--stage-offset $stage_offset moves $var out of the port range"
    fi
    moved+=(--env "$var=$value")
  done
  [ "$health_moved" = 1 ] ||
    die 2 "none of --stage-vars $stage_vars holds the health port $health_port: name the variable, or --no-stage"
fi

# Runs a tool with its stdout sent to stderr (stdout is this script's
# result); stops the deploy with the tool's own exit status if it fails.
step() {
  local what=$1 rc=0
  shift
  "$@" >&2 || rc=$?
  [ "$rc" = 0 ] || die "$rc" "$what failed (exit $rc)"
}

# 1. and 2.: nothing is touched unless the reference and the env are fit.
step "the reference check" tag-image check --require-digest -q "$ref"
# Only the file reaches the container, so only the file is checked.
step "the runtime environment check" env -i PATH="$PATH" validate-dsns --runtime --env-file "$env_file"

# One deploy of NAME at a time.
lock=${XDG_RUNTIME_DIR:-/tmp}/deploykit-deploy-$name.lock
exec 9>>"$lock"
flock -n 9 || die 1 "another deploy of $name is running (lock $lock)"

# 3. What runs now: its reference and commit, from the container's labels.
prev_ref='' prev_sha=''
if state=$("$docker" inspect -f '{{.State.Running}} {{.Config.Image}} {{index .Config.Labels "deploykit.sha"}}' "$name" 2>/dev/null); then
  read -r running prev_ref prev_sha <<<"$state"
  [ "$prev_sha" = '<no value>' ] && prev_sha=''
  if [ "$running" != true ]; then
    say "$name exists but is not running ($prev_ref): replacing it, nothing to roll back to"
    "$docker" rm -f "$name" >/dev/null
    prev_ref='' prev_sha=''
  fi
fi
say "running now: ${prev_ref:-nothing}${prev_sha:+ (sha $prev_sha)}"

probe_pid=''
gate() { # SHA [BASE]: the probes of whatever answers on BASE (default $base)
  local expect=$1 at=${2:-$base}
  # In the background, so that SIGINT/SIGTERM interrupt the wait at once
  # (bash runs a trap only after a foreground command ends).
  wait-probe --budget "$livez_budget" "$at/livez" \
    --budget "$readyz_budget" "$at/readyz" \
    --budget "$version_budget" --expect-json "sha=$expect" "$at/version" >&2 &
  probe_pid=$!
  wait "$probe_pid"
}

if [ "$prev_ref" = "$ref" ]; then
  say "$ref is already running: checking its probes"
  step "the probes of the running version" gate "$sha"
  echo "$ref"
  exit 0
fi

if "$docker" image inspect "$ref" >/dev/null 2>&1; then
  say "$ref is already on this host"
else
  say "pulling $ref"
  "$docker" pull --quiet "$ref" >/dev/null || die 3 "pulling $ref failed"
fi

swapped=0 committed=0 candidate=''
rollback() {
  set +e
  if [ -z "$prev_ref" ]; then
    "$docker" rm -f "$name" >/dev/null 2>&1
    say "nothing ran before: no previous version to put back"
    return
  fi
  say "rolling back to $prev_ref"
  # Once renamed, the previous container replaces whatever runs as NAME;
  # before that, NAME is still the previous container, only stopped.
  if "$docker" container inspect "$name-previous" >/dev/null 2>&1; then
    "$docker" rm -f "$name" >/dev/null 2>&1
    if ! "$docker" rename "$name-previous" "$name"; then
      say "ROLLBACK FAILED: could not rename $name-previous back; nothing serves as $name"
      return
    fi
  fi
  if ! "$docker" start "$name" >/dev/null; then
    say "ROLLBACK FAILED: could not start the previous container again; nothing serves as $name"
    return
  fi
  local check=(--budget "$readyz_budget" "$base/livez" "$base/readyz")
  [ -n "$prev_sha" ] && check+=(--expect-json "sha=$prev_sha" "$base/version")
  if wait-probe "${check[@]}" >&2; then
    say "rolled back: $prev_ref is serving again"
  else
    say "ROLLBACK FAILED: the previous version did not come back ready"
  fi
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$probe_pid" ]; then kill "$probe_pid" 2>/dev/null || true; fi
  if [ -n "$candidate" ]; then
    "$docker" rm -f "$candidate" >/dev/null 2>&1 || say "could not remove $candidate"
    [ "$rc" = 0 ] || say "removed the candidate: ${prev_ref:-nothing} kept running, never stopped"
  fi
  if [ "$swapped" = 1 ] && [ "$committed" = 0 ]; then
    rollback
    [ "$rc" = 0 ] && rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# 4. The candidate, beside what runs: its port variables moved, its probes
# on the moved health port. Only a build that passes them is swapped in.
if [ "$stage" = 1 ] && [ -n "$prev_ref" ]; then
  candidate=$name-candidate
  candidate_base=$health_origin:$((health_port + stage_offset))$health_path
  "$docker" rm -f "$candidate" >/dev/null 2>&1 || true
  say "staging $ref as $candidate, its probes on $candidate_base"
  "$docker" run --detach --name "$candidate" --pull never --network host \
    --env-file "$env_file" "${moved[@]}" --label "deploykit.sha=$sha" "$ref" >/dev/null ||
    die 3 "starting the candidate $ref failed"
  rc=0
  gate "$sha" "$candidate_base" || rc=$?
  [ "$rc" = 0 ] || die "$rc" "$ref did not pass its probes as a candidate (wait-probe exit $rc)"
  say "the candidate passed: swapping it in"
  "$docker" stop -t "$stop_timeout" "$candidate" >/dev/null || die 3 "stopping $candidate failed"
  "$docker" rm -f "$candidate" >/dev/null || die 3 "removing $candidate failed"
  candidate=''
fi

swapped=1
if [ -n "$prev_ref" ]; then
  "$docker" rm -f "$name-previous" >/dev/null 2>&1 || true
  say "stopping $prev_ref"
  "$docker" stop -t "$stop_timeout" "$name" >/dev/null || die 3 "stopping $name failed"
  "$docker" rename "$name" "$name-previous" || die 3 "renaming $name failed"
fi
say "starting $ref"
"$docker" run --detach --name "$name" --pull never --network host \
  --restart unless-stopped --env-file "$env_file" \
  --label "deploykit.ref=$ref" --label "deploykit.sha=$sha" "$ref" >/dev/null ||
  die 3 "starting $ref failed"

# 5. The gate on the real ports. A failure exits through on_exit, which
# rolls back.
rc=0
gate "$sha" || rc=$?
[ "$rc" = 0 ] || die "$rc" "$ref did not pass its probes (wait-probe exit $rc)"
committed=1
if [ -n "$prev_ref" ]; then
  "$docker" rm "$name-previous" >/dev/null || say "could not remove the stopped $name-previous (harmless)"
fi
say "deployed $ref (sha $sha); previous: ${prev_ref:-none}"
echo "$ref"

# 6. Prune, never touching the rollback window.
if [ "$prune" = 1 ]; then
  if [ -z "$prune_repo" ]; then
    # IMAGE without its digest and tag (a tag's ':' comes after the last '/').
    prune_repo=${ref%%@*}
    case ${prune_repo##*/} in *:*) prune_repo=${prune_repo%:*} ;; esac
  fi
  prune_args=(--repo "$prune_repo" --keep "$keep" --protect "$ref")
  [ -n "$prev_ref" ] && prune_args+=(--protect "$prev_ref")
  [ -n "$prune_min_age" ] && prune_args+=(--min-age "$prune_min_age")
  step "deployed, but the prune" prune-images local "${prune_args[@]}" --apply
fi

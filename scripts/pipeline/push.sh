#!/usr/bin/env bash
# Pushes an image and prints the digest-pinned reference a deploy needs, so
# a workflow never has to trust a tag: the digest comes from what the push
# itself printed (image-digest from-log), or, when the push printed none,
# from the registry (image-digest resolve).
set -euo pipefail

prog=push.sh
usage() {
  cat <<'EOF'
Usage: push.sh [options] IMAGE

Pushes IMAGE (registry/repo:tag) and prints REGISTRY/REPO@sha256:… on stdout,
the digest of what was pushed. By default the engine's image IMAGE is pushed
with `docker push`; with --from, SOURCE is copied with skopeo (no engine),
e.g. an OCI layout written by scripts/pipeline/oci-image.sh. The digest is
read from the push's own output with `image-digest from-log`; if it printed
none, `image-digest resolve IMAGE` asks the registry. The push log goes to
stderr.

Options:
  --from SOURCE   push SOURCE (a skopeo transport: oci:DIR:TAG,
                  docker-archive:FILE…) with skopeo instead of docker push
  --insecure      plain HTTP / unverified TLS to the registry (skopeo and
                  image-digest; docker decides for itself, and treats
                  127.0.0.1 registries as insecure)
  -q, --quiet     push without progress (docker push prints no digest then:
                  the digest comes from the registry)
  -h, --help      print this help

Environment: DOCKER (the CLI) [default: docker], DOCKER_HOST, REGISTRY_AUTH_FILE
(skopeo's credentials).

Examples:
  # In CI: push the built tag and keep the pinned reference as a step output
  echo "ref=$(scripts/pipeline/push.sh ghcr.io/acme/api:prod-3f2a9c0)" >>"$GITHUB_OUTPUT"

  # Push an engine-free image from an OCI layout to a local registry
  scripts/pipeline/push.sh --from oci:/tmp/img:v1 127.0.0.1:5000/shop:v1

Exit status:
  0  pushed; the reference is on stdout
  1  pushed, but no digest could be found (neither in the log nor the registry)
  2  usage error, a tool missing
  3  the push failed, or the registry failed the resolve
  4  the registry refused the credentials (resolve)
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

from='' insecure=0 quiet=0 image=''
docker=${DOCKER:-docker}
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --from) from=${2:?--from needs a value}; shift 2 ;;
    --insecure) insecure=1; shift ;;
    -q|--quiet) quiet=1; shift ;;
    -*) die 2 "unknown option: $1 (see --help)" ;;
    *) [ -z "$image" ] || die 2 "one image only (got $image and $1)"; image=$1; shift ;;
  esac
done
[ -n "$image" ] || die 2 "no IMAGE to push (see --help)"
[[ $image != *@* ]] || die 2 "push a tag, not a digest: $image"
# The repository: IMAGE without its tag (a tag's ':' comes after the last '/').
case ${image##*/} in
  *:*) repo=${image%:*} ;;
  *) die 2 "IMAGE needs an explicit tag (registry/repo:tag): $image" ;;
esac
command -v image-digest >/dev/null || die 2 "image-digest is not on PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/push.log

if [ -n "$from" ]; then
  command -v skopeo >/dev/null || die 2 "skopeo is not on PATH (apt-get install skopeo)"
  args=(copy --digestfile "$work/digest")
  [ "$quiet" = 1 ] && args+=(--quiet)
  [ "$insecure" = 1 ] && args+=(--dest-tls-verify=false)
  say "pushing $from to $image (skopeo)"
  skopeo "${args[@]}" "$from" "docker://$image" >&2 || die 3 "skopeo copy failed"
  # skopeo's digest file holds the bare digest; from-log reads `REF@digest`.
  printf '%s@%s\n' "$image" "$(cat "$work/digest")" >"$log"
else
  command -v "$docker" >/dev/null || die 2 "$docker is not on PATH"
  args=(push)
  [ "$quiet" = 1 ] && args+=(--quiet)
  say "pushing $image ($docker push)"
  rc=0
  "$docker" "${args[@]}" "$image" 2>&1 | tee "$log" >&2 || rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || die 3 "$docker push failed (exit $rc)"
fi

if ref=$(image-digest from-log -q "$log" 2>/dev/null); then
  # One push, one digest; from-log prints one line per pushed reference.
  ref=$(head -n 1 <<<"$ref")
  # A bare digest (the log did not name the repository) is the one pushed.
  [[ $ref == *@* ]] || ref=$repo@$ref
else
  say "no digest in the push output: asking the registry"
  resolve=(resolve)
  [ "$insecure" = 1 ] && resolve+=(--insecure)
  rc=0
  ref=$(image-digest "${resolve[@]}" "$image") || rc=$?
  [ "$rc" = 0 ] || die "$rc" "image-digest resolve $image failed (exit $rc)"
fi
echo "$ref"

#!/usr/bin/env bash
# Builds one service of the monorepo with the tags the deploy strategy
# expects: the immutable release tag `{env}-{sha}-{service}` (tag-image
# name) and the content tag `{service}-{fingerprint}` (image-digest
# fingerprint), so an unchanged service can be recognised without a rebuild.
set -euo pipefail

prog=build-service.sh
usage() {
  cat <<'EOF'
Usage: build-service.sh --repo REPOSITORY --env ENV [options] NAME

Builds services/NAME/Dockerfile with the monorepo root as the context and
tags it twice:
  REPOSITORY:{env}-{sha}-{NAME}        tag-image ref --env --sha --service
  REPOSITORY:{NAME}-{fingerprint}      tag-image ref --service --fingerprint,
                                       fingerprint = image-digest fingerprint
                                       --short 12 of services/NAME and the
                                       root manifests (package.json,
                                       pnpm-lock.yaml, pnpm-workspace.yaml)
Prints both references on stdout, release tag first. GIT_SHA and BUILD_TS
are passed as build arguments (the scaffolded Dockerfile puts them in
/version and the OCI labels). The build log goes to stderr.

Options:
  --repo REPOSITORY   the image repository, e.g. ghcr.io/acme/shop [env: IMAGE_REPO]
  --env ENV           the environment of the release tag (prod, staging…) [env: DEPLOY_ENV]
  --sha SHA           the commit [env: GIT_SHA; default: git rev-parse HEAD of --root]
  --root DIR          the monorepo root [default: .]
  -h, --help          print this help

Environment: DOCKER (the CLI) [default: docker], DOCKER_HOST.

Examples:
  # In CI, after checkout
  scripts/pipeline/build-service.sh --repo ghcr.io/acme/shop --env staging --sha "$GITHUB_SHA" billing-worker

  # Build, smoke-test, then push both tags
  refs=$(scripts/pipeline/build-service.sh --repo 127.0.0.1:5000/shop --env prod billing-worker)
  scripts/pipeline/test-image.sh "$(head -n 1 <<<"$refs")"
  for r in $refs; do scripts/pipeline/push.sh "$r"; done

Exit status:
  0  built and tagged; the references are on stdout
  1  the build failed
  2  usage error: bad NAME, flag or tag part, no services/NAME/Dockerfile, a tool missing
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

repo=${IMAGE_REPO:-} env=${DEPLOY_ENV:-} sha=${GIT_SHA:-} root=. name=''
docker=${DOCKER:-docker}
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --repo) repo=${2:?--repo needs a value}; shift 2 ;;
    --env) env=${2:?--env needs a value}; shift 2 ;;
    --sha) sha=${2:?--sha needs a value}; shift 2 ;;
    --root) root=${2:?--root needs a value}; shift 2 ;;
    -*) die 2 "unknown option: $1 (see --help)" ;;
    *) [ -z "$name" ] || die 2 "one service only (got $name and $1)"; name=$1; shift ;;
  esac
done
[ -n "$name" ] || die 2 "no service NAME (see --help)"
[ -n "$repo" ] || die 2 "--repo (or IMAGE_REPO) is required"
[ -n "$env" ] || die 2 "--env (or DEPLOY_ENV) is required"
[[ $name =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die 2 "$name is not a service name (lowercase kebab-case)"
dockerfile=services/$name/Dockerfile
[ -f "$root/$dockerfile" ] || die 2 "no $dockerfile under $root"
for tool in tag-image image-digest "$docker"; do
  command -v "$tool" >/dev/null || die 2 "$tool is not on PATH"
done
if [ -z "$sha" ]; then
  sha=$(git -C "$root" rev-parse HEAD 2>/dev/null) || die 2 "--sha (or GIT_SHA) is required outside a git checkout"
fi

# Tags first: a bad env, sha or name stops here, before a long build.
release=$(tag-image ref "$repo" --env "$env" --sha "$sha" --service "$name")
paths=("services/$name")
for f in package.json pnpm-lock.yaml pnpm-workspace.yaml; do
  [ -f "$root/$f" ] && paths+=("$f")
done
fingerprint=$(cd "$root" && image-digest fingerprint -q --short 12 "${paths[@]}")
content=$(tag-image ref "$repo" --service "$name" --fingerprint "$fingerprint")

say "building $dockerfile as $release and $content"
rc=0
"$docker" build --file "$root/$dockerfile" --tag "$release" --tag "$content" \
  --build-arg "GIT_SHA=$sha" --build-arg "BUILD_TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "$root" >&2 || rc=$?
[ "$rc" = 0 ] || die 1 "$docker build failed (exit $rc)"
printf '%s\n%s\n' "$release" "$content"

#!/usr/bin/env bash
# Discovers the services of the monorepo (every services/*/Dockerfile) and
# prints the matrix a CI job fans out over, so that adding a service needs
# no workflow edit.
set -euo pipefail

prog=services-matrix.sh
usage() {
  cat <<'EOF'
Usage: services-matrix.sh [--root DIR]

Prints one line of JSON on stdout, the matrix of every service that has a
Dockerfile, sorted by name:
  {"include":[{"service":"NAME","dockerfile":"services/NAME/Dockerfile","context":"."}]}
A directory under services/ without a Dockerfile is not a service. A service
name must be lowercase kebab-case (what scaffold-service creates).

Options:
  --root DIR   the monorepo root [default: .]
  -h, --help   print this help

Examples:
  # GitHub Actions: a job output the build job fans out over
  echo "matrix=$(scripts/pipeline/services-matrix.sh)" >>"$GITHUB_OUTPUT"
  #   strategy: { matrix: "${{ fromJSON(needs.discover.outputs.matrix) }}" }

  # The names alone
  scripts/pipeline/services-matrix.sh | jq -r '.include[].service'

Exit status:
  0  the matrix was printed (an empty one when there are no services)
  2  usage error, no such --root, a service directory with an invalid name
EOF
}

die() { local code=$1; shift; printf '%s: %s\n' "$prog" "$*" >&2; exit "$code"; }

root=.
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --root) root=${2:?--root needs a value}; shift 2 ;;
    *) die 2 "unknown argument: $1 (see --help)" ;;
  esac
done
[ -d "$root" ] || die 2 "--root $root is not a directory"

names=()
if [ -d "$root/services" ]; then
  for dockerfile in "$root"/services/*/Dockerfile; do
    [ -f "$dockerfile" ] || continue
    dir=${dockerfile%/Dockerfile}
    name=${dir##*/}
    # Validated rather than escaped: the name goes into tags and job names too.
    [[ $name =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] ||
      die 2 "services/$name: not a service name (lowercase kebab-case); rename it or remove its Dockerfile"
    names+=("$name")
  done
fi

entries=''
if [ ${#names[@]} -gt 0 ]; then
  while IFS= read -r name; do
    entries+="${entries:+,}{\"service\":\"$name\",\"dockerfile\":\"services/$name/Dockerfile\",\"context\":\".\"}"
  done < <(printf '%s\n' "${names[@]}" | LC_ALL=C sort)
fi
printf '{"include":[%s]}\n' "$entries"

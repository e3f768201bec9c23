#!/usr/bin/env bash
# Provisions a service's database the safe way round: the three DSNs are
# checked first (validate-dsns: three roles, no superuser at runtime, TLS in
# production), then provision-db converges the server with the production
# lock engaged, then every role logs in to prove the result.
set -euo pipefail

prog=provision.sh
usage() {
  cat <<'EOF'
Usage: provision.sh [options] [-- PROVISION-DB-OPTIONS...]

Runs, stopping at the first failure with that tool's exit status:
  1. validate-dsns --env ENV              the static rules on the three DSNs
  2. provision-db --env ENV [--env-marker MARKER] [PROVISION-DB-OPTIONS]
     In production (ENV production or prod) provision-db changes nothing
     unless CONFIRM_PROD_MIGRATE=YES is set by the caller: this script never
     lifts the lock itself.
  3. validate-dsns --connect [--expect-env MARKER]   (skipped with --plan/--check)
     every DSN logs in; the roles and the marker are as intended
The DSNs come from the environment (DATABASE_ROOT_URL, DATABASE_URL,
DATABASE_SERVICE_URL) or --env-file, never from argv.

Options:
  --env-file FILE     read the DSNs from this dotenv file
  --env ENV           the deployment environment [env: APP_ENV]
  --env-marker MARKER create or verify the environment marker table naming
                      MARKER (provision-db --env-marker, validate-dsns --expect-env)
  --timeout DUR       connection deadline of each tool [default: 10s]
  -h, --help          print this help
  After --, options for provision-db: --plan, --check, --owner root,
  --schema NAME, --no-service-bypassrls, …

Examples:
  # Staging: converge and verify
  scripts/pipeline/provision.sh --env staging --env-marker staging --env-file /etc/shop/provision.env

  # Production: the lock must be lifted on purpose
  CONFIRM_PROD_MIGRATE=YES scripts/pipeline/provision.sh --env production --env-marker prod

  # What would change, as SQL (passwords as ***)
  scripts/pipeline/provision.sh --env production --env-marker prod -- --plan

Exit status:
  0  the DSNs are sound, the database is converged and every role logs in
  1  a DSN rule failed; drift (--check); the marker names another
     environment; the production lock refused the run
  2  usage error; a DSN missing or unparseable
  3  the server was unreachable
  4  a login was refused, or the admin role lacks a privilege
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

env_file='' env=${APP_ENV:-} marker='' timeout=10s dry=0
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --env-file) env_file=${2:?--env-file needs a value}; shift 2 ;;
    --env) env=${2:?--env needs a value}; shift 2 ;;
    --env-marker) marker=${2:?--env-marker needs a value}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) die 2 "unknown argument: $1 (see --help; provision-db options go after --)" ;;
  esac
done
for a in "${extra[@]}"; do
  case $a in
    --plan|--check) dry=1 ;;
    --confirm-production) die 2 "provision.sh does not lift the production lock from argv: set CONFIRM_PROD_MIGRATE=YES" ;;
  esac
done
for tool in validate-dsns provision-db; do
  command -v "$tool" >/dev/null || die 2 "$tool is not on PATH"
done

common=()
[ -n "$env_file" ] && common+=(--env-file "$env_file")
[ -n "$env" ] && common+=(--env "$env")

step() {
  local what=$1 rc=0
  shift
  say "$what"
  "$@" || rc=$?
  [ "$rc" = 0 ] || die "$rc" "$what: failed (exit $rc), stopping"
}

step "checking the three DSNs" validate-dsns "${common[@]}"
provision=(provision-db "${common[@]}" --timeout "$timeout")
[ -n "$marker" ] && provision+=(--env-marker "$marker")
step "provisioning" "${provision[@]}" "${extra[@]}"
if [ "$dry" = 0 ]; then
  verify=(validate-dsns "${common[@]}" --connect --timeout "$timeout")
  [ -n "$marker" ] && verify+=(--expect-env "$marker")
  step "verifying every login" "${verify[@]}"
fi
say "done"

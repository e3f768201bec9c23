#!/usr/bin/env bash
# provision-db against the equivalent hand-written psql script, side by side
# with hyperfine, on a throwaway PostgreSQL 15 on 127.0.0.1.
#
#   scripts/bench/provision-db.sh [RUNS]     (default 20 per command)
#
# (a) first run: every iteration starts from a server without the roles and
#     the database (hyperfine --prepare drops them, untimed).
# (b) no-op re-run: the server is already converged.
# Both over TCP with SCRAM authentication, as a deploy host would connect.
#
# The psql peer is what a careful operator writes by hand: \gexec guards for
# CREATE ROLE / CREATE DATABASE, then every ALTER and GRANT unconditionally.
# It is not equivalent in two ways that favour it: it sends the passwords in
# plaintext (provision-db computes SCRAM verifiers, 4096 PBKDF2 rounds each,
# and on a re-run derives them again to compare), and it does not read the
# catalogs first, so its re-run rewrites every ACL and password (never a
# no-op: log_statement=ddl would show it all). The whole run takes about a
# minute after the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}

for tool in hyperfine psql python3 openssl; do
  command -v "$tool" >/dev/null || { echo "provision-db.sh: $tool is required (scripts/bench/run installs it)" >&2; exit 2; }
done
bin="$(scripts/build-release.sh -p provision-db)/provision-db"   # the shipped build

# shellcheck source=../lib/pg.sh
. scripts/lib/pg.sh
work=$(mktemp -d /tmp/bench-provision-db.XXXXXX)
chmod 755 "$work"   # the server runs as postgres and must reach its dir
pg_start "$work/pg"
trap 'pg_stop; rm -rf "$work"' EXIT

app_pw=bench-app-$RANDOM$RANDOM
svc_pw=bench-svc-$RANDOM$RANDOM
root="postgres://postgres:$PG_SUPERPW@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
export DATABASE_ROOT_URL=$root
export DATABASE_URL="postgres://app:$app_pw@127.0.0.1:$PG_PORT/shop?sslmode=disable"
export DATABASE_SERVICE_URL="postgres://svc:$svc_pw@127.0.0.1:$PG_PORT/shop?sslmode=disable"

cat >"$work/provision.sql" <<'SQL'
SELECT 'CREATE ROLE app LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') \gexec
SELECT 'CREATE ROLE svc LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'svc') \gexec
ALTER ROLE app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_pw';
ALTER ROLE svc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS PASSWORD :'svc_pw';
SELECT 'CREATE DATABASE shop OWNER svc' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'shop') \gexec
ALTER DATABASE shop OWNER TO svc;
REVOKE ALL ON DATABASE shop FROM PUBLIC;
GRANT CONNECT ON DATABASE shop TO app, svc;
\connect shop
GRANT USAGE ON SCHEMA public TO app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE svc IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE svc IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO app;
SQL
# The passwords reach psql as variables from a file, not argv.
printf '\\set app_pw %s\n\\set svc_pw %s\n\\set ON_ERROR_STOP on\n\\i %s\n' \
  "$app_pw" "$svc_pw" "$work/provision.sql" >"$work/run.sql"
export PGPASSWORD=$PG_SUPERPW   # for psql, instead of a password in its argv
psql_cmd="psql -X -q -h 127.0.0.1 -p $PG_PORT -U postgres -d postgres -f '$work/run.sql' >/dev/null"
tool_cmd="'$bin' -q >/dev/null"
reset="psql -X -q -h '$PG_DIR' -p $PG_PORT -U postgres -d postgres -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS shop' -c 'DROP ROLE IF EXISTS app' -c 'DROP ROLE IF EXISTS svc'"
[ "$(id -u)" = 0 ] && reset="runuser -u postgres -- $reset"

# Both must converge the same server to a state provision-db calls converged.
eval "$reset"; eval "$psql_cmd"; "$bin" --check -q || { echo "provision-db.sh: the psql script does not converge" >&2; exit 1; }
eval "$reset"; eval "$tool_cmd"; "$bin" --check -q

echo "== (a) first run, fresh server each time" >&2
hyperfine --runs "$runs" --warmup 2 --prepare "$reset" \
  --export-markdown "$work/first.md" -n provision-db "$tool_cmd" -n psql-script "$psql_cmd"
echo "== (b) no-op re-run on a converged server" >&2
eval "$tool_cmd"
hyperfine --runs "$runs" --warmup 2 \
  --export-markdown "$work/noop.md" -n provision-db "$tool_cmd" -n psql-script "$psql_cmd"

echo
echo "### first run"; cat "$work/first.md"
echo; echo "### no-op re-run"; cat "$work/noop.md"

# Shell helpers for a throwaway PostgreSQL 15 on loopback, with TLS (a CA and
# a leaf certificate for localhost/127.0.0.1) and SCRAM authentication.
# Source this file; call pg_start DIR, then use $PG_PORT, $PG_CA, $PG_SUPERPW.
# pg_stop is registered on EXIT by pg_start.
# shellcheck shell=bash disable=SC2034  # PG_* are set for the scripts that source this

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_make_certs() { # DIR
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=deploykit demo CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
  chmod 600 "$d/server.key"
}

pg_start() { # DIR
  PG_DIR=$1
  mkdir -p "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  PG_SUPERPW=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  PG_PORT=$(pg_free_port)
  printf '%s\n' "$PG_SUPERPW" >"$PG_DIR/pw"
  pg_make_certs "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  rm -f "$PG_DIR/pw"
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c ssl=on -c ssl_cert_file=$PG_DIR/server.crt -c ssl_key_file=$PG_DIR/server.key" \
    start >/dev/null
  PG_CA=$PG_DIR/ca.crt
  trap pg_stop EXIT
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] &&
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
  return 0
}

pg_psql() { # SQL...
  pg_as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres "$@"
}

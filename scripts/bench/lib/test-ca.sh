# shellcheck shell=bash
# Sourced by the benches that reach a registry over TLS the way a remote
# registry is reached: a test CA that only the run trusts, and a leaf for
# 127.0.0.1 and localhost signed by it (RSA 2048, as most registries'
# certificates still are). Not a bench itself (scripts/bench/run runs only
# scripts/bench/*.sh).

# make_test_ca DIR: writes DIR/ca.crt, DIR/server.crt, DIR/server.key, and
# DIR/certs/ca.crt (the directory skopeo's --cert-dir and
# --src-cert-dir/--dest-cert-dir take).
make_test_ca() {
  local d=$1
  mkdir -p "$d/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=deploykit-bench-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  cp "$d/ca.crt" "$d/certs/ca.crt"
}

# registry_tls DIR: the `tls:` block of a distribution registry's `http:`
# section serving DIR's leaf.
registry_tls() {
  printf '  tls:\n    certificate: %s\n    key: %s\n' "$1/server.crt" "$1/server.key"
}

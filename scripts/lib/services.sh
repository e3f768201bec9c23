# shellcheck shell=bash
# Shell helpers for the throwaway OCI registry and Docker engine of the demo,
# on loopback only, started directly (no systemd, no iptables, no bridge:
# containers use the host network).
# Source this file; registry_start DIR sets REGISTRY (127.0.0.1:PORT);
# dockerd_start DIR exports DOCKER_HOST. Stop both with services_stop.

services_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls CMD... every 50 ms for at most SECONDS; fails when it never succeeds.
services_wait() { # SECONDS CMD...
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

registry_start() { # DIR
  REGISTRY_DIR=$1
  mkdir -p "$REGISTRY_DIR/data"
  local port
  port=$(services_free_port)
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY=127.0.0.1:$port
  services_wait 15 curl -fsS --max-time 1 "http://$REGISTRY/v2/" || {
    echo "registry did not start; its log:" >&2
    cat "$REGISTRY_DIR/registry.log" >&2
    return 1
  }
}

registry_stop() {
  if [ -n "${REGISTRY_PID:-}" ]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=''
  fi
}

dockerd_start() { # DIR
  DOCKERD_DIR=$1
  mkdir -p "$DOCKERD_DIR"
  dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    -H "unix://$DOCKERD_DIR/docker.sock" --data-root "$DOCKERD_DIR/root" \
    --exec-root "$DOCKERD_DIR/exec" --pidfile "$DOCKERD_DIR/docker.pid" \
    >"$DOCKERD_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$DOCKERD_DIR/docker.sock
  services_wait 30 docker version || {
    echo "dockerd did not start; its log:" >&2
    tail -n 20 "$DOCKERD_DIR/dockerd.log" >&2
    return 1
  }
}

dockerd_stop() {
  if [ -n "${DOCKERD_PID:-}" ]; then
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    # dockerd's own containerd outlives it unless told.
    local containerd
    containerd=$(cat "$DOCKERD_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
    if [ -n "$containerd" ]; then kill "$containerd" 2>/dev/null || true; fi
    # dockerd leaves its network namespace mounted under the exec root.
    awk -v d="$DOCKERD_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount "$m" 2>/dev/null || true; done
    DOCKERD_PID=''
  fi
}

services_stop() {
  dockerd_stop
  registry_stop
}

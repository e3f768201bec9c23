#!/usr/bin/env bash
# Builds the tools the way deploykit ships them, and prints where they are.
#
# On x86_64 Linux with glibc they are linked statically and as
# position-independent executables (static-pie): no dynamic loader to find
# and map libc and libgcc_s at every start, which the tools pay once per CI
# step or deploy check, while the kernel still places the code at a random
# address on every run. That address randomisation is kept on purpose: these
# are tools that hold admin DSNs, registry passwords and tokens. glibc's
# `files` and `dns` host lookups are built into a static binary, so
# /etc/hosts, resolv.conf and `localhost` work as before; only NSS modules
# loaded from shared objects (mdns, LDAP, systemd-resolved's nss-resolve)
# are not consulted, and a host that relies on one still reaches its
# resolver through resolv.conf. scripts/bench/RESULTS.md compares this build
# with the ordinary dynamic one (--dynamic).
#
# All seven are always built together: Cargo unifies the features of shared
# dependencies over what one build compiles, so a tool built alone would be
# a different binary from the same tool built with the others.
#
# Static glibc needs an explicit --target (proc macros cannot be built with
# crt-static), so these builds go to target/<triple>/release and never
# replace the ordinary `cargo build --release` ones. Elsewhere (another
# architecture, musl) this is a plain release build.
set -euo pipefail

prog=build-release.sh
usage() {
  cat <<'EOF'
Usage: build-release.sh [options]

Builds the release binaries of the deploykit tools as they are shipped
(static-pie: statically linked and position-independent, on x86_64 Linux
with glibc) and prints the directory that holds them; with --install,
copies them into DIR and prints each installed path.

Options:
  -p, --package NAME   install only this tool (repeatable) [default: all
                       seven]; all seven are built either way, so a binary
                       is the same whichever are asked for
  --install DIR        copy the binaries into DIR (created if missing)
  --dynamic            an ordinary dynamically linked build, for comparison
  -h, --help           print this help

Environment: CARGO_TARGET_DIR (where cargo builds) [default: target],
RUSTFLAGS (kept, and added to).

Examples:
  # In CI: install three tools on the runner's PATH
  scripts/build-release.sh -p tag-image -p image-digest -p wait-probe --install ~/.local/bin

  # Benchmark what is shipped
  bin=$(scripts/build-release.sh -p image-digest)/image-digest

Exit status:
  0  built (and installed)
  1  the build failed
  2  usage error
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

all=(validate-dsns provision-db wait-probe image-digest tag-image scaffold-service prune-images)
packages=() install='' dynamic=0
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -p|--package)
      [ $# -ge 2 ] || die 2 "$1 needs a tool name"
      case " ${all[*]} " in *" $2 "*) ;; *) die 2 "unknown tool: $2 (one of: ${all[*]})" ;; esac
      packages+=("$2"); shift 2 ;;
    --install) [ $# -ge 2 ] || die 2 "--install needs a directory"; install=$2; shift 2 ;;
    --dynamic) dynamic=1; shift ;;
    *) die 2 "unknown argument: $1 (see --help)" ;;
  esac
done
[ ${#packages[@]} -gt 0 ] || packages=("${all[@]}")
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}

args=(build --release --locked --quiet)
for p in "${all[@]}"; do args+=(-p "$p"); done
triple=$(rustc -vV | sed -n 's/^host: //p')
if [ "$dynamic" = 0 ] && [ "$triple" = x86_64-unknown-linux-gnu ]; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=pie"
  args+=(--target "$triple")
  out=$target_dir/$triple/release
else
  out=$target_dir/release
fi
cargo "${args[@]}" || die 1 "cargo ${args[*]} failed"

if [ -z "$install" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$install" || die 2 "cannot create $install"
for p in "${packages[@]}"; do
  install -m 0755 "$out/$p" "$install/$p" || die 1 "cannot install $p into $install"
  echo "$install/$p"
done

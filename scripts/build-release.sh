#!/usr/bin/env bash
# Builds the tools the way deploykit ships them, and prints where they are.
#
# The tools run once per CI step or deploy check, so their start-up is part
# of every figure a user sees. On x86_64 Linux with glibc they are linked
# statically and as fixed-position (non-PIE) executables: the dynamic
# loader's work (mapping libc and libgcc_s, applying 17 000 relocations and
# copying every page they touch) was half of an `image-digest --version`
# here (1.2 ms dynamic, 0.6 ms static; scripts/bench/RESULTS.md). glibc's
# `files` and `dns` host lookups are built into a static binary, so
# /etc/hosts, resolv.conf and `localhost` work as before; only NSS modules
# loaded from shared objects (mdns, LDAP, systemd-resolved's nss-resolve)
# are not consulted, and a host that relies on one still reaches its
# resolver through resolv.conf. What the executable gives up is address
# randomisation of its own code, as Go's default builds do. Their functions
# are laid out in the order the tools' common paths first run them
# (scripts/link-order.txt, written by scripts/link-order), so a run touches
# a few contiguous pages of code instead of a page here and there: every
# first touch of a page is a page fault.
#
# All seven are always built together: Cargo unifies the features of shared
# dependencies over what one build compiles, so a tool built alone would be
# a different binary (other symbol names, which the link order is keyed on)
# from the same tool built with the others.
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
(statically linked, non-PIE, on x86_64 Linux with glibc) and prints the
directory that holds them; with --install, copies them into DIR and prints
each installed path.

Options:
  -p, --package NAME   install only this tool (repeatable) [default: all
                       seven]; all seven are built either way, so a binary
                       is the same whichever are asked for
  --install DIR        copy the binaries into DIR (created if missing)
  --dynamic            an ordinary dynamically linked build, for comparison
  --no-link-order      do not lay the functions out by scripts/link-order.txt
                       (scripts/link-order builds this way to regenerate it)
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
packages=() install='' dynamic=0 link_order=1
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -p|--package)
      [ $# -ge 2 ] || die 2 "$1 needs a tool name"
      case " ${all[*]} " in *" $2 "*) ;; *) die 2 "unknown tool: $2 (one of: ${all[*]})" ;; esac
      packages+=("$2"); shift 2 ;;
    --install) [ $# -ge 2 ] || die 2 "--install needs a directory"; install=$2; shift 2 ;;
    --dynamic) dynamic=1; shift ;;
    --no-link-order) link_order=0; shift ;;
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
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static"
  # rustc links with its own lld on this target; names the file lists that a
  # binary lacks (another tool's, or gone since it was generated) are skipped.
  if [ "$link_order" = 1 ] && [ -f scripts/link-order.txt ]; then
    RUSTFLAGS+=" -C link-arg=-Wl,--symbol-ordering-file=$PWD/scripts/link-order.txt"
    RUSTFLAGS+=" -C link-arg=-Wl,--no-warn-symbol-ordering"
  fi
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

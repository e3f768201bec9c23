#!/usr/bin/env bash
# Installs a pinned deploykit release from its archive: the install step of
# the GitHub Action (action.yml), usable on any Linux host with curl.
#
# Nothing from the download runs, and nothing lands in DIR, before the
# archive's checksum has been checked against SHA256SUMS (and against
# --sha256, a checksum pinned in the caller's own repository, when given:
# SHA256SUMS comes from the same server as the archive, so only a pin
# protects against a server that serves both altered). The archive is
# unpacked next to DIR and moved into place in one rename, so DIR is either
# the whole release or absent.
set -euo pipefail

prog=install.sh
usage() {
  cat <<'EOF'
Usage: install.sh --version VERSION --dir DIR [options]

Downloads deploykit-VERSION-TARGET.tar.gz and SHA256SUMS from --base-url,
checks the archive's sha256, unpacks it as DIR (bin/, man/, completions/,
share/deploykit/) and prints DIR/bin. A DIR that already holds VERSION is
kept (a cache hit) after checking its tools say VERSION.

Options:
  --version VERSION   the release to install, e.g. 0.1.0 (required)
  --dir DIR           where the release goes (required; must not hold
                      another version)
  --base-url URL      where the release's files are [default:
                      https://example.invalid/deploykit/releases/download/vVERSION]
  --sha256 HEX        the archive's expected sha256, pinned by the caller
  --target TRIPLE     [default: from uname -m, e.g. x86_64-unknown-linux-gnu]
  -h, --help          print this help

Environment: GITHUB_PATH: when set, DIR/bin is appended to it after a
successful install, so later steps find the tools on PATH.

Examples:
  scripts/install.sh --version 0.1.0 --dir "$HOME/.local/deploykit"
  export PATH="$HOME/.local/deploykit/bin:$PATH"

Exit status:
  0  installed (or already installed); DIR/bin is on stdout
  1  the checksum did not match, or SHA256SUMS has no line for the archive:
     nothing was installed
  2  usage error, curl or tar missing
  3  a download failed
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

version='' dir='' base_url='' pin='' target=''
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --version) [ $# -ge 2 ] || die 2 "--version needs a value"; version=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || die 2 "--dir needs a value"; dir=$2; shift 2 ;;
    --base-url) [ $# -ge 2 ] || die 2 "--base-url needs a value"; base_url=$2; shift 2 ;;
    --sha256) [ $# -ge 2 ] || die 2 "--sha256 needs a value"; pin=$2; shift 2 ;;
    --target) [ $# -ge 2 ] || die 2 "--target needs a value"; target=$2; shift 2 ;;
    *) die 2 "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$version" ] || die 2 "--version is required (see --help)"
[ -n "$dir" ] || die 2 "--dir is required (see --help)"
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || die 2 "--version $version is not a SemVer version"
[[ -z $pin || $pin =~ ^[0-9a-f]{64}$ ]] || die 2 "--sha256 must be 64 lowercase hex digits"
for p in curl tar sha256sum; do command -v "$p" >/dev/null || die 2 "$p is missing"; done
if [ -z "$target" ]; then
  case $(uname -m) in
    x86_64) target=x86_64-unknown-linux-gnu ;;
    aarch64) target=aarch64-unknown-linux-gnu ;;
    *) die 2 "no deploykit release for $(uname -m) (use --target)" ;;
  esac
fi
base_url=${base_url:-https://example.invalid/deploykit/releases/download/v$version}
base_url=${base_url%/}
archive=deploykit-$version-$target.tar.gz

put_on_path() {
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir/bin" >>"$GITHUB_PATH"; fi
  echo "$dir/bin"
}

# A cache hit: the whole release is there, and it is this version.
if [ -e "$dir" ]; then
  said=$("$dir/bin/tag-image" --version 2>/dev/null) || said=''
  [[ $said == "tag-image $version ("* ]] ||
    die 2 "$dir exists and does not hold deploykit $version: remove it or choose another --dir"
  say "deploykit $version is already in $dir"
  put_on_path
  exit 0
fi

parent=$(dirname "$dir")
mkdir -p "$parent" || die 2 "cannot create $parent"
work=$(mktemp -d "$parent/.deploykit-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

fetch() { # NAME
  curl -fsSL --retry 3 -o "$work/$1" "$base_url/$1" || die 3 "cannot download $base_url/$1"
}
fetch SHA256SUMS
fetch "$archive"

expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$work/SHA256SUMS")
[ -n "$expected" ] || die 1 "SHA256SUMS has no line for $archive: refusing to install"
actual=$(sha256sum "$work/$archive" | cut -d' ' -f1)
[ "$actual" = "$expected" ] ||
  die 1 "$archive does not match SHA256SUMS (expected $expected, got $actual): refusing to install"
[ -z "$pin" ] || [ "$actual" = "$pin" ] ||
  die 1 "$archive does not match the pinned --sha256 (expected $pin, got $actual): refusing to install"

tar -xzf "$work/$archive" -C "$work" --no-same-owner || die 1 "cannot unpack $archive"
[ -x "$work/deploykit-$version-$target/bin/tag-image" ] || die 1 "$archive does not hold deploykit-$version-$target/bin"
mv "$work/deploykit-$version-$target" "$dir" || die 2 "cannot move the release into $dir"
say "installed deploykit $version into $dir"
put_on_path

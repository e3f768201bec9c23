#!/usr/bin/env bash
# Builds a deploykit release: the archive a CI job or a user downloads, the
# Debian package a deploy host installs, and the SHA256SUMS both are checked
# against. A dev script: it runs in this repository's checkout.
#
# Everything is reproducible: built twice from the same commit, the bytes
# are the same. The binaries are the shipped static builds
# (build-release.sh), the entries are sorted, owned by 0:0 and dated to the
# commit (SOURCE_DATE_EPOCH, taken from the commit unless already set), and
# gzip writes no name or time. Before anything is packed, each tool must
# say it is this version built from this commit, so stale binaries from an
# older build are never shipped under a new name.
set -euo pipefail

prog=release.sh
usage() {
  cat <<'EOF'
Usage: release.sh --out DIR [options]

Writes into DIR (created if missing):
  deploykit-VERSION-TARGET.tar.gz  bin/ (the seven tools), man/man1/,
                                   completions/ (bash, zsh, fish),
                                   share/deploykit/ (the pipeline scripts),
                                   README.md, CHANGELOG.md, LICENSE-*
  deploykit_VERSION_ARCH.deb       the same, laid out for Debian (/usr/bin,
                                   /usr/share/man, the shells' completion
                                   directories, /usr/share/deploykit, and
                                   deploy.sh on PATH as deploykit-deploy)
  SHA256SUMS                       sha256sum's lines for both
and prints the paths written, one per line.

Options:
  --out DIR       where to write the release (required)
  --bin-dir DIR   take the seven tools from DIR instead of building them
                  with scripts/build-release.sh; they must report this
                  version and commit
  --no-deb        the archive only (no dpkg-deb on this machine)
  --image DIR     also write the tools' image into the OCI layout DIR, tagged
                  VERSION, and print its digest (sha256:…) last: FROM
                  scratch, the seven tools in /usr/bin, CA certificates,
                  running as uid 1001; push it with
                  scripts/pipeline/push.sh --from oci:DIR:VERSION REF
  -h, --help      print this help

Environment: SOURCE_DATE_EPOCH [default: the commit's time], CARGO_TARGET_DIR.

Examples:
  scripts/release.sh --out dist
  (cd dist && sha256sum -c SHA256SUMS)

Exit status:
  0  the release was written
  1  the build failed, or a binary is not this version and commit
  2  usage error, or a tool this script needs is missing
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

out='' bin_dir='' deb=1 image=''
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --out) [ $# -ge 2 ] || die 2 "--out needs a directory"; out=$2; shift 2 ;;
    --bin-dir) [ $# -ge 2 ] || die 2 "--bin-dir needs a directory"; bin_dir=$2; shift 2 ;;
    --no-deb) deb=0; shift ;;
    --image) [ $# -ge 2 ] || die 2 "--image needs a directory"; image=$2; shift 2 ;;
    *) die 2 "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$out" ] || die 2 "--out DIR is required (see --help)"
mkdir -p "$out" || die 2 "cannot create $out"
out=$(cd "$out" && pwd)
[ -z "$bin_dir" ] || bin_dir=$(cd "$bin_dir" && pwd) || die 2 "no directory $bin_dir"
if [ -n "$image" ]; then mkdir -p "$image" && image=$(cd "$image" && pwd) || die 2 "cannot create $image"; fi
cd "$(dirname "$0")/.."
umask 022

tools=(validate-dsns provision-db wait-probe image-digest tag-image scaffold-service prune-images)
version=$(sed -n '/^\[workspace\.package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$version" ] || die 1 "no version in Cargo.toml's [workspace.package]"
commit=$(git rev-parse --short=7 HEAD) || die 2 "not a git checkout: the release names its commit"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
export SOURCE_DATE_EPOCH
triple=$(rustc -vV | sed -n 's/^host: //p')

[ -n "$bin_dir" ] || bin_dir=$(scripts/build-release.sh) || die 1 "scripts/build-release.sh failed"
for t in "${tools[@]}"; do
  [ -x "$bin_dir/$t" ] || die 1 "no $t in $bin_dir"
  said=$("$bin_dir/$t" --version) || die 1 "$bin_dir/$t --version failed"
  [ "$said" = "$t $version ($commit)" ] ||
    die 1 "$bin_dir/$t says \"$said\", not \"$t $version ($commit)\": rebuild it from this commit"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Fixes every entry's time, then packs DIR's contents in name order as 0:0.
pack() { # DIR NAME OUTPUT
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu \
    --mtime="@$SOURCE_DATE_EPOCH" -C "$1" -cf - "$2" | gzip -9n >"$3"
}

# The archive.
name=deploykit-$version-$triple
root=$stage/$name
mkdir -p "$root"/{bin,man/man1,completions,share/deploykit}
for t in "${tools[@]}"; do
  install -m 0755 "$bin_dir/$t" "$root/bin/$t"
  install -m 0644 "man/$t.1" "$root/man/man1/$t.1"
done
install -m 0644 man/completions/* "$root/completions/"
install -m 0755 scripts/pipeline/*.sh "$root/share/deploykit/"
install -m 0644 README.md CHANGELOG.md LICENSE-APACHE LICENSE-MIT "$root/"
archive=$name.tar.gz
pack "$stage" "$name" "$out/$archive"
written=("$out/$archive")

# The Debian package, from the same files.
if [ "$deb" = 1 ]; then
  command -v dpkg-deb >/dev/null || die 2 "dpkg-deb is missing (apt-get install dpkg, or --no-deb)"
  case $triple in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) die 2 "no Debian architecture for $triple (use --no-deb)" ;;
  esac
  pkg=$stage/deb
  mkdir -p "$pkg"/DEBIAN "$pkg"/usr/bin "$pkg"/usr/share/man/man1 \
    "$pkg"/usr/share/bash-completion/completions "$pkg"/usr/share/zsh/vendor-completions \
    "$pkg"/usr/share/fish/vendor_completions.d "$pkg"/usr/share/deploykit "$pkg"/usr/share/doc/deploykit
  for t in "${tools[@]}"; do
    install -m 0755 "$root/bin/$t" "$pkg/usr/bin/$t"
    gzip -9n <"$root/man/man1/$t.1" >"$pkg/usr/share/man/man1/$t.1.gz"
    install -m 0644 "$root/completions/$t.bash" "$pkg/usr/share/bash-completion/completions/$t"
    install -m 0644 "$root/completions/_$t" "$pkg/usr/share/zsh/vendor-completions/_$t"
    install -m 0644 "$root/completions/$t.fish" "$pkg/usr/share/fish/vendor_completions.d/$t.fish"
  done
  chmod 0644 "$pkg"/usr/share/man/man1/*.gz
  install -m 0755 "$root"/share/deploykit/*.sh "$pkg/usr/share/deploykit/"
  # deploy.sh on PATH under a name no other package uses; relative, so it
  # also resolves inside a chroot or a dpkg --root.
  ln -s ../share/deploykit/deploy.sh "$pkg/usr/bin/deploykit-deploy"
  install -m 0644 README.md CHANGELOG.md "$pkg/usr/share/doc/deploykit/"
  {
    printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
    printf 'Upstream-Name: deploykit\n\nFiles: *\nCopyright: The deploykit authors\n'
    printf 'License: MIT or Apache-2.0\n\nLicense: MIT\n'
    sed 's/^$/./; s/^/ /' LICENSE-MIT
    printf '\nLicense: Apache-2.0\n On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.\n'
  } >"$pkg/usr/share/doc/deploykit/copyright"
  chmod 0644 "$pkg/usr/share/doc/deploykit/copyright"
  size=$(du -sk --apparent-size "$pkg/usr" | cut -f1)
  cat >"$pkg/DEBIAN/control" <<EOF
Package: deploykit
Version: $version
Architecture: $arch
Maintainer: The deploykit authors <deploykit@example.invalid>
Installed-Size: $size
Depends: docker.io | podman | docker-ce, util-linux, curl
Section: admin
Priority: optional
Homepage: https://example.invalid/deploykit
Description: small Unix tools for CI jobs and deploy hosts
 Seven tools that check Postgres DSNs, provision databases and roles, wait
 for services to be ready, resolve and pin image digests, apply immutable
 tags, scaffold services and prune images, with the pipeline scripts that
 glue them into CI jobs and a self-rolling-back deploy (deploykit-deploy).
EOF
  (cd "$pkg" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
  chmod 0644 "$pkg"/DEBIAN/*
  find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  debfile=deploykit_${version}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out/$debfile" >/dev/null ||
    die 1 "dpkg-deb failed"
  written+=("$out/$debfile")
fi

(cd "$out" && for f in "${written[@]}"; do sha256sum "$(basename "$f")"; done) >"$out/SHA256SUMS"
written+=("$out/SHA256SUMS")
printf '%s\n' "${written[@]}"

# The image: what `docker run --rm IMAGE tag-image check …` runs, and the
# db-provision Compose service or Kubernetes Job. No shell, no package
# manager: the tools, the CA bundle for registries and Postgres over TLS,
# and a passwd/group naming uid 1001 (the seeds' security context).
if [ -n "$image" ]; then
  ca=/etc/ssl/certs/ca-certificates.crt
  [ -f "$ca" ] || die 2 "no CA bundle at $ca (apt-get install ca-certificates)"
  fs=$stage/rootfs
  mkdir -p "$fs"/usr/bin "$fs"/etc/ssl/certs "$fs"/tmp
  chmod 1777 "$fs"/tmp
  for t in "${tools[@]}"; do install -m 0755 "$root/bin/$t" "$fs/usr/bin/$t"; done
  install -m 0644 "$ca" "$fs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/:/sbin/nologin\ndeploykit:x:1001:1001:deploykit:/tmp:/sbin/nologin\n' >"$fs/etc/passwd"
  printf 'root:x:0:\ndeploykit:x:1001:\n' >"$fs/etc/group"
  chmod 0644 "$fs"/etc/passwd "$fs"/etc/group
  scripts/pipeline/oci-image.sh --rootfs "$fs" --layout "$image" --tag "$version" --user 1001:1001 \
    --env PATH=/usr/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "org.opencontainers.image.title=deploykit" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$commit" \
    --label "org.opencontainers.image.licenses=MIT OR Apache-2.0" \
    --label "org.opencontainers.image.source=https://example.invalid/deploykit" ||
    die 1 "scripts/pipeline/oci-image.sh failed"
fi

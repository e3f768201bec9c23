#!/usr/bin/env bash
# Builds a small OCI image from a directory, without any container engine:
# one gzip layer, a config and a manifest written into an OCI layout that
# skopeo (push.sh --from oci:DIR:TAG) can push. The demo and the end-to-end
# tests build their busybox images with it, so they need no engine and no
# network to make an image. Same inputs, same digest: the layer is tarred in
# name order with fixed owners and mtimes, and gzip writes no name or time.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: oci-image.sh --rootfs DIR --layout DIR [options]

Writes DIR's files as a one-layer OCI image into the OCI layout --layout
(created or extended) under --tag, and prints the manifest digest (sha256:…).
No container engine is involved; push it with
  scripts/pipeline/push.sh --from oci:LAYOUT:TAG 127.0.0.1:5000/app:TAG

Options:
  --rootfs DIR        the files of the image (owners become 0:0, mtimes 0)
  --layout DIR        the OCI layout to write into
  --tag TAG           the name of the image in the layout [default: latest]
  --cmd ARG           the image's Cmd, one argument per --cmd (repeatable)
  --env NAME=VALUE    an Env entry of the image config (repeatable)
  --label NAME=VALUE  a label of the image config (repeatable)
  --user UID[:GID]    the user the image runs as [default: the engine's, root]
  --created TIME      the config's created time, RFC 3339 UTC
                      [default: $SOURCE_DATE_EPOCH if set, else now]
  --arch ARCH         the architecture [default: amd64]
  -h, --help          print this help

Examples:
  # A busybox httpd image serving ./www on $HEALTH_PORT
  mkdir -p root/bin && cp /bin/busybox root/bin/ && cp -r www root/
  scripts/pipeline/oci-image.sh --rootfs root --layout /tmp/img --tag v1 \
    --cmd /bin/busybox --cmd httpd --cmd -f --cmd -h --cmd /www

Exit status:
  0  the image was written; its digest is on stdout
  2  bad flag, unreadable --rootfs, a value that cannot go in JSON
EOF
}

die() { echo "oci-image.sh: $2" >&2; exit "$1"; }

# A JSON string literal; refuses control characters rather than escape them.
json_str() {
  local s=$1
  if [[ $s == *[[:cntrl:]]* ]]; then die 2 "control character in value: refusing to write it to JSON"; fi
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

json_array() { # items...
  local out='' item
  for item in "$@"; do out+="${out:+,}$(json_str "$item")"; done
  printf '[%s]' "$out"
}

rootfs='' layout='' tag=latest arch=amd64 created='' user=''
cmd=() envs=() labels=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --rootfs) rootfs=${2:?--rootfs needs a value}; shift 2 ;;
    --layout) layout=${2:?--layout needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --cmd) cmd+=("${2?--cmd needs a value}"); shift 2 ;;
    --env) envs+=("${2:?--env needs a value}"); shift 2 ;;
    --label) labels+=("${2:?--label needs a value}"); shift 2 ;;
    --created) created=${2:?--created needs a value}; shift 2 ;;
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --user) user=${2:?--user needs a value}; shift 2 ;;
    *) echo "oci-image.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$rootfs" ] || die 2 "--rootfs is required (see --help)"
[ -n "$layout" ] || die 2 "--layout is required (see --help)"
[ -d "$rootfs" ] || die 2 "--rootfs $rootfs is not a directory"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die 2 "--tag $tag is not a valid tag"
[[ -z $user || $user =~ ^[0-9]+(:[0-9]+)?$ ]] || die 2 "--user $user is not UID or UID:GID"
for e in "${envs[@]}" "${labels[@]}"; do
  [[ $e == ?*=* ]] || die 2 "expected NAME=VALUE, got: $e"
done
if [ -z "$created" ]; then
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
  else
    created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  fi
fi

blobs=$layout/blobs/sha256
mkdir -p "$blobs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

put_blob() { # FILE: moves FILE into the layout's blobs, prints its digest
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$blobs/$hex"
  printf 'sha256:%s' "$hex"
}
size_of() { stat -c %s "$1"; }

tar --create --file "$work/layer.tar" --directory "$rootfs" --sort=name \
  --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -6 "$work/layer.tar"
layer_size=$(size_of "$work/layer.tar.gz")
layer_digest=$(put_blob "$work/layer.tar.gz")

env_json=$(json_array "${envs[@]}")
cmd_json=$(json_array "${cmd[@]}")
labels_json=''
for l in "${labels[@]}"; do
  labels_json+="${labels_json:+,}$(json_str "${l%%=*}"):$(json_str "${l#*=}")"
done
user_json=''
[ -z "$user" ] || user_json="\"User\":$(json_str "$user"),"
printf '{"created":%s,"architecture":%s,"os":"linux","config":{%s"Env":%s,"Cmd":%s,"Labels":{%s}},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created":%s,"created_by":"scripts/pipeline/oci-image.sh"}]}' \
  "$(json_str "$created")" "$(json_str "$arch")" "$user_json" "$env_json" "$cmd_json" "$labels_json" "$diff_id" "$(json_str "$created")" >"$work/config.json"
config_size=$(size_of "$work/config.json")
config_digest=$(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
manifest_size=$(size_of "$work/manifest.json")
manifest_digest=$(put_blob "$work/manifest.json")

# index.json: this tag's entry replaces an older one of the same name.
entry=$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":%s}}' \
  "$manifest_digest" "$manifest_size" "$(json_str "$tag")")
entries=()
if [ -f "$layout/index.json" ]; then
  # Entries written by this script are one per line between the brackets.
  while IFS= read -r line; do
    line=${line%,}
    [[ $line == '{"mediaType"'* ]] || continue
    [[ $line == *"\"org.opencontainers.image.ref.name\":$(json_str "$tag")}}" ]] && continue
    entries+=("$line")
  done <"$layout/index.json"
fi
entries+=("$entry")
{
  printf '{"schemaVersion":2,"manifests":[\n'
  for i in "${!entries[@]}"; do
    if [ "$i" -lt $((${#entries[@]} - 1)) ]; then printf '%s,\n' "${entries[$i]}"; else printf '%s\n' "${entries[$i]}"; fi
  done
  printf ']}\n'
} >"$work/index.json"
mv "$work/index.json" "$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
echo "$manifest_digest"

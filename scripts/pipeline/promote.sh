#!/usr/bin/env bash
# The promotion of the GitOps lane: a commit on its own branch that pins an
# environment's overlays to the digests CI pushed, ready to push and open as
# a pull request; Argo CD deploys it once merged, and reverting it restores
# exactly the previous digests. The checkout itself is left as it was: the
# commit is written beside it (a temporary index), only the branch is new.
set -euo pipefail

prog=promote.sh
usage() {
  cat <<'EOF'
Usage: promote.sh --env ENV [options] NAME=REF...

In a git checkout of the deployments directory (overlays/ENV/SERVICE/, as
scaffold-service generates it), pins the entries NAME of the ENV overlays
to REF (tag-image pin NAME=REF: NAME is an images[].name, REF is
repo[:tag]@sha256:…), checks every changed overlay (tag-image pin --check:
nothing left unpinned or on the placeholder; kubectl kustomize renders it),
and commits the change on a new branch named for the promotion, with a
message listing each entry's old and new digest. Prints the branch. The
checkout is not switched nor modified; `git revert` of the commit restores
the previous digests byte for byte.

Nothing is changed, and the exit status is 2, for an unpinned REF, a NAME
no overlay of ENV has, a checkout with uncommitted or untracked files, or
a branch that exists already.

Options:
  --env ENV        the environment: staging, production (or prod); required
  --dir DIR        the deployments directory [default: ., or ./deployments
                   when . has no overlays/]
  --branch NAME    the branch to create [default: promote/ENV/NAME-DIGEST,
                   from the first entry, +N for N more]
  --push REMOTE    also push the branch to REMOTE (git push REMOTE BRANCH)
  -h, --help       print this help

Environment: KUBECTL (the kubectl that renders the overlays) [default:
kubectl]; git's own (GIT_AUTHOR_NAME, GIT_COMMITTER_EMAIL…) for the commit.

Examples:
  # In CI, after push.sh: promote the app and its migrator to production
  branch=$(scripts/pipeline/promote.sh --env production --dir deployments \
    api=ghcr.io/acme/shop:prod-3f2a9c0@sha256:… \
    api-migrate=ghcr.io/acme/shop:prod-3f2a9c0-migrate@sha256:… --push origin)
  gh pr create --head "$branch" --fill

  # Roll back a merged promotion
  git revert --no-edit <promotion commit>

Exit status:
  0  the branch was created (and pushed); or the overlays pin REF already
     (nothing to promote: no branch, nothing printed)
  1  a check failed on the pinned overlays (nothing kept)
  2  usage error, bad input, a dirty checkout, a tool missing
  3  the push failed
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }

env_name='' dir='' branch='' remote=''
pins=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --env) env_name=${2:?--env needs a value}; shift 2 ;;
    --env=*) env_name=${1#*=}; shift ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --dir=*) dir=${1#*=}; shift ;;
    --branch) branch=${2:?--branch needs a value}; shift 2 ;;
    --branch=*) branch=${1#*=}; shift ;;
    --push) remote=${2:?--push needs a remote}; shift 2 ;;
    --push=*) remote=${1#*=}; shift ;;
    --) shift; pins+=("$@"); break ;;
    -*) die 2 "unknown option $1 (see --help)" ;;
    *) pins+=("$1"); shift ;;
  esac
done

case $env_name in
  '') die 2 "--env is required (staging or production)" ;;
  prod) env_name=production ;;
esac
[[ $env_name =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die 2 "--env $env_name is not an environment name"
[ ${#pins[@]} -gt 0 ] || die 2 "give the entries to promote as NAME=REF (REF pinned by digest)"
for pin in "${pins[@]}"; do
  [[ $pin =~ ^[^=]+=.+$ ]] || die 2 "$pin: give NAME=REF, NAME being the overlay's images[].name"
  [[ $pin == *@sha256:* ]] || die 2 "$pin: REF is not pinned by digest (repo[:tag]@sha256:…)"
done
if [ -n "$branch" ]; then
  git check-ref-format --branch "$branch" >/dev/null 2>&1 || die 2 "--branch $branch is not a branch name"
fi
kubectl=${KUBECTL:-kubectl}
for tool in git tag-image "$kubectl"; do
  command -v "$tool" >/dev/null || die 2 "$tool is not on PATH"
done

if [ -z "$dir" ]; then
  dir=.
  [ -d overlays ] || [ ! -d deployments/overlays ] || dir=deployments
fi
[ -d "$dir/overlays/$env_name" ] || die 2 "$dir/overlays/$env_name is not a directory: is $dir the deployments directory?"
dir=$(cd "$dir" && pwd -P)
top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || die 2 "$dir is not in a git checkout"
head=$(git -C "$top" rev-parse --verify --quiet 'HEAD^{commit}') || die 2 "$top has no commit to promote from"
dirty=$(git -C "$top" status --porcelain --untracked-files=all)
[ -z "$dirty" ] || die 2 "the checkout $top has uncommitted or untracked files; commit or stash them first:
$dirty"

shopt -s nullglob
files=("$dir/overlays/$env_name"/*/kustomization.yaml)
shopt -u nullglob
[ ${#files[@]} -gt 0 ] || die 2 "no overlay in $dir/overlays/$env_name (no */kustomization.yaml)"
file_args=()
for f in "${files[@]}"; do file_args+=(-f "$f"); done

# The plan, written nowhere: tag-image refuses an unknown NAME, an unpinned
# or ambiguous REF (exit 2) before anything is touched; 1 means it would
# change files, which is the promotion.
set +e
plan=$(tag-image pin -q --check --json "${file_args[@]}" "${pins[@]}")
status=$?
set -e
case $status in
  1) ;;
  0) say "the $env_name overlays pin ${pins[*]} already; nothing to promote"; exit 0 ;;
  *) exit "$status" ;;
esac

# Each change as "NAME<tab>OLD<tab>NEW<tab>FILE". tag-image's --json prints
# one field per line, keys sorted (file after changes, old last in a change).
changes=$(printf '%s\n' "$plan" | sed -n 's/^ *"\(name\|new\|old\|file\)": "\(.*\)",\{0,1\}$/\1\t\2/p' | awk -F '\t' '
  BEGIN { n = 0; done = 0 }
  $1 == "name" { name = $2 } $1 == "new" { new = $2 }
  $1 == "old" { rows[n++] = name "\t" ($2 == "" ? "-" : $2) "\t" new }
  $1 == "file" { for (i = done; i < n; i++) print rows[i] "\t" $2; done = n }')
[ -n "$changes" ] || die 2 "tag-image reported no change to promote"
digest_of() { case $1 in *@sha256:*) printf '%s' "sha256:${1##*@sha256:}" ;; *) printf 'none' ;; esac; }

mapfile -t rows <<<"$changes"
IFS=$'\t' read -r first_name _ first_new _ <<<"${rows[0]}"
if [ -z "$branch" ]; then
  short=${first_new##*@sha256:}
  branch="promote/$env_name/$first_name-${short:0:12}"
  [ ${#rows[@]} -eq 1 ] || branch+="+$(( ${#rows[@]} - 1 ))"
fi
git -C "$top" check-ref-format --branch "$branch" >/dev/null 2>&1 || die 2 "$branch is not a branch name"
if git -C "$top" rev-parse --verify --quiet "refs/heads/$branch" >/dev/null; then
  die 2 "the branch $branch exists already (promoted before?); nothing changed"
fi

names=() body=() changed=()
for row in "${rows[@]}"; do
  IFS=$'\t' read -r name old new file <<<"$row"
  names+=("$name")
  body+=("$name: $(digest_of "$old") -> $(digest_of "$new")")
  body+=("  ${file#"$top"/}: $old -> $new")
  case " ${changed[*]} " in *" $file "*) ;; *) changed+=("$file") ;; esac
done
message="promote $env_name: ${names[*]}

$(printf '%s\n' "${body[@]}")"

# From here files change: whatever stops the run puts them back, so a
# failed check leaves the checkout as it was.
restore() {
  [ ${#changed[@]} -gt 0 ] || return 0 # (checkout with no path would move HEAD)
  (unset GIT_INDEX_FILE; git -C "$top" checkout --quiet "$head" -- "${changed[@]}" 2>/dev/null) || true
}
index=$(mktemp)
trap 'restore; rm -f "$index"' EXIT

tag-image pin -q "${file_args[@]}" "${pins[@]}" >/dev/null
check_args=()
for f in "${changed[@]}"; do check_args+=(-f "$f"); done
tag-image pin --check "${check_args[@]}" >&2 || die 1 "the pinned overlays still hold unpinned or placeholder images (above); nothing kept"
for f in "${changed[@]}"; do
  "$kubectl" kustomize "$(dirname "$f")" >/dev/null || die 1 "kubectl kustomize $(dirname "$f") fails on the pinned overlay; nothing kept"
done

# The commit, on the new branch only: a temporary index over HEAD plus the
# pinned files, so neither the checkout's branch nor its index moves.
export GIT_INDEX_FILE=$index
rm -f "$index"
git -C "$top" read-tree "$head"
git -C "$top" add -- "${changed[@]}"
tree=$(git -C "$top" write-tree)
commit=$(printf '%s\n' "$message" | git -C "$top" commit-tree "$tree" -p "$head")
unset GIT_INDEX_FILE
git -C "$top" branch --quiet "$branch" "$commit"
say "committed $(git -C "$top" rev-parse --short "$commit") on $branch: ${names[*]}"

if [ -n "$remote" ]; then
  git -C "$top" push --quiet "$remote" "refs/heads/$branch:refs/heads/$branch" >&2 ||
    die 3 "pushing $branch to $remote failed (the branch is kept locally)"
  say "pushed $branch to $remote"
fi
printf '%s\n' "$branch"

#!/usr/bin/env bash
# Build the Debian package from a clean copy of this tree and check it with
# lintian; the work tree gets no build files. Usage: build-deb.sh [OUT]
#
# The copy holds what git would commit (tracked files as they are now, and
# new files that are not ignored), so build directories and local settings
# stay out. dpkg-buildpackage -us -uc -b runs in it; the .deb files, the
# .buildinfo, the .changes and lintian's report (lintian.txt) go to OUT
# (default build-deb/). Lintian errors fail the build; warnings are listed
# (docs/PACKAGING.md says which are expected and why).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
version=$(head -n 1 "$src/VERSION")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ant-agent-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
copy="$tmp/ant-agent-$version"
mkdir "$copy"
commit=""
if git -C "$src" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  # Deleted-but-tracked files are listed too: keep only those that exist.
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && while IFS= read -r -d '' f; do
       [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done) |
    (cd "$src" && tar --null --no-recursion -T - -cf -) | tar -C "$copy" -xf -
  commit=$(git -C "$src" rev-parse HEAD)
  [ -z "$(git -C "$src" status --porcelain)" ] || commit="$commit-dirty"
else
  tar -C "$src" --exclude=./.git --exclude='./build' --exclude='./build-*' \
    --exclude=./.env --exclude=./cache -cf - . | tar -C "$copy" -xf -
fi

echo "build-deb: building ant-agent $version in $copy"
(cd "$copy" && ANT_GIT_COMMIT="$commit" dpkg-buildpackage -us -uc -b \
   --jobs-try="${JOBS:-2}") > "$tmp/build.log" 2>&1 || {
  tail -n 60 "$tmp/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed" >&2
  exit 1
}

mkdir -p "$out"
cp "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/
cp "$tmp/build.log" "$out/build.log"
changes=$(ls "$out"/ant-agent_"${version}"_*.changes)
echo "build-deb: $(cd "$out" && ls ./*.deb | tr '\n' ' ')in $out"

if ! command -v lintian > /dev/null; then
  echo "build-deb: lintian is not installed (scripts/deps.sh installs it)" >&2
  exit 1
fi
rc=0
lintian --fail-on error --display-info "$changes" > "$out/lintian.txt" 2>&1 || rc=$?
sed 's/^/lintian| /' "$out/lintian.txt"
if [ "$rc" -ne 0 ]; then
  echo "build-deb: lintian failed (exit $rc)" >&2
  exit 1
fi
echo "build-deb: lintian: $(grep -c '^E: ' "$out/lintian.txt") error(s), $(grep -c '^W: ' "$out/lintian.txt") warning(s)"

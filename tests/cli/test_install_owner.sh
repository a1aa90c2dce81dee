#!/usr/bin/env bash
# `sudo make install` on a build tree an ordinary user owns: the build step
# runs as that user (a stale object is rebuilt by them, not by root), the
# files are installed, and no root-owned file is left in the tree (the
# install step's install_manifest.txt and configured unit included).
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (it plays sudo make install)"
  finish; exit
fi
src="$work/src"
mkdir "$src"
git -C "$ANT_SOURCE_DIR" ls-files -z --cached --others --exclude-standard |
  (cd "$ANT_SOURCE_DIR" && while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done) |
  (cd "$ANT_SOURCE_DIR" && tar --null --no-recursion -T - -cf -) | tar -C "$src" -xf -
chmod 755 "$work"
chown -R nobody:nogroup "$src"
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
# The user's build (no tests: only what make install needs).
( cd "$src" && HOME="$src" "${as_nobody[@]}" cmake -S . -B build -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$work/configure.txt" 2>&1 &&
  HOME="$src" "${as_nobody[@]}" cmake --build build -j 2 > "$work/build.txt" 2>&1 )
expect_eq "$?" 0 "build as nobody"
# Then a change the build has not seen yet, and sudo make install.
sleep 1; touch "$src/src/main.c"
make -C "$src" install BUILD=build PREFIX=/usr DESTDIR="$work/dest" > install.txt 2>&1
expect_eq "$?" 0 "make install as root"
tail -n 5 install.txt | sed 's/^/    install| /' >&2
for f in usr/bin/ant-agent usr/share/man/man1/ant-agent.1 usr/lib/systemd/system/ant-agent.service; do
  [ -f "$work/dest/$f" ] && ok || bad "installed $f"
done
[ "$src/build/ant-agent" -nt "$src/src/main.c" ] && ok || bad "the stale binary was rebuilt"
[ -f "$src/build/install_manifest.txt" ] && ok || bad "install wrote its manifest"
find "$src" ! -user nobody > rootowned.txt
expect_eq "$(head -n 5 rootowned.txt)" "" "no file in the tree owned by anyone but its owner"
# The install step itself is what would leave root's files: without the
# hand-back, install_manifest.txt would be root's.
expect_eq "$(stat -c %U "$src/build/install_manifest.txt")" nobody "manifest belongs to the tree's owner"
finish

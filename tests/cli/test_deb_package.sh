#!/usr/bin/env bash
# The Debian package, as `make deb` builds it: from a clean copy (the work
# tree gets nothing), lintian without errors, the files and their modes, the
# one conffile, Depends only on run-time libraries, no ant-sim, the unit that
# `make install` ships with only the user and the path changed, passing
# systemd-analyze verify. Then a real dpkg install into a throw-away root
# (dpkg --root, maintainer scripts run with DPKG_ROOT): the user is made, the
# service is not enabled or started; an upgrade keeps the edited settings,
# the agent id, the ledger and the spool and restarts an enabled service;
# remove keeps settings and state, purge removes them. The host is untouched.
source "$(dirname "$0")/lib.sh"
src="$ANT_SOURCE_DIR"
version=$(head -n 1 "$src/VERSION")
out="$work/out"

# ---- build from a clean copy ----
marker="$work/marker"; : > "$marker"; sleep 0.01
JOBS=2 bash "$src/scripts/build-deb.sh" "$out" > build.txt 2>&1
expect_eq "$?" 0 "build-deb.sh"
tail -n 5 build.txt | sed 's/^/    build| /' >&2
# Nothing in the source tree was written (build directories aside).
find "$src" \( -path "$src/.git" -o -path "$src/build" -o -path "$src/build-*" \) -prune \
  -o -newer "$marker" -print > newer.txt
expect_eq "$(cat newer.txt)" "" "the work tree stays clean"
deb=$(ls "$out"/ant-agent_"${version}"_*.deb 2> /dev/null | head -n 1)
[ -f "$deb" ] && ok || bad "no ant-agent_${version}_*.deb in $out"

# ---- lintian ----
expect_no_grep '^E: ' "$out/lintian.txt" "lintian errors"
grep '^[WIP]: ' "$out/lintian.txt" | sed 's/^/    lintian| /' >&2

# ---- contents, modes, owners ----
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' > contents.txt
for want in "-rwxr-xr-x root/root ./usr/bin/ant-agent" \
            "-rwxr-xr-x root/root ./usr/bin/ant-agent-net" \
            "-rw-r--r-- root/root ./usr/share/man/man1/ant-agent.1.gz" \
            "-rw-r----- root/root ./etc/ant-agent/ant-agent.env" \
            "-rw-r--r-- root/root ./usr/lib/sysusers.d/ant-agent.conf" \
            "-rw-r--r-- root/root ./usr/share/doc/ant-agent/copyright"; do
  grep -qxF -- "$want" contents.txt && ok || bad "package has $want"
done
unit_path=$(awk '$3 ~ /systemd\/system\/ant-agent\.service$/ { print substr($3, 2) }' contents.txt)
[ -n "$unit_path" ] && ok || bad "package has the systemd unit"
grep -q -- "-rw-r--r-- root/root .$unit_path" contents.txt && ok || bad "unit mode 0644"
expect_no_grep 'ant-sim' contents.txt "no ant-sim in the package"
expect_no_grep '/var/' contents.txt "no state shipped (systemd makes /var/lib/ant-agent)"
expect_no_grep '^.{5}w|^.{8}w|^[^ ]*[sStT]' contents.txt "no set-id or group/other-writable file"

dpkg-deb -e "$deb" control
expect_eq "$(cat control/conffiles)" "/etc/ant-agent/ant-agent.env" "the one conffile"
deps=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $deps"
for lib in libuv1 libcurl4 libexpat1 libjansson4; do
  case ", $deps" in *", $lib"*) ok ;; *) bad "Depends names $lib ($deps)" ;; esac
done
notlib=$(printf '%s\n' "$deps" | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -v '^lib\|^zlib1g' || true)
expect_eq "$notlib" "" "Depends only on run-time libraries"
expect_eq "$(dpkg-deb -f "$deb" Version)" "$version" "package version is VERSION"
expect_grep 'deb-systemd-invoke stop' control/prerm "remove stops the service"

# ---- the files themselves ----
x="$work/x"
dpkg-deb -x "$deb" "$x"
"$x/usr/bin/ant-agent" --version > version.txt
expect_grep "Version: $version " version.txt "binary version"
zcat "$x/usr/share/man/man1/ant-agent.1.gz" | grep -q "^\.TH ANT-AGENT 1 .*ant-agent $version" && ok || bad "manual page version"
cmp -s "$x/etc/ant-agent/ant-agent.env" "$src/contrib/ant-agent.env.example" && ok || bad "conffile is contrib/ant-agent.env.example"
expect_grep '^u ant-agent - .* /var/lib/ant-agent$' "$x/usr/lib/sysusers.d/ant-agent.conf" "sysusers entry"

# The unit is contrib's template with the path filled in and the dynamic
# user replaced by the static one; nothing else differs.
unit="$x$unit_path"
sed -n '/^\[Unit\]$/,$p' "$src/contrib/ant-agent.service.in" |
  sed 's|@bindir@|/usr/bin|g' > unit.want
sed -n '/^\[Unit\]$/,$p' "$unit" | sed '/^User=ant-agent$/d; s/^Group=ant-agent$/DynamicUser=yes/' > unit.got
diff unit.want unit.got > unit.diff && ok || { bad "packaged unit differs from contrib's"; cat unit.diff >&2; }
for k in 'User=ant-agent' 'Group=ant-agent' 'StateDirectory=ant-agent' 'WorkingDirectory=%S/ant-agent' \
         'EnvironmentFile=-/etc/ant-agent/ant-agent.env' 'ExecStart=/usr/bin/ant-agent run --no-console' \
         'ProtectSystem=strict' 'NoNewPrivileges=yes'; do
  grep -qxF -- "$k" "$unit" && ok || bad "unit has $k"
done
expect_no_grep '^DynamicUser=' "$unit" "no dynamic user in the packaged unit"
if command -v systemd-analyze > /dev/null; then
  # verify checks that ExecStart exists: point it at the extracted binary.
  sed "s|/usr/bin/ant-agent|$x/usr/bin/ant-agent|" "$unit" > ant-agent.service
  MANPATH="$x/usr/share/man" systemd-analyze verify ant-agent.service > verify.txt 2>&1
  expect_eq "$?" 0 "systemd-analyze verify of the packaged unit"
  sed 's/^/    verify| /' verify.txt >&2
  systemd-analyze security --offline=yes ant-agent.service > security.txt 2>&1
  score=$(sed -n 's/.*Overall exposure level for ant-agent.service: \([0-9.]*\).*/\1/p' security.txt)
  echo "packaged unit: systemd-analyze security exposure $score"
  awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' && ok || bad "exposure ${score:-unknown} above 2.0"
else
  bad "systemd-analyze not installed (scripts/deps.sh installs systemd)"
fi

# ---- install, upgrade, remove, purge in a throw-away root ----
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the dpkg --root install needs root (it mounts a private /run)"
  finish; exit
fi
R="$work/root"
mkdir -p "$R/etc" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" \
         "$R/var/log" "$work/stub"
: > "$R/var/lib/dpkg/status"; : > "$R/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
: > "$R/etc/shadow"; : > "$R/etc/gshadow"
# A systemctl that answers from the throw-away root and logs every call;
# the real deb-systemd-helper and deb-systemd-invoke run against it.
wants="$R/etc/systemd/system/multi-user.target.wants/ant-agent.service"
cat > "$work/stub/systemctl" <<X
#!/bin/sh
echo "systemctl \$*" >> "$work/systemctl.log"
case "\$*" in
  *is-enabled*) if [ -e "$wants" ] || [ -L "$wants" ]; then echo enabled; exit 0; fi; echo disabled; exit 1 ;;
  *is-active*) [ -e "$work/active" ] && exit 0; exit 3 ;;
esac
exit 0
X
chmod +x "$work/stub/systemctl"
: > systemctl.log
host_before=$(md5sum /etc/passwd /etc/group | md5sum)
host_lib=$([ -e /var/lib/ant-agent ] && echo yes || echo no)
host_dsh=$(ls /var/lib/systemd/deb-systemd-helper-enabled 2> /dev/null | md5sum)
# dpkg ACTION ARGS: chrootless (scripts see DPKG_ROOT), with /run private
# and /run/systemd/system present so the systemd snippets run.
dpkg_root() {
  unshare -m sh -c 'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$@"' sh \
    env PATH="$work/stub:$PATH" dpkg --root="$R" --log="$work/dpkg.log" \
      --force-script-chrootless --force-depends --force-not-root "$@" >> dpkg.txt 2>&1
}

dpkg_root -i "$deb"
expect_eq "$?" 0 "dpkg --root -i"
expect_grep '^ant-agent:x:[0-9]+:[0-9]+:[^:]*:/var/lib/ant-agent:/usr/sbin/nologin$' "$R/etc/passwd" "user made by postinst"
expect_grep '^ant-agent:x:' "$R/etc/group" "group made by postinst"
[ -x "$R/usr/bin/ant-agent" ] && ok || bad "binary installed"
[ -x "$R/usr/bin/ant-agent-net" ] && ok || bad "network helper installed beside it"
expect_eq "$(stat -c '%a %U' "$R/etc/ant-agent/ant-agent.env")" "640 root" "conffile mode"
[ -e "$wants" ] || [ -L "$wants" ] && bad "service enabled on install" || ok
expect_grep 'systemctl --system daemon-reload' systemctl.log "postinst ran the systemd snippet"
expect_no_grep ' (start|restart|enable)( |$)' systemctl.log "service not started on install"

# The volunteer sets it up, enables and starts it; the agent writes state.
echo 'CLIENT_PATH=/opt/ant/bin/ant' >> "$R/etc/ant-agent/ant-agent.env"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants" "$R/var/lib/ant-agent/cache/influx-spool" \
         "$R/var/cache/ant-agent/downloads"
ln -s "/$unit_path" "$wants"
: > "$work/active"
echo 0123456789abcdef > "$R/var/lib/ant-agent/cache/agent-id"
echo 'ledger line' > "$R/var/lib/ant-agent/cache/ledger.csv"
echo 'batch' > "$R/var/lib/ant-agent/cache/influx-spool/batch-1.lp"
( cd "$R" && find etc/ant-agent var/lib/ant-agent -type f | sort | xargs md5sum ) > state.before

# An upgrade: the same package as a later version.
rebuilt="$work/rebuilt"
dpkg-deb -R "$deb" "$rebuilt"
sed -i "s/^Version: .*/Version: $version+1/" "$rebuilt/DEBIAN/control"
dpkg-deb --root-owner-group -b "$rebuilt" "$work/next.deb" > /dev/null
: > systemctl.log
dpkg_root -i "$work/next.deb"
expect_eq "$?" 0 "dpkg --root -i (upgrade)"
expect_grep "^ii +ant-agent +$version\\+1 " <(dpkg --root="$R" -l ant-agent 2> /dev/null) "upgraded"
( cd "$R" && find etc/ant-agent var/lib/ant-agent -type f | sort | xargs md5sum ) > state.after
diff state.before state.after > state.diff && ok || { bad "upgrade changed settings or state"; cat state.diff >&2; }
expect_grep 'CLIENT_PATH=/opt/ant/bin/ant' "$R/etc/ant-agent/ant-agent.env" "edited settings kept"
expect_eq "$(grep -c '^ant-agent:' "$R/etc/passwd")" 1 "one user after the upgrade"
[ -L "$wants" ] && ok || bad "still enabled after the upgrade"
expect_grep 'systemctl .*restart ant-agent.service' systemctl.log "enabled service restarted by the upgrade"

# Remove keeps settings and state; purge removes them.
dpkg_root -r ant-agent
expect_eq "$?" 0 "dpkg --root -r"
[ ! -e "$R/usr/bin/ant-agent" ] && ok || bad "binary removed"
[ -f "$R/etc/ant-agent/ant-agent.env" ] && ok || bad "settings kept on remove"
[ -f "$R/var/lib/ant-agent/cache/agent-id" ] && ok || bad "state kept on remove"
dpkg_root -P ant-agent
expect_eq "$?" 0 "dpkg --root -P"
for gone in etc/ant-agent var/lib/ant-agent var/cache/ant-agent; do
  [ ! -e "$R/$gone" ] && ok || bad "purge removed /$gone"
done
[ ! -L "$wants" ] && ok || bad "purge removed the enable link"
sed 's/^/    dpkg| /' dpkg.txt >&2

# The host is untouched.
expect_eq "$(md5sum /etc/passwd /etc/group | md5sum)" "$host_before" "host passwd and group untouched"
expect_eq "$([ -e /var/lib/ant-agent ] && echo yes || echo no)" "$host_lib" "host /var/lib/ant-agent untouched"
expect_eq "$(ls /var/lib/systemd/deb-systemd-helper-enabled 2> /dev/null | md5sum)" "$host_dsh" "host systemd state untouched"
finish

#!/usr/bin/env bash
# What `make install` ships for running unattended: the manual page names
# every setting of settings.def, every command and option of --help, and
# formats without warnings; the systemd unit passes systemd-analyze verify
# and keeps its hardening.
source "$(dirname "$0")/lib.sh"

prefix="$work/prefix"
cmake --install "$ANT_BUILD_DIR" --prefix "$prefix" > install.txt 2>&1
expect_eq "$?" 0 "cmake --install --prefix"
man1="$prefix/share/man/man1/ant-agent.1"
unit="$prefix/lib/systemd/system/ant-agent.service"

# Every setting, straight from the one table.
names=$(sed -n 's/^X(\([A-Z0-9_]*\),.*/\1/p' "$ANT_SOURCE_DIR/src/settings.def")
[ -n "$names" ] && ok || bad "settings.def read"
missing=""
for n in $names; do grep -q "^\.B $n\$" "$man1" || missing="$missing $n"; done
expect_eq "$missing" "" "every setting in the manual"
"$agent" --help > help.txt
for cmd in $(sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' help.txt); do
  grep -q "^\.B $cmd\$" "$man1" && ok || bad "command $cmd in the manual"
done
for opt in $(grep -oE -- '--[a-z][a-z-]+' help.txt | sort -u); do
  grep -q -- "$(printf '%s' "$opt" | sed 's/-/\\\\-/g')" "$man1" && ok || bad "option $opt in the manual"
done
for sec in SETTINGS FILES SIGNALS "EXIT STATUS" "RUNNING AS A SERVICE"; do
  expect_grep "^\.SH $sec\$" "$man1" "section $sec"
done
LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$man1" 2> groff.txt
expect_eq "$(cat groff.txt)" "" "groff has no warnings"
# The manual is made from the binary it is installed with.
"$agent" manpage | cmp -s - "$man1" && ok || bad "installed manual matches the binary"

# The unit: hardening that must not get lost, then systemd's own check.
for k in 'DynamicUser=yes' 'StateDirectory=ant-agent' 'CacheDirectory=ant-agent' \
         'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
         'MemoryMax=' 'CPUQuota=' 'Restart=on-failure' 'RestartPreventExitStatus=2' \
         'EnvironmentFile=-/etc/ant-agent/ant-agent.env' 'KillMode=mixed' \
         "ExecStart=$prefix/bin/ant-agent run --no-console"; do
  grep -qxF -- "$k" "$unit" || grep -q -- "^$k" "$unit" && ok || bad "unit has $k"
done
if command -v systemd-analyze > /dev/null; then
  # verify runs `man` for Documentation=man:ant-agent(1): point it at ours.
  MANPATH="$prefix/share/man" systemd-analyze verify "$unit" > verify.txt 2>&1
  expect_eq "$?" 0 "systemd-analyze verify"
  sed 's/^/    verify| /' verify.txt >&2
  systemd-analyze security --offline=yes "$unit" > security.txt 2>&1
  score=$(sed -n 's/.*Overall exposure level for ant-agent.service: \([0-9.]*\).*/\1/p' security.txt)
  echo "systemd-analyze security: exposure $score"
  awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' && ok || bad "exposure level ${score:-unknown} above 2.0"
else
  echo "SKIP: systemd-analyze not installed (scripts/deps.sh installs systemd)"
fi
finish

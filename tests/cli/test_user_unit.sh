#!/usr/bin/env bash
# The unit for `systemctl --user` (contrib/ant-agent.user.service): it runs
# the agent that `make install PREFIX=~/.local` puts in ~/.local/bin, in
# ~/ant-agent, with the system unit's stop, restart and reload behaviour,
# and passes systemd-analyze verify as a user unit.
source "$(dirname "$0")/lib.sh"
unit="$ANT_SOURCE_DIR/contrib/ant-agent.user.service"
system_unit="$ANT_SOURCE_DIR/contrib/ant-agent.service.in"

for k in 'ExecStart=%h/.local/bin/ant-agent run --no-console' 'WorkingDirectory=%h/ant-agent' \
         'WantedBy=default.target' 'NoNewPrivileges=yes'; do
  grep -qxF -- "$k" "$unit" && ok || bad "user unit has $k"
done
# What the agent relies on is the same in both units.
for k in Type ExecReload KillMode TimeoutStopSec Restart RestartSec RestartPreventExitStatus \
         StartLimitIntervalSec StartLimitBurst UMask MemoryMax TasksMax; do
  want=$(grep "^$k=" "$system_unit"); got=$(grep "^$k=" "$unit")
  [ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "user unit $k ('$got', system unit '$want')"
done
expect_no_grep '^(User|DynamicUser|EnvironmentFile)=' "$unit" "runs as the user, settings from ./.env"

if command -v systemd-analyze > /dev/null; then
  # A home with the agent where `make install PREFIX=~/.local` puts it,
  # and the manual page for Documentation=.
  mkdir -p home/.local/bin home/ant-agent man/man1 run
  chmod 700 run
  ln -s "$agent" home/.local/bin/ant-agent
  "$agent" manpage -o man/man1/ant-agent.1
  HOME="$work/home" XDG_RUNTIME_DIR="$work/run" MANPATH="$work/man" \
    systemd-analyze --user verify "$unit" > verify.txt 2>&1
  expect_eq "$?" 0 "systemd-analyze --user verify"
  sed 's/^/    verify| /' verify.txt >&2
  # Without the agent in ~/.local/bin the check fails: it looks there.
  rm home/.local/bin/ant-agent
  HOME="$work/home" XDG_RUNTIME_DIR="$work/run" MANPATH="$work/man" \
    systemd-analyze --user verify "$unit" > verify2.txt 2>&1
  [ $? -ne 0 ] && ok || bad "verify fails without ~/.local/bin/ant-agent"
  expect_grep "$work/home/.local/bin/ant-agent" verify2.txt "the binary is looked for in ~/.local/bin"
else
  bad "systemd-analyze not installed (scripts/deps.sh installs systemd)"
fi
finish

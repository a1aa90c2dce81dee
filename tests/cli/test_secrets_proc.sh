#!/usr/bin/env bash
# Secrets and the agent's own process: a secret given with --set is refused
# (it would be visible in ps); once the settings are read, no secret is left
# in the agent's environment block (/proc/PID/environ, which a client of the
# same user could read); core dumps are off; a client's environment holds
# neither the tokens nor the wallet key (a quote) and nothing outside the
# allowlist.
source "$(dirname "$0")/lib.sh"
fleet_init

# --set with a secret: refused, exit 2, the value never echoed.
"$agent" config --env-file fleet.env --set SECRET_KEY=cli-SECRET-key-1 > set.out 2>&1
expect_eq "$?" 2 "--set SECRET_KEY: exit code"
expect_grep 'set SECRET_KEY: secrets on the command line' set.out "--set SECRET_KEY refused with the reason"
expect_no_grep 'cli-SECRET-key-1' set.out "--set SECRET_KEY: the value is not echoed"
"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env --set INFLUX_TOKEN=cli-tok-2 --run-for 1s > set2.out 2>&1
expect_eq "$?" 2 "--set INFLUX_TOKEN on run: exit code"

# A client that notes its environment and what it can read of the agent's.
cat > envclient.sh <<X
#!/usr/bin/env bash
for a in "\$@"; do [ "\$a" = --version ] && exec "$sim" "\$@"; done
env > "$work/client.env"
tr '\0' '\n' < /proc/\$PPID/environ > "$work/agent-seen.env" 2>/dev/null
exec "$sim" "\$@"
X
chmod +x envclient.sh
sed -i "s#^CLIENT_PATH=.*#CLIENT_PATH=$work/envclient.sh#" fleet.env
echo "GITHUB_TOKEN=file-gh-token-3" >> fleet.env
{ echo "<Schedule>"; task 001 5 quote tiny 1 false; echo "</Schedule>"; } > control.xml

SECRET_KEY=env-SECRET-key-4 INFLUX_TOKEN=env-influx-5 UNRELATED_VAR=x \
  "$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:04:40Z --clock-speed 10 --run-for 90s > agent.out 2> agent.log &
pid=$!
for _ in $(seq 100); do grep -q 'Rate Limiting' agent.log 2>/dev/null && break; sleep 0.1; done
tr '\0' '\n' < /proc/$pid/environ > agent.env
expect_eq "$(grep -c 'SECRET_KEY\|INFLUX_TOKEN\|env-SECRET-key-4\|env-influx-5' agent.env)" 0 \
  "no secret in the agent's environment block"
expect_grep '^UNRELATED_VAR=x$' agent.env "other variables stay in the agent's environment"
expect_grep '^Max core file size +0 +0 ' /proc/$pid/limits "core file size limit 0"
wait $pid
expect_eq "$?" 0 "agent exit code"
expect_grep 'Task 001 worker 1: quote tiny ok' agent.log "the quote ran"
for s in SECRET_KEY GITHUB_TOKEN INFLUX_TOKEN UNRELATED_VAR; do
  expect_no_grep "^$s=" client.env "client environment without $s"
done
expect_grep '^PATH=' client.env "client environment has PATH"
expect_eq "$(grep -c 'env-SECRET-key-4\|env-influx-5\|file-gh-token-3' agent-seen.env 2>/dev/null)" 0 \
  "the client read no secret from the agent's /proc/PID/environ"
finish

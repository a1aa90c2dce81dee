#!/usr/bin/env bash
# `ant-agent check`: every start-up step once, on a good setup (exit 0,
# "Ready") and on broken ones (exit 1, the failing step named with its
# fix). The fleet is served by a loopback HTTP server; the client is
# ant-sim. Also: `run` refuses a file:// URL without ALLOW_FILE_URLS at
# start-up, naming the setting, instead of idling on failed fetches.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 001 5 Download tiny 1 true; task 002 6 quote small 1 true; echo "</Schedule>"; } > control.xml
mkdir www
cp control.xml downloads.csv seeds.csv ks.json www/
python3 "$ANT_SOURCE_DIR/tests/tools/testhttpd.py" --root www --port-file port &
httpd=$!
trap 'kill $httpd 2>/dev/null; wait $httpd 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat port)"

cat > good.env <<X
SCHEDULER_URL=$base/files/control.xml
CSV_URL=$base/files/downloads.csv
CSV_QUOTE_URL=$base/files/seeds.csv
GIT_KILL_SWITCH_URL=$base/files/ks.json
CLIENT_PATH=$sim
CACHE_DIR=$work/cache
CLIENT_DOWNLOAD_PATH=$work/cache/downloads
MIN_FREE_DISK_GB=0
MIN_FREE_MEM_MB=0
TELEMETRY_COUNTRY=de
TELEMETRY_PROVISION=home
TELEMETRY_CONNECTION=fibre
X
# check [ENV-FILE] [--set ...]: output in out.txt, status in rc.
check() { local env=$1; shift; "$agent" check "${root_flag[@]}" --env-file "$env" "$@" > out.txt 2>&1; rc=$?; }
row() { grep -E "^  $1 +$2 " out.txt; }
expect_row() { if row "$1" "$2" | grep -qE -- "$3"; then ok; else bad "$4 (no '$1 $2 ... /$3/')"; sed 's/^/    | /' out.txt >&2; fi; }

# --- a good setup ----------------------------------------------------------
check good.env
expect_eq "$rc" 0 "good setup: exit 0"
expect_grep '^Ready: `ant-agent run` will start' out.txt "good setup: ready"
expect_row ok client 'ant-sim|[0-9]+\.[0-9]+' "client found with its version"
expect_row ok 'control file' '/files/control.xml: 2 tasks, 0 rejected' "control file reachable"
expect_row ok downloads '/files/downloads.csv: 3 rows' "download catalogue reachable"
expect_row ok seeds '/files/seeds.csv: 2 rows' "seed catalogue reachable"
expect_row ok 'task sizes' 'every task finds catalogue rows' "task sizes covered"
expect_row ok kill-switch 'readable, OFF' "kill-switch readable"
expect_row ok 'disk guard' 'MIN_FREE_DISK_GB' "disk guard"
expect_row ok 'memory guard' 'guard off' "memory guard"
expect_row ok telemetry 'country DE, provision home, connection fibre' "telemetry tags (normalised, via the alias)"
expect_row note uploads 'off \(ALLOW_UPLOADS=false\)' "uploads off noted"
expect_row note push 'INFLUX_URL empty' "no push noted"
expect_no_grep '^  FAIL' out.txt "nothing failed"

# Warnings do not fail: tags still xx, a task without rows, push down.
printf 'TELEMETRY_COUNTRY=xx\nINFLUX_URL=http://127.0.0.1:1\n' > warn.env
cat good.env warn.env > warn2.env
{ echo "<Schedule>"; task 001 5 Download tiny 1 true; task 003 7 Download huge 1 true; echo "</Schedule>"; } > www/control.xml
check warn2.env
expect_eq "$rc" 0 "warnings only: exit 0"
expect_row warn telemetry 'still xx: TELEMETRY_COUNTRY$' "xx tag warned"
expect_grep 'fix: describe this host in .env' out.txt "xx tag fix"
expect_row warn 'task sizes' '1 task without catalogue rows of its size: 003 \(download huge\)' "task without rows warned"
expect_row warn push 'http://127.0.0.1:1/ping: cannot fetch' "push unreachable warned"
expect_grep '^Ready: .*\(see the warnings above\)' out.txt "ready with warnings"
cp control.xml www/control.xml

# --- broken setups ---------------------------------------------------------
# A client that is not there.
check good.env --set CLIENT_PATH="$work/no-such-ant"
expect_eq "$rc" 1 "no client: exit 1"
expect_row FAIL client "client not found at '$work/no-such-ant'.*CLIENT_PATH" "missing client named with the fix"
expect_grep '^Not ready: 1 problem to fix' out.txt "one problem counted"

# Unreachable control file and kill-switch; a kill-switch that is ON.
check good.env --set SCHEDULER_URL="$base/status/404" --set GIT_KILL_SWITCH_URL=http://127.0.0.1:1/ks
expect_eq "$rc" 1 "unreachable: exit 1"
expect_row FAIL 'control file' 'the server answered HTTP 404' "control file 404"
expect_grep 'fix: check SCHEDULER_URL' out.txt "control file fix names the setting"
expect_row FAIL kill-switch 'cannot fetch' "kill-switch unreachable"
expect_grep 'assumes the switch is ON' out.txt "kill-switch fail-safe explained"
echo '[{"state":"open","labels":[{"name":"kill-switch"}]}]' > www/ks-on.json
check good.env --set GIT_KILL_SWITCH_URL="$base/files/ks-on.json"
expect_eq "$rc" 0 "kill-switch ON is a warning, not a setup problem"
expect_row warn kill-switch 'kill-switch is ON \(1 open issue labelled kill-switch\)' "kill-switch ON reported"

# Guards that would stop every test; uploads on without a key.
check good.env --set MIN_FREE_DISK_GB=1000000 --set MIN_FREE_MEM_MB=1000000000 --set ALLOW_UPLOADS=true
expect_eq "$rc" 1 "guards: exit 1"
expect_row FAIL 'disk guard' 'no test that writes a file would start' "disk guard fails"
expect_row FAIL 'memory guard' 'no test would start now' "memory guard fails"
expect_row FAIL uploads 'SECRET_KEY is empty' "uploads without a key"
expect_grep '^Not ready: 3 problems to fix' out.txt "three problems counted"

# A file:// URL without ALLOW_FILE_URLS: named, counted once.
check good.env --set SCHEDULER_URL="file://$work/control.xml"
expect_eq "$rc" 1 "file URL: exit 1"
expect_row FAIL 'file URLs' 'SCHEDULER_URL is a file:// URL .*ALLOW_FILE_URLS is false: set ALLOW_FILE_URLS=true' "file URL named with the setting"
expect_row note 'control file' 'not read \(file:// URLs are not allowed' "control fetch not tried"
expect_grep '^Not ready: 1 problem to fix' out.txt "counted once"
check good.env --set SCHEDULER_URL="file://$work/control.xml" --set ALLOW_FILE_URLS=true
expect_eq "$rc" 0 "file URL allowed: exit 0"
expect_row ok 'control file' "file://$work/control.xml: 2 tasks" "file URL read when allowed"

# --- run refuses the same at start-up ---------------------------------------
"$agent" run "${root_flag[@]}" --no-console --env-file good.env --set SCHEDULER_URL="file://$work/control.xml" \
  --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 5m > run.out 2> run.log
expect_eq "$?" 1 "run with a refused file URL exits 1"
expect_grep 'CRITICAL - SCHEDULER_URL is a file:// URL .* but ALLOW_FILE_URLS is false: set ALLOW_FILE_URLS=true' run.log "run names the setting"
expect_no_grep 'Protocol .?file.? not supported' run.log "no fetch was tried"
expect_no_grep 'Plan for this hour' run.log "nothing was started"
finish

#!/usr/bin/env bash
# The installed agent, as a service would run it: installed into a DESTDIR
# tree, started as an unprivileged user (nobody) with settings in its
# environment (as systemd's EnvironmentFile gives them) and in ./.env, no
# terminal. SIGHUP re-reads .env, reopens the log file and fetches again;
# SIGTERM with a client hanging stops within 10 s, the client killed, the
# metrics written; exit code 0. The files it writes belong to that user.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 005 5 Download tiny 1 true; echo "</Schedule>"; } > control.xml

dest="$work/dest"
DESTDIR="$dest" cmake --install "$ANT_BUILD_DIR" --prefix /usr > install.txt 2>&1
expect_eq "$?" 0 "cmake --install into DESTDIR"
for f in usr/bin/ant-agent usr/bin/ant-sim usr/share/man/man1/ant-agent.1 \
         usr/lib/systemd/system/ant-agent.service usr/share/doc/ant-agent/ant-agent.env.example; do
  if [ -f "$dest/$f" ]; then ok; else bad "installed $f"; fi
done
expect_grep '^ExecStart=/usr/bin/ant-agent run --no-console$' "$dest/usr/lib/systemd/system/ant-agent.service" "unit names the installed binary"

# The service's world: a working directory the user owns, everything else
# readable. As root (CI), run as nobody; otherwise as ourselves.
svc="$work/svc"
mkdir -p "$svc"
: > sim.log
chmod -R a+rX "$work"
chmod a+rw sim.log
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody "$svc" sim.log
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
# Settings as systemd passes them (environment) ...
sed -e "s|$work/cache|$svc/cache|g" -e "s|^CLIENT_PATH=.*|CLIENT_PATH=$dest/usr/bin/ant-sim|" fleet.env > svc.env
echo "ANT_SIM_CONFIG=$work/sim.conf" >> svc.env
echo "LOG_TO_FILE=true" >> svc.env
echo "LOG_FILE_PATH=$svc/cache/logs/ant-agent.log" >> svc.env
: > sim.conf; chmod a+r sim.conf
# ... and a .env in the working directory, which SIGHUP re-reads.
echo "DEFAULT_LOG_LEVEL=INFO" > "$svc/.env"; chmod a+r "$svc/.env"

( cd "$svc" && set -a && . "$work/svc.env" && set +a &&
  exec "${as_user[@]}" "$dest/usr/bin/ant-agent" run --clock-start 2026-01-01T10:04:50Z \
    --clock-speed 60 < /dev/null > "$work/agent.out" 2> "$work/agent.log" ) &
pid=$!
wait_for() { # PATTERN FILE: up to 20 s
  for _ in $(seq 200); do grep -qE -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
wait_for 'Task 005 worker 1: download tiny ok' agent.log || bad "no test ran"
user=$(ps -o user= -p "$(pgrep -P $pid -f ant-agent || echo $pid)" | tr -d ' ')
[ "$(id -u)" -eq 0 ] && expect_eq "$user" nobody "agent runs as nobody"
expect_no_grep 'Press \[q\]' agent.log "no console without a terminal"

# SIGHUP: a new log level from .env, the log file reopened, a fetch.
mv "$svc/cache/logs/ant-agent.log" "$svc/cache/logs/ant-agent.log.1"
echo "DEFAULT_LOG_LEVEL=DEBUG" > "$svc/.env"
kill -HUP $pid
wait_for 'Refreshing tasks \(SIGHUP\)' agent.log || bad "SIGHUP fetch"
wait_for ' - DEBUG - ' agent.log || bad "SIGHUP applied DEBUG from .env"
if [ -s "$svc/cache/logs/ant-agent.log" ]; then ok; else bad "log file reopened after SIGHUP"; fi
expect_grep 'SIGHUP: reloading settings and reopening the log file' "$svc/cache/logs/ant-agent.log.1" "old log file has the SIGHUP line"

# Make the next client hang and ignore SIGTERM, wait until one runs, stop.
# A call here lasts well under a second, so a download client alive for a
# whole second is one that read the change and hangs. (Counting calls in
# the ant-sim log raced with a call that started just as the change was
# written.)
echo "ANT_SIM_HANG=stubborn" > sim.conf
hung=""
for _ in $(seq 200); do
  for p in $(pgrep -f "$dest/usr/bin/ant-sim .*file download" || true); do
    [ "$(ps -o etimes= -p "$p" 2>/dev/null | tr -d ' ')" -ge 1 ] 2>/dev/null && hung=$p
  done
  [ -n "$hung" ] && break
  sleep 0.1
done
if [ -n "$hung" ]; then ok; else bad "no hanging client started before SIGTERM"; fi
t0=$(date +%s%N)
kill -TERM $pid
wait $pid; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$rc" 0 "exit code after SIGTERM"
if [ "$ms" -lt 10000 ]; then ok; else bad "SIGTERM took ${ms} ms (limit 10 s)"; fi
expect_grep 'Stopping agent: SIGTERM' agent.log "SIGTERM logged"
expect_grep 'Stopping 1 running client\(s\)' agent.log "running client stopped"
expect_grep 'INFO - Agent stopped' agent.log "clean end"
expect_grep 'status=ok' "$svc/cache/metrics.csv" "ok tests in the metrics"
expect_grep 'status=stopped.*reason_code="shutdown"' "$svc/cache/metrics.csv" "the stopped test flushed at stop, with its reason"
expect_eq "$(pgrep -f "$dest/usr/bin/ant-sim" | wc -l)" 0 "no client left running"
if [ "$(id -u)" -eq 0 ]; then
  expect_eq "$(find "$svc/cache" ! -user nobody | wc -l)" 0 "every file written belongs to nobody"
fi
"$dest/usr/bin/ant-agent" status --set CACHE_DIR="$svc/cache" > st.txt; rc=$?
expect_eq "$rc" 1 "status exits 1 after the stop"
expect_grep 'NOT running: it stopped cleanly' st.txt "status after a clean stop"
finish

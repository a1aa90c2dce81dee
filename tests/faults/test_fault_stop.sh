#!/usr/bin/env bash
# Stops: SIGTERM at several moments of a busy hour loses nothing (every
# finished test and every client call is a metric line); SIGKILL loses at
# most the last minute, leaves whole lines only, and the next start goes
# on cleanly (same agent id, appends whole lines, nothing twice, leftovers
# purged), even when the kill cut a line in half.
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client
export ANT_SIM_LOG=/dev/null
cat >> fleet.env <<X
DOWNLOAD_YIELD_SECS=5
QUOTE_YIELD_SECS=5
DOWNLOAD_RATE_LIMIT=100000
QUOTE_RATE_LIMIT=100000
MIN_FREE_MEM_MB=0
X
{
  echo "<Schedule>"
  task 001 5 Download tiny 3 true
  task 002 6 quote tiny 2 true
  task 003 7 Download small 1 true
  echo "</Schedule>"
} > control.xml
# Finished tests as the log reports them, one line each.
result_re='Task [0-9]+ worker [0-9]+( attempt [0-9]+)?: (download|quote|upload) '
results() { grep -cE "$result_re" "${1:-agent.log}"; }

# ---- SIGTERM at five moments (real seconds after the third test) ----
# Counted from the third finished test, not from the start, so a slow
# start-up (sanitizers, a loaded machine) cannot leave too few tests.
for at in 0 0.4 0.95 1.3 1.8; do
  rm -rf cache; : > agent.log; : > "$FAULT_CALLS"
  start_agent 2026-01-01T10:05:00Z 120
  wait_log 3 "$result_re" 60 || bad "SIGTERM after ${at}s: no 3 tests within 60 s"
  sleep "$at"
  kill -TERM "$agent_pid"
  wait_agent 60; rc=$?
  expect_eq "$rc" 0 "SIGTERM after ${at}s: exit code"
  expect_whole_lines cache/metrics.csv "SIGTERM after ${at}s"
  expect_whole_lines cache/summary.csv "SIGTERM after ${at}s"
  lines=$(grep -c '^ant_agent,' cache/metrics.csv)
  expect_eq "$lines" "$(results)" "SIGTERM after ${at}s: every finished test in the metrics"
  # A client stopped by the shutdown before its first line ran has no
  # entry in calls.log, but is still a (stopped) metric line.
  calls=$(calls_of ' file ')
  stopped=$(grep -c 'status=stopped' cache/metrics.csv)
  if [ "$calls" -le "$lines" ] && [ "$lines" -le $((calls + stopped)) ]; then ok
  else bad "SIGTERM after ${at}s: $calls client calls, $lines metric lines ($stopped stopped)"; fi
  if [ "$lines" -ge 3 ]; then ok; else bad "SIGTERM after ${at}s: only $lines tests ran"; fi
  expect_eq "$(pgrep -f "$work/" | wc -l)" 0 "SIGTERM after ${at}s: no client left running"
done

# ---- SIGKILL, then a restart in the same hour ----
rm -rf cache; : > agent.log; : > "$FAULT_CALLS"
start_agent 2026-01-01T10:05:00Z 120
# Wait for at least four flushes' worth of lines, then kill about half a
# virtual minute after a flush, when results are waiting in memory.
for _ in $(seq 300); do
  [ "$(grep -c '^ant_agent,' cache/metrics.csv 2>/dev/null || echo 0)" -ge 40 ] && break; sleep 0.1
done
sleep 0.3
kill -KILL "$agent_pid"
wait "$agent_pid" 2>/dev/null
agent_pid=""
# Clients of the killed agent finish their call on their own.
for _ in $(seq 100); do [ "$(pgrep -f "$work/" | wc -l)" -eq 0 ] && break; sleep 0.1; done
cp agent.log killed.log
expect_whole_lines cache/metrics.csv "after SIGKILL"
expect_whole_lines cache/summary.csv "after SIGKILL"
lines=$(grep -c '^ant_agent,' cache/metrics.csv)
all=$(results killed.log)
# Results logged more than 90 virtual seconds before the kill (the last
# log line) were flushed at a minute tick since: they must all be there.
last=$(tail -1 killed.log | awk '{print $2}')
last_s=$(date -u -d "2026-01-01 $last" +%s)
old=$(grep -E "$result_re" killed.log |
      while read -r _ t _; do s=$(date -u -d "2026-01-01 $t" +%s); [ $((last_s - s)) -gt 90 ] && echo x; done | wc -l)
if [ "$lines" -ge "$old" ] && [ "$lines" -le "$all" ]; then ok
else bad "after SIGKILL: $lines lines on disk; $old results older than the last minute, $all in all"; fi
if [ "$old" -ge 20 ]; then ok; else bad "after SIGKILL: only $old results before the last minute"; fi
echo "SIGKILL: $all results logged, $lines on disk, $((all - lines)) lost from the last minute"

# A SIGKILL inside write() can cut a line; make that happen for sure.
printf 'ant_agent,agent=%s,country=xx,type=down' "$(cat cache/agent-id)" >> cache/metrics.csv
before_md5=$(head -n "$lines" cache/metrics.csv | md5sum)
id=$(cat cache/agent-id)
: > agent.log
run_agent 2026-01-01T10:20:00Z 120 5m
expect_eq "$?" 0 "restart: exit code"
expect_grep 'ended in a partial line .* cut it off' agent.log "restart: the cut line is dropped"
expect_whole_lines cache/metrics.csv "restart"
expect_whole_lines cache/summary.csv "restart"
expect_eq "$(head -n "$lines" cache/metrics.csv | md5sum)" "$before_md5" "restart: earlier lines untouched"
new=$(( $(grep -c '^ant_agent,' cache/metrics.csv) - lines ))
expect_eq "$new" "$(results)" "restart: every test of the second run appended"
expect_eq "$(cat cache/agent-id)" "$id" "restart: same agent id"
expect_eq "$(sed -nE 's/^ant_agent,agent=([^,]*),.*/\1/p' cache/metrics.csv | sort -u)" "$id" "one agent id on every line"
expect_eq "$(sort cache/metrics.csv | uniq -d | wc -l)" 0 "no line twice"
expect_eq "$(find cache/downloads -mindepth 1 | wc -l)" 0 "restart: no temporary download left"
expect_eq "$(find cache/seeds -mindepth 1 2>/dev/null | wc -l)" 0 "restart: no seed file left"
expect_no_grep 'AddressSanitizer|runtime error' agent.log "no sanitizer report"
finish

#!/usr/bin/env bash
# The InfluxDB push through a network helper that misbehaves: one agent at
# 120x pushes to tests/tools/testhttpd.py (InfluxDB 2.x's write API on
# loopback, INFLUX_TOKEN required) through tests/faults/fault-net.py, which
# keeps the push from the server and acts out a fault instead, one fault at
# a time. Each is a failed push: the batch stays in the spool and is sent
# again once the helper behaves, so every line of the metrics and summary
# files reaches the server (or is still in the spool at the stop), none is
# lost. A helper that hangs on a push is killed once INFLUX_TIMEOUT_SECS
# (2 s here) and the helper's grace have passed; every push hands the
# helper that timeout, and a new value from a SIGHUP on. The agent never
# dies and never logs what the helper sent raw; no helper ever sees
# INFLUX_TOKEN or SECRET_KEY in its environment.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
{ echo "<Schedule>"; task 001 5 Download tiny 2 true; task 002 6 quote tiny 2 true; echo "</Schedule>"; } > control.xml
cat >> fleet.env <<X
INFLUX_URL=$httpd
INFLUX_VERSION=2
INFLUX_ORG=fleet
INFLUX_BUCKET=ant
INFLUX_TOKEN=test-influx-789
INFLUX_TIMEOUT_SECS=2
MIN_FREE_MEM_MB=0
X
export SECRET_KEY=0xSECRET-push-5ec7e7 SSL_CERT_DIR=/nonexistent/certs.d
use_fault_net

start_agent 2026-01-01T10:04:00Z 120
wait_log 1 'influx: pushing to' 30 || bad "the push did not start"
wait_log 1 'Plan for this hour: 2 of 2' 30 || bad "no plan"
# push_fault MODE REASON: the next push meets MODE, the one after it
# passes again.
push_fault() {
  local mode=$1 why=$2 before n_fail n_back n_act
  before=$(wc -l < agent.log)
  n_fail=$(count_log 'influx: push failed')
  n_back=$(count_log 'influx: the server answers again')
  n_act=$(count_log " $mode .*api/v2/write" net-requests.log 2>/dev/null)
  echo "api/v2/write $mode" > netfault
  wait_log $((${n_act:-0} + 1)) " $mode .*api/v2/write" 30 net-requests.log || bad "$mode: no push met the fault"
  : > netfault
  wait_log $((n_fail + 1)) 'influx: push failed' 30 || bad "$mode: no push failed"
  wait_log $((n_back + 1)) 'influx: the server answers again' 30 || bad "$mode: the push did not come back"
  tail -n +$((before + 1)) agent.log > seg.log
  expect_grep "influx: push failed \\(.*$why.*\\); [0-9]+ batches wait in the spool, retrying" seg.log \
    "$mode: the push failed and waits in the spool"
  kill -0 "$agent_pid" 2>/dev/null && ok || bad "agent died: $mode"
}
push_fault hang 'network helper stopped answering' # first: it takes 5 s (10 minutes)
push_fault segv 'ended by signal 11'
push_fault exit-mid 'network helper exited \(status 1\)'
push_fault garbage 'malformed answer'
push_fault biglen 'malformed answer'
push_fault unknown-id 'malformed answer'
push_fault forged 'malformed answer'
push_fault flood 'malformed answer'
push_fault escape '\?\]0;owned\?'
# A SIGHUP applies a new INFLUX_TIMEOUT_SECS from the next push on.
n_hup=$(count_log 'SIGHUP: reloading settings')
sed -i 's/^INFLUX_TIMEOUT_SECS=.*/INFLUX_TIMEOUT_SECS=7/' fleet.env
kill -HUP "$agent_pid"
wait_log $((n_hup + 1)) 'SIGHUP: reloading settings' 30 || bad "SIGHUP not handled"
wait_log 1 ' pass .*api/v2/write.* timeout_ms=7000$' 30 net-requests.log ||
  bad "no push with INFLUX_TIMEOUT_SECS=7 after the SIGHUP"
kill -TERM "$agent_pid"
wait_agent 30
expect_eq "$?" 0 "agent exit code"
for mode in hang segv exit-mid garbage biglen unknown-id forged flood escape; do
  if grep -q " $mode .*api/v2/write" net-requests.log; then ok; else bad "$mode never acted out on a push"; fi
done
# Each push asked the helper for INFLUX_TIMEOUT_SECS (the helper's deadline
# is the same figure plus its grace): 2 s, then 7 s from the SIGHUP on.
grep 'api/v2/write' net-requests.log | sed 's/.* timeout_ms=//' | uniq > push-timeouts.txt
expect_eq "$(tr '\n' ' ' < push-timeouts.txt)" "2000 7000 " "push timeouts in order (ms)"
expect_grep ' hang .*api/v2/write.* timeout_ms=2000$' net-requests.log "the hung push asked for 2 s"

# Nothing lost: every line of the files reached the server or waits in the
# spool for the next start.
cat cache/metrics.csv cache/summary.csv | sort -u > files.txt
{ cat www/_written.lp 2>/dev/null; for f in cache/influx-spool/*.lp.gz; do [ -f "$f" ] && zcat "$f"; done; } |
  sort -u > pushed.txt
lines=$(wc -l < files.txt)
if [ "$lines" -ge 30 ]; then ok; else bad "only $lines lines in the files"; fi
expect_eq "$(comm -23 files.txt pushed.txt | wc -l)" 0 "lines of the metrics and summary files never pushed"
comm -23 files.txt pushed.txt | head -3 >&2
sent=$(sort -u www/_written.lp | comm -12 - files.txt | wc -l)
if [ "$sent" -ge $((lines * 3 / 4)) ]; then ok; else bad "only $sent of $lines lines reached the server"; fi

# Terminal-safe log; no secret in any helper's environment.
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' agent.log; then bad "a control character in the log"; else ok; fi
expect_grep 'push failed \(\?\]0;owned\?' agent.log "the hostile error text was logged, cleaned"
expect_helper_envs 9 INFLUX_TOKEN test-influx-789 SECRET_KEY 0xSECRET-push-5ec7e7
finish

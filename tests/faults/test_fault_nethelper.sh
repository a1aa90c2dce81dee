#!/usr/bin/env bash
# The network helper misbehaves during the kill-switch checks, one agent:
# ANT_AGENT_NET_HELPER points the real `ant-agent run` at
# tests/faults/fault-net.py, which runs the real ant-agent-net behind it and
# acts out a fault for the requests named in $work/netfault (the catalogue
# and control file: test_fault_nethelper_catalog.sh; the push:
# test_fault_nethelper_push.sh). Each fault is a failed check and nothing
# more: the switch reads ON, running clients are stopped, no test starts
# until a check succeeds and a refresh (SIGHUP) finds it OFF. The agent never
# dies, and nothing the helper sent reaches the log raw. Every helper
# started saw none of the agent's secrets: only the proxy and certificate
# variables of its environment.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
# A one-worker download every minute from :05 to :54: whenever the switch
# comes back OFF there are tests still to start this hour.
http_fleet_each_minute
# Clients run 1.5 s (real) each, so there are clients to stop.
export ANT_SIM_LATENCY_MS=1500
# Secrets in the agent's environment and settings; SSL_CERT_DIR is one of
# the few variables the helper may see, so its dump is known to be the
# helper's own.
export SECRET_KEY=0xSECRET-nethelper-5ec7e7 SSL_CERT_DIR=/nonexistent/certs.d ANT_CANARY=not-for-the-helper

use_fault_net
alive() { kill -0 "$agent_pid" 2>/dev/null && ok || bad "agent died: $1"; }
since() { tail -n +$(($1 + 1)) agent.log; }

# ---- 1. the kill-switch check, while tests run (60x: a minute in 1 s) ----
start_agent 2026-01-01T10:03:00Z 60
wait_log 1 'Plan for this hour: 50 of 50' 30 || bad "start-up refresh did not make a plan"
wait_log 1 'Next task refresh at' 10 || bad "start-up refresh did not end"
: > windows.txt
# ks_fault MODE REASON: the kill-switch check meets MODE.
ks_fault() {
  local mode=$1 why=$2 before n_on n_off n_res n_next on_e res_e
  before=$(wc -l < agent.log)
  n_on=$(count_log 'Kill-switch (turned ON|ON: )')
  n_off=$(count_log 'kill-switch is OFF \(checks succeed again\)')
  n_res=$(count_log 'Kill-switch is OFF: tests resume')
  n_next=$(count_log 'Next task refresh at')
  echo "issues.json $mode" > netfault
  wait_log $((n_on + 1)) 'Kill-switch (turned ON|ON: )' 20 || bad "$mode: the kill-switch did not read ON"
  : > netfault
  wait_log $((n_off + 1)) 'kill-switch is OFF \(checks succeed again\)' 20 ||
    bad "$mode: no good check after the fault"
  kill -HUP "$agent_pid"
  wait_log $((n_res + 1)) 'Kill-switch is OFF: tests resume' 20 || bad "$mode: tests did not resume"
  wait_log $((n_next + 1)) 'Next task refresh at' 20 || bad "$mode: the refresh did not end"
  since "$before" > seg.log
  expect_grep "kill-switch: check failed \\(.*$why.*\\); treating the switch as ON" seg.log \
    "$mode: the kill-switch check failed"
  expect_grep 'Plan for this hour: [1-9][0-9]* of 50' seg.log "$mode: the refresh after it made a plan"
  alive "$mode"
  on_e=$(log_epoch "$(grep -m1 -E 'Kill-switch (turned ON|ON: )' seg.log)")
  res_e=$(log_epoch "$(grep -m1 'Kill-switch is OFF: tests resume' seg.log)")
  echo "$mode $on_e $res_e" >> windows.txt
}
ks_fault hang 'stopped answering' # first: it takes 4 s (4 minutes)
ks_fault segv 'ended by signal 11'
ks_fault exit-mid 'network helper exited \(status 1\)'
ks_fault biglen 'malformed answer'
ks_fault unknown-id 'malformed answer'
ks_fault flood 'malformed answer'
ks_fault escape '\?\]0;owned\?'
kill -TERM "$agent_pid"
wait_agent 30
expect_eq "$?" 0 "kill-switch faults: agent exit code"

# No test started while a fault held the switch ON; clients were stopped.
metric_starts > starts.txt
while read -r mode on_e res_e; do
  during=$(awk -v a="$on_e" -v b="$res_e" '$6 > a && $6 < b' starts.txt | wc -l)
  expect_eq "$during" 0 "$mode: tests started while the kill-switch read ON"
done < windows.txt
expect_eq "$(wc -l < windows.txt)" 7 "every kill-switch fault seen"
if [ "$(count_log 'Kill-switch: stopping [0-9]+ running client')" -ge 1 ]; then ok
else bad "no running client was stopped by a failed kill-switch check"; fi
if [ "$(wc -l < starts.txt)" -ge 10 ]; then ok; else bad "only $(wc -l < starts.txt) tests ran"; fi

# Every fault was acted out by a helper of its own, each replaced.
for mode in hang segv exit-mid biglen unknown-id flood escape; do
  if grep -q " $mode .*issues.json" net-requests.log; then ok; else bad "$mode never acted out"; fi
done

# Nothing from the helper reaches the log raw: valid UTF-8, no control
# character but tab and newline (C0, DEL, C1).
expect_terminal_safe agent.log agent.out
expect_grep '\?\]0;owned\?' agent.log "the hostile error text was logged, cleaned"

# The helpers' environments: no secret, nothing but the allowed variables.
expect_helper_envs 7 SECRET_KEY 0xSECRET-nethelper-5ec7e7 GITHUB_TOKEN test-token-123 ANT_CANARY
# The token went inside the requests that needed it: every check that
# reached the server carried it.
gh=$(curl -s "$httpd/_gh" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["authenticated"], d["anonymous"])')
passed=$(grep -c ' pass .*issues.json' net-requests.log)
read -r authed anon <<< "$gh"
expect_eq "$anon" 0 "kill-switch checks without GITHUB_TOKEN"
if [ "$authed" -ge "$passed" ] && [ "$passed" -ge 5 ]; then ok
else bad "kill-switch checks with GITHUB_TOKEN: $authed of $passed passed through"; fi
finish

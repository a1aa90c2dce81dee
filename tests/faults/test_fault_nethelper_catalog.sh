#!/usr/bin/env bash
# The network helper misbehaves during the catalogue and control-file
# fetches (see test_fault_nethelper.sh for how): a failed catalogue refresh
# keeps the copy loaded before and the plan; a failed control file leaves no
# tasks this hour, never half a plan. The agent runs at speed 1 at :56, when
# every task of the hour is over: no test runs and the kill-switch is not
# asked again in these few seconds, so only the refreshes (SIGHUP) fetch.
# Also: a bad ANT_AGENT_NET_HELPER stops the agent before it starts.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
# A one-worker download every minute from :05 to :54 (all over at :56).
http_fleet_each_minute
use_fault_net

# The setting is checked before anything starts.
knob() { # VALUE PATTERN WHAT
  local rc
  ANT_AGENT_NET_HELPER=$1 "$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
    --run-for 1m > knob.out 2>&1
  rc=$?
  expect_eq "$rc" 2 "ANT_AGENT_NET_HELPER $3: exit code"
  expect_grep "ANT_AGENT_NET_HELPER=.*: $2" knob.out "ANT_AGENT_NET_HELPER $3: the reason"
}
knob net-helper 'not an absolute path' "relative"
knob "$work" 'not a regular file' "a directory"
knob "$work/net-helper.real" 'not executable' "not executable"
knob "$work/missing" 'No such file' "missing"
expect_eq "$(ls cache 2>/dev/null | wc -l)" 0 "a bad ANT_AGENT_NET_HELPER: nothing ran"

alive() { kill -0 "$agent_pid" 2>/dev/null && ok || bad "agent died: $1"; }
since() { tail -n +$(($1 + 1)) agent.log; }

start_agent 2026-01-01T10:56:00Z 1
wait_log 1 'Next task refresh at' 30 || bad "start-up: the refresh did not end"
plan=$(grep -m1 -oE 'Plan for this hour: [0-9]+ of 50' agent.log)
expect_eq "$plan" "Plan for this hour: 0 of 50" "start-up: the plan"
# refresh_with TEXT MODE: one SIGHUP refresh while the requests for TEXT
# meet MODE; its log in seg.log.
refresh_with() {
  local before n
  before=$(wc -l < agent.log)
  n=$(count_log 'Next task refresh at')
  echo "$1 $2" > netfault
  kill -HUP "$agent_pid"
  wait_log $((n + 1)) 'Next task refresh at' 20 || bad "$1 $2: the refresh did not end"
  : > netfault
  since "$before" > seg.log
  alive "$1 $2"
}
cat_fault() { # MODE REASON
  refresh_with downloads.csv "$1"
  expect_grep "download catalogue: refresh from .* failed \\(.*$2.*\\); using the cached copy" seg.log \
    "catalogue $1: the copy loaded before is kept"
  expect_grep "$plan" seg.log "catalogue $1: the plan stays"
}
cat_fault segv 'ended by signal 11'
cat_fault garbage 'malformed answer'
cat_fault forged 'malformed answer'
cat_fault escape '\?\]0;owned\?'
cat_fault hang 'stopped answering'
refresh_with control.xml exit-mid
expect_grep 'Control file .*network helper.*; no tasks this hour' seg.log "control file fault: no tasks this hour"
expect_grep 'No tasks for this hour' seg.log "control file fault: the plan is empty"
expect_no_grep 'Plan for this hour' seg.log "control file fault: no half plan"
refresh_with nothing pass
expect_grep "$plan" seg.log "control file: the plan is back"
kill -TERM "$agent_pid"
wait_agent 30
expect_eq "$?" 0 "catalogue faults: agent exit code"
for mode in segv garbage forged escape hang exit-mid; do
  if grep -qE " $mode .*(downloads.csv|control.xml)" net-requests.log; then ok; else bad "$mode never acted out"; fi
done
# Nothing from the helper reaches the log raw: valid UTF-8, no control
# character but tab and newline (C0, DEL, C1).
expect_terminal_safe agent.log agent.out
expect_grep '\?\]0;owned\?' agent.log "the hostile error text was logged, cleaned"

finish

#!/usr/bin/env bash
# The keyboard console, driven through a real pseudo-terminal (tmux): keys
# act at once; [s] shows the status, [r] runs a task, [f] fetches, [q]
# quits gracefully.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { bad "tmux is not installed (scripts/deps.sh installs it)"; finish; exit 1; }
fleet_init
{ echo "<Schedule>"; task 001 40 Download tiny 1 false; echo "</Schedule>"; } > control.xml

sock="$work/tmux.sock"
tmx() { tmux -S "$sock" "$@"; }
trap 'tmx kill-server 2>/dev/null; rm -rf "$work"' EXIT
# Speed 1 from :20: nothing is due for 20 minutes unless we ask.
tmx new-session -d -x 200 -y 50 -s agent \
  "'$agent' run ${root_flag[*]} --env-file '$work/fleet.env' --clock-start 2026-01-01T10:20:00Z 2> '$work/agent.log'; echo AGENT-EXITED-\$?; sleep 30"

wait_for() { # wait_for PATTERN FILE|pane SECONDS
  for _ in $(seq $(( $3 * 10 ))); do
    if [ "$2" = pane ]; then tmx capture-pane -p -t agent > "$work/pane.txt"; f="$work/pane.txt"; else f=$2; fi
    grep -qE -- "$1" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

wait_for 'Plan for this hour' agent.log 20 && ok || bad "agent did not start"
expect_grep 'Press \[q\] = quit gracefully' agent.log "key help shown"

tmx send-keys -t agent s
if wait_for 'Kill-switch : OFF' pane 5; then ok; else bad "[s] showed no status"; cat "$work/pane.txt" >&2; fi
expect_grep 'Plan        :' pane.txt "status shows the plan"
expect_grep '001 +download +tiny +once +10:40:00 +waiting' pane.txt "status shows the task waiting"
expect_grep 'Limits      : download 0/360 ' pane.txt "status shows limiter use"
expect_grep 'Metrics     : 0 recorded' pane.txt "status shows metrics counters"
expect_grep 'ant-agent is running: pid [0-9]+' pane.txt "[s] is the same view as ant-agent status"

tmx send-keys -t agent r
wait_for 'Run which task now' pane 5 && ok || bad "[r] did not ask for a TaskRef"
tmx send-keys -t agent 0 0 1 Enter
if wait_for 'Task 001 worker 1: download tiny ok' agent.log 10; then ok; else bad "[r] 001 did not run the task"; fi
tmx send-keys -t agent r 9 9 Enter
wait_for 'Task 099 not run: no such task' agent.log 5 && ok || bad "[r] 99 not refused"

tmx send-keys -t agent f
wait_for 'Refreshing tasks \(\[f\] pressed\)' agent.log 5 && ok || bad "[f] did not refresh"

tmx send-keys -t agent q
if wait_for 'AGENT-EXITED-0' pane 10; then ok; else bad "[q] did not stop the agent with exit 0"; fi
expect_grep 'Stopping agent: \[q\] pressed' agent.log "[q] logged"
expect_grep 'Agent stopped' agent.log "clean stop"
expect_eq "$(grep -c ',task=001,' cache/metrics.csv)" 1 "the test run by [r] was recorded"
finish

#!/usr/bin/env bash
# Never fail-open: GitHub answers OFF once and then holds the agent off for
# an hour (X-RateLimit-Remaining: 0 on the 200). The OFF answer is trusted
# for its maximum age only (7 minutes without GITHUB_TOKEN); past it the
# switch reads ON ("cannot confirm OFF") and tests stop, although the hold
# lasts much longer. The agent sends nothing into the hold-off.
source "$(dirname "$0")/lib.sh"
fleet_init
start_github --gh-limit 1 --gh-window 3600
{ echo "<Schedule>"; task 001 5 Download tiny 2 true; echo "</Schedule>"; } > control.xml

run_agent 2026-01-01T10:04:00Z 60 20m
expect_eq "$?" 0 "agent exit code"

# The one answer came at start-up (about :04:00); it is trusted for 420 s.
expect_grep 'WARNING - kill-switch: the server asks for no check for [0-9]+ s; the answer still counts only for its usual time' \
  agent.log "hold-off on the 200 noticed"
expect_grep 'WARNING - kill-switch: cannot confirm OFF: the last answer is 42[0-2] s old and is trusted for 420 s \(the server holds checks off\)' \
  agent.log "stale OFF turns ON at its maximum age"
expect_grep 'WARNING - Kill-switch turned ON: stopping all tests' agent.log "tests stopped"
off_t=$(log_epoch "$(grep -m1 'kill-switch is OFF' agent.log)")
stale_t=$(log_epoch "$(grep -m1 'cannot confirm OFF' agent.log)")
stop_t=$(log_epoch "$(grep -m1 'Kill-switch turned ON' agent.log)")
age=$((stale_t - off_t))
if [ "$age" -ge 420 ] && [ "$age" -le 422 ]; then ok; else bad "switch read ON $age s after the OFF answer (want 420)"; fi
expect_eq "$stop_t" "$stale_t" "tests stopped when the answer went stale"
metric_starts 001 > starts.txt
before=$(awk -v t="$stale_t" '$6 < t' starts.txt | wc -l)
after=$(awk -v t="$stale_t" '$6 > t' starts.txt | wc -l)
if [ "$before" -ge 5 ]; then ok; else bad "only $before tests before the answer went stale"; fi
expect_eq "$after" 0 "tests started on a stale OFF answer"
expect_eq "$(gh_stat requests)" 1 "requests to GitHub (none during the hold-off)"
expect_eq "$(gh_stat limited)" 0 "requests answered with the rate-limit 403"
expect_eq "$(status_get killswitch.state)" "cannot confirm off" "status: state"
expect_grep 'cannot confirm OFF' <(status_get killswitch.reason) "status: reason"
finish

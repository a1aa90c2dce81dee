#!/usr/bin/env bash
# A client still running at :58 gets SIGTERM at :58; one that ignores it
# gets SIGKILL after CLIENT_KILL_GRACE_SECS (and at :59 at the latest): by
# :00 no client of the hour is alive. The agent stopped them for its own
# reason (the hour's end), so the tests are recorded as stopped, with
# reason_code cooldown, not as killed (which is for timeouts and hangs).
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 009 53 Download tiny 2 false 0 3600; echo "</Schedule>"; } > control.xml
speed=60

# 1. Polite clients: each exits on SIGTERM and says, in real time, when it
# started and when the signal came. With the test's start (schedule time,
# from the metrics) and the clock speed, that is the schedule time of the
# SIGTERM, which must be :58.
export ANT_SIM_HANG=polite ANT_SIM_HANG_TERMFILE="$work/term.txt"
run_agent 2026-01-01T10:52:00Z $speed 9m
expect_eq "$?" 0 "polite: agent exit code"
unset ANT_SIM_HANG
expect_grep ':58 - asking 2 running client\(s\) to stop \(SIGTERM\)' agent.log "polite: SIGTERM announced at :58"
expect_eq "$(cat term.txt 2>/dev/null | wc -l)" 2 "polite: both clients received SIGTERM"
metric_starts 009 > starts.txt
expect_eq "$(awk '$4 == "stopped"' starts.txt | wc -l)" 2 "polite: both tests recorded as stopped"
# Schedule second of the hour at which each client got SIGTERM: the test's
# start (seconds into the hour) plus the real time it waited, times the speed.
start_s=$(awk 'NR == 1 { print $1 * 60 + $2 }' starts.txt)
while read -r pid t0 t1; do
  at=$(( start_s + (t1 - t0) * speed / 1000 ))
  # The client's own clock starts once it is running, a little after the
  # test's start (a spawn takes real milliseconds, a virtual second or
  # more at this speed), so the figure may come out early, never late:
  # :57:00 to :58:30 is :58, not the :55 cooldown and not the :59 kill.
  if [ "$at" -ge 3420 ] && [ "$at" -lt 3510 ]; then ok
  else bad "polite: client $pid got SIGTERM at second $at of the hour, want :58 (3420..3509)"; fi
done < term.txt
expect_no_grep 'client_kill=1i' cache/metrics.csv "polite: no client_kill"
expect_eq "$(grep -c 'reason_code="cooldown"' cache/metrics.csv)" 2 "polite: reason_code cooldown"

# 2. Stubborn clients ignore SIGTERM: SIGKILL ends them before :00.
rm -rf cache store term.txt
fleet_init
export ANT_SIM_HANG=stubborn
run_agent 2026-01-01T10:52:00Z $speed 9m
expect_eq "$?" 0 "stubborn: agent exit code"
unset ANT_SIM_HANG
expect_grep ':58 - asking 2 running client\(s\) to stop \(SIGTERM\)' agent.log "stubborn: SIGTERM at :58"
expect_eq "$(cat term.txt 2>/dev/null | wc -l)" 0 "stubborn: the clients said nothing"
# Both results came back before :00, as stopped.
stopped=$(grep -E '^01-01-2026 10:5[89]:[0-9]{2} - [A-Z]+ - Task 009 worker [12] attempt 1: download tiny stopped' agent.log | wc -l)
expect_eq "$stopped" 2 "stubborn: both clients reported stopped in :58-:59"
metric_starts 009 > starts.txt
expect_eq "$(awk '$4 == "stopped"' starts.txt | wc -l)" 2 "stubborn: stopped status in metrics"
expect_eq "$(pgrep -f "$work" | wc -l)" 0 "no client of this test left running"
finish

#!/usr/bin/env bash
# The ant_agent_status heartbeat on the virtual clock: one point a minute
# in METRICS_FILE whether or not tests run, with the common tags plus
# client_gen, the hour's tasks, the minute's skips by reason, the guards,
# free disk and the kill-switch (with the issue that turned it ON).
source "$(dirname "$0")/lib.sh"
fleet_init

# hb FIELD: the field's value on each heartbeat line, one per line.
hb() {
  grep '^ant_agent_status,' cache/metrics.csv | sed -E 's/"([^"\\]|\\.)*"/S/g' |
    awk -v k="$1" '{ n = split($2, f, ","); v = "-";
      for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == k) v = kv[2]; }
      print v }'
}
# hb_times: the timestamps (epoch seconds) of the heartbeat lines.
hb_times() { grep '^ant_agent_status,' cache/metrics.csv | awk '{ print int(substr($NF, 1, length($NF) - 9)) }'; }

# Ten minutes, one upload task at :25 with uploads off (skipped).
{ echo "<Schedule>"; task 001 25 upload tiny 1 false; echo "</Schedule>"; } > control.xml
run_agent 2026-01-01T10:20:30Z 60 10m
expect_eq "$?" 0 "agent exit code"
expect_eq "$(grep -c '^ant_agent_status,' cache/metrics.csv)" 10 "10 minutes: 10 heartbeat points"
start=$(date -u -d 2026-01-01T10:21:00Z +%s)
expect_eq "$(hb_times | tr '\n' ' ')" "$(seq -s ' ' "$start" 60 $((start + 540))) " "one point on each minute :21..:30"
expect_eq "$(hb alive | sort -u)" "1i" "alive on every point"
line=$(grep -m1 '^ant_agent_status,' cache/metrics.csv)
case "$line" in
  ant_agent_status,agent=*,agent_version=*,client_version=0.5.2,*client_gen=ant-0.5\ *) ok ;;
  *) bad "heartbeat tags: common tags and client_gen ($line)" ;;
esac
# No issue open all along; once no test is due the agent stops asking, and
# the answer grows too old to confirm OFF: still not ON.
expect_eq "$(hb killswitch_on | sort -u)" "0i" "kill-switch not ON on any point"
expect_grep '^ant_agent_status,.* .*killswitch_state="off"' cache/metrics.csv "kill-switch reading named"
expect_eq "$(hb killswitch_issue | sort -u)" "-" "no issue while OFF"
# Points taken before the plan was built (a slow start-up on a loaded
# machine) say 0 planned; every point from the plan on says 1.
plan_at=$(sed -nE 's/^([0-9]{2})-([0-9]{2})-([0-9]{4}) ([0-9:]{8}) - INFO - Plan for this hour.*/\3-\2-\1T\4Z/p' agent.log | head -1)
plan_s=$(date -u -d "$plan_at" +%s)
planned=$(paste <(hb_times) <(hb tasks_planned) | awk -v p="$plan_s" '$1 >= p { print $2 }')
expect_eq "$(echo "$planned" | sort -u)" "1i" "the one task planned"
if [ "$(echo "$planned" | wc -l)" -ge 8 ]; then ok; else bad "planned on too few points ($planned)"; fi
expect_eq "$(hb tasks_done | tr '\n' ' ')" "0i 0i 0i 0i 1i 1i 1i 1i 1i 1i " "done from the :26 point on"
expect_eq "$(hb skipped | tr '\n' ' ')" "0i 0i 0i 0i 1i 0i 0i 0i 0i 0i " "skips counted in their minute"
expect_eq "$(hb skipped_uploads_off | tr '\n' ' ')" "- - - - 1i - - - - - " "skip reason typed"
expect_eq "$(hb disk_guard | sort -u)" "0i" "disk guard not tripped"
if hb disk_free_bytes | grep -qvE '^[0-9]+i$'; then bad "disk_free_bytes on every point"; else ok; fi
expect_eq "$(hb spend_today_atto | sort -u)" "-" "no spend while uploads are off"
# The per-test lines are still there, and only the test's.
expect_eq "$(grep -c '^ant_agent,' cache/metrics.csv)" 1 "one test line"

# The kill-switch ON from the start, no task at all: still one point a
# minute, each naming the issue; uploads on: spend written (0 without a
# ledger).
rm -f cache/metrics.csv
cp "$ANT_SOURCE_DIR/tests/fixtures/github/issues-kill-switch-open.json" ks.json
echo "<Schedule></Schedule>" > control.xml
run_agent 2026-01-01T11:10:30Z 60 3m --set ALLOW_UPLOADS=true
expect_eq "$?" 0 "agent exit code (kill-switch ON)"
expect_eq "$(grep -c '^ant_agent_status,' cache/metrics.csv)" 3 "3 minutes: 3 points, no tasks"
expect_eq "$(hb killswitch_on | sort -u)" "1i" "kill-switch ON seen"
expect_eq "$(hb killswitch_issue | sort -u)" "42i" "the issue that turned it ON"
expect_eq "$(grep -c 'killswitch_state="on"' cache/metrics.csv)" 3 "reading on"
expect_eq "$(hb tasks_planned | sort -u)" "0i" "nothing planned"
expect_eq "$(hb spend_today_atto | sort -u)" "0i" "spend today 0 without a ledger"
finish

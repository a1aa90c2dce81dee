#!/usr/bin/env bash
# A control file that uses TaskRef 005 for two tasks (a real fleet mistake:
# a task copied and its ref left as it was). `validate` warns and the
# agent runs both: the repeat as 005b, its own task in the log, the
# metrics (task=005b) and the state file (key 1005). After a restart in
# the same hour neither one-shot task runs again, and the state keeps
# them apart.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 005 5 Download tiny 1 false; task 005 6 quote tiny 1 false
  task 007 7 Download small 1 false; echo "</Schedule>"; } > control.xml

"$agent" validate --control control.xml > validate.out 2>&1
expect_eq "$?" 0 "validate: a repeated TaskRef is only a warning"
expect_grep 'task 005b: warning: TaskRef 005 is already used by the task on line 2; this task runs as 005b' \
  validate.out "validate names the repeat and what it runs as"

# Run 1: :04 to :09.
run_agent 2026-01-01T10:04:00Z 60 5m
expect_eq "$?" 0 "run 1 exit code"
expect_grep 'Starting task 005: Download tiny' agent.log "005 started"
expect_grep 'Starting task 005b: Quote tiny' agent.log "005b started"
expect_grep 'Starting task 007' agent.log "007 started"
expect_eq "$(grep -c ',type=download,filesize=tiny,task=005,' cache/metrics.csv)" 1 "005's test tagged task=005"
expect_eq "$(grep -c ',type=quote,filesize=tiny,task=005b,' cache/metrics.csv)" 1 "005b's test tagged task=005b"
expect_grep '"ref": 5,' cache/state.json "state records 005"
expect_grep '"ref": 1005,' cache/state.json "state records 005b apart (key 1005)"
mv agent.log run1.log

# Run 2: restarted at :09 in the same hour; nothing runs again.
run_agent 2026-01-01T10:09:00Z 60 2m
expect_eq "$?" 0 "run 2 exit code"
expect_grep 'State file .*: 3 task record\(s\) for this hour' agent.log "state loaded, three records"
expect_grep 'Task 005 already started this hour' agent.log "005 not run again"
expect_grep 'Task 005b already started this hour' agent.log "005b not run again"
expect_no_grep 'Starting task 005' agent.log "neither 005 nor 005b started in run 2"
expect_eq "$(grep -c ',task=005b,' cache/metrics.csv)" 1 "still one 005b test"
finish

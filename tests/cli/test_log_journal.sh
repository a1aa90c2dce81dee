#!/usr/bin/env bash
# Logs that fit where they go. Under systemd (JOURNAL_STREAM names the
# agent's stderr) every line starts with its syslog priority and carries no
# timestamp; anywhere else lines keep the original format. The task table
# in the log fits 80 columns either way; "uploads off" is said once.
source "$(dirname "$0")/lib.sh"
fleet_init
{
  echo "<Schedule>"
  task 001 5 Download tiny 1 true | sed 's|<Description>test task 001</Description>|<Description>Download a tiny file from the network, again and again, to see how it goes</Description>|'
  task 002 6 Upload tiny 2 true
  echo "</Schedule>"
} > control.xml
echo 'MIN_FREE_MEM_MB=0' >> fleet.env

# --- under the journal: stderr is the stream JOURNAL_STREAM names ---------
: > journal.log
JOURNAL_STREAM=$(stat -c '%d:%i' journal.log) \
  "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" --log-level debug \
  --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 10m 2>> journal.log
expect_eq "$?" 0 "agent exit code under the journal"
expect_eq "$(grep -cvE '^<[2-7]>' journal.log)" 0 "every journal line starts with a priority"
expect_no_grep '^<[0-9]>[0-9]{2}-[0-9]{2}-[0-9]{4} ' journal.log "no timestamp in the journal"
expect_no_grep '^<[0-9]>(DEBUG|INFO|WARNING|ERROR|CRITICAL) - ' journal.log "no level word either: the priority says it"
expect_grep '^<6>Name: ant-agent \| Version: ' journal.log "info is <6>"
expect_grep '^<7>' journal.log "debug is <7>"
expect_grep '^<[46]>Task 001 worker 1: download tiny' journal.log "test results at info (warning when one failed)"
expect_grep '^<6>Uploads are off \(ALLOW_UPLOADS=false\)' journal.log "uploads off said at start-up"
expect_eq "$(grep -cE '^<[2-6]>.*ALLOW_UPLOADS' journal.log | tr -d ' ')" 1 "uploads off said once"
skipped=$(grep -c ',type=upload,.*status=skipped' cache/metrics.csv)
if [ "$skipped" -ge 2 ]; then ok; else bad "upload skips recorded ($skipped)"; fi
grep -E '^<6>[|+]' journal.log | awk 'length($0) > 80 + 3' > wide.txt
expect_eq "$(wc -l < wide.txt | tr -d ' ')" 0 "journal lines of the table fit 80 columns (after <N>)"
expect_grep '^<6>\| 001 ' journal.log "the plan table is in the journal, boxed"

# A warning and an error get their priorities: a control file that is gone.
rm -rf cache
mv control.xml control.gone
: > journal2.log
JOURNAL_STREAM=$(stat -c '%d:%i' journal2.log) \
  "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" \
  --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 2m 2>> journal2.log
expect_grep '^<[34]>.*control' journal2.log "a fetch failure is a warning or an error"
mv control.gone control.xml

# --- not the journal: JOURNAL_STREAM inherited, stderr elsewhere ----------
rm -rf cache
: > plain.log
JOURNAL_STREAM=$(stat -c '%d:%i' journal.log) \
  "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" \
  --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 10m 2>> plain.log
expect_eq "$?" 0 "agent exit code, plain"
expect_eq "$(grep -cvE '^[0-9]{2}-[0-9]{2}-[0-9]{4} [0-9:]{8} - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - ' plain.log)" 0 \
  "a stream that is not the journal keeps timestamps and level words"
grep -E ' - INFO - (Task +Mins|[0-9]{3}  |     )' plain.log | awk 'length($0) > 80' > wide2.txt
expect_eq "$(wc -l < wide2.txt | tr -d ' ')" 0 "the plan table fits 80 columns after the timestamp"
expect_grep ' - INFO - Task +Mins +Wkrs +Rep +Off +Type +Size +Description$' plain.log "narrow plan table heading"
expect_grep ' - INFO - 001 +5 +1 +true +0 +Download tiny +Download a$' plain.log "narrow plan table row"
expect_grep ' - INFO -  +tiny file$' plain.log "narrow plan table: the description wraps in its column"
expect_grep ' - INFO - Uploads are off' plain.log "uploads off said"
expect_eq "$(grep -c 'ALLOW_UPLOADS' plain.log | tr -d ' ')" 1 "uploads off said once"
finish

#!/usr/bin/env bash
# Resource guards and the purge of leftovers at refresh.
#  - memory under MIN_FREE_MEM_MB: each test is skipped and recorded with
#    status skipped and the reason; one warning an hour; a repeating worker
#    looks again a minute later, a one-shot task is skipped once;
#  - disk under MIN_FREE_DISK_GB: skipped, the worker ends;
#  - temporary downloads, seed files and old client logs of earlier runs
#    are removed at the start-up refresh, links are never followed.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 010 10 Download tiny 1 true; task 011 11 Quote tiny 1 false
  echo "</Schedule>"; } > control.xml

run_agent 2026-01-01T10:09:30Z 120 6m --set MIN_FREE_MEM_MB=1000000000
expect_eq "$?" 0 "memory guard run exit code"
expect_eq "$(grep -c 'WARNING - Tests are being skipped: memory guard: available memory' agent.log)" 1 "one memory warning"
metric_starts > starts.txt
expect_eq "$(awk '$3 == "011"' starts.txt | awk '{print $4}' | sort -u)" skipped "011 skipped"
expect_eq "$(awk '$3 == "011"' starts.txt | wc -l)" 1 "one-shot skipped once"
n=$(awk '$3 == "010" && $4 == "skipped"' starts.txt | wc -l)
if [ "$n" -ge 4 ] && [ "$n" -le 6 ]; then ok; else bad "repeating worker checked about once a minute over 5 min (got $n)"; fi
expect_eq "$(awk '$4 != "skipped"' starts.txt | wc -l)" 0 "no test ran"
expect_grep 'status=skipped .*reason="memory guard: available memory [0-9]+ MB, MIN_FREE_MEM_MB 1000000000"' cache/metrics.csv "reason in the metric"
expect_eq "$(pgrep -f "$work" | wc -l)" 0 "nothing left running"

rm -f cache/metrics.csv
run_agent 2026-01-01T10:09:30Z 120 3m --set MIN_FREE_DISK_GB=1000000
expect_eq "$(grep -c 'WARNING - Tests are being skipped: disk guard: free disk' agent.log)" 1 "one disk warning"
metric_starts > starts.txt
expect_eq "$(awk '$3 == "010" && $4 == "skipped"' starts.txt | wc -l)" 1 "disk guard ends the repeating worker"
expect_grep 'reason="disk guard: free disk' cache/metrics.csv "disk reason in the metric"

# Leftovers of an earlier run, and things that must survive.
mkdir -p outside cache/downloads/ant-dl-old1/sub cache/seeds logs/run1 logs/run2
echo precious > outside/keep.txt
head -c 1000 /dev/zero > cache/downloads/ant-dl-old1/sub/data
ln -s "$work/outside" cache/downloads/ant-dl-old1/sub/escape
ln -s "$work/outside" cache/downloads/ant-dl-link
echo mine > cache/downloads/not-ours.txt
head -c 5000 /dev/zero > cache/seeds/task-011-5.bin
ln -s "$work/outside/keep.txt" cache/seeds/task-link.bin
touch logs/.ant-agent-client-logs  # the mark of a log directory the agent made
echo mine > cache/seeds/notes.txt  # a file the agent did not make
head -c 700000 /dev/zero > logs/run1/old.log; touch -d '3 hours ago' logs/run1/old.log
head -c 700000 /dev/zero > logs/run2/new.log; touch -d '1 hour ago' logs/run2/new.log
ln -s "$work/outside/keep.txt" logs/link.log
run_agent 2026-01-01T10:30:00Z 120 1m --set CLIENT_LOGGING_PATH="$work/logs" --set CLIENT_LOG_KEEP_MB=1
expect_eq "$?" 0 "purge run exit code"
expect_grep 'Purged leftovers of earlier runs: 6 file\(s\), 3 directory\(ies\)' agent.log "purge logged"
[ ! -e cache/downloads/ant-dl-old1 ] && [ ! -L cache/downloads/ant-dl-link ] && ok || bad "temporary downloads purged"
[ -f cache/downloads/not-ours.txt ] && ok || bad "other files in the download directory kept"
[ -z "$(ls -A cache/seeds | grep -v '^notes.txt$')" ] && ok || bad "seed files purged"
[ -f cache/seeds/notes.txt ] && ok || bad "other files in the seed directory kept"
[ ! -e logs/run1 ] && [ -f logs/run2/new.log ] && [ -L logs/link.log ] && ok || bad "oldest client log purged, newest and links kept"
expect_eq "$(cat outside/keep.txt)" precious "nothing outside touched"
finish

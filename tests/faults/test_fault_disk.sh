#!/usr/bin/env bash
# Disks that fail: the metrics file on a full device (ENOSPC from
# /dev/full), a file-size limit (RLIMIT_FSIZE) that fills the disk in the
# middle of a flush and of downloads, and cache directories that cannot be
# created. Tests run as root in CI, where permissions stop nothing, so an
# unwritable directory is one whose parent is a regular file (ENOTDIR).
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client
export ANT_SIM_LOG=/dev/null
cat >> fleet.env <<X
DOWNLOAD_YIELD_SECS=5
QUOTE_YIELD_SECS=5
MIN_FREE_MEM_MB=0
X
{
  echo "<Schedule>"
  task 001 5 Download tiny 2 true
  task 002 6 quote tiny 1 true
  echo "</Schedule>"
} > control.xml
result_re='Task [0-9]+ worker [0-9]+( attempt [0-9]+)?: (download|quote|upload) '
cp fleet.env base.env

# ---- The metrics file on a full device ----
echo "METRICS_FILE=/dev/full" >> fleet.env
run_agent 2026-01-01T10:03:30Z 120 5m
expect_eq "$?" 0 "ENOSPC: exit code"
expect_grep 'metrics: writing /dev/full failed after 0 of [0-9]+ bytes: No space left on device' agent.log "ENOSPC: the failed write is logged"
first=$(grep -nm1 'writing /dev/full failed' agent.log | cut -d: -f1)
after=$(tail -n +"$first" agent.log | grep -cE "$result_re")
if [ "$after" -gt 3 ]; then ok; else bad "ENOSPC: tests stopped after the write failed ($after)"; fi
expect_grep 'metrics: [0-9]+ records could not be written at shutdown' agent.log "ENOSPC: unwritten records reported at stop"
expect_whole_lines cache/summary.csv "ENOSPC (summary file elsewhere)"

# ---- The disk fills up in the middle of a flush, then space comes back ----
# RLIMIT_FSIZE on the running agent stands in for a full disk: write()
# stops at the limit with EFBIG (the agent ignores SIGXFSZ itself),
# part-way through a flush. Clients started meanwhile inherit the
# limit, so downloads fill the disk too. The log goes through a pipe,
# which the limit does not reach.
cp base.env fleet.env
rm -rf cache; : > agent.log; : > "$FAULT_CALLS"
( exec "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" \
    --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 50m ) \
  2> >(cat >> agent.log) > /dev/null &
agent_pid=$!
# The agent runs until it is stopped (not for a fixed time), so a slow
# build (sanitizers) cannot end it before the disk fills.
for _ in $(seq 600); do
  n=$(grep -c '^ant_agent,' cache/metrics.csv 2>/dev/null); [ "${n:-0}" -ge 10 ] && break; sleep 0.1
done
if [ "${n:-0}" -lt 10 ]; then
  bad "disk full mid-flush: fewer than 10 tests written in 60 s ($n)"; finish; exit 1
fi
size=$(stat -c %s cache/metrics.csv)
# Only the soft limit: lowering the hard one could not be undone here.
prlimit --pid "$agent_pid" --fsize=$((size + 150)):unlimited || bad "RLIMIT_FSIZE could not be set"
wait_log 1 'metrics: writing .*metrics.csv failed after' 60 || bad "RLIMIT_FSIZE: no failed write"
wait_log 1 'Task 001 worker [12] attempt [0-9]+: download tiny unknown_error' 60 || bad "no download failed on the full disk"
prlimit --pid "$agent_pid" --fsize=unlimited
# Space is back: let a few more tests run and be written, then stop.
done_at=$(count_log "$result_re")
wait_log $((done_at + 4)) "$result_re" 60 || bad "no tests ran once space came back"
kill -TERM "$agent_pid"
wait_agent 60; rc=$?
sleep 0.2
expect_eq "$rc" 0 "disk full mid-flush: exit code"
expect_grep 'metrics: writing .*metrics.csv failed after [0-9]+ of [0-9]+ bytes: File too large' agent.log "disk full mid-flush: short write logged"
expect_whole_lines cache/metrics.csv "disk full mid-flush"
expect_whole_lines cache/summary.csv "disk full mid-flush"
lines=$(grep -c '^ant_agent,' cache/metrics.csv)
expect_eq "$lines" "$(grep -cE "$result_re" agent.log)" "disk full mid-flush: every test written once space came back"
expect_eq "$(sort cache/metrics.csv | uniq -d | wc -l)" 0 "disk full mid-flush: no line twice"
if grep -qE 'Task 001 .*download tiny (unknown_error|client_error)' agent.log; then ok
else bad "a download on the full disk did not fail"; fi
expect_eq "$(find cache/downloads -mindepth 1 | wc -l)" 0 "disk full: no partial download left"

# ---- Cache directories that cannot be made ----
echo "a file, not a directory" > afile
cp base.env fleet.env
sed -i "s#^CACHE_DIR=.*#CACHE_DIR=$work/afile/cache#" fleet.env
: > agent.log
run_agent 2026-01-01T10:03:30Z 120 3m
rc=$?
if [ "$rc" -ne 0 ]; then ok; else bad "CACHE_DIR under a file: the agent ran"; fi
expect_grep "CRITICAL|ERROR.*afile/cache.*Not a directory" agent.log "CACHE_DIR under a file: a clear error"
expect_no_grep "$result_re" agent.log "CACHE_DIR under a file: no test ran"

# The catalogue cache files cannot be written: the fetched copy is used.
cp base.env fleet.env
sed -i -e "s#^CACHE_FILE=.*#CACHE_FILE=$work/afile/dl.csv#" -e "s#^CACHE_INFO_FILE=.*#CACHE_INFO_FILE=$work/afile/dl.meta#" fleet.env
rm -rf cache; : > agent.log
run_agent 2026-01-01T10:03:30Z 120 3m
expect_eq "$?" 0 "catalogue cache unwritable: exit code"
expect_grep 'download catalogue: cannot write the cache .*afile/dl.csv' agent.log "catalogue cache unwritable: warned"
expect_grep 'Task 001 worker [12]: download tiny ok' agent.log "catalogue cache unwritable: downloads still run"

# The download directory cannot be made: downloads fail cleanly, quotes go on.
cp base.env fleet.env
sed -i "s#^CLIENT_DOWNLOAD_PATH=.*#CLIENT_DOWNLOAD_PATH=$work/afile/downloads#" fleet.env
rm -rf cache; : > agent.log; : > "$FAULT_CALLS"
run_agent 2026-01-01T10:03:30Z 120 3m
expect_eq "$?" 0 "download directory unwritable: exit code"
# The disk guard cannot measure the place downloads go, so tests are
# skipped (and recorded as skipped), and no client is started.
expect_grep 'Tests are being skipped: disk guard: .*afile/downloads.*Not a directory' agent.log "download directory unwritable: skips explained"
expect_eq "$(calls_of ' file ')" 0 "download directory unwritable: no client started"
expect_eq "$(grep -c 'status=skipped' cache/metrics.csv)" "$(grep -c '^ant_agent,' cache/metrics.csv)" "download directory unwritable: every test recorded as skipped"
if [ "$(grep -c '^ant_agent,' cache/metrics.csv)" -ge 2 ]; then ok; else bad "download directory unwritable: skips not recorded"; fi
expect_whole_lines cache/metrics.csv "download directory unwritable"
expect_eq "$(cat afile)" "a file, not a directory" "the file in the way is untouched"
finish

#!/usr/bin/env bash
# Client faults, one whole agent hour on the virtual clock: every fault of
# the client gets its own task (fault-client.sh picks the fault by task or
# address), so each check reads only its task's metric lines. The client
# hangs (three ways), crashes, kills itself, panics, prints garbage or
# endless output, is slow, lies, exits with every documented exit code,
# corrupts a download or swaps it for a link outside the agent's directory.
# Every client call must be in the metrics, and the files hold whole lines.
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client

# A download catalogue with one row per size class, each a real file in
# the ant-sim store, so the class picks the fault.
add_dl() { # CLASS SEED -> row, address in $addr
  local md5
  md5=$("$agent" seedfile --seed "$2" --size 20000 -o "$work/f.bin" | awk '{print $1}')
  addr=$(ANT_SIM_LOG=/dev/null "$sim" --log-output-dest "$work/simlogs" file upload "$work/f.bin" --public |
         sed -n 's/^At address: *//p')
  rm -f "$work/f.bin"
  echo "$1,file-$1.bin,$addr,$md5" >> downloads.csv
}
echo "fileSize,name,address,md5" > downloads.csv
add_dl small 101;  fault "$addr" cycle 31 32 33 34 13 0
add_dl medium 102; fault "$addr" corrupt
add_dl large 103;  fault "$addr" kind legacy-data
add_dl huge 104;   fault "$addr" liar
echo "keep me" > precious; mkdir victim; echo "keep me too" > victim/file
add_dl giga 105;   fault "$addr" symlink-file "$work/precious"
add_dl tiny 106;   fault "$addr" symlink-dir "$work/victim"
add_dl chunka 107; fault "$addr" record-modes
add_dl chunkb 108; fault "$addr" kind bootstrap

codes="2 6 11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 51 52 53 54 55 56 57 58 59 60 61 62 101"
fault task-005 cycle $codes
fault task-007 hang
fault task-008 stubborn
fault task-009 fork
fault task-010 crash
fault task-011 selfkill
fault task-012 panic
fault task-013 garbage
fault task-014 endless-out
fault task-015 endless-err
fault task-016 slow 1500
fault task-017 kind legacy-network
fault task-018 kind legacy
fault task-019 noout
fault task-027 record-modes
fault task-029 ok
fault task-030 kind network
{
  echo "<Schedule>"
  task 005 5 quote tiny 1 true
  task 006 6 download small 1 true
  for t in 007 008 009 014 015; do task $t ${t#0} quote tiny 1 false 0 60; done
  for t in 010 011 012 013 016 017 018 019 027 029; do task $t ${t#0} quote tiny 1 false; done
  task 021 21 download medium 1 false
  task 022 22 download large 1 false
  task 023 23 download huge 1 false
  task 024 24 download giga 1 false
  task 025 25 download tiny 1 false
  task 026 26 download chunka 1 false
  task 028 28 download chunkb 1 false
  task 030 30 quote tiny 1 false 0 3600 2
  echo "</Schedule>"
} > control.xml
# Short yields: the exit-code cycles need 35 and 6 calls; this gives
# them well over a hundred each, even on a slow machine.
cat >> fleet.env <<X
QUOTE_YIELD_SECS=10
DOWNLOAD_YIELD_SECS=10
CLIENT_KILL_GRACE_SECS=5
DOWNLOAD_RATE_LIMIT=100000
QUOTE_RATE_LIMIT=100000
MIN_FREE_MEM_MB=0
X

# :04 to :56 at 120x: about 26 s.
run_agent 2026-01-01T10:04:00Z 120 52m
expect_eq "$?" 0 "agent exit code"
m=cache/metrics.csv
expect_whole_lines "$m" "client faults"
expect_whole_lines cache/summary.csv "client faults"

# Every client call is one metric line, task by task.
total_calls=$(calls_of ' file ')
total_lines=$(grep -c '^ant_agent,' $m)
expect_eq "$total_lines" "$total_calls" "one metric line per client call"
small_addr=$(sed -n 's/^small,[^,]*,\([^,]*\),.*/\1/p' downloads.csv)
expect_eq "$(metric_lines 005)" "$(calls_of '/task-005-')" "task 005: metric lines = client calls"
expect_eq "$(metric_lines 006)" "$(calls_of "download $small_addr ")" "task 006: metric lines = client calls"
expect_eq "$(metric_lines 030)" 3 "task 030: metric lines = client calls (1 + 2 retries)"
for t in 007 008 009 010 011 012 013 014 015 016 017 018 019 021 022 023 024 025 026 027 028 029; do
  expect_eq "$(metric_lines $t)" 1 "task $t: one metric line for its one call"
done
status_of() { metric_lines "$1" > /dev/null; grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*,status=([a-z_]+).*/\1/p' | sort | uniq | tr '\n' ' '; }
st() { expect_eq "$(status_of "$1")" "$2 " "task $1 ($3): status"; }
st 007 killed "hang, timeout"
st 008 killed "ignores SIGTERM"
st 009 killed "forks a grandchild"
st 010 unknown_error "SIGSEGV"
st 011 unknown_error "SIGKILL of its own"
st 012 client_error "panic"
st 013 unknown_error "garbage output"
st 014 killed "endless stdout"
st 015 killed "endless stderr"
st 016 ok "slow"
st 017 network_error "legacy exit 1, network text"
st 018 unknown_error "legacy exit 1, unknown text"
st 019 unknown_error "exit 0, no output"
st 021 data_loss "corrupt download"
st 022 data_loss "legacy exit 1, record not found"
st 028 network_error "bootstrap failure"
st 029 ok "baseline"
st 030 network_error "network failure, retried"
expect_eq "$(metric_field 030 attempt | tr '\n' ' ')" "1i 2i 3i " "task 030: every attempt recorded"
expect_eq "$(metric_field 021 md5valid)" "0i" "corrupt download: md5valid=0"
expect_eq "$(metric_field 012 exit_code)" "101i" "panic: exit code 101"
expect_eq "$(metric_field 010 exit_code)" "-1i" "crash: no exit code"
expect_grep 'Task 010 worker 1 attempt 1: quote tiny unknown_error.*signal 11' agent.log "crash reason logged"
expect_eq "$(metric_field 007 client_kill)" "1i" "hang: client_kill=1"
slow=$(metric_field 016 exec_time)
if awk -v s="$slow" 'BEGIN { exit !(s >= 1.5) }'; then ok; else bad "slow client: exec_time $slow < 1.5 s"; fi

# The forked grandchild went with its process group.
for p in faults/fork-*.pid; do
  [ -s "$p" ] || continue
  if kill -0 "$(cat "$p")" 2>/dev/null; then bad "grandchild $(cat "$p") still alive"; else ok; fi
done
expect_eq "$(ls faults/fork-*.pid 2>/dev/null | wc -l)" 1 "fork pidfile written"

# A lying client (success line, no file) and links outside: never ok, and
# nothing outside the agent's directory is touched.
s=$(status_of 023); if [ "$s" != "ok " ]; then ok; else bad "liar download counted as ok"; fi
s=$(status_of 024); if [ "$s" != "ok " ]; then ok; else bad "download linked to a file outside counted as ok"; fi
expect_eq "$(cat precious 2>/dev/null)" "keep me" "file behind a download link is intact"
expect_eq "$(cat victim/file 2>/dev/null)" "keep me too" "directory behind a swapped temp dir is intact"
s=$(status_of 025); if [ "$s" != "ok " ]; then ok; else bad "download in a swapped temp dir counted as ok"; fi

# Private places: the download directory 0700, the seed file 0600.
expect_eq "$(sort -u faults/modes.dl 2>/dev/null | awk '{print $1}')" "700" "download directory mode"
expect_eq "$(sort -u faults/modes.seed 2>/dev/null | awk '{print $1}')" "600" "seed file mode"
expect_eq "$(status_of 026)" "ok " "download checked for modes: ok"

# Every documented exit code, classified as docs/CLIENT.md says.
expected_quote() { case $1 in
  0) echo ok ;; 2|6|11|12|15|21|22|35|36|42|52|53|55|58|60|61|62|101) echo client_error ;;
  13|14|23|3[1-4]|37|41|44|45|51|54|56|57|59) echo network_error ;; *) echo unknown_error ;; esac; }
expected_download() { case $1 in 11|3[1-4]) echo data_loss ;; *) expected_quote "$1" ;; esac; }
check_cycle() { # TASK KIND
  local t=$1 kind=$2 seen=0 wrong=0 code status want
  while read -r code status; do
    want=$(expected_$kind "$code")
    seen=$((seen + 1))
    [ "$status" = "$want" ] || { wrong=$((wrong + 1)); echo "    code $code: $status, want $want" >&2; }
  done < <(awk -v t="$t" '$1 ~ ",task=" t "(,|$)" {
             st = $1; sub(/.*,status=/, "", st); sub(/,.*/, "", st);
             c = $2; sub(/.*(^|,)exit_code=/, "", c); sub(/i.*/, "", c); print c, st }' $m)
  expect_eq "$wrong" 0 "task $t: exit codes classified as documented"
  echo "$seen"
}
n5=$(check_cycle 005 quote)
for c in $codes; do
  if grep -E "^ant_agent,.*,task=005(,| )" $m | grep -q "exit_code=${c}i"; then ok; else bad "exit code $c never seen"; fi
done
n6=$(check_cycle 006 download)
for c in 31 32 33 34 13 0; do
  if grep -E "^ant_agent,.*,task=006(,| )" $m | grep -q "exit_code=${c}i"; then ok; else bad "download exit code $c never seen"; fi
done
echo "exit-code cycles: quote $n5 calls, download $n6 calls"
expect_eq "$(pgrep -f "$work/" | wc -l)" 0 "no client of this test left running"
expect_eq "$(find cache/downloads -mindepth 1 2>/dev/null | wc -l)" 0 "no temporary download data left"
finish

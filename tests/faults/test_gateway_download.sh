#!/usr/bin/env bash
# Downloads through an AntTP gateway (DOWNLOAD_VIA=anttp, ANTTP_URL), one
# whole agent hour on the virtual clock against tests/tools/anttpd.py
# serving ant-sim's store on loopback: no client runs for a download, the
# body streams through MD5 (no file is written under CLIENT_DOWNLOAD_PATH),
# points carry gateway=1, and the outcome reads from HTTP: 404 data_loss,
# 500 and a gateway that never answers (the task's timeout) network_error,
# a body past its size class or with a wrong MD5 data_loss; a transfer
# still running at the hour's end is dropped (stopped). Quotes still go
# through the client.
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client
anttpd_pid=""
trap 'kill "$anttpd_pid" 2>/dev/null; cleanup_faults' EXIT
python3 "$ANT_SOURCE_DIR/tests/tools/anttpd.py" --store "$work/store" --port-file "$work/anttp.port" \
  --log "$work/anttp.log" &
anttpd_pid=$!
for _ in $(seq 100); do [ -s "$work/anttp.port" ] && break; sleep 0.1; done
gw="http://127.0.0.1:$(cat "$work/anttp.port")"
set_mode() { curl -s --max-time 5 "$gw/_set?address=$1&mode=$2" > /dev/null; }

t2=$(sed -n 's/^tiny,t2.bin,\([0-9a-f]*\),.*/\1/p' downloads.csv)
t2md5=$(sed -n 's/^tiny,t2.bin,[0-9a-f]*,\([0-9a-f]*\).*/\1/p' downloads.csv)
s1=$(sed -n 's/^small,s1.bin,\([0-9a-f]*\),.*/\1/p' downloads.csv)
lost=$(printf 'ab%.0s' $(seq 32))
corrupt=$(printf 'cd%.0s' $(seq 32)); cp "store/$t2" "store/$corrupt"
big=$(printf 'ef%.0s' $(seq 32)); cp "store/$t2" "store/$big"
hang=$(printf '12%.0s' $(seq 32)); cp "store/$t2" "store/$hang"
{
  echo "medium,lost.bin,$lost,0"
  echo "large,corrupt.bin,$corrupt,$t2md5"
  echo "chunka,big.bin,$big,$t2md5"
  echo "giga,hang.bin,$hang,$t2md5"
} >> downloads.csv
# tiny: t1 and t2 as they are; small: the gateway fails with 500.
set_mode "$s1" 500
set_mode "$corrupt" corrupt
set_mode "$big" big
set_mode "$hang" hang
{
  echo "<Schedule>"
  task 005 5 download tiny 2 true
  task 006 6 download medium 1 false
  task 007 7 download small 1 false
  task 008 8 download large 1 false
  task 009 9 download chunka 1 false
  task 010 10 download giga 1 false 0 120
  task 011 11 quote tiny 1 false
  task 012 50 download giga 1 false 0 3600
  echo "</Schedule>"
} > control.xml
cat >> fleet.env <<X
DOWNLOAD_VIA=anttp
ANTTP_URL=$gw/
DOWNLOAD_YIELD_SECS=60
MIN_FREE_MEM_MB=0
X

run_agent 2026-01-01T10:04:00Z 120 56m
expect_eq "$?" 0 "agent exit code"
m=cache/metrics.csv
expect_whole_lines "$m" "gateway hour"
status_of() { grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*,status=([a-z_]+).*/\1/p' | sort -u | tr '\n' ' '; }
st() { expect_eq "$(status_of "$1")" "$2 " "task $1 ($3): status"; }
st 005 ok "downloads through the gateway"
st 006 data_loss "404"
st 007 network_error "500"
st 008 data_loss "wrong MD5"
st 009 data_loss "body past its size class"
st 010 network_error "no answer within the task's timeout"
st 011 ok "quote through the client"
st 012 stopped "a transfer still running at the hour's end is dropped"
expect_grep 'Task 010 worker 1 attempt 1: download giga network_error.*gateway: no complete answer in time' agent.log "the timeout named"
# Stopped from :58 after running since :50 (4 s of real time at 120x): the
# time it ran is kept, not 0.
expect_grep 'Task 012 worker 1 attempt 1: download giga stopped after ([1-9]|0\.[1-9])[0-9.]* s' agent.log \
  "the stopped transfer's time kept"
expect_grep 'Task 008 worker 1 attempt 1: download large data_loss.*gateway: MD5 mismatch' agent.log "MD5 mismatch named"
expect_grep "Task 009 worker 1 attempt 1: download chunka data_loss.*larger than its size class" agent.log "the size cap named"

n=$(grep -cE '^ant_agent,.*,task=005(,| )' $m)
if [ "$n" -gt 4 ]; then ok; else bad "only $n gateway downloads"; fi
expect_eq "$(grep -E '^ant_agent,.*,task=005(,| )' $m | grep -c 'md5checker=1i,md5valid=1i')" "$n" "every gateway download MD5-checked and valid"
expect_eq "$(grep -E '^ant_agent,.*,task=005(,| )' $m | grep -vc 'gateway=1i')" 0 "gateway=1 on every gateway download"
expect_eq "$(grep -E '^ant_agent,.*,task=005(,| )' $m | grep -Ec 'bytes=(20000|30000)i')" "$n" "bytes of every gateway download"
expect_eq "$(grep -E '^ant_agent,.*,task=011(,| )' $m | grep -c 'gateway=')" 0 "quotes are not gateway points"
# No client ran for a download, no file was written for one.
expect_eq "$(calls_of ' download ')" 0 "no client call for a download"
expect_eq "$(grep -c "^GET /$lost$" anttp.log)" 1 "the gateway was asked for the lost address"
expect_eq "$(find cache/downloads -mindepth 1 2>/dev/null | wc -l)" 0 "nothing written under CLIENT_DOWNLOAD_PATH"
finish

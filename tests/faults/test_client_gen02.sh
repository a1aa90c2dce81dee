#!/usr/bin/env bash
# The ant 0.2.x client generation, one whole agent hour on the virtual
# clock against ant-sim speaking like ant 0.2.1-rc.1: the agent detects it
# from `--version`, drives it with its own argv (--json and -b before
# `file`, `download ADDR -o FILE`), reads exact costs and gas from its JSON
# and classifies its one-line `Error:` texts: downloads checked by MD5, a
# data map not found (data_loss), quotes with their exact cost and gas,
# uploads with address, chunk counts and gas, content already stored,
# not enough quotes and no peers (network_error), a usage error and a panic
# (client_error). A client whose --version no generation knows stops the
# agent at start-up with exit 2 and a message naming CLIENT_GENERATION.
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client
export ANT_SIM_GENERATION=0.2
export HOME="$work/home"
mkdir -p "$HOME"

peers="/ip4/127.0.0.1/udp/12000/quic-v1/p2p/12D3KooWPArH2XAw2sapcthNNcJRbbSuUtC3eBZrJtxi8DfcN1Yn,/ip6/::1/udp/12001/quic-v1"
lost=$(printf 'ab%.0s' $(seq 32))
echo "medium,lost.bin,$lost,0" >> downloads.csv
fault task-010 kind quotes
fault task-011 kind connect
fault task-012 kind usage
fault task-013 panic
{
  echo "<Schedule>"
  task 005 5 download tiny 2 true
  task 006 6 download medium 1 true
  task 007 7 quote tiny 1 true
  task 008 8 upload small 1 false
  task 009 9 upload small 1 false
  task 010 10 upload tiny 1 false
  task 011 11 quote tiny 1 false
  task 012 12 quote tiny 1 false
  task 013 13 quote tiny 1 false
  echo "</Schedule>"
} > control.xml
cat >> fleet.env <<X
ALLOW_UPLOADS=true
UPLOAD_BUDGET_DAY=1 ANT
UPLOAD_BUDGET_MONTH=10 ANT
SECRET_KEY=0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
CLIENT_PEERS=$peers
DOWNLOAD_YIELD_SECS=60
QUOTE_YIELD_SECS=60
MIN_FREE_MEM_MB=0
X

run_agent 2026-01-01T10:04:00Z 120 56m
expect_eq "$?" 0 "agent exit code"
expect_grep 'Found client: ant 0\.2\.1-rc\.1 .*driven as ant 0\.2\.x' agent.log "detected as the 0.2.x generation"
m=cache/metrics.csv
expect_whole_lines "$m" "0.2.x hour"

status_of() { grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*,status=([a-z_]+).*/\1/p' | sort -u | tr '\n' ' '; }
codes_of() { grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*[ ,]exit_code=(-?[0-9]+)i.*/\1/p' | sort -u | tr '\n' ' '; }
st() { expect_eq "$(status_of "$1")" "$2 " "task $1 ($4): status"; expect_eq "$(codes_of "$1")" "$3 " "task $1 ($4): exit code"; }
st 005 ok 0 "downloads"
st 006 data_loss 1 "data map not found"
st 007 ok 0 "quotes"
st 008 ok 0 "upload"
st 009 ok 0 "a second upload task of the same size"
st 010 network_error 1 "not enough quotes"
st 011 network_error 1 "no peers"
st 012 client_error 2 "usage error"
st 013 client_error 101 "panic"
expect_grep 'Task 006 worker 1 attempt 1: download medium data_loss.*data map not found' agent.log "the Error text decided data_loss"
expect_grep 'Task 010 worker 1 attempt 1: upload tiny network_error.*not enough peers or quotes' agent.log "not enough quotes named"

# Downloads were checked by MD5.
n=$(grep -cE '^ant_agent,.*,task=005(,| )' $m)
if [ "$n" -gt 4 ]; then ok; else bad "only $n downloads"; fi
expect_eq "$(grep -E '^ant_agent,.*,task=005(,| )' $m | grep -c 'md5checker=1i,md5valid=1i')" "$n" "every download MD5-checked and valid"

# Exact cost and gas from the JSON strings.
expect_eq "$(grep -E '^ant_agent,.*,task=007(,| )' $m | grep -vc ' .*cost_atto=9000000000000i.*gas_wei=150000000000000i')" 0 "quote: cost_atto and gas_wei exact"
up=$(grep -E '^ant_agent,.*,task=008(,| )' $m)
case "$up" in *cost_atto=9000000000000i*gas_wei=3000000000000i*chunks_stored=4i*chunks_existing=0i*) ok ;; *) bad "upload: cost, gas or chunk counts ($up)" ;; esac
addr=$(echo "$up" | sed -nE 's/.*address="([0-9a-f]{64})".*/\1/p')
if [ -n "$addr" ] && [ -f "store/$addr" ]; then ok; else bad "upload: no stored address ($up)"; fi
# Task 009 uploads the same size class as 008, but every upload is content
# of its own (docs/UPLOADS.md): a new store, paid, at another address. (The
# 0.2.x "already stored" answer is replayed from its transcripts in
# unit.test_client_gen.)
again=$(grep -E '^ant_agent,.*,task=009(,| )' $m)
case "$again" in *cost_atto=9000000000000i*chunks_stored=4i*chunks_existing=0i*already_stored=0i*) ok ;; *) bad "second upload: not a new paid store ($again)" ;; esac
addr2=$(echo "$again" | sed -nE 's/.*address="([0-9a-f]{64})".*/\1/p')
if [ -n "$addr2" ] && [ "$addr2" != "$addr" ]; then ok; else bad "second upload: same address as the first ($again)"; fi

# The client version tag on every point.
n=$(grep -c '^ant_agent,' $m)
expect_eq "$(grep -c '^ant_agent,.*,client_version=0\.2\.1-rc\.1,' $m)" "$n" "client_version=0.2.1-rc.1 on every point"

# argv: --json and -b before `file`, peers as IP:PORT; downloads with -o.
calls=$(grep -c ' argv: .* file ' sim.log)
expect_eq "$(grep ' argv: .* file ' sim.log | grep -vc -- ' argv: --json -b 127\.0\.0\.1:12000,\[::1\]:12001 file ')" 0 "--json and -b before file on every call"
expect_eq "$(grep ' argv: .* file download ' sim.log | grep -vcE -- ' file download [0-9a-f]{64} -o /')" 0 "downloads as 'download ADDR -o FILE'"
expect_eq "$(grep -c -- '--log-output-dest\|--disable-cache\|--peer' sim.log)" 0 "no 0.5.x flags"
if [ "$calls" -gt 10 ]; then ok; else bad "only $calls calls"; fi

# A --version answer no generation knows: exit 2, the message names the
# setting that overrides the detection, no test runs.
: > calls.log
ANT_SIM_VERSION_STYLE=old run_agent 2026-01-01T10:04:00Z 120 2m
expect_eq "$?" 2 "unknown client generation: exit 2"
expect_grep "autonomi-cli 0\.1\.5.*set CLIENT_GENERATION" agent.log "unknown version: the error names CLIENT_GENERATION"
expect_eq "$(grep -c ' file ' calls.log)" 0 "unknown version: no test ran"
finish

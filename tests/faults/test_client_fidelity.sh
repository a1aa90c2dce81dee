#!/usr/bin/env bash
# Client fidelity, one whole agent hour on the virtual clock against
# ant-sim speaking like ant 0.5.2, with the real client's failure shapes:
# the network cannot quote during an upload (exit 23), a quote times out
# (`file cost` exits 1 with an Error: report), a usage error (exit 2) and
# a record the network does not have (exit 33). The metrics carry the
# right statuses and both versions; every download bypasses the client's
# cache; CLIENT_PEERS reaches every call as ANT_PEERS; every call logs
# into its own directory under the agent's cache and nothing lands in
# $HOME. A CLIENT_PEERS entry that is not a multiaddr stops the agent
# before anything runs, and a client version no generation knows is refused
# unless CLIENT_GENERATION names one.
source "$(dirname "$0")/lib.sh"
fleet_init
use_fault_client
# The client's home: the real client would log (and cache) under it.
export HOME="$work/home"
mkdir -p "$HOME"

peers="/ip4/127.0.0.1/udp/12000/quic-v1/p2p/12D3KooWPArH2XAw2sapcthNNcJRbbSuUtC3eBZrJtxi8DfcN1Yn,/ip6/::1/udp/12001/quic-v1"
lost=$(printf 'ab%.0s' $(seq 32))
echo "medium,lost.bin,$lost,0" >> downloads.csv
fault task-010 kind quotes
fault task-011 kind quote-timeout
fault task-012 kind usage
{
  echo "<Schedule>"
  task 005 5 download tiny 2 true
  task 006 6 download medium 1 true
  task 007 7 quote tiny 1 true
  task 008 8 upload small 1 false
  task 010 10 upload tiny 1 false
  task 011 11 quote tiny 1 false
  task 012 12 quote tiny 1 false
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
m=cache/metrics.csv
expect_whole_lines "$m" "fidelity hour"

status_of() { grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*,status=([a-z_]+).*/\1/p' | sort -u | tr '\n' ' '; }
codes_of() { grep -E "^ant_agent,.*,task=$1(,| )" $m | sed -nE 's/.*[ ,]exit_code=(-?[0-9]+)i.*/\1/p' | sort -u | tr '\n' ' '; }
st() { expect_eq "$(status_of "$1")" "$2 " "task $1 ($4): status"; expect_eq "$(codes_of "$1")" "$3 " "task $1 ($4): exit code"; }
st 005 ok 0 "downloads"
st 006 data_loss 33 "record not found"
st 007 ok 0 "quotes"
st 008 ok 0 "upload"
st 010 network_error 23 "the network cannot quote an upload"
st 011 network_error 1 "a quote times out"
st 012 client_error 2 "usage error"
expect_grep 'Task 011 worker 1 attempt 1: quote tiny network_error.*get closest peers timed out' agent.log "quote timeout: the text decided"
expect_grep 'Task 010 worker 1 attempt 1: upload tiny network_error.*exit code 23' agent.log "exit 23 named in the log"

# Costs are exact integers of atto; uploads say what they stored.
expect_eq "$(grep -E '^ant_agent,.*,task=007(,| )' $m | grep -vc ' .*cost_atto=3000000000000i')" 0 "quote: cost_atto exact"
up=$(grep -E '^ant_agent,.*,task=008(,| )' $m)
case "$up" in *chunks_stored=4i*chunks_existing=0i*) ok ;; *) bad "upload: chunk counts missing ($up)" ;; esac
case "$up" in *cost_atto=4000000000000i*) ok ;; *) bad "upload: cost_atto missing ($up)" ;; esac

# Which agent and which client made every point, summaries included.
ver=$("$agent" --version | sed -n 's/.*| Version: \([^ |]*\) .*/\1/p')
for f in $m cache/summary.csv; do
  n=$(grep -c '^ant_agent' $f)
  expect_eq "$(grep -c "^ant_agent[a-z_]*,.*,agent_version=[^,]*,client_version=0\.5\.2," $f)" "$n" "$f: agent_version and client_version on every line"
done
expect_grep "^ant_agent,.*,agent_version=$ver," $m "agent_version is this build's"

# Every download bypassed the client's cache.
downloads=$(grep -c ' file download ' sim.log)
if [ "$downloads" -gt 10 ]; then ok; else bad "only $downloads downloads"; fi
expect_eq "$(grep ' file download ' sim.log | grep -vc -- ' --disable-cache$')" 0 "every download with --disable-cache"

# CLIENT_PEERS reached every call as ANT_PEERS; never as --peer.
calls=$(grep -c ' argv: .* file ' sim.log)
expect_eq "$(grep ' argv: .* file ' sim.log | grep -c "ant_peers=$peers argv:")" "$calls" "ANT_PEERS in every client call"
expect_eq "$(grep -c -- ' --peer ' sim.log)" 0 "no --peer on any argv"

# One log directory per call, under the agent's cache; nothing in $HOME.
dirs=$(grep ' argv: .* file ' sim.log | sed -nE 's/.* --log-output-dest ([^ ]+) .*/\1/p' | sort -u)
expect_eq "$(echo "$dirs" | grep -c .)" "$calls" "a log directory of its own for every call"
expect_eq "$(echo "$dirs" | grep -vc "^$work/cache/client-logs/log_")" 0 "client logs under CACHE_DIR/client-logs"
expect_eq "$(ls cache/client-logs | grep -c '^log_')" "$calls" "every call's log directory exists"
expect_eq "$(find "$HOME" -mindepth 1 | wc -l)" 0 "nothing in HOME after an hour"

# A CLIENT_PEERS entry that is not a multiaddr: exit 2, nothing runs.
: > sim.log
: > calls.log
run_agent 2026-01-01T10:04:00Z 120 5m --set "CLIENT_PEERS=$peers,1.2.3.4:12000"
expect_eq "$?" 2 "bad CLIENT_PEERS: exit 2"
expect_grep "CLIENT_PEERS: entry 3 '1\.2\.3\.4:12000' is not a multiaddr" agent.log "the error names the setting and the entry"
expect_eq "$(wc -l < calls.log)" 0 "bad CLIENT_PEERS: no client ran"

# A client whose --version no generation knows: a start-up error that
# names the setting to override it; with the override it runs, and its
# points say the client version is unknown.
ANT_SIM_VERSION_STYLE=old run_agent 2026-01-01T10:04:00Z 120 2m
expect_eq "$?" 2 "unknown client generation: exit 2"
expect_grep "autonomi-cli 0\.1\.5.*set CLIENT_GENERATION" agent.log "unknown version: the error names CLIENT_GENERATION"
expect_eq "$(grep -c ' file ' calls.log)" 0 "unknown version: no test ran"
# A run of its own: without the first hour's record, which says every
# task of this hour has already started.
rm -f cache/metrics.csv cache/state.json
ANT_SIM_VERSION_STYLE=old run_agent 2026-01-01T10:04:00Z 120 4m --set CLIENT_GENERATION=ant-0.5
expect_eq "$?" 0 "CLIENT_GENERATION=ant-0.5 overrides the detection"
n=$(grep -c '^ant_agent,' $m)
if [ "$n" -gt 0 ]; then ok; else bad "forced generation: no test ran"; fi
expect_eq "$(grep -c '^ant_agent,.*,client_version=unknown,' $m)" "$n" "forced generation: client_version=unknown"
finish

#!/usr/bin/env bash
# ant-sim speaks the ant client's command line and output, and its fault
# knobs produce the real exit codes and texts.
source "$(dirname "$0")/lib.sh"
export ANT_SIM_STORE="$work/store"
export ANT_SIM_LOG="$work/sim.log"

"$sim" --version > v.txt; expect_grep '^Autonomi Client v[0-9]+\.[0-9]+\.[0-9]+' v.txt "new version block"
ANT_SIM_VERSION_STYLE=old "$sim" --version > v.txt; expect_grep '^autonomi-cli 0\.1\.5$' v.txt "old version line"
"$sim" --help > help.txt
for k in STORE VERSION_STYLE LATENCY_MS BANDWIDTH FAIL_RATE FAIL_KIND FAIL_OPS HANG PANIC GARBAGE ENDLESS CORRUPT EXIT ARCHIVE SYNTHESIZE REQUIRE_KEY SEED LOG CONFIG; do
  expect_grep "ANT_SIM_$k" help.txt "--help documents ANT_SIM_$k"
done

head -c 300000 /dev/urandom > data.bin
"$sim" --peer /ip4/127.0.0.1/udp/1/quic-v1 --log-output-dest "$work/clientlogs" --network-id 2 --unknown-flag x \
  file upload data.bin --public > up.txt
expect_eq "$?" 0 "upload with global flags exits 0"
expect_grep '^At address: [0-9a-f]{64}$' up.txt "upload prints the address"
expect_grep '^Number of chunks uploaded: 4$' up.txt "chunk count (3 chunks + data map)"
expect_grep '^Total cost: 0\.000004000000000000$' up.txt "deterministic cost"
expect_grep 'file upload' "$work/clientlogs/ant-sim.log" "--log-output-dest honoured"
addr=$(sed -n 's/^At address: //p' up.txt)
"$sim" file upload data.bin > up2.txt
expect_grep '^All chunks already exist on the network\.$' up2.txt "re-upload: all chunks exist"

"$sim" file download "$addr" got/data.bin > down.txt
expect_eq "$?" 0 "download exits 0"
expect_grep '^Successfully downloaded' down.txt "download success line"
expect_eq "$(md5sum < got/data.bin)" "$(md5sum < data.bin)" "downloaded bytes are the uploaded ones"
ANT_SIM_CORRUPT=1 "$sim" file download "$addr" bad.bin > /dev/null
expect_eq "$?" 0 "corrupt download still claims success"
if cmp -s bad.bin data.bin; then bad "ANT_SIM_CORRUPT changed nothing"; else ok; fi

"$sim" file download 00ff00ff nowhere.bin > /dev/null 2> err.txt
expect_eq "$?" 33 "unknown address exits 33"
expect_grep 'Record could not be found' err.txt "record not found text"
"$sim" file download '../../etc/passwd' x > /dev/null 2> err.txt
expect_eq "$?" 6 "malformed address exits 6"
ANT_SIM_SYNTHESIZE=1000 "$sim" file download 00ff00ff synth.bin > /dev/null
expect_eq "$(stat -c %s synth.bin)" 1000 "synthesized content for unknown addresses"

"$sim" file cost data.bin > cost.txt
expect_grep '^Total cost: 0\.000003000000000000$' cost.txt "cost from size"

for kc in network:13 bootstrap:51 routing:52 data:33 decrypt:32 quotes:41 payment:23 input:6 io:12 protocol:14 selfenc:15 evm:61 panic:101 legacy:1; do
  kind=${kc%%:*}; code=${kc##*:}
  ANT_SIM_FAIL_KIND=$kind "$sim" file cost data.bin > /dev/null 2> err.txt
  expect_eq "$?" "$code" "fail kind $kind exits $code"
done
ANT_SIM_FAIL_KIND=bootstrap "$sim" file cost data.bin 2> err.txt > /dev/null
expect_grep 'Could not connect to enough peers in time' err.txt "bootstrap text"
ANT_SIM_PANIC=1 "$sim" file cost data.bin 2> err.txt > /dev/null
expect_eq "$?" 101 "panic exits 101"
expect_grep "thread 'main' panicked at" err.txt "Rust-style panic message"
ANT_SIM_FAIL_KIND=network ANT_SIM_FAIL_OPS=upload "$sim" file cost data.bin > /dev/null 2>&1
expect_eq "$?" 0 "FAIL_OPS limits which ops fail"
ANT_SIM_FAIL_RATE=0 ANT_SIM_FAIL_KIND=network "$sim" file cost data.bin > /dev/null 2>&1
expect_eq "$?" 0 "FAIL_RATE 0 never fails"
fails=0
for i in $(seq 1 40); do
  ANT_SIM_SEED=$i ANT_SIM_FAIL_RATE=0.5 ANT_SIM_FAIL_KIND=network "$sim" file cost data.bin > /dev/null 2>&1 || fails=$((fails + 1))
done
if [ "$fails" -gt 5 ] && [ "$fails" -lt 35 ]; then ok; else bad "FAIL_RATE 0.5 failed $fails of 40"; fi
a=$(ANT_SIM_SEED=3 ANT_SIM_FAIL_RATE=0.5 "$sim" file cost data.bin > /dev/null 2>&1; echo $?)
b=$(ANT_SIM_SEED=3 ANT_SIM_FAIL_RATE=0.5 "$sim" file cost data.bin > /dev/null 2>&1; echo $?)
expect_eq "$a" "$b" "ANT_SIM_SEED makes choices reproducible"
ANT_SIM_EXIT=13 "$sim" file cost data.bin > out.txt 2>/dev/null
expect_eq "$?" 13 "ANT_SIM_EXIT forces the exit code"
expect_grep '^Total cost:' out.txt "...after the normal output"
ANT_SIM_GARBAGE=1 "$sim" file cost data.bin > out.txt 2>/dev/null
expect_no_grep '^Total cost:' out.txt "garbage has no result line"

# Hang and endless output: stopped from outside.
ANT_SIM_HANG=1 timeout 1 "$sim" file cost data.bin > /dev/null
expect_eq "$?" 124 "hang never finishes"
ANT_SIM_ENDLESS=stdout timeout 1 "$sim" file cost data.bin | head -c 1000000 | wc -c > n.txt
expect_eq "$(cat n.txt)" 1000000 "endless output keeps coming"

# Latency is real time.
start=$(date +%s%N)
ANT_SIM_LATENCY_MS=300 "$sim" file cost data.bin > /dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -ge 300 ]; then ok; else bad "latency 300 ms took $ms ms"; fi

# Config file; the environment wins over it.
printf '# knobs\r\nANT_SIM_LATENCY_MS=1\nANT_SIM_FAIL_KIND=payment\n' > sim.conf
ANT_SIM_CONFIG=sim.conf "$sim" file cost data.bin > /dev/null 2>&1
expect_eq "$?" 23 "knob from ANT_SIM_CONFIG"
ANT_SIM_CONFIG=sim.conf ANT_SIM_FAIL_KIND=io "$sim" file cost data.bin > /dev/null 2>&1
expect_eq "$?" 12 "environment beats ANT_SIM_CONFIG"

# One log line per call; SECRET_KEY presence only, never its value.
SECRET_KEY=hunter2-very-secret "$sim" file cost data.bin > /dev/null
expect_grep 'secret_key=yes argv: file cost data.bin$' sim.log "log line per call"
expect_no_grep 'hunter2' sim.log "the key itself is never logged"

"$sim" file frobnicate x > /dev/null 2>&1
expect_eq "$?" 2 "unknown subcommand is a usage error"
finish

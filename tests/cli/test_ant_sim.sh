#!/usr/bin/env bash
# ant-sim speaks the ant client's command line and output, and its fault
# knobs produce the real exit codes and texts.
source "$(dirname "$0")/lib.sh"
export ANT_SIM_STORE="$work/store"
export ANT_SIM_LOG="$work/sim.log"

# Without --log-output-dest the real client logs under $HOME: keep it here.
export HOME="$work/home"
fix="$ANT_SOURCE_DIR/tests/fixtures/ant-cli-0.5.2"
"$sim" --version > v.txt; expect_eq "$(cat v.txt)" "$(cat "$fix/version.stdout")" "--version: the client's 4 lines"
ANT_SIM_VERSION_STYLE=old "$sim" --version > v.txt; expect_grep '^autonomi-cli 0\.1\.5$' v.txt "old version line"
"$sim" --help > help.txt
for k in GENERATION STORE VERSION_STYLE LATENCY_MS BANDWIDTH FAIL_RATE FAIL_KIND FAIL_OPS HANG PANIC GARBAGE ENDLESS CORRUPT EXIT ARCHIVE SYNTHESIZE REQUIRE_KEY SEED LOG CONFIG; do
  expect_grep "ANT_SIM_$k" help.txt "--help documents ANT_SIM_$k"
done

head -c 300000 /dev/urandom > data.bin
"$sim" --peer /ip4/127.0.0.1/udp/1/quic-v1 --log-output-dest "$work/clientlogs" --network-id 2 --unknown-flag x \
  file upload data.bin --public > up.txt
expect_eq "$?" 0 "upload with global flags exits 0"
expect_grep '^At address: [0-9a-f]{64}$' up.txt "upload prints the address"
expect_grep '^Number of chunks uploaded: 4$' up.txt "chunk count (3 chunks + data map)"
expect_grep '^Total cost: 4000000000000 AttoTokens$' up.txt "upload cost in AttoTokens"
expect_grep '^Logging to directory: "'"$work"'/clientlogs"$' up.txt "announces its log directory"
expect_grep 'file upload' "$work/clientlogs/ant-sim.log" "--log-output-dest honoured"
expect_eq "$(ls "$HOME" 2>/dev/null | wc -l)" 0 "--log-output-dest: nothing under HOME"
addr=$(sed -n 's/^At address: //p' up.txt)
# The same lines, in the same order, as the real client's transcript.
strip() { grep -vE '^(Logging to directory|Quoting for|\(|Upload completed in|Uploaded file|  - |At address|Upload completed for|Processing chunk)' "$1"; }
expect_eq "$(strip up.txt | sed 's/data\.bin/FILE/g')" "$(strip "$fix/upload-public-ok.stdout" | sed 's/seed\.bin/FILE/g')" "upload stdout shaped like the transcript"
"$sim" file upload data.bin --public > up2.txt
expect_eq "$(tail -n 1 up2.txt)" "All chunks already exist on the network." "re-upload: all chunks exist"
expect_no_grep '^(At address|Total cost|Number of chunks)' up2.txt "re-upload: no address, counts or cost"
expect_eq "$(grep -c '(skipping, already exists)$' up2.txt)" 4 "re-upload: each chunk skipped"
# Without --log-output-dest: a new log directory per call under HOME.
expect_eq "$(ls "$HOME/.local/share/autonomi/client/logs" | grep -c '^log_')" 1 "a log directory under HOME without --log-output-dest"
"$sim" file upload data.bin > up3.txt
expect_grep '^All chunks already exist' up3.txt "private upload of stored content: all exist"
head -c 5000 /dev/urandom > priv.bin
"$sim" --log-output-dest "$work/clientlogs" file upload priv.bin > up4.txt
expect_grep '^At address: [0-9]+$' up4.txt "private upload: a decimal local address"
expect_grep '^The above private address links to network address: [0-9a-f]{64}$' up4.txt "private upload: network address"
expect_grep '^Number of chunks uploaded: 3$' up4.txt "private upload: 3 chunks, no data map"

"$sim" --log-output-dest "$work/clientlogs" file download "$addr" got/data.bin --disable-cache > down.txt
expect_eq "$?" 0 "download exits 0"
expect_grep '^Successfully downloaded file at: [0-9a-f]{64}$' down.txt "download success line"
expect_eq "$(md5sum < got/data.bin)" "$(md5sum < data.bin)" "downloaded bytes are the uploaded ones"
expect_eq "$(ls "$HOME/.local/share/autonomi/client" | grep -c cache)" 0 "--disable-cache: no chunk cache"
# The chunk cache: a download without --disable-cache fills it, and a
# repeat is served from it even when the network lost the data.
"$sim" --log-output-dest "$work/clientlogs" file download "$addr" c1.bin > c1.txt
expect_grep 'from network' c1.txt "first download from the network"
mv "$work/store/$addr" "$work/lost"
"$sim" --log-output-dest "$work/clientlogs" file download "$addr" c2.bin > c2.txt
expect_eq "$?" 0 "a cached download succeeds without the network"
expect_grep 'from cache' c2.txt "repeat served from the local cache"
"$sim" --log-output-dest "$work/clientlogs" file download "$addr" c3.bin --disable-cache > c3.txt 2> c3.err
expect_eq "$?" 33 "--disable-cache: the network's answer (record not found)"
mv "$work/lost" "$work/store/$addr"
"$sim" file download "$addr" x.bin --disable-cache --cache-dir /tmp > /dev/null 2> err.txt
expect_eq "$?" 2 "--disable-cache with --cache-dir is a usage error"
ANT_SIM_CORRUPT=1 "$sim" file download "$addr" bad.bin --disable-cache > /dev/null
expect_eq "$?" 0 "corrupt download still claims success"
if cmp -s bad.bin data.bin; then bad "ANT_SIM_CORRUPT changed nothing"; else ok; fi

"$sim" file download 00ff00ff nowhere.bin --disable-cache > nf.txt 2> err.txt
expect_eq "$?" 33 "unknown address exits 33"
expect_eq "$(cat err.txt)" "$(cat "$fix/download-notfound.stderr")" "record not found: the client's stderr, colours and all"
expect_eq "$(grep -v '^Logging' nf.txt)" "$(grep -v '^Logging' "$fix/download-notfound.stdout")" "record not found: the client's stdout"
"$sim" file download '../../etc/passwd' x > /dev/null 2> err.txt
expect_eq "$?" 6 "malformed address exits 6"
ANT_SIM_SYNTHESIZE=1000 "$sim" file download 00ff00ff synth.bin --disable-cache > /dev/null
expect_eq "$(stat -c %s synth.bin)" 1000 "synthesized content for unknown addresses"

head -c 300000 /dev/urandom > fresh.bin
"$sim" file cost fresh.bin > cost.txt
expect_grep '^Total cost: 0\.000003000000000000$' cost.txt "cost from size, 18 decimals"
"$sim" file cost data.bin > cost.txt
expect_grep '^Total cost: 0\.000000000000000000$' cost.txt "a quote of stored content costs 0"

# Peers: ANT_PEERS and --peer take multiaddrs; anything else is clap's exit 2.
ANT_PEERS=1.2.3.4:12000 "$sim" file cost fresh.bin > out.txt 2> err.txt
expect_eq "$?" 2 "ANT_PEERS not a multiaddr: usage error"
expect_eq "$(cat err.txt)" "$(cat "$fix/usage-bad-peer.stderr")" "usage error: the client's text"
expect_eq "$(wc -c < out.txt)" 0 "usage error: nothing on stdout"
ANT_PEERS=/ip4/1.2.3.4/udp/12000/quic-v1,/ip6/::1/udp/1/quic-v1 "$sim" file cost fresh.bin > /dev/null
expect_eq "$?" 0 "ANT_PEERS of multiaddrs accepted"
"$sim" --peer 1.2.3.4:12000 file cost fresh.bin > /dev/null 2>&1
expect_eq "$?" 2 "--peer not a multiaddr: usage error"
grep -q 'ant_peers=/ip4/1.2.3.4/udp/12000/quic-v1,/ip6/::1/udp/1/quic-v1 argv: file cost' sim.log && ok || bad "ANT_PEERS logged"

# Fault kinds: the exit codes of downloads and uploads; every cost failure exits 1.
for kc in network:13 bootstrap:51 connect:59 data:33 decrypt:32 serialization:11 input:6 io:12 protocol:14 selfenc:15 evm:61 usage:2 panic:101 legacy:1; do
  kind=${kc%%:*}; code=${kc##*:}
  ANT_SIM_FAIL_KIND=$kind "$sim" file download "$addr" f.bin --disable-cache > /dev/null 2> err.txt
  expect_eq "$?" "$code" "fail kind $kind: download exits $code"
done
for kc in quotes:23 quote-timeout:23 payment:22 put:44 nowallet:12 network:13; do
  kind=${kc%%:*}; code=${kc##*:}
  ANT_SIM_FAIL_KIND=$kind "$sim" file upload fresh.bin > /dev/null 2> err.txt
  expect_eq "$?" "$code" "fail kind $kind: upload exits $code"
done
ANT_SIM_FAIL_KIND=quotes "$sim" file upload fresh.bin > /dev/null 2> err.txt
expect_eq "$(cat err.txt)" "$(cat "$fix/upload-fail-quotes.stderr")" "quote failure on upload: the client's stderr"
ANT_SIM_FAIL_KIND=payment "$sim" file upload fresh.bin > /dev/null 2> err.txt
expect_eq "$(cat err.txt)" "$(cat "$fix/upload-fail-funds.stderr")" "insufficient tokens: the client's stderr"
ANT_SIM_REQUIRE_KEY=1 "$sim" file upload fresh.bin > /dev/null 2> err.txt
expect_eq "$?" 12 "no SECRET_KEY: no local wallets, exit 12"
expect_eq "$(cat err.txt)" "$(cat "$fix/upload-nowallet.stderr")" "no wallet: the client's stderr"
for kind in quotes quote-timeout connect network data payment; do
  ANT_SIM_FAIL_KIND=$kind "$sim" file cost fresh.bin > /dev/null 2> err.txt
  expect_eq "$?" 1 "fail kind $kind: cost exits 1"
  expect_grep '^Error: $' err.txt "fail kind $kind: cost prints an Error: report"
done
ANT_SIM_FAIL_KIND=quote-timeout "$sim" file cost fresh.bin > /dev/null 2> err.txt
expect_eq "$(cat err.txt)" "$(cat "$fix/cost-fail-timeout.stderr")" "quote timeout: the client's stderr"
ANT_SIM_FAIL_KIND=connect "$sim" file cost fresh.bin > out.txt 2> err.txt
expect_eq "$(cat err.txt)" "$(cat "$fix/cost-fail-connect.stderr")" "cost, no connection: the client's stderr"
expect_eq "$(grep -v '^Logging' out.txt)" "$(grep -v '^Logging' "$fix/cost-fail-connect.stdout")" "cost, no connection: the client's stdout"
ANT_SIM_FAIL_KIND=connect "$sim" file download "$addr" f.bin > out.txt 2> err.txt
expect_eq "$(cat err.txt)" "$(cat "$fix/download-fail-connect.stderr")" "download, no connection: the client's stderr"
expect_eq "$(grep -v '^Logging' out.txt)" "$(grep -v '^Logging' "$fix/download-fail-connect.stdout")" "download, no connection: the client's stdout"
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
ANT_SIM_CONFIG=sim.conf "$sim" file upload fresh.bin > /dev/null 2>&1
expect_eq "$?" 22 "knob from ANT_SIM_CONFIG"
ANT_SIM_CONFIG=sim.conf ANT_SIM_FAIL_KIND=io "$sim" file upload fresh.bin > /dev/null 2>&1
expect_eq "$?" 12 "environment beats ANT_SIM_CONFIG"

# One log line per call; SECRET_KEY presence only, never its value.
SECRET_KEY=hunter2-very-secret "$sim" file cost data.bin > /dev/null
expect_grep 'secret_key=yes ant_peers=- argv: file cost data.bin$' sim.log "log line per call"
expect_no_grep 'hunter2' sim.log "the key itself is never logged"

"$sim" file frobnicate x > /dev/null 2>&1
expect_eq "$?" 2 "unknown subcommand is a usage error"
finish

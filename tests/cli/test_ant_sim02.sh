#!/usr/bin/env bash
# ant-sim in 0.2 mode (ANT_SIM_GENERATION=0.2) speaks like ant 0.2.1-rc.1:
# its output, streams and exit codes are those of the transcripts in
# tests/fixtures/ant-client-0.2/, byte for byte where the real client's
# output does not depend on the run (addresses and timings aside), and the
# store, its dedup and the fault knobs are shared with the 0.5 mode.
source "$(dirname "$0")/lib.sh"
export ANT_SIM_STORE="$work/store" ANT_SIM_GENERATION=0.2
export HOME="$work/home"
fix="$ANT_SOURCE_DIR/tests/fixtures/ant-client-0.2"
same() { # NAME CASE: stdout, stderr and exit code of the last call
  expect_eq "$(cat out)" "$(cat "$fix/$2.stdout")" "$1: stdout"
  expect_eq "$(cat err)" "$(cat "$fix/$2.stderr")" "$1: stderr"
  expect_eq "$rc" "$(cat "$fix/$2.exit")" "$1: exit code"
}
run() { "$sim" "$@" > out 2> err; rc=$?; }

run --version; same "--version" version
head -c 2256 /dev/urandom > photo.jpg
printf 'fresh content, thirty bytes..\n' > fresh.bin
run file cost photo.jpg; same "file cost" cost-ok
run --json file cost fresh.bin; same "--json file cost" cost-json
run file upload photo.jpg; same "upload without SECRET_KEY" upload-nowallet
export SECRET_KEY=0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
run file upload photo.jpg --public
addr=$(sed -n 's/^  Address: //p' out)
expect_eq "$(sed "s/$addr/ADDR/g" out)" "$(sed 's/7e564a714d5c8c69fdc853ab85a2701b32107a8c1c3e081ae7a170df6a32e14b/ADDR/g' "$fix/upload-public-ok.stdout")" "upload: stdout"
expect_eq "$(cat err)" "$(cat "$fix/upload-public-ok.stderr")" "upload: stderr"
run file upload photo.jpg --public
expect_eq "$(sed "s/$addr/ADDR/g" out)" "$(sed 's/7e564a714d5c8c69fdc853ab85a2701b32107a8c1c3e081ae7a170df6a32e14b/ADDR/g' "$fix/upload-again.stdout")" "upload again: free (already stored)"
run file cost photo.jpg; same "cost after the upload" cost-after-upload
run --json file upload fresh.bin --public
jaddr=$(sed -n 's/.*"address":"\([0-9a-f]*\)".*/\1/p' out)
expect_eq "$(sed "s/$jaddr/A/" out)" "$(sed 's/0a3506455c97ba6a60ccc0e1b818fd249f6860529e2bda51ee118cb0b9e6c17f/A/' "$fix/upload-json.stdout")" "--json upload: stdout"
expect_eq "$(cat err)" "" "--json upload: nothing on stderr"
run file download "$addr" -o photo-copy.jpg; same "download" download-ok
cmp -s photo.jpg photo-copy.jpg && ok || bad "download: not the uploaded bytes"
run --json file download "$addr" -o photo-json.jpg; same "--json download" download-json
run file download "$addr" photo-copy.jpg; same "0.5.x download syntax" download-old-syntax
run file upload photo.jpg -b 207.148.94.42:10000; same "-b after the subcommand" usage-flag-after-subcommand
run --peer /ip4/207.148.94.42/udp/10000/quic-v1 file upload photo.jpg; same "a 0.5.x flag" usage-error
run file download 7e1f2c3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0 -o x.bin; same "not stored" download-notfound
run file download not-an-address -o out.bin; same "not an address" download-bad-address
short=7e1f2c3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
run file download "${short:0:62}" -o x.bin; expect_eq "$(tail -n 1 err)" "$(tail -n 1 "$fix/download-short-address.stderr")" "62 hex digits: the error line"
# Faults: the client's texts, exit 1.
for c in "quotes cost fresh.bin cost-fail" "connect cost fresh.bin cost-fail-connect" "put upload fresh.bin upload-fail-put" \
         "payment upload fresh.bin upload-fail-funds" "evm upload fresh.bin upload-fail-gas" "connect upload fresh.bin upload-fail-connect" \
         "connect download $addr download-fail-connect" "bootstrap cost fresh.bin no-bootstrap"; do
  set -- $c
  ANT_SIM_FAIL_KIND=$1 run file "$2" "$3" $([ "$2" = download ] && echo -o y.bin)
  expect_eq "$rc" 1 "fault $1 ($2): exit 1"
  want=$(tail -n 1 "$fix/$4.stderr" | cut -c1-60)
  expect_eq "$(tail -n 1 err | cut -c1-60)" "$want" "fault $1 ($2): the error line of $4"
done
ANT_SIM_FAIL_KIND=usage run file cost fresh.bin; expect_eq "$rc" 2 "usage fault: exit 2"
ANT_SIM_FAIL_KIND=panic run file cost fresh.bin; expect_eq "$rc" 101 "panic fault: exit 101"
finish

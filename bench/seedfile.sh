#!/usr/bin/env bash
# Throughput of the seed file generator and of MD5.
#
#   bench/seedfile.sh [SIZE_MB]      (default 512)
#
# When BENCH_TABLE names a file (bench/run.sh), the figures are also
# appended to it as table rows (figure|value|target|verdict).
# Builds bench/seedfile_bench.c with -O2 (independent of any build
# directory), then measures, best of three runs each:
#   - generation into /dev/null, against `dd if=/dev/zero of=/dev/null`;
#   - MD5 of the same file in /tmp (in the page cache), against `md5sum`.
# Targets: generation >= 1.5 GB/s; MD5 >= 0.9 x md5sum.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-512}
bytes=$((mb * 1024 * 1024))
tmp=$(mktemp -d /tmp/ant-bench-seedfile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -std=c17 -D_GNU_SOURCE -I"$top/src" -o "$tmp/seedfile_bench" \
  "$top/bench/seedfile_bench.c" "$top/src/seedfile.c" "$top/src/digest.c" "$top/src/util.c" \
  $(pkg-config --cflags --libs libuv)
bench="$tmp/seedfile_bench"

# best_ns CMD...: the fastest of three runs, in nanoseconds.
best_ns() {
  local best=0 t0 t1 d
  for _ in 1 2 3; do
    t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
    d=$((t1 - t0))
    if [ "$best" -eq 0 ] || [ "$d" -lt "$best" ]; then best=$d; fi
  done
  echo "$best"
}
rate() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.2f", b / ns }'; }   # bytes/ns = GB/s
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

gen_ns=$(best_ns sh -c "'$bench' gen 1 $bytes > /dev/null")
dd_ns=$(best_ns dd if=/dev/zero of=/dev/null bs=1M count="$mb")
genmd5_ns=$(best_ns sh -c "'$bench' genmd5 1 $bytes > /dev/null")

"$bench" gen 1 "$bytes" > "$tmp/file.bin"
cat "$tmp/file.bin" > /dev/null   # into the page cache, for both contenders
ours=$("$bench" md5 "$tmp/file.bin" | cut -d' ' -f1)
theirs=$(md5sum "$tmp/file.bin" | cut -d' ' -f1)
if [ "$ours" != "$theirs" ]; then echo "MD5 disagrees: $ours vs $theirs" >&2; exit 1; fi
md5_ns=$(best_ns "$bench" md5 "$tmp/file.bin")
md5sum_ns=$(best_ns md5sum "$tmp/file.bin")

gen=$(rate "$bytes" "$gen_ns"); dd=$(rate "$bytes" "$dd_ns"); genmd5=$(rate "$bytes" "$genmd5_ns")
md5=$(rate "$bytes" "$md5_ns"); md5sum=$(rate "$bytes" "$md5sum_ns")
echo "seed file benchmark, $mb MiB, best of 3"
printf '  generation -> /dev/null     %6s GB/s   (dd /dev/zero -> /dev/null %s GB/s, ratio %s; target >= 1.5 GB/s)\n' \
  "$gen" "$dd" "$(ratio "$gen" "$dd")"
printf '  generation + MD5            %6s GB/s\n' "$genmd5"
printf '  MD5 (digest_md5_file)       %6s GB/s   (md5sum %s GB/s, ratio %s; target >= 0.90)\n' \
  "$md5" "$md5sum" "$(ratio "$md5" "$md5sum")"

if [ -n "${BENCH_TABLE:-}" ]; then
  v1=$(awk -v g="$gen" 'BEGIN { print (g >= 1.5) ? "met" : "MISSED" }')
  r2=$(ratio "$md5" "$md5sum")
  v2=$(awk -v r="$r2" 'BEGIN { print (r >= 0.9) ? "met" : "MISSED" }')
  {
    echo "5 seeded generation -> /dev/null|$gen GB/s|>= 1.5 GB/s|$v1 (dd $dd GB/s, x$(ratio "$gen" "$dd"))"
    echo "5 generation + MD5|$genmd5 GB/s|-|-"
    echo "5 MD5 of a cached file|$md5 GB/s|>= 0.9 x md5sum|$v2 (md5sum $md5sum GB/s, x$r2)"
  } >> "$BENCH_TABLE"
fi

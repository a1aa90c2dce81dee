#!/bin/sh
# Run the metrics benchmark from a build directory (default build-bench,
# configured as Release when it does not exist yet): 1,000,000 records
# rolled up and written.
#   bench/metrics.sh [BUILD_DIR] [RECORDS]
# When BENCH_TABLE names a file (bench/run.sh), the figures are also
# appended to it as table rows (figure|value|target|verdict).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$here/build-bench}
n=${2:-1000000}
if [ ! -x "$bdir/bench/metrics_bench" ]; then
  cmake -S "$here" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir" --target metrics_bench -j2 >/dev/null
fi
# GNU time, when installed, adds the process's own view (CPU, peak RSS).
if [ -x /usr/bin/time ]; then
  tf=$(mktemp /tmp/ant-metrics-time.XXXXXX)
  out=$(/usr/bin/time -o "$tf" -f "/usr/bin/time: %e s elapsed, %U s user, %S s system, %M KiB peak RSS" \
    "$bdir/bench/metrics_bench" "$n")
  out="$out
$(cat "$tf")"
  rm -f "$tf"
else
  out=$("$bdir/bench/metrics_bench" "$n")
fi
echo "$out"
[ -n "${BENCH_TABLE:-}" ] || exit 0
echo "$out" | awk -v n="$n" '
  /^rollup \+ write time:/ { rw = $5; wr = $9 }
  /^total time:/ { tot = $3 }
  /^CPU time:/ { cpu = $6 }
  /^record time:/ { rec = $3 }
  /^cache bytes per record:/ { bpr = $5 }
  /^peak RSS:/ { rss = $3 }
  END {
    printf "6 metrics: roll up + write %d records|%.3f s|< 1 s|%s (%.3f s in write(2), %.3f s CPU)\n", n, rw, rw < 1 ? "met" : "MISSED", wr, cpu
    printf "6 metrics: record + roll up + write|%.3f s|< 1 s|%s (record %.3f s)\n", tot, tot < 1 ? "met" : "MISSED", rec
    printf "6 metrics: cache bytes per record|%s B|< 256 B|%s (peak RSS %.0f MiB)\n", bpr, bpr < 256 ? "met" : "MISSED", rss / 1024
  }' >> "$BENCH_TABLE"

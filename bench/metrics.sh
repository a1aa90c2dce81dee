#!/bin/sh
# Run the metrics benchmark from a build directory (default build-mx or
# build) in optimised form: 1,000,000 records rolled up and written.
#   bench/metrics.sh [BUILD_DIR] [RECORDS]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-$here/build-bench}
n=${2:-1000000}
if [ ! -x "$bdir/bench/metrics_bench" ]; then
  cmake -S "$here" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir" --target metrics_bench -j2 >/dev/null
fi
exec "$bdir/bench/metrics_bench" "$n"

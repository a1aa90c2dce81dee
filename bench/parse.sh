#!/bin/sh
# Microseconds to parse the fleet's control file and catalogues (the
# upstream fixtures), with bench/parse_bench from a build directory.
#   bench/parse.sh BUILD_DIR [FIXTURES_DIR]
# When BENCH_TABLE names a file (bench/run.sh), the figures are also
# appended to it as table rows (figure|value|target|verdict).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:?usage: parse.sh BUILD_DIR [FIXTURES_DIR]}
fix=${2:-$here/tests/fixtures/upstream}
out=$("$bdir/bench/parse_bench" "$fix")
echo "$out"
[ -n "${BENCH_TABLE:-}" ] || exit 0
echo "$out" | awk '{ printf "7 parse %s (%s B, %s %s)|%s us|-|-\n", $1, $2, $4, $5, $7 }' >> "$BENCH_TABLE"

# Memory of an 8 MiB catalogue of the shortest rows (goal: under 4 times
# the text; the figure is the larger of the bytes held and the heap's
# growth).
mem=$("$bdir/bench/parse_bench" --memory)
echo "$mem"
echo "$mem" | awk '{ held = ($5 > $6 ? $5 : $6) / $3;
  printf "7 memory of an 8 MiB %s catalogue (%s rows)|%.2f x the text|< 4 x|%s (peak RSS +%.1f MiB)\n",
    $2, $4, held, held < 4 ? "met" : "MISSED", $7 / 1024 }' >> "$BENCH_TABLE"

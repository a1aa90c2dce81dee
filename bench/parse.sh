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

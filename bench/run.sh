#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other, each printing its
# numbers, then one table of every figure with its target and verdict.
# Results and commands are recorded in docs/BENCHMARKS.md.
#
#   bench/run.sh [BUILD_DIR]
#
# BUILD_DIR (default build-bench, configured as Release when missing) is
# where the agent, ant-sim and the benchmark programs are built; it is
# kept apart from the everyday build so benchmarks never rebuild it.
# BENCH_SRC=DIR builds from another source tree (e.g. an export of a
# commit: `git archive HEAD | tar -x -C DIR`); the default is this checkout.
# BENCH_MARKDOWN=FILE also writes the table as Markdown to FILE.
# Takes about 4 minutes on a 2-core machine.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-bench}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
t_start=$(date +%s)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "${BENCH_SRC:-$top}" -B "$build" -DCMAKE_BUILD_TYPE=Release > /dev/null
fi
cmake --build "$build" -j "$(nproc)" --target ant-agent ant-sim metrics_bench parse_bench \
  noop_client noop_client_libc spawn_floor ant-agent-net helper_bench > /dev/null

BENCH_TABLE=$(mktemp /tmp/ant-bench-table.XXXXXX)
export BENCH_TABLE
trap 'rm -f "$BENCH_TABLE"' EXIT

machine() {
  echo "machine: $(nproc) CPU(s), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
    "Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); build: $(grep -E '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" | cut -d= -f2)" \
    "($build); source ${BENCH_SRC:-$top}; checkout at $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
machine
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

echo "== 1-4. The agent: footprint, overhead per call, scheduling precision, throughput =="
bash "$top/bench/agent.sh" "$build" all
echo
echo "== 5. Seeded-file generation and MD5 (against dd and md5sum) =="
bash "$top/bench/seedfile.sh"
echo
echo "== 6. Metrics: 1,000,000 records rolled up and written =="
sh "$top/bench/metrics.sh" "$build"
echo
echo "== 7. Parsing the upstream control file and catalogues =="
sh "$top/bench/parse.sh" "$build"
echo
echo "== 8. The network helper: a helper per request against one kept helper (3 runs) =="
for run in 1 2 3; do "$build/bench/helper_bench" "$top/VERSION" 50; done
echo

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== Summary ($(($(date +%s) - t_start)) s; load before/after in the log above: $load_after) =="
awk -F'|' '{ printf "%-48s %-14s %-16s %s\n", $1, $2, $3, $4 }
  BEGIN { printf "%-48s %-14s %-16s %s\n", "figure", "value", "target", "verdict (reference)" }' "$BENCH_TABLE"
if [ -n "${BENCH_MARKDOWN:-}" ]; then
  {
    machine
    echo "load (1, 5, 15 min) at the end: $load_after"
    echo
    echo "| figure | value | target | verdict (reference) |"
    echo "|---|---|---|---|"
    awk -F'|' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$BENCH_TABLE"
  } > "$BENCH_MARKDOWN"
fi

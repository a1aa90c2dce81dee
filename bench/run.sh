#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other, each printing its
# numbers and, where there is a reference, the ratio. Results and commands
# are recorded in docs/BENCHMARKS.md.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# (BUILD_DIR is accepted for symmetry with the other targets; each
# benchmark builds what it measures with optimisation itself.)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac

echo "== Seeded-file generation and MD5 (against dd and md5sum) =="
bash "$top/bench/seedfile.sh"
echo
echo "== Metrics: 1,000,000 records rolled up and written (Release build) =="
bash "$top/bench/metrics.sh" "$top/build-bench"

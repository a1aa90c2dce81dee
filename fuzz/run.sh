#!/usr/bin/env bash
# Build the libFuzzer targets (clang) and run each for a bounded time.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target (FUZZ_SECONDS, 60)
#
# Seeds come from fuzz/corpus/<target> (committed, small); what the fuzzer
# finds goes to fuzz/corpus-run/<target> (ignored by git) and crash inputs
# to fuzz/corpus-run/artifacts/. A summary line per target ends the run; the exit code
# is non-zero when any target found a crash.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${FUZZ_BUILD:-$root/build-fuzz}
secs=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(control catalog_downloads catalog_seeds killswitch env client_output lineproto netmsg)

command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/deps.sh --with-fuzz)" >&2; exit 1; }
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || exit 1

# Input caps, the same as FUZZ_CAP in each target.
declare -A cap=([control]=262144 [catalog_downloads]=262144 [catalog_seeds]=262144
  [killswitch]=262144 [env]=65536 [client_output]=131072 [lineproto]=65536 [netmsg]=262144)
failed=0
mkdir -p "$here/corpus-run/artifacts"
for t in "${targets[@]}"; do
  run="$here/corpus-run/$t"
  mkdir -p "$run"
  dict=()
  [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
  log="$here/corpus-run/$t.log"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz_$t" -max_total_time="$secs" -max_len="${cap[$t]}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$here/corpus-run/artifacts/$t-" "${dict[@]}" \
      "$run" "$here/corpus/$t" > "$log" 2>&1
  rc=$?
  stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  files=$(find "$run" -type f | wc -l)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz_$t: FOUND A PROBLEM (exit $rc), see $log and $here/corpus-run/artifacts/"
  else
    echo "fuzz_$t: ${secs}s, $execs runs, $eps exec/s, corpus $files files; $stats"
  fi
done
exit $failed

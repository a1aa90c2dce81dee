#!/usr/bin/env bash
# The whole agent, measured from outside: footprint, per-call overhead,
# scheduling precision and throughput (figures 1 to 4 of
# docs/BENCHMARKS.md).
#
#   bench/agent.sh BUILD_DIR ["idle busy overhead precision throughput"|all]
#
# BUILD_DIR holds ant-agent, ant-sim and bench/noop_client(_libc) (run.sh
# builds them). The agent runs on a file:// fleet in a scratch directory,
# on the virtual clock (--clock-start) at speed 1 unless said otherwise,
# with bench/noop_client as the client: it answers at once and stamps its
# own start and exit with CLOCK_MONOTONIC (see its header). Figure 4 is
# also run once with noop_client_libc, a client with glibc's start-up. Nothing leaves
# 127.0.0.1; the scratch directory and every process are gone at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bdir=$(cd "${1:?usage: agent.sh BUILD_DIR [figure]}" && pwd)
what=${2:-all}
. "$top/bench/lib.sh"
bn_fleet

day=2025-01-06
due_s=$(date -u -d "${day}T10:05:00Z" +%s)
noopdl="$work/noop-downloads.csv"
fast=(QUOTE_YIELD_SECS=0 DOWNLOAD_YIELD_SECS=0 QUOTE_RATE_LIMIT=1000000 DOWNLOAD_RATE_LIMIT=1000000)

# gaps LOG: one call's exit to the next call's start (microseconds), for
# calls made one after the other.
gaps() { awk 'NR > 1 { printf "%.1f\n", ($2 - pe) / 1e3 } { pe = $3 }' "$1"; }

# ---- 1. idle footprint -------------------------------------------------
fig_idle() {
  local t0 c0 c1 t1 rate rss0 rss anon file hwm thr pss uss
  echo "== 1a. Idle: resident memory 60 s after start-up, wake-ups per second =="
  # A plan with one task late in the hour: nothing is due for 40 minutes.
  bn_task 1 50 download tiny 1 false | bn_control "$work/control.xml"
  bn_env "$work/idle.env" "$noop" "$noopdl"
  bn_agent_start "$work/idle.env" "${day}T10:10:54Z" 1 70s
  bn_wait_for "$work/run/agent.log" "Plan for this hour" 10 || { echo "agent did not start" >&2; cat "$work/run/agent.log" >&2; return 1; }
  sleep 3
  rss0=$(bn_rss_kb "$agent_pid" VmRSS)
  # One whole minute with nothing due: exactly one of the once-a-minute
  # housekeeping ticks (:11:00) falls in it, so the rate is a fair average.
  # The memory is read at its end: settled, the hourly network helper gone.
  c0=$(bn_ctxsw "$agent_pid"); t0=$(date +%s.%N)
  sleep 60
  c1=$(bn_ctxsw "$agent_pid"); t1=$(date +%s.%N)
  rss=$(bn_rss_kb "$agent_pid" VmRSS); hwm=$(bn_rss_kb "$agent_pid" VmHWM)
  anon=$(bn_rss_kb "$agent_pid" RssAnon); file=$(bn_rss_kb "$agent_pid" RssFile)
  read -r pss uss <<< "$(bn_pss_uss_kb "$agent_pid")"
  thr=$(bn_threads "$agent_pid")
  bn_agent_stop
  rate=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / (t1 - t0) }')
  echo "  after 60 s settled: VmRSS $rss KiB (anonymous $anon, file-backed $file), PSS $pss KiB," \
    "USS $uss KiB; VmHWM $hwm KiB, threads $thr; VmRSS 3 s after the plan $rss0 KiB"
  echo "  context switches: $((c1 - c0)) in 60 s (all threads, voluntary + involuntary)"
  row "1 RSS idle, 60 s settled" "$(bn_calc "$rss / 1024" 2) MB" "< 4 MB" "$(verdict "$rss" lt 4096)"
  row "1 PSS idle, 60 s settled" "$(bn_calc "$pss / 1024" 2) MB" "< 4 MB" "$(verdict "$pss" lt 4096)"
  row "1 USS idle (the agent's own pages)" "$(bn_calc "$uss / 1024" 2) MB" "< 4 MB" "$(verdict "$uss" lt 4096)"
  row "1 wake-ups per second, idle" "$rate /s" "< 0.2 /s" "$(verdict "$rate" lt 0.2)"
}

fig_busy() {
  local tests
  echo "== 1b. Resident memory after a busy hour (ant-sim, default caps, speed 120) =="
  bn_sim_store
  {
    bn_task 1 5 download tiny 10 true
    bn_task 2 6 download small 10 true
    bn_task 3 7 quote tiny 10 true
    bn_task 4 8 quote small 10 true
  } | bn_control "$work/control.xml"
  bn_env "$work/busy.env" "$sim" "$work/sim-downloads.csv"
  # From :04:50 through the next :00 refresh to :05:50: 61 minutes, 31 s.
  bn_agent_start "$work/busy.env" "${day}T10:04:50Z" 120 61m
  bn_watch "$agent_pid" 0.2 0
  bn_agent_wait
  tests=$(grep -c '^ant_agent,' "$work/run/cache/metrics.csv" || true)
  echo "  $tests tests in the hour; at the end VmRSS $w_rss KiB (anonymous $w_anon KiB)," \
    "PSS $w_pss KiB, USS $w_uss KiB; peak (VmHWM) $w_hwm KiB, threads $w_threads"
  row "1 RSS after a busy hour ($tests tests)" "$(bn_calc "$w_rss / 1024" 2) MB" "< 8 MB" \
    "$(verdict "$w_rss" lt 8192)"
  row "1 PSS after a busy hour" "$(bn_calc "$w_pss / 1024" 2) MB" "< 8 MB" "$(verdict "$w_pss" lt 8192)"
  row "1 USS after a busy hour" "$(bn_calc "$w_uss / 1024" 2) MB" "< 8 MB" "$(verdict "$w_uss" lt 8192)"
  row "1 peak RSS during the busy hour" "$(bn_calc "$w_hwm / 1024" 2) MB" "< 8 MB" \
    "$(verdict "$w_hwm" lt 8192)"
}

# ---- 2. overhead per client call ---------------------------------------
fig_overhead() {
  local type p50 p99 n fp50 fp99 pp50 frate prate self bias
  echo "== 2. Overhead per client call (no-op client, one worker, yield 0) =="
  # The floor: a bare libuv loop spawning the same client one call at a
  # time, with uv_spawn (fork, as the agent does) and with posix_spawn.
  export NOOP_CLIENT_LOG="$work/floor.log"
  : > "$work/floor.log"
  "$bdir/bench/spawn_floor" 2000 "$noop" file cost "$work/seeds.csv"
  fp50=$(gaps "$work/floor.log" | bn_pct 50); fp99=$(gaps "$work/floor.log" | bn_pct 99)
  frate=$(awk 'NR == 1 { a = $2 } { b = $3 } END { printf "%.0f", NR / ((b - a) / 1e9) }' "$work/floor.log")
  export NOOP_CLIENT_LOG="$work/floor-posix.log"
  : > "$work/floor-posix.log"
  "$bdir/bench/spawn_floor" --posix-spawn 2000 "$noop" file cost "$work/seeds.csv"
  pp50=$(gaps "$work/floor-posix.log" | bn_pct 50)
  prate=$(awk 'NR == 1 { a = $2 } { b = $3 } END { printf "%.0f", NR / ((b - a) / 1e9) }' "$work/floor-posix.log")
  echo "  floor, bare libuv loop: uv_spawn (fork) exit -> next start p50 $fp50 us, p99 $fp99 us," \
    "$frate calls/s; posix_spawn p50 $pp50 us, $prate calls/s"
  row "2 floor: bare uv_spawn loop, exit -> next start" "$(bn_calc "$fp50 / 1000" 2) ms" "-" \
    "($frate calls/s; with posix_spawn $(bn_calc "$pp50 / 1000" 2) ms, $prate calls/s)"
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 20 --runs 300 --export-json "$work/hf.json" \
      "$noop file cost $work/seeds.csv" "$noop_libc file cost $work/seeds.csv" > /dev/null 2>&1 &&
      awk -F: '/"median"/ { gsub(/[ ,]/, "", $2); m[n++] = $2 * 1e6 }
          END { printf "  hyperfine: the no-op client alone takes %.0f us per run (fork, exec," \
                " exit); with glibc'"'"'s start-up %.0f us\n", m[0], m[1] }' "$work/hf.json"
  fi
  for type in quote download; do
    bn_task 1 5 "$type" tiny 1 true | bn_control "$work/control.xml"
    bn_env "$work/ovh.env" "$noop" "$noopdl" "${fast[@]}"
    export NOOP_CLIENT_LOG="$work/run/calls.log"
    bn_agent_start "$work/ovh.env" "${day}T10:04:59Z" 1 7s
    bn_agent_wait
    n=$(wc -l < "$work/run/calls.log")
    p50=$(gaps "$work/run/calls.log" | bn_pct 50); p99=$(gaps "$work/run/calls.log" | bn_pct 99)
    # What exec_time adds to the client's own run time (spawn and reap).
    self=$(awk '{ print ($3 - $2) / 1e3 }' "$work/run/calls.log" | bn_pct 50)
    bias=$(sed -n 's/.*status=ok exec_time=\([0-9.e-]*\),.*/\1/p' "$work/run/cache/metrics.csv" |
      awk '{ print $1 * 1e6 }' | bn_pct 50)
    echo "  $type: $n calls in 6 s; exit -> next start p50 $p50 us, p99 $p99 us;" \
      "exec_time median $bias us for a client that runs $self us"
    row "2 overhead per call, $type: median" "$(bn_calc "$p50 / 1000" 2) ms" "< 2 ms" \
      "$(verdict "$p50" lt 2000) (floor $(bn_calc "$fp50 / 1000" 2) ms, x$(bn_calc "$p50 / $fp50" 1))"
    row "2 overhead per call, $type: p99" "$(bn_calc "$p99 / 1000" 2) ms" "-" \
      "(floor p99 $(bn_calc "$fp99 / 1000" 2) ms)"
  done
  unset NOOP_CLIENT_LOG
}

# ---- 3. scheduling precision -------------------------------------------
# A CPU hog on every core: busy-loop processes at the agent's own priority,
# started and stopped by the benchmark (pids in hog_pids).
hog_pids=()
hog_start() {
  local i
  for i in $(seq 1 "$(nproc)"); do
    bash -c 'while :; do :; done' &
    hog_pids+=("$!")
  done
}
hog_stop() {
  local p
  for p in "${hog_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  hog_pids=()
}

# prec_runs LABEL: $runs task starts; sets p50, p99, max, n (the delay to
# the clients' own starts) and rp50, rp99 (to the agent's record times).
prec_runs() {
  local i v m
  : > "$work/delays"
  : > "$work/rdelays"
  for i in $(seq 1 "$runs"); do
    bn_env "$work/prec.env" "$noop" "$noopdl"
    export NOOP_CLIENT_LOG="$work/run/calls.log"
    # The task is due one second after start-up, at 10:05:00.000.
    bn_agent_start "$work/prec.env" "${day}T10:04:59Z" 1 2s
    bn_agent_wait
    unset NOOP_CLIENT_LOG
    # The test's start as the agent records it (schedule clock, taken
    # when the worker starts, before its client is spawned) minus the due
    # time.
    awk -v due="$due_s" '/^ant_agent,/ { ts = $NF; ms = substr(ts, 1, length(ts) - 6);
        printf "%d\n", ms - due * 1000 }' "$work/run/cache/metrics.csv" >> "$work/rdelays"
    # Each client's own start (its CLOCK_MONOTONIC stamp, placed on the
    # schedule clock through the origin the agent logs) minus the due time:
    # what the network sees, spawn included.
    read -r v m < <(sed -n 's/.*Virtual clock: runs from \([0-9]*\) ms since the epoch at CLOCK_MONOTONIC \([0-9]*\) ns.*/\1 \2/p' \
      "$work/run/agent.log") || true
    [ -n "${m:-}" ] && [ -f "$work/run/calls.log" ] &&
      awk -v v="$v" -v m="$m" -v due="$due_s" '{ printf "%.1f\n", v + ($2 - m) / 1e6 - due * 1000 }' \
        "$work/run/calls.log" >> "$work/delays"
  done
  n=$(wc -l < "$work/delays")
  p50=$(bn_pct 50 < "$work/delays"); p99=$(bn_pct 99 < "$work/delays"); max=$(bn_pct 100 < "$work/delays")
  rp50=$(bn_pct 50 < "$work/rdelays"); rp99=$(bn_pct 99 < "$work/rdelays")
  echo "  $1: $n client starts: delay due -> client start p50 $p50 ms, p99 $p99 ms, max $max ms;" \
    "due -> recorded start p50 $rp50 ms, p99 $rp99 ms (1 ms resolution); load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
}

fig_precision() {
  local runs=${PRECISION_RUNS:-20} p50 p99 max n rp50 rp99
  echo "== 3. Scheduling precision at speed 1: $runs task starts of 10 workers each =="
  bn_task 1 5 download tiny 10 false | bn_control "$work/control.xml"
  prec_runs "machine as it is"
  row "3 scheduling delay p50, due -> client start ($n starts)" "$p50 ms" "-" \
    "(recorded start $rp50 ms)"
  row "3 scheduling delay p99, due -> client start ($n starts)" "$p99 ms" "< 50 ms" \
    "$(verdict "$p99" lt 50) (recorded start $rp99 ms)"
  # The same with a CPU hog on every core (BENCH_HOG=0 leaves it out).
  [ "${BENCH_HOG:-1}" = 0 ] && return 0
  trap 'hog_stop; bn_cleanup' EXIT
  hog_start
  sleep 2
  prec_runs "with $(nproc) busy-loop hog(s)"
  hog_stop
  trap bn_cleanup EXIT
  row "3 scheduling delay p50, due -> client start, CPU hog on $(nproc) cores ($n starts)" "$p50 ms" \
    "-" "(recorded start $rp50 ms)"
  row "3 scheduling delay p99, due -> client start, CPU hog on $(nproc) cores ($n starts)" "$p99 ms" \
    "< 50 ms" "$(verdict "$p99" lt 50) (recorded start $rp99 ms)"
}

# ---- 4. throughput and scaling -----------------------------------------
fig_throughput() {
  local n rate calls rss0 base ramp per step best=0
  echo "== 4. Throughput (no-op quote calls, yield 0) and scaling with workers =="
  for n in ${BENCH_WORKERS:-1 10 100 1000}; do
    bn_task 1 5 quote tiny "$n" true | bn_control "$work/control.xml"
    bn_env "$work/tp.env" "$noop" "$noopdl" "${fast[@]}" MAX_WORKERS="$n" MAX_CLIENTS="$n"
    export NOOP_CLIENT_LOG="$work/run/calls.log"
    bn_agent_start "$work/tp.env" "${day}T10:04:59Z" 1 7s
    bn_wait_for "$work/run/agent.log" "Plan for this hour" 10 || true
    rss0=$(bn_rss_kb "$agent_pid" VmRSS)
    # Light sampling: the watcher must not compete with the agent.
    bn_watch "$agent_pid" 0.5 0
    bn_agent_wait
    # Calls per second between the first start and the last exit.
    read -r calls rate < <(awk '{ if (min == "" || $2 < min) min = $2; if ($3 > max) max = $3; c++ }
        END { printf "%d %.0f\n", c, c / ((max - min) / 1e9) }' "$work/run/calls.log")
    echo "  $n worker(s): $calls calls, $rate calls/s; agent CPU $(bn_calc "$w_cpu * 1e6 / $calls" 0) us" \
      "per call; VmHWM $w_hwm KiB (idle $rss0 KiB)"
    row "4 calls per second, $n worker(s)" "$rate /s" ">= 500 /s" "$(verdict "$rate" ge 500)"
    [ "$rate" -gt "$best" ] && best=$rate
  done
  row "4 calls per second one agent sustains (best)" "$best /s" ">= 500 /s" "$(verdict "$best" ge 500)"
  # The same at the most workers with a client that starts like a small
  # real program (glibc's start-up: ~1 ms of CPU on a virtual machine).
  n=${BENCH_WORKERS:-1 10 100 1000}; n=${n##* }
  bn_task 1 5 quote tiny "$n" true | bn_control "$work/control.xml"
  bn_env "$work/tp.env" "$noop_libc" "$noopdl" "${fast[@]}" MAX_WORKERS="$n" MAX_CLIENTS="$n"
  export NOOP_CLIENT_LOG="$work/run/calls.log"
  bn_agent_start "$work/tp.env" "${day}T10:04:59Z" 1 7s
  bn_wait_for "$work/run/agent.log" "Plan for this hour" 10 || true
  bn_watch "$agent_pid" 0.5 0
  bn_agent_wait
  read -r calls rate < <(awk '{ if (min == "" || $2 < min) min = $2; if ($3 > max) max = $3; c++ }
      END { printf "%d %.0f\n", c, c / ((max - min) / 1e9) }' "$work/run/calls.log")
  echo "  $n worker(s), glibc client: $calls calls, $rate calls/s; agent CPU" \
    "$(bn_calc "$w_cpu * 1e6 / $calls" 0) us per call"
  row "4 calls per second, $n worker(s), client with glibc's start-up" "$rate /s" "-" \
    "(agent CPU $(bn_calc "$w_cpu * 1e6 / $calls" 0) us per call)"

  echo "  -- memory and start-up time per worker: every client held open for 6 s --"
  for n in ${BENCH_WORKERS:-1 10 100 1000}; do
    bn_task 1 5 quote tiny "$n" false | bn_control "$work/control.xml"
    bn_env "$work/mem.env" "$noop" "$noopdl" "${fast[@]}" MAX_WORKERS="$n" MAX_CLIENTS="$n"
    export NOOP_CLIENT_LOG="$work/run/calls.log" NOOP_HOLD_MS=6000
    bn_agent_start "$work/mem.env" "${day}T10:04:59Z" 1 8s
    bn_wait_for "$work/run/agent.log" "Plan for this hour" 10 || true
    rss0=$(bn_rss_kb "$agent_pid" VmRSS)
    bn_watch "$agent_pid"
    bn_agent_wait
    unset NOOP_HOLD_MS
    # Ramp: first to last start of the clients that finished their hold
    # (clients still held when the run ends are stopped and not logged),
    # per gap between two starts.
    read -r calls ramp < <(awk '{ if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; c++ }
        END { printf "%d %.1f\n", c, (max - min) / 1e6 }' "$work/run/calls.log")
    step=$(bn_calc "$ramp / ($calls > 1 ? $calls - 1 : 1)" 2)
    [ "$w_kids" -gt 0 ] || w_kids=1
    # Against the first run's RSS after its plan (the fewest workers): a
    # plan for many workers already holds their jobs, made ready ahead.
    base=${base:-$rss0}
    per=$(bn_calc "($w_kids_rss - $base) / $w_kids" 1)
    echo "  $n worker(s): $w_kids clients open at once; $calls starts within $ramp ms" \
      "($step ms apart); VmRSS $rss0 after the plan (first run $base) -> $w_kids_rss KiB," \
      "$per KiB per worker"
    if [ "$n" -ge 100 ]; then
      row "4 memory per worker ($w_kids at once)" "$per KiB" "< 64 KiB" "$(verdict "$per" lt 64)"
      row "4 start-up time per worker ($n workers)" "$step ms" "-" "(a burst: on the spawner threads)"
    fi
  done
  unset NOOP_CLIENT_LOG
}

[ "$what" = all ] && what="idle busy overhead precision throughput"
for fig in $what; do
  case "$fig" in
    idle) fig_idle ;;
    busy) fig_busy ;;
    overhead) fig_overhead ;;
    precision) fig_precision ;;
    throughput) fig_throughput ;;
    *) echo "agent.sh: unknown figure '$fig'" >&2; exit 2 ;;
  esac
done

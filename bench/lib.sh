# Helpers for the whole-agent benchmarks (bench/agent.sh). Source it after
# setting `bdir` (a build directory with ant-agent, ant-sim and bench/).
# It makes a scratch directory `work` (removed on exit, with any agent
# still running) and defines:
#   bn_fleet            file:// fleet (kill-switch OFF, catalogues) in $work
#   bn_task ...         one <Task> element
#   bn_control FILE     wrap <Task> elements read from stdin into FILE
#   bn_agent_start ...  start the agent in the background (pid in $agent_pid)
#   bn_agent_wait       wait for it; bn_agent_stop: SIGTERM and wait
#   bn_rss_kb PID KEY   VmRSS / VmHWM / RssAnon / RssFile from /proc
#   bn_pss_uss_kb PID   "PSS USS" from /proc/PID/smaps_rollup
#   bn_ctxsw PID        context switches, all threads, voluntary + not
#   bn_pct P            percentile P (0..100) of the numbers on stdin
#   row FIG VALUE TARGET VERDICT   a line of the summary table ($BENCH_TABLE)
set -u
BN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
agent="$bdir/ant-agent"
sim="$bdir/ant-sim"
noop="$bdir/bench/noop_client"
noop_libc="$bdir/bench/noop_client_libc"
work=$(mktemp -d /tmp/ant-bench.XXXXXX)
agent_pid=""
bn_cleanup() {
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap bn_cleanup EXIT

root_flag=()
[ "$(id -u)" -eq 0 ] && root_flag=(--allow-root)

row() {
  printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >> "${BENCH_TABLE:-/dev/null}"
  printf '  %-46s %-24s target %-12s %s\n' "$1" "$2" "$3" "$4"
}
# verdict VALUE OP LIMIT: "met" or "MISSED" (OP is lt or ge).
verdict() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    ok = (op == "lt") ? (v < l) : (v >= l); print ok ? "met" : "MISSED" }'
}

# bn_fleet: catalogues for the no-op client (addresses never looked up)
# and, when ant-sim is wanted, real files in an ant-sim store.
bn_fleet() {
  echo '[]' > "$work/ks.json"
  {
    echo "fileSize,name,address,md5"
    echo "tiny,noop1.bin,0123456789abcdef0123456789abcdef,0"
    echo "tiny,noop2.bin,fedcba9876543210fedcba9876543210,0"
  } > "$work/noop-downloads.csv"
  printf 'fileSize,seed,size,md5\ntiny,5,10000,0\nsmall,6,300000,0\n' > "$work/seeds.csv"
}

# bn_sim_store: tiny and small files uploaded to an ant-sim store, and a
# download catalogue with their real addresses and MD5s.
bn_sim_store() {
  mkdir -p "$work/store"
  export ANT_SIM_STORE="$work/store"
  printf '%s\n' "tiny t1.bin 11 20000" "tiny t2.bin 12 100000" "small s1.bin 21 300000" |
    "$BN_TOP/scripts/sim-catalogue.sh" "$agent" "$sim" > "$work/sim-downloads.csv"
}

# bn_env FILE CLIENT DOWNLOADS [KEY=VALUE...]: a settings file for one run,
# its cache under $work/run.
bn_env() {
  local f=$1 client=$2 dl=$3
  shift 3
  rm -rf "$work/run"
  mkdir -p "$work/run"
  {
    cat <<X
ALLOW_FILE_URLS=true
SCHEDULER_URL=file://$work/control.xml
CSV_URL=file://$dl
CSV_QUOTE_URL=file://$work/seeds.csv
GIT_KILL_SWITCH_URL=file://$work/ks.json
CLIENT_PATH=$client
CLIENT_ENV_PASS=ANT_SIM_* NOOP_*
CACHE_DIR=$work/run/cache
CACHE_FILE=$work/run/cache/dl.csv
CACHE_INFO_FILE=$work/run/cache/dl.meta
CACHE_QUOTE_FILE=$work/run/cache/q.csv
CACHE_QUOTE_META=$work/run/cache/q.meta
CLIENT_DOWNLOAD_PATH=$work/run/cache/downloads
METRICS_FILE=$work/run/cache/metrics.csv
SUMMARY_FILE=$work/run/cache/summary.csv
AGENT_ID=bench
MIN_FREE_DISK_GB=0
REFRESH_JITTER_SECS=0
X
    for kv in "$@"; do echo "$kv"; done
  } > "$f"
}

# bn_task REF MINUTE TYPE SIZE WORKERS REPEAT
bn_task() {
  cat <<X
  <Task><TaskRef>$1</TaskRef><Description>benchmark task $1</Description>
    <TimePeriod>$2</TimePeriod><TimeOffset>0</TimeOffset><TestType>$3</TestType>
    <TestOptions><Option key="filesize" value="$4"/><Option key="workers" value="$5"/>
      <Option key="offset" value="false"/><Option key="repeat" value="$6"/>
      <Option key="timeout" value="600"/><Option key="retry" value="0"/></TestOptions></Task>
X
}

bn_control() {
  { echo "<Schedule>"; cat; echo "</Schedule>"; } > "$1"
}

# bn_agent_start ENV START SPEED RUN_FOR: the agent in the background, log
# in $work/run/agent.log; the run starts in $work/run.
bn_agent_start() {
  (cd "$work/run" && exec "$agent" run "${root_flag[@]}" --no-console --env-file "$1" \
    --clock-start "$2" --clock-speed "$3" --run-for "$4" \
    > "$work/run/agent.out" 2> "$work/run/agent.log") &
  agent_pid=$!
}
bn_agent_wait() { wait "$agent_pid" 2>/dev/null || true; agent_pid=""; }
bn_agent_stop() { kill -TERM "$agent_pid" 2>/dev/null || true; bn_agent_wait; }

# bn_wait_for FILE PATTERN SECS: wait until FILE has a line matching PATTERN.
bn_wait_for() {
  local i=0
  while [ "$i" -lt $(($3 * 20)) ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

bn_rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
# PSS (each shared page divided among the processes mapping it) and USS
# (the pages only this process maps: Private_Clean + Private_Dirty), KiB.
bn_pss_uss_kb() {
  awk '$1 == "Pss:" { p = $2 } $1 ~ /^Private_(Clean|Dirty):$/ { u += $2 }
    END { if (p != "") print p, u + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || true
}

# (Each of these may race with the process's exit: they print 0 then.)
bn_ctxsw() {
  { cat /proc/"$1"/task/*/status 2>/dev/null || true; } |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

bn_threads() { { ls /proc/"$1"/task 2>/dev/null || true; } | wc -l; }

# CPU time of a process so far, in seconds (utime + stime from /proc).
bn_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || true
}

bn_pct() {
  sort -g | awk -v p="$1" '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

# bn_calc EXPR [DECIMALS]: arithmetic on decimals (awk, so 1e6 works).
bn_calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }

# bn_watch PID [SECS] [KIDS]: sample the process every SECS (0.1) until it
# exits; child processes are counted only when KIDS is 1 (the default),
# since scanning /proc takes CPU from the process being measured. Sets
# w_rss (last VmRSS), w_hwm (VmHWM), w_anon (last RssAnon), w_pss and w_uss
# (last PSS and USS, only when KIDS is 0), w_cpu (last CPU seconds), w_threads (most threads), w_kids (most child processes at
# once) and w_kids_rss (VmRSS when there were that many), all in KiB.
bn_watch() {
  local v k secs=${2:-0.1} kids=${3:-1}
  w_rss=0 w_hwm=0 w_anon=0 w_pss=0 w_uss=0 w_cpu=0 w_threads=0 w_kids=0 w_kids_rss=0
  while kill -0 "$1" 2>/dev/null; do
    v=$(bn_rss_kb "$1" VmRSS); [ -n "$v" ] && w_rss=$v
    v=$(bn_rss_kb "$1" VmHWM); [ -n "$v" ] && w_hwm=$v
    v=$(bn_rss_kb "$1" RssAnon); [ -n "$v" ] && w_anon=$v
    if [ "$kids" = 0 ]; then
      v=$(bn_pss_uss_kb "$1"); [ -n "$v" ] && read -r w_pss w_uss <<< "$v"
    fi
    v=$(bn_cpu_s "$1" 2>/dev/null) && [ -n "$v" ] && w_cpu=$v
    v=$(bn_threads "$1"); [ "$v" -gt "$w_threads" ] && w_threads=$v
    if [ "$kids" = 1 ]; then
      k=$(pgrep -c -P "$1" 2>/dev/null || true)
      if [ -n "$k" ] && [ "$k" -gt "$w_kids" ]; then w_kids=$k; w_kids_rss=$w_rss; fi
    fi
    sleep "$secs"
  done
}

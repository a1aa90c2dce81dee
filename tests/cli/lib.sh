# Helpers for the command-line tests. Source it; it sets `agent`, `sim`,
# a fresh scratch directory `work` (removed on exit) and a `fail` counter.
set -u
agent="$ANT_BUILD_DIR/ant-agent"
sim="$ANT_BUILD_DIR/ant-sim"
fixtures="$ANT_FIXTURES_DIR"
work=$(mktemp -d /tmp/ant-cli-test.XXXXXX)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
cd "$work"
failures=0
checks=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
# expect_grep PATTERN FILE DESCRIPTION
expect_grep() { if grep -qE -- "$1" "$2"; then ok; else bad "$3 (no /$1/ in $2)"; sed 's/^/    | /' "$2" >&2; fi; }
expect_no_grep() { if grep -qE -- "$1" "$2"; then bad "$3 (found /$1/ in $2)"; else ok; fi; }
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3 (got '$1', want '$2')"; fi; }
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# ---- a local fleet for running the whole agent on the virtual clock ----
# fleet_init: a kill-switch answer (OFF), empty catalogues made from
# seeded files in an ant-sim store, and settings in $work/fleet.env.
fleet_init() {
  mkdir -p "$work/store"
  export ANT_SIM_STORE="$work/store"
  export ANT_SIM_LOG="$work/sim.log"
  : > "$ANT_SIM_LOG"
  echo '[]' > "$work/ks.json"
  printf '%s\n' "tiny t1.bin 11 20000" "tiny t2.bin 12 30000" "small s1.bin 21 200000" |
    "$ANT_SOURCE_DIR/scripts/sim-catalogue.sh" "$agent" "$sim" > "$work/downloads.csv"
  printf 'fileSize,seed,size,md5\ntiny,5,10000,0\nsmall,6,300000,0\n' > "$work/seeds.csv"
  cat > "$work/fleet.env" <<X
ALLOW_FILE_URLS=true
SCHEDULER_URL=file://$work/control.xml
CSV_URL=file://$work/downloads.csv
CSV_QUOTE_URL=file://$work/seeds.csv
GIT_KILL_SWITCH_URL=file://$work/ks.json
CLIENT_PATH=$sim
CACHE_DIR=$work/cache
CACHE_FILE=$work/cache/dl.csv
CACHE_INFO_FILE=$work/cache/dl.meta
CACHE_QUOTE_FILE=$work/cache/q.csv
CACHE_QUOTE_META=$work/cache/q.meta
CLIENT_DOWNLOAD_PATH=$work/cache/downloads
METRICS_FILE=$work/cache/metrics.csv
SUMMARY_FILE=$work/cache/summary.csv
MIN_FREE_DISK_GB=0
REFRESH_JITTER_SECS=0
DOWNLOAD_YIELD_SECS=30
QUOTE_YIELD_SECS=30
X
}

# task REF MINUTE TYPE SIZE WORKERS REPEAT [TIMEOFFSET] [TIMEOUT] [RETRY]:
# one <Task> element on stdout.
task() {
  cat <<X
  <Task><TaskRef>$1</TaskRef><Description>test task $1</Description>
    <TimePeriod>$2</TimePeriod><TimeOffset>${7:-0}</TimeOffset><TestType>$3</TestType>
    <TestOptions><Option key="filesize" value="$4"/><Option key="workers" value="$5"/>
      <Option key="offset" value="false"/><Option key="repeat" value="$6"/>
      <Option key="timeout" value="${8:-3600}"/><Option key="retry" value="${9:-0}"/></TestOptions></Task>
X
}

root_flag=()
[ "$(id -u)" -eq 0 ] && root_flag=(--allow-root)

# run_agent START SPEED RUN_FOR [more args]: the agent on the fleet, log in
# $work/agent.log.
run_agent() {
  local start=$1 speed=$2 runfor=$3
  shift 3
  "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" \
    --clock-start "$start" --clock-speed "$speed" --run-for "$runfor" "$@" \
    > "$work/agent.out" 2> "$work/agent.log"
}

# metric_starts [TASK]: "minute second task status worker" for each
# ant_agent line (the test's start, schedule time).
metric_starts() {
  awk -v want="${1:-}" '/^ant_agent,/ {
      task = ""; status = ""; worker = "";
      n = split($1, tags, ",");
      for (i = 2; i <= n; i++) { split(tags[i], kv, "=");
        if (kv[1] == "task") task = kv[2]; if (kv[1] == "status") status = kv[2]; }
      m = split($2, fields, ",");
      for (i = 1; i <= m; i++) { split(fields[i], kv, "="); if (kv[1] == "worker") worker = kv[2]; }
      sub(/i$/, "", worker);
      # The timestamp is the last word (string fields may hold blanks).
      s = int(substr($NF, 1, length($NF) - 9));
      if (want == "" || want == task)
        printf "%d %d %s %s %s %d\n", int((s % 3600) / 60), s % 60, task, status, worker, s;
    }' "$work/cache/metrics.csv"
}

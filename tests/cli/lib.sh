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
CLIENT_ENV_PASS="ANT_SIM_* FAULT_*"
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

# ---- a GitHub-like kill-switch on loopback (tests/tools/testhttpd.py) ----
# start_github [testhttpd args]: serve $work/gh under $gh_url/gh/ with
# GitHub's rate-limit rules (--gh-limit, --gh-window), point the fleet's
# kill-switch at $gh_url/gh/issues.json (OFF) and stop the server on exit.
start_github() {
  mkdir -p "$work/gh"
  echo '[]' > "$work/gh/issues.json"
  python3 "$ANT_SOURCE_DIR/tests/tools/testhttpd.py" --root "$work/gh" \
    --port-file "$work/gh.port" "$@" &
  gh_pid=$!
  trap 'kill "$gh_pid" 2>/dev/null; wait "$gh_pid" 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
  for _ in $(seq 100); do [ -s "$work/gh.port" ] && break; sleep 0.1; done
  gh_url="http://127.0.0.1:$(cat "$work/gh.port")"
  sed -i "s|^GIT_KILL_SWITCH_URL=.*|GIT_KILL_SWITCH_URL=$gh_url/gh/issues.json|" "$work/fleet.env"
}
# gh_stat KEY: one counter of the /gh route (see testhttpd.py /_gh).
gh_stat() {
  python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_gh"))[sys.argv[2]])' "$gh_url" "$1"
}
# gh_switch FILE_TEXT: replace the kill-switch answer atomically.
gh_switch() { printf '%s\n' "$1" > "$work/gh/issues.json.new" && mv "$work/gh/issues.json.new" "$work/gh/issues.json"; }
# status_get PATH [FILE]: a member of the status file by dotted path.
status_get() {
  python3 -c 'import json, sys
v = json.load(open(sys.argv[2]))
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else v)' "$1" "${2:-$work/cache/status.json}"
}
# switch_at ISO SPEED TEXT: wait until the running agent's schedule clock
# (read from its status file: "now" and the real "written_at_ms") passes
# ISO, replace the kill-switch answer with TEXT and print the schedule
# time of the change in epoch seconds.
switch_at() {
  printf '%s\n' "$3" > "$work/gh/issues.json.new"
  python3 -c 'import calendar, json, os, sys, time
status, target, speed, new, dst = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
def epoch(iso): return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))
want = epoch(target)
while True:
    try:
        d = json.load(open(status))
        base, written = epoch(d["now"]), d["written_at_ms"] / 1000.0
        if base + (time.time() - written) * speed >= want:
            break
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.02)
os.rename(new, dst)
print(int(base + (time.time() - written) * speed))' \
    "$work/cache/status.json" "$1" "$2" "$work/gh/issues.json.new" "$work/gh/issues.json"
}
# log_epoch LINE: the schedule time of a log line, epoch seconds.
log_epoch() { date -u -d "$(echo "$1" | awk '{split($1, d, "-"); print d[3] "-" d[2] "-" d[1] " " $2}')" +%s; }

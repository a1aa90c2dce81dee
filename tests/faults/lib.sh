# Helpers for the fault-injection tests. Source it after nothing else: it
# sources tests/cli/lib.sh (scratch dir, fleet_init, task, run_agent,
# metric_starts, expect_*), then adds a loopback HTTP server, a client
# wrapper that turns faults on per task, and checks on the metric files.
faults_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$faults_dir/../cli/lib.sh"
httpd_pid=""
agent_pid=""
cleanup_faults() {
  [ -n "$agent_pid" ] && kill -KILL "$agent_pid" 2>/dev/null
  [ -n "$httpd_pid" ] && kill "$httpd_pid" 2>/dev/null
  # Stray clients of this test (hangs, forks): their command lines hold $work.
  pkill -KILL -f "$work/" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup_faults EXIT

# start_httpd: tests/tools/testhttpd.py on 127.0.0.1, serving $work/www
# under /files/; sets $httpd (the base URL).
start_httpd() {
  mkdir -p "$work/www"
  python3 "$ANT_SOURCE_DIR/tests/tools/testhttpd.py" --root "$work/www" \
    --port-file "$work/httpd.port" &
  httpd_pid=$!
  for _ in $(seq 100); do [ -s "$work/httpd.port" ] && break; sleep 0.1; done
  httpd="http://127.0.0.1:$(cat "$work/httpd.port")"
}
# http_set PATH MODE: from now on the server answers PATH with route MODE
# ("" restores the normal answer).
http_set() { curl -s --max-time 5 "$httpd/_set?path=$1&mode=$2" > /dev/null; }

# use_fault_client: CLIENT_PATH becomes tests/faults/fault-client.sh, which
# logs every call to $work/calls.log and reads the fault of each call from
# $work/faults/<key> (key: task-REF for quotes and uploads, the address
# for downloads).
use_fault_client() {
  mkdir -p "$work/faults"
  export FAULT_SIM="$sim" FAULT_DIR="$work/faults" FAULT_CALLS="$work/calls.log"
  : > "$FAULT_CALLS"
  sed -i "s#^CLIENT_PATH=.*#CLIENT_PATH=$faults_dir/fault-client.sh#" "$work/fleet.env"
}
# fault KEY MODE [ARGS...]
fault() { local k=$1; shift; echo "$*" > "$work/faults/$k"; }

# start_agent START SPEED [args]: the agent in the background ($agent_pid),
# log in $work/agent.log.
start_agent() {
  local start=$1 speed=$2
  shift 2
  "$agent" run "${root_flag[@]}" --no-console --env-file "$work/fleet.env" \
    --clock-start "$start" --clock-speed "$speed" "$@" \
    >> "$work/agent.out" 2>> "$work/agent.log" &
  agent_pid=$!
}
# wait_agent [SECS]: wait for the background agent to end (default 120 s
# real), KILL it when it does not; returns its exit code.
wait_agent() {
  local rc
  for _ in $(seq $((${1:-120} * 10))); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$agent_pid" 2>/dev/null && { bad "agent still running after ${1:-120} s"; kill -KILL "$agent_pid"; }
  wait "$agent_pid"; rc=$?
  agent_pid=""
  return $rc
}
# wait_log COUNT PATTERN [SECS] [FILE]: until PATTERN (ERE) is in the log
# at least COUNT times; 1 when it never got there.
wait_log() {
  local n=$1 pat=$2 secs=${3:-60} f=${4:-$work/agent.log}
  for _ in $(seq $((secs * 10))); do
    [ "$(grep -cE -- "$pat" "$f" 2>/dev/null)" -ge "$n" ] && return 0
    sleep 0.1
  done
  return 1
}
count_log() { grep -cE -- "$1" "${2:-$work/agent.log}"; }

# expect_whole_lines FILE WHAT: the file ends with a newline and every line
# is a complete line-protocol line of ours (measurement, tags, fields and a
# nanosecond timestamp).
expect_whole_lines() {
  local f=$1 what=$2 badn
  if [ ! -s "$f" ]; then ok; return; fi
  if [ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
    bad "$what: $f does not end with a whole line"; return
  fi
  # String fields may hold blanks: read them as one token first.
  badn=$(sed -E 's/"([^"\\]|\\.)*"/S/g' "$f" | grep -cvE '^ant_agent(_summary|_status)?,[^ ]+ [^ ]+ [0-9]{19}$')
  expect_eq "$badn" 0 "$what: lines of $f that are not whole line-protocol lines"
}
# calls_of PATTERN: client calls (not --version) whose argv matches.
calls_of() { grep -v -- '--version' "$FAULT_CALLS" | grep -cE -- "${1:-.}"; }
# metric_field TASK FIELD: the values of FIELD on the task's metric lines.
metric_field() {
  grep -E "^ant_agent,.*,task=$1(,| )" "$work/cache/metrics.csv" |
    sed -nE "s/.* ([^ ]*,)?$2=([^, ]*).*/\2/p"
}
# metric_lines TASK: metric lines of the task.
metric_lines() { grep -cE "^ant_agent,.*,task=$1(,| )" "$work/cache/metrics.csv"; }

# expect_terminal_safe FILE...: every file is valid UTF-8 with no control
# character but tab and newline (C0, DEL, C1): nothing from outside reached
# it raw.
expect_terminal_safe() {
  python3 - "$@" <<'P' > "$work/raw.txt"
import sys
for name in sys.argv[1:]:
    data = open(name, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("%s: not UTF-8 at byte %d" % (name, e.start)); continue
    for i, ch in enumerate(text):
        c = ord(ch)
        if (c < 0x20 and ch not in "\t\n") or 0x7f <= c <= 0x9f:
            print("%s: control U+%04X at %d" % (name, c, i)); break
P
  expect_eq "$(cat "$work/raw.txt")" "" "terminal-safe log"
}

# expect_helper_envs MIN SECRET...: at least MIN network-helper starts were
# recorded (tests/faults/fault-net.py writes helper-env/*.env), each holds
# only proxy and certificate variables, and none holds any SECRET.
expect_helper_envs() {
  local min=$1 dumps secret allowed
  shift
  dumps=$(ls "$work"/helper-env/*.env 2>/dev/null | wc -l)
  if [ "$dumps" -ge "$min" ]; then ok; else bad "only $dumps helper starts recorded"; fi
  allowed='^(http_proxy|https_proxy|HTTP_PROXY|HTTPS_PROXY|no_proxy|NO_PROXY|SSL_CERT_FILE|SSL_CERT_DIR|CURL_CA_BUNDLE)='
  expect_eq "$(cat "$work"/helper-env/*.env | grep -cvE "$allowed")" 0 "helper environment: only proxy and certificate variables"
  expect_eq "$(grep -lx 'SSL_CERT_DIR=/nonexistent/certs.d' "$work"/helper-env/*.env | wc -l)" "$dumps" \
    "every helper environment recorded is the helper's"
  for secret in "$@"; do
    expect_eq "$(grep -lF -- "$secret" "$work"/helper-env/*.env | wc -l)" 0 "$secret in a helper's environment"
  done
}

# http_fleet ROUTE: the fleet's control file ($work/www/control.xml, served
# as ROUTE), download catalogue and kill-switch (no open issue) come from
# the loopback HTTP server (start_httpd first).
http_fleet() {
  cp "$work/downloads.csv" "$work/seeds.csv" "$work/www/"
  echo '[]' > "$work/www/issues.json"
  sed -i -e "s#^SCHEDULER_URL=.*#SCHEDULER_URL=$httpd/$1#" \
         -e "s#^CSV_URL=.*#CSV_URL=$httpd/files/downloads.csv#" \
         -e "s#^GIT_KILL_SWITCH_URL=.*#GIT_KILL_SWITCH_URL=$httpd/gh/issues.json#" "$work/fleet.env"
}

# http_fleet_each_minute: the fleet's files served by the loopback HTTP
# server (start_httpd first), with a one-worker tiny download task every
# minute from :05 to :54, short fetch timeouts and a kill-switch token.
http_fleet_each_minute() {
  { echo "<Schedule>"
    for m in $(seq 5 54); do task "$(printf '%03d' "$m")" "$m" Download tiny 1 false; done
    echo "</Schedule>"; } > "$work/www/control.xml"
  http_fleet files/control.xml
  cat >> "$work/fleet.env" <<X
FETCH_TIMEOUT_SECS=1
FETCH_CONNECT_TIMEOUT_SECS=1
MIN_FREE_MEM_MB=0
GITHUB_TOKEN=test-token-123
X
}

# use_fault_net: the agent's network helper becomes tests/faults/fault-net.py
# (ANT_AGENT_NET_HELPER), which runs the real ant-agent-net behind it and
# acts out the faults named in $work/netfault (empty: none).
use_fault_net() {
  cp "$faults_dir/fault-net.py" "$work/net-helper"
  chmod 755 "$work/net-helper"
  echo "$ANT_BUILD_DIR/ant-agent-net" > "$work/net-helper.real"
  : > "$work/netfault"
  export ANT_AGENT_NET_HELPER="$work/net-helper"
}

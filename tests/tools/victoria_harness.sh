# victoria_harness.sh - start, stop and query a private single-node
# VictoriaMetrics on loopback for tests. Source it, then:
#
#   victoria_available        true when victoria-metrics is installed
#   victoria_start DIR        start it with its storage under DIR (created);
#                             sets VM_PORT and VM_TEST_URL; waits for /health
#   victoria_stop             stop it (data stays in DIR)
#   victoria_flush            make everything written so far searchable
#   victoria_export_count MATCH START END
#                             number of raw samples of the series matching
#                             MATCH (a series selector) between START and END
#                             (unix seconds), from /api/v1/export
#   victoria_query QUERY TIME value of a one-result MetricsQL query at TIME
#
# It listens on 127.0.0.1 only, with a retention of 100 years so that points
# stamped by the virtual clock (in the past) are kept. A trap in the caller
# should call victoria_stop.

VM_BIN=${VM_BIN:-/usr/bin/victoria-metrics}
VM_PID=
VM_DIR=
VM_PORT=
VM_TEST_URL=

victoria_available() { [ -x "$VM_BIN" ]; }

victoria_start() {
  local i
  VM_DIR=$1
  mkdir -p "$VM_DIR"
  VM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  VM_TEST_URL="http://127.0.0.1:$VM_PORT"
  "$VM_BIN" -httpListenAddr="127.0.0.1:$VM_PORT" -storageDataPath="$VM_DIR/data" \
    -retentionPeriod=100y -loggerLevel=ERROR >>"$VM_DIR/vm.log" 2>&1 &
  VM_PID=$!
  for i in $(seq 1 150); do
    curl -fsS -o /dev/null "$VM_TEST_URL/health" 2>/dev/null && return 0
    if ! kill -0 "$VM_PID" 2>/dev/null; then
      echo "victoria-metrics exited; its log:" >&2
      tail -20 "$VM_DIR/vm.log" >&2
      VM_PID=
      return 1
    fi
    sleep 0.1
  done
  echo "victoria-metrics did not answer /health in 15 s" >&2
  return 1
}

victoria_stop() {
  if [ -n "$VM_PID" ]; then
    kill "$VM_PID" 2>/dev/null || true
    wait "$VM_PID" 2>/dev/null || true
    VM_PID=
  fi
}

victoria_flush() { curl -fsS "$VM_TEST_URL/internal/force_flush" >/dev/null; }

victoria_export_count() {
  curl -fsS "$VM_TEST_URL/api/v1/export" --data-urlencode "match[]=$1" \
    --data-urlencode "start=$2" --data-urlencode "end=$3" |
    python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))'
}

victoria_query() {
  curl -fsS "$VM_TEST_URL/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$2" |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "no-result:%d" % len(r))'
}

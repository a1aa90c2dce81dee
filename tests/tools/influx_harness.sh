# influx_harness.sh - start, stop and query a private InfluxDB 1.x on
# loopback for tests. Source it, then:
#
#   influx_available            true when influxd and influx are installed
#   influx_start DIR            start influxd with its data under DIR (created);
#                               sets INFLUX_PORT and INFLUX_TEST_URL; waits for /ping
#   influx_stop                 stop it (data stays in DIR)
#   influx_restart              start again on the same DIR and port
#   influx_q DB QUERY           run an InfluxQL query, CSV output without header
#   influx_count DB MEAS FIELD  number of points of a measurement (count of a field)
#   influx_import FILE          import a line-protocol file (with its # DML header)
#
# The server listens on 127.0.0.1 only (HTTP and the meta/RPC port), with
# reporting, the monitor store and every other listener off. A trap in the
# caller should call influx_stop.

INFLUXD_BIN=${INFLUXD_BIN:-/usr/bin/influxd}
INFLUX_BIN=${INFLUX_BIN:-/usr/bin/influx}
INFLUX_PID=
INFLUX_DIR=
INFLUX_PORT=
INFLUX_RPC_PORT=

influx_available() { [ -x "$INFLUXD_BIN" ] && [ -x "$INFLUX_BIN" ]; }

# A free TCP port on 127.0.0.1 (the kernel picks it).
influx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

influx_write_config() {
  cat >"$INFLUX_DIR/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"

[meta]
  dir = "$INFLUX_DIR/meta"
  logging-enabled = false

[data]
  dir = "$INFLUX_DIR/data"
  wal-dir = "$INFLUX_DIR/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = false
  log-enabled = false

[logging]
  level = "warn"

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
CONF
}

influx_wait_ping() {
  local i
  for i in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$INFLUX_PORT/ping" 2>/dev/null; then
      return 0
    fi
    if [ -n "$INFLUX_PID" ] && ! kill -0 "$INFLUX_PID" 2>/dev/null; then
      echo "influxd exited; its log:" >&2
      tail -20 "$INFLUX_DIR/influxd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "influxd did not answer /ping in 15 s" >&2
  return 1
}

influx_launch() {
  "$INFLUXD_BIN" -config "$INFLUX_DIR/influxdb.conf" >>"$INFLUX_DIR/influxd.log" 2>&1 &
  INFLUX_PID=$!
  influx_wait_ping
}

influx_start() {
  INFLUX_DIR=$1
  mkdir -p "$INFLUX_DIR"
  INFLUX_PORT=$(influx_free_port)
  INFLUX_RPC_PORT=$(influx_free_port)
  INFLUX_TEST_URL="http://127.0.0.1:$INFLUX_PORT"
  influx_write_config
  influx_launch
}

influx_stop() {
  if [ -n "$INFLUX_PID" ]; then
    kill "$INFLUX_PID" 2>/dev/null || true
    wait "$INFLUX_PID" 2>/dev/null || true
    INFLUX_PID=
  fi
}

influx_restart() { influx_launch; }

influx_q() {
  "$INFLUX_BIN" -host 127.0.0.1 -port "$INFLUX_PORT" -database "$1" -format csv \
    -execute "$2" | tail -n +2
}

influx_count() {
  influx_q "$1" "SELECT count(\"$3\") FROM \"$2\"" | awk -F, '{ s += $3 } END { print s + 0 }'
}

influx_import() {
  "$INFLUX_BIN" -host 127.0.0.1 -port "$INFLUX_PORT" -import -path="$1" -precision=ns
}

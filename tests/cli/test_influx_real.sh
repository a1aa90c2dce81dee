# The metric lines against a real InfluxDB 1.x on loopback: every line of
# the files is accepted, as many points as lines, the right tags and field
# types; the files imported by hand give the same counts; a server that
# stops mid-run and an agent restarted with a full spool lose nothing.
. "$ANT_SOURCE_DIR/tests/cli/lib.sh"
. "$ANT_SOURCE_DIR/tests/tools/influx_harness.sh"

if ! influx_available; then
  echo "FAIL: influxd/influx not installed (scripts/deps.sh installs the Debian package influxdb)"
  echo "0 passed, 1 failed"
  exit 1
fi
feed="$ANT_BUILD_DIR/tests/influx_feed"
trap 'influx_stop; rm -rf "$work"' EXIT

influx_start "$work/influxdb" || { echo "FAIL: influxd did not start"; exit 1; }
create_db() { curl -fsS -XPOST "$INFLUX_TEST_URL/query" --data-urlencode "q=CREATE DATABASE $1" >/dev/null; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
kv() { sed -n "s/^$1=//p" "$2"; }

# Tags that need every kind of escaping, on every line.
export AGENT_ID="agent-test.1"
export TELEMETRY_COUNTRY=uk
export TELEMETRY_PROVISON='"home"'
export TELEMETRY_CONNECTION='fibre\ 1G, "north"=1'
export INFLUX_URL="$INFLUX_TEST_URL"

# --- 1. Live push of a simulated run, counted back ---
create_db ant_live
export CACHE_DIR="$work/live" METRICS_FILE="$work/live/metrics/metrics.csv" \
       SUMMARY_FILE="$work/live/metrics/summary.csv" INFLUX_DB=ant_live
"$feed" --minutes 30 --per-minute 25 >"$work/live.out" 2>"$work/live.err"
expect_eq "$?" 0 "the feed ran and its spool drained"
m_lines=$(lines "$METRICS_FILE")
s_lines=$(lines "$SUMMARY_FILE")
expect_eq "$m_lines" 750 "one ant_agent line per result"
expect_eq "$(influx_count ant_live ant_agent exec_time)" "$m_lines" "ant_agent points = metrics file lines"
expect_eq "$(influx_count ant_live ant_agent_summary count)" "$s_lines" "ant_agent_summary points = summary file lines"
expect_eq "$(kv influx_rejected "$work/live.out")" 0 "no batch rejected"
expect_eq "$(kv influx_sent "$work/live.out")" "$((m_lines + s_lines))" "every line sent"

influx_q ant_live "SHOW TAG KEYS FROM ant_agent" | cut -d, -f2 | sort | tr '\n' ' ' >"$work/tagkeys"
expect_grep '^agent agent_version client_version connection country filesize provision status task type $' "$work/tagkeys" "ant_agent tag keys"
influx_q ant_live "SHOW TAG KEYS FROM ant_agent_summary" | cut -d, -f2 | sort | tr '\n' ' ' >"$work/stagkeys"
expect_grep '^agent agent_version client_version connection country filesize provision type $' "$work/stagkeys" "summary tag keys"
influx_q ant_live "SHOW TAG VALUES FROM ant_agent WITH KEY = connection" >"$work/connection"
expect_grep 'fibre/ 1G, ""north""=1' "$work/connection" "connection tag kept its commas, spaces, quotes and equals sign (a backslash becomes /)"
influx_q ant_live "SHOW TAG VALUES FROM ant_agent WITH KEY = country" >"$work/country"
expect_grep ',country,GB$' "$work/country" "country code normalised (uk is GB)"
influx_q ant_live "SHOW TAG VALUES FROM ant_agent WITH KEY = provision" >"$work/prov"
expect_grep ',provision,home$' "$work/prov" "surrounding quotes of an old .env value are not part of the tag"
influx_q ant_live "SHOW TAG VALUES FROM ant_agent WITH KEY = agent" >"$work/agent"
expect_grep ',agent,agent-test.1$' "$work/agent" "agent tag"

influx_q ant_live "SHOW FIELD KEYS FROM ant_agent" | cut -d, -f2,3 | sort | tr '\n' ' ' >"$work/fields"
want='address,string already_stored,integer attempt,integer bytes,integer chunks_existing,integer chunks_stored,integer client_err,integer client_kill,integer client_ok,integer cost,float cost_atto,integer data_loss,integer exec_time,float exit_code,integer md5checker,integer md5valid,integer network_err,integer ok,integer spent_today_atto,integer throughput,float unknown_err,integer worker,integer '
expect_eq "$(cat "$work/fields")" "$want" "ant_agent field types"
influx_q ant_live "SHOW FIELD KEYS FROM ant_agent_summary" | cut -d, -f2,3 | sort | tr '\n' ' ' >"$work/sfields"
want='bytes,integer count,integer failed,integer max,float mean,float min,float ok,integer p50,float p90,float p95,float p99,float sum,float '
expect_eq "$(cat "$work/sfields")" "$want" "ant_agent_summary field types"
# The summaries add up to the per-test counts (skipped tests excluded).
skipped=$(grep -c ',status=skipped' "$METRICS_FILE")
expect_eq "$(influx_q ant_live 'SELECT sum("count") FROM ant_agent_summary' | cut -d, -f3)" \
  "$((m_lines - skipped))" "summary counts add up to the tests that ran"

# --- 2. The same files imported by hand (docs/METRICS.md) ---
{
  printf '# DDL\nCREATE DATABASE ant_import\n\n# DML\n# CONTEXT-DATABASE: ant_import\n'
  cat "$METRICS_FILE" "$SUMMARY_FILE"
} >"$work/import.txt"
influx_import "$work/import.txt" >"$work/import.log" 2>&1
expect_grep "Processed $((m_lines + s_lines)) inserts" "$work/import.log" "import read every line"
expect_grep "Failed 0 inserts" "$work/import.log" "import accepted every line"
expect_eq "$(influx_count ant_import ant_agent exec_time)" "$m_lines" "imported ant_agent points"
expect_eq "$(influx_count ant_import ant_agent_summary count)" "$s_lines" "imported summary points"

# --- 3. The server stops mid-run and comes back ---
create_db ant_restart
export CACHE_DIR="$work/restart" METRICS_FILE="$work/restart/metrics.csv" \
       SUMMARY_FILE="$work/restart/summary.csv" INFLUX_DB=ant_restart
mkdir -p "$work/sync"
"$feed" --minutes 16 --per-minute 20 --hold 4:stop --hold 10:start --sync-dir "$work/sync" \
  >"$work/restart.out" 2>"$work/restart.err" &
feed_pid=$!
wait_for() { for _ in $(seq 1 600); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
wait_for "$work/sync/stop.wait" || bad "the feed did not reach minute 4"
influx_stop
touch "$work/sync/stop.go"
wait_for "$work/sync/start.wait" || bad "the feed did not reach minute 10"
spooled=$(ls "$CACHE_DIR/influx-spool" | grep -c '\.lp\.gz$')
if [ "$spooled" -gt 0 ]; then ok; else bad "batches should wait in the spool while the server is down"; fi
influx_restart || bad "influxd did not come back"
touch "$work/sync/start.go"
wait "$feed_pid"
expect_eq "$?" 0 "the feed drained its spool after the restart"
m_lines=$(lines "$METRICS_FILE")
s_lines=$(lines "$SUMMARY_FILE")
expect_eq "$m_lines" 320 "lines written while the server was down"
expect_eq "$(influx_count ant_restart ant_agent exec_time)" "$m_lines" "every ant_agent point after the restart"
expect_eq "$(influx_count ant_restart ant_agent_summary count)" "$s_lines" "every summary point after the restart"
retries=$(kv influx_retries "$work/restart.out")
if [ "${retries:-0}" -gt 0 ]; then ok; else bad "pushes should have been retried"; fi

# --- 4. The agent stops with a full spool; the next run sends it first ---
create_db ant_spool
export CACHE_DIR="$work/spool" METRICS_FILE="$work/spool/metrics.csv" \
       SUMMARY_FILE="$work/spool/summary.csv" INFLUX_DB=ant_spool
influx_stop
"$feed" --minutes 5 --per-minute 10 --drain-secs 1 >"$work/spool1.out" 2>/dev/null
expect_eq "$?" 3 "without a server the first run ends with data in the spool"
left=$(kv spool_files "$work/spool1.out")
if [ "${left:-0}" -gt 0 ]; then ok; else bad "spool files should survive the first run"; fi
influx_restart || bad "influxd did not come back"
"$feed" --minutes 5 --per-minute 10 --start 2024-01-01T11:00:00Z >"$work/spool2.out" 2>/dev/null
expect_eq "$?" 0 "the second run sent the old spool and its own lines"
expect_eq "$(influx_count ant_spool ant_agent exec_time)" "$(lines "$METRICS_FILE")" "points of both runs"
expect_eq "$(influx_count ant_spool ant_agent_summary count)" "$(lines "$SUMMARY_FILE")" "summaries of both runs"

# --- 5. Bad data is dropped with a count, not retried for ever ---
# An integer exec_time written first makes our float lines a type
# conflict: the server answers 400 for those batches.
create_db ant_conflict
curl -fsS -XPOST "$INFLUX_TEST_URL/write?db=ant_conflict&precision=ns" \
  --data-binary 'ant_agent exec_time=1i 1704103200000000000' || bad "conflicting point not written"
export CACHE_DIR="$work/conflict" METRICS_FILE="$work/conflict/metrics.csv" \
       SUMMARY_FILE="$work/conflict/summary.csv" INFLUX_DB=ant_conflict
"$feed" --minutes 3 --per-minute 10 --drain-secs 20 >"$work/conflict.out" 2>"$work/conflict.err"
expect_eq "$?" 0 "rejected batches leave the spool empty"
rejected=$(kv influx_rejected "$work/conflict.out")
if [ "${rejected:-0}" -gt 0 ]; then ok; else bad "the type conflict should be counted as rejected"; fi
expect_grep 'rejected a batch of [0-9]+ lines \(HTTP 400' "$work/conflict.err" "rejection logged with the status"
expect_eq "$(kv influx_retries "$work/conflict.out")" 0 "bad data is not retried"

finish

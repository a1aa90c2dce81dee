#!/usr/bin/env bash
# The whole agent against a real InfluxDB 1.x on loopback: a simulated hour
# of tests pushed live, with the server stopped for a while mid-run and
# started again. Afterwards InfluxDB holds exactly as many ant_agent points
# as the metrics file has lines (and summaries as the summary file), with
# the right tags and field types; the files imported by hand give the same
# counts.
source "$(dirname "$0")/lib.sh"
source "$ANT_SOURCE_DIR/tests/tools/influx_harness.sh"
influx_available || { bad "influxd/influx not installed (scripts/deps.sh installs them)"; finish; exit 1; }
trap 'influx_stop; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

influx_start "$work/influxdb" || { bad "influxd did not start"; finish; exit 1; }
create_db() { curl -fsS -XPOST "$INFLUX_TEST_URL/query" --data-urlencode "q=CREATE DATABASE $1" >/dev/null; }
create_db ant_live
create_db ant_import

fleet_init
{
  echo "<Schedule>"
  task 001 5 Download tiny 2 true
  task 002 6 quote tiny 2 true
  task 003 30 Download small 3 false
  echo "</Schedule>"
} > control.xml
cat >> fleet.env <<X
INFLUX_URL=$INFLUX_TEST_URL
INFLUX_DB=ant_live
TELEMETRY_COUNTRY=gb
TELEMETRY_PROVISON=home
TELEMETRY_CONNECTION=fibre 1G
X
# Some failures, so that statuses and error fields vary.
export ANT_SIM_FAIL_RATE=0.1 ANT_SIM_FAIL_KIND=network

# 120x: the hour takes about 28 s. InfluxDB is down from about :20 to :35.
run_agent 2026-01-01T10:04:00Z 120 54m &
pid=$!
sleep 8
influx_stop
sleep 7
influx_restart || bad "influxd did not come back"
wait $pid
expect_eq "$?" 0 "agent exit code"

m_lines=$(grep -c '^ant_agent,' cache/metrics.csv)
s_lines=$(wc -l < cache/summary.csv)
if [ "$m_lines" -ge 50 ]; then ok; else bad "only $m_lines tests in the hour"; fi
expect_eq "$(influx_count ant_live ant_agent exec_time)" "$m_lines" "ant_agent points = metrics file lines"
expect_eq "$(influx_count ant_live ant_agent_summary count)" "$s_lines" "ant_agent_summary points = summary file lines"
expect_grep 'influx' agent.log "push activity logged"
# While the server was down the agent kept going and said so.
expect_grep 'influx: push failed' agent.log "outage noticed"
expect_grep 'influx: the server answers again' agent.log "recovery noticed"
expect_eq "$(ls cache/influx-spool 2>/dev/null | wc -l)" 0 "spool empty at the end"

# Tags and field types.
tags=$(influx_q ant_live 'SHOW TAG KEYS FROM "ant_agent"' | awk -F, '{print $2}' | sort | tr '\n' ' ')
expect_eq "$tags" "agent agent_version client_version connection country filesize provision status task type " "tag keys"
expect_eq "$(influx_q ant_live 'SHOW TAG VALUES FROM "ant_agent" WITH KEY = "connection"' | awk -F, '{print $3}')" "fibre 1G" "tag value with a blank"
fields=$(influx_q ant_live 'SHOW FIELD KEYS FROM "ant_agent"' | awk -F, '{print $2 ":" $3}' | sort | tr '\n' ' ')
for want in exec_time:float ok:integer md5valid:integer exit_code:integer worker:integer bytes:integer throughput:float cost:float cost_atto:integer; do
  case " $fields " in *" $want "*) ok ;; *) bad "field type $want missing in: $fields" ;; esac
done
ok_points=$(influx_q ant_live 'SELECT count("ok") FROM "ant_agent" WHERE "status" = '"'ok'" | awk -F, '{print $3}')
expect_eq "$ok_points" "$(grep -c ',status=ok ' cache/metrics.csv)" "ok points = ok lines"

# The files imported by hand give the same counts.
{ echo "# DML"; echo "# CONTEXT-DATABASE: ant_import"; cat cache/metrics.csv cache/summary.csv; } > import.txt
influx_import import.txt > import.out 2>&1
expect_eq "$(influx_count ant_import ant_agent exec_time)" "$m_lines" "imported ant_agent points"
expect_eq "$(influx_count ant_import ant_agent_summary count)" "$s_lines" "imported summary points"
finish

#!/usr/bin/env bash
# The agent's own push against VictoriaMetrics, the scale-out backend: a
# private single-node server on loopback takes InfluxDB line protocol on
# /write (INFLUX_URL points at it, nothing else changes). A simulated hour
# of the whole agent is pushed live; afterwards the server holds exactly as
# many samples as the metrics files have lines, read back through its
# export API and counted again with count_over_time through its query API.
source "$(dirname "$0")/lib.sh"
source "$ANT_SOURCE_DIR/tests/tools/victoria_harness.sh"
victoria_available || { bad "victoria-metrics not installed (scripts/deps.sh installs it)"; finish; exit 1; }
trap 'victoria_stop; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
victoria_start "$work/vm" || { bad "victoria-metrics did not start"; finish; exit 1; }

fleet_init
{
  echo "<Schedule>"
  task 001 5 Download tiny 2 true
  task 002 6 quote tiny 2 true
  task 003 30 Download small 3 false
  echo "</Schedule>"
} > control.xml
cat >> fleet.env <<X
INFLUX_URL=$VM_TEST_URL
INFLUX_DB=ant_agent
TELEMETRY_COUNTRY=gb
TELEMETRY_PROVISON=home
TELEMETRY_CONNECTION=fibre 1G
X
export ANT_SIM_FAIL_RATE=0.1 ANT_SIM_FAIL_KIND=network

# The hour of yesterday that started 24 hours ago (VictoriaMetrics keeps
# what falls in its retention; the virtual clock gives the points' times).
hour=$(date -u -d '-1 day' +%Y-%m-%dT%H)
run_agent "$hour:04:00Z" 120 54m
expect_eq "$?" 0 "agent exit code"
m_lines=$(grep -c '^ant_agent,' cache/metrics.csv)
s_lines=$(wc -l < cache/summary.csv)
if [ "$m_lines" -ge 50 ]; then ok; else bad "only $m_lines tests in the hour"; fi
expect_eq "$(ls cache/influx-spool 2>/dev/null | wc -l)" 0 "spool empty at the end: every batch accepted"
expect_no_grep 'influx: push failed|rejected' agent.log "no push failure or rejection"

victoria_flush
start=$(date -u -d "$hour:00:00Z" +%s)
end=$((start + 7200))
# Each numeric field of a point becomes a sample of MEASUREMENT_FIELD.
expect_eq "$(victoria_export_count ant_agent_exec_time "$start" "$end")" "$m_lines" \
  "ant_agent_exec_time samples = metrics file lines"
expect_eq "$(victoria_export_count ant_agent_summary_count "$start" "$end")" "$s_lines" \
  "ant_agent_summary_count samples = summary file lines"
ok_lines=$(grep -c ',status=ok ' cache/metrics.csv)
expect_eq "$(victoria_export_count '{__name__="ant_agent_ok",status="ok"}' "$start" "$end")" "$ok_lines" \
  "samples with status=ok = ok lines"
expect_eq "$(victoria_query 'sum(count_over_time(ant_agent_exec_time[2h]))' "$end")" "$m_lines" \
  "count_over_time over the hour = metrics file lines"
expect_eq "$(victoria_query 'sum(sum_over_time(ant_agent_summary_count[2h]))' "$end")" \
  "$(grep -oE '(^| |,)count=[0-9]+i' cache/summary.csv | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}')" \
  "summary counts add up as in the file"
# Tags become labels.
expect_eq "$(victoria_query 'count(count by (country, provision, connection, db) (last_over_time(ant_agent_exec_time{country="GB",provision="home",connection="fibre 1G",db="ant_agent"}[2h])))' "$end")" 1 \
  "tags arrive as labels (and the database as db)"
finish

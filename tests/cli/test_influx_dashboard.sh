#!/usr/bin/env bash
# Every query of docs/grafana-dashboard.json against a real InfluxDB 1.x on
# loopback, over an hour of real agent output: each must return data. Two
# agents push to one database on the virtual clock:
#   A  a whole hour of downloads, quotes and uploads with some failures,
#      and TaskRef 002 used twice (the second runs as 002b);
#   B  the end of an hour with uploads off (skipped tests) and clients that
#      are still running at :58 (stopped by the agent, reason cooldown).
# The spool's self-metric (ant_agent_self) is added as lines in the
# documented format (METRICS.md) with the agents' own tag sets, and so is
# the heartbeat (ant_agent_status, one a minute per agent) when the agents
# did not push their own.
# The queries are taken from the JSON (every target of every panel and
# every template variable), with Grafana's macros substituted: $timeFilter
# by the hour's time range, $__interval and $interval by 1m, each template
# variable by its "All" value (.*).
source "$(dirname "$0")/lib.sh"
source "$ANT_SOURCE_DIR/tests/tools/influx_harness.sh"
influx_available || { bad "influxd/influx not installed (scripts/deps.sh installs them)"; finish; exit 1; }
trap 'influx_stop; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

influx_start "$work/influxdb" || { bad "influxd did not start"; finish; exit 1; }
curl -fsS -XPOST "$INFLUX_TEST_URL/query" --data-urlencode "q=CREATE DATABASE ant_dash" >/dev/null

fleet_init
# Agent A: the whole hour.
{
  echo "<Schedule>"
  task 001 5 Download tiny 2 true
  task 002 6 quote tiny 1 true
  task 002 7 quote small 1 true
  task 003 8 upload tiny 1 true
  task 004 10 Download small 1 true
  echo "</Schedule>"
} > control.xml
cat >> fleet.env <<X
INFLUX_URL=$INFLUX_TEST_URL
INFLUX_DB=ant_dash
AGENT_ID=agent-a
TELEMETRY_COUNTRY=gb
TELEMETRY_PROVISION=home
TELEMETRY_CONNECTION=fibre
ALLOW_UPLOADS=true
UPLOAD_BUDGET_DAY=1 ANT
UPLOAD_BUDGET_MONTH=10 ANT
SECRET_KEY=0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
X
# Agent B: its own cache, control file and tags; uploads off.
sed -e "s#$work/cache#$work/cache-b#g" -e "s#$work/control.xml#$work/control-b.xml#" \
    -e 's/^AGENT_ID=.*/AGENT_ID=agent-b/' -e 's/^TELEMETRY_COUNTRY=.*/TELEMETRY_COUNTRY=de/' \
    -e 's/^TELEMETRY_PROVISION=.*/TELEMETRY_PROVISION=vps/' \
    -e 's/^TELEMETRY_CONNECTION=.*/TELEMETRY_CONNECTION=dc/' \
    -e 's/^ALLOW_UPLOADS=.*/ALLOW_UPLOADS=false/' fleet.env > fleet-b.env
{
  echo "<Schedule>"
  task 009 53 Download tiny 2 false 0 3600
  task 010 54 upload tiny 2 false
  echo "</Schedule>"
} > control-b.xml

validate_out=$("$agent" validate --control control.xml 2>&1)
case "$validate_out" in *"runs as 002b"*) ok ;; *) bad "validate does not warn about TaskRef 002 twice: $validate_out" ;; esac

# Both agents at once (B's clients hang, A's fail now and then).
ANT_SIM_FAIL_RATE=0.1 ANT_SIM_FAIL_KIND=network run_agent 2026-01-01T10:04:00Z 120 54m &
pid_a=$!
ANT_SIM_HANG=polite "$agent" run "${root_flag[@]}" --no-console --env-file fleet-b.env \
  --clock-start 2026-01-01T10:52:00Z --clock-speed 60 --run-for 9m > agent-b.out 2> agent-b.log
expect_eq "$?" 0 "agent B exit code"
wait $pid_a
expect_eq "$?" 0 "agent A exit code"

# The agents' own output, as the test needs it.
for t in ok network_error; do
  expect_grep ",status=$t " cache/metrics.csv "agent A has $t tests"
done
for t in download quote upload; do
  expect_grep ",type=$t,.*status=ok " cache/metrics.csv "agent A has passed $t tests"
done
expect_grep ',task=002b,' cache/metrics.csv "the second TaskRef 002 runs as task 002b"
expect_grep ',task=002,' cache/metrics.csv "the first TaskRef 002 runs as task 002"
expect_grep ',filesize=small,task=002b,' cache/metrics.csv "task 002b is the second task (quote small)"
expect_grep '"ref": *1002' cache/state.json "state keeps 002b apart (key 1002)"
expect_grep 'reason_code="uploads_off"' cache-b/metrics.csv "agent B has skipped uploads"
expect_grep 'reason_code="cooldown"' cache-b/metrics.csv "agent B has tests stopped at the hour's end"
expect_eq "$(find cache/influx-spool cache-b/influx-spool -type f 2>/dev/null | wc -l)" 0 "spools empty at the end"

# A self-metric, and heartbeats unless the agents pushed their own, in the
# documented format with each agent's own tags (from its first ant_agent
# line). A spool only drops lines after megabytes of backlog, which an hour
# of one agent does not make.
tags_of() { grep -m1 '^ant_agent,' "$1" | sed -E 's/^ant_agent,//; s/,type=.*//'; }
own_beats=$(influx_count ant_dash ant_agent_status tasks_planned)
python3 - "$own_beats" "$(tags_of cache/metrics.csv)" "$(tags_of cache-b/metrics.csv)" > extra.lp <<'PY'
import sys
start = 1767261600  # 2026-01-01T10:00:00Z
for n, tags in enumerate(sys.argv[2:]):
    if sys.argv[1] == "0":
        for m in range(4, 60):
            ks = 1 if (n == 1 and m >= 56) else 0
            print(f"ant_agent_status,{tags} killswitch_on={ks}i,tasks_planned=5i,"
                  f"tasks_running={m % 3}i,tasks_done={min(5, m // 10)}i,disk_free_bytes={(50000 - m) * 1048576}i "
                  f"{(start + m * 60) * 10**9}")
    print(f"ant_agent_self,{tags} dropped_lines=12i,dropped_total=12i {(start + 1800) * 10**9}")
PY
curl -fsS -XPOST "$INFLUX_TEST_URL/write?db=ant_dash" --data-binary @extra.lp || bad "the added lines were refused"
if [ "$own_beats" = 0 ]; then
  expect_eq "$(influx_count ant_dash ant_agent_status tasks_planned)" 112 "heartbeat points"
else
  ok # the agents' own heartbeats are what the panels read
fi
expect_eq "$(influx_count ant_dash ant_agent exec_time)" "$(cat cache/metrics.csv cache-b/metrics.csv | grep -c '^ant_agent,')" \
  "ant_agent points = both agents' metrics lines"

# Every query of the dashboard, macros substituted; each must return a
# series with at least one value.
python3 - "$ANT_SOURCE_DIR/docs/grafana-dashboard.json" > queries.tsv <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
names = [v["name"] for v in d["templating"]["list"]]
def subst(q):
    q = q.replace("$timeFilter", "time >= '2026-01-01T10:00:00Z' AND time < '2026-01-01T11:05:00Z'")
    q = q.replace("$__interval", "1m").replace("$interval", "1m")
    for n in sorted(names, key=len, reverse=True):
        q = q.replace("/^$" + n + "$/", "/.*/").replace("${" + n + "}", ".*").replace("$" + n, ".*")
    if "$" in re.sub(r"\$tag_\w+", "", q):
        raise SystemExit("a macro left in: " + q)
    return q
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
n = 0
for v in d["templating"]["list"]:
    print("variable " + v["name"] + "\t" + subst(v["query"])); n += 1
for p in panels(d["panels"]):
    for t in p.get("targets", []):
        for q in t["query"].split(";"):
            print(p["title"] + " [" + t["refId"] + "]\t" + subst(q.strip())); n += 1
print(n, file=sys.stderr)
PY
nq=$(wc -l < queries.tsv)
if [ "$nq" -ge 35 ]; then ok; else bad "only $nq queries found in the dashboard"; fi
python3 - "$INFLUX_TEST_URL" queries.tsv > answers.txt <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1]
for line in open(sys.argv[2]):
    title, q = line.rstrip("\n").split("\t", 1)
    try:
        qs = urllib.parse.urlencode({"db": "ant_dash", "q": q})
        r = json.load(urllib.request.urlopen(url + "/query?" + qs, timeout=30))["results"][0]
        if "error" in r:
            print(f"BAD {title}: error {r['error']} from: {q}")
            continue
        n = sum(1 for s in r.get("series", []) for v in s.get("values", [])
                if any(x is not None for x in v[1:]))
        print(f"OK {title}: {n} rows" if n else f"BAD {title}: no data from: {q}")
    except Exception as e:
        print(f"BAD {title}: {e} from: {q}")
PY
expect_eq "$(wc -l < answers.txt)" "$nq" "every query answered"
while read -r verdict rest; do
  if [ "$verdict" = OK ]; then ok; else bad "$rest"; fi
done < answers.txt
finish

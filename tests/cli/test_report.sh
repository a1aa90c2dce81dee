#!/usr/bin/env bash
# `ant-agent report` reads the metric files back: numbers per type and
# size, text/csv/json, --since, unreadable lines counted with line numbers.
source "$(dirname "$0")/lib.sh"

t0=1704103200000000000   # 2024-01-01T10:00:00Z in ns
t20=1704104400000000000  # 10:20
tags='agent=a1,country=xx,provision=xx,connection=xx'
cat > metrics.csv <<X
ant_agent,$tags,type=download,filesize=tiny,task=001,status=ok exec_time=1.0,ok=1i,bytes=1000000i,throughput=1000000.0 $t0
ant_agent,$tags,type=download,filesize=tiny,task=001,status=ok exec_time=2.0,ok=1i,bytes=6000000i,throughput=3000000.0 $((t0 + 1))
this is not line protocol
ant_agent,$tags,type=download,filesize=tiny,task=001,status=network_error exec_time=4.0,ok=0i,bytes=0i $t20
ant_agent,$tags,type=download,filesize=tiny,task=001,status=ok exec_time=3.0,ok=1i $((t20 + 1))
ant_agent,$tags,type=download,filesize=tiny,task=001,status=skipped exec_time=0.0,ok=0i $((t20 + 2))
ant_agent,$tags,type=download,filesize=tiny,task=001,status=stopped exec_time=30.0,ok=0i,reason="stopped at the end of the hour",reason_code="cooldown" $((t20 + 3))
ant_agent,$tags,type=quote,filesize=small,task=002,status=ok exec_time=0.5,ok=1i,cost=0.5 $t20
ant_agent,$tags,type=quote,filesize=small,task=002,status=ok exec_time=0.7,ok=1i,cost=1.5 $((t20 + 5))
ant_agent,$tags,type=quote,filesize=small exec_time=0.7,ok=1i
X
cat > summary.csv <<X
ant_agent_summary,$tags,type=download,filesize=tiny count=2i,ok=2i,failed=0i,min=1.0,max=2.0,mean=1.5,p50=1.0,p90=2.0,p95=2.0,p99=2.0,sum=3.0,bytes=7000000i $t0
ant_agent_summary,$tags,type=download,filesize=tiny count=2i,ok=1i,failed=1i,min=3.0,max=4.0,mean=3.5,p50=3.0,p90=4.0,p95=4.0,p99=4.0,sum=7.0,bytes=0i $t20
X

"$agent" report --metrics metrics.csv --summary summary.csv > out.txt 2> err.txt
expect_eq "$?" 0 "report exits 0 despite bad lines"
expect_grep '^download +tiny +4 +3 +75\.0% +2\.000 +4\.000 +4\.000 +2\.00 +- +- +\(1 skipped, 1 stopped\)$' out.txt "download row: count, ok, rate, p50/p90/p99 (nearest rank), MB/s; skipped and stopped tests apart"
expect_grep '^quote +small +2 +2 +100\.0% +0\.500 +0\.700 +0\.700 +- +1 +2$' out.txt "quote row: mean and total cost"
expect_grep '^download +tiny +2 +4 +1 +2\.500 +4\.000$' out.txt "summary section adds the minutes up"
expect_grep 'metrics\.csv:3: cannot read this line' err.txt "bad line named with its number"
expect_grep 'metrics\.csv:10: cannot read this line \(no timestamp\)' err.txt "line without a timestamp"
expect_grep '^2 lines could not be read' out.txt "bad lines counted"
expect_no_grep '"' out.txt "no stray quotes"

"$agent" report --metrics metrics.csv --summary summary.csv --format csv > out.csv 2>/dev/null
expect_grep '^type,size,tests,ok,skipped,stopped,success_pct,p50_s,p90_s,p99_s,throughput_bps,cost_mean,cost_total$' out.csv "csv header"
expect_grep '^download,tiny,4,3,1,1,75\.00,2\.000000,4\.000000,4\.000000,2000000\.000,,$' out.csv "csv download row"
expect_grep '^quote,small,2,2,0,0,100\.00,0\.500000,0\.700000,0\.700000,,1,2$' out.csv "csv quote row"

"$agent" report --metrics metrics.csv --summary summary.csv --format json > out.json 2>/dev/null
expect_eq "$?" 0 "json exits 0"
python3 - out.json > json.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = {(r["type"], r["size"]): r for r in d["groups"]}
print("tests", d["tests"], "bad", d["bad_lines"])
print("dl", g[("download", "tiny")]["tests"], g[("download", "tiny")]["p90_s"], g[("download", "tiny")]["cost_mean"], g[("download", "tiny")]["stopped"])
print("q", g[("quote", "small")]["cost_total"])
print("sum", d["summaries"][0]["minutes"], d["summaries"][0]["tests"])
PY
expect_grep '^tests 8 bad 2$' json.txt "json totals"
expect_grep '^dl 4 4.0 None 1$' json.txt "json group, null for no cost"
expect_grep '^q 2.0$' json.txt "json cost total"
expect_grep '^sum 2 4$' json.txt "json summaries"

# --since counts back from the schedule clock: at 10:30, 20m leaves 10:20 on.
"$agent" report --metrics metrics.csv --summary summary.csv --since 20m \
  --clock-start 2024-01-01T10:30:00Z --format csv > since.csv 2>/dev/null
expect_grep '^download,tiny,2,1,1,1,50\.00,3\.000000,4\.000000,4\.000000,,,$' since.csv "--since drops older lines"

# Settings give the default files, with their rotated copies.
mkdir -p m
head -2 metrics.csv > m/metrics.csv.1
sed -n 4,5p metrics.csv > m/metrics.csv
"$agent" report --set METRICS_FILE=m/metrics.csv --set SUMMARY_FILE=m/none.csv --format csv > rot.csv 2>/dev/null
expect_grep '^download,tiny,4,3,0,0,75\.00,' rot.csv "rotated file read too"

"$agent" report --metrics metrics.csv --format xml > /dev/null 2> err2.txt
expect_eq "$?" 2 "bad --format is a usage error"
"$agent" report --metrics metrics.csv --since soon > /dev/null 2>&1
expect_eq "$?" 2 "bad --since is a usage error"
"$agent" report --metrics missing.csv > /dev/null 2> err3.txt
expect_eq "$?" 1 "a missing --metrics file fails"
expect_grep 'missing\.csv' err3.txt "names the missing file"
# Costs add up exactly from cost_atto (ten quotes of 0.1 tokens are 1
# token, not 0.9999999999999999); the float cost is only the fallback.
: > atto.csv
for i in 0 1 2 3 4 5 6 7 8 9; do
  echo "ant_agent,$tags,type=quote,filesize=tiny,task=003,status=ok exec_time=0.5,ok=1i,cost=7.0,cost_atto=100000000000000000i $((t20 + i))" >> atto.csv
done
"$agent" report --metrics atto.csv --summary summary.csv --format json > atto.json 2>/dev/null
python3 -c 'import json,sys; d=json.load(open("atto.json")); print([g["cost_total"] for g in d["groups"] if g["type"]=="quote"][0])' > atto.txt 2>&1
expect_eq "$(cat atto.txt)" "1.0" "cost total from cost_atto, exact"
finish

#!/usr/bin/env bash
# Hostile input and secrets, one agent hour: catalogue rows built to leave
# the cache directory or smuggle options into the client's argv; a control
# file that asks for 5000 workers repeating every 10 seconds; settings with
# secrets that must appear in no log line, metric, spool, argv or `config`
# output; a link planted where a seed file will go.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
export ANT_SIM_REQUIRE_KEY=1

# Catalogues: the good rows of fleet_init plus hostile ones; medium has
# only hostile rows.
good_addr=$(sed -n 's/^tiny,t1.bin,\([^,]*\),.*/\1/p' downloads.csv)
cat >> downloads.csv <<X
tiny,../../../../tmp/escape.bin,$good_addr,0
tiny,/etc/passwd,$good_addr,0
tiny,-rf,$good_addr,0
tiny,md5.bin,$good_addr,;touch $work/pwned
medium,..,$good_addr,0
medium,sub/dir.bin,$good_addr,0
medium,ok.bin,--help,0
medium,ok.bin,-o/etc/x,0
medium,ok.bin,$good_addr --peer evil,0
medium,ok.bin,"\$(touch $work/pwned)",0
medium,ok.bin,../../$good_addr,0
medium,"bad
name",$good_addr,0
X
cat >> seeds.csv <<X
tiny,-5,10000,0
tiny,5;touch $work/pwned,10000,0
tiny,7,99999999999999999999999,0
tiny,8,5000000,0
X

# Secrets, as an operator's .env holds them.
cat >> fleet.env <<X
SECRET_KEY=sk-SECRET-0xa11ce0123456789
GITHUB_TOKEN=test-token-123
INFLUX_TOKEN=influx-SECRET-token-42
INFLUX_PASSWORD=influx-SECRET-password-42
INFLUX_USER=agent
INFLUX_URL=$httpd/status/500
GIT_KILL_SWITCH_URL=$httpd/auth/ks.json
ALLOW_UPLOADS=true
UPLOAD_BUDGET_DAY=1 ANT
UPLOAD_BUDGET_MONTH=1 ANT
DEFAULT_LOG_LEVEL=DEBUG
LOG_TO_FILE=true
LOG_FILE_PATH=$work/cache/logs/agent.log
DOWNLOAD_YIELD_SECS=60
DOWNLOAD_RATE_LIMIT=40
MIN_FREE_MEM_MB=0
X
secrets=(sk-SECRET-0xa11ce0123456789 test-token-123 influx-SECRET-token-42 influx-SECRET-password-42)
echo '[]' > www/ks.json
{
  echo "<Schedule>"
  cat <<X
  <Task><TaskRef>005</TaskRef><Description>flood</Description><TimePeriod>5</TimePeriod><TimeOffset>0</TimeOffset><TestType>download</TestType>
    <TestOptions><Option key="filesize" value="tiny"/><Option key="workers" value="5000"/>
      <Option key="repeat" value="true"/><Option key="interval" value="10"/><Option key="yield" value="10"/>
      <Option key="timeout" value="3600"/><Option key="offset" value="false"/></TestOptions></Task>
X
  task 006 6 download medium 1 false
  task 007 7 quote tiny 1 false
  task 008 8 upload tiny 1 false
  echo "</Schedule>"
} > control.xml

# A link where task 007's seed file will be written, to a file of ours.
mkdir -p cache/seeds
echo "precious" > victim
ln -s "$work/victim" cache/seeds/task-007-5.bin

# 60x: with GITHUB_TOKEN an OFF answer is trusted for 180 s, which at 120x
# is 1.5 s of real time, too little for a loaded machine's checks; a
# switch read ON by then would keep task 006 from ever looking at its rows.
run_agent 2026-01-01T10:04:00Z 60 52m
expect_eq "$?" 0 "agent exit code"

# ---- Hostile rows never reach a path or the client's argv ----
expect_grep 'download catalogue line [0-9]+: .*' agent.log "hostile rows are named with their line"
expect_eq "$(grep -cE 'download catalogue line (5|6|7|9|10|11|12|13|14|15|16|17):' agent.log)" 12 "every hostile download row named"
expect_grep "download catalogue line 8: md5 .* downloaded without an MD5 check" agent.log "a hostile MD5 only turns the check off"
expect_eq "$(grep -cE 'seed catalogue line [0-9]+:' agent.log)" 4 "every hostile seed row skipped"
bad_argv=$(grep ' file download ' sim.log | awk '{ for (i = 1; i <= NF; i++) if ($i == "download") print $(i+1), $(i+2) }' |
           grep -cvE "^[0-9a-f]+ $work/cache/downloads/ant-dl-[A-Za-z0-9]{6}/data\$")
expect_eq "$bad_argv" 0 "download argv: a hex address and a private path, nothing else"
expect_eq "$(grep -c -- '--help\|evil\|touch\|passwd\|\.\./' sim.log)" 0 "nothing hostile in any client argv"
expect_eq "$(ls pwned /tmp/escape.bin 2>/dev/null | wc -l)" 0 "no file made by an injection or outside the cache"
expect_grep 'Task 006: the download catalogue has no usable medium file' agent.log "only hostile rows: the task does not run"
expect_eq "$(metric_starts 006 | wc -l)" 0 "only hostile rows: no client call"
expect_eq "$(cat victim)" "precious" "the link where a seed file goes was not written through"
expect_grep 'Task 007 worker 1: quote tiny ok' agent.log "quote ran with the good seed row"

# ---- 5000 workers, every 10 seconds: the local caps hold ----
expect_grep 'task 005: warning: option workers 5000 is above the local limit; capped to 10' agent.log "workers capped"
expect_grep 'task 005: .*option.*(interval|yield).*(unknown|ignored)' agent.log "unknown pacing options warned and ignored"
metric_starts 005 > starts.txt
workers=$(awk '{print $5}' starts.txt | sort -un | tr '\n' ' ')
expect_eq "$workers" "1 2 3 4 5 6 7 8 9 10 " "task 005 ran exactly MAX_WORKERS workers"
n=$(grep -v skipped starts.txt | wc -l)
if [ "$n" -le 40 ] && [ "$n" -ge 20 ]; then ok; else bad "task 005: $n downloads (rate limit 40 an hour)"; fi
gap=$(grep -v skipped starts.txt | sort -k5,5n -k6,6n | awk '$5 == w && $6 - t < 60 { n++ } { w = $5; t = $6 } END { print n + 0 }')
expect_eq "$gap" 0 "no worker repeated sooner than DOWNLOAD_YIELD_SECS (60 s)"

# ---- Secrets ----
expect_grep 'Task 008 worker 1: upload tiny ok' agent.log "upload ran (the key reached it)"
expect_eq "$(grep ' file upload ' sim.log | grep -vc 'secret_key=yes')" 0 "uploads get SECRET_KEY"
expect_eq "$(grep -E ' file (download|cost) ' sim.log | grep -vc 'secret_key=no')" 0 "downloads and quotes never get SECRET_KEY"
expect_grep 'Kill-switch|kill-switch' agent.log "kill-switch checked with the token"
"$agent" config --env-file fleet.env > config.out 2>&1
SECRET_KEY=env-SECRET-key-77 "$agent" config --env-file fleet.env --set INFLUX_TOKEN=cli-SECRET-tok-88 > config2.out 2>&1
secrets+=(env-SECRET-key-77 cli-SECRET-tok-88)
expect_grep '^SECRET_KEY' config.out "config lists SECRET_KEY"
for s in "${secrets[@]}"; do
  found=$( { cat agent.log agent.out config.out config2.out sim.log
             find cache -type f -exec zcat -f {} + 2>/dev/null; } | grep -c -F -- "$s")
  expect_eq "$found" 0 "secret ${s:0:6}... in no log, metric, spool, argv or config output"
done
expect_whole_lines cache/metrics.csv "security run"
finish

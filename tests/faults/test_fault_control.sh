#!/usr/bin/env bash
# Control-plane faults, one agent: the control file and the download
# catalogue come from a misbehaving HTTP server on loopback. The agent runs
# at speed 1 early in the hour (no task is due), and each fault is one
# refresh asked for with SIGHUP: the server is switched to the fault, the
# agent refreshes, and the log of that refresh alone is checked. A good
# refresh follows each bad one, so every fault starts from a full plan.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
{ echo "<Schedule>"; task 001 40 Download tiny 1 false; task 002 45 quote tiny 1 false; echo "</Schedule>"; } > www/control.xml
cp downloads.csv seeds.csv www/
sed -i -e "s#^SCHEDULER_URL=.*#SCHEDULER_URL=$httpd/files/control.xml#" \
       -e "s#^CSV_URL=.*#CSV_URL=$httpd/files/downloads.csv#" fleet.env
cat >> fleet.env <<X
CACHE_TIME=0
FETCH_TIMEOUT_SECS=2
FETCH_CONNECT_TIMEOUT_SECS=2
MIN_FREE_MEM_MB=0
X

# Hostile documents, served as files.
cat > www/bomb.xml <<'X'
<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Schedule><Task><TaskRef>001</TaskRef><Description>&lol9;</Description></Task></Schedule>
X
cat > www/xxe.xml <<'X'
<?xml version="1.0"?>
<!DOCTYPE Schedule [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Schedule><Task><TaskRef>001</TaskRef><Description>&x;</Description><TimePeriod>40</TimePeriod><TestType>quote</TestType></Task></Schedule>
X
head -c 300 www/control.xml > www/truncated.xml
{ printf 'PK\003\004\000\000\377\376garbage'; head -c 4096 /dev/zero; } > www/binary.bin
: > www/empty.xml
printf '<html><body>Sign in to the Wi-Fi</body></html>\n' > www/portal.xml
printf '<?xml version="1.0" encoding="UTF-16"?>\n<Schedule/>\n' > www/utf16.xml
printf 'fileSize,name,address,md5\n"unterminated,quote\n' > www/bad.csv
printf '{"not": "a catalogue"}\n' > www/json.csv

start_agent 2026-01-01T10:06:00Z 1
wait_log 1 'Next task refresh at' 30 || bad "start-up refresh did not finish"
expect_grep 'Plan for this hour: 2 of 2 task' agent.log "start-up plan"

seg=0
# refresh: SIGHUP, wait for this refresh to end, its log in seg.log.
refresh() {
  local n before
  n=$(count_log 'Next task refresh at')
  before=$(wc -l < agent.log)
  kill -HUP "$agent_pid"
  wait_log $((n + 1)) 'Next task refresh at' 30 || bad "refresh $seg did not finish"
  tail -n +$((before + 1)) agent.log > seg.log
  seg=$((seg + 1))
}
good() { # the fault is gone again: a full plan
  http_set "$1" ""
  refresh
  expect_grep 'Plan for this hour: 2 of 2 task' seg.log "full plan again after: $2"
}
# control_fault MODE WHAT PATTERN: the control file answers with MODE.
control_fault() {
  http_set /files/control.xml "$1"
  refresh
  expect_grep "Control file .*(no tasks this hour|cannot be used)" seg.log "$2: no tasks this hour"
  expect_grep "$3" seg.log "$2: the reason is logged"
  expect_grep 'No tasks for this hour' seg.log "$2: the plan is empty"
  expect_no_grep 'Plan for this hour' seg.log "$2: no half plan"
  good /files/control.xml "$2"
}
control_fault status/500 "HTTP 500" 'HTTP status 500'
control_fault status/404 "HTTP 404" 'HTTP status 404'
control_fault ratelimit/300 "403 with rate-limit headers" 'HTTP status 403'
control_fault retry-after/120 "503 with Retry-After" 'HTTP status 503'
t0=$(date +%s)
control_fault hang "server never answers" 'no complete answer in time'
t1=$(date +%s)
if [ $((t1 - t0)) -le 15 ]; then ok; else bad "hanging server held the refresh $((t1 - t0)) s (FETCH_TIMEOUT_SECS=2)"; fi
control_fault close "connection closed without an answer" 'Empty reply from server'
control_fault endless "body that never ends" 'larger than the 1048576-byte limit'
control_fault big/3000000 "body over the cap (with length)" 'larger than the 1048576-byte limit'
control_fault big-nolength/3000000 "body over the cap (no length)" 'larger than the 1048576-byte limit'
control_fault redirect-loop "redirect loop" 'Maximum \(5\) redirects'
control_fault redirect/9 "too many redirects" 'Maximum \(5\) redirects'
control_fault redirect-file "redirect to file://" 'Protocol "file" not supported'
control_fault files/bomb.xml "XML bomb" 'a DOCTYPE is not allowed'
expect_no_grep 'lollol' seg.log "XML bomb: no entity text expanded"
control_fault files/xxe.xml "external entity" 'a DOCTYPE is not allowed'
expect_no_grep 'root:' agent.log "external entity: /etc/passwd never read"
control_fault files/truncated.xml "truncated XML" 'not well-formed XML at line [0-9]+'
control_fault files/binary.bin "binary garbage" 'not well-formed XML at line 1'
control_fault files/empty.xml "empty body" 'the file is empty'
control_fault files/portal.xml "captive portal page (HTML)" 'the root element is <html>'
control_fault files/utf16.xml "wrong encoding declared" 'encoding specified in XML declaration is incorrect'

# Connection refused: a port nobody listens on, through a settings reload.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s#^SCHEDULER_URL=.*#SCHEDULER_URL=http://127.0.0.1:$port/control.xml#" fleet.env
refresh
expect_grep 'Control file .*no tasks this hour' seg.log "connection refused: no tasks this hour"
expect_grep "Couldn't connect to server" seg.log "connection refused: the reason is logged"
sed -i "s#^SCHEDULER_URL=.*#SCHEDULER_URL=$httpd/files/control.xml#" fleet.env
good /files/control.xml "connection refused"

# The download catalogue fails: the copy loaded before (or cached) is used,
# the plan stays.
catalog_fault() { # MODE WHAT REASON
  http_set /files/downloads.csv "$1"
  refresh
  expect_grep "download catalogue: refresh from .* failed \\(.*$3.*\\); using the cached copy" seg.log "catalogue $2: the old copy is kept"
  expect_grep 'Plan for this hour: 2 of 2 task' seg.log "catalogue $2: the plan stays"
  good /files/downloads.csv "catalogue $2"
}
catalog_fault status/500 "HTTP 500" 'HTTP status 500'
catalog_fault html "HTML page" 'looks like HTML'
catalog_fault hang "server never answers" 'no complete answer in time'
catalog_fault big/9000000 "over the 8 MiB cap" 'larger than the 8388608-byte limit'
catalog_fault files/bad.csv "malformed CSV" 'no usable row'
catalog_fault files/json.csv "JSON instead of CSV" 'no usable row'
catalog_fault files/binary.bin "binary garbage" 'NUL bytes'

# SIGHUP during a fetch: the control file hangs, a second SIGHUP (with new
# settings) arrives while the first refresh waits. The settings reload,
# the refresh in flight ends on its own, the agent keeps going.
http_set /files/control.xml hang
n=$(count_log 'Next task refresh at')
f=$(count_log "Fetching tasks from $httpd")
before=$(wc -l < agent.log)
kill -HUP "$agent_pid"
wait_log $((f + 1)) "Fetching tasks from $httpd" 10 || bad "SIGHUP refresh did not start"
echo "TELEMETRY_COUNTRY=zz" >> fleet.env
kill -HUP "$agent_pid"
wait_log $((n + 1)) 'Next task refresh at' 30 || bad "refresh during SIGHUP did not finish"
tail -n +$((before + 1)) agent.log > seg.log
expect_eq "$(grep -c 'SIGHUP: reloading settings' seg.log)" 2 "both SIGHUPs handled"
expect_eq "$(grep -c 'Refreshing tasks (SIGHUP)' seg.log)" 1 "no second refresh while one is in flight"
expect_grep 'Control file .*no tasks this hour' seg.log "hanging fetch ends with no tasks"
kill -0 "$agent_pid" 2>/dev/null && ok || bad "agent died on SIGHUP during a fetch"
good /files/control.xml "SIGHUP during a fetch"

# SIGTERM during a hanging fetch: a prompt, clean stop.
http_set /files/control.xml hang
http_set /files/downloads.csv hang
kill -HUP "$agent_pid"
sleep 0.5
t0=$(date +%s)
kill -TERM "$agent_pid"
wait_agent 30; rc=$?
t1=$(date +%s)
expect_eq "$rc" 0 "SIGTERM during a fetch: exit code"
if [ $((t1 - t0)) -le 10 ]; then ok; else bad "SIGTERM during a fetch took $((t1 - t0)) s"; fi
expect_grep 'Agent stopped' agent.log "SIGTERM during a fetch: clean stop"
expect_no_grep 'AddressSanitizer|runtime error' agent.log "no sanitizer report"
finish

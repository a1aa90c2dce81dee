#!/usr/bin/env bash
# `ant-agent validate`: the upstream files pass with every row accounted
# for; bad files get precise messages and exit 1 (rejected) or 2
# (unreadable); URLs are fetched from a real HTTP server on 127.0.0.1,
# including servers that fail, hang or never stop talking.
source "$(dirname "$0")/lib.sh"
up="$fixtures/upstream"

# validate ARGS... : run it, keep stdout+stderr in out.txt and the status in rc.
validate() { "$agent" validate "$@" > out.txt 2>&1; rc=$?; }

# --- the upstream files ----------------------------------------------------
validate --control "$up/00-control-2025-01-02.xml"
expect_eq "$rc" 0 "upstream control file is valid"
# Boxes would leave too little room for the descriptions in 80 columns:
# the table comes without them.
expect_eq "$(grep -cE '^[0-9]{3}  ' out.txt)" 8 "table lists 8 tasks"
expect_grep '^Task +Mins +Wkrs +Rep +Off +Type +Size +Description$' out.txt "table header"
expect_grep '^001 +5 +2 +false +1 +Download medium Download a medium file from network$' out.txt "task 001 row"
expect_grep '^012 +30 +1 +false +0 +Quote +huge +Quote for upload$' out.txt "task 012 row"
expect_eq "$(grep -E '^([0-9]{3}  |Task )' out.txt | awk 'length($0) > 80' | wc -l | tr -d ' ')" 0 "table fits 80 columns"
expect_grep '8 tasks accepted, 0 rejected, 0 warnings$' out.txt "control summary"

validate --downloads "$up/01-download-files.csv" --seeds "$up/02-quote-files.csv"
expect_eq "$rc" 0 "upstream catalogues are valid"
expect_grep '01-download-files.csv: 72 lines: 56 rows accepted, 0 skipped, 15 comments, 1 header, 0 blank$' out.txt "download accounting"
expect_grep '01-download-files.csv: rows per size class: small 24 medium 32$' out.txt "download classes"
expect_grep '02-quote-files.csv: 24 lines: 6 rows accepted, 0 skipped, 17 comments, 1 header, 0 blank$' out.txt "seed accounting"

# --- bad control files -----------------------------------------------------
cat > bad.xml <<'X'
<Schedule>
  <Task><TaskRef>001</TaskRef><TimePeriod>5</TimePeriod><TestType>download</TestType>
    <TestOptions><Option key="filesize" value="tiny"/><Option key="workers" value="40"/></TestOptions></Task>
  <Task><TaskRef>002</TaskRef><TimePeriod>60</TimePeriod><TestType>download</TestType>
    <TestOptions><Option key="filesize" value="tiny"/></TestOptions></Task>
  <Task><TaskRef>003</TaskRef><TimePeriod>5</TimePeriod><TestType>quote</TestType>
    <TestOptions><Option key="filesize" value="tiny"/><Option key="colour" value="red"/></TestOptions></Task>
</Schedule>
X
validate --control bad.xml
expect_eq "$rc" 1 "a rejected task exits 1"
expect_grep '^bad.xml:3: task 001: warning: option workers 40 is above the local limit; capped to 10 \(MAX_WORKERS\)$' out.txt "cap warning"
expect_grep '^bad.xml:4: task 002: rejected: TimePeriod 60 is outside 5..54' out.txt "bad minute named with line and task"
expect_grep '^bad.xml:6: task 003: rejected: TimePeriod 5 is already taken by task 001; one task per minute$' out.txt "duplicate minute"
expect_grep "^bad.xml:7: task 003: warning: unknown option 'colour' ignored" out.txt "unknown option"
expect_grep 'bad.xml: 1 task accepted, 2 rejected, 2 warnings$' out.txt "summary counts"
expect_eq "$(grep -cE '^\| [0-9]{3} +\|' out.txt)" 1 "good task still listed"

validate --control bad.xml --set MAX_WORKERS=50
expect_no_grep 'capped' out.txt "local cap comes from the settings"

printf 'fileSize,name,address,md5\n' > notxml.xml
validate --control notxml.xml
expect_eq "$rc" 2 "not XML exits 2"
expect_grep '^notxml.xml:1: error: not well-formed XML at line 1, column 1: syntax error$' out.txt "not XML message"
expect_grep 'not usable: the agent would run no tasks from it' out.txt "no tasks from a broken file"

: > empty.xml
validate --control empty.xml
expect_eq "$rc" 2 "empty file exits 2"
expect_grep '^empty.xml: error: the file is empty$' out.txt "empty message"

head -c 300 "$up/00-control-2025-01-02.xml" > cut.xml
validate --control cut.xml
expect_eq "$rc" 2 "truncated file exits 2"
expect_grep 'not well-formed XML at line [0-9]+' out.txt "truncated message"
expect_eq "$(grep -cE '^\| [0-9]{3} +\|' out.txt)" 0 "no half plan from a truncated file"

cat > lol.xml <<'X'
<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Schedule><Task><Description>&lol2;</Description></Task></Schedule>
X
validate --control lol.xml
expect_eq "$rc" 2 "billion laughs exits 2"
expect_grep 'lol.xml:2: error: a DOCTYPE is not allowed' out.txt "DOCTYPE refused"

validate --control does-not-exist.xml
expect_eq "$rc" 2 "missing file exits 2"
expect_grep 'does-not-exist.xml: cannot read: No such file or directory' out.txt "missing file message"

# --- bad catalogues --------------------------------------------------------
printf '\xef\xbb\xbf# test\r\nfileSize,name,address,md5\r\nsmall,"a, b.jpg",abcdef0123,0\r\nsmall,../x,abcdef0123,0\r\nsmall,ok.jpg,nothex!!,0\r\nsmall\r\n' > dl.csv
validate --downloads dl.csv
expect_eq "$rc" 1 "skipped rows exit 1"
expect_grep "^dl.csv:4: skipped: name '../x': the name may not contain '/'" out.txt "unsafe name"
expect_grep "^dl.csv:5: skipped: address 'nothex!!' must be 8 to 128 hex digits$" out.txt "bad address"
expect_grep '^dl.csv:6: skipped: the row has 1 column; a row needs fileSize,name,address,md5' out.txt "missing columns"
expect_grep '^dl.csv: 6 lines: 1 rows accepted, 3 skipped, 1 comments, 1 header, 0 blank$' out.txt "every line accounted for"

printf 'fileSize,seed,size,md5\ntiny,1,999999,0\n' > seeds.csv
validate --seeds seeds.csv
expect_eq "$rc" 1 "seed too big exits 1"
expect_grep '^seeds.csv:2: skipped: size 999999 bytes does not fit class tiny \(1 to 131071 bytes\)$' out.txt "seed size message"

printf '<html>login</html>\n' > portal.csv
validate --downloads portal.csv
expect_eq "$rc" 2 "HTML instead of CSV exits 2"
expect_grep 'portal.csv: error: the file looks like HTML or XML' out.txt "HTML message"

# Worst result wins: valid control + skipped rows = 1; + unreadable = 2.
validate --control "$up/00-control.xml" --downloads dl.csv
expect_eq "$rc" 1 "valid plus rejected exits 1"
validate --control "$up/00-control.xml" --downloads dl.csv --seeds missing.csv
expect_eq "$rc" 2 "unreadable wins"

# --- over HTTP -------------------------------------------------------------
mkdir www
cp "$up"/* www/
python3 "$ANT_SOURCE_DIR/tests/tools/testhttpd.py" --root www --port-file port &
httpd=$!
trap 'kill $httpd 2>/dev/null; wait $httpd 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat port)"

validate --control "$base/files/00-control-2025-01-02.xml"
expect_eq "$rc" 0 "control file over HTTP"
expect_eq "$(grep -cE '^[0-9]{3}  ' out.txt)" 8 "8 tasks over HTTP"

# Defaults come from the settings when no source is named.
validate --set "SCHEDULER_URL=$base/files/00-control.xml" \
	 --set "CSV_URL=$base/files/01-download-files.csv" \
	 --set "CSV_QUOTE_URL=$base/files/02-quote-files.csv"
expect_eq "$rc" 0 "all three from the settings"
expect_grep '72 lines: 56 rows accepted' out.txt "download catalogue over HTTP"
expect_grep '24 lines: 6 rows accepted' out.txt "seed catalogue over HTTP"

validate --control "file://$work/www/00-control.xml"
expect_eq "$rc" 0 "file:// URL"

for code in 403 404 500; do
	validate --control "$base/status/$code"
	expect_eq "$rc" 2 "HTTP $code exits 2"
	expect_grep "cannot fetch: the server answered HTTP $code" out.txt "HTTP $code message"
done
validate --downloads "$base/ratelimit"
expect_eq "$rc" 2 "rate-limited catalogue exits 2"
expect_grep 'answered HTTP 403' out.txt "rate limit message"

start=$(date +%s)
validate --control "$base/hang" --set FETCH_TIMEOUT_SECS=1
took=$(( $(date +%s) - start ))
expect_eq "$rc" 2 "a server that never answers exits 2"
expect_grep 'cannot fetch: no complete answer in time' out.txt "timeout message"
[ "$took" -le 5 ] && ok || bad "timeout took ${took}s"

validate --control "$base/big/104857600"
expect_eq "$rc" 2 "100 MB control file exits 2"
expect_grep 'larger than the 1048576-byte limit' out.txt "size cap message"
validate --seeds "$base/endless"
expect_eq "$rc" 2 "never-ending catalogue exits 2"
expect_grep 'larger than the 8388608-byte limit' out.txt "CSV cap message"

validate --control "http://127.0.0.1:1/control.xml"
expect_eq "$rc" 2 "nothing listening exits 2"
expect_grep 'cannot fetch: .*(onnect|refused)' out.txt "connect failure message"

# --- tasks against catalogues ----------------------------------------------
# Each file is valid on its own, but a task whose size class has no row in
# its catalogue would fail every hour: a warning naming task, class and file.
cat > sizes.xml <<'X'
<Schedule>
  <Task><TaskRef>001</TaskRef><TimePeriod>5</TimePeriod><TestType>download</TestType>
    <TestOptions><Option key="filesize" value="tiny"/></TestOptions></Task>
  <Task><TaskRef>011</TaskRef><TimePeriod>6</TimePeriod><TestType>download</TestType>
    <TestOptions><Option key="filesize" value="huge"/></TestOptions></Task>
  <Task><TaskRef>012</TaskRef><TimePeriod>7</TimePeriod><TestType>Quote</TestType>
    <TestOptions><Option key="filesize" value="medium"/></TestOptions></Task>
  <Task><TaskRef>013</TaskRef><TimePeriod>8</TimePeriod><TestType>Quote</TestType>
    <TestOptions><Option key="filesize" value="tiny"/></TestOptions></Task>
</Schedule>
X
printf 'fileSize,name,address,md5\ntiny,a.bin,%s,%s\n' "$(printf 'a%.0s' $(seq 64))" "$(printf 'b%.0s' $(seq 32))" > sizes-dl.csv
printf 'fileSize,seed,size,md5\ntiny,5,10000,0\n' > sizes-seeds.csv
validate --control sizes.xml --downloads sizes-dl.csv --seeds sizes-seeds.csv
expect_eq "$rc" 0 "missing size classes are warnings, not rejections"
expect_grep '^sizes.xml: task 011: warning: no row of size class huge in the download catalogue sizes-dl.csv: every download test of this task would fail$' out.txt "download task without rows warned"
expect_grep '^sizes.xml: task 012: warning: no row of size class medium in the seed catalogue sizes-seeds.csv: every quote test of this task would fail$' out.txt "quote task without rows warned"
expect_no_grep 'task (001|013): warning' out.txt "tasks with rows not warned"
expect_grep '^Result: valid, but 2 tasks would fail every hour' out.txt "result line counts them"
validate --control sizes.xml --seeds sizes-seeds.csv
expect_no_grep 'task 011: warning' out.txt "a catalogue not checked is not judged"
expect_grep 'task 012: warning' out.txt "the seed catalogue checked alone still judged"
printf 'tiny,b.bin,%s,%s\nhuge,c.bin,%s,%s\n' "$(printf 'c%.0s' $(seq 64))" "$(printf 'd%.0s' $(seq 32))" "$(printf 'e%.0s' $(seq 64))" "$(printf 'f%.0s' $(seq 32))" >> sizes-dl.csv
printf 'medium,6,5000000,0\n' >> sizes-seeds.csv
validate --control sizes.xml --downloads sizes-dl.csv --seeds sizes-seeds.csv
expect_grep '^every task finds rows of its size class$' out.txt "all classes covered"
expect_grep '^Result: valid$' out.txt "plain valid when covered"

finish

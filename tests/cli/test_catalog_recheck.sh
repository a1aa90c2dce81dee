#!/usr/bin/env bash
# Catalogues are asked for again at every hourly refresh with a conditional
# request (the cached copy's ETag): an unchanged catalogue costs a 304, a
# changed one reaches the agent at the next :00 refresh. Only at start-up
# is a copy younger than CACHE_TIME used without asking.
source "$(dirname "$0")/lib.sh"
fleet_init
echo "<Schedule></Schedule>" > control.xml
mkdir -p www
cp downloads.csv seeds.csv www/
python3 "$ANT_SOURCE_DIR/tests/tools/testhttpd.py" --root "$work/www" --port-file "$work/www.port" &
www_pid=$!
trap 'kill "$www_pid" 2>/dev/null; wait "$www_pid" 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/www.port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/www.port")"
sed -i -e "s|^CSV_URL=.*|CSV_URL=$url/files/downloads.csv|" \
  -e "s|^CSV_QUOTE_URL=.*|CSV_QUOTE_URL=$url/files/seeds.csv|" fleet.env

# count PATH: requests for PATH so far; count "PATH 304": of which 304s.
count() {
  python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_count")).get(sys.argv[2], 0))' "$url" "$1"
}

# 10:30 to 12:30: the start-up fetch, then the 11:00 and 12:00 refreshes.
run_agent 2026-01-01T10:30:00Z 360 2h
expect_eq "$?" 0 "agent exit code"
for f in downloads seeds; do
  expect_eq "$(count /files/$f.csv)" 3 "$f: asked at start-up and at each hourly refresh"
  expect_eq "$(count "/files/$f.csv 304")" 2 "$f: the hourly asks were answered 304 (one 200 in all)"
done
expect_eq "$(grep -c 'Refreshing tasks (hourly refresh)' agent.log)" 2 "two hourly refreshes"

# A change pushed to the server: a restart at 12:40 uses its 40-minute-old
# copy without asking (CACHE_TIME), the 13:00 refresh fetches the new one.
printf 'tiny t9.bin 19 25000\n' | "$ANT_SOURCE_DIR/scripts/sim-catalogue.sh" "$agent" "$sim" > www/downloads.csv
run_agent 2026-01-01T12:40:00Z 360 30m
expect_eq "$?" 0 "agent exit code (second run)"
expect_eq "$(count /files/downloads.csv)" 4 "changed: one more request, at 13:00 only"
expect_eq "$(count '/files/downloads.csv 304')" 2 "changed: answered 200, not 304"
expect_eq "$(count '/files/seeds.csv 304')" 3 "unchanged seeds: 304 at 13:00"
if cmp -s www/downloads.csv cache/dl.csv; then ok; else bad "the new catalogue was not cached"; fi
finish

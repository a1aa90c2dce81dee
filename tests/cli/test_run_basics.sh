#!/usr/bin/env bash
# The command line and start-up of `ant-agent run`: version, help, root
# refusal, client checks, run-for on the virtual clock, signals.
source "$(dirname "$0")/lib.sh"

"$agent" --version > v.txt
expect_grep '^Name: ant-agent \| Version: [0-9]+\.[0-9]+\.[0-9]+ \| Date: [0-9]{2}-[0-9]{2}-[0-9]{4} \| Commit Hash: [0-9a-f]{40}|unknown$' v.txt "--version line"
"$agent" --help > h.txt
expect_grep '^  validate ' h.txt "--help lists validate"
expect_grep '[-][-]clock-speed N' h.txt "--help lists --clock-speed"
"$agent" frobnicate 2> e.txt; expect_eq "$?" 2 "unknown command exits 2"
expect_grep "unknown command 'frobnicate'" e.txt "unknown command message"
"$agent" --clock-start yesterday 2> e.txt; expect_eq "$?" 2 "bad --clock-start exits 2"
"$agent" --clock-speed 0 2> e.txt; expect_eq "$?" 2 "bad --clock-speed exits 2"
"$agent" --run-for forever 2> e.txt; expect_eq "$?" 2 "bad --run-for exits 2"

root_flag=()
if [ "$(id -u)" -eq 0 ]; then
  "$agent" run --no-console --set CLIENT_PATH="$sim" --run-for 1s 2> e.txt
  expect_eq "$?" 1 "root refused"
  expect_grep 'CRITICAL - Refusing to run as root' e.txt "root refusal message"
  root_flag=(--allow-root)
fi

"$agent" run "${root_flag[@]}" --no-console --set CLIENT_PATH="$work/nope" --run-for 1s 2> e.txt
expect_eq "$?" 1 "missing client is fatal"
expect_grep "CRITICAL - client not found at '$work/nope'.*install the Autonomi client" e.txt "missing client message"
mkdir adir
"$agent" run "${root_flag[@]}" --no-console --set CLIENT_PATH="$work/adir" --run-for 1s 2> e.txt
expect_grep "is a directory" e.txt "directory client message"
printf '#!/bin/sh\necho hi\n' > notexec
"$agent" run "${root_flag[@]}" --no-console --set CLIENT_PATH="$work/notexec" --run-for 1s 2> e.txt
expect_grep "is not an executable file" e.txt "non-executable client message"

# --run-for is schedule time: 10 virtual minutes at speed 600 is ~1 s real.
start=$(date +%s%N)
"$agent" run "${root_flag[@]}" --no-console --set CLIENT_PATH="$sim" \
  --clock-start 2026-01-01T10:04:30Z --clock-speed 600 --run-for 10m 2> e.txt
rc=$?
end=$(date +%s%N)
expect_eq "$rc" 0 "run-for exits 0"
expect_grep 'INFO - Name: ant-agent \| Version' e.txt "start-up version line"
expect_grep 'INFO - Found client: Autonomi Client v' e.txt "Found client line"
expect_grep 'INFO - Rate Limiting Active : Download \(360 calls in 3600 sec\) \| Upload \(120 calls in 3600 sec\) \| Quote \(240 calls in 3600 sec\)' e.txt "rate limits line"
expect_grep '^01-01-2026 10:04:3[0-9] - INFO - Virtual clock' e.txt "log uses the virtual clock"
expect_grep 'Stopping agent: --run-for time reached' e.txt "stopped by run-for"
elapsed_ms=$(( (end - start) / 1000000 ))
if [ "$elapsed_ms" -lt 30000 ]; then ok; else bad "run-for 10m at 600x took ${elapsed_ms} ms"; fi

# SIGTERM and SIGINT stop an idle agent promptly with exit 0.
for sig in TERM INT; do
  "$agent" run "${root_flag[@]}" --no-console --set CLIENT_PATH="$sim" 2> s.txt &
  pid=$!
  for _ in $(seq 50); do grep -q 'Rate Limiting' s.txt 2>/dev/null && break; sleep 0.1; done
  kill -$sig $pid
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then bad "SIG$sig did not stop the agent in 5 s"; kill -9 $pid; fi
  wait $pid; expect_eq "$?" 0 "SIG$sig exit code"
  expect_grep "Stopping agent: SIG$sig" s.txt "SIG$sig logged"
done

# SIGHUP reloads settings (a bad .env is refused, the old settings stay) and
# SIGUSR1 logs a status line.
printf 'TELEMETRY_COUNTRY=gb\n' > hup.env
"$agent" run "${root_flag[@]}" --no-console --env-file hup.env --set CLIENT_PATH="$sim" 2> s.txt &
pid=$!
for _ in $(seq 50); do grep -q 'Rate Limiting' s.txt 2>/dev/null && break; sleep 0.1; done
printf 'CACHE_TIME=never\n' > hup.env
kill -HUP $pid; sleep 0.3
kill -USR1 $pid; sleep 0.3
kill -TERM $pid; wait $pid
expect_eq "$?" 0 "exit after HUP"
expect_grep "hup.env:1: setting CACHE_TIME: 'never'" s.txt "HUP reload reports bad value"
expect_grep 'new settings are not valid; keeping the ones in force' s.txt "HUP keeps old settings"
expect_grep 'INFO - Status: up ' s.txt "USR1 status line"
# The same view as `ant-agent status` and the console's [s].
expect_grep 'ant-agent is running: pid [0-9]+' s.txt "USR1 block is the status view"
expect_grep '  Kill-switch : (ON|OFF)' s.txt "USR1 block shows the kill-switch"

finish

#!/usr/bin/env bash
# Two agents without GITHUB_TOKEN behind one address share GitHub's 60
# requests an hour. The test server enforces that limit (a virtual hour at
# 120x is 30 real seconds) and answers 403 past it, as GitHub does. Both
# agents must stay well under it together and keep testing for the whole
# hour: no fail-safe stop, no starved refresh.
source "$(dirname "$0")/lib.sh"
fleet_init
start_github --gh-limit 60 --gh-window 30
{ echo "<Schedule>"; task 001 5 Download tiny 2 true; task 002 30 Quote tiny 1 false; echo "</Schedule>"; } > control.xml
mkdir -p a2
sed "s|$work/cache|$work/a2/cache|g" fleet.env > a2/fleet.env

"$agent" run "${root_flag[@]}" --no-console --env-file "$work/a2/fleet.env" \
  --clock-start 2026-01-01T10:04:00Z --clock-speed 120 --run-for 62m > a2/agent.out 2> a2/agent.log &
pid2=$!
run_agent 2026-01-01T10:04:00Z 120 62m
expect_eq "$?" 0 "agent 1 exit code"
wait $pid2
expect_eq "$?" 0 "agent 2 exit code"

requests=$(gh_stat requests)
peak=$(gh_stat max_in_window)
echo "kill-switch requests of both agents: $requests in 62 min, at most $peak in any hour; $(gh_stat not_modified) answered 304"
expect_eq "$(gh_stat limited)" 0 "requests refused for the rate limit"
if [ "$peak" -le 26 ]; then ok; else bad "$peak requests in one hour from two agents (want <= 26 of GitHub's 60)"; fi
for a in "$work" "$work/a2"; do
  expect_no_grep 'Kill-switch turned ON|Kill-switch ON|cannot confirm OFF|rate limit' "$a/agent.log" "no fail-safe stop in $a"
  (work=$a; metric_starts) > "$a/starts.txt"
  for slice in 5 15 25 35 45; do
    n=$(awk -v lo="$slice" '$6 % 86400 < 39600 && $1 >= lo && $1 < lo + 10' "$a/starts.txt" | wc -l)
    if [ "$n" -ge 3 ]; then ok; else bad "$a: only $n tests in :$slice-:$((slice + 10))"; fi
  done
  expect_grep '11:0[0-4]:[0-9]{2} - INFO - Plan for this hour' "$a/agent.log" "$a: the next hour planned"
done
finish

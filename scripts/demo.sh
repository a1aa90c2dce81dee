#!/usr/bin/env bash
# Run the agent for one virtual hour on the bundled demo network:
#  - ant-sim as the client, over a local store in demo/run/store;
#  - demo/control.xml and demo/seeds.csv as the fleet's files (file:// URLs);
#  - a download catalogue made from demo/files.txt (seeded files uploaded to
#    the store, so every address and MD5 is real);
#  - demo/kill-switch.json as the kill-switch answer (OFF);
#  - a virtual clock that starts at :04:30 and runs 30 times faster, so the
#    hour takes about two minutes; then a report of what was measured.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$top" && cd "$build" && pwd)
run=${DEMO_RUN_DIR:-"$top/demo/run"}
agent="$build/ant-agent"
sim="$build/ant-sim"
speed=${DEMO_SPEED:-30}

rm -rf "$run"
mkdir -p "$run/store"
export ANT_SIM_STORE="$run/store"

echo "demo: uploading the demo files to the local store..."
{
  echo "# The demo network's download catalogue (made by scripts/demo.sh)"
  "$top/scripts/sim-catalogue.sh" "$agent" "$sim" < "$top/demo/files.txt"
} > "$run/downloads.csv"

# The network misbehaves a little, so retries show: 5% of calls fail with a
# network error, and every call takes 150 ms of real time.
export ANT_SIM_FAIL_RATE=${ANT_SIM_FAIL_RATE:-0.05} ANT_SIM_FAIL_KIND=network
export ANT_SIM_LATENCY_MS=${ANT_SIM_LATENCY_MS:-150}

root_flag=()
if [ "$(id -u)" -eq 0 ]; then
  echo "demo: running as root, so passing --allow-root (a real agent runs as an ordinary user)"
  root_flag=(--allow-root)
fi
start=$(date -u +%Y-%m-%dT%H:04:30Z)
echo "demo: one virtual hour from $start at ${speed}x (about $((3300 / speed)) s)"
echo

cd "$run"
set +e
"$agent" run "${root_flag[@]}" --no-console \
  --env-file "$top/demo/demo.env" \
  --set CLIENT_PATH="$sim" \
  --set SCHEDULER_URL="file://$top/demo/control.xml" \
  --set CSV_URL="file://$run/downloads.csv" \
  --set CSV_QUOTE_URL="file://$top/demo/seeds.csv" \
  --set GIT_KILL_SWITCH_URL="file://$top/demo/kill-switch.json" \
  --clock-start "$start" --clock-speed "$speed" --run-for 55m30s
status=$?
set -e

echo
echo "demo: what the agent measured ($run/cache/metrics/):"
"$agent" report --env-file "$top/demo/demo.env" --metrics cache/metrics/metrics.csv \
  --summary cache/metrics/summary.csv || true
exit $status

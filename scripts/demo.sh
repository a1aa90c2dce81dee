#!/usr/bin/env bash
# Run the agent on the bundled demo network: ant-sim as the client, the
# demo control file and catalogues through file:// URLs, a local
# kill-switch answer, and a virtual clock that starts at :04:30 and lives
# through an hour in about two minutes.
set -euo pipefail
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$top" && cd "$build" && pwd)
run="$top/demo/run"
rm -rf "$run"
mkdir -p "$run/store"

speed=${DEMO_SPEED:-30}
start=$(date -u +%Y-%m-%dT%H:04:30Z)
root_flag=()
if [ "$(id -u)" -eq 0 ]; then
  echo "demo: running as root, so passing --allow-root (a real agent should run as an ordinary user)"
  root_flag=(--allow-root)
fi

cd "$run"
export ANT_SIM_STORE="$run/store"
"$build/ant-agent" run "${root_flag[@]}" --no-console \
  --env-file "$top/demo/demo.env" \
  --set CLIENT_PATH="$build/ant-sim" \
  --set SCHEDULER_URL="file://$top/demo/control.xml" \
  --set CSV_URL="file://$top/demo/downloads.csv" \
  --set CSV_QUOTE_URL="file://$top/demo/seeds.csv" \
  --set GIT_KILL_SWITCH_URL="file://$top/demo/kill-switch.json" \
  --clock-start "$start" --clock-speed "$speed" --run-for 56m
status=$?
echo
echo "demo: the agent's files are under $run"
exit $status

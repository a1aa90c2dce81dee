#!/usr/bin/env bash
# Make a download catalogue whose files really exist in an ant-sim store.
#   scripts/sim-catalogue.sh AGENT SIM < SPEC > CATALOGUE
# SPEC has one "class name seed bytes" line per file ('#' comments and
# blank lines allowed). Each file is generated with `AGENT seedfile`,
# uploaded with `SIM file upload` into $ANT_SIM_STORE, and written out as a
# "fileSize,name,address,md5" row with its real address and MD5. Used by the
# demo, the whole-agent tests and the benchmarks.
set -euo pipefail
agent=$1
sim=$2
tmp=$(mktemp -d /tmp/ant-sim-catalogue.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "fileSize,name,address,md5"
while read -r class name seed bytes; do
  case "$class" in ''|\#*) continue ;; esac
  md5=$("$agent" seedfile --seed "$seed" --size "$bytes" -o "$tmp/file" | awk '{print $1}')
  # --log-output-dest: like the real client, ant-sim would otherwise log under $HOME.
  address=$(ANT_SIM_LOG=/dev/null "$sim" --log-output-dest "$tmp/logs" file upload "$tmp/file" --public |
            sed -n 's/^At address: *//p')
  [ -n "$address" ] || { echo "sim-catalogue: ant-sim did not store $name" >&2; exit 1; }
  echo "$class,$name,$address,$md5"
done

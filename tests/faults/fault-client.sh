#!/usr/bin/env bash
# fault-client.sh - the CLIENT_PATH of the fault tests. It appends every
# call to $FAULT_CALLS, then looks up the fault of this call in
# $FAULT_DIR/<key> (key: task-REF for quote and upload, from the seed file
# name task-REF-SEED.bin; the address for download) and either acts it out
# itself or runs ant-sim ($FAULT_SIM) with the matching knobs.
#
# Faults: ok, hang, stubborn, fork, crash (SIGSEGV), selfkill (SIGKILL),
# panic, garbage, endless-out, endless-err, slow MS, corrupt, kind K
# (ANT_SIM_FAIL_KIND), exit N, cycle N... (the next exit code of the list
# on each call), liar (success line, exit 0, nothing written), noout,
# symlink-file PATH / symlink-dir PATH (the download becomes a link to
# PATH), record-modes (notes the modes of the download directory and the
# seed file).
echo "$$ $*" >> "${FAULT_CALLS:?}"
ulimit -c 0
for a in "$@"; do [ "$a" = --version ] && exec "$FAULT_SIM" "$@"; done

key="" dest="" file=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    download) key=${args[i+1]}; dest=${args[i+2]}; break ;;
    cost|upload) file=${args[i+1]}; key=$(basename "$file" | sed -n 's/^task-\([0-9]*\)-.*/task-\1/p'); break ;;
  esac
done
read -r mode rest < "$FAULT_DIR/$key" 2>/dev/null || mode=ok

case "$mode" in
  hang) export ANT_SIM_HANG=1 ;;
  stubborn) export ANT_SIM_HANG=stubborn ;;
  fork) export ANT_SIM_HANG=fork ANT_SIM_HANG_PIDFILE="$FAULT_DIR/fork-$$.pid" ;;
  crash) kill -SEGV $$ ;;
  selfkill) kill -KILL $$ ;;
  panic) export ANT_SIM_PANIC=1 ;;
  garbage) export ANT_SIM_GARBAGE=1 ;;
  endless-out) export ANT_SIM_ENDLESS=stdout ;;
  endless-err) export ANT_SIM_ENDLESS=stderr ;;
  slow) export ANT_SIM_LATENCY_MS=$rest ;;
  corrupt) export ANT_SIM_CORRUPT=1 ;;
  kind) export ANT_SIM_FAIL_KIND=$rest ;;
  exit) export ANT_SIM_EXIT=$rest ;;
  cycle)
    codes=($rest)
    n=$(cat "$FAULT_DIR/$key.n" 2>/dev/null || echo 0)
    echo $((n + 1)) > "$FAULT_DIR/$key.n"
    export ANT_SIM_EXIT=${codes[n % ${#codes[@]}]}
    echo "$ANT_SIM_EXIT" >> "$FAULT_DIR/$key.codes" ;;
  liar) echo "Successfully downloaded data at: $dest"; echo "Total cost: 0.5"; exit 0 ;;
  noout) exit 0 ;;
  symlink-file)
    ln -s "$rest" "$dest"; echo "Successfully downloaded data at: $dest"; exit 0 ;;
  symlink-dir)
    # Swap the agent's private directory itself for a link.
    d=$(dirname "$dest"); rm -rf "$d"; ln -s "$rest" "$d"
    echo "Successfully downloaded data at: $dest"; exit 0 ;;
  record-modes)
    [ -n "$dest" ] && stat -c '%a %U' "$(dirname "$dest")" >> "$FAULT_DIR/modes.dl"
    [ -n "$file" ] && stat -c '%a %U' "$file" >> "$FAULT_DIR/modes.seed" ;;
esac
exec "$FAULT_SIM" "$@"

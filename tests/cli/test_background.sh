#!/usr/bin/env bash
# Started in the background of a terminal (`ant-agent > log 2>&1 &`), the
# agent runs without a console and keeps running: it never touches the
# terminal from a background process group, so the kernel never stops it
# with SIGTTOU/SIGTTIN. Driven through a real pseudo-terminal
# (tests/tools/bgpty.py), on the virtual clock.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 001 10 Download tiny 1 true; echo "</Schedule>"; } > control.xml
bgpty="$ANT_SOURCE_DIR/tests/tools/bgpty.py"
args=(run "${root_flag[@]}" --env-file "$work/fleet.env"
      --clock-start 2026-01-01T10:09:30Z --clock-speed 60 --run-for 3m)

# `ant-agent > log 2>&1 &`: stdin on the terminal, output to a file.
timeout 120 python3 "$bgpty" --out "$work/bg.log" --err "$work/bg.log" -- "$agent" "${args[@]}" \
  > "$work/pty1.txt" 2>&1
expect_grep '^exited 0' pty1.txt "backgrounded with output to a file: ran to the end and exited 0"
expect_no_grep 'stopped SIG' pty1.txt "backgrounded with output to a file: never stopped by the terminal"
expect_grep 'Task 001 worker 1: download tiny ok' bg.log "tests ran and were logged"
expect_grep 'Agent stopped' bg.log "clean stop logged"
expect_no_grep 'Press \[q\]' bg.log "no console (key help) in the background"
expect_grep ',task=001,' cache/metrics.csv "results recorded"

# `ant-agent 2> log &`: stdout is the terminal too, still a background job.
rm -rf "$work/cache"
timeout 120 python3 "$bgpty" --stdout-tty --err "$work/bg2.log" -- "$agent" "${args[@]}" \
  > "$work/pty2.txt" 2>&1
expect_grep '^exited 0' pty2.txt "backgrounded on the terminal: ran to the end and exited 0"
expect_no_grep 'stopped SIG' pty2.txt "backgrounded on the terminal: never stopped by the terminal"
expect_grep 'Agent stopped' bg2.log "clean stop logged"
expect_no_grep 'Press \[q\]' bg2.log "no console in the background"
finish

#!/usr/bin/env bash
# `ant-agent seedfile` writes the documented stream, byte for byte what an
# independent implementation (the Python one of docs/SEEDFILE.md) makes.
source "$(dirname "$0")/lib.sh"

"$agent" seedfile --seed 93485 --size 65536 -o tiny.bin > out.txt 2> err.txt
expect_eq "$?" 0 "seedfile -o exits 0"
expect_grep '^d1bd0c0f6f618bc028ae3b9c078945bd  tiny.bin$' out.txt "MD5 printed md5sum-style"
expect_eq "$(md5sum < tiny.bin | cut -d' ' -f1)" d1bd0c0f6f618bc028ae3b9c078945bd "file content matches the MD5"
expect_eq "$(stat -c %s tiny.bin)" 65536 "file size"

# To stdout: bytes on stdout, the MD5 on stderr.
"$agent" seedfile --seed 12345 --size 13 > odd.bin 2> err.txt
expect_eq "$?" 0 "seedfile to stdout exits 0"
expect_grep '^8a44bb98aae2ee279d92fbd3c62431fe  -$' err.txt "MD5 on stderr"
expect_eq "$(md5sum < odd.bin | cut -d' ' -f1)" 8a44bb98aae2ee279d92fbd3c62431fe "streamed bytes"

# Independent implementation: the reference in docs/SEEDFILE.md.
if command -v python3 > /dev/null; then
  sed -n '/^```python$/,/^```$/p' "$ANT_SOURCE_DIR/docs/SEEDFILE.md" | sed '1d;$d' > ref.py
  for pair in "93485 65536" "33643 3145728" "12345 13" "7 1000001" "0 0"; do
    set -- $pair
    want=$(python3 ref.py "$1" "$2")
    got=$("$agent" seedfile --seed "$1" --size "$2" 2>&1 >/dev/null | cut -d' ' -f1)
    expect_eq "$got" "$want" "seed $1 size $2 matches the Python reference"
  done
else
  echo "python3 not found: skipping the cross-check" >&2
fi

# Bad arguments are usage errors and write nothing.
"$agent" seedfile --seed x --size 10 -o bad.bin > /dev/null 2> err.txt
expect_eq "$?" 2 "bad seed is a usage error"
expect_grep 'seed' err.txt "names the bad option"
"$agent" seedfile --seed 1 --size -5 -o bad.bin > /dev/null 2> err.txt
expect_eq "$?" 2 "negative size is a usage error"
"$agent" seedfile --seed 1 > /dev/null 2> err.txt
expect_eq "$?" 2 "missing size is a usage error"
expect_eq "$(ls bad.bin 2>/dev/null)" "" "nothing written on errors"
"$agent" seedfile --seed 1 --size 10 -o /nonexistent/dir/f.bin > /dev/null 2> err.txt
expect_eq "$?" 1 "unwritable output fails"

finish

# Helpers for the command-line tests. Source it; it sets `agent`, `sim`,
# a fresh scratch directory `work` (removed on exit) and a `fail` counter.
set -u
agent="$ANT_BUILD_DIR/ant-agent"
sim="$ANT_BUILD_DIR/ant-sim"
shared="$ANT_SHARED_DIR"
work=$(mktemp -d /tmp/ant-cli-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
checks=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
# expect_grep PATTERN FILE DESCRIPTION
expect_grep() { if grep -qE -- "$1" "$2"; then ok; else bad "$3 (no /$1/ in $2)"; sed 's/^/    | /' "$2" >&2; fi; }
expect_no_grep() { if grep -qE -- "$1" "$2"; then bad "$3 (found /$1/ in $2)"; else ok; fi; }
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3 (got '$1', want '$2')"; fi; }
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ]
}

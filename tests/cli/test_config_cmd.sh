#!/usr/bin/env bash
# `ant-agent config` shows each setting's value and the layer it came from.
source "$(dirname "$0")/lib.sh"

cat > my.env <<'X'
# settings from the original agent
TELEMETRY_COUNTRY=gb
CACHE_TIME=1800
GITHUB_TOKEN=ghp_thisisasecret123
X
TELEMETRY_PROVISON=vps "$agent" config --env-file my.env --set MAX_WORKERS=4 --log-level debug > out.txt 2> err.txt
expect_eq "$?" 0 "config exits 0"
expect_grep '^TELEMETRY_COUNTRY +=  *GB +\[\.env\] +(sighup|restart)$' out.txt ".env value and source"
expect_grep '^CACHE_TIME +=  *1800 +\[\.env\] +(sighup|restart)$' out.txt ".env integer"
expect_grep '^TELEMETRY_PROVISON +=  *vps +\[environment\] +(sighup|restart)$' out.txt "environment value and source"
expect_grep '^MAX_WORKERS +=  *4 +\[command line\] +(sighup|restart)$' out.txt "--set value and source"
expect_grep '^DEFAULT_LOG_LEVEL +=  *DEBUG +\[command line\] +(sighup|restart)$' out.txt "--log-level counts as command line"
expect_grep '^GIT_REPO +=  *ant-agent +\[default\] +(sighup|restart)$' out.txt "default value and source"
expect_grep '^GITHUB_TOKEN +=  *\*\*\*\* +\[\.env\] +(sighup|restart)$' out.txt "secret masked"
expect_no_grep 'thisisasecret' out.txt "secret never printed"

# Whether a SIGHUP applies each setting comes from the settings table, and
# the same list is in --help and docs/SERVICE.md.
expect_grep '^MAX_WORKERS +=  *4 +\[command line\] +sighup$' out.txt "a SIGHUP applies MAX_WORKERS"
expect_grep '^CACHE_DIR +=  *cache +\[default\] +restart$' out.txt "CACHE_DIR waits for a restart"
awk '$NF == "restart" { print $1 }' out.txt | sort > restart.txt
expect_eq "$(wc -l < restart.txt)" "$(grep -c ' restart$' out.txt)" "one name per restart setting"
"$agent" --help | sed -n '/^A SIGHUP re-reads/,/^$/p' | tail -n +3 | tr ' ' '\n' | grep . | sort > help.txt
expect_eq "$(cat help.txt)" "$(cat restart.txt)" "--help lists exactly the restart settings"
sed -n '/^Settings a SIGHUP does not apply/,/^$/p' "$ANT_SOURCE_DIR/docs/SERVICE.md" |
  sed -n 's/.*(they wait for the next start)://; /applies to the control file/q; p' |
  grep -oE '`[A-Z_]+`' | tr -d '`' | sort -u > doc.txt
expect_eq "$(cat doc.txt)" "$(cat restart.txt)" "docs/SERVICE.md lists exactly the restart settings"

# Environment beats .env, --set beats environment.
TELEMETRY_COUNTRY=de "$agent" config --env-file my.env > out2.txt
expect_grep '^TELEMETRY_COUNTRY +=  *DE +\[environment\] +(sighup|restart)$' out2.txt "environment beats .env"
TELEMETRY_COUNTRY=de "$agent" config --env-file my.env --set TELEMETRY_COUNTRY=fr > out3.txt
expect_grep '^TELEMETRY_COUNTRY +=  *FR +\[command line\] +(sighup|restart)$' out3.txt "--set beats environment"

# Bad values stop it with a message naming file, line, key, value and bounds.
printf 'CACHE_TIME=soon\n' > bad.env
"$agent" config --env-file bad.env > /dev/null 2> err.txt
expect_eq "$?" 2 "bad value exits 2"
expect_grep "bad.env:1: setting CACHE_TIME: 'soon' is not allowed \(expected a whole number from 0 to 604800\)" err.txt "bad value message"

"$agent" config --env-file missing.env > /dev/null 2> err.txt
expect_eq "$?" 2 "explicit missing env file exits 2"
expect_grep "missing.env: cannot read settings file" err.txt "missing env file message"

"$agent" config --set NOT_A_KEY=1 > /dev/null 2> err.txt
expect_eq "$?" 2 "unknown --set key exits 2"
expect_grep "unknown setting 'NOT_A_KEY'" err.txt "unknown --set key message"

finish

#!/usr/bin/env bash
# What the long-running agent maps: no libcrypto, libssl or libcurl, neither
# before its first download nor after downloads whose MD5 it has checked
# (MD5 is built in; HTTP and TLS live in the ant-agent-net helper). The
# client here is a wrapper that copies the agent's /proc/PID/maps at each
# call, so the second call sees the agent after the first call's MD5.
source "$(dirname "$0")/lib.sh"
fleet_init

for bin in "$agent" "$ANT_BUILD_DIR/ant-agent-net"; do
  readelf -d "$bin" | awk '/NEEDED/ { print $NF }' > "needed-$(basename "$bin").txt"
done
expect_no_grep 'libcrypto|libssl' needed-ant-agent.txt "ant-agent does not link libcrypto or libssl"
expect_no_grep 'libcurl' needed-ant-agent.txt "ant-agent does not link libcurl"
expect_grep 'libuv' needed-ant-agent.txt "the NEEDED list was read (libuv)"
expect_grep 'libcurl' needed-ant-agent-net.txt "the helper links libcurl"

cat > mapsclient.sh <<X
#!/usr/bin/env bash
for a in "\$@"; do [ "\$a" = --version ] && exec "$sim" "\$@"; done
n=\$(ls "$work"/maps.* 2>/dev/null | wc -l)
cp /proc/\$PPID/maps "$work/maps.\$n" 2>/dev/null
exec "$sim" "\$@"
X
chmod +x mapsclient.sh
sed -i "s#^CLIENT_PATH=.*#CLIENT_PATH=$work/mapsclient.sh#" fleet.env
{ echo "<Schedule>"; task 001 5 download tiny 1 true; echo "</Schedule>"; } > control.xml

run_agent 2026-01-01T10:04:40Z 10 100s
expect_eq "$?" 0 "agent exit code"
ok_md5=$(grep -c '^ant_agent,.*md5valid=1i' cache/metrics.csv)
[ "$ok_md5" -ge 2 ] && ok || bad "at least two downloads with a valid MD5 (got $ok_md5)"
nmaps=$(ls maps.* 2>/dev/null | wc -l)
[ "$nmaps" -ge 3 ] && ok || bad "the client copied the agent's maps at least 3 times (got $nmaps)"
for m in maps.*; do
  expect_grep 'libuv' "$m" "$m is the agent's map (libuv)"
  expect_no_grep 'libcrypto|libssl' "$m" "$m: no libcrypto or libssl in the agent"
  expect_no_grep 'libcurl' "$m" "$m: no libcurl in the agent"
done
finish

#!/usr/bin/env bash
# Install the Debian packages that building, testing and the demo need.
# Idempotent: packages already installed are left alone, and apt is not
# touched at all when nothing is missing. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libuv1-dev libcurl4-openssl-dev libexpat1-dev libjansson-dev libssl-dev
  zlib1g-dev libcmocka-dev
  python3 curl procps tmux influxdb influxdb-client victoria-metrics
  systemd groff-base man-db util-linux
  debhelper dpkg-dev lintian
)
if [ "${1:-}" = "--with-bench" ]; then
  packages+=(hyperfine time linux-perf)
fi
if [ "${1:-}" = "--with-fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)
fi
if [ "${1:-}" = "--with-valgrind" ]; then
  packages+=(valgrind)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# influxdb's package starts a server on :8088/:8086 by default; the tests
# start their own on other ports, so stop the system one if it came up.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet influxdb 2>/dev/null; then
  $sudo systemctl stop influxdb || true
fi
# victoria-metrics' package enables (and, where allowed, starts) a server on
# :8428; the tests start their own on a free port, so leave none running
# or enabled.
if command -v systemctl >/dev/null 2>&1 && [ -e /lib/systemd/system/victoria-metrics.service ]; then
  $sudo systemctl stop victoria-metrics 2>/dev/null || true
  $sudo systemctl disable victoria-metrics 2>/dev/null || true
fi

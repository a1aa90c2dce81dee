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

# The Debian influxdb package starts a password-less server on :8086 when it
# is installed, and enables it at boot. The tests start their own influxd on
# other ports, so no package may leave a database server running or enabled
# on the host. While installing, a policy-rc.d that refuses every start keeps
# invoke-rc.d from starting services (the Debian mechanism, used where
# systemd is not PID 1); afterwards the service is stopped and disabled
# whichever init is present, and an influxd the package scripts started
# anyway is stopped by its pid.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# deps.sh: no service starts while packages install\nexit 101\n' |
    $sudo tee "$policy" > /dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
restore_policy() { [ -z "$own_policy" ] || $sudo rm -f "$policy"; }
trap restore_policy EXIT

# Database servers running before the install (pgrep matches the process
# name, cut by the kernel at 15 characters).
had_servers=$(pgrep -x 'influxd|victoria-metric' 2>/dev/null || true)
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
restore_policy
own_policy=""

# stop_service NAME PROCESS: the package's service stopped and disabled
# whichever init is present, then any PROCESS that was not running before
# the install (the package scripts started it) stopped by its pid, never by
# name.
stop_service() {
  local name=$1 proc=$2 pid
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl stop "$name" 2>/dev/null || true
    $sudo systemctl disable "$name" 2>/dev/null || true
  elif command -v systemctl >/dev/null 2>&1; then
    # systemctl works offline for enable/disable.
    $sudo systemctl disable "$name" 2>/dev/null || true
  fi
  if [ -x "/etc/init.d/$name" ]; then
    command -v service >/dev/null 2>&1 && $sudo service "$name" stop 2>/dev/null || true
    command -v update-rc.d >/dev/null 2>&1 && $sudo update-rc.d "$name" disable 2>/dev/null || true
  fi
  for pid in $(pgrep -x "$proc" 2>/dev/null || true); do
    case " $had_servers " in *" $pid "*) continue ;; esac
    $sudo kill "$pid" 2>/dev/null || true
  done
}
# victoria-metrics' package, like influxdb's, enables a server (on :8428).
case " ${missing[*]} " in
  *" influxdb "*) stop_service influxdb influxd ;;
esac
case " ${missing[*]} " in
  *" victoria-metrics "*) stop_service victoria-metrics victoria-metric ;;
esac

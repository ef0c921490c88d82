#!/usr/bin/env bash
# Installs what the suite needs to build, test and benchmark, from Debian's packages only.
# Idempotent: does nothing when every package is already there. Needs root (or sudo) to install.
set -euo pipefail

packages=(
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config          # build, sanitizers, fuzzing
  libasio-dev libasio-doc libfmt-dev libcli11-dev doctest-dev        # libraries (+ Asio's examples)
  nlohmann-json3-dev                                                 # loadgen's JSON reports
  liburing-dev                                                       # echo-server --engine uring
  netcat-openbsd ncat socat iproute2 procps psmisc                   # real peers and /proc tools
  nftables                                                           # loss between two test hosts
  libcap2-bin util-linux                                             # setcap, setpriv, prlimit
  gnuplot-nox python3                                                # load-test plots and tables
  libedit-dev tmux                                                   # chat's line editor; its tests
  help2man man-db lintian systemd                                    # man pages, the .deb's checks
  haproxy                      # only scripts/scale_out.sh and its test (ctest -L scale) use it
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
as_root=()
if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2

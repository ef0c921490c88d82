#!/usr/bin/env bash
# Builds the Debian package: scripts/package.sh [BUILD_DIR [OUT_DIR]]
# BUILD_DIR (default build/release, configured from the release preset if new) is built, then
# CPack makes the .deb in OUT_DIR (default BUILD_DIR/deb). Prints the path of the .deb.
# What goes into it: docs/design.md, "Packaging".
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
out=${2:-$build/deb}
if [[ ! -f $build/CMakeCache.txt ]]; then
  if [[ $build == build/release ]]; then
    cmake --preset release >/dev/null
  else
    echo "package: $build is not a configured build folder" >&2
    exit 2
  fi
fi
# What the package holds; the tests are not needed for it.
cmake --build "$build" --parallel "$(nproc)" \
  --target echo-server udp-chat loadgen man_pages debian_changelog >&2
rm -rf "$out"
cpack -G DEB -B "$out" --config "$build/CPackConfig.cmake" >&2
rm -rf "$out/_CPack_Packages"
debs=("$out"/*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
  echo "package: expected one .deb in $out" >&2
  exit 1
fi
realpath "${debs[0]}"

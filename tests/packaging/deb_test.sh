#!/usr/bin/env bash
# The .deb as a Debian user meets it: built by scripts/package.sh, checked by lintian (no errors),
# installed with apt-get, its man pages found by man, its programs run, its systemd units
# verified, then purged, leaving the system as it was. Needs root and apt; skips (exit 77) with
# a printed reason where it is not root, the package is installed already, or lintian,
# systemd-analyze or man cannot be installed. Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
package=echo-chat-suite
programs=(echo-server udp-chat loadgen)
apt_wait=(-o DPkg::Lock::Timeout=600)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "not root: apt-get install needs root"
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
  skip "$package is installed already; this test would remove it"
fi
needed=()
command -v lintian >/dev/null || needed+=(lintian)
command -v systemd-analyze >/dev/null || needed+=(systemd)
command -v man >/dev/null || needed+=(man-db)
if ((${#needed[@]})); then
  echo "installing ${needed[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_wait[@]}" \
    --no-install-recommends "${needed[@]}" >/dev/null ||
    skip "cannot install ${needed[*]}"
fi

work=$(mktemp -d)
installed=0
cleanup() {
  if ((installed)); then
    DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq "${apt_wait[@]}" "$package" \
      >/dev/null || echo "could not remove $package" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

deb=$("$source_dir/scripts/package.sh" "$build" "$work/deb")
echo "built $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'

# lintian: errors fail the test; warnings and the rest are printed for the log.
lintian_out=$(lintian --fail-on none --display-level '>=pedantic' "$deb" 2>&1 || true)
echo "lintian:"
echo "${lintian_out:-(nothing to report)}"
if grep -q '^E: ' <<<"$lintian_out"; then fail "lintian reports errors"; fi
lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian --fail-on error failed"

installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_wait[@]}" "$deb" >/dev/null ||
  fail "apt-get install $deb failed"
dpkg-query -W -f='${Status}\n' "$package" | grep -q 'install ok installed' || fail "not installed"

for program in "${programs[@]}"; do
  page=$(man -w "$program") || fail "man -w $program finds no page"
  [[ $page == /usr/share/man/man1/$program.1.gz ]] || fail "man -w $program: $page"
  man -P cat "$program" 2>/dev/null | grep -q -- '--version' || fail "$program(1) lacks --version"
  version=$("/usr/bin/$program" --version) || fail "$program --version failed"
  [[ $version =~ ^$program\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "$program --version: $version"
  echo "ok: $page, $version"
done
man -P cat udp-chat 2>/dev/null | grep -q '/quit' || fail "udp-chat(1) lacks the chat commands"
doc=/usr/share/doc/$package
for file in README.md copyright changelog.Debian.gz; do
  [[ -f $doc/$file ]] || fail "$doc/$file is missing"
done
grep -q '^License: MIT' "$doc/copyright" || fail "copyright names no MIT license"

units=(/usr/lib/systemd/system/echo-server.service /usr/lib/systemd/system/echo-server.socket)
for unit in "${units[@]}"; do [[ -f $unit ]] || fail "$unit is missing"; done
verify=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "${units[@]}" 2>&1) ||
  fail "systemd-analyze verify: $verify"
echo "systemd-analyze verify: ${verify:-no complaints}"

DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -qq "${apt_wait[@]}" "$package" \
  >/dev/null || fail "apt-get remove --purge failed"
installed=0
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'installed'; then
  fail "$package still installed after purge"
fi
for path in /usr/bin/echo-server "$doc" "${units[@]}" /usr/share/man/man1/echo-server.1.gz; do
  [[ ! -e $path ]] || fail "$path left behind after purge"
done
echo "ok: installed, checked and purged"

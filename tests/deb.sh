#!/usr/bin/env bash
# The Debian package, installed for real (run by scripts/test.sh inside its
# D-Bus session, with its Xvfb display): built by scripts/package.sh from the
# test build, installed into this machine with dpkg, then `coffer --version`
# from /usr/bin, the agent's user unit and the desktop entry in place, and
# the installed app started on a new vault until its window shows; then the
# package is removed and nothing of it stays. Needs root or sudo.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '\033[1m[deb]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -E "$@"; fi; }
fail() { echo "tests/deb.sh: $*" >&2; exit 1; }
[ -n "${DISPLAY:-}" ] || fail "DISPLAY is not set (run it from scripts/test.sh)"

deb=$(COFFER_PROFILE=debug "$ROOT/scripts/package.sh" | tail -1)
[ -f "$deb" ] || fail "scripts/package.sh printed no .deb ($deb)"
pkg=$(dpkg-deb -f "$deb" Package)
dpkg-query -W "$pkg" >/dev/null 2>&1 && fail "$pkg is installed already; this test installs and removes it"

say "installing $deb ($pkg)"
as_root dpkg -i "$deb" >/dev/null
app_pid=
tmp=$(mktemp -d)
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  as_root dpkg -r "$pkg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

version=$(/usr/bin/coffer --version)
[[ "$version" == coffer\ * ]] || fail "/usr/bin/coffer --version said: $version"
say "/usr/bin/coffer --version: $version"
grep -q '^ExecStart=/usr/bin/coffer agent run$' /usr/lib/systemd/user/coffer-agent.service ||
  fail "the agent's user unit does not run /usr/bin/coffer"
desktop=$(dpkg -L "$pkg" | grep '^/usr/share/applications/.*\.desktop$' | head -1)
[ -n "$desktop" ] || fail "no desktop entry in $pkg"
exe=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop" | head -1)
exe=$(command -v "$exe") || fail "the desktop entry's Exec is not on PATH"
say "the desktop entry starts $exe"

# The installed app, on a vault of its own, until its window is mapped.
mkdir -p "$tmp"/{data,config,cache}
XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" \
  COFFER_VAULT="$tmp/data/vault.sqlite" "$exe" >"$tmp/app.log" 2>&1 &
app_pid=$!
timeout 60 xdotool search --sync --onlyvisible --name '^Coffer$' >/dev/null ||
  { cat "$tmp/app.log" >&2; fail "the installed app showed no window within 60 s"; }
kill -0 "$app_pid" || fail "the installed app exited"
say "the installed app's window is up"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=

as_root dpkg -r "$pkg" >/dev/null
[ ! -e /usr/bin/coffer ] || fail "/usr/bin/coffer stayed after dpkg -r"
dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && fail "$pkg is still installed"
say "installed, started and removed"

#!/usr/bin/env bash
# Installs the tools the benchmark suite compares Coffer with, from Debian:
# keepassxc (keepassxc-cli, and the GUI bench/app.sh starts beside the app, found by
# its window title with xdotool), pass and gopass with gnupg and tree, GNU time, and wrk
# (the HTTP load generator that measures a sync server's ceiling), and sqlite3
# (the floor: a process that opens the vault file and reads one row), and matplotlib
# (bench/plot.py draws the app's memory over an hour of use).
# Idempotent; kept out of scripts/setup-debian.sh so the test path never pulls them.
set -euo pipefail
CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
packages=(keepassxc xdotool pass gopass gnupg tree time wrk dbus gnome-keyring sqlite3 python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
printf '\033[1m[bench]\033[0m installing Debian packages: %s\n' "${missing[*]}" >&2
# apt's temp dir under /tmp has been seen deleted mid-install here: a private one, and retries.
export DEBIAN_FRONTEND=noninteractive TMPDIR="$CACHE/apt-tmp"
mkdir -p "$TMPDIR"
$SUDO apt-get update -q >/dev/null
for attempt in 1 2 3; do
  if ${SUDO:+$SUDO -E} apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then exit 0; fi
  printf '[bench] apt-get install failed (attempt %s); retrying\n' "$attempt" >&2
  sleep 2
done
echo "apt-get install failed three times" >&2
exit 1

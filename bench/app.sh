#!/usr/bin/env bash
# The desktop app's benchmarks (issues 6, 8 and 20), in one command:
#
#   bench/app.sh [SIZE ...]        (default: 10000 100000)
#
# Builds the UI, the release app, CLI and .deb (scripts/package.sh) and the
# floor: bench/floor, the smallest Tauri app, built against the workspace's
# Cargo.lock with the same release profile. Then runs bench/app.py in a real
# window: Xvfb, a private D-Bus session with an unlocked gnome-keyring,
# tauri-driver + WebKitWebDriver, private XDG dirs. It measures Coffer, the
# floor and KeePassXC's GUI (bench/peers.sh installs it) in the same run:
# cold start to an interactive unlocked list (the floor: its first frame;
# KeePassXC: its unlocked window), keystroke to the next frame, PSS of all
# their processes (after unlock, and for Coffer over USE_SECS=600 s of
# scripted use on the first size), binary and .deb size.
# Results: $BENCH_OUT/app.md and app-SIZE.json. NO_BUILD=1 skips building.
#
#   bench/app.sh --growth [PHASE ...]
#
# Instead: bench/growth.py, what each kind of action (search, open, edit, …)
# costs the app process's and the web process's memory (SIZE, BLOCK, BLOCKS).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

if [ "${1:-}" = --in-session ]; then
  shift
  printf 'coffer-bench-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  if [ "${1:-}" = --growth ]; then
    shift
    TAURI_DRIVER="$COFFER_CACHE/tools/bin/tauri-driver" exec python3 "$ROOT/bench/growth.py" \
      "$CARGO_TARGET_DIR/release/coffer-desktop" "$CARGO_TARGET_DIR/release/coffer" "$BENCH_OUT" "$@"
  fi
  TAURI_DRIVER="$COFFER_CACHE/tools/bin/tauri-driver" python3 "$ROOT/bench/app.py" \
    "$CARGO_TARGET_DIR/release/coffer-desktop" "$CARGO_TARGET_DIR/release/coffer" \
    "$CARGO_TARGET_DIR/release/coffer-floor" "$BENCH_OUT" "$@"
  exit
fi

case " $* " in *" -h "* | *" --help "*) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -eq 0 ] && set -- 10000 100000

"$ROOT/scripts/setup-debian.sh" test
"$ROOT/bench/peers.sh"
if [ "${NO_BUILD:-}" != 1 ]; then
  say "building the release app, CLI and .deb, and the floor app"
  "$ROOT/scripts/package.sh" >/dev/null
  # The floor resolves the same Tauri, wry and WebKitGTK bindings as Coffer:
  # the workspace's lock file, trimmed by cargo to the floor's own tree.
  cp Cargo.lock bench/floor/Cargo.lock
  cargo build --release -q --manifest-path bench/floor/Cargo.toml --features custom-protocol
fi

export BENCH_OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-results/app-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$BENCH_OUT"
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench-app.XXXXXX")
mkdir -p "$RUN_DIR"/{data,config,cache,runtime}
chmod 700 "$RUN_DIR/runtime"
export RUN_DIR XDG_DATA_HOME="$RUN_DIR/data" XDG_CONFIG_HOME="$RUN_DIR/config" XDG_CACHE_HOME="$RUN_DIR/cache" \
  XDG_RUNTIME_DIR="$RUN_DIR/runtime" NO_AT_BRIDGE=1
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet -- crates src-tauri ui/src || echo ' (+ local changes)')"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$BENCH_OUT/machine.txt"

display=$((300 + RANDOM % 100))
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$RUN_DIR/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$RUN_DIR"' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
export DISPLAY=":$display"
if [ "$1" = --growth ]; then say "app: memory by action (${*:2}); results in $BENCH_OUT"; else say "app: sizes $*; results in $BENCH_OUT"; fi
dbus-run-session -- "$ROOT/bench/app.sh" --in-session "$@"

#!/usr/bin/env bash
# Runs the core's criterion benchmarks with a real Secret Service (gnome-keyring
# in a private D-Bus session), so the keyring rows are measured too.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
RUN_DIR=$(mktemp -d)
trap 'rm -rf "$RUN_DIR"' EXIT
mkdir -p "$RUN_DIR"/{data,runtime} && chmod 700 "$RUN_DIR/runtime"
export XDG_DATA_HOME="$RUN_DIR/data" XDG_RUNTIME_DIR="$RUN_DIR/runtime"
dbus-run-session -- bash -c '
  printf coffer-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cargo bench --locked -p coffer-core --bench vault -- "$@"' bench "$@"

#!/usr/bin/env bash
# The whole test run, from a fresh Debian 12 machine: installs what is missing,
# then runs the UI checks, the Rust tests against a real Secret Service
# (gnome-keyring in a private D-Bus session) and the desktop app in a real
# window (Xvfb + tauri-driver + WebKitWebDriver), then fmt and clippy.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
say() { printf '\033[1m[test]\033[0m %s\n' "$*"; }

if [ "${1:-}" = --in-session ]; then
  # Inside dbus-run-session: a private bus that dies with this script.
  printf 'coffer-ci-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  say "gnome-keyring unlocked on $DBUS_SESSION_BUS_ADDRESS"
  # The app under test watches logind's PrepareForSleep on this private
  # session bus, where the e2e test plays logind (there is no system bus here).
  # Its agent makes STS sessions at moto.
  AWS_ENDPOINT_URL="$MOTO_ENDPOINT" COFFER_LOGIND_BUS=session "$COFFER_CACHE/tools/bin/tauri-driver" --port "$TAURI_DRIVER_PORT" \
    --native-port "$((TAURI_DRIVER_PORT + 1))" >"$RUN_DIR/logs/tauri-driver.log" 2>&1 &
  driver=$!
  trap 'kill $driver 2>/dev/null || true' EXIT
  export COFFER_TEST_KEYRING=1 COFFER_TEST_MOTO=1 COFFER_TEST_BAO=1 COFFER_TEST_PG=1
  COFFER_TEST_E2E=1 TAURI_DRIVER_URL="http://127.0.0.1:$TAURI_DRIVER_PORT" cargo test --workspace --locked
  # The CLI suite again, each test's vault served by a running agent: the
  # same outputs, errors and exit codes (crates/coffer-cli/tests/it/support.rs).
  say "cargo test: the CLI suite again, through an agent (COFFER_TEST_AGENT=1)"
  COFFER_TEST_AGENT=1 cargo test -p coffer-cli --test it --locked
  # The .deb: built from this test build, installed, started, removed.
  say "the Debian package: build, install, start, remove (tests/deb.sh)"
  "$ROOT/tests/deb.sh"
  exit
fi

"$ROOT/scripts/setup-debian.sh" test

say "UI: type check, unit tests, build"
(cd ui && npm run --silent check && npm run --silent test && npm run --silent build)

say "cargo fmt --check"
cargo fmt --all -- --check

# GUI and keyring processes get private XDG dirs, so nothing lands in $HOME
# and no daemon outlives the run.
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coffer-test.XXXXXX")
mkdir -p "$RUN_DIR"/{data,config,cache,runtime,logs}
chmod 700 "$RUN_DIR/runtime"
export RUN_DIR XDG_DATA_HOME="$RUN_DIR/data" XDG_CONFIG_HOME="$RUN_DIR/config" XDG_CACHE_HOME="$RUN_DIR/cache" \
  XDG_RUNTIME_DIR="$RUN_DIR/runtime" NO_AT_BRIDGE=1
export TAURI_DRIVER_PORT=${TAURI_DRIVER_PORT:-4444}
export COFFER_E2E_SHOTS=${COFFER_E2E_SHOTS:-$CARGO_TARGET_DIR/e2e-shots}

# moto_server: AWS IAM and STS for the rotation tests, on loopback only.
MOTO_PORT=${MOTO_PORT:-$((15000 + RANDOM % 1000))}
"$COFFER_CACHE/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$RUN_DIR/logs/moto.log" 2>&1 &
moto=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null && break; sleep 0.1; done
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"

# OpenBao dev server (Vault API, in memory; -dev-no-store-token keeps ~/.vault-token untouched).
BAO_PORT=${BAO_PORT:-$((18200 + RANDOM % 1000))}
"$COFFER_CACHE/venv/bin/bao" server -dev -dev-no-store-token -dev-root-token-id=root \
  -dev-listen-address="127.0.0.1:$BAO_PORT" >"$RUN_DIR/logs/bao.log" 2>&1 &
bao=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$BAO_PORT/v1/sys/health" >/dev/null && break; sleep 0.1; done
export BAO_ADDR="http://127.0.0.1:$BAO_PORT" BAO_ROOT_TOKEN=root BAO_BIN="$COFFER_CACHE/venv/bin/bao" AWS_CLI_BIN="$COFFER_CACHE/awscli/bin/aws" \
  BOTO3_PYTHON="$COFFER_CACHE/venv/bin/python"

# PostgreSQL: a throwaway cluster in this run's temp dir, loopback only, SCRAM
# passwords, every statement logged (the leak tests read that log). initdb
# refuses root, so as root the cluster belongs to the postgres user.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_PORT=${PG_PORT:-$((16000 + RANDOM % 1000))}
PG_DIR="$RUN_DIR/pg"
mkdir -p "$PG_DIR"
pg_as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" -eq 0 ]; then chmod 711 "$RUN_DIR"; chown postgres "$PG_DIR"; fi
chmod 700 "$PG_DIR"
PG_SUPERPASS=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$PG_SUPERPASS" | pg_as tee "$PG_DIR/superuser-password" >/dev/null
pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/superuser-password" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$RUN_DIR/logs/initdb.log" 2>&1
pg_as rm -f "$PG_DIR/superuser-password"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -s start -o \
  "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='$PG_DIR' -c password_encryption=scram-sha-256 -c log_statement=all -c log_connections=on"
trap 'kill $moto $bao 2>/dev/null || true; pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s stop 2>/dev/null || true; rm -rf "$RUN_DIR"' EXIT
export PG_HOST=127.0.0.1 PG_PORT PG_SUPERUSER=postgres PG_SUPERPASS PG_LOG="$PG_DIR/postgres.log" PSQL_BIN="$PG_BIN/psql"

display=$((90 + RANDOM % 100))
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$RUN_DIR/logs/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb $moto $bao 2>/dev/null || true; pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s stop 2>/dev/null || true; rm -rf "$RUN_DIR"' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
export DISPLAY=":$display"

say "cargo test (keyring, app under Xvfb :$display)"
dbus-run-session -- "$ROOT/scripts/test.sh" --in-session

say "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "all tests passed"

#!/usr/bin/env bash
# The benchmark suite (issue 8), in one command:
#
#   bench/run.sh [cli] [core] [sync] [aws] [rotate] [app]      (no argument: all six)
#
#   cli   whole commands, Coffer against keepassxc-cli and pass on the same
#         synthetic data: cold get, name/tag search, bulk import, peak memory
#         (bench/cli.py; SIZES="1000 10000" by default, add 100000 if wanted)
#   core  the core's criterion benchmarks (scripts/bench.sh)
#   sync  `coffer sync pull` of 1,000 secrets from OpenBao and moto_server
#         against each server's ceiling and the naive loops (scripts/bench-sync.sh)
#   aws   the AWS CLI's `sts get-caller-identity` against moto_server with the key in
#         ~/.aws/credentials vs Coffer as credential_process through the agent (bench/aws.sh)
#   rotate  a PostgreSQL password rotated at the server against psql's floor, and
#         a lease renewed around a command (bench/rotate.sh)
#   app   the desktop app in a real window, 10k and 100k credentials (bench/app.sh;
#         about 20 minutes, 10 of them scripted use)
#
# It installs the peers from Debian (bench/peers.sh), builds the release CLI,
# and runs everything that needs the keyring in a private D-Bus session with
# an unlocked gnome-keyring and private XDG dirs and GNUPGHOME, so nothing
# lands in $HOME and no daemon outlives it. Results (JSON and Markdown tables)
# go to $BENCH_OUT (default: $CARGO_TARGET_DIR/bench-results/<time>).
# RUNS (default 15) and IMPORT_RUNS (5) set the interleaved rounds.
# COFFER_BEFORE=<path to an earlier release coffer> adds its get, search and
# import to the same interleaved rounds (a before/after comparison).
# The figures and how to read them are in docs/BENCHMARKS.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
export SIZES=${SIZES:-"1000 10000"}

say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

if [ "${1:-}" = --in-session ]; then
  # Inside dbus-run-session: a private bus that dies with this script.
  shift
  printf 'coffer-bench-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  say "gnome-keyring unlocked on $DBUS_SESSION_BUS_ADDRESS"
  mkdir -p "$BENCH_OUT/gnupg" && chmod 700 "$BENCH_OUT/gnupg"
  export GNUPGHOME="$BENCH_OUT/gnupg"
  trap 'gpgconf --kill gpg-agent 2>/dev/null || true' EXIT
  # shellcheck disable=SC2086
  python3 "$ROOT/bench/cli.py" "$CARGO_TARGET_DIR/release/coffer" "$BENCH_OUT" $SIZES
  exit
fi

case " $* " in *" -h "* | *" --help "*) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(cli core sync aws rotate app)
for p in "${parts[@]}"; do
  case $p in cli | core | sync | aws | rotate | app) ;; *) echo "unknown part '$p' (cli, core, sync, aws, rotate, app)" >&2; exit 2 ;; esac
done

export BENCH_OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$BENCH_OUT"
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench.XXXXXX")
trap 'rm -rf "$RUN_DIR"' EXIT
mkdir -p "$RUN_DIR"/{data,config,cache,runtime}
chmod 700 "$RUN_DIR/runtime"
export XDG_DATA_HOME="$RUN_DIR/data" XDG_CONFIG_HOME="$RUN_DIR/config" XDG_CACHE_HOME="$RUN_DIR/cache" \
  XDG_RUNTIME_DIR="$RUN_DIR/runtime" NO_AT_BRIDGE=1

"$ROOT/bench/peers.sh"
say "building the release CLI"
cargo build --release --locked -q -p coffer-cli
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- crates || echo ' (+ local changes)')"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
} >"$BENCH_OUT/machine.txt"

for p in "${parts[@]}"; do
  case $p in
    cli)
      say "cli: sizes $SIZES"
      dbus-run-session -- "$ROOT/bench/run.sh" --in-session
      ;;
    core)
      say "core: criterion (scripts/bench.sh)"
      "$ROOT/scripts/bench.sh" 2>&1 | tee "$BENCH_OUT/core.txt"
      ;;
    sync)
      say "sync: scripts/bench-sync.sh"
      "$ROOT/scripts/bench-sync.sh" 2>&1 | tee "$BENCH_OUT/sync.txt"
      ;;
    aws)
      say "aws: bench/aws.sh"
      BENCH_OUT=$BENCH_OUT "$ROOT/bench/aws.sh"
      ;;
    rotate)
      say "rotate: bench/rotate.sh"
      BENCH_OUT=$BENCH_OUT "$ROOT/bench/rotate.sh"
      ;;
    app)
      say "app: bench/app.sh"
      "$ROOT/bench/app.sh"
      ;;
  esac
done
say "results in $BENCH_OUT"

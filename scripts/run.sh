#!/usr/bin/env bash
# Installs what is missing, builds Coffer and starts the desktop app on the
# default vault ($XDG_DATA_HOME/coffer/vault.sqlite, or COFFER_VAULT).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
"$ROOT/scripts/setup-debian.sh" app
(cd ui && npm run --silent build)
# A debug build (dependencies optimised) is ready in about half the time of
# a release build; COFFER_PROFILE=release builds the shipping binary instead.
profile=${COFFER_PROFILE:-debug}
if [ "$profile" = release ]; then
  cargo build --locked --release --features custom-protocol -p coffer-desktop -p coffer-cli
else
  # The same build the test command makes (`cargo test --workspace`): its
  # dev-dependencies turn on features of shared crates (tracing's `log`,
  # syn's `fold`, rustls' `logging`…), and a plain `cargo build` of the two
  # binaries would resolve a different set and rebuild most of the tree
  # (about 8 minutes here). Building the test targets too keeps one set, so
  # whichever command runs second starts at once.
  cargo test --locked --workspace --no-run
fi
echo "[run] the CLI is at $CARGO_TARGET_DIR/$profile/coffer"
exec "$CARGO_TARGET_DIR/$profile/coffer-desktop" "$@"

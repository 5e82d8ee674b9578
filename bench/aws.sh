#!/usr/bin/env bash
# bench/aws.sh: what Coffer adds to an AWS tool's call. The real AWS CLI
# runs `sts get-caller-identity` against moto_server, once with the key in
# ~/.aws/credentials and once with `credential_process = coffer aws
# credential-process NAME` served by a running agent (an STS session it
# made from moto and keeps), in interleaved rounds (bench/measure.py); and
# `coffer aws credential-process` alone through the agent, kept session and
# `--long-lived`. A passphrase vault, so no keyring is needed. Results (JSON and a
# Markdown table) go to $BENCH_OUT/aws.{json,md}. RUNS (default 15) rounds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
RUNS=${RUNS:-15}
BENCH_OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-results/$(date +%Y%m%d-%H%M%S)}
COFFER=$CARGO_TARGET_DIR/release/coffer
AWS=$COFFER_CACHE/awscli/bin/aws
MOTO=$COFFER_CACHE/venv/bin/moto_server
say() { printf '\033[1m[bench aws]\033[0m %s\n' "$*" >&2; }
for tool in "$COFFER" "$AWS" "$MOTO"; do
  [ -x "$tool" ] || { echo "$tool is missing (bench/run.sh builds coffer; scripts/setup-debian.sh installs the rest)" >&2; exit 1; }
done
mkdir -p "$BENCH_OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench-aws.XXXXXX")
moto=
cleanup() {
  COFFER_VAULT=$WORK/vault.sqlite "$COFFER" agent stop >/dev/null 2>&1 || true
  [ -n "$moto" ] && kill "$moto" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK"/{home,runtime,config,data}
chmod 700 "$WORK/runtime"
# Nothing from the caller's AWS or Coffer setup.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE \
  AWS_SHARED_CREDENTIALS_FILE COFFER_AGENT
export HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/runtime XDG_CONFIG_HOME=$WORK/config \
  XDG_DATA_HOME=$WORK/data COFFER_VAULT=$WORK/vault.sqlite COFFER_OFFLINE=1 \
  AWS_DEFAULT_REGION=us-east-1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MOTO" -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
moto=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done

key_id=AKIABENCHAWS00000001
secret=benchAwsSecretKey0000000000000000000000
printf 'bench aws passphrase\n' >"$WORK/pw"
"$COFFER" init --no-keyring --passphrase-stdin <"$WORK/pw" >/dev/null
printf '{"secret_access_key":"%s"}' "$secret" |
  "$COFFER" --passphrase-file "$WORK/pw" add aws/bench --kind aws-access-key \
    --field "access_key_id=$key_id" >/dev/null
# A chain of two roles above the key (moto assumes any role ARN).
"$COFFER" --passphrase-file "$WORK/pw" add aws/bench-ops --kind aws-role \
  --field role_arn=arn:aws:iam::123456789012:role/bench-ops --field source=aws/bench >/dev/null
"$COFFER" --passphrase-file "$WORK/pw" add aws/bench-prod --kind aws-role \
  --field role_arn=arn:aws:iam::123456789012:role/bench-prod --field source=aws/bench-ops >/dev/null
# The agent makes the STS sessions credential_process hands out: it reaches
# moto (COFFER_OFFLINE above is for `add`'s key-age lookup only).
COFFER_OFFLINE=0 AWS_ENDPOINT_URL="http://127.0.0.1:$port" \
  "$COFFER" --passphrase-file "$WORK/pw" agent start --idle-lock 0 >/dev/null

mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/credentials" <<EOF
[static]
aws_access_key_id = $key_id
aws_secret_access_key = $secret
EOF
cat >"$HOME/.aws/config" <<EOF
[profile static]
region = us-east-1
[profile coffer]
region = us-east-1
credential_process = $COFFER aws credential-process aws/bench
[profile coffer-role]
region = us-east-1
credential_process = $COFFER aws credential-process aws/bench-prod
EOF

sts=("$AWS" --endpoint-url "http://127.0.0.1:$port" sts get-caller-identity --output text)
python3 - "$WORK/plan.json" "$RUNS" "$COFFER" "${sts[@]}" <<'EOF'
import json, sys
path, runs, coffer, sts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
plan = {"rounds": runs, "groups": [
    {"name": "sts", "commands": [
        {"label": "aws sts get-caller-identity, key in ~/.aws/credentials", "argv": sts + ["--profile", "static"],
         "expect": "arn:aws"},
        {"label": "aws sts get-caller-identity, Coffer credential_process (agent)", "argv": sts + ["--profile", "coffer"],
         "env": {"COFFER_AGENT": "required"}, "expect": "arn:aws"},
        {"label": "aws sts get-caller-identity, Coffer credential_process, role chain (agent)",
         "argv": sts + ["--profile", "coffer-role"],
         "env": {"COFFER_AGENT": "required"}, "expect": "assumed-role/bench-prod"},
    ]},
    {"name": "credential_process", "commands": [
        # A kept STS session (the warm-up round makes it: one STS call for all rounds).
        {"label": "coffer aws credential-process (agent, kept session)", "argv": [coffer, "aws", "credential-process", "aws/bench"],
         "env": {"COFFER_AGENT": "required"}, "expect": "SessionToken"},
        # The top of a two-role chain, kept (each link made once, in the warm-up).
        {"label": "coffer aws credential-process, role chain (agent, kept session)",
         "argv": [coffer, "aws", "credential-process", "aws/bench-prod"],
         "env": {"COFFER_AGENT": "required"}, "expect": "SessionToken"},
        # The stored key, as before sessions (through coffer-full: the front leaves flags to it).
        {"label": "coffer aws credential-process --long-lived (agent)", "argv": [coffer, "aws", "credential-process", "aws/bench", "--long-lived"],
         "env": {"COFFER_AGENT": "required"}, "expect": "SecretAccessKey"},
    ]},
]}
json.dump(plan, open(path, "w"))
EOF
say "$RUNS interleaved rounds (+1 warm-up)"
python3 "$ROOT/bench/measure.py" "$WORK/plan.json" "$BENCH_OUT/aws.json"
python3 - "$BENCH_OUT/aws.json" "$BENCH_OUT/aws.md" <<'EOF'
import json, sys
res = json.load(open(sys.argv[1]))
sts = res["sts"]
static = next(v for k, v in sts.items() if "~/.aws/credentials" in k)
coffer = next(v for k, v in sts.items() if "Coffer" in k and "role" not in k)
overhead = coffer["median_ms"] / static["median_ms"] - 1
lines = ["| command | median | min |", "| --- | ---: | ---: |"]
for label, v in list(sts.items()) + list(res["credential_process"].items()):
    lines.append(f"| {label} | {v['median_ms']:.1f} ms | {v['min_ms']:.1f} ms |")
lines.append("")
lines.append(f"Coffer as credential_process adds {overhead * 100:.1f} % to the AWS CLI call "
             f"({coffer['median_ms'] - static['median_ms']:.1f} ms of {static['median_ms']:.1f} ms).")
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
sys.stdout.write(text)
EOF

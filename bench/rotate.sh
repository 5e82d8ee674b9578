#!/usr/bin/env bash
# bench/rotate.sh: rotation at the provider, and leases.
#
#   db      `coffer rotate` of a PostgreSQL password end to end (connect,
#           ALTER ROLE, fresh login, promote, audit; grace 0) against the
#           floor of the same work by psql (ALTER ROLE as the role itself,
#           then a fresh login with the new password: two psql runs), in
#           interleaved rounds (bench/measure.py), on a throwaway cluster
#           made here with initdb; `coffer get` of the password beside them
#           (what opening the vault costs alone).
#   lease   `coffer exec` of a vault-lease (OpenBao's database engine on the
#           same cluster, TTL 4 s) around `sleep 20`: renewals made (at most
#           one per half TTL is the promise), and Coffer's own CPU time
#           against the same `sleep 20` run without it.
#
# A keyring vault in a private D-Bus session (as a user's), release build.
# Results go to $BENCH_OUT/rotate.{json,md}. RUNS (default 15) rounds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/coffer-target}
export COFFER_CACHE=${COFFER_CACHE:-/var/tmp/coffer-cache}
export RUNS=${RUNS:-15}
export BENCH_OUT=${BENCH_OUT:-$CARGO_TARGET_DIR/bench-results/$(date +%Y%m%d-%H%M%S)}
COFFER=$CARGO_TARGET_DIR/release/coffer
say() { printf '\033[1m[bench rotate]\033[0m %s\n' "$*" >&2; }

if [ "${1:-}" = --in-session ]; then
  printf 'coffer-bench-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  WORK=$2
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pg_as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  bao_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  superpass=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$WORK/pg"
  if [ "$(id -u)" -eq 0 ]; then chmod 711 "$WORK"; chown postgres "$WORK/pg"; fi
  printf '%s\n' "$superpass" | pg_as tee "$WORK/pg/pw" >/dev/null
  pg_as "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --pwfile="$WORK/pg/pw" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --no-instructions >/dev/null
  pg_as "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -s start -o \
    "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$WORK/pg' -c password_encryption=scram-sha-256"
  "$COFFER_CACHE/venv/bin/bao" server -dev -dev-no-store-token -dev-root-token-id=root \
    -dev-listen-address="127.0.0.1:$bao_port" >"$WORK/bao.log" 2>&1 &
  bao=$!
  trap 'kill $bao 2>/dev/null; pg_as "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -s stop; true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$bao_port/v1/sys/health" >/dev/null && break; sleep 0.1; done
  psql_su() { PGPASSWORD=$superpass "$PG_BIN/psql" -X -w -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$1"; }
  psql_su "CREATE ROLE bench LOGIN PASSWORD 'bench-start-password'"
  psql_su "CREATE ROLE floor LOGIN PASSWORD 'floor-password-a'"
  echo floor-password-a >"$WORK/floor-current"

  export COFFER_VAULT=$WORK/vault.sqlite COFFER_OFFLINE=1
  "$COFFER" init --no-passphrase >/dev/null
  printf '{"password":"bench-start-password"}' | "$COFFER" add db/bench --kind db-password \
    --field host=127.0.0.1 --field "port=$port" --field user=bench --field database=postgres \
    --field engine=postgres >/dev/null
  # The lease: OpenBao's database engine on the same cluster.
  export VAULT_ADDR="http://127.0.0.1:$bao_port" BAO_ADDR="http://127.0.0.1:$bao_port" BAO_TOKEN=root
  bao_bin=$COFFER_CACHE/venv/bin/bao
  "$bao_bin" secrets enable database >/dev/null
  "$bao_bin" write database/config/pg plugin_name=postgresql-database-plugin allowed_roles='*' \
    connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:$port/postgres?sslmode=disable" \
    username=postgres password="$superpass" >/dev/null
  "$bao_bin" write database/roles/ro db_name=pg default_ttl=4s max_ttl=10m \
    creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';" >/dev/null
  printf '{"token":"root"}' | "$COFFER" add bao/root --kind vault-token >/dev/null
  "$COFFER" remote add vault bao --holds-all --addr "$VAULT_ADDR" --prefix bench/ --auth-credential bao/root >/dev/null
  "$COFFER" add db/lease --kind vault-lease --field remote=bao --field path=database/creds/ro \
    --field 'env=username=PGUSER password=PGPASSWORD' >/dev/null

  cat >"$WORK/floor.sh" <<EOF
#!/bin/sh
set -e
cur=\$(cat "$WORK/floor-current")
if [ "\$cur" = floor-password-a ]; then new=floor-password-b; else new=floor-password-a; fi
PGPASSWORD=\$cur "$PG_BIN/psql" -X -w -q -h 127.0.0.1 -p $port -U floor -d postgres -c "ALTER ROLE floor PASSWORD '\$new'"
PGPASSWORD=\$new "$PG_BIN/psql" -X -w -tA -h 127.0.0.1 -p $port -U floor -d postgres -c "SELECT 'logged in'"
echo "\$new" >"$WORK/floor-current"
EOF
  chmod +x "$WORK/floor.sh"
  python3 - "$WORK/plan.json" "$RUNS" "$COFFER" "$WORK/floor.sh" <<'EOF'
import json, sys
path, runs, coffer, floor = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
plan = {"rounds": runs, "groups": [{"name": "db", "commands": [
    {"label": "coffer rotate (PostgreSQL, grace 0)", "argv": [coffer, "rotate", "db/bench", "--grace", "0"],
     "expect": "done"},
    {"label": "floor: psql ALTER ROLE + fresh login", "argv": [floor], "expect": "logged in"},
    {"label": "coffer get --field password (the vault opened, nothing at the server)",
     "argv": [coffer, "get", "db/bench", "--field", "password"], "expect": ""},
]}]}
json.dump(plan, open(path, "w"))
EOF
  say "db: $RUNS interleaved rounds (+1 warm-up)"
  python3 "$ROOT/bench/measure.py" "$WORK/plan.json" "$BENCH_OUT/rotate.json"

  say "lease: coffer exec around sleep 20 (TTL 4 s)"
  python3 - "$COFFER" "$BENCH_OUT/lease.json" <<'EOF'
import json, os, resource, subprocess, sys, time
coffer, out = sys.argv[1], sys.argv[2]
def cpu_of(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
bare_wall, bare_cpu = cpu_of(["sleep", "20"])
wall, cpu = cpu_of([coffer, "exec", "db/lease", "--", "sleep", "20"])
trail = json.loads(subprocess.run([coffer, "audit", "--credential", "db/lease", "--json"],
                                  check=True, capture_output=True, text=True).stdout)
revoked = [e for e in trail if e["action"] == "lease" and e["details"].get("lease") == "revoked"]
renewals = revoked[0]["details"]["renewals"]
json.dump({"wall_s": wall, "bare_wall_s": bare_wall, "coffer_cpu_s": cpu - bare_cpu,
           "renewals": renewals, "ttl_s": 4, "most_allowed": int(wall // 2) + 1}, open(out, "w"))
EOF
  exit
fi

[ -x "$COFFER" ] || { say "building the release CLI"; cargo build --release --locked -q -p coffer-cli; }
mkdir -p "$BENCH_OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench-rotate.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"/{home,runtime,config,data}
chmod 700 "$WORK/runtime"
HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/runtime XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data \
  dbus-run-session -- "$0" --in-session "$WORK"
python3 - "$BENCH_OUT/rotate.json" "$BENCH_OUT/lease.json" "$BENCH_OUT/rotate.md" <<'EOF'
import json, sys
res, lease = json.load(open(sys.argv[1]))["db"], json.load(open(sys.argv[2]))
rot = next(v for k, v in res.items() if k.startswith("coffer rotate"))
floor = next(v for k, v in res.items() if k.startswith("floor"))
lines = ["| command | median | min |", "| --- | ---: | ---: |"]
for label, v in res.items():
    lines.append(f"| {label} | {v['median_ms']:.1f} ms | {v['min_ms']:.1f} ms |")
lines.append("")
lines.append(f"Rotation / floor: {rot['median_ms'] / floor['median_ms']:.2f}x "
             f"({rot['median_ms']:.1f} ms against {floor['median_ms']:.1f} ms).")
lines.append(f"Lease around sleep 20 (TTL 4 s): {lease['renewals']} renewals "
             f"(at most {lease['most_allowed']} allowed), Coffer's CPU {lease['coffer_cpu_s'] * 1000:.0f} ms, "
             f"wall {lease['wall_s']:.2f} s against {lease['bare_wall_s']:.2f} s bare.")
text = "\n".join(lines) + "\n"
open(sys.argv[3], "w").write(text)
sys.stdout.write(text)
EOF

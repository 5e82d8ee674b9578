"""Helper of scripts/bench-sync.sh: seeds the benchmark secrets and runs the
naive baseline (a sequential, per-secret read loop over one persistent
HTTP session / boto3 client).

  bench_sync_naive.py seed  bao  URL COUNT
  bench_sync_naive.py seed  moto URL COUNT
  bench_sync_naive.py naive bao  URL COUNT RUNS   -> one wall time (s) per line
  bench_sync_naive.py naive moto URL COUNT RUNS

The naive loop only reads (it stores nothing), which favours it. Its timing
starts after the interpreter and its imports are loaded, but includes
creating the session / client.
"""

import json
import sys
import time

import boto3
import requests

PREFIX = "bench/"
TOKEN = {"X-Vault-Token": "root"}


def name(i):
    return f"s{i:04d}"


def value(i):
    return {"user": "u", "password": f"p-{i:04d}"}


def aws_client(url):
    return boto3.client(
        "secretsmanager",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def seed_bao(url, count):
    with requests.Session() as s:
        s.headers.update(TOKEN)
        for i in range(1, count + 1):
            r = s.post(f"{url}/v1/secret/data/{PREFIX}{name(i)}", json={"data": value(i)})
            r.raise_for_status()


def seed_moto(url, count):
    sm = aws_client(url)
    for i in range(1, count + 1):
        sm.create_secret(Name=f"{PREFIX}{name(i)}", SecretString=json.dumps(value(i)))


def naive_bao(url):
    """One LIST, then one GET per secret. Returns how many were read."""
    with requests.Session() as s:
        s.headers.update(TOKEN)
        r = s.get(f"{url}/v1/secret/metadata/{PREFIX}", params={"list": "true"})
        r.raise_for_status()
        keys = [k for k in r.json()["data"]["keys"] if not k.endswith("/")]
        got = {}
        for k in keys:
            r = s.get(f"{url}/v1/secret/data/{PREFIX}{k}")
            r.raise_for_status()
            got[k] = r.json()["data"]["data"]
        return len(got)


def naive_moto(url):
    """Paginated ListSecrets filtered on the prefix, then one GetSecretValue
    per secret. Returns how many were read."""
    sm = aws_client(url)
    names = []
    for page in sm.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [PREFIX]}]
    ):
        names.extend(s["Name"] for s in page["SecretList"])
    got = {}
    for n in names:
        got[n] = json.loads(sm.get_secret_value(SecretId=n)["SecretString"])
    return len(got)


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    action, remote, url, count = argv[1], argv[2], argv[3].rstrip("/"), int(argv[4])
    if action == "seed":
        {"bao": seed_bao, "moto": seed_moto}[remote](url, count)
        return
    if action != "naive":
        sys.exit(__doc__)
    runs = int(argv[5])
    loop = {"bao": naive_bao, "moto": naive_moto}[remote]
    for _ in range(runs):
        t0 = time.perf_counter()
        n = loop(url)
        dt = time.perf_counter() - t0
        if n != count:
            sys.exit(f"naive {remote}: read {n} secrets, expected {count}")
        print(f"{dt:.6f}", flush=True)


if __name__ == "__main__":
    main(sys.argv)

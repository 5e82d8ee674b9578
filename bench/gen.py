"""Deterministic synthetic cloud credentials for the benchmark suite.

    gen.py COUNT OUTDIR

writes, for the same COUNT credentials (the same for every run: a fixed seed):

  coffer.json   Coffer's JSON import format
  keepass.xml   a KeePass 2 XML file for `keepassxc-cli import`: one group per
                path segment, the entry titled by the last one, the main
                secret as Password, the other fields as attributes, tags
                as KeePass tags
  pass/         one plaintext file per credential in `pass`'s layout (first
                line the main secret, then `key: value` lines), to be
                encrypted by one bulk gpg run
  probe.json    what the benchmarks ask for: a name to get, its main secret,
                a name/tag query and how many credentials it matches

Names look like `aws/prod/team-17/billing-api-000042`: family, environment,
team, service; every credential has a team tag, some a cost-centre tag,
notes and plain fields. The query `prod/team-17` ("everything under
prod/team-17") matches about one credential in 150.
"""

import json
import os
import random
import sys
from xml.sax.saxutils import escape

FAMILIES = ["aws", "db", "api", "vault"]
ENVS = ["dev", "staging", "prod"]
SERVICES = ["billing-api", "orders", "search", "auth", "etl", "web", "reports", "mailer"]
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1"]
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
HEX = "0123456789abcdef"


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def credential(rng, i):
    family = FAMILIES[i % len(FAMILIES)]
    env = ENVS[(i // len(FAMILIES)) % len(ENVS)]
    team = (i * 7 + i // 13) % 50
    service = SERVICES[rng.randrange(len(SERVICES))]
    name = f"{family}/{env}/team-{team:02d}/{service}-{i:06d}"
    tags = [f"team-{team:02d}"]
    if i % 5 == 0:
        tags.append(f"cc-{4000 + i % 17}")
    notes = None
    if i % 3 == 0:
        notes = f"Owner: team {team:02d}. Ticket OPS-{10000 + i}. Rotate with the {service} deploy."
    if family == "aws":
        kind = "aws-access-key"
        fields = {"access_key_id": "AKIA" + rand(rng, ALNUM, 16), "region": REGIONS[i % 4],
                  "account": f"{100000000000 + (team * 7919) % 899999999999:012d}"}
        secrets = {"secret_access_key": rand(rng, B64, 40)}
        main = "secret_access_key"
    elif family == "db":
        kind = "db-password"
        fields = {"host": f"{service}-{env}.db.internal", "port": str(5432 + i % 3), "user": f"app_{service.replace('-', '_')}",
                  "database": service.replace("-", "_"), "engine": "postgres"}
        secrets = {"password": rand(rng, B64, 24)}
        main = "password"
    elif family == "api":
        kind = "api-key"
        fields = {"key_id": rand(rng, HEX, 12), "url": f"https://api.{service}.example.com/v2"}
        secrets = {"key": "sk_live_" + rand(rng, B64, 32)}
        main = "key"
    else:
        kind = "vault-token"
        fields = {"addr": "https://vault.internal:8200", "namespace": f"team-{team:02d}"}
        secrets = {"token": "hvs." + rand(rng, B64, 24)}
        main = "token"
    return {"name": name, "kind": kind, "env": env, "tags": tags, "notes": notes,
            "fields": fields, "secrets": secrets, "main": main}


def keepass_xml(creds, out):
    # A tree of groups from the path segments.
    root = {"groups": {}, "entries": []}
    for c in creds:
        *dirs, leaf = c["name"].split("/")
        node = root
        for d in dirs:
            node = node["groups"].setdefault(d, {"groups": {}, "entries": []})
        node["entries"].append((leaf, c))
    counter = [0]

    def uuid():
        counter[0] += 1
        import base64
        return base64.b64encode(counter[0].to_bytes(16, "big")).decode()

    def s(key, value, protect=False):
        attr = ' ProtectInMemory="True"' if protect else ""
        return f"<String><Key>{escape(key)}</Key><Value{attr}>{escape(value)}</Value></String>"

    def write_group(name, node, depth):
        pad = " " * depth
        out.write(f"{pad}<Group><UUID>{uuid()}</UUID><Name>{escape(name)}</Name>\n")
        for leaf, c in node["entries"]:
            user = c["fields"].get("access_key_id") or c["fields"].get("user") or c["fields"].get("key_id") or ""
            url = c["fields"].get("url") or c["fields"].get("addr") or ""
            parts = [f"<UUID>{uuid()}</UUID>", f"<Tags>{escape(';'.join(c['tags']))}</Tags>",
                     s("Title", leaf), s("UserName", user), s("Password", c["secrets"][c["main"]], True),
                     s("URL", url), s("Notes", c["notes"] or "")]
            for k, v in c["fields"].items():
                if v not in (user, url):
                    parts.append(s(k, v))
            parts.append(s("kind", c["kind"]))
            parts.append(s("env", c["env"]))
            out.write(f"{pad} <Entry>{''.join(parts)}</Entry>\n")
        for child, sub in node["groups"].items():
            write_group(child, sub, depth + 1)
        out.write(f"{pad}</Group>\n")

    out.write('<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<KeePassFile>\n')
    out.write("<Meta><Generator>coffer-bench</Generator><DatabaseName>bench</DatabaseName></Meta>\n<Root>\n")
    write_group("Root", root, 0)
    out.write("</Root>\n</KeePassFile>\n")


def main():
    count, outdir = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(20261123)
    creds = [credential(rng, i) for i in range(count)]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "coffer.json"), "w") as f:
        items = []
        for c in creds:
            item = {k: c[k] for k in ("name", "kind", "env", "tags", "fields", "secrets")}
            if c["notes"]:
                item["notes"] = c["notes"]
            items.append(item)
        json.dump(items, f, indent=1)
    with open(os.path.join(outdir, "keepass.xml"), "w") as f:
        keepass_xml(creds, f)
    store = os.path.join(outdir, "pass")
    for c in creds:
        path = os.path.join(store, c["name"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = [c["secrets"][c["main"]]]
        lines += [f"{k}: {v}" for k, v in c["fields"].items()]
        lines += [f"kind: {c['kind']}", f"env: {c['env']}", f"tags: {' '.join(c['tags'])}"]
        if c["notes"]:
            lines.append(f"notes: {c['notes']}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    probe = creds[(count * 2) // 3]
    query = "prod/team-17"
    matches = sum(1 for c in creds if query in c["name"])
    tag = "team-17"
    with open(os.path.join(outdir, "probe.json"), "w") as f:
        json.dump({"count": count, "get": probe["name"], "secret": probe["secrets"][probe["main"]],
                   "main": probe["main"], "query": query, "query_matches": matches, "tag": tag,
                   "tag_matches": sum(1 for c in creds if tag in c["tags"])}, f, indent=1)


if __name__ == "__main__":
    main()

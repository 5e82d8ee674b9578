"""Whole-command benchmarks of Coffer against keepassxc-cli, pass and gopass, on the
same synthetic data (bench/gen.py), measured interleaved (bench/measure.py).

    cli.py COFFER_BINARY OUTDIR SIZE...

Runs inside the private D-Bus session bench/run.sh starts (gnome-keyring
unlocked), with private XDG dirs and GNUPGHOME. For every size it loads the
data into: a Coffer vault sealed to the keyring (no passphrase slot), a
Coffer vault with only a passphrase slot (Argon2id m=64 MiB t=3 p=4), a
KeePassXC database at keepassxc-cli's default KDF and one at the lowest
decryption time it accepts (`-t 100`), and a pass store under a test gpg
key without passphrase (gpg-agent running, as in a desktop session). Then
it measures cold get, name and tag search, bulk import and peak memory.

Writes OUTDIR/cli-SIZE.json (the medians) and OUTDIR/cli-SIZE.md (tables).
"""

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PW = "bench passphrase"
KPX_PW = "bench keepassxc password"
RUNS = int(os.environ.get("RUNS", "15"))
IMPORT_RUNS = int(os.environ.get("IMPORT_RUNS", "5"))
PASS_INSERT_SAMPLE = int(os.environ.get("PASS_INSERT_SAMPLE", "100"))


def say(*args):
    print("\033[1m[bench cli]\033[0m", *args, file=sys.stderr, flush=True)


def sh(argv, **kw):
    kw.setdefault("check", True)
    return subprocess.run(argv, **kw)


def gpg_key(gnupghome):
    os.makedirs(gnupghome, mode=0o700, exist_ok=True)
    env = dict(os.environ, GNUPGHOME=gnupghome)
    listed = sh(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env, capture_output=True, text=True)
    if "fpr:" not in listed.stdout:
        say("generating a test gpg key (no passphrase) in", gnupghome)
        sh(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
            "Coffer Bench <bench@coffer.invalid>", "default", "default", "never"], env=env,
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listed = sh(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env, capture_output=True, text=True)
    fpr = re.search(r"^fpr:+([0-9A-F]{40}):", listed.stdout, re.M).group(1)
    algo = sh(["gpg", "--batch", "--list-keys", fpr], env=env, capture_output=True, text=True).stdout
    return fpr, " / ".join(re.findall(r"^(?:pub|sub)\s+(\S+)", algo, re.M))


def kdf_of(db):
    info = sh(["keepassxc-cli", "db-info", "-q", db], input=KPX_PW + "\n", capture_output=True, text=True).stdout
    m = re.search(r"^KDF: (.*)$", info, re.M)
    return m.group(1) if m else "?"


def main():
    coffer, outdir, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
    work = os.path.join(outdir, "work")
    os.makedirs(work, exist_ok=True)
    gnupghome = os.path.join(work, "gnupg")
    fpr, gpg_algo = gpg_key(gnupghome)
    os.environ["GNUPGHOME"] = gnupghome
    versions = {
        "keepassxc-cli": sh(["keepassxc-cli", "--version"], capture_output=True, text=True).stdout.strip(),
        "gopass": sh(["gopass", "version"], capture_output=True, text=True).stdout.strip(),
        "pass": re.search(r"v\d[\d.]*", sh(["pass", "version"], capture_output=True, text=True).stdout).group(0),
        "gpg": sh(["gpg", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "gpg key": gpg_algo,
        "coffer": sh([coffer, "--version"], capture_output=True, text=True).stdout.strip(),
    }
    for size in sizes:
        run_size(coffer, outdir, work, size, fpr, versions)


def run_size(coffer, outdir, work, size, fpr, versions):
    d = os.path.join(work, str(size))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    say(f"{size}: generating the data set")
    data = os.path.join(d, "data")
    sh([sys.executable, os.path.join(HERE, "gen.py"), str(size), data])
    with open(os.path.join(data, "probe.json")) as f:
        probe = json.load(f)
    pwfile = os.path.join(d, "pw")
    with open(pwfile, "w") as f:
        f.write(PW + "\n")
    kr_vault, pp_vault = os.path.join(d, "kr", "vault.sqlite"), os.path.join(d, "pp", "vault.sqlite")
    kr_env, pp_env = {"COFFER_VAULT": kr_vault}, {"COFFER_VAULT": pp_vault}

    def init_kr(path):
        return f"rm -rf {os.path.dirname(path)} && COFFER_VAULT={path} {coffer} init --no-passphrase"

    def init_pp(path):
        return f"rm -rf {os.path.dirname(path)} && COFFER_VAULT={path} {coffer} --passphrase-file {pwfile} init --no-keyring"

    say(f"{size}: loading Coffer (keyring vault, passphrase vault)")
    sh(init_kr(kr_vault), shell=True, stdout=subprocess.DEVNULL)
    sh([coffer, "import", os.path.join(data, "coffer.json"), "--format", "json"], env=dict(os.environ, **kr_env),
       stdout=subprocess.DEVNULL)
    sh(init_pp(pp_vault), shell=True, stdout=subprocess.DEVNULL)
    sh([coffer, "--passphrase-file", pwfile, "import", os.path.join(data, "coffer.json"), "--format", "json"],
       env=dict(os.environ, **pp_env), stdout=subprocess.DEVNULL)

    say(f"{size}: loading KeePassXC (default KDF, -t 100)")
    xml = os.path.join(data, "keepass.xml")
    kdbx = {"default": os.path.join(d, "kpx-default.kdbx"), "t100": os.path.join(d, "kpx-t100.kdbx")}
    kpx_args = {"default": [], "t100": ["-t", "100"]}
    for which, db in kdbx.items():
        sh(["keepassxc-cli", "import", "-q", "-p", *kpx_args[which], xml, db], input=f"{KPX_PW}\n{KPX_PW}\n",
           text=True, stdout=subprocess.DEVNULL)
    kdfs = {which: kdf_of(db) for which, db in kdbx.items()}

    say(f"{size}: loading pass (one bulk gpg run)")
    store = os.path.join(d, "pass-store")
    bulk = os.path.join(HERE, "pass-bulk.sh")
    sh([bulk, os.path.join(data, "pass"), store, fpr])
    pass_env = {"PASSWORD_STORE_DIR": store}

    name, secret = probe["get"], probe["secret"]
    query, tag = probe["query"], probe["tag"]
    kpx_get = lambda which: {"label": f"keepassxc-cli show ({which})", "argv": ["keepassxc-cli", "show", "-q", "-s", kdbx[which], name],
                             "stdin": KPX_PW + "\n", "expect": secret}
    get = [
        # Without the agent (which serves the keyring vault during these rounds): each opens and unlocks.
        {"label": "coffer get (keyring)", "argv": [coffer, "get", name], "env": dict(kr_env, COFFER_AGENT="off"), "expect": secret},
        {"label": "coffer get (passphrase)", "argv": [coffer, "--passphrase-file", pwfile, "get", name], "env": dict(pp_env, COFFER_AGENT="off"), "expect": secret},
        kpx_get("default"),
        kpx_get("t100"),
        {"label": "pass show", "argv": ["pass", "show", name], "env": pass_env, "expect": secret},
        # Debian's gopass reads the same store (PASSWORD_STORE_DIR).
        {"label": "gopass show", "argv": ["gopass", "show", name], "env": pass_env, "expect": secret},
        # Through a running agent (started below, on the keyring vault): no unlock.
        {"label": "coffer get (agent)", "argv": [coffer, "get", name], "env": dict(kr_env, COFFER_AGENT="required"),
         "expect": secret},
        # The form: one field's raw value, as scripts and helpers ask.
        {"label": "coffer get --field (agent)", "argv": [coffer, "get", name, "--field", probe["main"]],
         "env": dict(kr_env, COFFER_AGENT="required"), "expect": secret},
        # The floor: a process that opens the SQLite file and reads one row.
        {"label": "floor: sqlite3 reads one row", "argv": ["sqlite3", kr_vault, "SELECT 'floor' FROM credentials LIMIT 1"],
         "expect": "floor"},
    ]
    # Search goes through the agent too: the keyring and passphrase rows run without it.
    kr_off, pp_off = dict(kr_env, COFFER_AGENT="off"), dict(pp_env, COFFER_AGENT="off")
    kr_agent = dict(kr_env, COFFER_AGENT="required")
    search_name = [
        {"label": "coffer search (keyring)", "argv": [coffer, "search", query], "env": kr_off, "expect": query},
        {"label": "coffer search (passphrase)", "argv": [coffer, "--passphrase-file", pwfile, "search", query], "env": pp_off, "expect": "prod/team-17"},
        {"label": "coffer search (agent)", "argv": [coffer, "search", query], "env": kr_agent, "expect": query},
        {"label": "keepassxc-cli search (default)", "argv": ["keepassxc-cli", "search", "-q", kdbx["default"], f"group:{query}"], "stdin": KPX_PW + "\n", "expect": "prod/team-17"},
        {"label": "keepassxc-cli search (t100)", "argv": ["keepassxc-cli", "search", "-q", kdbx["t100"], f"group:{query}"], "stdin": KPX_PW + "\n", "expect": "prod/team-17"},
    ]
    search_tag = [
        {"label": "coffer search (keyring)", "argv": [coffer, "search", tag], "env": kr_off, "expect": tag},
        {"label": "coffer search (passphrase)", "argv": [coffer, "--passphrase-file", pwfile, "search", tag], "env": pp_off, "expect": tag},
        {"label": "coffer search (agent)", "argv": [coffer, "search", tag], "env": kr_agent, "expect": tag},
        {"label": "keepassxc-cli search (default)", "argv": ["keepassxc-cli", "search", "-q", kdbx["default"], f"tag:{tag}"], "stdin": KPX_PW + "\n", "expect": tag},
        {"label": "keepassxc-cli search (t100)", "argv": ["keepassxc-cli", "search", "-q", kdbx["t100"], f"tag:{tag}"], "stdin": KPX_PW + "\n", "expect": tag},
        {"label": "pass find", "argv": ["pass", "find", tag], "env": pass_env, "expect": tag},
    ]
    imp_kr, imp_pp = os.path.join(d, "imp-kr", "vault.sqlite"), os.path.join(d, "imp-pp", "vault.sqlite")
    imp_kpx = os.path.join(d, "imp.kdbx")
    imp_store = os.path.join(d, "imp-pass")
    imports = [
        {"label": "coffer import (keyring)", "argv": [coffer, "import", os.path.join(data, "coffer.json"), "--format", "json"],
         "env": {"COFFER_VAULT": imp_kr}, "before": [init_kr(imp_kr)], "expect": f": {size} new"},
        {"label": "coffer import (passphrase)", "argv": [coffer, "--passphrase-file", pwfile, "import", os.path.join(data, "coffer.json"), "--format", "json"],
         "env": {"COFFER_VAULT": imp_pp}, "before": [init_pp(imp_pp)], "expect": f": {size} new"},
        {"label": "keepassxc-cli import (default)", "argv": ["keepassxc-cli", "import", "-q", "-p", xml, imp_kpx],
         "stdin": f"{KPX_PW}\n{KPX_PW}\n", "before": [f"rm -f {imp_kpx}"]},
        {"label": "keepassxc-cli import (t100)", "argv": ["keepassxc-cli", "import", "-q", "-p", "-t", "100", xml, imp_kpx],
         "stdin": f"{KPX_PW}\n{KPX_PW}\n", "before": [f"rm -f {imp_kpx}"]},
        {"label": "pass: one bulk gpg run", "argv": [bulk, os.path.join(data, "pass"), imp_store, fpr], "before": [f"rm -rf {imp_store}"]},
    ]
    # `pass insert`, one process per credential, on a sample (it takes ~46 ms each).
    sample_dir = os.path.join(d, "insert-sample")
    os.makedirs(sample_dir, exist_ok=True)
    insert_script = os.path.join(d, "insert-sample.sh")
    names = []
    for root, _, files in os.walk(os.path.join(data, "pass")):
        for fname in sorted(files):
            names.append(os.path.relpath(os.path.join(root, fname), os.path.join(data, "pass")))
    names = sorted(names)[:PASS_INSERT_SAMPLE]
    with open(insert_script, "w") as f:
        f.write("#!/bin/sh\nset -e\n")
        for n in names:
            f.write(f"pass insert -m -f {n} < {os.path.join(data, 'pass', n)} >/dev/null\n")
    os.chmod(insert_script, 0o755)
    imports.append({"label": f"pass insert x{len(names)}", "argv": [insert_script],
                    "env": {"PASSWORD_STORE_DIR": imp_store + "-insert"},
                    "before": [f"rm -rf {imp_store}-insert && PASSWORD_STORE_DIR={imp_store}-insert pass init {fpr} >/dev/null"]})

    # COFFER_BEFORE=<an earlier coffer binary>: the same commands by it, on
    # the same vault and data, interleaved in the same rounds (before/after).
    before = os.environ.get("COFFER_BEFORE")
    if before:
        imp_before = os.path.join(d, "imp-before", "vault.sqlite")
        get.insert(1, {"label": "coffer-before get (keyring)", "argv": [before, "get", name], "env": kr_env, "expect": secret})
        search_name.insert(1, {"label": "coffer-before search (keyring)", "argv": [before, "search", query], "env": kr_env, "expect": query})
        search_tag.insert(1, {"label": "coffer-before search (keyring)", "argv": [before, "search", tag], "env": kr_env, "expect": tag})
        imports.insert(1, {"label": "coffer-before import (keyring)",
                           "argv": [before, "import", os.path.join(data, "coffer.json"), "--format", "json"],
                           "env": {"COFFER_VAULT": imp_before},
                           "before": [f"rm -rf {os.path.dirname(imp_before)} && COFFER_VAULT={imp_before} {before} init --no-passphrase"],
                           "expect": f": {size} new"})
    plan = {"rounds": RUNS, "groups": [
        {"name": "get", "commands": get},
        {"name": "search name", "commands": search_name},
        {"name": "search tag", "commands": search_tag},
    ]}
    plan_path = os.path.join(d, "plan.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    say(f"{size}: cold get and search, {RUNS} interleaved rounds (+1 warm-up)")
    res_path = os.path.join(d, "res.json")
    agent_env = dict(os.environ, **kr_env)
    sh([coffer, "agent", "start", "--idle-lock", "0"], env=agent_env, stdout=subprocess.DEVNULL)
    try:
        sh([sys.executable, os.path.join(HERE, "measure.py"), plan_path, res_path])
        # The agent's memory after serving every round (resident now, and its peak).
        st = json.loads(sh([coffer, "agent", "status", "--json"], env=agent_env, capture_output=True, text=True).stdout)
        with open(f"/proc/{st['pid']}/status") as f:
            mem = {k: v.strip() for k, v in (l.split(":", 1) for l in f) if k in ("VmRSS", "VmHWM")}
        mem.update(requests=st["requests"], size=size)
        with open(os.path.join(outdir, f"agent-memory-{size}.json"), "w") as f:
            json.dump(mem, f)
        say(f"{size}: agent after {st['requests']} requests: {mem}")
    finally:
        sh([coffer, "agent", "stop"], env=agent_env, stdout=subprocess.DEVNULL)
    with open(res_path) as f:
        results = json.load(f)
    plan = {"rounds": IMPORT_RUNS, "groups": [{"name": "import", "commands": imports}]}
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    say(f"{size}: bulk import, {IMPORT_RUNS} interleaved rounds (+1 warm-up)")
    sh([sys.executable, os.path.join(HERE, "measure.py"), plan_path, res_path])
    with open(res_path) as f:
        results.update(json.load(f))
    summary = {"size": size, "probe": probe, "kdf": kdfs, "versions": versions, "results": results,
               "pass_insert_sample": len(names), "runs": RUNS, "import_runs": IMPORT_RUNS}
    with open(os.path.join(outdir, f"cli-{size}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(outdir, f"cli-{size}.md"), "w") as f:
        f.write(markdown(summary))
    sys.stdout.write(markdown(summary))
    shutil.rmtree(d, ignore_errors=True)


def markdown(s):
    size = s["size"]
    out = [f"### {size:,} credentials\n",
           f"keepassxc-cli KDF: default = {s['kdf']['default']}; `-t 100` = {s['kdf']['t100']}. "
           f"Medians of {s['runs']} interleaved runs (imports: {s['import_runs']}); peak RSS = ru_maxrss.\n"]
    for group, title in [("get", f"Cold get of `{s['probe']['get']}`"),
                         ("search name", f"Search `{s['probe']['query']}` ({s['probe']['query_matches']} matches)"),
                         ("search tag", f"Search tag `{s['probe']['tag']}` ({s['probe']['tag_matches']} matches)"),
                         ("import", f"Bulk import of {size:,}")]:
        rows = s["results"].get(group, {})
        base = {k: v for k, v in rows.items() if k.startswith("coffer")}
        kr = next((v["median_ms"] for k, v in base.items() if "keyring" in k), None)
        out.append(f"\n{title}\n\n| command | median | min | peak RSS | × coffer (keyring) |\n| --- | ---: | ---: | ---: | ---: |")
        for label, v in rows.items():
            ratio = f"{v['median_ms'] / kr:.2f}×" if kr else ""
            med = v["median_ms"]
            shown = f"{med:.1f} ms" if med < 1000 else f"{med / 1000:.2f} s"
            extra = ""
            if label.startswith("pass insert"):
                per_k = med / s["pass_insert_sample"] * 1000 / 1000
                extra = f" (≈ {per_k:.1f} s per 1k)"
            if group == "import" and label.startswith("coffer"):
                extra = f" ({size / (med / 1000):,.0f}/s)"
            out.append(f"| {label}{extra} | {shown} | {v['min_ms']:.1f} ms | {v['median_rss_kib'] / 1024:.1f} MiB | {ratio} |")
    out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()

"""Runs commands interleaved and reports medians of wall time and peak memory.

    measure.py PLAN.json RESULTS.json

PLAN is {"rounds": N, "groups": [{"name": G, "commands": [CMD, ...]}, ...]}
with CMD = {"label": L, "argv": [...], "stdin": "text" | null,
            "env": {...} | null, "expect": "text" | null, "before": [...] | null}.
Every round runs each group's commands once, in an order that rotates from
round to round, so ours and the peer's share the machine's noise. `before`
(untimed) runs just before its command, for work that needs a fresh state
(a new empty vault before an import). The first round is a warm-up and is
not counted. A command's output must contain `expect` (checked on the
warm-up run), so a benchmark of a failing command cannot pass unnoticed.

Wall time is from spawn to reaping; peak memory is the largest resident set
of the process and of the children it waited for (`wait4`'s ru_maxrss), so a
daemon it talks to (gpg-agent, gnome-keyring) is not counted.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, workdir):
    env = dict(os.environ)
    env.update(cmd.get("env") or {})
    for before in cmd.get("before") or []:
        subprocess.run(before, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       shell=isinstance(before, str))
    stdin_path = os.path.join(workdir, "stdin")
    with open(stdin_path, "w") as f:
        f.write(cmd.get("stdin") or "")
    out_path, err_path = os.path.join(workdir, "out"), os.path.join(workdir, "err")
    fin = os.open(stdin_path, os.O_RDONLY)
    fout = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    ferr = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    actions = [(os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, fout, 1), (os.POSIX_SPAWN_DUP2, ferr, 2)]
    argv = cmd["argv"]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    for fd in (fin, fout, ferr):
        os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    with open(out_path, errors="replace") as f:
        out = f.read()
    if code != 0:
        with open(err_path, errors="replace") as f:
            err = f.read()
        sys.exit(f"{cmd['label']}: exit {code}\n{out[-2000:]}\n{err[-2000:]}")
    return wall, usage.ru_maxrss, out


def main():
    plan_path, results_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    rounds = plan["rounds"]
    samples = {}
    with tempfile.TemporaryDirectory() as workdir:
        for r in range(rounds + 1):
            for group in plan["groups"]:
                cmds = group["commands"]
                shift = r % len(cmds)
                for cmd in cmds[shift:] + cmds[:shift]:
                    wall, rss, out = run(cmd, workdir)
                    if r == 0:
                        expect = cmd.get("expect")
                        if expect is not None and expect not in out:
                            sys.exit(f"{cmd['label']}: output lacks {expect!r}:\n{out[:2000]}")
                        continue
                    s = samples.setdefault(group["name"], {}).setdefault(cmd["label"], {"wall": [], "rss": []})
                    s["wall"].append(wall)
                    s["rss"].append(rss)
            print(f"[measure] round {r}/{rounds} done", file=sys.stderr, flush=True)
    results = {}
    for group, by_label in samples.items():
        results[group] = {
            label: {
                "median_ms": statistics.median(s["wall"]) * 1000,
                "min_ms": min(s["wall"]) * 1000,
                "max_ms": max(s["wall"]) * 1000,
                "median_rss_kib": statistics.median(s["rss"]),
                "runs": len(s["wall"]),
            }
            for label, s in by_label.items()
        }
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

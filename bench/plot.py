"""Draws the desktop app's memory over its scripted use (bench/app.py's USE_SECS).

    /usr/bin/python3 bench/plot.py APP-SIZE.json OUT.png [NOTE]

Reads the `use` samples of one app.py result (PSS of each process every
30 s) and draws the app process, its WebKit web process, its network process
and their total against minutes of use. Prints each one's growth from the
first sample at or after 2 minutes (the warm-up the issue leaves out) to the
last, and the largest value in between. Needs matplotlib (bench/peers.sh
installs Debian's). NOTE, if given, is added to the title (the build, the mode).
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display: a file only
import matplotlib.pyplot as plt  # noqa: E402

# /proc/PID/comm names (cut at 15 characters) and what to call them.
PROCESSES = [
    ("coffer-desktop", "app process (coffer-desktop)"),
    ("WebKitWebProces", "web process (WebKitWebProcess)"),
    ("WebKitNetworkPr", "network process"),
]
WARM_UP_S = 120
MIB = 1048576


def growth(samples, pick):
    """(value at the first sample from WARM_UP_S on, last value, max from then on, growth %)."""
    after = [s for s in samples if s["t"] >= WARM_UP_S]
    if not after:
        return None
    start, end = pick(after[0]), pick(after[-1])
    peak = max(pick(s) for s in after)
    return start, end, peak, (end - start) / start * 100 if start else 0.0


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        result = json.load(f)
    use = result.get("use")
    if not use or len(use["samples"]) < 2:
        sys.exit(f"{sys.argv[1]}: no scripted use recorded (run app.py with USE_SECS > 0)")
    samples = use["samples"]
    minutes = [s["t"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(9, 5), dpi=100)
    lines = [(name, label, lambda s, n=name: s["by_process"].get(n, 0) / MIB) for name, label in PROCESSES]
    lines.append(("total", "all three (PSS)", lambda s: s["pss"] / MIB))
    report = []
    for name, label, pick in lines:
        ax.plot(minutes, [pick(s) for s in samples], label=label,
                linewidth=2.2 if name == "total" else 1.6)
        g = growth(samples, pick)
        if g:
            report.append(f"{label}: {g[0]:.1f} MiB at {WARM_UP_S // 60} min → {g[1]:.1f} MiB at the end "
                          f"({g[3]:+.1f} %), max {g[2]:.1f} MiB")
    ax.axvline(WARM_UP_S / 60, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("minutes of scripted use (searches, opens, reveals, edits, scrolls, screen switches)")
    ax.set_ylabel("PSS, MiB")
    ax.set_ylim(bottom=0)
    note = f"\n{sys.argv[3]}" if len(sys.argv) == 4 else ""
    ax.set_title(f"Coffer, {result['size']:,} credentials: memory over {samples[-1]['t'] // 60} min, "
                 f"{use['actions']:,} actions{note}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(sys.argv[2])
    print("\n".join(report))


if __name__ == "__main__":
    main()

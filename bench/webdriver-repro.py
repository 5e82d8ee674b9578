"""A reduced reproducer for a WebDriver hang with WebKit's compositing off.

    webdriver-repro.py FLOOR [ROUNDS]

With WEBKIT_DISABLE_COMPOSITING_MODE=1, Coffer's end-to-end test stopped at
one WebDriver command that never answered, in the agent's approval window
(a second web view). This drives the floor app (bench/floor, built by
bench/app.sh) the same way, with nothing of Coffer in it: the floor opens a
second window a moment after start (FLOOR_SECOND_WINDOW), and the script
switches to it, finds an element, reads its text and takes a screenshot,
then does the same in the first window. Each command gets COMMAND_TIMEOUT
seconds; the one that does not answer is named. It runs every round twice,
with compositing as WebKit chooses it and with it off.

Needs what bench/app.sh provides: an X display and tauri-driver
($TAURI_DRIVER).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app as bench  # noqa: E402  (the bench's WebDriver client)

COMMAND_TIMEOUT = int(os.environ.get("COMMAND_TIMEOUT", "30"))


class Stuck(Exception):
    pass


def step(name, fn):
    started = time.monotonic()
    try:
        out = fn()
    except OSError as e:  # a timeout of urllib is an OSError
        raise Stuck(f"{name}: no answer within {COMMAND_TIMEOUT} s ({e!r})") from None
    print(f"    {name}: {(time.monotonic() - started) * 1000:.0f} ms", flush=True)
    return out


def drive(floor, log):
    s = bench.Session(floor, "unused", log)
    base = f"{s.base}/session/{s.id}"

    def cmd(method, path, body=None):
        return bench.call(base, method, path, body, timeout=COMMAND_TIMEOUT)

    def find(css):
        el = cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(el.values()))

    try:
        first = step("first window's handle", lambda: cmd("GET", "/window"))
        deadline = time.time() + 20
        while len(handles := cmd("GET", "/window/handles")) < 2:
            if time.time() > deadline:
                raise Stuck("the second window did not open")
            time.sleep(0.1)
        second = next(h for h in handles if h != first)
        step("switch to the second window", lambda: cmd("POST", "/window", {"handle": second}))
        el = step("find #approval-command", lambda: find("#approval-command"))
        text = step("its text", lambda: cmd("GET", f"/element/{el}/text"))
        assert "coffer get" in text, text
        step("the second window's screenshot", lambda: cmd("GET", "/screenshot"))
        step("find #approval-once", lambda: find("#approval-once"))
        step("switch back to the first window", lambda: cmd("POST", "/window", {"handle": first}))
        el = step("find #result-count", lambda: find("#result-count"))
        step("its text", lambda: cmd("GET", f"/element/{el}/text"))
        step("the first window's screenshot", lambda: cmd("GET", "/screenshot"))
        step("a script after it", lambda: cmd("POST", "/execute/sync", {"script": "return 1;", "args": []}))
        return None
    except Stuck as e:
        return str(e)
    finally:
        for pid in bench.app_pids(floor):
            os.kill(pid, 9)
        s.driver.terminate()
        s.driver.wait(10)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    floor = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    log = open(os.environ.get("REPRO_LOG", "/dev/null"), "ab")
    os.environ["FLOOR_SECOND_WINDOW"] = "1500"
    summary = {}
    for mode, value in (("composited (as WebKit chooses)", None), ("compositing off", "1")):
        if value is None:
            os.environ.pop("WEBKIT_DISABLE_COMPOSITING_MODE", None)
        else:
            os.environ["WEBKIT_DISABLE_COMPOSITING_MODE"] = value
        stuck = []
        for n in range(rounds):
            print(f"{mode}, round {n + 1}:", flush=True)
            result = drive(floor, log)
            print(f"    -> {result or 'every command answered'}", flush=True)
            if result:
                stuck.append(result)
        summary[mode] = stuck
    print()
    for mode, stuck in summary.items():
        print(f"{mode}: {rounds - len(stuck)} of {rounds} rounds answered every command"
              + (f"; stuck at: {sorted(set(stuck))}" if stuck else ""))


if __name__ == "__main__":
    main()

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

import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app as bench  # noqa: E402  (the bench's WebDriver client)

COMMAND_TIMEOUT = int(os.environ.get("COMMAND_TIMEOUT", "30"))
# Before each screenshot, REPAINT=once changes the page from script once;
# REPAINT=frames changes it at every frame for 2 s (the screenshot is taken
# meanwhile).
REPAINT = os.environ.get("REPAINT", "")


class Stuck(Exception):
    pass


def step(name, fn):
    started = time.monotonic()
    try:
        out = fn()
    except TimeoutError:
        raise Stuck(f"{name}: no answer within {COMMAND_TIMEOUT} s") from None
    except (OSError, http.client.HTTPException) as e:
        # (WebKitWebDriver was seen to drop a connection now and then, in
        # both modes: counted apart from a command that never answers.)
        raise Stuck(f"{name}: the connection was cut ({type(e).__name__})") from None
    print(f"    {name}: {(time.monotonic() - started) * 1000:.0f} ms", flush=True)
    return out


def drive(floor, log):
    s = bench.Session(floor, "unused", log)
    base = f"{s.base}/session/{s.id}"

    def cmd(method, path, body=None):
        return bench.call(base, method, path, body, timeout=COMMAND_TIMEOUT)

    def screenshot(name):
        if REPAINT == "once":
            step("a script that changes the page", lambda: cmd("POST", "/execute/sync", {
                "script": "document.body.style.outline = document.body.style.outline ? '' : '1px solid transparent';",
                "args": []}))
        elif REPAINT == "frames":
            step("a script that changes the page every frame for 2 s", lambda: cmd("POST", "/execute/sync", {
                "script": "const end = performance.now() + 2000; const b = document.body;"
                          "(function tick() { b.style.outline = b.style.outline ? '' : '1px solid transparent';"
                          " if (performance.now() < end) requestAnimationFrame(tick); })();",
                "args": []}))
        step(name, lambda: cmd("GET", "/screenshot"))

    def find(css):
        el = cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(el.values()))

    try:
        first = step("first window's handle", lambda: cmd("GET", "/window"))
        screenshot("the first window's screenshot, alone")
        deadline = time.time() + 20
        while len(handles := step("window handles", lambda: cmd("GET", "/window/handles"))) < 2:
            if time.time() > deadline:
                raise Stuck("the second window did not open")
            time.sleep(0.1)
        second = next(h for h in handles if h != first)
        step("switch to the second window", lambda: cmd("POST", "/window", {"handle": second}))
        el = step("find #approval-command", lambda: find("#approval-command"))
        text = step("its text", lambda: cmd("GET", f"/element/{el}/text"))
        assert "coffer get" in text, text
        screenshot("the second window's screenshot")
        step("find #approval-once", lambda: find("#approval-once"))
        step("switch back to the first window", lambda: cmd("POST", "/window", {"handle": first}))
        el = step("find #result-count", lambda: find("#result-count"))
        step("its text", lambda: cmd("GET", f"/element/{el}/text"))
        screenshot("the first window's screenshot")
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

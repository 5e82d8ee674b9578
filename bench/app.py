"""The desktop app's benchmarks (issues 6, 8 and 20), run by bench/app.sh.

    app.py APP COFFER FLOOR OUTDIR SIZE [SIZE ...]

APP is the release `coffer-desktop`, COFFER the release CLI, FLOOR the
release bench/floor app (the smallest Tauri app, the floor every figure is a
ratio to). It expects tauri-driver ($TAURI_DRIVER, started once per app
process), an X display, an unlocked Secret Service (bench/app.sh provides all
three), keepassxc, keepassxc-cli and xdotool. For each SIZE it makes a vault
of SIZE synthetic credentials sealed to the keyring (bench/gen.py, the CLI's
import) and a KeePassXC database of the same data, and measures, in turns so
that the machine's drift falls on all three alike:

  cold start   a new app process to an interactive, unlocked list (keyring
               path): from the process's start time (/proc, 10 ms ticks)
               to the time the UI stamps on the list (`data-shown-at`,
               performance.now()) once the first page of rows is in the DOM.
               The floor stamps its first animation frame; KeePassXC is
               timed to its unlocked window being mapped (xdotool);
  keystroke    a query typed one character at a time into the search box:
               from the input event to the frame after the filtered rows
               are in the DOM (the stamp again, then requestAnimationFrame).
               The floor changes one text node per keystroke: its figure is
               the frame time of a trivial DOM change;
  memory       PSS and RSS of the app and its WebKit processes together
               (/proc/PID/smaps_rollup), 2 s after unlock (the floor: after
               its first frame; KeePassXC: after its window), and for the
               first size also over USE_SECS (default 600) of Coffer's
               scripted use: searches, opening credentials, revealing a
               field, editing a credential's notes (every other round),
               scrolling, switching screens.

Results: OUTDIR/app-SIZE.json and app.md. STARTS (default 15) cold starts
of each app and TYPED (default 10) typings of each query per size.
"""

import atexit
import glob
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TAURI_DRIVER = os.environ.get("TAURI_DRIVER", "tauri-driver")
STARTS = int(os.environ.get("STARTS", "15"))
TYPED = int(os.environ.get("TYPED", "10"))
USE_SECS = int(os.environ.get("USE_SECS", "600"))
QUERIES = ["prod/team-17", "billing", "team-03 orders"]
SHOWN_AT = "data-shown-at"
GAP = 0.01  # s between WebDriver commands (see Session.command)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(*args):
    print("[app]", *args, file=sys.stderr, flush=True)


# --- a minimal W3C WebDriver client (no dependency beyond the stdlib) -------

def call(base, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:300]!r}") from None


def free_port():
    """A free loopback port whose successor is free too (tauri-driver's native port)."""
    while True:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


class Session:
    """One app process, under a tauri-driver (and WebKitWebDriver) of its own.

    A driver per app: one WebKitWebDriver, asked to end a session, was seen
    to SIGKILL the app of the next session started a moment later."""

    def __init__(self, app, vault, log):
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.driver = subprocess.Popen([TAURI_DRIVER, "--port", str(port), "--native-port", str(port + 1)],
                                       stdout=log, stderr=log)
        atexit.register(self.driver.kill)  # (no driver outlives a failed run)
        # Both tauri-driver and the WebKitWebDriver behind it must answer
        # (a session asked for before the latter listens is cut off).
        end = time.time() + 10
        for base in (self.base, f"http://127.0.0.1:{port + 1}"):
            while True:
                try:
                    call(base, "GET", "/status", timeout=1)
                    break
                except (OSError, RuntimeError):
                    if time.time() > end:
                        self.driver.kill()
                        raise RuntimeError(f"{base} did not answer within 10 s") from None
                    time.sleep(0.02)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app, "args": ["--vault", vault]},
        }}}
        self.last = 0.0
        self.asked = time.time()
        self.id = call(self.base, "POST", "/session", caps, timeout=120)["sessionId"]

    def js(self, script, *args):
        return self.command("execute/sync", script, args)

    def js_async(self, script, *args):
        return self.command("execute/async", script, args)

    def command(self, kind, script, args):
        # A pause between commands: scripts sent back to back (no gap) made
        # the app's web process exit within a few hundred to a thousand
        # calls; with a 5 ms gap, 7,570 calls in a minute went through.
        wait = self.last + GAP - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return call(self.base, "POST", f"/session/{self.id}/{kind}",
                        {"script": script, "args": list(args)}, timeout=120)
        finally:
            self.last = time.monotonic()

    def close(self, app):
        """Ends the session, waits for the app to exit, then stops the driver."""
        try:
            call(self.base, "DELETE", f"/session/{self.id}")
        except (OSError, RuntimeError):
            pass
        try:
            try:
                wait_gone(app, timeout=10)
            except RuntimeError:
                # (Seen once at 100k: the driver had ended the session but
                # left the app running.)
                for pid in app_pids(app):
                    os.kill(pid, signal.SIGKILL)
                wait_gone(app)
        finally:
            self.driver.terminate()
            self.driver.wait(10)


# --- processes ---------------------------------------------------------------

def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    # The command name may hold spaces: fields start after its closing ')'.
    return raw[raw.rindex(")") + 2:].split()


def app_pids(app):
    real = os.path.realpath(app)
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == real:
                out.append(int(pid))
        except OSError:
            pass
    return out


def start_epoch(pid):
    """When `pid` started, on the wall clock (10 ms ticks).

    Field 22 (starttime) counts clock ticks since boot; /proc/uptime, read
    next to the wall clock, places it (btime has only whole seconds)."""
    started = int(stat_fields(pid)[19]) / CLK_TCK
    with open("/proc/uptime") as f:
        now, uptime = time.time(), float(f.read().split()[0])
    return now - (uptime - started)


def descendants(pid):
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            children.setdefault(int(stat_fields(p)[1]), []).append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory(pid):
    """PSS and RSS (bytes) of `pid` and every process under it, by name."""
    total = {"pss": 0, "rss": 0, "pss_anon": 0, "pss_file": 0}
    parts = {}
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                fields = {w[0][:-1]: int(w[1]) for w in (line.split() for line in f)
                          if len(w) >= 2 and w[0].endswith(":")}
            with open(f"/proc/{p}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        pss = fields["Pss"] * 1024
        rss = fields["Rss"] * 1024
        total["pss"] += pss
        total["rss"] += rss
        total["pss_anon"] += fields.get("Pss_Anon", 0) * 1024
        total["pss_file"] += fields.get("Pss_File", 0) * 1024
        parts[name] = parts.get(name, 0) + pss
    total["by_process"] = parts
    return total


# --- a warm page cache before every start --------------------------------------
#
# This machine's kernel pages out memory left untouched for a few seconds
# (DAMON's `pageout` scheme on physical addresses), the page cache included.
# A start that comes after a long pause (KeePassXC's 9 s at 100k) then reads
# WebKit's libraries from disk again: about 500 ms more before the page's time
# origin, in whichever program it happens to. Before every timed start, each
# program's own files (every file its processes mapped in the warm-up round,
# its data file) are read through once, so every start finds the warm page
# cache this bench says it measures.

MAPPED = {}


def mapped_files(pid):
    """Every regular file mapped by `pid` and the processes under it."""
    out = set()
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/maps") as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and parts[5].startswith("/") and not parts[5].startswith(("/dev/", "/memfd")):
                        path = parts[5].strip()
                        if not path.endswith("(deleted)"):
                            out.add(path)
        except OSError:
            continue
    return out


def remember_mapped(key, pid):
    MAPPED.setdefault(key, set()).update(mapped_files(pid))


def warm(key, *data):
    """Reads `key`'s mapped files and the `data` files (and their siblings
    named `<file>.*`) through the page cache."""
    paths = set(MAPPED.get(key, ()))
    for d in data:
        paths.update(glob.glob(glob.escape(d) + "*"))
    for path in sorted(paths):
        try:
            with open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
        except OSError:
            pass


def wait_gone(app, timeout=20):
    end = time.time() + timeout
    while app_pids(app) and time.time() < end:
        time.sleep(0.05)
    if app_pids(app):
        raise RuntimeError("the app did not exit after its session ended")


# --- the measurements ----------------------------------------------------------

LIST_SHOWN_EPOCH = """
const list = document.getElementById('credential-list');
const at = list && list.getAttribute(arguments[0]);
return at ? performance.timeOrigin + Number(at) : null;
"""

# Types arguments[1] into the search box (value set, input event), then waits
# for a list answer stamped after the event (`dom`: the rows are in the DOM)
# and the next frame (`ms`: rendering starts; it paints right after).
KEYSTROKE = """
const [attr, value, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const list = document.getElementById('credential-list');
const box = document.getElementById('search');
box.focus();
const t0 = performance.now();
box.value = value;
box.dispatchEvent(new Event('input', { bubbles: true }));
const deadline = t0 + 30000;
function poll() {
  const at = list.getAttribute(attr);
  if (at !== null && Number(at) >= t0) {
    requestAnimationFrame(() => done({ ms: performance.now() - t0, dom: Number(at) - t0,
      count: document.getElementById('result-count').textContent.trim() }));
  } else if (performance.now() > deadline) {
    done({ ms: null });
  } else {
    setTimeout(poll, 0);
  }
}
poll();
"""


def make_vault(coffer, size, work):
    data = os.path.join(work, f"data-{size}")
    if not os.path.exists(os.path.join(data, "coffer.json")):
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(size), data], check=True,
                       stdout=subprocess.DEVNULL)
    vault = os.path.join(work, f"vault-{size}", "vault.coffer")
    subprocess.run(["rm", "-rf", os.path.dirname(vault)], check=True)
    env = dict(os.environ, COFFER_VAULT=vault)
    subprocess.run([coffer, "init", "--no-passphrase"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    subprocess.run([coffer, "import", os.path.join(data, "coffer.json"), "--format", "json"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return vault


LAUNCH_TRIES = 3


def open_app(app, vault, log, timeout=60):
    """A new app process; returns (session, pid, ms from process start to list shown, ms from request).

    A launch whose WebDriver connection is cut before the list shows is
    retried (up to LAUNCH_TRIES in all) and counted in RELAUNCHES."""
    for attempt in range(1, LAUNCH_TRIES + 1):
        wait_gone(app)
        warm(app, vault)
        s = Session(app, vault, log)
        try:
            shown = None
            end = time.time() + timeout
            while shown is None and time.time() < end:
                shown = s.js(LIST_SHOWN_EPOCH, SHOWN_AT)
                if shown is None:
                    time.sleep(0.02)
        except (OSError, http.client.HTTPException) as cut:
            s.close(app)
            RELAUNCHES.append(f"{time.strftime('%H:%M:%S')}: {cut!r}")
            say(f"launch {attempt}: the WebDriver connection was cut ({cut!r}); launching again")
            if attempt == LAUNCH_TRIES:
                raise
            continue
        if shown is None:
            s.close(app)
            raise RuntimeError("the list was not shown within a minute")
        pids = app_pids(app)
        if len(pids) != 1:
            s.close(app)
            raise RuntimeError(f"expected one app process, found {pids}")
        pid = pids[0]
        remember_mapped(app, pid)
        started = start_epoch(pid)
        s.page_ms = (s.js("return performance.timeOrigin;") / 1000 - started) * 1000
        shown_s = shown / 1000
        return s, pid, (shown_s - started) * 1000, (shown_s - s.asked) * 1000
    raise AssertionError("unreachable")


RELAUNCHES = []


def keystrokes(s):
    out = {}
    for q in QUERIES:
        samples, dom = [], []
        for _ in range(TYPED):
            for n in range(1, len(q) + 1):
                r = s.js_async(KEYSTROKE, SHOWN_AT, q[:n])
                if r["ms"] is None:
                    raise RuntimeError(f"no list answer for {q[:n]!r}")
                samples.append(r["ms"])
                dom.append(r["dom"])
            last = r["count"]
            r = s.js_async(KEYSTROKE, SHOWN_AT, "")
            samples.append(r["ms"])
            dom.append(r["dom"])
        out[q] = {"samples": samples, "dom": dom, "final_count": last}
    return out


CLICK_ROW = """
const rows = document.querySelectorAll('#credential-list [role=option]');
if (!rows.length) return null;
const row = rows[Math.floor(Math.random() * Math.min(rows.length, 8))];
row.click();
return row.dataset.name;
"""
REVEAL = """
const b = [...document.querySelectorAll('button[aria-label^="Reveal "]')][0];
if (b) b.click();
return !!b;
"""
SCROLL = """
const v = document.getElementById('credential-list');
v.scrollTop = Math.floor(Math.random() * v.scrollHeight);
v.dispatchEvent(new Event('scroll'));
return v.scrollTop;
"""
# Script helper: resolves with what `find` returns once it is truthy, or null after 5 s.
WAIT_FOR = """
const wait = async (find) => {
  for (let end = performance.now() + 5000; performance.now() < end; ) {
    const found = find();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
};
"""
EDIT = """
const done = arguments[arguments.length - 1];
""" + WAIT_FOR + """
const enabled = (id) => () => {
  const b = document.getElementById(id);
  return b && !b.disabled ? b : null;
};
(async () => {
  const edit = await wait(enabled('edit'));
  if (!edit) return done(false);
  edit.click();
  const notes = await wait(() => document.getElementById('form-notes'));
  if (!notes) return done(false);
  notes.value = 'Edited by the bench at ' + Date.now();
  notes.dispatchEvent(new Event('input', { bubbles: true }));
  const save = await wait(enabled('form-save'));
  if (!save) return done(false);
  save.click();
  done(!!(await wait(() => !document.getElementById('form') && document.getElementById('detail'))));
})();
"""
CANCEL_EDIT = """
const b = document.getElementById('form-cancel');
if (b) b.click();
const discard = [...document.querySelectorAll('button')].find((x) => x.textContent.trim() === 'Discard changes');
if (discard) discard.click();
return !!b;
"""
SCREEN = """
const n = arguments[0];
window.dispatchEvent(new KeyboardEvent('keydown', { key: String(n), code: 'Digit' + n, altKey: true, bubbles: true }));
return true;
"""


def scripted_use(s, pid, secs):
    """Searches, opens, reveals, edits, scrolls and switches screens for `secs`; PSS every 30 s."""
    rng = random.Random(17)
    words = ["prod", "team-1", "billing", "orders", "aws", "db/staging", "etl", "mailer", "cc-40", "api"]
    samples = [{"t": 0, **memory(pid)}]
    start = time.time()
    next_sample = 30
    actions = edits = failed_edits = 0
    while time.time() - start < secs:
        s.js(SCREEN, 1)
        s.js_async(KEYSTROKE, SHOWN_AT, rng.choice(words))
        s.js(CLICK_ROW)
        time.sleep(0.2)
        s.js(REVEAL)
        # Every other round, an edit of the open credential's notes (saved).
        if rng.random() < 0.5:
            edits += 1
            if not s.js_async(EDIT):
                # (A form left open would turn every later round into
                # something else: counted, and closed.)
                failed_edits += 1
                s.js(CANCEL_EDIT)
            actions += 1
        s.js(SCROLL)
        time.sleep(0.2)
        s.js_async(KEYSTROKE, SHOWN_AT, "")
        s.js(SCROLL)
        s.js(SCREEN, rng.choice([2, 3, 4, 5]))
        time.sleep(0.3)
        actions += 9
        if time.time() - start >= next_sample:
            samples.append({"t": round(time.time() - start), **memory(pid)})
            next_sample += 30
    s.js(SCREEN, 1)
    return {"actions": actions, "edits": edits, "failed_edits": failed_edits, "samples": samples}


def median(xs):
    return statistics.median(xs) if xs else None


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] if xs else None


def mib(b):
    return f"{b / 1048576:.1f} MiB"


KPX_PW = "bench keepassxc password"


def make_kdbx(size, work):
    """A KeePassXC database of the same generated data (the bench's data dir),
    at keepassxc-cli's lowest KDF setting (`-t 100`: 100 ms to derive), so
    that its unlock is not dominated by the KDF; Coffer's keyring path has none."""
    db = os.path.join(work, f"kpx-{size}.kdbx")
    if not os.path.exists(db):
        xml = os.path.join(work, f"data-{size}", "keepass.xml")
        subprocess.run(["keepassxc-cli", "import", "-q", "-p", "-t", "100", xml, db], check=True,
                       input=f"{KPX_PW}\n{KPX_PW}\n", text=True, stdout=subprocess.DEVNULL)
    return db


def kpx_window_shown(title):
    return subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def kpx_open(db, timeout=120):
    """KeePassXC's GUI on `db` (password on stdin); returns (process, ms from
    process start to its unlocked window: titled "bench - KeePassXC", where a
    locked one says "[Locked]")."""
    warm("keepassxc", db)
    p = subprocess.Popen(["keepassxc", "--pw-stdin", db], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.stdin.write(f"{KPX_PW}\n".encode())
    p.stdin.close()
    end = time.time() + timeout
    while not kpx_window_shown("^bench - KeePassXC$"):
        if time.time() > end or p.poll() is not None:
            p.kill()
            raise RuntimeError("KeePassXC's unlocked window did not show")
        time.sleep(0.005)
    shown = time.time()
    ms = (shown - start_epoch(p.pid)) * 1000
    remember_mapped("keepassxc", p.pid)
    return p, ms


def kpx_close(p):
    p.terminate()
    p.wait(20)


def run_size(app, coffer, floor, outdir, work, size, with_use):
    say(f"{size}: making a keyring vault")
    vault = make_vault(coffer, size, work)
    kdbx = make_kdbx(size, work)
    say(f"{size}: {STARTS} cold starts (+1 warm-up) each of Coffer, the floor and KeePassXC, in turns")
    log = open(os.path.join(outdir, "tauri-driver.log"), "ab")
    starts, floor_starts, kpx_starts = [], [], []
    for i in range(STARTS + 1):
        # (the first round warms the page cache)
        for into, which in ((starts, app), (floor_starts, floor)):
            s, _, from_start, from_request = open_app(which, vault, log)
            s.close(which)
            if i > 0:
                into.append({"from_process_start_ms": from_start, "from_session_request_ms": from_request,
                             "page_origin_ms": s.page_ms})
        p, ms = kpx_open(kdbx)
        kpx_close(p)
        if i > 0:
            kpx_starts.append(ms)
    say(f"{size}: the floor's memory and frame time")
    s, pid, _, _ = open_app(floor, vault, log)
    try:
        time.sleep(2)
        floor_memory = memory(pid)
        floor_keys = keystrokes(s)
    finally:
        s.close(floor)
    say(f"{size}: KeePassXC's memory")
    p, _ = kpx_open(kdbx)
    try:
        time.sleep(2)
        kpx_memory = memory(p.pid)
    finally:
        kpx_close(p)
    s, pid, _, _ = open_app(app, vault, log)
    try:
        time.sleep(2)
        after_unlock = memory(pid)
        say(f"{size}: keystroke-to-list, {TYPED} typings of {len(QUERIES)} queries")
        keys = keystrokes(s)
        time.sleep(1)
        after_typing = memory(pid)
        use = None
        if with_use and USE_SECS > 0:
            say(f"{size}: {USE_SECS} s of scripted use")
            use = scripted_use(s, pid, USE_SECS)
    finally:
        s.close(app)
    result = {"size": size, "cold_starts": starts, "memory_after_unlock": after_unlock,
              "memory_after_typing": after_typing, "keystrokes": keys, "use": use,
              "floor": {"cold_starts": floor_starts, "memory": floor_memory, "keystrokes": floor_keys},
              "keepassxc": {"cold_starts_ms": kpx_starts, "memory": kpx_memory}}
    with open(os.path.join(outdir, f"app-{size}.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def markdown(results, sizes_info):
    lines = ["### The desktop app", "",
             f"Release build. Cold starts: median of {STARTS} (after one warm-up), a new process each, "
             "warm page cache (each program's mapped files and data read through before each start). Keystroke-to-list: every prefix of each query typed "
             f"{TYPED} times, plus clearing the box.", ""]
    lines += ["| credentials | cold start (process start → list shown) | min | (from WebDriver request) "
              "| keystroke → rows in DOM, median | p95 | keystroke → next frame, median | p95 "
              "| PSS after unlock | RSS after unlock |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        cs = [x["from_process_start_ms"] for x in r["cold_starts"]]
        rq = [x["from_session_request_ms"] for x in r["cold_starts"]]
        ks = [ms for q in r["keystrokes"].values() for ms in q["samples"]]
        kd = [ms for q in r["keystrokes"].values() for ms in q["dom"]]
        m = r["memory_after_unlock"]
        lines.append(f"| {r['size']:,} | {median(cs):.0f} ms | {min(cs):.0f} ms | {median(rq):.0f} ms "
                     f"| {median(kd):.0f} ms | {p95(kd):.0f} ms | {median(ks):.0f} ms | {p95(ks):.0f} ms "
                     f"| {mib(m['pss'])} | {mib(m['rss'])} |")
    lines.append("")
    lines += ["Beside the floor (the smallest Tauri app, same Tauri/wry/WebKitGTK and profile) and KeePassXC's GUI "
              "(`--pw-stdin`, the same data, lowest KDF), measured in turns in the same run:", "",
              "| credentials | measure | Coffer | floor | Coffer ÷ floor | Coffer − floor | KeePassXC | Coffer ÷ KeePassXC |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        cs = median([x["from_process_start_ms"] for x in r["cold_starts"]])
        fs = median([x["from_process_start_ms"] for x in r["floor"]["cold_starts"]])
        ks = median(r["keepassxc"]["cold_starts_ms"])
        lines.append(f"| {r['size']:,} | cold start → list (floor: first frame; KeePassXC: unlocked window) "
                     f"| {cs:.0f} ms | {fs:.0f} ms | {cs / fs:.2f}× | {cs - fs:.0f} ms | {ks:.0f} ms | {cs / ks:.2f}× |")
        cm, fm, km = (r["memory_after_unlock"]["pss"], r["floor"]["memory"]["pss"], r["keepassxc"]["memory"]["pss"])
        lines.append(f"| {r['size']:,} | PSS, all processes | {mib(cm)} | {mib(fm)} | {cm / fm:.2f}× "
                     f"| {mib(cm - fm)} | {mib(km)} | {cm / km:.2f}× |")
        cf = median([ms for q in r["keystrokes"].values() for ms in q["samples"]])
        ff = median([ms for q in r["floor"]["keystrokes"].values() for ms in q["samples"]])
        lines.append(f"| {r['size']:,} | keystroke → next frame (floor: one text node changed) "
                     f"| {cf:.0f} ms | {ff:.0f} ms | {cf / ff:.2f}× | {cf - ff:.0f} ms | | |")
    lines.append("")
    for r in results:
        fm = r["floor"]["memory"]
        lines.append(f"The floor's PSS by process, {r['size']:,} run: "
                     + ", ".join(f"{k} {mib(v)}" for k, v in sorted(fm["by_process"].items()))
                     + f" ({mib(fm['pss_file'])} mapped files, {mib(fm['pss_anon'])} anonymous).")
        lines.append("")
    for r in results:
        po = [x["page_origin_ms"] for x in r["cold_starts"]]
        cs = [x["from_process_start_ms"] for x in r["cold_starts"]]
        lines.append(f"Cold start, {r['size']:,} credentials: the page's time origin (the WebView begins loading "
                     f"Coffer's UI) comes {median(po):.0f} ms after the process starts (median); the "
                     f"remaining {median(cs) - median(po):.0f} ms are the UI loading, the keyring unlock and the "
                     "first page of the list.")
        lines.append("")
    for r in results:
        lines.append(f"Keystroke-to-list by query, {r['size']:,} credentials:")
        lines.append("")
        lines.append("| query | → DOM median | p95 | → next frame median | p95 | matches |")
        lines.append("| --- | ---: | ---: | ---: | ---: | --- |")
        for q, v in r["keystrokes"].items():
            lines.append(f"| `{q}` | {median(v['dom']):.0f} ms | {p95(v['dom']):.0f} ms "
                         f"| {median(v['samples']):.0f} ms | {p95(v['samples']):.0f} ms | {v['final_count']} |")
        lines.append("")
        m = r["memory_after_unlock"]
        lines.append("PSS after unlock by process: " + ", ".join(f"{k} {mib(v)}" for k, v in sorted(m["by_process"].items()))
                     + f"; of the total, {mib(m['pss_file'])} is mapped files (WebKit, GTK and the other "
                     f"libraries, the binary) and {mib(m['pss_anon'])} anonymous memory.")
        lines.append("")
    for r in results:
        if r["use"]:
            ss = r["use"]["samples"]
            lines.append(f"Scripted use, {r['size']:,} credentials, {ss[-1]['t']} s, {r['use']['actions']} actions "
                         f"({r['use']['edits']} edits, {r['use']['failed_edits']} of them failed): "
                         f"PSS {mib(ss[0]['pss'])} at the start, {mib(ss[-1]['pss'])} at the end, "
                         f"max {mib(max(x['pss'] for x in ss))}; samples every 30 s: "
                         + ", ".join(f"{x['pss'] / 1048576:.0f}" for x in ss) + " MiB. By process, start → end: "
                         + ", ".join(f"{k} {mib(ss[0]['by_process'].get(k, 0))} → {mib(v)}"
                                     for k, v in sorted(ss[-1]["by_process"].items())) + ".")
            lines.append("")
    lines.append(f"Launches retried after the WebDriver connection was cut before the list showed: {len(RELAUNCHES)}.")
    lines.append("")
    lines += sizes_info
    return "\n".join(lines) + "\n"


def sizes(app):
    out = [f"Release binary: {mib(os.path.getsize(app))} ({os.path.getsize(app):,} bytes)."]
    bundle = os.path.join(os.path.dirname(app), "bundle", "deb")
    if os.path.isdir(bundle):
        for name in sorted(os.listdir(bundle)):
            if name.endswith(".deb"):
                path = os.path.join(bundle, name)
                installed = subprocess.run(["dpkg-deb", "-f", path, "Installed-Size"], capture_output=True,
                                           text=True).stdout.strip()
                out.append(f".deb bundle `{name}`: {mib(os.path.getsize(path))} "
                           f"({os.path.getsize(path):,} bytes), installed size {installed} KiB.")
    return out


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    app, coffer, floor, outdir = (os.path.abspath(a) for a in sys.argv[1:5])
    sizes_wanted = [int(x) for x in sys.argv[5:]]
    work = os.path.join(outdir, "work")
    os.makedirs(work, exist_ok=True)
    results = [run_size(app, coffer, floor, outdir, work, n, with_use=(i == 0)) for i, n in enumerate(sizes_wanted)]
    md = markdown(results, sizes(app))
    with open(os.path.join(outdir, "app.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()

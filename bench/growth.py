"""What each kind of action costs the app's memory, run by `bench/app.sh --growth`.

    growth.py APP COFFER OUTDIR [PHASE ...]

One app process on a vault of SIZE (default 10000) synthetic credentials,
then, phase by phase, BLOCKS (default 2) blocks of BLOCK (default 300) actions
of one kind, with the PSS of the app process and of its web process after
each block and the number of elements in the page. An hour of the mixed use
(bench/app.py) says that memory grows; this says which action makes it grow.

Phases (default: all but `noop`, in this order):

  noop     a WebDriver script that does nothing (the harness's own cost)
  ipc      the shell's commands called straight from the page, nothing shown
           (status, a page of the list, a credential)
  search   a query typed and cleared
  open     a row opened
  reveal   a row opened and a field revealed
  form     the edit form opened and cancelled
  edit     the edit form opened, the notes changed, saved
  screens  a switch to another screen and back
  scroll   a jump to a random place in the list

Results: OUTDIR/growth.json and a table on stdout.
"""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app as bench  # noqa: E402  (the launch, the scripts and the memory reading)

SIZE = int(os.environ.get("SIZE", "10000"))
BLOCK = int(os.environ.get("BLOCK", "300"))
BLOCKS = int(os.environ.get("BLOCKS", "2"))
ALL = ["ipc", "search", "open", "reveal", "form", "edit", "screens", "scroll"]
WORDS = ["prod", "team-1", "billing", "orders", "aws", "db/staging", "etl", "mailer", "cc-40", "api"]

ELEMENTS = "return document.getElementsByTagName('*').length;"
INVOKE = """
const [cmd, args, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
window.__TAURI_INTERNALS__.invoke(cmd, args).then(() => done(true), () => done(false));
"""
FIRST_NAME = "return document.querySelector('#credential-list [role=option]').dataset.name;"
FORM_AND_CANCEL = """
const done = arguments[arguments.length - 1];
""" + bench.WAIT_FOR + """
(async () => {
  const edit = await wait(() => { const b = document.getElementById('edit'); return b && !b.disabled ? b : null; });
  if (!edit) return done(false);
  edit.click();
  if (!(await wait(() => document.getElementById('form-notes')))) return done(false);
  document.getElementById('form-cancel').click();
  done(!!(await wait(() => document.getElementById('detail'))));
})();
"""


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    app, coffer, outdir = (os.path.abspath(a) for a in sys.argv[1:4])
    phases = sys.argv[4:] or ALL
    unknown = [p for p in phases if p not in ALL + ["noop"]]
    if unknown:
        sys.exit(f"unknown phase(s): {', '.join(unknown)}; known: noop, {', '.join(ALL)}")
    work = os.path.join(outdir, "work")
    os.makedirs(work, exist_ok=True)
    vault = bench.make_vault(coffer, SIZE, work)
    log = open(os.path.join(outdir, "tauri-driver.log"), "ab")
    s, pid, _, _ = bench.open_app(app, vault, log)
    rng = random.Random(3)
    failed = {}
    rows = []

    def sample(label):
        by = bench.memory(pid)["by_process"]
        web = sum(v for k, v in by.items() if k.startswith("WebKitWeb"))
        own = sum(v for k, v in by.items() if not k.startswith("WebKit"))
        rows.append({"after": label, "app_pss": own, "web_pss": web, "elements": s.js(ELEMENTS)})
        r = rows[-1]
        print(f"{label:<16} app {own / 1048576:7.1f} MiB   web {web / 1048576:7.1f} MiB   "
              f"elements {r['elements']}", flush=True)

    def act(kind):
        ok = True
        if kind == "noop":
            s.js("return 1;")
        elif kind == "ipc":
            name = s.js(FIRST_NAME)
            query = {"query": rng.choice(WORDS), "kind": None, "env": None, "tag": None, "states": [],
                     "offset": 0, "limit": 100}
            ok = all(s.js_async(INVOKE, cmd, args) for cmd, args in
                     (("vault_status", {}), ("credential_find", {"query": query}), ("credential_get", {"name": name})))
        elif kind == "search":
            s.js_async(bench.KEYSTROKE, bench.SHOWN_AT, rng.choice(WORDS))
            s.js_async(bench.KEYSTROKE, bench.SHOWN_AT, "")
        elif kind == "open":
            s.js(bench.CLICK_ROW)
        elif kind == "reveal":
            s.js(bench.CLICK_ROW)
            time.sleep(0.05)
            ok = s.js(bench.REVEAL)
        elif kind == "form":
            s.js(bench.CLICK_ROW)
            ok = s.js_async(FORM_AND_CANCEL)
        elif kind == "edit":
            s.js(bench.CLICK_ROW)
            ok = s.js_async(bench.EDIT)
            if not ok:
                s.js(bench.CANCEL_EDIT)
        elif kind == "screens":
            s.js(bench.SCREEN, rng.choice([2, 3, 4, 5]))
            time.sleep(0.1)
            s.js(bench.SCREEN, 1)
            time.sleep(0.1)
        elif kind == "scroll":
            s.js(bench.SCROLL)
        if not ok:
            failed[kind] = failed.get(kind, 0) + 1

    try:
        time.sleep(2)
        sample("start")
        for kind in phases:
            s.js(bench.SCREEN, 1)
            time.sleep(0.3)
            for b in range(BLOCKS):
                for _ in range(BLOCK):
                    act(kind)
                time.sleep(1)
                sample(f"{kind} {(b + 1) * BLOCK}")
    finally:
        s.close(app)
    if failed:
        print("failed actions: " + ", ".join(f"{k} {v}" for k, v in failed.items()))
    with open(os.path.join(outdir, "growth.json"), "w") as f:
        json.dump({"size": SIZE, "block": BLOCK, "blocks": BLOCKS, "samples": rows, "failed": failed}, f, indent=1)


if __name__ == "__main__":
    main()

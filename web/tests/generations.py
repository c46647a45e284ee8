#!/usr/bin/env python3
"""Generations of a series in the browser viewer (SPEC §33, issue 21):
generation N opened from the page's address, its history, its records read
through the series, and an earlier generation opened from the history with
the same key.

The address names each generation file with `archive=` (repeated) and
the generation to show with `generation=N` (the newest of them when
absent): `index.html?archive=URL1&archive=URL0&generation=1`. A single
`archive=` opens that file; its history then lists the generations
before it as absent (a page cannot list a folder on a server).

e2e.py runs `check` after its other steps; alone (the site built by
web/build.sh, `legation` built):

usage: generations.py LEGATION OUT_DIR
"""

import os
import shutil
import time
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def make_series(legation, work):
    """Generations 0 and 1 of a small register in `work/series` (for a new
    recipient, signed by a new issuer): 1 changes one record, removes one
    and adds one. Gives the two files and the recipient's identity file."""
    d = os.path.join(work, "series")
    shutil.rmtree(d, ignore_errors=True)
    src = os.path.join(d, "src", "registers")
    os.makedirs(src)
    for i in range(300):
        with open(os.path.join(src, f"person-{i:04}.txt"), "w") as f:
            f.write(f"Person {i} of the register.\n")
    run = lambda *a: subprocess.run([legation, *a], check=True, cwd=d, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    run("keygen", "issuer", "-o", "gov")
    run("keygen", "recipient", "-o", "reader")
    run("pack", "src", "-o", "reg.0000.lgn", "--format", "2.0", "--recipient", "reader.pub",
        "--sign", "gov.key")
    with open(os.path.join(src, "person-0007.txt"), "w") as f:
        f.write("Person 7 of the register, moved abroad.\n")
    os.remove(os.path.join(src, "person-0100.txt"))
    with open(os.path.join(src, "person-0300.txt"), "w") as f:
        f.write("Person 300 of the register, born today.\n")
    run("pack", "src", "--update", "reg.0000.lgn", "-o", "reg.0001.lgn", "-i", "reader.key",
        "--sign", "gov.key")
    return [os.path.join(d, "reg.0000.lgn"), os.path.join(d, "reg.0001.lgn")], os.path.join(d, "reader.key")


def check(b, port, work, legation):
    """Runs the checks on the page served at `port`, whose `/archives/`
    is `work`; returns what passed."""
    passed = []
    files, identity = make_series(legation, work)
    url = lambda f: "/archives/series/" + os.path.basename(f)
    page = f"http://127.0.0.1:{port}/index.html"

    # Generation 1 named in the address, with the file of generation 0.
    e2e.start_page(b, f"{page}?archive={url(files[1])}&archive={url(files[0])}&generation=1")
    s = b.wait("generation 1 to open", lambda s: s.get("screen") == "locked" and s.get("generation"))
    g = s["generation"]
    assert s["name"] == "reg.0001.lgn" and g["sequence"] == 1, s
    assert [r.get("sequence") for r in g["history"]] == [0, 1], g
    assert g["history"][1]["shown"] and not g["problems"], g
    b.widget("1 of series ")
    b.widget("sealed in its index: shown once unlocked")
    b.click(b.widget("History: 2 generations present"))
    b.widget("Open generation 0", role="Button")
    b.screenshot("12-generation-locked")
    passed.append("generation 1 opened from the address (?archive=…&archive=…&generation=1): the facts "
                  "say which generation, signer and time; the history lists generations 0 and 1")

    # Unlocked with the identity file: its records, through the series.
    # (The history folded again, for the form to show in the window.)
    b.click(b.widget("History: 2 generations present"))
    time.sleep(0.3)
    b.click(e2e.reach(b, "Choose identity file…", role="Button"))
    b.choose_file(identity, "legation-key")
    time.sleep(0.5)
    b.click(e2e.reach(b, "Unlock", role="Button", exact=True))
    s = b.wait("generation 1's records", lambda s: s.get("screen") == "generation records" and s["rows"])
    g = s["generation"]
    assert g["changes"] == {"added": 1, "changed": 1, "removed": 1}, g
    assert s["records"] == 300 and len(s["rows"]) == 300, s
    stored = {r["path"]: r["stored_in"] for r in s["rows"]}
    assert stored["registers/person-0007.txt"] == 1 and stored["registers/person-0008.txt"] == 0, stored
    assert "registers/person-0100.txt" not in stored and stored["registers/person-0300.txt"] == 1, stored
    b.widget("1 added, 1 changed, 1 removed since generation 0")
    b.screenshot("13-generation-records")
    passed.append("unlocked with an identity file (in the keys worker): its 300 records listed, each "
                  "from the file that stores it; 1 added, 1 changed, 1 removed since generation 0")

    # A record clicked in the list opens to its view, read through the
    # series: one stored in generation 0's file, one changed in 1.
    for path, text in (("registers/person-0008.txt", "Person 8 of the register."),
                       ("registers/person-0007.txt", "Person 7 of the register, moved abroad.")):
        b.click(e2e.reach(b, path, exact=True))
        s = b.wait(f"{path} to render", lambda s: (s.get("record") or {}).get("path") == path
                   and s["record"]["state"] != "rendering")
        assert s["record"]["state"] == "shown", s["record"]
        b.widget(text)
        if path.endswith("0007.txt"):
            b.widget("Its bytes are stored in generation 1's file.")
            b.screenshot("13b-generation-record")
        else:
            b.widget("Its bytes are stored in generation 0's file.")
        b.click(b.widget("Back to the list", role="Button"))
        b.wait("the list again", lambda s: s.get("record") is None and s["rows"])
    passed.append("a record clicked in generation 1's list opens to its decoder's view, read through "
                  "the series (one stored in generation 0's file, one changed in generation 1)")

    # Generation 0 picked in the history: opened with the same key.
    b.click(b.widget("History: 2 generations present"))
    b.click(b.widget("Open generation 0", role="Button"))
    s = b.wait("generation 0 unlocked", lambda s: s.get("screen") == "open" and not s["loading"]
               and (s.get("generation") or {}).get("sequence") == 0)
    assert s["records"] == 300, s
    b.widget("the first generation: nothing before it")
    s = e2e.open_record(b, "registers/person-0100.txt")
    assert s["record"]["state"] in ("shown", "shown through the raw decoder"), s["record"]
    b.screenshot("14-generation-0")
    passed.append("generation 0 picked in the history opens unlocked with the same key; a record "
                  "removed in generation 1 is there")

    # One file alone: the generation before it shows as absent.
    e2e.start_page(b, f"{page}?archive={url(files[1])}")
    s = b.wait("generation 1 alone", lambda s: s.get("screen") == "locked" and s.get("generation"))
    g = s["generation"]
    assert g["history"][0] == {"absent": [0, 0], "needed": True}, g
    assert not g["problems"] and not s["notice"], s
    b.click(b.widget("History: 1 generation present"))
    b.widget("its file was not given")
    b.widget("generation 1 reads records from it")
    b.screenshot("15-generation-absent")
    passed.append("generation 1 alone by URL: generation 0 shown as absent (its file not given), "
                  "not as an error")
    return passed


def main():
    legation, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "archive")
    os.makedirs(work, exist_ok=True)
    srv, port = e2e.serve({"/archives/": work, "/": e2e.SITE})
    b = e2e.Browser(out)
    try:
        passed = check(b, port, work, legation)
    finally:
        b.close()
        srv.shutdown()
    for p in passed:
        print(f"  ok: {p}")


if __name__ == "__main__":
    main()

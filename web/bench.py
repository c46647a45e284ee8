#!/usr/bin/env python3
"""Benchmarks of the browser viewer in headless Chromium (run by hand; the
figures go into BENCHMARKS.md, "The viewer in a browser").

1. A large archive (2 GiB by default: the sample national records and
   128 MiB files of random bytes): time from choosing the file to the
   public facts, to the records listed after unlocking (with an identity
   file, then separately with the passphrase), and to the first record
   shown; the tab's peak memory meanwhile: the private memory (what
   Chromium's task manager calls the memory footprint: private clean and
   dirty pages, not the shared program text that resident size also
   counts) of the renderer process, where the page and its workers run,
   sampled every 50 ms.
2. Decoding: render-level minus content-level verification of the demo
   archive (522 records), in the browser (wasmi in a worker) and with
   `legation verify` (wasmtime in worker processes), per record.

usage: python3 web/bench.py [GIB]   (needs web/build.sh and
cargo build --release -p legation first; writes under target/web-bench)
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))
import e2e  # noqa: E402

ROOT = e2e.ROOT
LEGATION = os.path.join(ROOT, "target/release/legation")
OUT = os.path.join(ROOT, "target/web-bench")


class RendererMemory:
    """Samples the resident memory of the Chromium renderer processes of one
    profile (the page and its dedicated workers live in one)."""

    def __init__(self, profile):
        self.profile = profile
        self.peak = 0
        self.peak_rss = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def pids(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if "--type=renderer" in cmd and self.profile in cmd:
                yield pid

    def sample(self):
        """(private, resident) bytes of the renderer processes."""
        private = resident = 0
        for pid in self.pids():
            try:
                for line in open(f"/proc/{pid}/smaps_rollup"):
                    k, _, v = line.partition(":")
                    if k in ("Private_Clean", "Private_Dirty"):
                        private += int(v.split()[0]) * 1024
                    elif k == "Rss":
                        resident += int(v.split()[0]) * 1024
            except OSError:
                pass
        return private, resident

    def run(self):
        while not self.stop:
            p, r = self.sample()
            self.peak = max(self.peak, p)
            self.peak_rss = max(self.peak_rss, r)
            time.sleep(0.05)

    def reset(self):
        self.peak, self.peak_rss = self.sample()


def make_large(gib):
    work = os.path.join(OUT, "large")
    archive = os.path.join(work, "large.lgn")
    if os.path.exists(archive):
        return work, archive
    shutil.rmtree(work, ignore_errors=True)
    src = os.path.join(work, "records")
    shutil.copytree(os.path.join(ROOT, "samples/national"), os.path.join(src, "national"))
    os.makedirs(os.path.join(src, "bulk"))
    part = 128 << 20
    for i in range(max(1, int(gib * 1024 * 1024 * 1024) // part)):
        with open(os.path.join(src, "bulk", f"part-{i:03}.bin"), "wb") as f:
            for _ in range(part // (8 << 20)):
                f.write(os.urandom(8 << 20))
    with open(os.path.join(work, "passphrase"), "w") as f:
        f.write(e2e.PASSPHRASE + "\n")
    run = lambda *a: subprocess.run([LEGATION, *a], check=True, stdout=subprocess.DEVNULL)
    run("keygen", "recipient", "-o", os.path.join(work, "reader"))
    run("pack", src, "-o", archive, "--recipient", os.path.join(work, "reader.pub"),
        "--passphrase-file", os.path.join(work, "passphrase"))
    shutil.rmtree(src)
    return work, archive


def timed(b, what, test, timeout=600):
    t = time.time()
    b.wait(what, test, timeout=timeout)
    return time.time() - t


def large_archive(b, mem, work, archive, port, with_identity):
    e2e.start_page(b, f"http://127.0.0.1:{port}/index.html")
    time.sleep(1)
    mem.reset()
    idle = mem.peak
    t0 = time.time()
    b.choose_file(archive)
    b.wait("the public facts", lambda s: s.get("screen") == "locked", timeout=600)
    facts = time.time() - t0
    if with_identity:
        b.click(b.widget("Choose identity file…"))
        el = b.s("POST", "/element", {"using": "css selector", "value": "#legation-key"})
        b.s("POST", f"/element/{next(iter(el.values()))}/value", {"text": os.path.join(work, "reader.key")})
        time.sleep(0.5)
        b.click(b.widget("Unlock", role="Button", exact=True))
    else:
        e2e.unlock(b, e2e.PASSPHRASE)
    b.wait("the records", lambda s: s.get("screen") == "open" and not s["loading"], timeout=600)
    listed = time.time() - t0
    # The record: searched for (typing is the test's, not the app's time),
    # then clicked; from the click to its view.
    b.click(b.widget("", role="TextInput"))
    b.keys("register-ost.csv")
    s = b.wait("the record in the list", lambda s: s.get("visible") == 1 and not s.get("busy"))
    row = b.widget(s["rows"][0], role="Button", exact=True)
    t1 = time.time()
    b.click(row)
    b.wait("the record", lambda s: (s.get("record") or {}).get("state") == "shown", timeout=600)
    click_to_view = time.time() - t1
    shown = listed + click_to_view
    return {"idle_page_private_mb": round(idle / 1e6), "click_to_view_s": round(click_to_view, 2),"facts_s": round(facts, 2), "listed_s": round(listed, 2), "first_record_s": round(shown, 2),
            "peak_private_mb": round(mem.peak / 1e6), "peak_resident_mb": round(mem.peak_rss / 1e6)}


def verify_in_browser(b, level_button):
    b.click(b.widget(level_button))
    t = time.time()
    b.wait("the verification", lambda s: (s["verify"]["report"] or {}).get("level") is not None
           and s["verify"]["running"] is None, timeout=900)
    return time.time() - t


def main():
    gib = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    os.makedirs(OUT, exist_ok=True)
    for p in (LEGATION, e2e.SITE):
        if not os.path.exists(p):
            sys.exit(f"bench.py: {p} is missing (cargo build --release -p legation; bash web/build.sh)")
    work, large = make_large(gib)
    demo, _ = e2e.make_archives(LEGATION, OUT)
    srv, port = e2e.serve({"/": e2e.SITE})
    b = e2e.Browser(OUT)
    mem = RendererMemory(b.profile)
    results = {"archive_bytes": os.path.getsize(large), "chromium": subprocess.run(
        [e2e.CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()}
    try:
        results["large_identity"] = large_archive(b, mem, work, large, port, True)
        results["large_passphrase"] = large_archive(b, mem, work, large, port, False)

        # Decoding: the demo archive verified at the content and render levels.
        e2e.start_page(b, f"http://127.0.0.1:{port}/index.html")
        b.choose_file(demo)
        b.wait("the demo", lambda s: s.get("screen") == "locked" and s["verify"]["report"] is not None)
        e2e.unlock(b, e2e.PASSPHRASE)
        b.wait("the demo records", lambda s: s.get("screen") == "open" and not s["loading"])
        b.click(b.widget("Verify archive", role="Button"))
        content = [verify_in_browser(b, "Verify content") for _ in range(3)]
        render = [verify_in_browser(b, "Verify everything (render)") for _ in range(3)]
        records = b.summary()["records"]
        results["browser"] = {"content_s": statistics.median(content), "render_s": statistics.median(render)}
    finally:
        mem.stop = True
        b.close()
        srv.shutdown()
    pp = os.path.join(OUT, "archive", "passphrase")

    def cli(level):
        t = time.time()
        subprocess.run([LEGATION, "verify", demo, "--level", level, "--passphrase-file", pp],
                       check=True, stdout=subprocess.DEVNULL)
        return time.time() - t
    results["desktop"] = {"content_s": statistics.median(cli("content") for _ in range(3)),
                          "render_s": statistics.median(cli("render") for _ in range(3))}
    for k in ("browser", "desktop"):
        r = results[k]
        r["decode_ms_per_record"] = round((r["render_s"] - r["content_s"]) * 1000 / records, 2)
    results["records"] = records
    results["decode_ratio_browser_to_desktop"] = round(
        results["browser"]["decode_ms_per_record"] / max(results["desktop"]["decode_ms_per_record"], 1e-6), 1)
    print(json.dumps(results, indent=2))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the browser viewer fetches to show one record of an archive opened
by URL (issue 20: at most 8 range requests and 1 MiB from entering the URL
to the record shown, no byte fetched twice, each decoder fetched once, no
long task on the page over 200 ms, the renderer's PSS at most 300 MB).

Serves the built viewer (web/build.sh) and ARCHIVE on 127.0.0.1 with the
e2e test's range server, which logs every range it sends; in headless
Chromium types the archive's URL on the start screen, unlocks it with the
IDENTITY file, searches for RECORD and opens it; then prints the ranges,
their count and bytes, the bytes fetched more than once, the fetches of
each `d/` entry, the page's long tasks and the renderer's peak PSS as
JSON. e2e.py runs `measure` on a small archive and asserts the counts.
With BY_URL_PROFILE=1 it also samples the page thread's processor use
(DevTools' profiler) and prints where its time went.

usage: by_url.py ARCHIVE IDENTITY RECORD OUT_DIR
"""

import json
import os
import struct
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

# Records the page's long tasks (the page's thread busy over 50 ms at a
# time) from now on.
LONG_TASKS = """
window.__long = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) window.__long.push([Math.round(e.startTime), Math.round(e.duration)]);
}).observe({ entryTypes: ['longtask'] });
"""


class Pss:
    """Samples the proportional set size of the Chromium renderer processes
    of one profile (the page and its dedicated workers run in them)."""

    def __init__(self, profile):
        self.profile, self.peak, self.stop = profile, 0, False
        threading.Thread(target=self.run, daemon=True).start()

    def sample(self):
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
                if "--type=renderer" not in cmd or self.profile not in cmd:
                    continue
                for line in open(f"/proc/{pid}/smaps_rollup"):
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.sample())
            time.sleep(0.05)


def entry_ranges(archive):
    """Each container entry's data, as (name, first byte, last byte)."""
    out = []
    with zipfile.ZipFile(archive) as z, open(archive, "rb") as f:
        for i in z.infolist():
            f.seek(i.header_offset + 26)
            n, m = struct.unpack("<HH", f.read(4))
            start = i.header_offset + 30 + n + m
            out.append((i.filename, start, start + i.compress_size - 1))
    return out


def twice(ranges):
    """Bytes sent more than once among `ranges` [(first, last)]."""
    events = sorted([(a, 1) for a, _ in ranges] + [(b + 1, -1) for _, b in ranges])
    depth, last, dup = 0, 0, 0
    for x, d in events:
        if depth > 1:
            dup += x - last
        depth, last = depth + d, x
    return dup


def cdp(b, cmd, **params):
    """A DevTools command on the page (chromedriver's own endpoint)."""
    return b.s("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params})


def page_profile(profile, top=25):
    """The page thread's time by function (self time, ms) in a CPU profile,
    the most first, and its share in the archive reader's crates and in
    drawing (egui, epaint, glow, the test hooks' accessibility tree)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    ms = {}
    for i, dt in zip(profile["samples"], profile["timeDeltas"]):
        name = nodes[i]["callFrame"]["functionName"] or "(anonymous)"
        ms[name] = ms.get(name, 0) + dt / 1000
    total = sum(ms.values())
    idle = sum(v for k, v in ms.items() if k in ("(idle)", "(program)", "(garbage collector)"))
    def share(words):
        return round(sum(v for k, v in ms.items() if any(w in k for w in words)))
    return {
        "busy_ms": round(total - idle),
        "reader_ms": share(("legation_reader", "legation_format", "chacha", "blake3", "inflate",
                            "miniz", "ciborium", "serde_json")),
        "drawing_ms": share(("egui", "epaint", "glow", "accesskit", "ab_glyph", "emath")),
        "top": [[k, round(v)] for k, v in sorted(ms.items(), key=lambda kv: -kv[1])[:top]],
    }


def measure(b, port, url_path, archive, identity, record, profile=False):
    """Opens http://127.0.0.1:port/url_path in the viewer, unlocks it with
    `identity`, shows `record`; what was fetched meanwhile."""
    e2e.start_page(b, f"http://127.0.0.1:{port}/index.html")
    b.js(LONG_TASKS)
    pss = Pss(b.profile)
    if profile:
        cdp(b, "Profiler.enable")
        cdp(b, "Profiler.setSamplingInterval", interval=500)
        cdp(b, "Profiler.start")
    with e2e.SENT_LOCK:
        e2e.RANGES.clear()
    t0 = time.time()
    now = "return Math.round(performance.now())"
    phases = [("entering the URL", b.js(now))]
    b.click(b.widget("", role="TextInput"))
    b.keys(url_path + e2e.ENTER)
    b.wait("the archive by URL to open", lambda s: s.get("screen") == "locked", timeout=600)
    opened = time.time() - t0
    phases.append(("choosing the identity file", b.js(now)))
    b.click(b.widget("Choose identity file…", role="Button"))
    b.choose_file(identity, "legation-key")
    b.widget(os.path.basename(identity))
    phases.append(("unlocking and listing", b.js(now)))
    b.click(b.widget("Unlock", role="Button", exact=True))
    b.wait("the records", lambda s: s.get("screen") == "open" and not s["loading"], timeout=600)
    listed = time.time() - t0
    phases.append(("finding and showing the record", b.js(now)))
    # The record's row when the list shows it (the first rows of a large
    # archive), otherwise by searching for it.
    title = record.rsplit("/", 1)[-1]
    if title in (b.summary().get("rows") or []):
        b.click(b.widget(title, role="Button", exact=True))
        s = b.wait(f"{record} to render", lambda s: (s.get("record") or {}).get("path") == record
                   and s["record"]["state"] != "rendering", timeout=600)
    else:
        s = e2e.open_record(b, record)
    shown = time.time() - t0
    phases.append(("after", b.js(now)))
    with e2e.SENT_LOCK:
        ranges = [(a, z) for p, a, z in e2e.RANGES if p == url_path]
    long_tasks = [d for _, d in b.js("return window.__long") or []]
    # The longest tasks, each with the page's own range requests within it
    # (the workers' requests are in their own timelines).
    page_reads = b.js("return performance.getEntriesByType('resource')"
                      ".filter((e) => e.name.endsWith(arguments[0]))"
                      ".map((e) => [Math.round(e.startTime), Math.round(e.duration)])", url_path)
    longest = sorted(b.js("return window.__long") or [], key=lambda t: -t[1])[:5]
    def phase(at):
        return next((cur[0] for cur, nxt in zip(phases, phases[1:]) if at < nxt[1]), phases[-1][0])
    longest = [{"ms": d, "during": phase(s0),
                "page_reads_within": [r for r in page_reads if s0 <= r[0] <= s0 + d]}
               for s0, d in longest]
    pss.stop = True
    cpu = page_profile(cdp(b, "Profiler.stop")["profile"]) if profile else None
    decoders = {}
    for name, a, z in entry_ranges(archive):
        if name.startswith("d/"):
            n = sum(1 for x, y in ranges if x <= z and y >= a)
            if n:
                decoders[name] = n
    return {
        "record_state": s["record"]["state"],
        "requests": len(ranges),
        "bytes": sum(z - a + 1 for a, z in ranges),
        "bytes_twice": twice(ranges),
        "decoder_fetches": decoders,
        "longest_task_ms": max(long_tasks or [0]),
        "long_tasks_ms": sorted(long_tasks, reverse=True)[:20],
        "long_task_count": len(long_tasks or []),
        "longest_tasks": longest,
        "page_reads": len(page_reads),
        "peak_pss_mb": round(pss.peak / 1e6),
        "page_cpu": cpu,
        "seconds": {"opened": round(opened, 2), "listed": round(listed, 2), "shown": round(shown, 2)},
        "ranges": ranges,
    }


def main():
    archive, identity, record, out = (os.path.abspath(a) if i != 2 else a
                                      for i, a in enumerate(sys.argv[1:5]))
    os.makedirs(out, exist_ok=True)
    srv, port = e2e.serve({"/archives/": os.path.dirname(archive), "/": e2e.SITE})
    b = e2e.Browser(out)
    try:
        r = measure(b, port, "/archives/" + os.path.basename(archive), archive, identity, record,
                    profile=bool(os.environ.get("BY_URL_PROFILE")))
        b.screenshot("by-url")
    finally:
        b.close()
        srv.shutdown()
    r["archive_bytes"] = os.path.getsize(archive)
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Whole-process benchmarks behind BENCHMARKS.md (run through scripts/bench.sh).

Each command runs three times; the median wall time and the largest peak
resident set (from /usr/bin/time) are reported, with ratios against the
tool a user would otherwise pick, measured in the same run on the same data.
"""
import os, platform, random, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = os.path.join(ROOT, "target", "release", "legation")
GEN = os.path.join(ROOT, "target", "release", "legation-samples")
BENCH = os.path.join(os.environ.get("BENCH_DIR", "/dev/shm"), "legation-bench")
QUICK = os.environ.get("BENCH_QUICK") == "1"
# BENCH_SECTIONS=tools,scaling regenerates only those sections of
# BENCHMARKS.md (the tables whose code changed), leaving the others as
# they are; the default regenerates the whole file.
SECTIONS = set(os.environ.get("BENCH_SECTIONS", "all").split(","))
ALL = "all" in SECTIONS
# A folder on a disk (not tmpfs), where syncing costs what it costs.
DISK = os.environ.get("BENCH_DISK_DIR", "/var/tmp/legation-bench-disk")
RUNS = 3
SECRET = "bench-secret-passphrase-7f3a"
MiB = 1 << 20


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw).stdout


def measure(cmd, before=None, runs=RUNS):
    """Median seconds and max peak RSS (MB) of a shell command."""
    times, rss = [], []
    for _ in range(runs):
        if before:
            sh(before)
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "bash", "-c", "{ " + cmd + "; } > /dev/null"],
                             capture_output=True, text=True, cwd=BENCH)
        if out.returncode != 0:
            sys.exit(f"failed: {cmd}\n{out.stderr}")
        e, m = out.stderr.strip().splitlines()[-1].split()
        times.append(float(e))
        rss.append(int(m) / 1024)
    return statistics.median(times), max(rss)


def write_random(path, size, rng):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(rng.randbytes(n))
            left -= n


def small_tree(path, count, rng, text=False):
    if os.path.exists(os.path.join(path, ".complete")):
        return
    shutil.rmtree(path, ignore_errors=True)
    for i in range(count):
        d = os.path.join(path, f"d{i // 1000:04}")
        if i % 1000 == 0:
            os.makedirs(d)
        with open(os.path.join(d, f"r{i % 1000:04}.bin"), "wb") as f:
            if text:
                f.write(f"record {i}\n".encode())
            else:
                f.write(rng.randbytes(rng.randint(200, 2000)))
    open(os.path.join(path, ".complete"), "w").close()


def tiny_tree(path, count):
    """`count` records of about 30 bytes, 10,000 to a folder."""
    if os.path.exists(path + ".complete"):
        return
    shutil.rmtree(path, ignore_errors=True)
    for i in range(count):
        if i % 10_000 == 0:
            d = os.path.join(path, f"r{i // 10_000:03}")
            os.makedirs(d)
        with open(os.path.join(d, f"p{i:07}.txt"), "w") as f:
            f.write(f"person {i:07}, born 19{i % 100:02}\n")
    open(path + ".complete", "w").close()


def rmdir(*names):
    return "rm -rf " + " ".join(names)


def splice(old, new, headings):
    """`old` with the sections under `headings` taken from `new`."""
    def cut(text, heading):
        a = text.index(heading)
        b = text.find("\n## ", a + len(heading))
        return a, (len(text) if b < 0 else b + 1)
    for h in headings:
        a, b = cut(new, h)
        c, d = cut(old, h)
        stamp = (f"_Regenerated on {time.strftime('%Y-%m-%d')} by `BENCH_SECTIONS={','.join(sorted(SECTIONS))} "
                 f"bash scripts/bench.sh` at commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()}; the other "
                 f"sections are from their own dates._\n\n")
        section = new[a:b]
        first = section.index("\n\n") + 2
        old = old[:c] + section[:first] + stamp + section[first:] + old[d:]
    return old


def rm(*names):
    return "rm -f " + " ".join(os.path.join(BENCH, n) for n in names)


def row(name, ours, theirs_name, theirs):
    ratio = theirs[0] / ours[0] if ours[0] > 0 else float("inf")
    return f"| {name} | {ours[0]:.2f} s | {ours[1]:.0f} MB | {theirs_name} | {theirs[0]:.2f} s | {theirs[1]:.0f} MB | **{ratio:.2f}x** |"


def tidy(crit):
    """Criterion's lines without comparisons to earlier runs."""
    keep = lambda l: l.strip() and not l.startswith("|") and "%" not in l and not l.startswith(("Found", "Benchmarking", "Gnuplot")) and "outlier" not in l and "regressed" not in l and "improved" not in l and "No change" not in l and "noise threshold" not in l
    return "\n".join(l for l in crit.splitlines() if keep(l))


def decoder_table(crit):
    """The Markdown table that `benches/benches/decoder_ratios.rs` prints
    (native against WebAssembly decoding, side by side)."""
    rows = [l for l in crit.splitlines() if l.startswith("|")]
    return "\n".join(rows) + "\n" if rows else ""


# Colours of the scaling plot's lines, named in BENCHMARKS.md.
SERIES = [("pack", (214, 39, 40), "red"), ("open", (31, 119, 180), "blue"),
          ("list all", (44, 160, 44), "green"), ("read one", (148, 103, 189), "purple"),
          ("fixity", (140, 86, 75), "brown"), ("content", (255, 127, 14), "orange"),
          ("render", (23, 190, 207), "cyan")]
DIGITS = {"0": "75557", "1": "26227", "2": "71747", "3": "71317", "4": "55711", "5": "74717",
          "6": "74757", "7": "71222", "8": "75757", "9": "75717", "e": "25743", "s": "34216",
          "-": "00700", "x": "05250"}


def plot_png(points, path, width=720, height=480):
    """A log-log plot of seconds against records, one line per series, with
    a dashed line of slope 1 (linear growth) through each series' first point
    so that faster growth shows as a steeper line. PNG written with zlib."""
    import math, struct, zlib
    px = [[(255, 255, 255)] * width for _ in range(height)]
    left, right, top, bottom = 70, width - 20, 20, height - 50
    xs = [n for n, _ in points]
    ys = [v for _, vals in points for v in vals if v > 0]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    y1 = max(y1, y0 + 1)
    X = lambda n: left + (math.log10(n) - x0) / (x1 - x0) * (right - left)
    Y = lambda v: bottom - (math.log10(v) - y0) / (y1 - y0) * (bottom - top)

    def dot(x, y, c):
        if 0 <= int(x) < width and 0 <= int(y) < height:
            px[int(y)][int(x)] = c

    def line(a, b, c, thick=1, dash=0):
        steps = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 1
        for i in range(steps + 1):
            if dash and (i // dash) % 2:
                continue
            x, y = a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps
            for dx in range(thick):
                for dy in range(thick):
                    dot(x + dx - thick // 2, y + dy - thick // 2, c)

    def text(x, y, s, c=(0, 0, 0), k=2):
        for i, ch in enumerate(s):
            for r, bits in enumerate(DIGITS.get(ch, "00000")):
                for col in range(3):
                    if int(bits) & (4 >> col):
                        for a in range(k):
                            for b in range(k):
                                dot(x + (i * 4 + col) * k + a, y + r * k + b, c)

    for e in range(x0, x1 + 1):
        line((X(10 ** e), top), (X(10 ** e), bottom), (225, 225, 225))
        text(X(10 ** e) - 8, bottom + 10, f"1e{e}")
    for e in range(y0, y1 + 1):
        line((left, Y(10 ** e)), (right, Y(10 ** e)), (225, 225, 225))
        text(4, Y(10 ** e) - 5, f"1e{e}s")
    line((left, top), (left, bottom), (0, 0, 0))
    line((left, bottom), (right, bottom), (0, 0, 0))
    for k, (_, colour, _) in enumerate(SERIES):
        pts = [(n, vals[k]) for n, vals in points if vals[k] > 0]
        if not pts:
            continue
        n0, v0 = pts[0]
        faint = tuple((255 + c) // 2 for c in colour)
        line((X(n0), Y(v0)), (X(pts[-1][0]), Y(v0 * pts[-1][0] / n0)), faint, dash=6)
        for a, b in zip(pts, pts[1:]):
            line((X(a[0]), Y(a[1])), (X(b[0]), Y(b[1])), colour, thick=2)
        for n, v in pts:
            for dx in range(-3, 4):
                for dy in range(-3, 4):
                    dot(X(n) + dx, Y(v) + dy, colour)
    raw = b"".join(b"\0" + bytes(c for p in row for c in p) for row in px)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def national_tree(path, records):
    """About `records` records (plus their Dublin Core sidecars) from the
    sample generator: people are about 1.87 records each without scans.
    Returns the number of records written."""
    # The marker sits beside the folder: it is not a record.
    done = path + ".complete"
    if os.path.exists(done):
        return int(open(done).read())
    shutil.rmtree(path, ignore_errors=True)
    out = sh(f"{GEN} --out {path} --seed 7 --people {max(1, records * 100 // 187)} --scan-share 0")
    count = int(out.split()[0])
    with open(done, "w") as f:
        f.write(str(count))
    return count


def main():
    os.makedirs(BENCH, exist_ok=True)
    rng = random.Random(2026)
    big = os.path.join(BENCH, "big")
    if not os.path.exists(os.path.join(big, "scan.bin")):
        os.makedirs(big, exist_ok=True)
        write_random(os.path.join(big, "scan.bin"), 1024 * MiB, rng)
    small = os.path.join(BENCH, "small")
    small_tree(small, 100_000, rng)
    os.chdir(BENCH)
    if not os.path.exists("r.key"):
        sh(f"{L} keygen recipient -o r 2>/dev/null")
    if not os.path.exists("age.key"):
        sh("age-keygen -o age.key 2>/dev/null")
    age_pub = sh("age-keygen -y age.key").strip()
    rows = []
    tools = ALL or "tools" in SECTIONS

    def suite(label, src):
        arch, z7, tage = f"{src}.lgn", f"{src}.7z", f"{src}.tar.age"
        p = measure(f"{L} pack {src} -o {arch} -r r.pub", before=rm(arch))
        z = measure(f"7zz a -bso0 -bsp0 -mx0 -mhe=on -p{SECRET} {z7} {src}", before=rm(z7))
        a = measure(f"tar -cf - {src} | age -r {age_pub} > {tage}", before=rm(tage))
        rows.append(f"| **{label}** | | | | | | |")
        rows.append(row("pack", p, "`7zz a -mx0 -mhe=on -p…`", z))
        rows.append(row("pack", p, "`tar | age -r`", a))
        c = measure(f"{L} verify {arch} -i r.key --level content")
        rows.append(row("content verify", c, "`7zz t -p…`", measure(f"7zz t -bso0 -bsp0 -p{SECRET} {z7}")))
        rows.append(row("content verify", c, "`age -d > /dev/null`", measure(f"age -d -i age.key {tage}")))
        rv = measure(f"{L} verify {arch} -i r.key --level render")
        rows.append(f"| render verify (re-decodes every record: no baseline does this) | {rv[0]:.2f} s | {rv[1]:.0f} MB | | | | |")
        f = measure(f"{L} verify {arch}")
        rows.append(row("fixity audit (no key)", f, "`b3sum` of the archive", measure(f"b3sum {arch}")))
        return arch, z7

    if tools:
        tools_rows(suite, rows)
    scale, points = [], []
    if ALL or "scaling" in SECTIONS:
        scaling(scale, points)
    finish(rows, scale, points)


def tools_rows(suite, rows):
    suite("1 GiB, one incompressible record", "big")
    arch, z7 = suite("100,000 records of 200-2000 random bytes", "small")
    sh(f"7zz a -bso0 -bsp0 -tzip -mx0 plain.zip small" if not os.path.exists("plain.zip") else "true")
    rows.append(row("list all records", measure(f"{L} ls {arch} -i r.key"), "`7zz l -p…`", measure(f"7zz l -p{SECRET} {z7}")))
    rows.append(row("list (public facts / `unzip -l`)", measure(f"{L} ls {arch}"), "`unzip -l` of the archive", measure(f"unzip -l {arch}")))
    one = "small/d0050/r0500.bin"
    rows.append(row("read one record", measure(f"{L} cat {arch} {one[6:]} -i r.key"), "`7zz e -so -p…`", measure(f"7zz e -so -p{SECRET} {z7} {one}")))
    rows.append(row("read one record", measure(f"{L} cat {arch} {one[6:]} -i r.key"), "`unzip -p` (unencrypted zip)", measure(f"unzip -p plain.zip {one}")))
    # Extracting every record: into tmpfs, then onto a disk, where
    # legation's syncs cost what they cost (unzip does not sync).
    out, unz = os.path.join(BENCH, "out"), os.path.join(BENCH, "unz")
    rows.append(row("extract all records (tmpfs)", measure(f"{L} extract {arch} -o {out} -i r.key", before=rmdir(out)),
                    "`unzip -q` (unencrypted zip)", measure(f"unzip -q plain.zip -d {unz}", before=rmdir(unz))))
    os.makedirs(DISK, exist_ok=True)
    dout, dunz = os.path.join(DISK, "out"), os.path.join(DISK, "unz")
    rows.append(row(f"extract all records (disk, `{DISK}`)", measure(f"{L} extract {arch} -o {dout} -i r.key", before=rmdir(dout)),
                    "`unzip -q` (unencrypted zip)", measure(f"unzip -q plain.zip -d {dunz}", before=rmdir(dunz))))
    sh(rmdir(out, unz, dout, dunz))
    if not QUICK:
        tiny = os.path.join(BENCH, "tiny1m")
        tiny_tree(tiny, 1_000_000)
        arch = "tiny1m.lgn"
        rows.append("| **1,000,000 records of about 30 bytes** | | | | | | |")
        p = measure(f"{L} pack tiny1m -o {arch} -r r.pub", before=rm(arch), runs=1)
        rows.append(f"| pack (renders every record) | {p[0]:.2f} s | {p[1]:.0f} MB | | | | |")
        rows.append(row("fixity audit (no key)", measure(f"{L} verify {arch}"), "`b3sum` of the archive", measure(f"b3sum {arch}")))
        sh(rm(arch))
        sh(rmdir(tiny, tiny + ".complete"))


def scaling(scale, points):
    for n in ([1000, 10_000, 100_000] if QUICK else [1000, 10_000, 100_000, 1_000_000]):
        src = f"national{n}"
        count = national_tree(os.path.join(BENCH, src), n)
        arch = f"{src}.lgn"
        p = measure(f"{L} pack {src} -o {arch} -r r.pub", before=rm(arch), runs=1 if n >= 1_000_000 else RUNS)
        o = measure(f"{L} ls {arch}")
        ls = measure(f"{L} ls {arch} -i r.key")
        cat = measure(f"{L} cat {arch} population/persons/0000/P0000001.json -i r.key")
        fx = measure(f"{L} verify {arch}")
        ct = measure(f"{L} verify {arch} -i r.key --level content", runs=1 if n >= 1_000_000 else RUNS)
        rv = measure(f"{L} verify {arch} -i r.key --level render", runs=1)
        size = os.path.getsize(arch) / MiB
        points.append((count, [p[0], o[0], ls[0], cat[0], fx[0], ct[0], rv[0]]))
        scale.append(f"| {count:,} | {size:.1f} MiB | {p[0]:.2f} s / {p[1]:.0f} MB | {o[0]:.3f} s / {o[1]:.0f} MB | {ls[0]:.3f} s / {ls[1]:.0f} MB | {cat[0]:.3f} s | {fx[0]:.3f} s / {fx[1]:.0f} MB | {ct[0]:.2f} s / {ct[1]:.0f} MB | {rv[0]:.2f} s / {rv[1]:.0f} MB |")

    plot_png(points, os.path.join(ROOT, "benches", "scaling.png"))


def finish(rows, scale, points):
    crit = raw = ""
    if not QUICK and ALL:
        out = subprocess.run(["cargo", "bench", "-q", "-p", "legation-benches", "--", "--noplot"],
                             cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"cargo bench failed:\n{out.stderr[-3000:]}")
        raw = out.stdout
        crit = tidy(raw)

    # The viewer's own benchmark (open to a usable list, frame times while
    # scrolling, search, sort, memory) prints its section of this file.
    viewer_n = "100000" if QUICK else "1000000"
    out = subprocess.run(["true"]) if not ALL else subprocess.run(["cargo", "run", "--release", "-q", "-p", "legation-viewer",
                          "--no-default-features", "--features", "bench", "--bin", "viewer-bench",
                          viewer_n], cwd=ROOT, capture_output=True, text=True)
    if ALL and out.returncode != 0:
        sys.exit(f"viewer-bench failed:\n{out.stderr[-3000:]}")
    viewer = out.stdout.strip() if ALL else ""

    viewer_block = f"""{viewer}

Frames are the CPU side only and must stay under 16 ms while the list or a
100,000-row table scrolls (only visible rows are built). The list never holds the
catalog: a page is read when its rows come into view, and a search streams the pages
beside the window keeping at most 100,000 rows. Memory is that of the whole benchmark
process (the pieces timed alone, then the app), so it overstates what the viewer
alone holds. `viewer-bench 10000000` measures the same at 10,000,000 records.
""" if viewer else ""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    versions = "; ".join([
        sh("rustc --version").strip(),
        sh("7zz | head -3 | tail -1").strip() or "7zz",
        "age " + sh("age --version").strip(),
        sh("b3sum --version").strip(),
    ])
    md = f"""# Benchmarks

Written by `bash scripts/bench.sh` on {time.strftime('%Y-%m-%d')} (do not edit by hand; rerun it).

- Machine: {os.cpu_count()} cores, {cpu}, {mem} memory, Linux {platform.release()}.
- Tools: {versions}.
- Data and archives in `{BENCH}` (tmpfs, so the figures are CPU and memory, not disk).
  `legation pack` ends with `fsync`, the others do not; on tmpfs that costs nothing.
- Each command ran {RUNS} times (1,000,000 records: pack and content once); median wall
  time, largest peak RSS. Ratio = their time / our time: above 1 means Legation is faster.
- Keys: `legation` packs for an X25519 recipient and unlocks with its identity (no Argon2id
  in the timings); 7-Zip uses `-p` (AES-256, its KDF is fast); age uses an X25519 recipient.

## Against the tools a user would otherwise pick

| operation | legation | peak RSS | baseline | time | peak RSS | ratio |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Throughput on the 1 GiB record is 1024 MiB divided by the time above.

## How the figures grow with the number of records

Records from the sample generator (`legation-samples --seed 7 --scan-share 0`: population
register CSVs and JSON records, certificates, parcels, cadastral plans, acts and
mainframe tax rolls, each with a Dublin Core sidecar; about 1 KB each, no scans, so
this measures the cost of records rather than of bytes). Each cell is time / peak RSS.

![Seconds against records, log-log](benches/scaling.png)

Each solid line is one operation ({", ".join(f"{name} {colour}" for name, _, colour in SERIES)});
its dashed line of the same colour grows linearly from the first point: a solid line
steeper than its dashed one grows faster than linearly.

| records | archive | pack (renders every record) | open (public facts) | list all | read one | fixity | content | render |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(scale)}

{viewer_block}
## Decoders: native against metered WebAssembly

`cargo bench -p legation-benches --bench decoder_ratios` (`benches/benches/decoder_ratios.rs`).
Every file of `decoders/testdata` with its built-in decoder. *Native*: the decoder
compiled for this machine (rustc's default x86-64 target, SSE2; fdeflate's Adler-32 picks
AVX2 at run time), decoding and encoding the document. The WebAssembly modules are the
built-in ones as packed, compiled with WebAssembly's vector instructions (`+simd128`,
allowed in decoders since format 1.3, SPEC §12.2). *Wasm call*: the call of
`legation_decode` alone, in a fresh instance that already holds the record (made just
before, untimed): unmetered, metered as archived (SPEC §13.3), and metered as hosts run
it (the fuel in locals, SPEC §13.6; the same limits) on the engine of decoder workers
(no epoch interruption) and on the in-process engine (with it). *Host call*: the whole
of `Host::run` through the worker process, as the CLI and the desktop viewer pay it:
record sent, instance, decoding, answer, output checked. The two sides alternate in
bursts of 7 calls, 41 bursts per cell; a cell is the median WebAssembly call and, in
brackets, the median over bursts of the ratio between the two sides' burst medians.
Criterion timed each side in its own stretch of seconds, and this machine's speed
drifts between stretches by up to a third, which showed as ratios.

{decoder_table(raw) or "(skipped: BENCH_QUICK=1)"}

## Criterion (library level, `cargo bench -p legation-benches`)

`benches/benches/format.rs`: the AEAD implementations (ring natively, the aes-gcm crate
that the wasm32 build uses), pack/fixity/content of one 256 MiB record in memory, and
open/list/read-one/pack/content on 100,000 records. `benches/benches/decoders.rs`: the
fixed cost of one call (fresh pooled instance, allocation, call, output check) with a
decoder that does nothing, in process and in a worker process, and GPL-2.txt through a
worker.

```
{crit or "(skipped: BENCH_QUICK=1)"}
```
"""
    path = os.path.join(ROOT, "BENCHMARKS.md")
    if not ALL:
        headings = []
        if "tools" in SECTIONS:
            headings.append("## Against the tools a user would otherwise pick")
        if "scaling" in SECTIONS:
            headings.append("## How the figures grow with the number of records")
        md = splice(open(path).read(), md, headings)
    with open(path, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()

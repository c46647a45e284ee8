#!/usr/bin/env python3
"""The national-scale benchmark of format 2.0 (issue 20), behind the section
"National scale" of BENCHMARKS.md.

Archives of 1,000 to 10,000,000 synthetic records (20-200 bytes, 21-byte
paths, no decoder, no Dublin Core) are written straight through the 2.0
writer by `synth` (benches/src/bin/synth.rs): 10,000,000 small files do not
fit this machine as a folder. Every command then runs as a user would run
it, in a fresh process. Each figure is the median of RUNS runs (one for the
write and for content verification at 10M) and the largest peak RSS, both
taken from wait4(2) of that process alone, so that times under 10 ms are
not rounded as /usr/bin/time rounds them.

    python3 scripts/bench_national.py            # 1k .. 10M (needs about 3 GB of tmpfs)
    NATIONAL_MAX=1000000 python3 scripts/bench_national.py
    NATIONAL_PACK=1 python3 scripts/bench_national.py   # also pack from folders (about 12 GB of tmpfs)
    NATIONAL_PACK_ONLY=1 python3 scripts/bench_national.py   # only the packing table, rewritten in place

With NATIONAL_PACK=1 it also packs folders as a records officer would, with
`tar | age -r` beside each in the same run: 1,000,000 text records of 20-200
bytes (rendered by the text decoder), the same number of binary records (no
decoder, so nothing is rendered) and the 500,000 people of `legation-samples`,
each packed twice: as `pack` does (each record's PRONOM PUID identified) and
with LEGATION_NO_IDENTIFY=1 (as before identification), to show its cost.
"""
import os, random, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = os.path.join(ROOT, "target", "release", "legation")
SYNTH = os.path.join(ROOT, "target", "release", "synth")
GEN = os.path.join(ROOT, "target", "release", "legation-samples")
PACK_ONLY = os.environ.get("NATIONAL_PACK_ONLY") == "1"
PACK = os.environ.get("NATIONAL_PACK") == "1" or PACK_ONLY
BENCH = os.path.join(os.environ.get("BENCH_DIR", "/dev/shm"), "legation-national")
MAX = int(os.environ.get("NATIONAL_MAX", "10000000"))
RUNS = 5
HEADING = "## National scale: format 2.0 from 1,000 to 10,000,000 records"


def run(cmd):
    """Seconds and peak RSS (MB) of one process; exits on failure. Standard
    output goes to /dev/null, except synth's one line, kept beside its archive."""
    t = time.perf_counter()
    out = open(cmd[cmd.index("--out") + 1] + ".records", "w") if cmd[0] == SYNTH else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, cwd=BENCH)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err.decode(errors='replace')[-2000:]}")
    return secs, usage.ru_maxrss / 1024


# The load average after each measurement, so that a run says the range it met.
LOADS = []


def measure(cmd, runs=RUNS):
    times, rss = [], []
    for _ in range(runs):
        s, m = run(cmd)
        times.append(s)
        rss.append(m)
        LOADS.append(os.getloadavg()[0])
    return statistics.median(times), max(rss)


def first_lines(cmd, lines=100, runs=RUNS):
    """Median seconds until `lines` lines of standard output have arrived."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=BENCH)
        for _ in range(lines):
            if not p.stdout.readline():
                sys.exit(f"fewer than {lines} lines from {' '.join(cmd)}")
        times.append(time.perf_counter() - t)
        p.kill()
        p.wait()
    return statistics.median(times)


def ms(t):
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def main():
    os.makedirs(BENCH, exist_ok=True)
    os.chdir(BENCH)
    if not os.path.exists("r.key"):
        subprocess.run([L, "keygen", "recipient", "-o", "r"], check=True, capture_output=True)
    if not os.path.exists("gov.key"):
        subprocess.run([L, "keygen", "issuer", "-o", "gov"], check=True, capture_output=True)
    if PACK_ONLY:
        load = [os.getloadavg()[0]]
        packs = pack_rows()
        load.append(os.getloadavg()[0])
        write_pack_only(packs, load)
        return
    rows, checks = [], []
    load = [os.getloadavg()[0]]
    for n in [1000, 10_000, 100_000, 1_000_000, 10_000_000]:
        if n > MAX:
            break
        arch = f"n{n}.lgn"
        big = n >= 10_000_000
        write_cmd = [SYNTH, "--records", str(n), "--out", arch, "--recipient", "r.pub", "--issuer", "gov.key"]
        w = measure(write_cmd, runs=1 if n >= 1_000_000 else 3)
        # synth prints "N records, B bytes"; the records are the same every run (seeded).
        record_bytes = int(open(arch + ".records").read().split()[2]) if os.path.exists(arch + ".records") else 0
        size = os.path.getsize(arch)
        overhead = (size - record_bytes) / n
        info = measure([L, "info", arch])
        one = f"r{(n // 2) // 10_000:04}/p{n // 2:010}.bin"
        cat = measure([L, "cat", arch, one, "-i", "r.key"])
        first = first_lines([L, "ls", arch, "-i", "r.key"])
        ls = measure([L, "ls", arch, "-i", "r.key"], runs=1 if big else 3)
        fx = measure([L, "verify", arch, "--issuer", "gov.pub"], runs=1 if big else 3)
        b3 = measure(["b3sum", arch], runs=1 if big else 3)
        ct = measure([L, "verify", arch, "-i", "r.key", "--level", "content"], runs=1 if big else 3)
        run([L, "prove", arch, one, "-i", "r.key", "-o", "one.proof", "--force"])
        proof_size = os.path.getsize("one.proof")
        chk = measure([L, "check-proof", "one.proof", "--issuer", "gov.pub"])
        budget = 1.25 * b3[0] + 0.2e-6 * n
        rows.append(f"| {n:,} | {size / 2**20:.1f} MiB | {overhead:.1f} B | {ms(w[0])} / {w[1]:.0f} MB "
                    f"| {ms(info[0])} / {info[1]:.0f} MB | {ms(cat[0])} / {cat[1]:.0f} MB | {ms(first)} "
                    f"| {ms(ls[0])} / {ls[1]:.0f} MB | {ms(fx[0])} / {fx[1]:.0f} MB | {ms(b3[0])} "
                    f"| {ms(ct[0])} / {ct[1]:.0f} MB | {proof_size:,} B | {ms(chk[0])} |")
        checks.append((n, overhead, info, cat, first, ls, fx, budget, chk))
        print(rows[-1], flush=True)
        load.append(os.getloadavg()[0])
    packs = pack_rows() if PACK else []
    load.append(os.getloadavg()[0])
    write(rows, checks, load, packs)


def folder(name, count, binary):
    """`count` records of 20-200 bytes, 10,000 to a folder: text lines for
    the text decoder, or random bytes in `.bin` files that no decoder takes."""
    path = os.path.join(BENCH, name)
    if os.path.exists(path + ".complete"):
        return name
    shutil.rmtree(path, ignore_errors=True)
    rng = random.Random(20)
    for i in range(count):
        if i % 10_000 == 0:
            d = os.path.join(path, f"r{i // 10_000:04}")
            os.makedirs(d)
        n = rng.randint(20, 200)
        if binary:
            with open(os.path.join(d, f"p{i:010}.bin"), "wb") as f:
                f.write(rng.randbytes(n))
        else:
            line = f"person {i:010}, born {1900 + i % 120}, register entry " * 4
            with open(os.path.join(d, f"p{i:010}.txt"), "w") as f:
                f.write(line[:n - 1] + "\n")
    open(path + ".complete", "w").close()
    return name


def people(count):
    name = f"people{count}"
    if not os.path.exists(os.path.join(BENCH, name + ".complete")):
        shutil.rmtree(os.path.join(BENCH, name), ignore_errors=True)
        subprocess.run([GEN, "--out", name, "--seed", "7", "--people", str(count), "--scan-share", "0"],
                       check=True, capture_output=True, cwd=BENCH)
        open(os.path.join(BENCH, name + ".complete"), "w").close()
    return name


def pack_rows():
    if not os.path.exists("age.key"):
        subprocess.run(["age-keygen", "-o", "age.key"], check=True, capture_output=True)
    age_pub = subprocess.run(["age-keygen", "-y", "age.key"], check=True, capture_output=True,
                             text=True).stdout.strip()
    rows = []
    for label, src in [("1,000,000 text records, 20-200 bytes, each rendered", lambda: folder("text1m", 1_000_000, False)),
                       ("1,000,000 binary records, 20-200 bytes, no decoder", lambda: folder("bin1m", 1_000_000, True)),
                       ("500,000 people of `legation-samples` (records and Dublin Core sidecars)", lambda: people(500_000))]:
        name = src()
        files = sum(len(f) for _, _, f in os.walk(os.path.join(BENCH, name)))
        out = f"{name}.lgn"
        if os.path.exists(out):
            os.remove(out)
        pack = [L, "pack", name, "-o", out, "-r", "r.pub", "--sign", "gov.key", "--format", "2.0", "--force"]
        # Without identification first, then as `pack` runs, in the same run.
        bare = measure(["env", "LEGATION_NO_IDENTIFY=1"] + pack, runs=1)
        p = measure(pack, runs=1)
        t = measure(["bash", "-c", f"tar -cf - {name} | age -r {age_pub} > {name}.tar.age"], runs=1)
        size = os.path.getsize(out)
        rows.append(f"| {label} ({files:,} files) | {ms(p[0])} / {p[1]:.0f} MB | {ms(bare[0])} / {bare[1]:.0f} MB "
                    f"| {100 * (p[0] / bare[0] - 1):+.1f}% | {size / 2**20:.1f} MiB "
                    f"| {ms(t[0])} / {t[1]:.0f} MB | **{t[0] / p[0]:.2f}x** |")
        print(rows[-1], flush=True)
        os.remove(out)
        os.remove(f"{name}.tar.age")
        # tmpfs holds a file in at least 4 KiB of memory: one folder at a time.
        shutil.rmtree(os.path.join(BENCH, name))
        os.remove(os.path.join(BENCH, name + ".complete"))
    return rows


def pack_table(packs):
    if not packs:
        return ""
    return f"""Packing folders (`legation pack DIR --format 2.0 -r r.pub --sign gov.key`, one run each) against
`tar -cf - DIR | age -r KEY` in the same run; ratio = their time / ours (above 1: Legation faster).
*Without identification* is the same `pack` with LEGATION_NO_IDENTIFY=1 (no record's PRONOM PUID
identified, as before issue 24), run just before it; *cost* is how much longer `pack` takes with it.
Targets: the rendered million within 30 s and 256 MB; the binary million within 1.5x `tar | age`;
identification at most 10% slower (issue 24).

| folder | `pack` | without identification | cost | archive | `tar \\| age` | ratio |
|---|---|---|---|---|---|---|
{chr(10).join(packs)}

"""


def write_pack_only(packs, load):
    """Rewrites only the packing table of the national section (NATIONAL_PACK_ONLY=1), saying
    the commit and load of its own run above it."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    table = (f"The packing table below was run on its own (`NATIONAL_PACK_ONLY=1`) on {time.strftime('%Y-%m-%d')} at "
             f"commit {commit}, load average {min(load + LOADS):.1f} to {max(load + LOADS):.1f}.\n\n" + pack_table(packs))
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read()
    a = text.index(HEADING)
    b = text.index("Against issue 20's targets:", a)
    start = text.find("The packing table below was run on its own", a, b)
    if start < 0:
        start = text.index("Packing folders (", a, b)
    text = text[:start] + table + text[b:]
    with open(path, "w") as f:
        f.write(text)
    print(table)


def write(rows, checks, load, packs):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    verdicts = []
    for n, overhead, info, cat, first, ls, fx, budget, chk in checks:
        bad = []
        if overhead > 128: bad.append(f"overhead {overhead:.0f} B > 128 B")
        if info[0] > 0.020 or info[1] > 32: bad.append(f"public facts {ms(info[0])}/{info[1]:.0f} MB > 20 ms/32 MB")
        if cat[0] > 0.020 or cat[1] > 48: bad.append(f"cat {ms(cat[0])}/{cat[1]:.0f} MB > 20 ms/48 MB")
        if first > 0.050: bad.append(f"first 100 listed in {ms(first)} > 50 ms")
        if ls[1] > 64 or (n >= 10_000_000 and ls[0] > 10): bad.append(f"list {ms(ls[0])}/{ls[1]:.0f} MB")
        if fx[0] > budget or fx[1] > 64: bad.append(f"audit {ms(fx[0])}/{fx[1]:.0f} MB > {ms(budget)}/64 MB")
        if chk[0] > 0.005: bad.append(f"check-proof {ms(chk[0])} > 5 ms")
        scope = "" if n >= 1_000_000 else " (below the 1,000,000 and 10,000,000 records the issue sets its targets at; for the trend)"
        verdicts.append(f"- {n:,} records{scope}: " + ("every target met" if not bad else "missed: " + "; ".join(bad)))
    section = f"""{HEADING}

Written by `python3 scripts/bench_national.py` on {time.strftime('%Y-%m-%d')} at commit {commit}
({os.cpu_count()} cores, {cpu}; archives on tmpfs; load average {min(load):.1f} to {max(load):.1f}
during the run, 0 meaning the machine was otherwise idle). Records are synthetic (`synth`, benches/src/bin/synth.rs:
20-200 random bytes, 21-byte paths, no decoder, no Dublin Core), written through the 2.0 writer
without files, for one X25519 recipient and signed. Every command is a fresh process; each cell is
the median time / the largest peak RSS (from `wait4`) of {RUNS} runs (3 from 10,000 records for
write, list, audit, content; 1 at 10,000,000). *Overhead* is (archive size - record bytes) / records,
sealing, padding and tags included. *First 100* is the time until `ls` has printed 100 records.
*Audit* is `verify --issuer gov.pub` (no key); its budget is 1.25 x `b3sum` + 0.2 µs a record.

| records | archive | overhead | write | `info` | `cat` one | `ls` first 100 | `ls` all | audit | `b3sum` | content | proof | `check-proof` |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{pack_table(packs)}Against issue 20's targets:

{chr(10).join(verdicts)}

"""
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read()
    if HEADING in text:
        a = text.index(HEADING)
        b = text.find("\n## ", a + len(HEADING))
        text = text[:a] + section + (text[b + 1:] if b >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
    print(section)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Whole-process benchmarks behind BENCHMARKS.md (run through scripts/bench.sh).

Each command runs three times; the median wall time and the largest peak
resident set (from /usr/bin/time) are reported, with ratios against the
tool a user would otherwise pick, measured in the same run on the same data.
"""
import os, platform, random, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = os.path.join(ROOT, "target", "release", "legation")
BENCH = os.path.join(os.environ.get("BENCH_DIR", "/dev/shm"), "legation-bench")
QUICK = os.environ.get("BENCH_QUICK") == "1"
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


def rm(*names):
    return "rm -f " + " ".join(os.path.join(BENCH, n) for n in names)


def row(name, ours, theirs_name, theirs):
    ratio = theirs[0] / ours[0] if ours[0] > 0 else float("inf")
    return f"| {name} | {ours[0]:.2f} s | {ours[1]:.0f} MB | {theirs_name} | {theirs[0]:.2f} s | {theirs[1]:.0f} MB | **{ratio:.2f}x** |"


def tidy(crit):
    """Criterion's lines without comparisons to earlier runs."""
    keep = lambda l: l.strip() and "%" not in l and not l.startswith(("Found", "Benchmarking", "Gnuplot")) and "outlier" not in l and "regressed" not in l and "improved" not in l and "No change" not in l and "noise threshold" not in l
    return "\n".join(l for l in crit.splitlines() if keep(l))


def decoder_table(crit):
    """Median decode times natively and on wasmtime, from criterion's output."""
    unit = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
    times, name = {}, None
    for line in crit.splitlines():
        if not line.startswith(" "):
            name = line.split(" time:")[0].strip()
        if "time:" in line and name:
            parts = line.split("[")[1].split("]")[0].split()
            times[name] = float(parts[2]) * unit[parts[3]]
    rows = []
    for key, native in times.items():
        if key.startswith("decode ") and key.endswith("/native"):
            wasm = times.get(key.replace("/native", "/wasmtime, metered"))
            if wasm:
                rows.append(f"| {key[7:-7]} | {native:.1f} µs | {wasm:.1f} µs | {wasm / native:.2f}x |")
    if not rows:
        return ""
    ratios = sorted(float(r.split("|")[4].strip()[:-1]) for r in rows)
    return ("| file | native | wasmtime, metered | ratio |\n|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\nMedian ratio {statistics.median(ratios):.2f}x. Per-call overhead: see the last decoder line below.\n")


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

    suite("1 GiB, one incompressible record", "big")
    arch, z7 = suite("100,000 records of 200-2000 random bytes", "small")
    sh(f"7zz a -bso0 -bsp0 -tzip -mx0 plain.zip small" if not os.path.exists("plain.zip") else "true")
    rows.append(row("list all records", measure(f"{L} ls {arch} -i r.key"), "`7zz l -p…`", measure(f"7zz l -p{SECRET} {z7}")))
    rows.append(row("list (public facts / `unzip -l`)", measure(f"{L} ls {arch}"), "`unzip -l` of the archive", measure(f"unzip -l {arch}")))
    one = "small/d0050/r0500.bin"
    rows.append(row("read one record", measure(f"{L} cat {arch} {one[6:]} -i r.key"), "`7zz e -so -p…`", measure(f"7zz e -so -p{SECRET} {z7} {one}")))
    rows.append(row("read one record", measure(f"{L} cat {arch} {one[6:]} -i r.key"), "`unzip -p` (unencrypted zip)", measure(f"unzip -p plain.zip {one}")))

    scale = []
    for n in ([1000, 10_000, 100_000] if QUICK else [1000, 10_000, 100_000, 1_000_000]):
        src = f"text{n}"
        small_tree(os.path.join(BENCH, src), n, rng, text=True)
        arch = f"{src}.lgn"
        p = measure(f"{L} pack {src} -o {arch} -r r.pub", before=rm(arch), runs=1 if n >= 1_000_000 else RUNS)
        o = measure(f"{L} ls {arch}")
        ls = measure(f"{L} ls {arch} -i r.key")
        cat = measure(f"{L} cat {arch} d0000/r0000.bin -i r.key")
        fx = measure(f"{L} verify {arch}")
        ct = measure(f"{L} verify {arch} -i r.key --level content", runs=1 if n >= 1_000_000 else RUNS)
        rv = measure(f"{L} verify {arch} -i r.key --level render", runs=1)
        size = os.path.getsize(arch) / MiB
        scale.append(f"| {n:,} | {size:.1f} MiB | {p[0]:.2f} s / {p[1]:.0f} MB | {o[0]:.3f} s / {o[1]:.0f} MB | {ls[0]:.3f} s / {ls[1]:.0f} MB | {cat[0]:.3f} s | {fx[0]:.3f} s / {fx[1]:.0f} MB | {ct[0]:.2f} s / {ct[1]:.0f} MB | {rv[0]:.2f} s / {rv[1]:.0f} MB |")

    crit = ""
    if not QUICK:
        out = subprocess.run(["cargo", "bench", "-q", "-p", "legation-benches", "--", "--noplot"],
                             cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"cargo bench failed:\n{out.stderr[-3000:]}")
        crit = out.stdout
        crit = tidy(crit)

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

Records of about 15 bytes of text each (the cost of records, not of bytes). Each cell
is time / peak RSS.

| records | archive | pack (renders every record) | open (public facts) | list all | read one | fixity | content | render |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(scale)}

## Decoders: native against metered WebAssembly (criterion medians)

{decoder_table(crit) or "(skipped: BENCH_QUICK=1)"}

## Criterion (library level, `cargo bench -p legation-benches`)

`benches/benches/format.rs`: the AEAD implementations (ring natively, the aes-gcm crate
that the wasm32 build uses), pack/fixity/content of one 256 MiB record in memory, and
open/list/read-one/pack/content on 100,000 records. `benches/benches/decoders.rs`: each
built-in decoder compiled natively against the same decoder as metered WebAssembly on
wasmtime (fuel, depth and memory limits on; host output checks included), and the fixed
cost of one call (fresh pooled instance, allocation, call, output check) with a decoder
that does nothing.

```
{crit or "(skipped: BENCH_QUICK=1)"}
```
"""
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()

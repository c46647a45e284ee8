#!/usr/bin/env python3
"""Issue 21's benchmark of generations at size: a daily change (0.1 % of the
records) to a large archive, against packing and uploading it whole again
and against `restic backup` of the same change.

    python3 scripts/bench_generations.py 2      # a 2 GB register
    python3 scripts/bench_generations.py 8      # an 8 GB one (3 x 8 GB at the peak: folder, archive, store)

The register: N scans of 100 KB to 1 MB of random bytes (uniform; so that a
GB is about 1,800 scans) and ten small text records a scan (a person's
entry, 0.3 to 3 KB of semicolon-separated lines), in folders of 1,000.
A day's change rewrites 0.1 % of the scans (new random bytes, the same
size) and 0.1 % of the text records (a line appended); nothing is added
or removed. Every file's bytes follow from its number and version, so a
stage that deleted the folder writes exactly the same one again.

Stages, one at a time, each deleting its data before the next:
  1. legation: pack generation 0, the change, `pack --update` (generation
     1, a delta file), the keyless audit of the series (`verify
     --issuer`), with b3sum of every file of the folder as a baseline;
  2. push: a single-node Garage (replication 1, data beside the archives),
     `push` of generation 0 then of generation 1, bytes sent and stored,
     the keyless audit of the remote series; the series is then deleted;
  3. again: `pack` of the changed folder whole, and tar | age of it into a
     file beside the archives (the folder written anew first when the push
     stage needed its disk space);
  4. restic: the folder written again, `restic init`, `backup`, the same
     change, `backup`, the repository's growth.

Times are wall clock; peak RSS and bytes written come from the finished
process's rusage (ru_maxrss; ru_oublock x 512, which Linux counts as the
task's write_bytes, the bytes it sent towards the disk). The load average
is read before each timed command. Needs target/release/legation (cargo
build --release -p legation), Garage 2.5.0 (scripts/install-garage.sh),
python3-boto3, restic, b3sum, age. Writes only under $GEN_BENCH_DIR
(default /var/tmp/legation-bench-generations: the root disk, not tmpfs)
and stops before any large write that would leave under 8 GB free there.
Prints a Markdown summary and writes the figures as JSON to
$GEN_BENCH_DIR.results/SIZE.json. GEN_BENCH_SRC=DIR writes the register's
folder under DIR instead (e.g. /dev/shm, when the disk cannot hold it as well),
GEN_BENCH_STORE=DIR the Garage node's data. A second argument names the
stages to run (e.g. `push,again`; they read what the earlier ones left).
A stage that fails deletes the size's data before stopping.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGATION = os.environ.get("LEGATION", os.path.join(ROOT, "target", "release", "legation"))
BASE = os.environ.get("GEN_BENCH_DIR", "/var/tmp/legation-bench-generations")
RESULTS = BASE.rstrip("/") + ".results"
# The register's folder: beside the archives by default; GEN_BENCH_SRC puts
# it elsewhere (tmpfs, when the disk cannot hold it and the archives).
SRC_BASE = os.environ.get("GEN_BENCH_SRC", BASE)
# Where the Garage node keeps its data (GEN_BENCH_STORE; beside the archives
# by default).
STORE_BASE = os.environ.get("GEN_BENCH_STORE", BASE)
MARGIN = 8 << 30  # bytes always left free on the disk
RATE = 0.001  # the day's share of records changed
SCAN_MIN, SCAN_MAX = 100_000, 1_000_000
TEXTS_PER_SCAN = 10
PORT = int(os.environ.get("GEN_BENCH_PORT", "29900"))
RESTIC_PASSWORD = "bench-generations-restic-2026"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load():
    return round(os.getloadavg()[0], 2)


def need(where, nbytes, what):
    """Stops unless writing `nbytes` under `where` leaves MARGIN free there."""
    f = shutil.disk_usage(where).free
    log(f"disk: {f / 1e9:.1f} GB free in {where} before {what} ({nbytes / 1e9:.1f} GB)")
    if f - nbytes < MARGIN:
        raise SystemExit(f"stopped before {what}: {f / 1e9:.1f} GB free, it needs "
                         f"{nbytes / 1e9:.1f} GB and {MARGIN / 1e9:.1f} GB must stay free")


def need_folder_and(est, other):
    """`need` for the folder (about `est` bytes) and `other` of its size
    beside the archives, on one filesystem or two."""
    if os.stat(SRC_BASE).st_dev == os.stat(BASE).st_dev:
        need(BASE, 2.1 * est, f"the folder and {other}")
    else:
        need(SRC_BASE, 1.05 * est, "the folder")
        need(BASE, 1.05 * est, other)


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for n in files:
            try:
                total += os.lstat(os.path.join(d, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def run(cmd, cwd, env=None, stdin=None, shell=False):
    """Runs a command; its wall time, the load before it, and its output."""
    l = load()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=stdin, shell=shell, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {cmd}\n{out}\n{err}")
    return {"s": round(wall, 2), "load": l, "out": out, "err": err}


def measured(cmd, cwd, env=None):
    """`run` with the child's own rusage: peak RSS and bytes written."""
    l = load()
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Both pipes drained by threads; the child reaped by wait4 for its rusage.
    bufs = {}

    def drain(name, f):
        bufs[name] = f.read()

    ts = [threading.Thread(target=drain, args=(n, f)) for n, f in (("out", p.stdout), ("err", p.stderr))]
    for th in ts:
        th.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    for th in ts:
        th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = bufs["out"].decode(errors="replace"), bufs["err"].decode(errors="replace")
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {cmd}\n{out}\n{err}")
    return {"s": round(wall, 2), "load": l, "rss_mb": round(ru.ru_maxrss / 1024, 1),
            "written": ru.ru_oublock * 512, "out": out, "err": err}


# The register.

def scan_count(gb):
    return int(gb * 1e9 * 0.97 / ((SCAN_MIN + SCAN_MAX) / 2))


def scan_path(i):
    return os.path.join("scans", f"{i // 1000:03}", f"scan-{i:06}.bin")


def text_path(i):
    return os.path.join("register", f"{i // 1000:04}", f"person-{i:07}.txt")


def scan_bytes(i, version):
    size = random.Random(f"size-{i}").randint(SCAN_MIN, SCAN_MAX)
    return random.Random(f"scan-{i}-{version}").randbytes(size)


PLACES = ["Tallinn", "Tartu", "Narva", "Pärnu", "Kohtla-Järve", "Viljandi", "Rakvere", "Maardu"]
NAMES = ["Mari", "Jaan", "Kadri", "Peeter", "Liis", "Andres", "Tiina", "Märt", "Anu", "Toomas"]


def text_bytes(i, version):
    r = random.Random(f"text-{i}")
    lines = [f"id;{i:07}", f"name;{r.choice(NAMES)} {r.choice(NAMES)}son",
             f"born;{r.randint(1920, 2025)}-{r.randint(1, 12):02}-{r.randint(1, 28):02}",
             f"place;{r.choice(PLACES)}"]
    for k in range(r.randint(2, 40)):
        lines.append(f"event;{r.randint(1940, 2026)};{r.choice(['address', 'marriage', 'child', 'name', 'document'])};"
                     f"{r.choice(PLACES)};{r.getrandbits(48):012x}")
    for v in range(version):
        lines.append(f"amended;2026-12-{v + 1:02};address;{r.choice(PLACES)}")
    return ("\n".join(lines) + "\n").encode()


def write(src, rel, data):
    p = os.path.join(src, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def generate(src, scans):
    t = time.perf_counter()
    total = 0
    for i in range(scans):
        b = scan_bytes(i, 0)
        write(src, scan_path(i), b)
        total += len(b)
    for i in range(scans * TEXTS_PER_SCAN):
        b = text_bytes(i, 0)
        write(src, text_path(i), b)
        total += len(b)
    log(f"generated {scans} scans and {scans * TEXTS_PER_SCAN} text records, {total / 1e9:.2f} GB "
        f"in {time.perf_counter() - t:.0f} s")
    return total


def chosen(scans):
    """The day's change: 0.1 % of each kind of record, drawn once."""
    texts = scans * TEXTS_PER_SCAN
    r = random.Random("the-day")
    return (sorted(r.sample(range(scans), max(1, round(scans * RATE)))),
            sorted(r.sample(range(texts), max(1, round(texts * RATE)))))


def change(src, scans, version=1):
    """Applies the day's change (version 1) or undoes it (version 0)."""
    cs, ct = chosen(scans)
    total = 0
    for i in cs:
        b = scan_bytes(i, version)
        write(src, scan_path(i), b)
        total += len(b)
    for i in ct:
        b = text_bytes(i, version)
        write(src, text_path(i), b)
        total += len(b)
    return len(cs) + len(ct), total


# Garage, one node.

def garage_start(d):
    garage = shutil.which("garage") or os.path.expanduser("~/.cargo/bin/garage")
    os.makedirs(d)
    conf = os.path.join(d, "garage.toml")
    secret = os.urandom(32).hex()
    with open(conf, "w") as f:
        f.write(f"""metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "sqlite"
replication_factor = 1
compression_level = "none"
rpc_bind_addr = "127.0.0.1:{PORT + 1}"
rpc_public_addr = "127.0.0.1:{PORT + 1}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{PORT + 2}"
root_domain = ".s3.localhost"
""")
    logf = open(os.path.join(d, "garage.log"), "w")
    proc = subprocess.Popen([garage, "-c", conf, "server"], stdout=logf, stderr=logf,
                            env=dict(os.environ, RUST_LOG="warn"))
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", PORT + 2), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"garage exited; see {d}/garage.log")
            time.sleep(0.1)
    g = lambda *a: subprocess.run([garage, "-c", conf, *a], check=True, capture_output=True, text=True).stdout
    node = g("node", "id", "-q").strip().split("@")[0]
    g("layout", "assign", "-z", "here", "-c", "100G", node)
    g("layout", "apply", "--version", "1")
    g("bucket", "create", "bench")
    key = g("key", "create", "bench")
    kid = next(l.split()[-1] for l in key.splitlines() if "Key ID" in l)
    ksec = next(l.split()[-1] for l in key.splitlines() if "Secret key" in l)
    g("bucket", "allow", "--read", "--write", "--owner", "bench", "--key", "bench")
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{PORT + 2}", AWS_ACCESS_KEY_ID=kid,
               AWS_SECRET_ACCESS_KEY=ksec, AWS_REGION="garage")
    return proc, env


def stored(env):
    """Bytes of the objects in the bucket."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="garage",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench"):
        total += sum(o["Size"] for o in page.get("Contents", []))
    return total


def sent(out):
    """The bytes of push's `sent:` lines (MiB-rounded as printed), summed."""
    units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
    total = 0
    for line in out.splitlines():
        if line.startswith("sent:"):
            w = line.split()
            total += float(w[1]) * units[w[2]]
    return int(total)


def fetched(lines):
    """Bytes fetched by `--stats`, each object counted once (an object
    opened twice prints its line twice)."""
    per = {}
    for line in lines:
        name, _, rest = line.removeprefix("stats: ").rpartition(": fetched ")
        per[name] = max(per.get(name, 0), int(rest.split()[0]))
    return sum(per.values())


def strip(r):
    return {k: v for k, v in r.items() if k not in ("out", "err")}


def main():
    gb = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else ["legation", "push", "again", "restic"]
    scans = scan_count(gb)
    for path in (BASE, RESULTS, SRC_BASE, STORE_BASE):
        os.makedirs(path, exist_ok=True)
    res_path = os.path.join(RESULTS, f"{gb:g}.json")
    res = json.load(open(res_path)) if os.path.exists(res_path) else {}
    res.update({"gb": gb, "scans": scans, "texts": scans * TEXTS_PER_SCAN,
                "legation_version": subprocess.run([LEGATION, "--version"], capture_output=True,
                                                   text=True).stdout.strip(),
                "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                         capture_output=True, text=True).stdout.strip()})
    save = lambda: json.dump(res, open(res_path, "w"), indent=1)
    d = os.path.join(BASE, f"{gb:g}")
    src = os.path.join(SRC_BASE, f"src-{gb:g}")
    est = gb * 1e9
    cs, ct = chosen(scans)
    res["changed_records"] = len(cs) + len(ct)

    if "legation" in only:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        os.makedirs(SRC_BASE, exist_ok=True)
        shutil.rmtree(src, ignore_errors=True)
        need_folder_and(est, "generation 0")
        res["source_bytes"] = generate(src, scans)
        run([LEGATION, "keygen", "recipient", "-o", "alice"], d)
        run([LEGATION, "keygen", "issuer", "-o", "gov"], d)
        subprocess.run(["age-keygen", "-o", os.path.join(d, "age.key")], check=True, capture_output=True)
        log("pack generation 0")
        r = measured([LEGATION, "pack", src, "-o", "reg.00000000.lgn", "-r", "alice.pub", "--sign", "gov.key"], d)
        r["size"] = os.path.getsize(os.path.join(d, "reg.00000000.lgn"))
        res["pack0"] = strip(r)
        log(f"pack generation 0: {strip(r)}")
        log("baseline on the unchanged folder: b3sum of every file")
        r = run(f"find {src} -type f -print0 | xargs -0 b3sum >/dev/null", d, shell=True)
        res["b3sum_src"] = strip(r)
        log(f"baseline: {res['b3sum_src']}")
        n, nbytes = change(src, scans)
        res["changed_records"], res["changed_bytes"] = n, nbytes
        log(f"changed {n} records, {nbytes:,} bytes; pack --update")
        r = measured([LEGATION, "pack", src, "--update", "reg.00000000.lgn", "-o", "reg.00000001.lgn",
                      "-i", "alice.key", "--sign", "gov.key"], d)
        r["size"] = os.path.getsize(os.path.join(d, "reg.00000001.lgn"))
        r["summary"] = [l for l in r["err"].splitlines() if "generation" in l]
        res["update"] = strip(r)
        log(f"pack --update: {strip(r)}")
        log("keyless audit of the series and of generation 0")
        r = measured([LEGATION, "verify", "--issuer", "gov.pub", "reg.00000001.lgn"], d)
        res["audit_series"] = strip(r)
        res["audit_series_out"] = r["out"][-2000:]
        r = run(["b3sum", "reg.00000000.lgn", "reg.00000001.lgn"], d)
        res["b3sum_archives"] = strip(r)
        log(f"audit: {res['audit_series']} b3sum {res['b3sum_archives']}")
        if "push" in only and os.stat(SRC_BASE).st_dev == os.stat(STORE_BASE).st_dev:
            # The folder and the store's copy never share their disk (or
            # tmpfs): "again" writes the folder anew (its bytes are fixed).
            shutil.rmtree(src)
        save()

    if "push" in only:
        os.makedirs(STORE_BASE, exist_ok=True)
        gdir = os.path.join(STORE_BASE, f"garage-{gb:g}")
        shutil.rmtree(gdir, ignore_errors=True)
        try:
            need(STORE_BASE, 1.05 * est, "the store's copy")
        except SystemExit as e:
            # The stages after it do not need it: say so and go on.
            log(str(e))
            res["push_skipped"] = f"{e} ({time.strftime('%H:%M UTC', time.gmtime())})"
            only = [s for s in only if s != "push"]
    if "push" in only:
        proc, env = garage_start(gdir)
        try:
            url = "s3://bench/register/reg.{:08}.lgn"
            s0 = stored(env)
            r = measured([LEGATION, "push", "reg.00000000.lgn", url.format(0), "--issuer", "gov.pub"], d, env)
            s1 = stored(env)
            r.update(sent=sent(r["out"]), stored=s1 - s0)
            res["push0"] = strip(r)
            log(f"push 0: {strip(r)}")
            r = measured([LEGATION, "push", "reg.00000001.lgn", url.format(1), "--issuer", "gov.pub"], d, env)
            s2 = stored(env)
            r.update(sent=sent(r["out"]), stored=s2 - s1)
            res["push1"] = strip(r)
            res["push1_out"] = r["out"][-2000:]
            log(f"push 1: {strip(r)}")
            r = measured([LEGATION, "--stats", "verify", "--issuer", "gov.pub", url.format(1)], d, env)
            res["audit_remote"] = strip(r)
            res["audit_remote_stats"] = [l for l in r["err"].splitlines() if l.startswith("stats:")]
            log(f"remote audit: {strip(r)} {res['audit_remote_stats']}")
        finally:
            proc.terminate()
            proc.wait()
            shutil.rmtree(gdir, ignore_errors=True)
        save()

    for n in ("reg.00000000.lgn", "reg.00000001.lgn"):
        if os.path.exists(os.path.join(d, n)):
            os.remove(os.path.join(d, n))

    if "again" in only:
        # After the series is deleted, so that the disk holds one archive.
        if not os.path.exists(src):
            need(SRC_BASE, 1.05 * est, "the folder, written anew")
            generate(src, scans)
            change(src, scans)
        need(BASE, 1.05 * est, "a whole pack of the changed folder")
        r = measured([LEGATION, "pack", src, "-o", "full.lgn", "-r", "alice.pub", "--sign", "gov.key"], d)
        r["size"] = os.path.getsize(os.path.join(d, "full.lgn"))
        res["pack_again"] = strip(r)
        os.remove(os.path.join(d, "full.lgn"))
        log(f"pack again: {strip(r)}")
        need(BASE, 1.05 * est, "tar | age of the changed folder")
        age_pub = next(l.split()[-1] for l in open(os.path.join(d, "age.key")) if "public key" in l)
        r = measured(["bash", "-c", f"tar -C {src} -cf - . | age -r {age_pub} > full.tar.age && sync full.tar.age"],
                     d)
        r["size"] = os.path.getsize(os.path.join(d, "full.tar.age"))
        res["tar_age"] = strip(r)
        os.remove(os.path.join(d, "full.tar.age"))
        log(f"tar | age: {strip(r)}")
        save()

    if "restic" in only:
        shutil.rmtree(src, ignore_errors=True)
        need_folder_and(est, "the restic repository")
        generate(src, scans)
        repo = os.path.join(d, "restic")
        shutil.rmtree(repo, ignore_errors=True)
        env = dict(os.environ, RESTIC_PASSWORD=RESTIC_PASSWORD, RESTIC_REPOSITORY=repo)
        run(["restic", "init"], d, env)
        r = measured(["restic", "backup", src], d, env)
        r["repo"] = du(repo)
        res["restic1"] = strip(r)
        log(f"restic backup 1: {strip(r)}")
        change(src, scans)
        r = measured(["restic", "backup", src], d, env)
        r["repo"] = du(repo)
        r["added"] = r["repo"] - res["restic1"]["repo"]
        r["summary"] = [l for l in r["out"].splitlines() if l.startswith(("Files:", "Dirs:", "Added"))]
        res["restic2"] = strip(r)
        log(f"restic backup 2: {strip(r)}")
        shutil.rmtree(repo)
        shutil.rmtree(src)
        res["restic_version"] = subprocess.run(["restic", "version"], capture_output=True, text=True).stdout.strip()
        save()

    shutil.rmtree(d, ignore_errors=True)
    print(summary(res))


def summary(r):
    """A Markdown table of what was measured for one size."""
    mb = lambda b: f"{b / 1e6:,.1f} MB"
    rows = []

    def row(what, x, extra=""):
        if x:
            rows.append(f"| {what} | {x['s']:.2f} s | {x.get('rss_mb', '')} | {extra} | {x['load']} |")

    row("pack generation 0 (the whole archive)", r.get("pack0"),
        r.get("pack0") and f"archive {mb(r['pack0']['size'])}, written {mb(r['pack0']['written'])}")
    row("`pack --update` (generation 1)", r.get("update"),
        r.get("update") and f"delta {mb(r['update']['size'])}, written {mb(r['update']['written'])}")
    row("`pack` of the changed folder whole", r.get("pack_again"),
        r.get("pack_again") and f"archive {mb(r['pack_again']['size'])}, written {mb(r['pack_again']['written'])}")
    row("b3sum of every file of the folder", r.get("b3sum_src"))
    row("tar \\| age of the changed folder into a file", r.get("tar_age"),
        r.get("tar_age") and f"{mb(r['tar_age']['size'])}, written {mb(r['tar_age']['written'])}")
    row("`verify --issuer` of generation 1 (the series)", r.get("audit_series"))
    row("b3sum of the two files", r.get("b3sum_archives"))
    row("`push` generation 0 (with its remote audit)", r.get("push0"),
        r.get("push0") and f"sent {mb(r['push0']['sent'])}, stored {mb(r['push0']['stored'])}")
    row("`push` generation 1 (with the series' remote audit)", r.get("push1"),
        r.get("push1") and f"sent {mb(r['push1']['sent'])}, stored {mb(r['push1']['stored'])}")
    row("`verify --issuer s3://…` of generation 1", r.get("audit_remote"),
        r.get("audit_remote") and f"fetched {mb(fetched(r['audit_remote_stats']))}")
    row("`restic backup`, first", r.get("restic1"), r.get("restic1") and f"repository {mb(r['restic1']['repo'])}")
    row("`restic backup` after the change", r.get("restic2"),
        r.get("restic2") and f"repository +{mb(r['restic2']['added'])}")
    head = (f"{r['gb']:g} GB: {r['scans']:,} scans, {r['texts']:,} text records; "
            f"changed {r.get('changed_records')} records, {mb(r.get('changed_bytes', 0))}\n\n"
            "| step | time | peak RSS (MB) | bytes | load |\n|---|---|---|---|---|\n")
    skipped = f"\npush not measured: {r['push_skipped']}\n" if r.get("push_skipped") else ""
    return head + "\n".join(rows) + "\n" + skipped


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        size = f"{float(sys.argv[1]) if len(sys.argv) > 1 else 2.0:g}"
        for path in (os.path.join(BASE, size), os.path.join(SRC_BASE, f"src-{size}")):
            shutil.rmtree(path, ignore_errors=True)
        raise

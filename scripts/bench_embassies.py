#!/usr/bin/env python3
"""The embassies' benchmark: a 1 GiB archive on a three-node Garage cluster
on 127.0.0.1 (scripts/embassies.sh), against the same archive on local
disk and against boto3's transfer manager (what `aws s3 cp` uses).

Prints a Markdown section for BENCHMARKS.md. Needs a release `legation`
(cargo build --release -p legation), Garage 2.5.0 and python3-boto3, and
about 7 GB in BENCH_DIR (default /dev/shm: the nodes' data, the archive
and the copies all in memory, so that disk speed does not decide).

usage: bench_embassies.py [LEGATION_BINARY]
"""

import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(os.environ.get("BENCH_DIR", "/dev/shm"), "legation-embassies")
RUNS = 3
MiB = 1 << 20
PASSPHRASE = "correct-horse-battery-staple-embassy-2026"
RECORD = "national/population/register-ost.csv"


def timed(cmd, env, runs=RUNS, before=None):
    """Median seconds of `cmd`, and the last run's standard error."""
    times, err = [], ""
    for _ in range(runs):
        if before:
            before()
        t = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=BENCH)
        times.append(time.perf_counter() - t)
        if out.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
        err = out.stderr
    return statistics.median(times), err


def stats(err):
    """(bytes, requests) from a --stats line."""
    line = next(l for l in err.splitlines() if l.startswith("stats: "))
    n = [int(w) for w in line.split() if w.isdigit()]
    return n[0], n[2]


def main():
    legation = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/legation"))
    shutil.rmtree(BENCH, ignore_errors=True)
    os.makedirs(BENCH)
    records = os.path.join(BENCH, "records")
    shutil.copytree(os.path.join(ROOT, "samples", "national"), os.path.join(records, "national"))
    os.makedirs(os.path.join(records, "scans"))
    rng = random.Random(7)
    for i in range(31):
        with open(os.path.join(records, "scans", f"volume-{i:02}.bin"), "wb") as f:
            f.write(rng.randbytes(32 * MiB))
    with open(os.path.join(BENCH, "pp"), "w") as f:
        f.write(PASSPHRASE + "\n")
    env = dict(os.environ)
    subprocess.run([legation, "pack", "records", "-o", "a.lgn", "--passphrase-file", "pp"],
                   check=True, cwd=BENCH, capture_output=True)
    size = os.path.getsize(os.path.join(BENCH, "a.lgn"))
    mb = size / 1e6

    # Local disk (tmpfs).
    local_verify, _ = timed([legation, "verify", "a.lgn", "--level", "fixity"], env)
    b3, _ = timed(["b3sum", "a.lgn"], env)
    cp, _ = timed(["cp", "a.lgn", "copy.lgn"], env, before=lambda: rm("copy.lgn"))
    rm("copy.lgn")

    # The cluster.
    cluster = os.path.join(BENCH, "cluster")
    env["LEGATION_GARAGE_PORT"] = "29700"
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "embassies.sh"), "start", cluster],
                   check=True, env=env, capture_output=True)
    try:
        for line in open(os.path.join(cluster, "env")):
            k, _, v = line.strip().removeprefix("export ").partition("=")
            env[k] = v
        url = "s3://embassy/bench/a.lgn"
        push, _ = timed([legation, "push", "a.lgn", url, "--replace"], env)
        remote_verify, _ = timed([legation, "verify", url, "--level", "fixity"], env)
        upload = push - remote_verify
        pull, _ = timed([legation, "pull", url, "-o", "pulled.lgn"], env, before=lambda: rm("pulled.lgn"))
        rm("pulled.lgn")
        boto = ("import boto3,os,sys; s3=boto3.client('s3',endpoint_url=os.environ['AWS_ENDPOINT_URL'],"
                "region_name='garage'); ")
        boto_up, _ = timed(["python3", "-c", boto + "s3.upload_file('a.lgn','embassy','bench/boto.lgn')"], env)
        boto_down, _ = timed(["python3", "-c", boto + "s3.download_file('embassy','bench/boto.lgn','boto.lgn')"],
                             env, before=lambda: rm("boto.lgn"))
        rm("boto.lgn")
        ls_t, err = timed([legation, "--stats", "ls", url, "--passphrase-file", "pp"], env)
        ls_b, ls_r = stats(err)
        view_t, err = timed([legation, "--stats", "view", url, RECORD, "--passphrase-file", "pp"], env)
        view_b, view_r = stats(err)
        sample_t, err = timed([legation, "--stats", "verify", url, "--sample", "50"], env)
        sample_b, sample_r = stats(err)
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "embassies.sh"), "stop", cluster], env=env)
        shutil.rmtree(BENCH, ignore_errors=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    garage = subprocess.run(["bash", "-c", "garage --version | head -1"], capture_output=True, text=True).stdout.strip()
    rate = lambda s: f"{mb / s:.0f} MB/s"
    print(f"""## Embassies: a 1 GiB archive on a three-node Garage cluster

Written by `python3 scripts/bench_embassies.py` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores, {cpu},
Linux {platform.release()}; {garage}; boto3 {boto3_version()}). The archive: `samples/national` and
31 random 32 MiB scans, {size / MiB:.0f} MiB. Three Garage nodes on 127.0.0.1 (one a zone,
replication factor 3, SQLite metadata, no compression), their data and every file on tmpfs,
so the figures are CPU and loopback, not disk or a real network; every write goes to all three
nodes. Median of {RUNS} runs. Ratio = the baseline's time / ours: above 1 means Legation is faster.

| operation | legation | throughput | baseline | time | ratio |
|---|---|---|---|---|---|
| keyless fixity audit, local file | {local_verify:.2f} s | {rate(local_verify)} | `b3sum` of the file | {b3:.2f} s | {b3 / local_verify:.2f} |
| keyless fixity audit, remote (`verify s3://…`) | {remote_verify:.2f} s | {rate(remote_verify)} | the same audit of the local file | {local_verify:.2f} s | {local_verify / remote_verify:.2f} |
| push (multipart, 16 MiB parts, 4 at once), without its audit | {upload:.2f} s | {rate(upload)} | boto3 `upload_file` (8 MiB parts, 10 at once) | {boto_up:.2f} s | {boto_up / upload:.2f} |
| push with the audit of the remote copy | {push:.2f} s | {rate(push)} | `cp` to local disk | {cp:.2f} s | {cp / push:.2f} |
| pull (16 MiB ranges, 4 at once) with the audit of the download | {pull:.2f} s | {rate(pull)} | boto3 `download_file` (no audit) | {boto_down:.2f} s | {boto_down / pull:.2f} |

What it takes to show one record of the remote archive (every byte counted by `--stats`):

| operation | time | bytes fetched | share of the archive | requests |
|---|---|---|---|---|
| `ls` (public facts, unlock, the whole catalog) | {ls_t:.2f} s | {ls_b:,} | {100 * ls_b / size:.3f} % | {ls_r} |
| `view` of `{RECORD}` (the above, the record and its decoder) | {view_t:.2f} s | {view_b:,} | {100 * view_b / size:.3f} % | {view_r} |
| `verify --sample 50` (signature, manifest, 50 random entries) | {sample_t:.2f} s | {sample_b:,} | {100 * sample_b / size:.2f} % | {sample_r} |

The times of `ls` and `view` include the passphrase's Argon2id (about a second);
the sample's bytes depend on which entries are drawn (a 32 MiB scan or a small record).
""")


def rm(name):
    try:
        os.remove(os.path.join(BENCH, name))
    except FileNotFoundError:
        pass


def boto3_version():
    try:
        import boto3
        return boto3.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    main()

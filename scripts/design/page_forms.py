#!/usr/bin/env python3
"""Measures, for the format 2.0 design (docs/design/format-2.0.md, section 4),
how many bytes a catalog page costs per record in two candidate forms:

  json    1.x's catalog record (SPEC §10.4) without the per-record `entry`
          and `stream` members (bundles make them implicit), compact JSON,
          DEFLATE level 6, as 1.x pages are compressed;
  binary  front-coded paths and fixed binary fields (the design's table),
          DEFLATE level 6.

Records are synthetic but shaped like the mission's: paths of the issue's
tiny-record benchmark (r000/p0000000.txt), and paths shaped like
samples/gen's population register; sizes 20-200 bytes; random BLAKE3 and
render hashes (incompressible, as real ones are). Usage:
  python3 scripts/design/page_forms.py [RECORDS_PER_PAGE]
"""
import json, os, random, struct, sys, zlib

N = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
rng = random.Random(20261207)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tiny_paths(start):
    return [f"r{(start + i) // 10000:03d}/p{start + i:07d}.txt" for i in range(N)]


def register_paths(start):
    # national/population/<region>/<4-digit block>/P<7 digits>.json, sorted
    out = []
    for i in range(N):
        k = start + i
        out.append(f"national/population/r{k // 400000:02d}/{(k // 1000) % 400:04d}/P{k:07d}.json")
    return out


def records(paths):
    recs = []
    t = 1_764_000_000
    for p in paths:
        size = rng.randint(20, 200)
        recs.append({
            "path": p,
            "title": p.rsplit("/", 1)[-1],
            "media_type": "text/plain" if p.endswith(".txt") else "application/json",
            "size": size,
            "blake3": rng.randbytes(32).hex(),
            "modified": t + rng.randint(0, 86400 * 365),
            "decoder": "d/5b1e0c93a4f2d768.wasm",
            "render": {"status": "rendered", "blake3": rng.randbytes(32).hex(), "pages": 0},
            "encoding": "identity",
            "stored_size": size,
        })
    return recs


def iso(ts):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def json_form(recs):
    doc = {"page": 0, "records": [
        {k: (iso(v) if k == "modified" else v) for k, v in r.items()} for r in recs]}
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def binary_form(recs):
    out = bytearray(varint(len(recs)))
    prev = b""
    for r in recs:
        p = r["path"].encode()
        shared = 0
        while shared < min(len(p), len(prev)) and p[shared] == prev[shared]:
            shared += 1
        out += varint(shared) + varint(len(p) - shared) + p[shared:]
        prev = p
        # title left out when it is the last path segment (a flag bit below)
        flags = 0b1  # title = last segment
        out.append(flags)
        out += varint(r["size"]) + varint(r["stored_size"]) + b"\x00"  # encoding identity
        out += bytes.fromhex(r["blake3"])
        out += varint(0 if r["media_type"] == "text/plain" else 1)  # index into the page's table
        out += varint(0)  # decoder index
        out += varint(r["modified"])
        out += b"\x01" + bytes.fromhex(r["render"]["blake3"]) + varint(r["render"]["pages"])
    return zlib.compress(bytes(out), 6)


print(f"{N} records a page; bytes a record after DEFLATE level 6 (sealing adds 16 bytes a 64 KiB chunk)")
print("| paths | json | binary | of which hashes (2 x 32, incompressible) |")
print("|---|---|---|---|")
for name, gen in (("tiny (r000/p0000000.txt)", tiny_paths), ("register (national/population/...)", register_paths)):
    recs = records(gen(1_234_567))
    j, b = len(json_form(recs)) / N, len(binary_form(recs)) / N
    print(f"| {name} | {j:.1f} | {b:.1f} | 64 |")

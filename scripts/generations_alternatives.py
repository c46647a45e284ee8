#!/usr/bin/env python3
"""Issue 21: what each way of storing a daily generation of a format 2.0
archive would cost, for docs/design/generations.md.

Measured (with the real writer, `synth`, and the real CLI):
  - the base archive of N records (default 1,000,000) and its entries' sizes;
  - archives of exactly the records one day changes (0.1 % of N) and of
    the records an overlay run holds after d days, whose bundle, pages,
    index and tail are what a generation file of the chosen layout holds
    (minus `SPEC.md`, which generation files after the first do not carry);
  - the keyless audit (`legation verify --issuer`) of the base, for its
    throughput.
Computed (arithmetic on the measured sizes, stated in the output): every
per-day, per-30-day and per-365-day figure of each alternative, the pages a
day's changes touch (uniform changes over fixed pages), and what a reader
fetches to show one record (SPEC §31's terms).

    python3 scripts/generations_alternatives.py              # N = 1,000,000
    GEN_N=100000 python3 scripts/generations_alternatives.py

Needs target/release/synth and target/release/legation (built by others;
this script builds nothing). Writes only under $GEN_DIR (default
/dev/shm/legation-generations). CPU: one synth of N records (about 4 s at
1,000,000) and a few small ones.
"""
import math, os, subprocess, sys, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNTH = os.path.join(ROOT, "target", "release", "synth")
L = os.path.join(ROOT, "target", "release", "legation")
DIR = os.environ.get("GEN_DIR", "/dev/shm/legation-generations")
N = int(os.environ.get("GEN_N", "1000000"))
RATE = float(os.environ.get("GEN_RATE", "0.001"))
C = max(1, round(N * RATE))  # records changed a day
REBASE = 16  # the overlay is merged into a new base when it holds N/16 records
PAGE = 4096
# Bytes a catalog record costs in a page of rendered records with a
# modification time (design note §11, measured: 72.8 a record after
# DEFLATE); synth's records have no render hash and no time.
RENDERED_PAGE_RECORD = 72.8


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def synth(n, name, seed):
    path = os.path.join(DIR, name)
    if not os.path.exists(path):
        sh([SYNTH, "--records", str(n), "--out", path, "--recipient",
            os.path.join(DIR, "r.pub"), "--issuer", os.path.join(DIR, "gov.key"),
            "--seed", str(seed)])
    return path


def sizes(path):
    """Entry sizes by kind, the central directory, and the file's size."""
    z = zipfile.ZipFile(path)
    kinds = {}
    cd = 0
    for i in z.infolist():
        n = i.filename
        kind = ("bundle" if n.startswith("b/") else "page" if n.startswith("c/") and n != "c/index"
                else "parity" if n.startswith("p/") else n)
        kinds.setdefault(kind, [0, 0])
        kinds[kind][0] += 1
        kinds[kind][1] += i.file_size
        cd += 46 + len(n.encode())
    return kinds, cd, os.path.getsize(path), len(z.infolist())


def mb(x):
    return f"{x / 1e6:,.2f} MB"


def main():
    os.makedirs(DIR, exist_ok=True)
    if not os.path.exists(os.path.join(DIR, "r.pub")):
        sh([L, "keygen", "recipient", "-o", os.path.join(DIR, "r")])
        sh([L, "keygen", "issuer", "-o", os.path.join(DIR, "gov")])
    base = synth(N, f"base-{N}.lgn", 1)
    k0, cd0, F, E0 = sizes(base)
    spec = k0["SPEC.md"][1]
    page_bytes = k0["page"][1]
    per_rec = page_bytes / N  # sealed catalog bytes a record (synth)
    print(f"# Measured: base archive of {N:,} records (synth, signed, one recipient)")
    print(f"file {mb(F)}, {E0} entries, central directory {cd0:,} B")
    for k, (cnt, s) in sorted(k0.items(), key=lambda x: -x[1][1]):
        print(f"  {k:12} {cnt:5} entries {s:>13,} B")
    print(f"catalog: {per_rec:.1f} sealed bytes a record (synth); {RENDERED_PAGE_RECORD} for rendered records")

    # keyless audit throughput, the real CLI, median of 3
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        sh([L, "verify", base, "--issuer", os.path.join(DIR, "gov.pub")])
        ts.append(time.perf_counter() - t)
    audit_s = sorted(ts)[1]
    rate = F / audit_s
    print(f"keyless audit of the base: {audit_s * 1000:.0f} ms ({rate / 1e9:.2f} GB/s, process included)")

    # what a day's changes and an overlay run cost, measured on archives of those records
    def delta(n, seed):
        k, cd, f, e = sizes(synth(n, f"delta-{n}.lgn", seed))
        g = lambda x: k.get(x, [0, 0])[1]
        return dict(bundle=g("bundle"), pages=g("page"), npages=k.get("page", [0, 0])[0],
                    index=g("c/index"), parity=g("parity"),
                    tail=g("recovery") + g("entries") + g("public.json") + g("head") + g("signatures")
                    + g("mimetype"), cd=cd, file=f - g("SPEC.md"), entries=e - 1)

    day = delta(C, 2)
    print(f"\n# Measured: an archive of one day's {C:,} changed records (SPEC.md left out)")
    print(f"bundle {day['bundle']:,} B, {day['npages']} page(s) {day['pages']:,} B, index "
          f"{day['index']:,} B, parity {day['parity']:,} B, tail {day['tail']:,} B, file {day['file']:,} B")
    record_bytes = day["bundle"]  # sealed, padded bytes of the changed records
    over = {}
    for d in (1, 7, 30, N // REBASE // C):
        over[d] = delta(min(N // REBASE, d * C), 3 + d)
        o = over[d]
        print(f"overlay after {d:3} days ({min(N // REBASE, d * C):,} records): pages {o['pages']:,} B "
              f"({o['npages']} pages), parity {o['parity']:,} B")

    P = math.ceil(N / PAGE)
    index_line = k0["c/index"][1] / P  # sealed index bytes a page line
    tail0 = sum(k0[x][1] for x in ("recovery", "entries", "public.json", "head", "signatures"))

    # ---- alternatives, per day (computed from the measured sizes) ----
    print("\n# Computed: bytes written and uploaded per day, storage after 30 and 365 days")
    T = N // REBASE // C  # days between rebases of the chosen layout
    inherits_line = 140  # `inherits` bytes a referenced generation
    # chosen layout: bundle of the day + the cumulative overlay + a new index
    # listing the base's pages and the overlay's + parity + tail + inherits
    def chosen(dd):
        """Generation file on day dd since the last rebase (1..T), and
        the rebase day's extra catalog."""
        recs = min(N // REBASE, dd * C)
        ov_pages = recs * per_rec * 1.07  # explicit places and tombstones: ~7 % (estimate)
        ov_npages = math.ceil(recs / PAGE)
        # the base run's page lines gain a generation, an offset and a size
        idx = k0["c/index"][1] + P * 8 + ov_npages * index_line + 1000
        # parity over this file's catalog members (overlay pages, index):
        # one stripe of 16, as long as its longest member
        parity = math.ceil((ov_npages + 1) / 16) * max(ov_pages / ov_npages, idx)
        return record_bytes + ov_pages + idx + parity + tail0 + dd * inherits_line

    days_c2 = [chosen((d % T) + 1) for d in range(365)]
    rebase_bytes = page_bytes + k0["c/index"][1] + k0["parity"][1]
    rebases = 365 // T
    c2_30 = sum(days_c2[:30]) + (30 // T) * rebase_bytes
    c2_365 = sum(days_c2) + rebases * rebase_bytes
    # full catalog re-listing in fixed 4096-record pages: pages a day touches
    touched = P * (1 - (1 - 1 / P) ** C)
    c1_day = record_bytes + touched * (page_bytes / P) * (1 + 1 / 16) + k0["c/index"][1] + tail0
    # smaller copy-on-write pages (flat index of P_L lines)
    small = {}
    for Lp in (512, 64):
        PL = math.ceil(N / Lp)
        t = PL * (1 - (1 - 1 / PL) ** C)
        small[Lp] = (record_bytes + t * Lp * per_rec * (1 + 1 / 16) + PL * index_line + tail0, PL * index_line, t)
    full = F - spec  # a whole new generation (the spec is the same bytes each day)
    rows = [
        ("A  whole archive again", full, full, 365 * full, "F every day"),
        ("B  append to the same ZIP", days_c2[0], c2_365 / 365, c2_365,
         f"host rewrites the object: {mb(F)} a day"),
        ("C1 delta file, every touched 4096-page rewritten", c1_day, c1_day, 365 * c1_day,
         f"{touched:.0f} of {P} pages touched a day"),
    ]
    for Lp, (b, idx, t) in small.items():
        rows.append((f"C1' delta file, copy-on-write pages of {Lp}", b, b, 365 * b,
                     f"{t:.0f} pages touched, index {mb(idx)} read at unlock"))
    rows.append(("C2 delta file, base + cumulative overlay (chosen)", days_c2[0],
                 c2_365 / 365, c2_365, f"day 1 {mb(days_c2[0])}, day {T} {mb(days_c2[T - 1])}, "
                 f"rebase every {T} days {mb(rebase_bytes)}"))
    rows.append(("D  one object per entry (same bytes as C2)", days_c2[0], c2_365 / 365, c2_365,
                 "plus ~%d PUTs a day" % (4 + math.ceil(N / REBASE / PAGE))))
    print(f"changed records' sealed bytes a day: {record_bytes:,} B ({C:,} records)")
    print(f"{'alternative':52} {'day 1':>11} {'mean/day':>11} {'365 days':>12}  note (mean and 365 days include rebases)")
    for name, d1, mean, y, note in rows:
        print(f"{name:52} {mb(d1):>11} {mb(mean):>11} {mb(y):>12}  {note}")
    print(f"C2 over 30 days: {mb(c2_30)} (with rebases), against A {mb(30 * full)}")
    rendered = RENDERED_PAGE_RECORD / per_rec
    print(f"(rendered records: catalog terms x{rendered:.2f}; C1 becomes {mb(record_bytes + (c1_day - record_bytes) * rendered)} a day)")

    # ---- reading: open the newest generation and show one record ----
    print("\n# Computed: bytes and requests to open the newest generation and read one record (SPEC §31)")
    chunk = 65552
    one = 98 + cd0 + 36 + tail0 + 200 + k0["c/index"][1] + page_bytes / P + chunk
    print(f"single file (A, compacted): {one / 1e3:,.0f} KB in 5 requests")
    for d in (30, 365):
        E = E0 + d * (day["entries"] + 2)
        cdB = E * 56
        print(f"B after {d} days: central directory of {E:,} entries {cdB / 1e3:,.0f} KB; "
              f"{(one + cdB - cd0 + page_bytes / P * 1.1) / 1e3:,.0f} KB in 6 requests")
    for d in (1, 30, T):
        recs = min(N // REBASE, d * C)
        idx = k0["c/index"][1] + math.ceil(recs / PAGE) * index_line
        ovp = min(recs, PAGE) * per_rec * 1.07
        b = 98 + 20 * 56 + tail0 + 200 + d * inherits_line + idx + ovp + page_bytes / P + chunk
        print(f"C2 on day {d:3}: {b / 1e3:,.0f} KB in 6 requests (index, overlay page, base page, chunk)")

    # ---- keyless audit ----
    print("\n# Computed: keyless audit of the series (every file once) at the measured throughput")
    for d in (30, 365):
        a_bytes = {"A (history kept)": d * full, "A (newest only)": full,
                   "C2": full + sum(days_c2[:d]) + (d // T) * rebase_bytes}
        print(f"{d} generations: " + "; ".join(f"{k} {mb(v)} {v / rate:.2f} s" for k, v in a_bytes.items()))
    print(f"daily incremental audit in C2: the new file only, {mb(days_c2[0])} to {mb(max(days_c2))}, "
          f"under {max(days_c2) / rate * 1000:.0f} ms")

    # ---- what the host learns ----
    print("\n# Sizes the host sees in C2 a day")
    print(f"new bundle: padme(stored bytes of changed records) = {record_bytes:,} B for {C} records; "
          f"overlay pages grow by about {C * per_rec:,.0f} B a day (the number of records changed "
          f"since the last rebase, to within a page's DEFLATE)")
    # compaction
    live = F - spec
    print(f"\n# Compaction (computed): compact --rewrite reads and re-seals the live records: "
          f"writes {mb(live)}; a carry file copies every file: after 30 days {mb(full + sum(days_c2[:30]))}")


if __name__ == "__main__":
    if not (os.path.exists(SYNTH) and os.path.exists(L)):
        sys.exit("needs target/release/synth and target/release/legation")
    main()

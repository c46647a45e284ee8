#!/usr/bin/env python3
"""Writes tests/HOSTILE.md, the catalogue of hostile cases, from the test
vectors' own headers (format/testdata/*.vector) and the hostile-decoder and
crash tests' function names, so that the list cannot drift from the suites.

    python3 scripts/hostile_cases.py          # rewrite tests/HOSTILE.md
    python3 scripts/hostile_cases.py --check  # fail if it is out of date
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "HOSTILE.md")

# Category of each vector, by the first matching name fragment (threat
# model sections of format/SPEC.md §17).
CATEGORIES = [
    ("traversal", "Paths and names"), ("entry-name", "Paths and names"),
    ("bomb", "Bombs"),
    ("duplicate", "Ambiguous containers"), ("overlapping", "Ambiguous containers"),
    ("leading", "Ambiguous containers"), ("trailing", "Ambiguous containers"),
    ("eocd", "Ambiguous containers"), ("missing-entry", "Ambiguous containers"),
    ("orphan", "Ambiguous containers"), ("used-twice", "Ambiguous containers"),
    ("not-legation", "Ambiguous containers"), ("empty-file", "Truncation and damage"),
    ("chunk-size", "Versions and unknown fields"),
    ("chunk", "Chunks: truncation, reordering, splicing"), ("splice", "Chunks: truncation, reordering, splicing"),
    ("stream-swap", "Chunks: truncation, reordering, splicing"),
    ("truncated", "Truncation and damage"), ("bitflip", "Truncation and damage"),
    ("kdf", "Keys and KDF parameters"), ("commitment", "Keys and KDF parameters"),
    ("passphrase", "Keys and KDF parameters"), ("identity", "Keys and KDF parameters"),
    ("slot", "Keys and KDF parameters"),
    ("signature", "Signatures, signers and rollback"), ("issuer", "Signatures, signers and rollback"),
    ("signed", "Signatures, signers and rollback"),
    ("decoder", "Decoder substitution and render fixity"), ("render", "Decoder substitution and render fixity"),
    ("version", "Versions and unknown fields"), ("unknown", "Versions and unknown fields"),
]


def category(name):
    for frag, cat in CATEGORIES:
        if frag in name:
            return cat
    return "Catalog inconsistencies"


def vectors():
    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "format", "testdata", "*.vector"))):
        data = open(path, "rb").read()
        header = data[: data.index(b"\n\n")].decode("utf-8")
        fields = dict(l.split(": ", 1) for l in header.splitlines() if ": " in l)
        name = os.path.basename(path)[: -len(".vector")]
        rows.append((category(name), name, fields.get("expect", "?"), fields.get("comment", "")))
    return rows


def functions(path, pattern=r"^fn ([a-z0-9_]+)\(\) \{"):
    text = open(os.path.join(ROOT, path)).read()
    return [n for n in re.findall(pattern, text, re.M) if n != "main"]


def attacks():
    lines = []
    for path in sorted(glob.glob(os.path.join(ROOT, "cli", "tests", "all", "attacks", "*.rs"))):
        name = os.path.basename(path)[: -len(".rs")]
        if name == "mod":
            continue
        tests = functions(os.path.relpath(path, ROOT), r"#\[test\]\nfn ([a-z0-9_]+)\(\)")
        doc = re.match(r"//! (.*)", open(path).read())
        lines.append(f"- `{name}`: " + (doc.group(1) if doc else ""))
        lines += [f"  - `{t}`" for t in tests]
    return lines


def render():
    rows = vectors()
    hostile = [r for r in rows if r[2] != "success"]
    out = [
        "# Hostile cases",
        "",
        "Written by `python3 scripts/hostile_cases.py` from the suites themselves (the test",
        "command fails if this file is out of date). Each case must end with the error",
        "category shown, never a panic, never a write outside the output folder, and within",
        "fixed bounds; `RELIABILITY.md` has the figures.",
        "",
        f"## Hostile and damaged archives: {len(hostile)} test vectors",
        "",
        "In `format/testdata/` (format: SPEC.md §18). Each runs through the library",
        "(`tests/tests/all/vectors.rs`) and through `legation verify` with its exit code",
        "(`cli/tests/all/cli.rs`), and in headless Chromium through the browser build's decoder",
        "host (`web/tests/worker.rs`). The expected outcome names the verification stage",
        "(open, fixity, unlock, content, render: SPEC.md §16) and a fragment of the message;",
        "the library's check compares the stage and the class of error (the reader's error",
        "variant, or a problem's kind and the entry or record it names), not the message.",
        "",
    ]
    cats = []
    for r in rows:
        if r[0] not in cats:
            cats.append(r[0])
    for cat in sorted(cats):
        out += [f"### {cat}", "", "| vector | must give | what it is |", "|---|---|---|"]
        for c, name, expect, comment in rows:
            if c == cat:
                out.append(f"| `{name}` | {expect} | {comment} |")
        out.append("")
    dec = functions("tests/tests/hostile_decoders.rs")
    hostile_src = open(os.path.join(ROOT, "tests", "src", "hostile.rs")).read()
    modules = re.findall(
        r'name: "([a-z0-9-]+)",\s*what: "([^"]+)",.*?verdict: Verdict::([A-Za-z]+)(?:\("([^"]*)"\))?,',
        hostile_src, re.S)
    browser = functions("web/tests/worker.rs", r"#\[wasm_bindgen_test\]\nfn ([a-z0-9_]+)\(\)") + functions(
        "web/tests/page.rs", r"#\[wasm_bindgen_test\]\nfn ([a-z0-9_]+)\(\)")
    repair = functions("cli/tests/all/repair.rs", r"#\[test\]\nfn ([a-z0-9_]+)\(\)")
    workers = [d for d in dec if "worker" in d]
    clock = [d for d in dec if "clock" in d]
    verdicts = {"Limit": "stopped by the limit named", "Trap": "trap naming decoder and record", "BadOutput": "invalid output",
                "Refused": "the decoder's own refusal", "NotLoaded": "refused before it runs"}

    def verdict(kind, text):
        v = verdicts[kind]
        return f"{v} ({text})" if text else v
    out += [
        f"## Hostile decoders: {len(modules)} cases on every engine",
        "",
        "In `tests/src/hostile.rs`, run by `tests/tests/hostile_decoders.rs` on wasmtime in the",
        "process, wasmtime in a worker process and wasmi, and by `web/tests/worker.rs` on wasmi in",
        "a Web Worker of headless Chromium; each fails its record alone with the verdict shown",
        "(a `DecodeError` naming the decoder, the record and, where one of the module's limits",
        "stopped it, that limit with its value), within its own limits, and a good decoder still",
        "works on the same host afterwards:",
        "",
        "| case | what it does | every host must give |",
        "|---|---|---|",
    ] + [f"| `{n}` | {w} | {verdict(k, t)} |" for n, w, k, t in modules] + [
        "",
        f"## Hostile decoder workers: {len(workers)} cases",
        "",
    ] + [f"- `{d}`" for d in workers] + [
        "",
        "## Stopped by the clock",
        "",
        "A decoder with fuel for days, on wasmtime in the process (epoch interruption) and in a",
        "worker process (killed by the host at the watchdog): not concluded, and the host goes on.",
        "",
    ] + [f"- `{d}`" for d in clock] + [
        "",
        "## In the browser",
        "",
        "In headless Chromium (wasm-bindgen-test: `web/tests/worker.rs` in a Web Worker, as the",
        "viewer's workers run, and `web/tests/page.rs` on the page):",
        "",
    ] + [f"- `{d}`" for d in browser] + [
        "",
        "and `web/tests/e2e.py` drives the page: a wrong passphrase, an archive with a changed byte",
        "in its embedded viewer and one in a record (both named), the same archive dropped on the page.",
        "",
        "## Damaged copies repaired",
        "",
        "In `cli/tests/all/repair.rs` (`legation repair DAMAGED [--from OTHER]`, no key):",
        "",
    ] + [f"- `{d}`" for d in repair] + [
        "",
        "## Killed while writing",
        "",
        "In `cli/tests/all/crash.rs` (SIGKILL at seeded random moments):",
        "",
    ] + [f"- `{d}`" for d in functions("cli/tests/all/crash.rs", r"#\[test\]\nfn ([a-z0-9_]+)\(\)")] + [
        "",
        "## Attacks on the command line",
        "",
        "In `cli/tests/all/attacks/` (the second hardening round: archives made with only a",
        "recipient's public key, a host that controls the stored bytes, a hostile environment),",
        "one module a defect, run against the built `legation`:",
        "",
    ] + attacks() + [
        "",
        f"Total: {len(hostile)} hostile archives, {len(modules)} hostile decoders (x3 native engines",
        "and the browser's),",
        f"{len(workers)} hostile workers.",
        "",
    ]
    return "\n".join(out)


def main():
    text = render()
    if "--check" in sys.argv:
        current = open(OUT).read() if os.path.exists(OUT) else ""
        if current != text:
            sys.exit("tests/HOSTILE.md is out of date: run python3 scripts/hostile_cases.py")
        return
    with open(OUT, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

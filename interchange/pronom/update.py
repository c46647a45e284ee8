#!/usr/bin/env python3
"""Writes interchange/pronom/signatures.tsv from the PRONOM records that
opf-fido ships (fido/conf/pronom-xml-vNNN.zip: one PRONOM-Report XML per
format, as The National Archives publishes them), and
interchange/pronom/containers.tsv from the container signature file it
ships beside them (fido/conf/container-signature-YYYYMMDD.xml).

    python3 -m pip install opf-fido==1.6.1
    python3 interchange/pronom/update.py            # the installed fido's files
    python3 interchange/pronom/update.py PATH.zip [CONTAINERS.xml]   # or given ones
    python3 interchange/pronom/update.py --check    # fail if either file differs

The output keeps PRONOM's own words and signature syntax untouched (the
crate parses the syntax); it only drops what identification does not
use (descriptions, references, dates). Lines, tab-separated, sorted by
PRONOM's format id so the file is stable:

    P <tab> release <tab> source           once, first
    F <tab> puid <tab> name <tab> version <tab> mime <tab> exts <tab> over
    S <tab> puid <tab> signature id <tab> sequence <tab> sequence ...

exts: extensions joined by ','; over: PUIDs this format has priority
over, joined by ','; sequence: POSITION:OFFSET:MAXOFFSET:VALUE with
POSITION one of BOF, EOF, VAR and empty offsets left empty.

containers.tsv keeps the ZIP container signatures (OLE2 ones are not
used yet), in file order:

    C <tab> signature version <tab> source           once, first
    T <tab> puid                                     a trigger: a record
                                                     identified as this is
                                                     looked into as a ZIP
    Z <tab> id <tab> puid <tab> description          a container signature
    E <tab> id <tab> path <tab> sequence ...         an entry it needs, with
                                                     the byte sequences its
                                                     content must all hold

A container sequence's syntax (quoted text, hex pairs with spaces, sets
as [22 27], ranges as ['6'-'7']) is written in PRONOM's (hex pairs, sets
as (22|27), ranges as [36:37]); its subsequences are joined by gaps of
their offsets ({min-max}, {min-*} when unbounded), the first placed by
its offsets from the entry's start (VAR from its minimum when it has no
maximum).
"""
import glob
import io
import os
import re
import sys
import xml.etree.ElementTree as ET
import zipfile

NS = "{http://pronom.nationalarchives.gov.uk}"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "signatures.tsv")
CONTAINERS = os.path.join(HERE, "containers.tsv")
POSITIONS = {"Absolute from BOF": "BOF", "Absolute from EOF": "EOF", "Variable": "VAR"}


def text(el, name):
    found = el.find(NS + name)
    return (found.text or "").strip() if found is not None else ""


def clean(value):
    if "\t" in value or "\n" in value:
        value = " ".join(value.split())
    return value


def find_zip():
    import fido  # noqa: the installed opf-fido

    conf = os.path.join(os.path.dirname(fido.__file__), "conf")
    found = sorted(glob.glob(os.path.join(conf, "pronom-xml-v*.zip")))
    if not found:
        sys.exit("update.py: no pronom-xml-v*.zip in " + conf)
    return found[-1]


def build(zip_path):
    release = re.search(r"v(\d+)\.zip$", zip_path)
    formats = []
    with zipfile.ZipFile(zip_path) as z:
        for name in z.namelist():
            root = ET.parse(io.BytesIO(z.read(name))).getroot()
            for ff in root.iter(NS + "FileFormat"):
                formats.append(ff)
    by_id = {}
    rows = []
    for ff in formats:
        puid = ""
        mime = []
        for ident in ff.findall(NS + "FileFormatIdentifier"):
            kind = text(ident, "IdentifierType")
            if kind == "PUID":
                puid = text(ident, "Identifier")
            elif kind == "MIME":
                mime.append(text(ident, "Identifier"))
        if not puid:
            continue
        fid = int(text(ff, "FormatID"))
        by_id[fid] = puid
        rows.append((fid, puid, ff, mime))
    lines = ["P\t%s\t%s" % (release.group(1) if release else "", os.path.basename(zip_path))]
    for fid, puid, ff, mime in sorted(rows, key=lambda r: r[0]):
        exts = [text(e, "Signature") for e in ff.findall(NS + "ExternalSignature")
                if text(e, "SignatureType") == "File extension"]
        over = []
        for rel in ff.findall(NS + "RelatedFormat"):
            if text(rel, "RelationshipType") == "Has priority over":
                other = by_id.get(int(text(rel, "RelatedFormatID") or 0))
                if other and other not in over:
                    over.append(other)
        lines.append("\t".join(["F", puid, clean(text(ff, "FormatName")), clean(text(ff, "FormatVersion")),
                                ",".join(clean(m) for m in mime), ",".join(clean(e) for e in exts),
                                ",".join(over)]))
        for sig in ff.findall(NS + "InternalSignature"):
            seqs = []
            for bs in sig.findall(NS + "ByteSequence"):
                if text(bs, "IndirectOffsetLocation"):
                    seqs = []  # indirect offsets are not supported: the signature is left out
                    break
                pos = POSITIONS.get(text(bs, "PositionType"))
                if pos is None:
                    seqs = []
                    break
                seqs.append("%s:%s:%s:%s" % (pos, text(bs, "Offset"), text(bs, "MaxOffset"),
                                             clean(text(bs, "ByteSequenceValue"))))
            if seqs:
                lines.append("\t".join(["S", puid, text(sig, "SignatureID")] + seqs))
    return "\n".join(lines) + "\n"


def find_containers():
    import fido  # noqa: the installed opf-fido

    conf = os.path.join(os.path.dirname(fido.__file__), "conf")
    found = sorted(glob.glob(os.path.join(conf, "container-signature-*.xml")))
    if not found:
        sys.exit("update.py: no container-signature-*.xml in " + conf)
    return found[-1]


def container_value(seq):
    """A container sequence in PRONOM's syntax (see the module's text)."""
    out = []
    i = 0
    while i < len(seq):
        c = seq[i]
        if c.isspace():
            i += 1
        elif c == "'":
            end = seq.index("'", i + 1)
            out.extend("%02X" % ord(ch) for ch in seq[i + 1:end])
            i = end + 1
        elif c == "[":
            end = seq.index("]", i)
            inner = seq[i + 1:end].strip()
            if inner.startswith(("&", "!", "~")):
                raise ValueError("unsupported set %r" % inner)
            if "-" in inner or ":" in inner:
                lo, hi = re.split(r"\s*[-:]\s*", inner)
                val = lambda t: "%02X" % ord(t[1]) if t.startswith("'") else t.upper()
                out.append("[%s:%s]" % (val(lo), val(hi)))
            else:
                parts = inner.split()
                if not all(re.fullmatch(r"[0-9A-Fa-f]{2}", p) for p in parts):
                    raise ValueError("unsupported set %r" % inner)
                out.append("(" + "|".join(p.upper() for p in parts) + ")")
            i = end + 1
        elif re.match(r"[0-9A-Fa-f]{2}", seq[i:i + 2]):
            out.append(seq[i:i + 2].upper())
            i += 2
        else:
            raise ValueError("unsupported syntax at %r" % seq[i:i + 20])
    return "".join(out)


def container_sequence(bs):
    """One ByteSequence as POSITION:OFFSET:MAX:VALUE."""
    if bs.get("Reference") not in (None, "BOFoffset"):
        raise ValueError("reference %s" % bs.get("Reference"))
    subs = sorted(bs.findall("SubSequence"), key=lambda s: int(s.get("Position")))
    value = ""
    first = None
    for n, sub in enumerate(subs):
        if sub.find("LeftFragment") is not None or sub.find("RightFragment") is not None:
            raise ValueError("fragments")
        lo, hi = sub.get("SubSeqMinOffset") or "0", sub.get("SubSeqMaxOffset")
        if n == 0:
            first = (lo, hi)
        else:
            value += "{%s-%s}" % (lo, hi if hi is not None else "*")
        value += container_value(sub.findtext("Sequence"))
    lo, hi = first
    return ("BOF:%s:%s:%s" % (lo, hi, value)) if hi is not None else ("VAR:%s::%s" % (lo, value))


def build_containers(xml_path):
    root = ET.parse(xml_path).getroot()
    version = root.get("signatureVersion", "")
    puids = {m.get("signatureId"): m.get("Puid") for m in root.iter("FileFormatMapping")}
    lines = ["C\t%s\t%s" % (version, os.path.basename(xml_path))]
    for t in root.iter("TriggerPuid"):
        if t.get("ContainerType") == "ZIP":
            lines.append("T\t%s" % t.get("Puid"))
    for cs in root.iter("ContainerSignature"):
        if cs.get("ContainerType") != "ZIP":
            continue
        sid = cs.get("Id")
        if sid not in puids:
            continue
        rows = []
        try:
            for f in cs.iter("File"):
                sigs = f.findall("BinarySignatures/InternalSignatureCollection/InternalSignature")
                if len(sigs) > 1:
                    raise ValueError("several internal signatures for one entry")
                seqs = [container_sequence(bs) for s in sigs for bs in s.findall("ByteSequence")]
                rows.append("\t".join(["E", sid, clean(f.findtext("Path") or "")] + seqs))
        except ValueError as e:
            sys.exit("update.py: container signature %s: %s" % (sid, e))
        lines.append("\t".join(["Z", sid, puids[sid], clean(cs.findtext("Description") or "")]))
        lines.extend(rows)
    return "\n".join(lines) + "\n"


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    outputs = [
        (OUT, build(args[0] if args else find_zip())),
        (CONTAINERS, build_containers(args[1] if len(args) > 1 else find_containers())),
    ]
    for path, out in outputs:
        name = os.path.basename(path)
        if check:
            with open(path, encoding="utf-8") as f:
                if f.read() != out:
                    sys.exit("update.py: %s differs from what the PRONOM files give" % name)
            print("%s is what the PRONOM files give" % name)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(out)
        print("wrote %s (%d lines)" % (path, out.count("\n")))


if __name__ == "__main__":
    main()

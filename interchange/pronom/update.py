#!/usr/bin/env python3
"""Writes interchange/pronom/signatures.tsv from the PRONOM records that
opf-fido ships (fido/conf/pronom-xml-vNNN.zip: one PRONOM-Report XML per
format, as The National Archives publishes them).

    python3 -m pip install opf-fido==1.6.1
    python3 interchange/pronom/update.py            # the installed fido's zip
    python3 interchange/pronom/update.py PATH.zip   # or a given one
    python3 interchange/pronom/update.py --check    # fail if the file differs

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


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    out = build(args[0] if args else find_zip())
    if check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != out:
                sys.exit("update.py: signatures.tsv differs from what the PRONOM records give")
        print("signatures.tsv is what the PRONOM records give")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(out)
    print("wrote %s (%d lines)" % (OUT, out.count("\n")))


if __name__ == "__main__":
    main()

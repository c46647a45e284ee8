#!/usr/bin/env python3
"""Writes the browser viewer from web/index.html and wasm-bindgen's output:
OUT/site/ (index.html, legation_web_bg.wasm: any static file server) and
OUT/legation-viewer.html (one file, the module inlined gzip-compressed and
in base64, which index.html takes back with the browser's own
DecompressionStream: works from file://).

usage: assemble.py PKG_DIR OUT_DIR
"""
import base64
import gzip
import os
import shutil
import sys

pkg, out = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
template = open(os.path.join(here, "index.html"), encoding="utf-8").read()
glue = open(os.path.join(pkg, "legation_web.js"), encoding="utf-8").read()
wasm = open(os.path.join(pkg, "legation_web_bg.wasm"), "rb").read()
if "</script" in glue.lower():
    sys.exit("assemble.py: the glue code contains </script and cannot be inlined")
for mark in ("/*LEGATION-GLUE*/", "<!--LEGATION-WASM-->"):
    if template.count(mark) != 1:
        sys.exit(f"assemble.py: web/index.html must hold {mark} once")
page = template.replace("/*LEGATION-GLUE*/", glue)


def write(path, data):
    """All or nothing: a temporary file renamed into place."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


site = os.path.join(out, "site")
os.makedirs(site, exist_ok=True)
write(os.path.join(site, "index.html"), page.replace("<!--LEGATION-WASM-->", "").encode())
shutil.copyfile(os.path.join(pkg, "legation_web_bg.wasm"), os.path.join(site, "legation_web_bg.wasm"))
# mtime 0: the same module gives the same page, byte for byte.
packed = gzip.compress(wasm, compresslevel=9, mtime=0)
inline = (
    '<script id="legation-wasm" type="application/octet-stream" data-encoding="gzip">\n'
    + base64.b64encode(packed).decode()
    + "\n</script>"
)
write(os.path.join(out, "legation-viewer.html"), page.replace("<!--LEGATION-WASM-->", inline).encode())
print(
    f"{site}/ and {os.path.join(out, 'legation-viewer.html')} "
    f"({len(wasm)} bytes of WebAssembly, {len(packed)} compressed)"
)

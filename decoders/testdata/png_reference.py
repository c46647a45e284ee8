#!/usr/bin/env python3
"""Independent PNG reader for the PNG decoder's tests (standard library only).

Prints, for each PNG named on the command line, its size, the view pixel
format and the FNV-1a 64-bit hash of the 8-bit pixels the decoder must
produce. Handles what the corpus needs: non-interlaced, bit depth 8 or 16,
colour types 0, 2, 4 and 6, no tRNS. Not used at test time.
"""
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
FORMATS = {0: "Gray8", 2: "Rgb8", 4: "GrayAlpha8", 6: "Rgba8"}


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, chunks = 8, b"", []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        chunks.append(kind.decode())
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert interlace == 0 and depth in (8, 16) and colour in CHANNELS, (path, depth, colour)
    assert "tRNS" not in chunks, path
    raw = zlib.decompress(idat)
    bpp = CHANNELS[colour] * depth // 8
    stride = width * bpp
    prev = bytearray(stride)
    out = bytearray()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]) & 0xFF
        out += line if depth == 8 else line[0::2]
        prev = line
    return width, height, FORMATS[colour], fnv1a64(out), chunks


for path in sys.argv[1:]:
    width, height, fmt, digest, chunks = read(path)
    print(f'("{path}", {width}, {height}, PixelFormat::{fmt}, 0x{digest:016x}),  # {" ".join(sorted(set(chunks)))}')

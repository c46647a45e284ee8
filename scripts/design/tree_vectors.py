#!/usr/bin/env python3
"""Known-answer values for format 2.0's records tree (format/src/v2/tree.rs).

Computed independently of the Rust code, straight from the design note's
section 11: leaf hash H(0x00 || leaf), node hash H(0x01 || left || right),
RFC 6962's MTH (split at the largest power of two below n, the empty tree
H("")), H = BLAKE3-256; the record salt is BLAKE3 derive_key with the
context "legation 2.0 record salt" over data_key || archive_id || path.

Needs the `blake3` module (`pip install blake3`). Prints the values the
Rust test `tree::tests::known_answers` pins.
"""

from blake3 import blake3


def h(data: bytes) -> bytes:
    return blake3(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return h(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return h(b"\x01" + left + right)


def mth(hashes: list) -> bytes:
    """RFC 6962 section 2.1, written recursively as the RFC states it."""
    n = len(hashes)
    if n == 0:
        return h(b"")
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def audit_path(hashes: list, m: int) -> list:
    """RFC 6962 section 2.1.1's PATH(m, D[n]), leaf upward."""
    n = len(hashes)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return audit_path(hashes[:k], m) + [mth(hashes[k:])]
    return audit_path(hashes[k:], m - k) + [mth(hashes[:k])]


def main() -> None:
    leaves = [leaf_hash(b"leaf %d" % i) for i in range(7)]
    print("empty root      ", h(b"").hex())
    print("leaf_hash(leaf 0)", leaves[0].hex())
    print("root of 7 leaves", mth(leaves).hex())
    print("path of leaf 5  ", [p.hex() for p in audit_path(leaves, 5)])
    # Two levels: pages of 3 leaves, then the page roots taken as leaf data.
    pages = [mth(leaves[i:i + 3]) for i in range(0, 7, 3)]
    print("records root    ", mth([leaf_hash(p) for p in pages]).hex())
    salt = blake3(
        bytes(range(32)) + bytes(range(100, 116)) + "registers/births/0001.txt".encode(),
        derive_key_context="legation 2.0 record salt",
    ).digest()
    print("record salt     ", salt.hex())


if __name__ == "__main__":
    main()

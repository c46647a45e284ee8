//! The records tree: RFC 6962's Merkle tree shape with BLAKE3, two levels
//! (a tree over each page's leaves, then a tree over the page roots), and
//! the salt that makes a record's leaf unguessable.
//!
//! Leaf hash `H(0x00 || leaf)`, node hash `H(0x01 || left || right)`, the
//! split at the largest power of two below the size, the empty tree `H("")`
//! (design note §11). Everything here is iterative: no recursion, `O(n)`
//! time for a root or a path, `O(log n)` memory for a root.

use zeroize::Zeroize;

use crate::crypto::{context, DataKey};

/// The hash of one leaf: `H(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[0x00]);
    h.update(leaf);
    *h.finalize().as_bytes()
}

/// The hash of an inner node: `H(0x01 || left || right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&[0x01]);
    h.update(left);
    h.update(right);
    *h.finalize().as_bytes()
}

/// Builds a tree's root from its leaf hashes one at a time, holding at most
/// one hash per level (`O(log n)` memory), so a writer can feed it while
/// streaming.
#[derive(Debug, Clone, Default)]
pub struct RootBuilder {
    /// Roots of complete subtrees, left to right, with their heights;
    /// heights strictly decrease along the stack.
    stack: Vec<([u8; 32], u32)>,
}

impl RootBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf hash.
    pub fn push(&mut self, leaf_hash: [u8; 32]) {
        let mut node = (leaf_hash, 0u32);
        while let Some(&(left, height)) = self.stack.last() {
            if height != node.1 {
                break;
            }
            self.stack.pop();
            node = (node_hash(&left, &node.0), height + 1);
        }
        self.stack.push(node);
    }

    /// The root of the leaves pushed so far (RFC 6962's MTH). The complete
    /// subtrees left on the stack are joined right to left, which is the
    /// split at the largest power of two below the size.
    pub fn root(&self) -> [u8; 32] {
        let mut nodes = self.stack.iter().rev();
        let Some(&(mut acc, _)) = nodes.next() else {
            return *blake3::hash(b"").as_bytes();
        };
        for (left, _) in nodes {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// The root of a tree over already-hashed leaves (RFC 6962's MTH); the
/// empty tree's root is `H("")`.
pub fn root(leaf_hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut b = RootBuilder::new();
    for h in leaf_hashes {
        b.push(*h);
    }
    b.root()
}

/// The inclusion path of leaf `index`: the sibling hashes from the leaf up
/// to the root (RFC 6962's PATH). Levels are built one at a time, pairing
/// left to right and carrying a last odd node up unchanged, which gives
/// the same tree as the RFC's recursive split.
///
/// # Panics
///
/// When `index` is not below `leaf_hashes.len()`: the caller holds the
/// leaves, so asking for a leaf it does not have is a bug.
pub fn path(leaf_hashes: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
    assert!(
        index < leaf_hashes.len(),
        "leaf {index} of a tree of {}",
        leaf_hashes.len()
    );
    let mut out = Vec::new();
    let mut level: Vec<[u8; 32]> = leaf_hashes.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            out.push(level[sibling]);
        }
        let next: Vec<[u8; 32]> = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node_hash(l, r),
                [one] => *one,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
        level = next;
        i /= 2;
    }
    out
}

/// Walks an inclusion path from leaf `index` of a tree of `size` leaves to
/// the root it implies (RFC 9162 §2.1.3.2). `None` when the index is not
/// below the size or the path's length does not fit them.
///
/// The size itself is not bound by the path: a caller compares the result
/// with a root whose size it knows from elsewhere (the signed head).
pub fn root_from_path(
    index: u64,
    size: u64,
    leaf_hash: [u8; 32],
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf_hash;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // A last node with no right sibling was carried up unchanged:
            // skip the levels where it had none.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// A record's salt: BLAKE3 derive_key with the record-salt context over
/// `data_key || archive_id || path`. It makes the record's leaf unguessable
/// from public data; the hasher, which held the data key, is wiped.
pub fn record_salt(key: &DataKey, archive_id: &[u8; 16], path: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(context::RECORD_SALT);
    h.update(key.as_bytes());
    h.update(archive_id);
    h.update(path.as_bytes());
    let out = *h.finalize().as_bytes();
    h.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    /// RFC 6962 §2.1 as the RFC writes it, recursively: the reference the
    /// iterative code is checked against.
    fn mth(hashes: &[[u8; 32]]) -> [u8; 32] {
        match hashes.len() {
            0 => *blake3::hash(b"").as_bytes(),
            1 => hashes[0],
            n => {
                let k = split(n);
                node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
            }
        }
    }

    /// RFC 6962 §2.1.1's PATH, recursively.
    fn rfc_path(hashes: &[[u8; 32]], m: usize) -> Vec<[u8; 32]> {
        let n = hashes.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        if m < k {
            let mut p = rfc_path(&hashes[..k], m);
            p.push(mth(&hashes[k..]));
            p
        } else {
            let mut p = rfc_path(&hashes[k..], m - k);
            p.push(mth(&hashes[..k]));
            p
        }
    }

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    fn unhex(s: &str) -> [u8; 32] {
        hex::decode_array(s).unwrap()
    }

    #[test]
    fn known_answers() {
        // Values printed by scripts/design/tree_vectors.py (Python's blake3
        // module, the RFC's recursive definitions).
        assert_eq!(
            hex::encode(&root(&[])),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        let l = leaves(7);
        assert_eq!(
            hex::encode(&l[0]),
            "7e5301b7abde90db1a598d54d0566bc81e482268a7a3c7125fd37d9639b1e21f"
        );
        assert_eq!(
            hex::encode(&root(&l)),
            "ec0ea27ffbf1e33d9822e15e018a86ab9c1e5681bf9454795c1beff99ee8eb39"
        );
        assert_eq!(
            path(&l, 5),
            [
                unhex("752c25d1ded270e505bb30c835f37c90c99d9b8c66b01970ee0bd461fd972f2f"),
                unhex("e3e9840774a4005966064ceb0c9480029e5f72c946ebb20a33232cab943ae5f2"),
                unhex("3919d533d00932301c60eded5840c9e8f1ab3c9004348cabe3c2640c8b7f9713"),
            ]
        );
        let pages: Vec<[u8; 32]> = l.chunks(3).map(|p| leaf_hash(&root(p))).collect();
        assert_eq!(
            hex::encode(&root(&pages)),
            "d3dae0c223665ed2adb8b1d15132aa133102b88d407d66098618c919f8c8b404"
        );
        let key = DataKey::from_bytes(std::array::from_fn(|i| i as u8));
        let id: [u8; 16] = std::array::from_fn(|i| 100 + i as u8);
        assert_eq!(
            hex::encode(&record_salt(&key, &id, "registers/births/0001.txt")),
            "7e8c9146161ec162e2ae05f1a1224fe4e2e49b6a799512458b5a1067409804b3"
        );
    }

    #[test]
    fn iterative_matches_the_rfc() {
        for n in 0..=70 {
            let l = leaves(n);
            assert_eq!(root(&l), mth(&l), "root of {n}");
            for i in 0..n {
                assert_eq!(path(&l, i), rfc_path(&l, i), "path {i} of {n}");
            }
        }
    }

    #[test]
    fn every_path_round_trips() {
        for n in 1..=70u64 {
            let l = leaves(n as usize);
            let r = root(&l);
            for i in 0..n {
                let p = path(&l, i as usize);
                assert!(p.len() <= 7, "depth of {n}");
                assert_eq!(root_from_path(i, n, l[i as usize], &p), Some(r), "{i}/{n}");
            }
        }
    }

    #[test]
    fn tampered_paths_fail() {
        let other = leaf_hash(b"another leaf");
        // lens[m][i]: the path length of leaf i in a tree of m leaves.
        let lens: Vec<Vec<usize>> = (0..=70)
            .map(|m| {
                let l = leaves(m);
                (0..m).map(|i| path(&l, i).len()).collect()
            })
            .collect();
        for n in 1..=70u64 {
            let l = leaves(n as usize);
            let r = root(&l);
            for i in 0..n {
                let p = path(&l, i as usize);
                let leaf = l[i as usize];
                let good = Some(r);
                // Another index of the same tree.
                for j in (0..n).filter(|&j| j != i) {
                    assert_ne!(
                        root_from_path(j, n, leaf, &p),
                        good,
                        "index {j} for {i}/{n}"
                    );
                }
                // Another leaf.
                assert_ne!(root_from_path(i, n, other, &p), good);
                // A path of another length than the size implies.
                for m in (1..=70u64).filter(|&m| m != n && i < m) {
                    if lens[m as usize][i as usize] != p.len() {
                        assert_eq!(root_from_path(i, m, leaf, &p), None, "{i}/{n} as /{m}");
                    }
                }
                assert_eq!(root_from_path(i, i, leaf, &p), None, "index past the size");
                assert_eq!(root_from_path(i, 0, leaf, &p), None, "empty tree");
                // A sibling changed, two siblings swapped.
                for k in 0..p.len() {
                    let mut q = p.clone();
                    q[k][0] ^= 1;
                    assert_ne!(root_from_path(i, n, leaf, &q), good);
                    for k2 in (k + 1)..p.len() {
                        let mut q = p.clone();
                        q.swap(k, k2);
                        if q != p {
                            assert_ne!(root_from_path(i, n, leaf, &q), good, "swap {k} {k2}");
                        }
                    }
                }
                // Truncated or extended.
                if !p.is_empty() {
                    assert_eq!(root_from_path(i, n, leaf, &p[..p.len() - 1]), None);
                }
                let mut longer = p.clone();
                longer.push(leaf);
                assert_eq!(root_from_path(i, n, leaf, &longer), None);
            }
        }
    }

    /// Which side each sibling of leaf `m` of a tree of `n` leaves is on,
    /// leaf upward (true: left), by the RFC's recursive split.
    fn sides(n: usize, m: usize) -> Vec<bool> {
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        let (mut s, left) = if m < k {
            (sides(k, m), false)
        } else {
            (sides(n - k, m - k), true)
        };
        s.push(left);
        s
    }

    #[test]
    fn a_wrong_size_fails_unless_the_path_has_the_same_shape() {
        // RFC 6962 paths do not bind the tree's size: leaf 0 of 3 and of 4
        // have paths of the same shape. The proof binds the size through
        // the signed head's record count; here, a wrong size gives the
        // right root exactly when the leaf's siblings sit on the same sides.
        for n in 1..=70usize {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = path(&l, i);
                for m in (1..=70).filter(|&m| m != n && i < m) {
                    let same = sides(m, i) == sides(n, i);
                    let got = root_from_path(i as u64, m as u64, l[i], &p);
                    assert_eq!(got == Some(r), same, "{i}/{n} as /{m}");
                }
            }
        }
    }

    #[test]
    fn big_trees_are_linear() {
        // 10M records' second level (2442 pages) and a full page.
        let l: Vec<[u8; 32]> = (0..4096u32).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let r = root(&l);
        for i in [0usize, 1, 2047, 2048, 4095] {
            let p = path(&l, i);
            assert_eq!(p.len(), 12);
            assert_eq!(root_from_path(i as u64, 4096, l[i], &p), Some(r));
        }
        let p = path(&l[..2442], 2441);
        assert_eq!(
            root_from_path(2441, 2442, l[2441], &p),
            Some(root(&l[..2442]))
        );
    }

    #[test]
    fn salts_depend_on_every_input() {
        let k1 = DataKey::from_bytes([1; 32]);
        let k2 = DataKey::from_bytes([2; 32]);
        let s = record_salt(&k1, &[0; 16], "a");
        assert_ne!(s, record_salt(&k2, &[0; 16], "a"));
        assert_ne!(s, record_salt(&k1, &[1; 16], "a"));
        assert_ne!(s, record_salt(&k1, &[0; 16], "b"));
        assert_eq!(s, record_salt(&k1, &[0; 16], "a"));
    }
}

//! The entry table `entries`: every entry before it, in file order, one
//! text line each (`docs/design/format-2.0.md` §11):
//! `<name> <size> <crc32, 8 hex> <blake3, 64 hex>\n`.
//!
//! One spelling only: names as [`crate::container::check_name`] allows,
//! sizes in decimal without leading zeros, lowercase hex, single spaces,
//! every line ended by a line feed, no name twice, nothing else.

use std::collections::HashSet;

use crate::v2::ENTRIES_ENTRY;
use crate::{Error, Result};

/// Largest entry table a reader accepts (64 MiB, SPEC §25: about 400,000
/// entries; 10,000,000 records take about 2,600).
pub const MAX_ENTRIES_BYTES: usize = 64 << 20;
/// The shortest row: a one-byte name, size `0`, the hashes, three spaces
/// and the line feed.
const MIN_ROW: usize = 1 + 1 + 1 + 1 + 8 + 1 + 64 + 1;

/// One entry as the table pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Entry name.
    pub name: String,
    /// Stored size in bytes.
    pub size: u64,
    /// CRC-32 the container headers must carry.
    pub crc32: u32,
    /// BLAKE3 of the stored bytes.
    pub blake3: [u8; 32],
}

/// The bytes a row for an entry `name` of `size` bytes takes in the table
/// (its line feed included): a writer counts them to stay within
/// [`MAX_ENTRIES_BYTES`].
pub fn row_len(name: &str, size: u64) -> usize {
    let digits = size.checked_ilog10().unwrap_or(0) as usize + 1;
    name.len() + 1 + digits + 1 + 8 + 1 + 64 + 1
}

/// The table's bytes.
pub fn to_bytes(rows: &[Row]) -> Vec<u8> {
    let mut out = String::with_capacity(rows.len() * (MIN_ROW + 24));
    for r in rows {
        out.push_str(&format!(
            "{} {} {:08x} {}\n",
            r.name,
            r.size,
            r.crc32,
            crate::hex::encode(&r.blake3)
        ));
    }
    out.into_bytes()
}

/// Parses the table strictly (see the module); errors name `entries` and
/// the line.
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>> {
    let bad =
        |line: usize, what: String| Error::invalid(ENTRIES_ENTRY, format!("line {line}: {what}"));
    if bytes.len() > MAX_ENTRIES_BYTES {
        return Err(Error::invalid(
            ENTRIES_ENTRY,
            format!(
                "{} bytes, more than the {MAX_ENTRIES_BYTES} allowed",
                bytes.len()
            ),
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::invalid(ENTRIES_ENTRY, "not UTF-8"))?;
    let Some(body) = text.strip_suffix('\n') else {
        return Err(Error::invalid(
            ENTRIES_ENTRY,
            "empty, or the last line does not end with a line feed",
        ));
    };
    let mut rows = Vec::with_capacity(bytes.len() / MIN_ROW);
    let mut names = HashSet::with_capacity(bytes.len() / MIN_ROW);
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        let mut fields = line.split(' ');
        let (Some(name), Some(size), Some(crc), Some(hash), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad(n, "not four fields separated by single spaces".into()));
        };
        crate::container::check_name(name).map_err(|e| bad(n, e.to_string()))?;
        let size = decimal(size).ok_or_else(|| {
            bad(
                n,
                format!("size {size:?} is not a decimal without leading zeros"),
            )
        })?;
        let crc32 = (crc.len() == 8)
            .then(|| crate::hex::decode_array::<4>(crc))
            .flatten()
            .map(u32::from_be_bytes)
            .ok_or_else(|| bad(n, format!("CRC-32 {crc:?} is not 8 lowercase hex digits")))?;
        let blake3 = crate::hex::decode_array::<32>(hash)
            .ok_or_else(|| bad(n, format!("BLAKE3 {hash:?} is not 64 lowercase hex digits")))?;
        if !names.insert(name) {
            return Err(bad(n, format!("entry {name} is listed twice")));
        }
        rows.push(Row {
            name: name.to_owned(),
            size,
            crc32,
            blake3,
        });
    }
    Ok(rows)
}

/// The entry that holds the entry table's tree (SPEC 2.0 §25.3): the
/// BLAKE3 chaining values of the table's 1 KiB chunks and of every inner
/// node but the root, so that a sampled audit checks one row against the
/// head's `entries` hash with a logarithmic path instead of the table.
/// It stands between `recovery` and `entries` and is not a row of the
/// table (its bytes follow from the table's).
pub const TREE_ENTRY: &str = "entries-tree";
/// Bytes of the table a leaf of its tree covers: one BLAKE3 chunk.
pub const CHUNK: u64 = 1024;
/// Bytes of one value in `entries-tree`.
pub const NODE: u64 = 32;

/// The nodes each stored level of the tree over a table of `len` bytes
/// holds, leaves first: `m = ceil(len / CHUNK)` leaves, then
/// `ceil(m / 2)`, and so on while a level holds two or more (the root,
/// which the head carries, is not stored). None for a table of one chunk.
///
/// BLAKE3's tree is left-complete, so pairing each level's nodes from the
/// left and carrying an odd last node up unchanged (stored again on the
/// level above) gives exactly its nodes.
pub fn tree_levels(len: u64) -> Vec<u64> {
    let mut levels = Vec::new();
    let mut c = len.div_ceil(CHUNK);
    while c >= 2 {
        levels.push(c);
        c = c.div_ceil(2);
    }
    levels
}

/// The size `entries-tree` has for a table of `len` bytes.
pub fn tree_len(len: u64) -> u64 {
    tree_levels(len).iter().sum::<u64>() * NODE
}

/// The chaining value of chunk `index` of a table of more than one chunk.
pub fn chunk_value(index: u64, data: &[u8]) -> [u8; 32] {
    use blake3::hazmat::HasherExt;
    let mut h = blake3::Hasher::new();
    h.set_input_offset(index * CHUNK);
    h.update(data);
    h.finalize_non_root()
}

/// The bytes of `entries-tree` for a table's bytes: every stored level
/// of [`tree_levels`], leaves first, each node's 32-byte chaining value.
pub fn tree_bytes(table: &[u8]) -> Vec<u8> {
    use blake3::hazmat::{merge_subtrees_non_root, Mode};
    let levels = tree_levels(table.len() as u64);
    let mut out = Vec::with_capacity(tree_len(table.len() as u64) as usize);
    if levels.is_empty() {
        return out;
    }
    let mut level: Vec<[u8; 32]> = table
        .chunks(CHUNK as usize)
        .enumerate()
        .map(|(i, c)| chunk_value(i as u64, c))
        .collect();
    for _ in &levels {
        level.iter().for_each(|v| out.extend_from_slice(v));
        level = level
            .chunks(2)
            .map(|p| match p {
                [l, r] => merge_subtrees_non_root(l, r, Mode::Hash),
                [one] => *one,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    out
}

/// One node a chunk's path needs: its place in `entries-tree` (a value
/// index: its bytes are at `32 * at`) and whether it is the left one of
/// the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathNode {
    /// The node's index among the values of `entries-tree`.
    pub at: u64,
    /// The node is the left sibling (the path's value is on the right).
    pub left: bool,
}

/// The nodes that check chunk `chunk` of a table of `len` bytes against
/// its BLAKE3: one a level at most (at most 16 for a table of 64 MiB),
/// none where the chunk's subtree is carried up alone.
pub fn path(len: u64, chunk: u64) -> Vec<PathNode> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for (l, c) in tree_levels(len).into_iter().enumerate() {
        let k = chunk >> l;
        let sibling = k ^ 1;
        if sibling < c {
            out.push(PathNode {
                at: start + sibling,
                left: sibling < k,
            });
        }
        start += c;
    }
    out
}

/// The BLAKE3 of a table of `len` bytes as chunk `chunk`'s bytes `data`
/// and its path's values (in [`path`]'s order) give it; a reader compares
/// it with the head's `entries`. For a table of one chunk, `data` is the
/// whole table and the path is empty.
pub fn root_from(len: u64, chunk: u64, data: &[u8], values: &[[u8; 32]]) -> [u8; 32] {
    use blake3::hazmat::{merge_subtrees_non_root, merge_subtrees_root, Mode};
    let levels = tree_levels(len);
    if levels.is_empty() {
        return *blake3::hash(data).as_bytes();
    }
    let nodes = path(len, chunk);
    debug_assert_eq!(nodes.len(), values.len());
    let mut cur = chunk_value(chunk, data);
    let top = nodes.len().saturating_sub(1);
    for (i, (n, v)) in nodes.iter().zip(values).enumerate() {
        let (l, r) = if n.left { (v, &cur) } else { (&cur, v) };
        if i == top {
            // The top level holds two nodes: every path ends there.
            return *merge_subtrees_root(l, r, Mode::Hash).as_bytes();
        }
        cur = merge_subtrees_non_root(l, r, Mode::Hash);
    }
    cur
}

/// A decimal `u64` in its one spelling: `0`, or 1-9 then digits.
fn decimal(s: &str) -> Option<u64> {
    let shape =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    shape.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row {
                name: "mimetype".into(),
                size: 36,
                crc32: 0x0000_abcd,
                blake3: [0xab; 32],
            },
            Row {
                name: "b/00000000".into(),
                size: 268_500_000,
                crc32: 0xffff_ffff,
                blake3: [1; 32],
            },
            Row {
                name: "c/index".into(),
                size: 0,
                crc32: 0,
                blake3: [0; 32],
            },
        ]
    }

    #[test]
    fn round_trip_and_known_bytes() {
        let b = to_bytes(&rows());
        let text = String::from_utf8(b.clone()).unwrap();
        let first = format!("mimetype 36 0000abcd {}\n", "ab".repeat(32));
        assert!(text.starts_with(&first), "{text}");
        assert!(text.contains(&format!("\nc/index 0 00000000 {}\n", "00".repeat(32))));
        assert_eq!(parse(&b).unwrap(), rows());
        assert_eq!(to_bytes(&[]), b"");
        let max = Row {
            name: "x".repeat(crate::container::MAX_NAME_LEN),
            size: u64::MAX,
            crc32: 1,
            blake3: [2; 32],
        };
        assert_eq!(
            parse(&to_bytes(std::slice::from_ref(&max))).unwrap(),
            vec![max]
        );
    }

    #[test]
    fn other_spellings_are_refused() {
        let good = String::from_utf8(to_bytes(&rows())).unwrap();
        let h = "ab".repeat(32);
        let line = |l: &str| format!("{good}{l}\n");
        parse(line(&format!("head 1 00000001 {h}")).as_bytes()).unwrap();
        for (text, what) in [
            (String::new(), "empty"),
            (good.trim_end().to_owned(), "no final line feed"),
            (format!("{good}\n"), "an empty line"),
            (good.replace('\n', "\r\n"), "CR LF"),
            (line(&format!("head  1 00000001 {h}")), "two spaces"),
            (line(&format!("head 1 00000001 {h} ")), "a trailing space"),
            (line(&format!("head 1 00000001 {h} x")), "a fifth field"),
            (line("head 1 00000001"), "three fields"),
            (line(&format!("head 01 00000001 {h}")), "a leading zero"),
            (line(&format!("head +1 00000001 {h}")), "a sign"),
            (
                line(&format!("head 18446744073709551616 00000001 {h}")),
                "size over 64 bits",
            ),
            (line(&format!("head 1 0000001 {h}")), "CRC of 7 digits"),
            (line(&format!("head 1 0000000A {h}")), "CRC in uppercase"),
            (
                line(&format!("head 1 00000001 {}", "AB".repeat(32))),
                "BLAKE3 in uppercase",
            ),
            (
                line(&format!("head 1 00000001 {}", "ab".repeat(31))),
                "BLAKE3 short",
            ),
            (line(&format!("../x 1 00000001 {h}")), "a name with .."),
            (
                line(&format!("{} 1 00000001 {h}", "x".repeat(65))),
                "a name over 64 bytes",
            ),
            (line(&format!("é 1 00000001 {h}")), "a name outside ASCII"),
            (line(&format!("mimetype 1 00000001 {h}")), "a name twice"),
        ] {
            let e = parse(text.as_bytes()).expect_err(what).to_string();
            assert!(e.starts_with("entries: "), "{what}: {e}");
        }
        assert!(parse(&[0xff, b'\n']).is_err());
        // Every truncation is refused (the last line loses its line feed
        // or its fields).
        let b = good.as_bytes();
        for cut in 0..b.len() {
            if cut > 0 && b[cut - 1] == b'\n' {
                assert_eq!(
                    parse(&b[..cut]).unwrap().len(),
                    b[..cut].iter().filter(|&&c| c == b'\n').count()
                );
            } else {
                assert!(parse(&b[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn the_size_is_bounded() {
        // SPEC §25: an entry table over 64 MiB is refused, whatever it
        // holds (here well-formed rows past the bound).
        assert_eq!(MAX_ENTRIES_BYTES, 67_108_864);
        let row = to_bytes(&rows()[..1]);
        let mut big = Vec::with_capacity(MAX_ENTRIES_BYTES + row.len());
        for i in 0.. {
            if big.len() > MAX_ENTRIES_BYTES {
                break;
            }
            big.extend_from_slice(format!("m/{i:08}").as_bytes());
            big.extend_from_slice(&row[8..]);
        }
        let e = parse(&big).unwrap_err().to_string();
        assert!(e.contains("more than the 67108864"), "{e}");
    }

    #[test]
    fn the_tree_gives_blake3_from_every_chunk_by_its_path() {
        use std::collections::HashSet;
        let c = CHUNK as usize;
        for len in [
            1,
            100,
            c,
            c + 1,
            2 * c,
            3 * c - 1,
            5 * c,
            6 * c + 9,
            7 * c,
            8 * c,
            33 * c + 5,
        ] {
            let table: Vec<u8> = (0..len).map(|i| (i * 7 + i / 1000) as u8).collect();
            let want = *blake3::hash(&table).as_bytes();
            let tree = tree_bytes(&table);
            assert_eq!(tree.len() as u64, tree_len(len as u64), "len {len}");
            let m = (len as u64).div_ceil(CHUNK);
            for j in 0..m {
                let data = &table[(j * CHUNK) as usize..(((j + 1) * CHUNK) as usize).min(len)];
                let p = path(len as u64, j);
                // Never more than the levels, each node once.
                assert!(p.len() <= tree_levels(len as u64).len());
                assert_eq!(
                    p.iter().map(|n| n.at).collect::<HashSet<_>>().len(),
                    p.len()
                );
                let values: Vec<[u8; 32]> = p
                    .iter()
                    .map(|n| tree[(n.at * NODE) as usize..][..32].try_into().unwrap())
                    .collect();
                assert_eq!(
                    root_from(len as u64, j, data, &values),
                    want,
                    "len {len} chunk {j}"
                );
                if m > 1 {
                    // A changed byte, another chunk's place, a changed
                    // value, or another length do not give the hash.
                    let mut bad = data.to_vec();
                    bad[0] ^= 1;
                    assert_ne!(root_from(len as u64, j, &bad, &values), want);
                    if j + 1 < m {
                        let q = path(len as u64, j + 1);
                        if q.len() == p.len() {
                            assert_ne!(root_from(len as u64, j + 1, data, &values), want);
                        }
                    }
                    let mut v = values.clone();
                    v[0][5] ^= 1;
                    assert_ne!(root_from(len as u64, j, data, &v), want);
                    // The last chunk pins the length (a chunk's value
                    // holds its index and length, and only the last chunk
                    // is carried up the right edge); another chunk's path
                    // may be the same for a longer table.
                    let longer = len as u64 + CHUNK;
                    if j + 1 == m && path(longer, j).len() == p.len() {
                        assert_ne!(root_from(longer, j, data, &values), want);
                    }
                }
            }
        }
        // A table of 64 MiB: 65,536 leaves, 16 levels, a path of 16 values.
        let big = MAX_ENTRIES_BYTES as u64;
        assert_eq!(tree_levels(big).len(), 16);
        assert_eq!(path(big, 12_345).len(), 16);
        assert_eq!(tree_len(big), NODE * (2 * 65_536 - 2));
    }

    /// Known answer: the tree of 3 KiB + 1 bytes of a pattern, so that
    /// another implementation can check its chunk offsets and levels.
    #[test]
    fn tree_known_answer() {
        let table: Vec<u8> = (0..3 * CHUNK as usize + 1)
            .map(|i| (i % 251) as u8)
            .collect();
        let tree = tree_bytes(&table);
        assert_eq!(tree_levels(table.len() as u64), [4, 2]);
        assert_eq!(tree.len(), 6 * 32);
        assert_eq!(
            crate::hex::encode(blake3::hash(&tree).as_bytes()),
            "d5c95f8c5989e9398fca7d1778a75d6c9c58fcb91060454e71c626607652472f"
        );
        // The top level's two values merge, as a root, to the table's BLAKE3.
        let (l, r): ([u8; 32], [u8; 32]) = (
            tree[128..160].try_into().unwrap(),
            tree[160..].try_into().unwrap(),
        );
        assert_eq!(
            blake3::hazmat::merge_subtrees_root(&l, &r, blake3::hazmat::Mode::Hash),
            blake3::hash(&table)
        );
    }

    #[test]
    fn row_len_is_the_rows_length() {
        for (name, size) in [("a", 0), ("b/00000000", 9), ("c", 10), ("d", u64::MAX)] {
            let row = Row {
                name: name.into(),
                size,
                crc32: 0,
                blake3: [0; 32],
            };
            assert_eq!(row_len(name, size), to_bytes(&[row]).len(), "{name} {size}");
        }
    }
}

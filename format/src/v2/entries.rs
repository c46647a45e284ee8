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

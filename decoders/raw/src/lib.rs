//! The fallback decoder: what can be said of any bytes.
//!
//! For a record no other decoder reads, it shows the size, how many of the
//! 256 byte values occur, the Shannon entropy in bits per byte, the most
//! frequent bytes, and a hex dump of the first 4 KiB.
//!
//! Output must be identical on every engine, so the entropy uses only
//! IEEE 754 addition, subtraction, multiplication and division (exact in
//! every conforming engine) and a logarithm computed here from those,
//! never the platform's `log2`.

#![deny(unsafe_code)]

use legation_decoder_sdk::{decoder, Block, DecodeError, Document};

decoder! {
    name: "raw", version: "1.0.0", media_types: ["*/*"],
    decode: decode,
}

/// How much of the record the hex dump shows.
pub const DUMP_BYTES: usize = 4096;

/// How many of the most frequent byte values are listed.
const TOP: usize = 5;

/// Describes any bytes. Never refuses.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let mut counts = [0u64; 256];
    for &b in input {
        counts[usize::from(b)] += 1;
    }
    let size = input.len() as u64;
    let distinct = counts.iter().filter(|&&c| c > 0).count();
    let mut items = vec![
        ("size".to_owned(), format!("{size} bytes")),
        (
            "distinct byte values".to_owned(),
            format!("{distinct} of 256"),
        ),
        (
            "entropy".to_owned(),
            format!("{:.2} bits per byte", entropy(&counts)),
        ),
    ];
    if size > 0 {
        items.push((
            "most frequent bytes".to_owned(),
            most_frequent(&counts, size),
        ));
    }
    let shown = input.len().min(DUMP_BYTES);
    items.push((
        "hex dump".to_owned(),
        if shown == input.len() {
            "all bytes".to_owned()
        } else {
            format!("first {shown} of {size} bytes")
        },
    ));
    let mut blocks = vec![Block::Fields { items }];
    if shown > 0 {
        blocks.push(Block::Code {
            text: hex_dump(&input[..shown]),
        });
    }
    Ok(Document {
        title: "Bytes".into(),
        blocks,
    })
}

/// Shannon entropy of the byte distribution, in bits per byte: `log2(n) -
/// sum(c * log2(c)) / n` over the counts `c` of the `n` bytes.
pub fn entropy(counts: &[u64; 256]) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let weighted: f64 = counts
        .iter()
        .filter(|&&c| c > 1)
        .map(|&c| c as f64 * log2(c))
        .sum();
    let bits = log2(total) - weighted / total as f64;
    // Rounding can leave a hair below zero for a single byte value.
    bits.max(0.0)
}

/// Base-2 logarithm of `x >= 1`, from basic arithmetic alone, accurate to
/// about 1e-15 for `x` below 2^53.
///
/// Writing `x = m * 2^e` with `1 <= m < 2`, `ln(m) = 2 atanh(z)` with
/// `z = (m - 1) / (m + 1)`, which is below 1/3, so the odd series of atanh
/// converges fast: 20 terms leave an error below 1e-19.
pub fn log2(x: u64) -> f64 {
    debug_assert!(x >= 1);
    let e = 63 - x.leading_zeros();
    // 2^e is exact in f64, and so is the division by it.
    let m = x as f64 / (1u64 << e) as f64;
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut power = z;
    let mut sum = 0.0;
    for k in 0..20 {
        sum += power / f64::from(2 * k + 1);
        power *= z2;
    }
    // A constant, not a computation: the same on every engine.
    f64::from(e) + 2.0 * sum * std::f64::consts::LOG2_E
}

/// The most frequent byte values, most frequent first (ties in byte
/// order), each with its share to one decimal place.
fn most_frequent(counts: &[u64; 256], size: u64) -> String {
    let mut order: Vec<usize> = (0..256).filter(|&b| counts[b] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order
        .iter()
        .take(TOP)
        .map(|&b| {
            // Per mille, rounded half up, in integers.
            let permille = (counts[b] * 2000 / size).div_ceil(2);
            format!(
                "0x{b:02x}{} {}.{}%",
                printable(b as u8).map_or(String::new(), |c| format!(" '{c}'")),
                permille / 10,
                permille % 10
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hex dump: per 16 bytes the offset, the bytes in hex and the printable
/// ASCII ones, as `hexdump -C` shows them.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(16) * 78);
    for (line, chunk) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{:08x} ", line * 16));
        for column in 0..16 {
            if column == 8 {
                out.push(' ');
            }
            match chunk.get(column) {
                Some(b) => out.push_str(&format!(" {b:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| printable(b).unwrap_or('.')));
        out.push_str("|\n");
    }
    out
}

fn printable(b: u8) -> Option<char> {
    (b.is_ascii_graphic() || b == b' ').then_some(b as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(document: &Document) -> Vec<(String, String)> {
        match &document.blocks[0] {
            Block::Fields { items } => items.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn field(document: &Document, label: &str) -> String {
        fields(document)
            .into_iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v)
            .unwrap()
    }

    #[test]
    fn log2_matches_the_platform_closely() {
        for x in (1..5000u64).chain([1 << 20, 1_000_003, u32::MAX as u64, 1 << 52]) {
            let ours = log2(x);
            let std = (x as f64).log2();
            assert!((ours - std).abs() < 1e-12, "{x}: {ours} vs {std}");
        }
        assert_eq!(log2(1), 0.0);
        assert_eq!(log2(1024), 10.0);
    }

    #[test]
    fn entropy_of_known_distributions() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            field(&decode(&all).unwrap(), "entropy"),
            "8.00 bits per byte"
        );
        let one = vec![7u8; 1000];
        assert_eq!(
            field(&decode(&one).unwrap(), "entropy"),
            "0.00 bits per byte"
        );
        assert_eq!(
            field(&decode(b"abab").unwrap(), "entropy"),
            "1.00 bits per byte"
        );
        // p = 3/4, 1/4: 0.811278...
        assert_eq!(
            field(&decode(b"aaab").unwrap(), "entropy"),
            "0.81 bits per byte"
        );
        assert_eq!(
            field(&decode(b"").unwrap(), "entropy"),
            "0.00 bits per byte"
        );
    }

    #[test]
    fn statistics_of_a_text() {
        let document = decode(b"hello, world\n").unwrap();
        assert_eq!(
            fields(&document),
            vec![
                ("size".into(), "13 bytes".into()),
                ("distinct byte values".into(), "10 of 256".into()),
                ("entropy".into(), "3.18 bits per byte".into()),
                (
                    "most frequent bytes".into(),
                    "0x6c 'l' 23.1%, 0x6f 'o' 15.4%, 0x0a 7.7%, 0x20 ' ' 7.7%, 0x2c ',' 7.7%"
                        .into()
                ),
                ("hex dump".into(), "all bytes".into()),
            ]
        );
        assert_eq!(
            document.blocks[1],
            Block::Code {
                text:
                    "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a           |hello, world.|\n"
                        .into()
            }
        );
    }

    #[test]
    fn hex_dump_stops_at_4_kib() {
        let input: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let document = decode(&input).unwrap();
        assert_eq!(field(&document, "hex dump"), "first 4096 of 10000 bytes");
        let Block::Code { text } = &document.blocks[1] else {
            panic!()
        };
        assert_eq!(text.lines().count(), 256);
        assert!(text.lines().last().unwrap().starts_with("00000ff0  "));
        assert!(text.lines().all(|line| line.len() == 78));
    }

    #[test]
    fn output_is_a_valid_document() {
        for input in [&b""[..], b"\x00", &[0xffu8; 5000]] {
            let response = legation_decoder_sdk::respond(decode(input));
            assert!(legation_decoder_sdk::read_response(&response).is_ok());
        }
    }
}

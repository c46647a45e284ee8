//! Reading text records whose encoding is not declared.

use std::borrow::Cow;

/// How [`decode_text`] read the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (a leading byte order mark, if any, is dropped).
    Utf8,
    /// Not UTF-8, so read as ISO 8859-1 (Latin-1): each byte is the code
    /// point of the same value. This never fails, and is right for the
    /// Western European files that are most often not UTF-8.
    Latin1,
}

impl TextEncoding {
    /// A line for a document's fields when the text was not UTF-8, so that
    /// the reader knows the characters may be wrong.
    pub fn note(self) -> Option<(String, String)> {
        match self {
            TextEncoding::Utf8 => None,
            TextEncoding::Latin1 => Some((
                "encoding".to_owned(),
                "not UTF-8; shown as Latin-1 (ISO 8859-1)".to_owned(),
            )),
        }
    }
}

/// The text of `input`: UTF-8 without its byte order mark, or else
/// Latin-1.
pub fn decode_text(input: &[u8]) -> (Cow<'_, str>, TextEncoding) {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    match utf8(input) {
        Ok(text) => (Cow::Borrowed(text), TextEncoding::Utf8),
        Err(_) => (
            Cow::Owned(input.iter().map(|&b| char::from(b)).collect()),
            TextEncoding::Latin1,
        ),
    }
}

/// A 1 in every byte of a 64-bit word, and the high bit of every byte.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The eight bytes at the start of `bytes` as a little-endian word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// The high bit of each byte of `x` that is zero: the lowest set bit
/// marks the first zero byte exactly (borrows only run upwards, so bits
/// above it may be wrong, never the lowest).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// [`std::str::from_utf8`], with the ASCII part checked sixteen bytes a
/// step: the standard library checks a `usize` at a time, four bytes in
/// `wasm32`, which made validation take five times native's time there.
/// From the first block with a byte over 0x7F on, the standard library
/// checks the rest.
pub fn utf8(input: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let mut ascii = 0;
    for pair in input.chunks_exact(16) {
        if (word(&pair[..8]) | word(&pair[8..])) & HIGHS != 0 {
            break;
        }
        ascii += 16;
    }
    // `input[..ascii]` is ASCII, so `ascii` starts a character, and the
    // whole is UTF-8 exactly when the rest is; an error's position in the
    // rest moves up by `ascii`, which the standard library's own check of
    // the whole would report, so that check is what an error returns.
    match std::str::from_utf8(&input[ascii..]) {
        Ok(_) => {
            // SAFETY: `input[..ascii]` is ASCII and `input[ascii..]` was
            // just checked, so all of `input` is UTF-8.
            #[allow(unsafe_code)]
            Ok(unsafe { std::str::from_utf8_unchecked(input) })
        }
        Err(_) => std::str::from_utf8(input),
    }
}

/// The index of the first `byte` in `haystack`.
///
/// The standard library's search reads a `usize` at a time, which is four
/// bytes in `wasm32`; this one tests sixteen bytes a step as two 64-bit
/// words everywhere (WebAssembly has 64-bit integers), so decoders that
/// split text by lines or look for a delimiter go several times faster in
/// WebAssembly, and natively as fast as before.
#[inline]
pub fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    // A word xor `pattern` has a zero byte where the word has `byte`.
    let pattern = ONES * u64::from(byte);
    let matches = |bytes: &[u8]| zero_bytes(word(bytes) ^ pattern);
    let first = |bits: u64| (bits.trailing_zeros() / 8) as usize;
    let mut pairs = haystack.chunks_exact(16);
    let mut at = 0;
    for pair in &mut pairs {
        let (low, high) = (matches(&pair[..8]), matches(&pair[8..]));
        if low | high != 0 {
            return Some(if low != 0 {
                at + first(low)
            } else {
                at + 8 + first(high)
            });
        }
        at += 16;
    }
    let mut rest = pairs.remainder();
    if rest.len() >= 8 {
        let bits = matches(&rest[..8]);
        if bits != 0 {
            return Some(at + first(bits));
        }
        rest = &rest[8..];
        at += 8;
    }
    rest.iter().position(|&b| b == byte).map(|i| at + i)
}

/// The index of the first byte of `haystack` that is one of `needles`:
/// [`find_byte`] for three bytes at once (a field's end in delimited text:
/// the delimiter, line feed or carriage return), eight bytes a step.
#[inline]
pub fn find_any(haystack: &[u8], needles: [u8; 3]) -> Option<usize> {
    let patterns = needles.map(|n| ONES * u64::from(n));
    let mut words = haystack.chunks_exact(8);
    let mut at = 0;
    for bytes in &mut words {
        let word = word(bytes);
        // The zero tests of the three comparisons, or-ed: the lowest high
        // bit of each is exact, so the lowest of their union is the first
        // byte that equals any needle.
        let bits = patterns
            .iter()
            .fold(0, |bits, pattern| bits | zero_bytes(word ^ pattern));
        if bits != 0 {
            return Some(at + (bits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|b| needles.contains(b))
        .map(|i| at + i)
}

/// Whether `b` is white space in the sense of [`char::is_whitespace`]
/// (the ASCII part of Unicode's `White_Space`: tab, line feed, vertical
/// tab, form feed, carriage return and space).
#[inline]
fn is_ascii_white(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// [`str::trim_start`], a byte at a time while the text is ASCII (the
/// standard library decodes every character, which WebAssembly pays for
/// twice over), and the standard library's from the first other byte.
#[inline]
pub fn trim_start(text: &str) -> &str {
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if b >= 0x80 {
            // Every byte before `i` is ASCII, so `i` starts a character.
            return text[i..].trim_start();
        }
        if !is_ascii_white(b) {
            return &text[i..];
        }
    }
    ""
}

/// [`str::trim_end`], a byte at a time while the text ends in ASCII.
#[inline]
pub fn trim_end(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    while let Some(&b) = end.checked_sub(1).and_then(|i| bytes.get(i)) {
        if b >= 0x80 {
            // `end` follows an ASCII byte or is the end of the text.
            return text[..end].trim_end();
        }
        if !is_ascii_white(b) {
            break;
        }
        end -= 1;
    }
    &text[..end]
}

/// [`str::trim`], as [`trim_start`] and [`trim_end`] do it.
#[inline]
pub fn trim(text: &str) -> &str {
    trim_end(trim_start(text))
}

/// Whether `text` is empty or all white space (`text.trim().is_empty()`).
#[inline]
pub fn is_blank(text: &str) -> bool {
    trim_start(text).is_empty()
}

/// The lines of `text`, exactly as [`str::lines`] gives them (split at
/// `\n`, each line without its `\n` or `\r\n`, no empty line after a final
/// line end), found with [`find_byte`].
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let line = match find_byte(self.rest.as_bytes(), b'\n') {
            Some(end) => {
                let line = &self.rest[..end];
                self.rest = &self.rest[end + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut self.rest),
        };
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        // Every position of the needle in haystacks longer than a few
        // words, with and without bytes one bit away from it.
        for len in 0..50 {
            for needle in [0u8, b'\n', 0x80, 0xff] {
                let near = [needle ^ 1, needle ^ 0x80, needle.wrapping_sub(1)];
                for filler in near {
                    let mut hay = vec![filler; len];
                    assert_eq!(find_byte(&hay, needle), None);
                    for at in (0..len).rev() {
                        hay[at] = needle;
                        assert_eq!(find_byte(&hay, needle), Some(at), "{len} {at} {needle}");
                    }
                }
            }
        }
    }

    #[test]
    fn find_any_agrees_with_a_plain_search() {
        let needles = [b',', b'\n', b'\r'];
        for len in 0..30 {
            for filler in [b'a', b',' ^ 1, b'\n' ^ 0x80, b'\r' - 1] {
                let mut hay = vec![filler; len];
                assert_eq!(find_any(&hay, needles), None);
                for at in (0..len).rev() {
                    for needle in needles {
                        hay[at] = needle;
                        assert_eq!(find_any(&hay, needles), Some(at), "{len} {at} {needle}");
                        // A later needle does not hide this one.
                        if at + 1 < len {
                            hay[at + 1] = needles[0];
                            assert_eq!(find_any(&hay, needles), Some(at));
                            hay[at + 1] = filler;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn trims_agree_with_the_standard_library() {
        // Every string of up to 4 of these pieces: ASCII white space and
        // not, Unicode white space (U+0085, U+00A0, U+3000) and not, and
        // the controls next to ASCII's white space that are not.
        let pieces = [
            " ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x08", "a", "\u{85}", "\u{a0}",
            "\u{3000}", "é", "\u{200b}",
        ];
        let mut level = vec![String::new()];
        let mut strings = level.clone();
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            strings.extend(level.iter().cloned());
        }
        for s in &strings {
            assert_eq!(trim_start(s), s.trim_start(), "{s:?}");
            assert_eq!(trim_end(s), s.trim_end(), "{s:?}");
            assert_eq!(trim(s), s.trim(), "{s:?}");
            assert_eq!(is_blank(s), s.trim().is_empty(), "{s:?}");
        }
    }

    #[test]
    fn lines_agree_with_str_lines() {
        // Every string of up to 6 of these pieces, and a longer one.
        let pieces = ["a", "\r", "\n", "é", "\r\n"];
        let mut level = vec![String::new()];
        let mut strings = level.clone();
        for _ in 0..6 {
            level = level
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            strings.extend(level.iter().cloned());
        }
        strings.push("x".repeat(30) + "\r\n" + &"y".repeat(17) + "\n\n\r");
        for s in &strings {
            assert_eq!(
                lines(s).collect::<Vec<_>>(),
                s.lines().collect::<Vec<_>>(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn utf8_agrees_with_the_standard_library() {
        // ASCII runs of every length around the 16-byte blocks, followed
        // by valid and broken sequences, and broken ones inside.
        let tails: [&[u8]; 7] = [
            b"",
            "é".as_bytes(),
            b"\xc3",
            b"\xff",
            b"\xe2\x82\xac",
            b"\xe2\x82",
            b"\xc3\xa9x",
        ];
        for len in 0..40 {
            for tail in tails {
                for head in [&b""[..], b"\xed\xa0\x80"] {
                    let mut bytes = b"a".repeat(len);
                    bytes.extend_from_slice(tail);
                    bytes.extend_from_slice(head);
                    bytes.extend_from_slice(&b"b".repeat(len % 17));
                    assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn utf8_with_or_without_bom() {
        assert_eq!(decode_text(b"\xef\xbb\xbfa\xc3\xa9").0, "aé");
        assert_eq!(decode_text("aé".as_bytes()).1, TextEncoding::Utf8);
    }

    #[test]
    fn anything_else_is_latin1() {
        let (text, encoding) = decode_text(b"caf\xe9 \x80");
        assert_eq!(text, "caf\u{e9} \u{80}");
        assert_eq!(encoding, TextEncoding::Latin1);
        assert!(encoding.note().is_some());
    }
}

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
    match std::str::from_utf8(input) {
        Ok(text) => (Cow::Borrowed(text), TextEncoding::Utf8),
        Err(_) => (
            Cow::Owned(input.iter().map(|&b| char::from(b)).collect()),
            TextEncoding::Latin1,
        ),
    }
}

/// The index of the first `byte` in `haystack`.
///
/// The standard library's search reads a `usize` at a time, which is four
/// bytes in `wasm32`; this one reads eight everywhere (WebAssembly has
/// 64-bit integers), so decoders that split text by lines or look for a
/// delimiter go about twice as fast in WebAssembly, and natively as fast
/// as before.
pub fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let pattern = ONES * u64::from(byte);
    let mut words = haystack.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        // `x` has a zero byte where `word` has `byte`; the lowest high bit
        // of the zero test marks the first one (borrows only run upwards).
        let x = u64::from_le_bytes(word.try_into().expect("chunks of 8")) ^ pattern;
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| at + i)
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
        for len in 0..40 {
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

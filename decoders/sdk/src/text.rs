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

#[cfg(test)]
mod tests {
    use super::*;

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

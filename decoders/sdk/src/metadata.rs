//! The JSON description in the `legation.decoder` custom section, built at
//! compile time.
//!
//! The section must be a fixed-size static, so its length is computed by
//! one pass of [`write`] into nothing and its bytes by a second pass into
//! an array of that length.

/// Length of the description, for the static's type.
pub const fn metadata_len(
    abi: u32,
    name: &str,
    version: &str,
    media_types: &[&str],
    pages: bool,
) -> usize {
    write(&mut [], abi, name, version, media_types, pages)
}

/// The description: `{"abi":1,"name":...,"version":...,"media_types":[...],"pages":...}`
/// (`"abi":2` for a decoder given the record's facts).
///
/// `N` must be [`metadata_len`] of the same arguments; a control character
/// in a string, or a wrong `N`, stops the build.
pub const fn metadata<const N: usize>(
    abi: u32,
    name: &str,
    version: &str,
    media_types: &[&str],
    pages: bool,
) -> [u8; N] {
    let mut out = [0u8; N];
    let len = write(&mut out, abi, name, version, media_types, pages);
    assert!(len == N, "metadata length mismatch");
    out
}

/// Writes as much of the description as fits into `out` and returns its
/// full length.
const fn write(
    out: &mut [u8],
    abi: u32,
    name: &str,
    version: &str,
    media_types: &[&str],
    pages: bool,
) -> usize {
    assert!(abi == 1 || abi == 2, "the SDK writes ABI 1 or 2");
    let mut at = raw(
        out,
        0,
        if abi == 2 {
            "{\"abi\":2,"
        } else {
            "{\"abi\":1,"
        },
    );
    at = raw(out, at, "\"name\":");
    at = string(out, at, name);
    at = raw(out, at, ",\"version\":");
    at = string(out, at, version);
    at = raw(out, at, ",\"media_types\":[");
    let mut index = 0;
    while index < media_types.len() {
        if index > 0 {
            at = raw(out, at, ",");
        }
        at = string(out, at, media_types[index]);
        index += 1;
    }
    at = raw(out, at, "],\"pages\":");
    at = raw(out, at, if pages { "true" } else { "false" });
    raw(out, at, "}")
}

/// Writes `text` as a JSON string: quoted, with `"` and `\` escaped.
const fn string(out: &mut [u8], mut at: usize, text: &str) -> usize {
    at = byte(out, at, b'"');
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let b = bytes[index];
        assert!(
            b >= 0x20 && b != 0x7f,
            "decoder metadata must not hold control characters"
        );
        if b == b'"' || b == b'\\' {
            at = byte(out, at, b'\\');
        }
        at = byte(out, at, b);
        index += 1;
    }
    byte(out, at, b'"')
}

const fn raw(out: &mut [u8], mut at: usize, text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        at = byte(out, at, bytes[index]);
        index += 1;
    }
    at
}

const fn byte(out: &mut [u8], at: usize, b: u8) -> usize {
    if at < out.len() {
        out[at] = b;
    }
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV_LEN: usize = metadata_len(
        1,
        "csv",
        "1.0.0",
        &["text/csv", "text/tab-separated-values"],
        false,
    );
    static CSV: [u8; CSV_LEN] = metadata::<CSV_LEN>(
        1,
        "csv",
        "1.0.0",
        &["text/csv", "text/tab-separated-values"],
        false,
    );

    #[test]
    fn built_at_compile_time() {
        assert_eq!(
            std::str::from_utf8(&CSV).unwrap(),
            r#"{"abi":1,"name":"csv","version":"1.0.0","media_types":["text/csv","text/tab-separated-values"],"pages":false}"#
        );
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        const LEN: usize = metadata_len(1, "a\"b\\", "2", &[], true);
        let bytes = metadata::<LEN>(1, "a\"b\\", "2", &[], true);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"abi":1,"name":"a\"b\\","version":"2","media_types":[],"pages":true}"#
        );
    }

    #[test]
    #[should_panic(expected = "control characters")]
    fn control_characters_are_refused() {
        metadata_len(1, "a\nb", "1", &[], false);
    }

    #[test]
    fn a_decoder_given_facts_declares_abi_2() {
        const LEN: usize = metadata_len(2, "tzif", "1.0.0", &["application/x-tzif"], false);
        let bytes = metadata::<LEN>(2, "tzif", "1.0.0", &["application/x-tzif"], false);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"abi":2,"name":"tzif","version":"1.0.0","media_types":["application/x-tzif"],"pages":false}"#
        );
    }
}

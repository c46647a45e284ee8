//! Media types by magic bytes first, then by file extension.

/// Guesses a record's media type from its first bytes and its name.
pub fn detect(name: &str, head: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
        (b"%PDF-", "application/pdf"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"\0asm", "application/wasm"),
    ];
    if let Some((_, t)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return t;
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "tsv" | "tab" => "text/tab-separated-values",
        "json" => "application/json",
        "xml" => "application/xml",
        "html" | "htm" => "text/html",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "jpg" | "jpeg" => "image/jpeg",
        "pdf" => "application/pdf",
        _ if looks_like_text(head) => "text/plain",
        _ => "application/octet-stream",
    }
}

/// Whether the first bytes of a file look like UTF-8 text (a character cut
/// at the end of the sample is allowed).
fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(_) => head.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    valid > 0 && !head[..valid].contains(&0)
}

/// Whether records of this type are usually already compressed, so the
/// writer need not try DEFLATE on them.
pub fn is_precompressed(media_type: &str) -> bool {
    matches!(
        media_type,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "application/zip"
            | "application/gzip"
            | "application/pdf"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn magic_beats_extension() {
        assert_eq!(
            super::detect("x.txt", b"\x89PNG\r\n\x1a\nrest"),
            "image/png"
        );
        assert_eq!(super::detect("scan.tif", b"II*\0"), "image/tiff");
        assert_eq!(super::detect("a.CSV", b"a,b\n"), "text/csv");
        assert_eq!(super::detect("LICENSE", b"GNU GENERAL"), "text/plain");
        assert_eq!(
            super::detect("blob", b"\0\x01\x02"),
            "application/octet-stream"
        );
    }
}

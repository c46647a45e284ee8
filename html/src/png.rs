//! Images inlined in HTML: raw pixels as a PNG (the `data:` URL's base64
//! is the format crate's, `legation_format::v2::base64`).

use legation_document::PixelFormat;

/// A PNG (8 bits per sample, no interlace, filter 0) of raw pixels.
pub(crate) fn encode_png(width: u32, height: u32, format: PixelFormat, pixels: &[u8]) -> Vec<u8> {
    let (colour, bpp) = match format {
        PixelFormat::Gray8 => (0u8, 1usize),
        PixelFormat::GrayAlpha8 => (4, 2),
        PixelFormat::Rgb8 => (2, 3),
        PixelFormat::Rgba8 => (6, 4),
    };
    let stride = width as usize * bpp;
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    for row in pixels.chunks(stride.max(1)) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

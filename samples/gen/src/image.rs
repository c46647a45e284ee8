//! Raster drawing and the two image files the generator writes: PNG
//! (RGB, for cadastral plans) and multi-page TIFF (greyscale, PackBits,
//! for scanned certificates). Both encoders are written here from the
//! specifications (PNG: ISO/IEC 15948, TIFF 6.0 part 1), with zlib from
//! `miniz_oxide` and CRC-32 from `crc32fast`.

/// A raster of `channels` bytes per pixel, rows top to bottom.
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// The pixels.
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `colour` (`channels` bytes).
    pub fn new(width: usize, height: usize, colour: &[u8]) -> Canvas {
        let pixels = colour.repeat(width * height);
        Canvas {
            width,
            height,
            channels: colour.len(),
            pixels,
        }
    }

    /// Sets one pixel; points outside are ignored.
    pub fn set(&mut self, x: i64, y: i64, colour: &[u8]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let at = (y as usize * self.width + x as usize) * self.channels;
            self.pixels[at..at + self.channels].copy_from_slice(colour);
        }
    }

    /// The pixel at a point inside the canvas.
    pub fn get(&self, x: usize, y: usize) -> &[u8] {
        let at = (y * self.width + x) * self.channels;
        &self.pixels[at..at + self.channels]
    }

    /// Fills a rectangle (clipped to the canvas).
    pub fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, colour: &[u8]) {
        let (xa, xb) = (x0.max(0), x1.min(self.width as i64));
        let (ya, yb) = (y0.max(0), y1.min(self.height as i64));
        for y in ya..yb {
            for x in xa..xb {
                self.set(x, y, colour);
            }
        }
    }

    /// A line of width `thick` (Bresenham, a square pen).
    pub fn line(&mut self, a: (i64, i64), b: (i64, i64), thick: i64, colour: &[u8]) {
        let (mut x, mut y) = a;
        let dx = (b.0 - a.0).abs();
        let dy = -(b.1 - a.1).abs();
        let sx = if a.0 < b.0 { 1 } else { -1 };
        let sy = if a.1 < b.1 { 1 } else { -1 };
        let mut err = dx + dy;
        let half = thick / 2;
        loop {
            self.rect(
                x - half,
                y - half,
                x - half + thick,
                y - half + thick,
                colour,
            );
            if x == b.0 && y == b.1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// A circle outline (midpoint algorithm).
    pub fn circle(&mut self, cx: i64, cy: i64, r: i64, colour: &[u8]) {
        let (mut x, mut y, mut err) = (r, 0, 1 - r);
        while x >= y {
            for (px, py) in [
                (x, y),
                (y, x),
                (-y, x),
                (-x, y),
                (-x, -y),
                (-y, -x),
                (y, -x),
                (x, -y),
            ] {
                self.set(cx + px, cy + py, colour);
            }
            y += 1;
            if err < 0 {
                err += 2 * y + 1;
            } else {
                x -= 1;
                err += 2 * (y - x) + 1;
            }
        }
    }

    /// Fills a convex polygon, pixel centres inside.
    pub fn fill_convex(&mut self, points: &[(f64, f64)], colour: &[u8]) {
        let top = points.iter().map(|p| p.1).fold(f64::MAX, f64::min).max(0.0) as usize;
        let bottom = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let bottom = (bottom.max(0.0) as usize + 1).min(self.height);
        for y in top..bottom {
            let yc = y as f64 + 0.5;
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            for i in 0..points.len() {
                let (a, b) = (points[i], points[(i + 1) % points.len()]);
                if (a.1 <= yc && b.1 > yc) || (b.1 <= yc && a.1 > yc) {
                    let x = a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1);
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
            if lo > hi {
                continue;
            }
            let xa = (lo - 0.5).ceil().max(0.0) as i64;
            let xb = ((hi - 0.5).floor() as i64).min(self.width as i64 - 1);
            for x in xa..=xb {
                self.set(x, y as i64, colour);
            }
        }
    }

    /// Writes digits and capital letters in a 3 x 5 pixel font, each
    /// pixel a `scale` square, from the top-left corner `(x, y)`.
    pub fn label(&mut self, x: i64, y: i64, text: &str, scale: i64, colour: &[u8]) {
        for (i, c) in text.chars().enumerate() {
            let rows = glyph(c);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        let px = x + (i as i64 * 4 + col) * scale;
                        let py = y + r as i64 * scale;
                        self.rect(px, py, px + scale, py + scale, colour);
                    }
                }
            }
        }
    }

    /// The PNG encoding of this canvas.
    pub fn png(&self) -> Vec<u8> {
        let row = self.width * self.channels;
        let mut raw = Vec::with_capacity((row + 1) * self.height);
        for y in 0..self.height {
            // Filter 1 (Sub): each byte minus the byte one pixel left.
            raw.push(1);
            let line = &self.pixels[y * row..(y + 1) * row];
            for (i, &b) in line.iter().enumerate() {
                let left = if i >= self.channels {
                    line[i - self.channels]
                } else {
                    0
                };
                raw.push(b.wrapping_sub(left));
            }
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend((self.width as u32).to_be_bytes());
        ihdr.extend((self.height as u32).to_be_bytes());
        // 8 bits, colour type 2 (RGB) or 0 (grey), deflate, no interlace.
        ihdr.extend([8, if self.channels == 3 { 2 } else { 0 }, 0, 0, 0]);
        png_chunk(&mut out, b"IHDR", &ihdr);
        png_chunk(
            &mut out,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
        );
        png_chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend(crc.finalize().to_be_bytes());
}

/// Rows of a 3 x 5 glyph, high bit left.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 3, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 2, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'N' => [5, 7, 7, 7, 5],
        'M' => [5, 7, 7, 5, 5],
        '-' => [0, 0, 7, 0, 0],
        '/' => [1, 1, 2, 4, 4],
        _ => [0; 5],
    }
}

/// A multi-page greyscale TIFF: little-endian, 8 bits, BlackIsZero,
/// PackBits, 16 rows per strip, each page's description and page number.
pub fn tiff(pages: &[Canvas], descriptions: &[String], dpi: u32) -> Vec<u8> {
    const ROWS_PER_STRIP: usize = 16;
    let mut out = b"II\x2a\x00\0\0\0\0".to_vec();
    let mut link_at = 4usize;
    for (index, page) in pages.iter().enumerate() {
        // Strips first, then the page's directory and its values.
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for strip in page.pixels.chunks(page.width * ROWS_PER_STRIP) {
            let start = out.len();
            for row in strip.chunks(page.width) {
                packbits(row, &mut out);
            }
            offsets.push(start as u32);
            counts.push((out.len() - start) as u32);
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let description = format!("{}\0", descriptions[index]);
        // Values too long for an entry, each at an even offset.
        let mut extra = Vec::new();
        let mut place = |out: &mut Vec<u8>, bytes: &[u8]| {
            let at = out.len() as u32;
            out.extend(bytes);
            if out.len() % 2 == 1 {
                out.push(0);
            }
            extra.push(at);
            at
        };
        let desc_at = place(&mut out, description.as_bytes());
        let offs: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        let cnts: Vec<u8> = counts.iter().flat_map(|o| o.to_le_bytes()).collect();
        let offs_at = place(&mut out, &offs);
        let cnts_at = place(&mut out, &cnts);
        let res: Vec<u8> = [dpi, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let res_at = place(&mut out, &res);
        let strips = offsets.len() as u32;
        let one = |v: u32| if strips == 1 { v } else { 0 };
        // (tag, type, count, value or offset); types 2 ASCII, 3 SHORT,
        // 4 LONG, 5 RATIONAL.
        let entries: [(u16, u16, u32, u32); 14] = [
            (256, 4, 1, page.width as u32),
            (257, 4, 1, page.height as u32),
            (258, 3, 1, 8),
            (259, 3, 1, 32773),
            (262, 3, 1, 1),
            (270, 2, description.len() as u32, desc_at),
            (
                273,
                4,
                strips,
                if strips == 1 { offsets[0] } else { offs_at },
            ),
            (277, 3, 1, 1),
            (278, 4, 1, ROWS_PER_STRIP as u32),
            (
                279,
                4,
                strips,
                if strips == 1 { counts[0] } else { cnts_at },
            ),
            (282, 5, 1, res_at),
            (283, 5, 1, res_at),
            (296, 3, 1, 2),
            (297, 3, 2, index as u32 | (pages.len() as u32) << 16),
        ];
        let _ = one;
        let ifd_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&ifd_at.to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            out.extend(value.to_le_bytes());
        }
        link_at = out.len();
        out.extend(0u32.to_le_bytes());
    }
    out
}

/// PackBits (TIFF 6.0 section 9) of one row, appended to `out`: runs of
/// 3 or more equal bytes as repeats, the rest as literals.
pub fn packbits(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let mut run = 1;
        while i + run < row.len() && run < 128 && row[i + run] == row[i] {
            run += 1;
        }
        if run >= 3 {
            out.push((257 - run) as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        // A literal up to the next run of 3 or 128 bytes.
        let start = i;
        while i < row.len() && i - start < 128 {
            if i + 2 < row.len() && row[i] == row[i + 1] && row[i] == row[i + 2] {
                break;
            }
            i += 1;
        }
        out.push((i - start - 1) as u8);
        out.extend(&row[start..i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reverse of [`packbits`], for the round trip.
    fn unpack(mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((&n, rest)) = data.split_first() {
            if n < 128 {
                out.extend(&rest[..n as usize + 1]);
                data = &rest[n as usize + 1..];
            } else if n > 128 {
                out.extend(std::iter::repeat_n(rest[0], 257 - n as usize));
                data = &rest[1..];
            } else {
                data = rest;
            }
        }
        out
    }

    #[test]
    fn packbits_round_trips() {
        let mut rows: Vec<Vec<u8>> = vec![vec![], vec![1], vec![5; 300], vec![1, 2, 2, 3, 3, 3]];
        rows.push((0..=255).collect());
        rows.push((0..1000u32).map(|i| (i / 7 % 3) as u8).collect());
        for row in rows {
            let mut out = Vec::new();
            packbits(&row, &mut out);
            assert_eq!(unpack(&out), row);
        }
        let mut out = Vec::new();
        packbits(&[9; 200], &mut out);
        assert_eq!(out, vec![129, 9, 185, 9]);
    }

    #[test]
    fn png_and_tiff_decode() {
        let mut c = Canvas::new(40, 30, &[250, 250, 240]);
        c.fill_convex(&[(5.0, 5.0), (30.0, 8.0), (20.0, 25.0)], &[200, 10, 10]);
        c.line((0, 0), (39, 29), 1, &[0, 0, 0]);
        c.label(2, 2, "17", 1, &[0, 0, 0]);
        let png = c.png();
        let doc = legation_decoder_png::decode(&png).unwrap();
        let legation_decoder_sdk::Block::Image { pixels, width, .. } = &doc.blocks[1] else {
            panic!("{doc:?}")
        };
        assert_eq!((*width, &pixels[..]), (40, &c.pixels[..]));

        let pages = vec![Canvas::new(33, 40, &[230]), {
            let mut p = Canvas::new(20, 17, &[10]);
            p.circle(10, 8, 5, &[255]);
            p
        }];
        let t = tiff(&pages, &["front".into(), "back".into()], 150);
        let doc = legation_decoder_tiff::decode(&t).unwrap();
        assert_eq!(doc.title, "TIFF, 2 pages");
        for (i, page) in pages.iter().enumerate() {
            let doc = legation_decoder_tiff::decode_page(&t, i as u32).unwrap();
            let found = doc.blocks.iter().find_map(|b| match b {
                legation_decoder_sdk::Block::Image { pixels, .. } => Some(pixels.clone()),
                _ => None,
            });
            assert_eq!(found.unwrap(), page.pixels);
        }
    }
}

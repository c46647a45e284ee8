//! The PNG decoder.
//!
//! Reads PNG (ISO/IEC 15948, W3C PNG second edition) of every colour type
//! (greyscale, truecolour, indexed, greyscale with alpha, truecolour with
//! alpha) and bit depth (1, 2, 4, 8, 16), with `PLTE` and `tRNS`, Adam7
//! interlacing, and every chunk's CRC checked. The image becomes 8 bits
//! per channel: 16-bit samples keep their high byte, lower depths are
//! scaled to 0..255, palettes are expanded to RGB (RGBA with `tRNS`), and
//! a `tRNS` colour key adds an alpha channel. `tEXt` chunks are shown as
//! fields; other ancillary chunks (gamma, colour profiles) are ignored.
//!
//! The size in the header is checked against the view document's limits
//! before anything is allocated, and the compressed data is inflated to
//! at most the size the header implies.

#![deny(unsafe_code)]

mod crc;

use legation_decoder_sdk::{decoder, Block, DecodeError, Document, Limits, PixelFormat};

decoder! {
    name: "png", version: "1.0.0", media_types: ["image/png"],
    decode: decode,
}

/// The eight bytes every PNG starts with.
pub const SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// Most `tEXt` chunks shown.
const MAX_TEXTS: usize = 64;

/// Decodes a PNG image.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let png = read(input)?;
    let header = &png.header;
    let mut items = vec![
        ("width".to_owned(), header.width.to_string()),
        ("height".to_owned(), header.height.to_string()),
        ("colour type".to_owned(), header.colour_name().to_owned()),
        ("bit depth".to_owned(), header.depth.to_string()),
        (
            "interlace".to_owned(),
            if header.interlaced { "Adam7" } else { "none" }.to_owned(),
        ),
    ];
    items.extend(png.texts.iter().cloned());
    fits(header.width, header.height, png.format())?;
    let pixels = pixels(&png)?;
    Ok(Document {
        title: format!("PNG image, {} x {}", header.width, header.height),
        blocks: vec![
            Block::Fields { items },
            Block::Image {
                width: header.width,
                height: header.height,
                format: png.format(),
                pixels,
            },
        ],
    })
}

/// The `IHDR` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    width: u32,
    height: u32,
    depth: u8,
    colour: u8,
    interlaced: bool,
}

impl Header {
    fn channels(&self) -> usize {
        match self.colour {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        }
    }

    fn colour_name(&self) -> &'static str {
        match self.colour {
            0 => "greyscale",
            2 => "truecolour",
            3 => "indexed-colour",
            4 => "greyscale with alpha",
            _ => "truecolour with alpha",
        }
    }

    /// Bytes of one scanline of `width` pixels, without its filter byte.
    fn row_bytes(&self, width: u32) -> usize {
        (width as usize * self.channels() * usize::from(self.depth)).div_ceil(8)
    }

    /// Bytes between corresponding bytes of neighbouring pixels, for the
    /// filters: at least 1.
    fn filter_distance(&self) -> usize {
        (self.channels() * usize::from(self.depth) / 8).max(1)
    }
}

/// The parts of a PNG that make its image.
struct Png {
    header: Header,
    /// RGB triples.
    palette: Vec<[u8; 3]>,
    /// The `tRNS` chunk's bytes, if any.
    transparency: Option<Vec<u8>>,
    /// The concatenated `IDAT` data.
    data: Vec<u8>,
    /// `tEXt` keyword and text pairs.
    texts: Vec<(String, String)>,
}

impl Png {
    fn format(&self) -> PixelFormat {
        match (self.header.colour, self.transparency.is_some()) {
            (0, false) => PixelFormat::Gray8,
            (0, true) | (4, _) => PixelFormat::GrayAlpha8,
            (2 | 3, false) => PixelFormat::Rgb8,
            _ => PixelFormat::Rgba8,
        }
    }
}

fn refuse(message: impl Into<String>) -> DecodeError {
    DecodeError::new(format!("PNG: {}", message.into()))
}

/// Walks the chunks, checking each CRC and the order the standard sets.
fn read(input: &[u8]) -> Result<Png, DecodeError> {
    if !input.starts_with(&SIGNATURE) {
        return Err(refuse("no PNG signature"));
    }
    let mut pos = SIGNATURE.len();
    let mut header = None;
    let mut png = Png {
        header: Header {
            width: 0,
            height: 0,
            depth: 0,
            colour: 0,
            interlaced: false,
        },
        palette: Vec::new(),
        transparency: None,
        data: Vec::new(),
        texts: Vec::new(),
    };
    // 0: no IDAT yet, 1: in the IDAT run, 2: after it.
    let mut idat_state = 0;
    loop {
        let Some(head) = input.get(pos..pos + 8) else {
            return Err(refuse(format!(
                "the file ends at byte {} before the IEND chunk",
                input.len()
            )));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let name = String::from_utf8_lossy(&kind).into_owned();
        if len > 0x7fff_ffff {
            return Err(refuse(format!("chunk {name} has a length over 2^31-1")));
        }
        let body_start = pos + 8;
        let Some(end) = body_start
            .checked_add(len as usize + 4)
            .filter(|&end| end <= input.len())
        else {
            return Err(refuse(format!(
                "the file ends inside chunk {name} at byte {pos}"
            )));
        };
        let body = &input[body_start..end - 4];
        let stored = u32::from_be_bytes([
            input[end - 4],
            input[end - 3],
            input[end - 2],
            input[end - 1],
        ]);
        if crc::crc32(&input[pos + 4..end - 4]) != stored {
            return Err(refuse(format!("chunk {name} at byte {pos} has a bad CRC")));
        }
        pos = end;

        if header.is_none() && &kind != b"IHDR" {
            return Err(refuse(format!("the first chunk is {name}, not IHDR")));
        }
        if idat_state == 1 && &kind != b"IDAT" {
            idat_state = 2;
        }
        match &kind {
            b"IHDR" => {
                if header.is_some() {
                    return Err(refuse("more than one IHDR chunk"));
                }
                let parsed = parse_header(body)?;
                png.header = parsed;
                header = Some(parsed);
            }
            b"PLTE" => {
                if idat_state > 0 {
                    return Err(refuse("PLTE after the image data"));
                }
                if !png.palette.is_empty() {
                    return Err(refuse("more than one PLTE chunk"));
                }
                if matches!(png.header.colour, 0 | 4) {
                    return Err(refuse("PLTE in a greyscale image"));
                }
                let entries = body.len() / 3;
                if entries * 3 != body.len() || entries == 0 || entries > 256 {
                    return Err(refuse(format!("PLTE of {} bytes", body.len())));
                }
                png.palette = body.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            }
            b"tRNS" => {
                if idat_state > 0 {
                    return Err(refuse("tRNS after the image data"));
                }
                if png.transparency.is_some() {
                    return Err(refuse("more than one tRNS chunk"));
                }
                let ok = match png.header.colour {
                    0 => body.len() == 2,
                    2 => body.len() == 6,
                    3 => !png.palette.is_empty() && body.len() <= png.palette.len(),
                    _ => false,
                };
                if !ok {
                    return Err(refuse(format!(
                        "tRNS of {} bytes does not fit colour type {}",
                        body.len(),
                        png.header.colour
                    )));
                }
                png.transparency = Some(body.to_vec());
            }
            b"IDAT" => {
                if idat_state == 2 {
                    return Err(refuse("IDAT chunks are not consecutive"));
                }
                if png.header.colour == 3 && png.palette.is_empty() {
                    return Err(refuse("indexed-colour image without PLTE"));
                }
                idat_state = 1;
                png.data.extend_from_slice(body);
            }
            b"IEND" => {
                if idat_state == 0 {
                    return Err(refuse("no IDAT chunk"));
                }
                // Bytes after IEND are ignored, as most readers do.
                return Ok(png);
            }
            b"tEXt" if png.texts.len() < MAX_TEXTS => {
                if let Some(zero) = body.iter().position(|&b| b == 0) {
                    let latin1 = |bytes: &[u8]| bytes.iter().map(|&b| char::from(b)).collect();
                    png.texts
                        .push((latin1(&body[..zero]), latin1(&body[zero + 1..])));
                }
            }
            _ if kind[0] & 0x20 == 0 => {
                return Err(refuse(format!("unknown critical chunk {name}")));
            }
            _ => {}
        }
    }
}

fn parse_header(body: &[u8]) -> Result<Header, DecodeError> {
    if body.len() != 13 {
        return Err(refuse(format!("IHDR of {} bytes", body.len())));
    }
    let width = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let height = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
    let (depth, colour) = (body[8], body[9]);
    let allowed: &[u8] = match colour {
        0 => &[1, 2, 4, 8, 16],
        3 => &[1, 2, 4, 8],
        2 | 4 | 6 => &[8, 16],
        _ => return Err(refuse(format!("colour type {colour}"))),
    };
    if !allowed.contains(&depth) {
        return Err(refuse(format!(
            "bit depth {depth} with colour type {colour}"
        )));
    }
    if body[10] != 0 || body[11] != 0 || body[12] > 1 {
        return Err(refuse(format!(
            "compression {}, filter {} or interlace {} method unknown",
            body[10], body[11], body[12]
        )));
    }
    if width == 0 || height == 0 || width > 0x7fff_ffff || height > 0x7fff_ffff {
        return Err(refuse(format!("size {width} x {height}")));
    }
    let header = Header {
        width,
        height,
        depth,
        colour,
        interlaced: body[12] == 1,
    };
    // Refuse what the view document could not hold, before reading on:
    // here with the fewest bytes a pixel of this colour type takes, and
    // again with the format once tRNS is known (`fits`).
    let least = match colour {
        0 => PixelFormat::Gray8,
        4 => PixelFormat::GrayAlpha8,
        2 | 3 => PixelFormat::Rgb8,
        _ => PixelFormat::Rgba8,
    };
    fits(width, height, least)?;
    Ok(header)
}

/// Refuses an image of `width` x `height` pixels of `format` that a view
/// document could not hold, before its pixels are allocated.
fn fits(width: u32, height: u32, format: PixelFormat) -> Result<(), DecodeError> {
    let limits = Limits::default();
    let count = u64::from(width) * u64::from(height);
    let bytes = count * format.bytes_per_pixel() as u64;
    if count > limits.max_pixels || bytes > limits.max_bytes as u64 - 4096 {
        return Err(refuse(format!(
            "{width} x {height} pixels is more than a view document may hold"
        )));
    }
    Ok(())
}

/// A pass of the image: its size and where its pixels go.
#[derive(Debug, Clone, Copy)]
struct Pass {
    width: u32,
    height: u32,
    x0: u32,
    y0: u32,
    dx: u32,
    dy: u32,
}

/// The passes of the image: one, or Adam7's seven (empty ones skipped).
fn passes(header: &Header) -> Vec<Pass> {
    if !header.interlaced {
        return vec![Pass {
            width: header.width,
            height: header.height,
            x0: 0,
            y0: 0,
            dx: 1,
            dy: 1,
        }];
    }
    const ADAM7: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    ADAM7
        .iter()
        .map(|&(x0, y0, dx, dy)| Pass {
            width: (header.width + dx - 1 - x0) / dx,
            height: (header.height + dy - 1 - y0) / dy,
            x0,
            y0,
            dx,
            dy,
        })
        .filter(|pass| pass.width > 0 && pass.height > 0)
        .collect()
}

/// Inflates, unfilters and converts the image data to 8-bit pixels.
fn pixels(png: &Png) -> Result<Vec<u8>, DecodeError> {
    let header = &png.header;
    let passes = passes(header);
    let expected: usize = passes
        .iter()
        .map(|pass| pass.height as usize * (1 + header.row_bytes(pass.width)))
        .sum();
    let raw = inflate(&png.data, expected)?;
    let format = png.format();
    let out_bpp = format.bytes_per_pixel();
    let width = header.width as usize;
    let mut out = vec![0u8; width * header.height as usize * out_bpp];
    let mut at = 0;
    let converter = Converter::new(png);
    // 8- and 16-bit samples without a palette or a colour key give the
    // output's bytes one for one (a 16-bit sample its high byte), so rows
    // are copied without converting each pixel.
    let direct = matches!(header.depth, 8 | 16) && header.colour != 3 && png.transparency.is_none();
    let step = usize::from(header.depth / 8);
    for pass in passes {
        let stride = header.row_bytes(pass.width);
        let mut previous = vec![0u8; stride];
        let mut line = vec![0u8; stride];
        for row in 0..pass.height {
            let filter = raw[at];
            line.copy_from_slice(&raw[at + 1..at + 1 + stride]);
            at += 1 + stride;
            unfilter(filter, &mut line, &previous, header.filter_distance())?;
            let y = (pass.y0 + row * pass.dy) as usize;
            if direct {
                copy_row(&line, step, out_bpp, &mut out, y * width, &pass);
                std::mem::swap(&mut line, &mut previous);
                continue;
            }
            for column in 0..pass.width {
                let x = (pass.x0 + column * pass.dx) as usize;
                let target = (y * width + x) * out_bpp;
                converter.pixel(&line, column as usize, &mut out[target..target + out_bpp])?;
            }
            std::mem::swap(&mut line, &mut previous);
        }
    }
    Ok(out)
}

/// The zlib stream `data` inflated: exactly `expected` bytes, or an error.
fn inflate(data: &[u8], expected: usize) -> Result<Vec<u8>, DecodeError> {
    let mut raw = vec![0u8; expected];
    let mut inflater = fdeflate::Decompressor::new();
    let (mut input, mut at) = (data, 0);
    loop {
        let (consumed, produced) = inflater
            .read(input, &mut raw, at, true)
            .map_err(|error| refuse(format!("the image data does not inflate ({error:?})")))?;
        input = &input[consumed..];
        at += produced;
        if inflater.is_done() {
            break;
        }
        if consumed == 0 && produced == 0 {
            // Only a full output stops the inflater short of the stream's end.
            return Err(refuse("the image data is longer than the image"));
        }
    }
    if at != expected {
        return Err(refuse(format!(
            "the image data holds {at} bytes, {expected} expected"
        )));
    }
    Ok(raw)
}

/// Copies a scanline of 8- or 16-bit samples (`step` bytes each) of a
/// pass into the output's row starting at pixel `row_start`, taking the
/// high byte of 16-bit samples.
fn copy_row(
    line: &[u8],
    step: usize,
    out_bpp: usize,
    out: &mut [u8],
    row_start: usize,
    pass: &Pass,
) {
    let x0 = pass.x0 as usize;
    if pass.dx == 1 {
        let start = (row_start + x0) * out_bpp;
        let target = &mut out[start..start + line.len() / step];
        if step == 1 {
            target.copy_from_slice(line);
        } else {
            for (byte, sample) in target.iter_mut().zip(line.chunks_exact(2)) {
                *byte = sample[0];
            }
        }
        return;
    }
    for (column, pixel) in line.chunks_exact(out_bpp * step).enumerate() {
        let at = (row_start + x0 + column * pass.dx as usize) * out_bpp;
        for (byte, sample) in out[at..at + out_bpp]
            .iter_mut()
            .zip(pixel.iter().step_by(step))
        {
            *byte = *sample;
        }
    }
}

/// Reverses a scanline's filter (PNG section 9) in place. `distance`, the
/// bytes of a pixel rounded up to one, is 1, 2, 3, 4, 6 or 8, and the
/// line holds whole pixels.
fn unfilter(
    filter: u8,
    line: &mut [u8],
    previous: &[u8],
    distance: usize,
) -> Result<(), DecodeError> {
    match filter {
        0 => {}
        2 => {
            for (byte, above) in line.iter_mut().zip(previous) {
                *byte = byte.wrapping_add(*above);
            }
        }
        1 | 3 | 4 => match distance {
            1 => unfilter_pixels::<1>(filter, line, previous),
            2 => unfilter_pixels::<2>(filter, line, previous),
            3 => unfilter_pixels::<3>(filter, line, previous),
            4 => unfilter_pixels::<4>(filter, line, previous),
            6 => unfilter_pixels::<6>(filter, line, previous),
            _ => unfilter_pixels::<8>(filter, line, previous),
        },
        _ => return Err(refuse(format!("unknown filter type {filter}"))),
    }
    Ok(())
}

/// The filters that look left (Sub, Average, Paeth), a pixel of `N`
/// bytes at a time: the pixel to the left and the one above it are kept
/// in arrays rather than read back from the lines, which takes the bounds
/// checks and the reloads out of the loops (twice as fast in WebAssembly).
fn unfilter_pixels<const N: usize>(filter: u8, line: &mut [u8], previous: &[u8]) {
    let pixels = line.chunks_exact_mut(N).zip(previous.chunks_exact(N));
    let mut left = [0u8; N];
    match filter {
        1 => {
            for (pixel, _) in pixels {
                for k in 0..N {
                    pixel[k] = pixel[k].wrapping_add(left[k]);
                    left[k] = pixel[k];
                }
            }
        }
        3 => {
            for (pixel, above) in pixels {
                for k in 0..N {
                    let average = ((u16::from(left[k]) + u16::from(above[k])) / 2) as u8;
                    pixel[k] = pixel[k].wrapping_add(average);
                    left[k] = pixel[k];
                }
            }
        }
        _ => {
            let mut upper_left = [0u8; N];
            for (pixel, above) in pixels {
                for k in 0..N {
                    pixel[k] = pixel[k].wrapping_add(paeth(left[k], above[k], upper_left[k]));
                    left[k] = pixel[k];
                    upper_left[k] = above[k];
                }
            }
        }
    }
}

/// The Paeth predictor: of left `a`, above `b` and upper left `c`, the one
/// nearest to `a + b - c` (ties to `a`, then `b`). The distances are
/// written without forming `a + b - c`: |p - a| = |b - c|, |p - b| =
/// |a - c|, |p - c| = |a + b - 2c|.
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (a16, b16, c16) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (b16 - c16).abs();
    let pb = (a16 - c16).abs();
    let pc = (a16 + b16 - 2 * c16).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Turns the samples of one pixel into its 8-bit output.
struct Converter<'a> {
    header: Header,
    palette: &'a [[u8; 3]],
    /// Alpha of each palette entry (255 past the end of `tRNS`).
    palette_alpha: Vec<u8>,
    /// The transparent grey or RGB samples of a colour key `tRNS`.
    key: Option<[u16; 3]>,
}

impl<'a> Converter<'a> {
    fn new(png: &'a Png) -> Self {
        let trns = png.transparency.as_deref();
        let mut palette_alpha = vec![255u8; png.palette.len()];
        let mut key = None;
        match (png.header.colour, trns) {
            (3, Some(alpha)) => palette_alpha[..alpha.len()].copy_from_slice(alpha),
            (0, Some(t)) => key = Some([u16::from_be_bytes([t[0], t[1]]), 0, 0]),
            (2, Some(t)) => {
                key = Some([
                    u16::from_be_bytes([t[0], t[1]]),
                    u16::from_be_bytes([t[2], t[3]]),
                    u16::from_be_bytes([t[4], t[5]]),
                ])
            }
            _ => {}
        }
        Converter {
            header: png.header,
            palette: &png.palette,
            palette_alpha,
            key,
        }
    }

    /// Sample `index` of a scanline, at the image's bit depth.
    #[inline]
    fn sample(&self, line: &[u8], index: usize) -> u16 {
        match self.header.depth {
            8 => u16::from(line[index]),
            16 => u16::from_be_bytes([line[2 * index], line[2 * index + 1]]),
            depth => {
                let depth = usize::from(depth);
                let bit = index * depth;
                let shift = 8 - depth - bit % 8;
                u16::from(line[bit / 8] >> shift) & ((1 << depth) - 1)
            }
        }
    }

    /// A sample scaled to 8 bits.
    #[inline]
    fn scale(&self, value: u16) -> u8 {
        match self.header.depth {
            16 => (value >> 8) as u8,
            8 => value as u8,
            1 => (value * 255) as u8,
            2 => (value * 85) as u8,
            _ => (value * 17) as u8,
        }
    }

    fn pixel(&self, line: &[u8], x: usize, out: &mut [u8]) -> Result<(), DecodeError> {
        let channels = self.header.channels();
        let first = x * channels;
        match self.header.colour {
            3 => {
                let index = self.sample(line, x) as usize;
                let Some(rgb) = self.palette.get(index) else {
                    return Err(refuse(format!(
                        "palette index {index} past the {} entries of PLTE",
                        self.palette.len()
                    )));
                };
                out[..3].copy_from_slice(rgb);
                if out.len() == 4 {
                    out[3] = self.palette_alpha[index];
                }
            }
            0 | 2 => {
                let mut raw = [0u16; 3];
                for (c, slot) in raw.iter_mut().enumerate().take(channels) {
                    *slot = self.sample(line, first + c);
                    out[c] = self.scale(*slot);
                }
                if let Some(key) = self.key {
                    out[channels] = if raw[..channels] == key[..channels] {
                        0
                    } else {
                        255
                    };
                }
            }
            _ => {
                for (c, byte) in out.iter_mut().enumerate() {
                    *byte = self.scale(self.sample(line, first + c));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

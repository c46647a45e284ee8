//! The TIFF decoder.
//!
//! Reads baseline TIFF (TIFF 6.0 part 1) in either byte order, stored in
//! strips, uncompressed or compressed with PackBits or LZW (with or
//! without the horizontal differencing predictor): bilevel and greyscale
//! (`WhiteIsZero` or `BlackIsZero`) and RGB images, with an alpha channel
//! from `ExtraSamples`, chunky or planar, at 1, 2, 4, 8 or 16 bits per
//! sample, or as 32- or 64-bit IEEE floats taken to run from 0.0 to 1.0.
//! The image becomes 8 bits per channel: 16-bit samples keep their high
//! byte, lower depths are scaled to 0..255, associated (premultiplied)
//! alpha is divided out.
//!
//! A file with one image decodes to that image. A file with more (each
//! image file directory is a page) decodes to a summary of its pages and a
//! [`Block::Pages`] block; [`decode_page`] decodes each page.
//!
//! Every offset is checked against the file, directory chains that loop
//! are refused, and an image's size is checked against the view
//! document's limits before anything is allocated.

#![deny(unsafe_code)]

mod compression;
mod ifd;

use ifd::{Ifd, Tiff};
use legation_decoder_sdk::{decoder, Block, DecodeError, Document, Limits, PixelFormat};

decoder! {
    name: "tiff", version: "1.0.0", media_types: ["image/tiff"],
    decode: decode,
    decode_page: decode_page,
}

/// Most pages listed in the summary of a multi-page file.
const MAX_LISTED_PAGES: usize = 1000;

/// Most bytes of decompressed samples held for one page.
const MAX_RAW_BYTES: u64 = 1 << 30;

/// Decodes a TIFF file: its image, or a summary of its pages.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let tiff = Tiff::parse(input)?;
    if tiff.pages.len() == 1 {
        return decode_page(input, 0);
    }
    let mut items = vec![
        ("pages".to_owned(), tiff.pages.len().to_string()),
        ("byte order".to_owned(), tiff.byte_order().to_owned()),
    ];
    for (index, &offset) in tiff.pages.iter().enumerate().take(MAX_LISTED_PAGES) {
        let summary = match Page::read(&tiff, &tiff.ifd(offset)) {
            Ok(page) => page.describe(),
            Err(error) => format!("cannot be read: {error}"),
        };
        items.push((format!("page {}", index + 1), summary));
    }
    Ok(Document {
        title: format!("TIFF, {} pages", tiff.pages.len()),
        blocks: vec![
            Block::Fields { items },
            Block::Pages {
                count: tiff.pages.len() as u32,
            },
        ],
    })
}

/// Decodes page `page` (from 0) of a TIFF file.
pub fn decode_page(input: &[u8], page: u32) -> Result<Document, DecodeError> {
    let tiff = Tiff::parse(input)?;
    let Some(&offset) = tiff.pages.get(page as usize) else {
        return Err(DecodeError::new(format!(
            "TIFF: page {} asked for, the file has {}",
            u64::from(page) + 1,
            tiff.pages.len()
        )));
    };
    let ifd = tiff.ifd(offset);
    let page_info = Page::read(&tiff, &ifd)?;
    let pixels = page_info.pixels(&tiff)?;
    let mut items = vec![
        ("width".to_owned(), page_info.width.to_string()),
        ("height".to_owned(), page_info.height.to_string()),
        ("image".to_owned(), page_info.describe()),
        ("byte order".to_owned(), tiff.byte_order().to_owned()),
    ];
    if tiff.pages.len() > 1 {
        items.insert(
            0,
            (
                "page".to_owned(),
                format!("{} of {}", u64::from(page) + 1, tiff.pages.len()),
            ),
        );
    }
    for (tag, label) in [
        (ifd::DOCUMENT_NAME, "document name"),
        (ifd::IMAGE_DESCRIPTION, "description"),
        (ifd::SOFTWARE, "software"),
        (ifd::DATE_TIME, "date"),
    ] {
        if let Some(text) = ifd.ascii(&tiff, tag) {
            items.push((label.to_owned(), text));
        }
    }
    Ok(Document {
        title: format!("TIFF image, {} x {}", page_info.width, page_info.height),
        blocks: vec![
            Block::Fields { items },
            Block::Image {
                width: page_info.width,
                height: page_info.height,
                format: page_info.format,
                pixels,
            },
        ],
    })
}

pub(crate) fn refuse(message: impl Into<String>) -> DecodeError {
    DecodeError::new(format!("TIFF: {}", message.into()))
}

/// What kind of samples a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Samples {
    /// Unsigned integers of 1, 2, 4, 8 or 16 bits.
    Unsigned(u8),
    /// IEEE floats of 32 or 64 bits.
    Float(u8),
}

impl Samples {
    fn bits(self) -> u64 {
        match self {
            Samples::Unsigned(bits) | Samples::Float(bits) => u64::from(bits),
        }
    }
}

/// How the alpha channel, if any, is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alpha {
    None,
    /// Colour already multiplied by alpha.
    Associated,
    Unassociated,
}

/// One page's layout, read from its directory and checked.
#[derive(Debug)]
struct Page {
    width: u32,
    height: u32,
    samples: Samples,
    samples_per_pixel: u16,
    /// 0 WhiteIsZero, 1 BlackIsZero, 2 RGB, 3 palette colour.
    photometric: u16,
    /// The colour map of a palette image: each index's colour, 8 bits a
    /// channel.
    palette: Vec<[u8; 3]>,
    alpha: Alpha,
    compression: u16,
    predictor: u16,
    planar: bool,
    rows_per_strip: u32,
    strip_offsets: Vec<u32>,
    strip_byte_counts: Vec<u32>,
    format: PixelFormat,
}

impl Page {
    fn read(tiff: &Tiff, ifd: &Ifd) -> Result<Page, DecodeError> {
        let required = |tag, name: &str| {
            ifd.number(tiff, tag)?
                .ok_or_else(|| refuse(format!("the {name} tag is missing")))
        };
        let width = required(ifd::IMAGE_WIDTH, "ImageWidth")?;
        let height = required(ifd::IMAGE_LENGTH, "ImageLength")?;
        if width == 0 || height == 0 {
            return Err(refuse(format!("size {width} x {height}")));
        }
        if ifd.has(ifd::TILE_WIDTH) || ifd.has(ifd::TILE_OFFSETS) {
            return Err(refuse("tiled images are not supported, only strips"));
        }
        let samples_per_pixel = ifd.number(tiff, ifd::SAMPLES_PER_PIXEL)?.unwrap_or(1);
        if !(1..=16).contains(&samples_per_pixel) {
            return Err(refuse(format!("{samples_per_pixel} samples per pixel")));
        }
        let samples_per_pixel = samples_per_pixel as u16;
        let bits = ifd
            .numbers(tiff, ifd::BITS_PER_SAMPLE)?
            .unwrap_or_else(|| vec![1]);
        let first_bits = bits[0];
        if bits.iter().any(|&b| b != first_bits) {
            return Err(refuse(format!(
                "samples of different sizes ({bits:?} bits)"
            )));
        }
        let sample_format = ifd.number(tiff, ifd::SAMPLE_FORMAT)?.unwrap_or(1);
        let samples = match (sample_format, first_bits) {
            (1, 1 | 2 | 4 | 8 | 16) => Samples::Unsigned(first_bits as u8),
            (3, 32 | 64) => Samples::Float(first_bits as u8),
            _ => {
                return Err(refuse(format!(
                    "{first_bits}-bit samples of sample format {sample_format} are not supported"
                )))
            }
        };
        let photometric = required(ifd::PHOTOMETRIC, "PhotometricInterpretation")?;
        let colours = match photometric {
            0 | 1 | 3 => 1,
            2 => 3,
            other => {
                return Err(refuse(format!(
                    "photometric interpretation {other} is not supported"
                )))
            }
        };
        if samples_per_pixel < colours {
            return Err(refuse(format!(
                "{samples_per_pixel} samples per pixel for {colours} colour channels"
            )));
        }
        let extra = ifd.numbers(tiff, ifd::EXTRA_SAMPLES)?.unwrap_or_default();
        let alpha = if samples_per_pixel == colours {
            Alpha::None
        } else {
            match extra.first() {
                Some(1) => Alpha::Associated,
                Some(2) => Alpha::Unassociated,
                // A fourth sample of RGB without ExtraSamples is alpha in
                // practice.
                None if colours == 3 && samples_per_pixel == 4 => Alpha::Unassociated,
                _ => Alpha::None,
            }
        };
        // A palette image (baseline TIFF 6.0, section 5): 4- or 8-bit
        // indices (1 and 2 accepted too) into a colour map of 16-bit red,
        // then green, then blue values, 2^bits of each.
        let palette = if photometric == 3 {
            let Samples::Unsigned(bits @ 1..=8) = samples else {
                return Err(refuse(format!(
                    "a palette image of {first_bits}-bit samples"
                )));
            };
            let map = ifd
                .numbers(tiff, ifd::COLOR_MAP)?
                .ok_or_else(|| refuse("the ColorMap tag of a palette image is missing"))?;
            let entries = 1usize << bits;
            if map.len() != 3 * entries {
                return Err(refuse(format!(
                    "a colour map of {} values for {bits}-bit indices ({} expected)",
                    map.len(),
                    3 * entries
                )));
            }
            // 16-bit values scaled to 8 bits, v * 255 / 65535 rounded down
            // (as ImageMagick reads colour maps): a colour map is a few
            // colours chosen once, and writers use the whole 16-bit range,
            // not 8-bit values repeated (v * 257), so the high byte alone
            // would be off by one for many.
            (0..entries)
                .map(|i| [0, 1, 2].map(|c| (map[c * entries + i].min(65535) * 255 / 65535) as u8))
                .collect()
        } else {
            Vec::new()
        };
        let format = match (colours, alpha) {
            _ if photometric == 3 && alpha == Alpha::None => PixelFormat::Rgb8,
            _ if photometric == 3 => PixelFormat::Rgba8,
            (1, Alpha::None) => PixelFormat::Gray8,
            (1, _) => PixelFormat::GrayAlpha8,
            (_, Alpha::None) => PixelFormat::Rgb8,
            _ => PixelFormat::Rgba8,
        };
        let compression = ifd.number(tiff, ifd::COMPRESSION)?.unwrap_or(1);
        if !matches!(compression, 1 | 5 | 32773) {
            return Err(refuse(format!(
                "compression {compression} is not supported (only none, LZW and PackBits)"
            )));
        }
        let predictor = ifd.number(tiff, ifd::PREDICTOR)?.unwrap_or(1);
        if predictor != 1 && !(predictor == 2 && matches!(samples, Samples::Unsigned(8 | 16))) {
            return Err(refuse(format!(
                "predictor {predictor} with {first_bits}-bit samples is not supported"
            )));
        }
        if ifd.number(tiff, ifd::FILL_ORDER)?.unwrap_or(1) != 1 {
            return Err(refuse("fill order 2 (bits reversed) is not supported"));
        }
        let planar = match ifd.number(tiff, ifd::PLANAR_CONFIGURATION)?.unwrap_or(1) {
            1 => false,
            2 => true,
            other => return Err(refuse(format!("planar configuration {other}"))),
        };
        let rows_per_strip = ifd
            .number(tiff, ifd::ROWS_PER_STRIP)?
            .unwrap_or(u32::MAX)
            .clamp(1, height);
        let strip_offsets = ifd
            .numbers(tiff, ifd::STRIP_OFFSETS)?
            .ok_or_else(|| refuse("the StripOffsets tag is missing"))?;
        let strip_byte_counts = ifd
            .numbers(tiff, ifd::STRIP_BYTE_COUNTS)?
            .ok_or_else(|| refuse("the StripByteCounts tag is missing"))?;

        let page = Page {
            width,
            height,
            samples,
            samples_per_pixel,
            photometric: photometric as u16,
            palette,
            alpha,
            compression: compression as u16,
            predictor: predictor as u16,
            planar,
            rows_per_strip,
            strip_offsets,
            strip_byte_counts,
            format,
        };
        // Refuse what the view document could not hold, before allocating.
        let limits = Limits::default();
        let pixels = u64::from(width) * u64::from(height);
        let raw = page.row_bytes() as u64 * page.planes() as u64 * u64::from(height);
        if pixels > limits.max_pixels
            || pixels * format.bytes_per_pixel() as u64 > limits.max_bytes as u64 - 4096
            || raw > MAX_RAW_BYTES
        {
            return Err(refuse(format!(
                "{width} x {height} pixels is more than a view document may hold"
            )));
        }
        let strips = page.strips_per_plane() * page.planes();
        if page.strip_offsets.len() < strips || page.strip_byte_counts.len() < strips {
            return Err(refuse(format!(
                "{strips} strips needed, {} offsets and {} byte counts given",
                page.strip_offsets.len(),
                page.strip_byte_counts.len()
            )));
        }
        Ok(page)
    }

    /// A short description such as `"10 x 10 RGB, 8-bit, LZW"`.
    fn describe(&self) -> String {
        let colour = match (self.photometric, self.alpha) {
            (3, Alpha::None) => "palette colour",
            (3, _) => "palette colour with alpha",
            (0 | 1, _) if self.samples == Samples::Unsigned(1) => "bilevel",
            (0 | 1, Alpha::None) => "greyscale",
            (0 | 1, _) => "greyscale with alpha",
            (_, Alpha::None) => "RGB",
            _ => "RGBA",
        };
        let samples = match self.samples {
            Samples::Unsigned(bits) => format!("{bits}-bit"),
            Samples::Float(bits) => format!("{bits}-bit float"),
        };
        let compression = match self.compression {
            1 => "uncompressed",
            5 => "LZW",
            _ => "PackBits",
        };
        format!(
            "{} x {} {colour}, {samples}, {compression}",
            self.width, self.height
        )
    }

    fn planes(&self) -> usize {
        if self.planar {
            usize::from(self.samples_per_pixel)
        } else {
            1
        }
    }

    fn strips_per_plane(&self) -> usize {
        self.height.div_ceil(self.rows_per_strip) as usize
    }

    /// Samples in one row of one plane.
    fn row_samples(&self) -> usize {
        let per_pixel = if self.planar {
            1
        } else {
            usize::from(self.samples_per_pixel)
        };
        self.width as usize * per_pixel
    }

    /// Bytes in one row of one plane (rows start on a byte).
    fn row_bytes(&self) -> usize {
        (self.row_samples() as u64 * self.samples.bits()).div_ceil(8) as usize
    }

    /// Decompresses every strip into one buffer per plane.
    fn planes_data(&self, tiff: &Tiff) -> Result<Vec<Vec<u8>>, DecodeError> {
        let row_bytes = self.row_bytes();
        let mut planes = Vec::with_capacity(self.planes());
        let mut lzw = (self.compression == 5).then(compression::Lzw::new);
        for plane in 0..self.planes() {
            let mut data = Vec::with_capacity(row_bytes * self.height as usize);
            for strip in 0..self.strips_per_plane() {
                let index = plane * self.strips_per_plane() + strip;
                let first_row = strip as u32 * self.rows_per_strip;
                let rows = self.rows_per_strip.min(self.height - first_row) as usize;
                let expected = rows * row_bytes;
                let offset = self.strip_offsets[index] as usize;
                let count = self.strip_byte_counts[index] as usize;
                let Some(stored) = tiff.data.get(offset..offset.saturating_add(count)) else {
                    return Err(refuse(format!(
                        "strip {index} at offset {offset} of {count} bytes runs past the end of the file ({} bytes)",
                        tiff.data.len()
                    )));
                };
                let start = data.len();
                match self.compression {
                    1 => data.extend_from_slice(&stored[..expected.min(stored.len())]),
                    5 => lzw
                        .as_mut()
                        .map_or(Ok(()), |t| t.decode(stored, expected, &mut data))?,
                    _ => compression::packbits(stored, expected, &mut data),
                }
                let found = data.len() - start;
                if found < expected {
                    return Err(refuse(format!(
                        "strip {index} holds {found} bytes of samples, {expected} expected"
                    )));
                }
                if self.predictor == 2 {
                    for row in data[start..].chunks_mut(row_bytes) {
                        self.undo_predictor(tiff, row);
                    }
                }
            }
            planes.push(data);
        }
        Ok(planes)
    }

    /// Reverses horizontal differencing in one row.
    fn undo_predictor(&self, tiff: &Tiff, row: &mut [u8]) {
        let distance = if self.planar {
            1
        } else {
            usize::from(self.samples_per_pixel)
        };
        match self.samples {
            Samples::Unsigned(8) => {
                for i in distance..row.len() {
                    row[i] = row[i].wrapping_add(row[i - distance]);
                }
            }
            _ => {
                for i in distance..row.len() / 2 {
                    let previous = tiff.u16_at(row, 2 * (i - distance));
                    let value = tiff.u16_at(row, 2 * i).wrapping_add(previous);
                    tiff.put_u16(row, 2 * i, value);
                }
            }
        }
    }

    /// The page as 8-bit pixels in the view format.
    fn pixels(&self, tiff: &Tiff) -> Result<Vec<u8>, DecodeError> {
        let planes = self.planes_data(tiff)?;
        let out_bpp = self.format.bytes_per_pixel();
        let colours = if self.photometric == 2 { 3 } else { 1 };
        let (width, height) = (self.width as usize, self.height as usize);
        let row_bytes = self.row_bytes();
        let spp = usize::from(self.samples_per_pixel);
        let mut out = vec![0u8; width * height * out_bpp];
        // 8-bit samples of interleaved pixels that are the output's bytes
        // one for one (no extra samples, alpha not premultiplied): rows
        // are copied, not converted sample by sample.
        let direct = !self.planar
            && matches!(self.samples, Samples::Unsigned(8))
            && self.alpha != Alpha::Associated
            && spp == out_bpp
            && width > 0;
        if direct {
            let target_rows = out.chunks_exact_mut(width * out_bpp);
            for (target, row) in target_rows.zip(planes[0].chunks(row_bytes)) {
                target.copy_from_slice(&row[..width * out_bpp]);
                if self.photometric == 0 {
                    for pixel in target.chunks_exact_mut(out_bpp) {
                        pixel[0] = 255 - pixel[0];
                    }
                }
            }
            return Ok(out);
        }
        // Sample `channel` of pixel (x, y), as 8 bits.
        let sample = |x: usize, y: usize, channel: usize| -> u8 {
            let (plane, index) = if self.planar {
                (channel, x)
            } else {
                (0, x * spp + channel)
            };
            let row = &planes[plane][y * row_bytes..(y + 1) * row_bytes];
            self.sample_8(tiff, row, index)
        };
        for y in 0..height {
            for x in 0..width {
                let pixel = &mut out[(y * width + x) * out_bpp..(y * width + x + 1) * out_bpp];
                if self.photometric == 3 {
                    // The index, unscaled: the map has an entry for each.
                    let row = &planes[0][y * row_bytes..(y + 1) * row_bytes];
                    let index = self.index(row, if self.planar { x } else { x * spp });
                    pixel[..3].copy_from_slice(&self.palette[index]);
                    if self.alpha != Alpha::None {
                        pixel[3] = sample(x, y, 1);
                    }
                    continue;
                }
                for (channel, slot) in pixel.iter_mut().enumerate().take(colours) {
                    *slot = sample(x, y, channel);
                }
                if self.photometric == 0 {
                    pixel[0] = 255 - pixel[0];
                }
                if self.alpha != Alpha::None {
                    let alpha = sample(x, y, colours);
                    pixel[colours] = alpha;
                    if self.alpha == Alpha::Associated {
                        for value in &mut pixel[..colours] {
                            *value = unpremultiply(*value, alpha);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sample `index` of a row of 1- to 8-bit samples, unscaled: a palette
    /// index.
    fn index(&self, row: &[u8], index: usize) -> usize {
        let bits = self.samples.bits() as usize;
        let bit = index * bits;
        usize::from((row[bit / 8] >> (8 - bits - bit % 8)) & ((1u16 << bits) - 1) as u8)
    }

    /// Sample `index` of a row, scaled to 8 bits.
    fn sample_8(&self, tiff: &Tiff, row: &[u8], index: usize) -> u8 {
        match self.samples {
            Samples::Unsigned(8) => row[index],
            Samples::Unsigned(16) => (tiff.u16_at(row, 2 * index) >> 8) as u8,
            Samples::Unsigned(bits) => {
                let bits = usize::from(bits);
                let bit = index * bits;
                let value = (row[bit / 8] >> (8 - bits - bit % 8)) & ((1 << bits) - 1);
                // 1 -> *255, 2 -> *85, 4 -> *17: exact scaling to 0..255.
                value * (255 / ((1u8 << bits) - 1))
            }
            Samples::Float(32) => {
                unit_to_u8(f64::from(f32::from_bits(tiff.u32_at(row, 4 * index))))
            }
            Samples::Float(_) => unit_to_u8(f64::from_bits(tiff.u64_at(row, 8 * index))),
        }
    }
}

/// A float from 0.0 to 1.0 as 0 to 255, rounded to nearest; out of range
/// values are clamped and NaN is 0. Only IEEE multiplication, addition
/// and a saturating conversion are used: the same on every engine.
fn unit_to_u8(value: f64) -> u8 {
    (value * 255.0 + 0.5) as u8
}

/// A colour channel premultiplied by `alpha`, divided back, rounded.
fn unpremultiply(value: u8, alpha: u8) -> u8 {
    if alpha == 0 {
        0
    } else {
        ((u32::from(value) * 255 + u32::from(alpha) / 2) / u32::from(alpha)).min(255) as u8
    }
}

#[cfg(test)]
mod tests;

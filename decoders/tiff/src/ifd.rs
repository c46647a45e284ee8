//! The TIFF header, the chain of image file directories and their entries.

use std::collections::BTreeSet;

use crate::refuse;
use legation_decoder_sdk::DecodeError;

pub const IMAGE_WIDTH: u16 = 256;
pub const IMAGE_LENGTH: u16 = 257;
pub const BITS_PER_SAMPLE: u16 = 258;
pub const COMPRESSION: u16 = 259;
pub const PHOTOMETRIC: u16 = 262;
pub const FILL_ORDER: u16 = 266;
pub const DOCUMENT_NAME: u16 = 269;
pub const IMAGE_DESCRIPTION: u16 = 270;
pub const STRIP_OFFSETS: u16 = 273;
pub const SAMPLES_PER_PIXEL: u16 = 277;
pub const ROWS_PER_STRIP: u16 = 278;
pub const STRIP_BYTE_COUNTS: u16 = 279;
pub const PLANAR_CONFIGURATION: u16 = 284;
pub const SOFTWARE: u16 = 305;
pub const DATE_TIME: u16 = 306;
pub const PREDICTOR: u16 = 317;
pub const COLOR_MAP: u16 = 320;
pub const TILE_WIDTH: u16 = 322;
pub const TILE_OFFSETS: u16 = 324;
pub const EXTRA_SAMPLES: u16 = 338;
pub const SAMPLE_FORMAT: u16 = 339;

/// Most pages a file may have.
const MAX_PAGES: usize = 1 << 16;

/// Longest text shown from an ASCII tag.
const MAX_ASCII: usize = 4096;

/// A TIFF file: its bytes, byte order and the offsets of its directories.
pub struct Tiff<'a> {
    pub data: &'a [u8],
    big_endian: bool,
    /// Offset of each page's directory, in file order.
    pub pages: Vec<u32>,
}

/// One entry of a directory, as stored.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// The value itself when it fits in four bytes, else its offset.
    value: [u8; 4],
}

/// A directory: the entries of one page.
pub struct Ifd {
    entries: Vec<Entry>,
}

impl<'a> Tiff<'a> {
    /// Reads the header and walks the directory chain.
    pub fn parse(data: &'a [u8]) -> Result<Tiff<'a>, DecodeError> {
        let big_endian = match data.get(..2) {
            Some(b"II") => false,
            Some(b"MM") => true,
            _ => return Err(refuse("no TIFF byte order mark (II or MM)")),
        };
        let mut tiff = Tiff {
            data,
            big_endian,
            pages: Vec::new(),
        };
        if data.len() < 8 {
            return Err(refuse("the file ends inside the header"));
        }
        match tiff.u16_at(data, 2) {
            42 => {}
            43 => return Err(refuse("BigTIFF is not supported")),
            other => return Err(refuse(format!("version {other}, not 42"))),
        }
        let mut offset = tiff.u32_at(data, 4);
        let mut seen = BTreeSet::new();
        while offset != 0 {
            if !seen.insert(offset) {
                return Err(refuse(format!(
                    "the directory chain loops back to offset {offset}"
                )));
            }
            if tiff.pages.len() == MAX_PAGES {
                return Err(refuse(format!("more than {MAX_PAGES} pages")));
            }
            let start = offset as usize;
            let count = data
                .get(start..start.saturating_add(2))
                .map(|b| u64::from(tiff.u16_at(b, 0)))
                .ok_or_else(|| past_end("directory", offset, data.len()))?;
            // u64: no overflow on 32-bit targets.
            let next_at = u64::from(offset) + 2 + 12 * count;
            if next_at + 4 > data.len() as u64 {
                return Err(past_end("directory", offset, data.len()));
            }
            let next_at = next_at as usize;
            tiff.pages.push(offset);
            offset = tiff.u32_at(data, next_at);
        }
        if tiff.pages.is_empty() {
            return Err(refuse("no image file directory"));
        }
        Ok(tiff)
    }

    pub fn byte_order(&self) -> &'static str {
        if self.big_endian {
            "big-endian (MM)"
        } else {
            "little-endian (II)"
        }
    }

    /// The directory at `offset` (one of `pages`, so known to fit).
    pub fn ifd(&self, offset: u32) -> Ifd {
        let start = offset as usize;
        let count = usize::from(self.u16_at(self.data, start));
        let entries = (0..count)
            .map(|i| {
                let at = start + 2 + 12 * i;
                let b = &self.data[at..at + 12];
                Entry {
                    tag: self.u16_at(b, 0),
                    kind: self.u16_at(b, 2),
                    count: self.u32_at(b, 4),
                    value: [b[8], b[9], b[10], b[11]],
                }
            })
            .collect();
        Ifd { entries }
    }

    pub fn u16_at(&self, bytes: &[u8], at: usize) -> u16 {
        let b = [bytes[at], bytes[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    pub fn put_u16(&self, bytes: &mut [u8], at: usize, value: u16) {
        let b = if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        };
        bytes[at..at + 2].copy_from_slice(&b);
    }

    pub fn u32_at(&self, bytes: &[u8], at: usize) -> u32 {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    pub fn u64_at(&self, bytes: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }
}

fn past_end(what: &str, offset: u32, len: usize) -> DecodeError {
    refuse(format!(
        "the {what} at offset {offset} runs past the end of the file ({len} bytes)"
    ))
}

impl Ifd {
    fn entry(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.tag == tag)
    }

    pub fn has(&self, tag: u16) -> bool {
        self.entry(tag).is_some()
    }

    /// The unsigned integers of a BYTE, SHORT or LONG entry.
    pub fn numbers(&self, tiff: &Tiff, tag: u16) -> Result<Option<Vec<u32>>, DecodeError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        let size = match entry.kind {
            1 => 1,
            3 => 2,
            4 => 4,
            kind => {
                return Err(refuse(format!(
                    "tag {tag} has field type {kind}, not an unsigned integer"
                )))
            }
        };
        if entry.count == 0 {
            return Err(refuse(format!("tag {tag} has no values")));
        }
        // u64: no overflow on 32-bit targets; a length past the file
        // saturates and is refused below.
        let len = usize::try_from(u64::from(entry.count) * size as u64).unwrap_or(usize::MAX);
        let bytes: &[u8] = if len <= 4 {
            &entry.value[..len]
        } else {
            let offset = tiff.u32_at(&entry.value, 0) as usize;
            tiff.data
                .get(offset..offset.saturating_add(len))
                .ok_or_else(|| {
                    refuse(format!(
                        "the values of tag {tag} at offset {offset} run past the end of the file ({} bytes)",
                        tiff.data.len()
                    ))
                })?
        };
        Ok(Some(
            bytes
                .chunks(size)
                .map(|b| match size {
                    1 => u32::from(b[0]),
                    2 => u32::from(tiff.u16_at(b, 0)),
                    _ => tiff.u32_at(b, 0),
                })
                .collect(),
        ))
    }

    /// The first value of a BYTE, SHORT or LONG entry.
    pub fn number(&self, tiff: &Tiff, tag: u16) -> Result<Option<u32>, DecodeError> {
        Ok(self.numbers(tiff, tag)?.map(|values| values[0]))
    }

    /// The text of an ASCII entry, up to its first NUL, if it is present
    /// and readable.
    pub fn ascii(&self, tiff: &Tiff, tag: u16) -> Option<String> {
        let entry = self.entry(tag).filter(|entry| entry.kind == 2)?;
        let len = entry.count as usize;
        let bytes: &[u8] = if len <= 4 {
            &entry.value[..len]
        } else {
            let offset = tiff.u32_at(&entry.value, 0) as usize;
            tiff.data.get(offset..offset.checked_add(len)?)?
        };
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let text: String = String::from_utf8_lossy(&bytes[..end.min(MAX_ASCII)]).into_owned();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

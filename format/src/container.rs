//! The canonical ZIP container (PKWARE APPNOTE 6.3.x, stored entries only).
//!
//! The writer emits exactly one byte sequence for a given list of entries:
//! fixed DOS date and time, no flags, no comments, no extra fields except
//! the ZIP64 field where a value needs it, entries back to back from
//! offset 0, the central directory right after them and the end records
//! right after that. The parser checks every header byte against that
//! canonical form by regenerating it, so a keyless audit catches a change
//! to any header byte; entry data is covered by the manifest's hashes.

use crate::{Error, Result};

/// Local file header signature.
pub const LOCAL_SIG: u32 = 0x0403_4b50;
/// Central directory header signature.
pub const CENTRAL_SIG: u32 = 0x0201_4b50;
/// End of central directory record signature.
pub const EOCD_SIG: u32 = 0x0605_4b50;
/// ZIP64 end of central directory record signature.
pub const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
/// ZIP64 end of central directory locator signature.
pub const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
/// DOS date of every entry: 1980-01-01.
pub const DOS_DATE: u16 = 0x0021;
/// DOS time of every entry: 00:00:00.
pub const DOS_TIME: u16 = 0;
/// Sizes and offsets at or above this value need ZIP64 fields.
pub const ZIP64_LIMIT: u64 = 0xFFFF_FFFF;
/// Entry counts at or above this value need the ZIP64 end records.
pub const ZIP64_COUNT_LIMIT: u64 = 0xFFFF;
/// Length of the fixed part of a local header.
pub const LOCAL_FIXED: usize = 30;
/// Length of the fixed part of a central directory header.
pub const CENTRAL_FIXED: usize = 46;
/// Length of the end of central directory record (no comment).
pub const EOCD_LEN: usize = 22;
/// Length of the ZIP64 end of central directory record.
pub const ZIP64_EOCD_LEN: usize = 56;
/// Length of the ZIP64 locator.
pub const ZIP64_LOCATOR_LEN: usize = 20;
/// Longest entry name the format allows.
pub const MAX_NAME_LEN: usize = 64;

/// One entry as the central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Entry name (ASCII, see [`check_name`]).
    pub name: String,
    /// Size of the stored data in bytes (compressed and uncompressed alike).
    pub size: u64,
    /// CRC-32 of the data.
    pub crc32: u32,
    /// Offset of the entry's local header from the start of the file.
    pub offset: u64,
}

impl Entry {
    /// Offset of the first data byte.
    pub fn data_offset(&self) -> u64 {
        self.offset + local_header_len(&self.name, self.size) as u64
    }
    /// Offset one past the last data byte.
    pub fn end(&self) -> u64 {
        self.data_offset() + self.size
    }
}

/// Checks that an entry name is one the format allows: 1 to 64 bytes of
/// `A-Z a-z 0-9 . _ -` and `/`, no empty, `.` or `..` segment, not starting
/// or ending with `/`. Such names cannot escape an extraction folder.
pub fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::container(format!("entry name {name:?}: {why}")));
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return bad("must be 1 to 64 bytes long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
    {
        return bad("has a character outside A-Z a-z 0-9 . _ - /");
    }
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("has an empty, '.' or '..' path segment or is absolute");
    }
    Ok(())
}

fn version_needed(zip64: bool) -> u16 {
    if zip64 {
        45
    } else {
        20
    }
}

/// Length of the canonical local header for an entry.
pub fn local_header_len(name: &str, size: u64) -> usize {
    LOCAL_FIXED + name.len() + if size >= ZIP64_LIMIT { 20 } else { 0 }
}

/// The canonical local header for an entry.
pub fn local_header(name: &str, size: u64, crc32: u32) -> Vec<u8> {
    let zip64 = size >= ZIP64_LIMIT;
    let mut h = Vec::with_capacity(local_header_len(name, size));
    put32(&mut h, LOCAL_SIG);
    put16(&mut h, version_needed(zip64));
    put16(&mut h, 0); // flags
    put16(&mut h, 0); // method: stored
    put16(&mut h, DOS_TIME);
    put16(&mut h, DOS_DATE);
    put32(&mut h, crc32);
    let small = if zip64 { 0xFFFF_FFFF } else { size as u32 };
    put32(&mut h, small);
    put32(&mut h, small);
    put16(&mut h, name.len() as u16);
    put16(&mut h, if zip64 { 20 } else { 0 });
    h.extend_from_slice(name.as_bytes());
    if zip64 {
        put16(&mut h, 1);
        put16(&mut h, 16);
        put64(&mut h, size);
        put64(&mut h, size);
    }
    h
}

/// The canonical central directory header for an entry.
pub fn central_header(e: &Entry) -> Vec<u8> {
    let mut h = Vec::with_capacity(CENTRAL_FIXED + e.name.len() + 28);
    central_header_into(e, &mut h);
    h
}

/// Writes the canonical central directory header into `h` (cleared first).
pub fn central_header_into(e: &Entry, h: &mut Vec<u8>) {
    h.clear();
    let big_size = e.size >= ZIP64_LIMIT;
    let big_offset = e.offset >= ZIP64_LIMIT;
    let extra_len = (if big_size { 16 } else { 0 }) + (if big_offset { 8 } else { 0 });
    let version = version_needed(big_size || big_offset);
    put32(h, CENTRAL_SIG);
    put16(h, version); // made by: MS-DOS, same version
    put16(h, version);
    put16(h, 0);
    put16(h, 0);
    put16(h, DOS_TIME);
    put16(h, DOS_DATE);
    put32(h, e.crc32);
    let small = if big_size { 0xFFFF_FFFF } else { e.size as u32 };
    put32(h, small);
    put32(h, small);
    put16(h, e.name.len() as u16);
    put16(
        h,
        if extra_len > 0 {
            extra_len as u16 + 4
        } else {
            0
        },
    );
    put16(h, 0); // comment length
    put16(h, 0); // disk number start
    put16(h, 0); // internal attributes
    put32(h, 0); // external attributes
    put32(
        h,
        if big_offset {
            0xFFFF_FFFF
        } else {
            e.offset as u32
        },
    );
    h.extend_from_slice(e.name.as_bytes());
    if extra_len > 0 {
        put16(h, 1);
        put16(h, extra_len as u16);
        if big_size {
            put64(h, e.size);
            put64(h, e.size);
        }
        if big_offset {
            put64(h, e.offset);
        }
    }
}

/// Whether the end records need their ZIP64 forms.
pub fn needs_zip64_end(count: u64, cd_offset: u64, cd_size: u64) -> bool {
    count >= ZIP64_COUNT_LIMIT || cd_offset >= ZIP64_LIMIT || cd_size >= ZIP64_LIMIT
}

/// The canonical end records (ZIP64 record and locator where needed, then
/// the end of central directory record) for a central directory.
pub fn end_records(count: u64, cd_offset: u64, cd_size: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(ZIP64_EOCD_LEN + ZIP64_LOCATOR_LEN + EOCD_LEN);
    if needs_zip64_end(count, cd_offset, cd_size) {
        let z64_offset = cd_offset + cd_size;
        put32(&mut h, ZIP64_EOCD_SIG);
        put64(&mut h, 44);
        put16(&mut h, 45);
        put16(&mut h, 45);
        put32(&mut h, 0);
        put32(&mut h, 0);
        put64(&mut h, count);
        put64(&mut h, count);
        put64(&mut h, cd_size);
        put64(&mut h, cd_offset);
        put32(&mut h, ZIP64_LOCATOR_SIG);
        put32(&mut h, 0);
        put64(&mut h, z64_offset);
        put32(&mut h, 1);
    }
    let count16 = count.min(ZIP64_COUNT_LIMIT) as u16;
    put32(&mut h, EOCD_SIG);
    put16(&mut h, 0);
    put16(&mut h, 0);
    put16(&mut h, count16);
    put16(&mut h, count16);
    put32(&mut h, cd_size.min(ZIP64_LIMIT) as u32);
    put32(&mut h, cd_offset.min(ZIP64_LIMIT) as u32);
    put16(&mut h, 0);
    h
}

/// Where the central directory is, as the end records say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    /// Number of entries.
    pub count: u64,
    /// Offset of the first central directory header.
    pub offset: u64,
    /// Length of the central directory in bytes.
    pub size: u64,
}

/// How many bytes at the end of a file [`parse_end`] wants to see.
pub const TAIL_LEN: usize = ZIP64_EOCD_LEN + ZIP64_LOCATOR_LEN + EOCD_LEN;

/// Parses the end records from the last bytes of a file (up to
/// [`TAIL_LEN`] of them) and checks they are canonical and that they end
/// the file exactly.
pub fn parse_end(tail: &[u8], file_len: u64) -> Result<Directory> {
    if tail.len() < EOCD_LEN {
        return Err(Error::container(format!(
            "file is {file_len} bytes, too short for a ZIP end record"
        )));
    }
    let eocd = &tail[tail.len() - EOCD_LEN..];
    if get32(eocd, 0) != EOCD_SIG {
        return Err(Error::container(
            "no end of central directory record in the last 22 bytes (truncated, trailing data or a comment)",
        ));
    }
    let count16 = u64::from(get16(eocd, 10));
    let size32 = u64::from(get32(eocd, 12));
    let offset32 = u64::from(get32(eocd, 16));
    // The ZIP64 end records are there exactly when a field is saturated;
    // the canonical comparison below catches any other combination.
    let saturated =
        count16 == ZIP64_COUNT_LIMIT || size32 == ZIP64_LIMIT || offset32 == ZIP64_LIMIT;
    let has_locator = saturated
        && tail.len() >= EOCD_LEN + ZIP64_LOCATOR_LEN
        && get32(tail, tail.len() - EOCD_LEN - ZIP64_LOCATOR_LEN) == ZIP64_LOCATOR_SIG;
    let dir = if has_locator {
        if tail.len() < TAIL_LEN {
            return Err(Error::container(
                "ZIP64 locator without room for a ZIP64 end record",
            ));
        }
        let z = &tail[tail.len() - TAIL_LEN..];
        if get32(z, 0) != ZIP64_EOCD_SIG {
            return Err(Error::container(
                "ZIP64 locator not preceded by a ZIP64 end record",
            ));
        }
        Directory {
            count: get64(z, 24),
            size: get64(z, 40),
            offset: get64(z, 48),
        }
    } else {
        Directory {
            count: count16,
            size: size32,
            offset: offset32,
        }
    };
    let end_len = if has_locator { TAIL_LEN } else { EOCD_LEN } as u64;
    if dir
        .offset
        .checked_add(dir.size)
        .and_then(|v| v.checked_add(end_len))
        != Some(file_len)
    {
        return Err(Error::container(format!(
            "central directory at {} of {} bytes does not end where the end records begin (file is {file_len} bytes)",
            dir.offset, dir.size
        )));
    }
    let expected = end_records(dir.count, dir.offset, dir.size);
    if expected.len() as u64 != end_len || tail[tail.len() - expected.len()..] != expected[..] {
        return Err(Error::container("end records are not in canonical form"));
    }
    Ok(dir)
}

/// Parses a whole central directory, checking every header is canonical,
/// names are allowed and unique, and entries lie back to back from offset
/// 0 up to the directory. Names are compared case-sensitively here; the
/// format's names are lower-case or fixed, so no two can collide elsewhere.
pub fn parse_directory(cd: &[u8], dir: &Directory) -> Result<Vec<Entry>> {
    let mut entries =
        Vec::with_capacity(dir.count.min(cd.len() as u64 / CENTRAL_FIXED as u64) as usize);
    let mut pos = 0usize;
    let mut next_offset = 0u64;
    let mut names: std::collections::HashSet<&[u8]> =
        std::collections::HashSet::with_capacity(entries.capacity());
    let mut canonical = Vec::with_capacity(CENTRAL_FIXED + MAX_NAME_LEN + 28);
    for i in 0..dir.count {
        let h = cd.get(pos..pos + CENTRAL_FIXED).ok_or_else(|| {
            Error::container(format!(
                "central directory ends inside header {i} of {}",
                dir.count
            ))
        })?;
        if get32(h, 0) != CENTRAL_SIG {
            return Err(Error::container(format!(
                "central directory header {i} has a bad signature"
            )));
        }
        let name_len = usize::from(get16(h, 28));
        let extra_len = usize::from(get16(h, 30));
        let comment_len = usize::from(get16(h, 32));
        let total = CENTRAL_FIXED + name_len + extra_len + comment_len;
        let raw = cd
            .get(pos..pos + total)
            .ok_or_else(|| Error::container(format!("central directory ends inside header {i}")))?;
        let name = std::str::from_utf8(&raw[CENTRAL_FIXED..CENTRAL_FIXED + name_len])
            .map_err(|_| {
                Error::container(format!("central directory header {i}: name is not UTF-8"))
            })?
            .to_owned();
        check_name(&name)?;
        let mut size = u64::from(get32(h, 24));
        let mut offset = u64::from(get32(h, 42));
        let extra = &raw[CENTRAL_FIXED + name_len..CENTRAL_FIXED + name_len + extra_len];
        if extra.len() >= 4 && get16(extra, 0) == 1 {
            let mut at = 4;
            if size == ZIP64_LIMIT && extra.len() >= at + 16 {
                size = get64(extra, at);
                at += 16;
            }
            if offset == ZIP64_LIMIT && extra.len() >= at + 8 {
                offset = get64(extra, at);
            }
        }
        let entry = Entry {
            name,
            size,
            crc32: get32(h, 16),
            offset,
        };
        central_header_into(&entry, &mut canonical);
        if canonical != raw {
            return Err(Error::container(format!(
                "{}: central directory header is not in canonical form",
                entry.name
            )));
        }
        if entry.offset != next_offset {
            return Err(Error::container(format!(
                "{}: starts at {} but the previous entry ends at {next_offset} (gap or overlap)",
                entry.name, entry.offset
            )));
        }
        next_offset = entry
            .data_offset()
            .checked_add(entry.size)
            .filter(|&end| end <= dir.offset)
            .ok_or_else(|| {
                Error::container(format!(
                    "{}: declared size {} runs past the central directory",
                    entry.name, entry.size
                ))
            })?;
        if !names.insert(&raw[CENTRAL_FIXED..CENTRAL_FIXED + name_len]) {
            return Err(Error::container(format!(
                "{}: duplicate entry name",
                entry.name
            )));
        }
        entries.push(entry);
        pos += total;
    }
    if pos as u64 != dir.size || next_offset != dir.offset {
        return Err(Error::container(format!(
            "central directory holds {pos} bytes of headers for {} declared, entries end at {next_offset} but the directory starts at {}",
            dir.size, dir.offset
        )));
    }
    Ok(entries)
}

/// Checks that the bytes at an entry's offset are its canonical local header.
pub fn check_local_header(e: &Entry, header: &[u8]) -> Result<()> {
    if header != local_header(&e.name, e.size, e.crc32) {
        return Err(Error::container(format!(
            "{}: local header disagrees with the central directory or is not canonical",
            e.name
        )));
    }
    Ok(())
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) // callers pass slices of checked length
}
fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) // callers pass slices of checked length
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(entries: &[(&str, &[u8])]) -> (Vec<u8>, Vec<Entry>) {
        let mut out = Vec::new();
        let mut list = Vec::new();
        for (name, data) in entries {
            let e = Entry {
                name: name.to_string(),
                size: data.len() as u64,
                crc32: crc32fast::hash(data),
                offset: out.len() as u64,
            };
            out.extend(local_header(name, e.size, e.crc32));
            out.extend_from_slice(data);
            list.push(e);
        }
        let cd_offset = out.len() as u64;
        for e in &list {
            out.extend(central_header(e));
        }
        let cd_size = out.len() as u64 - cd_offset;
        out.extend(end_records(list.len() as u64, cd_offset, cd_size));
        (out, list)
    }

    fn parse(bytes: &[u8]) -> Result<Vec<Entry>> {
        let tail = &bytes[bytes.len().saturating_sub(TAIL_LEN)..];
        let dir = parse_end(tail, bytes.len() as u64)?;
        let entries = parse_directory(
            &bytes[dir.offset as usize..(dir.offset + dir.size) as usize],
            &dir,
        )?;
        for e in &entries {
            check_local_header(e, &bytes[e.offset as usize..e.data_offset() as usize])?;
        }
        Ok(entries)
    }

    #[test]
    fn round_trip() {
        let (bytes, list) = build(&[("mimetype", b"x"), ("a/b", b"hello"), ("empty", b"")]);
        assert_eq!(parse(&bytes).unwrap(), list);
    }

    #[test]
    fn zip64_end_records_round_trip() {
        let tail = end_records(70_000, 5_000_000_000, 4_000_000);
        let len = 5_004_000_000 + tail.len() as u64;
        let dir = parse_end(&tail, len).unwrap();
        assert_eq!(
            dir,
            Directory {
                count: 70_000,
                offset: 5_000_000_000,
                size: 4_000_000
            }
        );
        let e = Entry {
            name: "r/x".into(),
            size: 5_000_000_000,
            crc32: 7,
            offset: 6_000_000_000,
        };
        let h = central_header(&e);
        let d = Directory {
            count: 1,
            offset: 0,
            size: h.len() as u64,
        };
        // Offsets do not chain here, so only check the header parses back.
        let err = parse_directory(&h, &d).unwrap_err().to_string();
        assert!(err.contains("starts at 6000000000"), "{err}");
    }

    #[test]
    fn every_header_byte_is_checked() {
        let (bytes, _) = build(&[("mimetype", b"x"), ("a", b"hello")]);
        let data = [
            (LOCAL_FIXED + 8)..(LOCAL_FIXED + 9),
            (2 * LOCAL_FIXED + 10)..(2 * LOCAL_FIXED + 15),
        ];
        for i in (0..bytes.len()).filter(|i| !data.iter().any(|r| r.contains(i))) {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(parse(&b).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn bad_names() {
        for n in ["", "../x", "/abs", "a//b", "a/./b", "a\\b", "é", "a/"] {
            assert!(check_name(n).is_err(), "{n:?}");
        }
        check_name("r/0123456789abcdef").unwrap();
    }
}

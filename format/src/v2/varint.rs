//! Unsigned LEB128 in shortest form, zigzag for signed values, and
//! length-prefixed strings: the encodings 2.0's binary structures share.

use crate::{Error, Result};

/// Appends `v` as unsigned LEB128 (shortest form).
pub fn put(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends a signed value, zigzag-mapped, as LEB128.
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends `s` as `varint` byte length then its bytes.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over a binary structure; every error names `what` (the entry).
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    /// Reads `data`, naming `what` in errors.
    pub fn new(data: &'a [u8], what: &'a str) -> Self {
        Reader { data, pos: 0, what }
    }

    /// An error at the current position.
    pub fn error(&self, msg: impl std::fmt::Display) -> Error {
        Error::invalid(self.what, format!("byte {}: {msg}", self.pos))
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// One byte.
    pub fn byte(&mut self) -> Result<u8> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.error("ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.error(format!(
                "ends early (wants {n} bytes, {} left)",
                self.remaining()
            )));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A 32-byte hash.
    pub fn hash(&mut self) -> Result<[u8; 32]> {
        Ok(self.bytes(32)?.try_into().expect("32 bytes"))
    }

    /// An unsigned LEB128 value; refuses non-shortest forms and values over 64 bits.
    pub fn varint(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                self.pos = start;
                return Err(self.error("number over 64 bits"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 {
                    self.pos = start;
                    return Err(self.error("number not in shortest form"));
                }
                return Ok(v);
            }
        }
        self.pos = start;
        Err(self.error("number over 64 bits"))
    }

    /// A zigzag-mapped signed value.
    pub fn signed(&mut self) -> Result<i64> {
        let u = self.varint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A `varint` that must be at most `max` (a count or length bound).
    pub fn bounded(&mut self, max: u64, name: &str) -> Result<u64> {
        let v = self.varint()?;
        if v > max {
            return Err(self.error(format!("{name} {v} is over the limit of {max}")));
        }
        Ok(v)
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: usize, name: &str) -> Result<&'a str> {
        let n = self.bounded(max as u64, name)? as usize;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| self.error(format!("{name} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_long_forms() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put(&mut b, v);
            let mut r = Reader::new(&b, "t");
            assert_eq!(r.varint().unwrap(), v);
            assert!(r.is_empty());
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, -1_000_000_000] {
            let mut b = Vec::new();
            put_signed(&mut b, v);
            assert_eq!(Reader::new(&b, "t").signed().unwrap(), v);
        }
        // 0 written in two bytes, 1 written in three: not shortest form.
        assert!(Reader::new(&[0x80, 0x00], "t").varint().is_err());
        assert!(Reader::new(&[0x81, 0x80, 0x00], "t").varint().is_err());
        // Eleven bytes, or a tenth byte over 1: over 64 bits.
        assert!(Reader::new(&[0xff; 11], "t").varint().is_err());
        assert!(Reader::new(
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            "t"
        )
        .varint()
        .is_err());
        assert!(Reader::new(&[0x80], "t").varint().is_err());
        let mut b = Vec::new();
        put_str(&mut b, "régistre");
        assert_eq!(Reader::new(&b, "t").str(64, "path").unwrap(), "régistre");
        assert!(Reader::new(&b, "t").str(3, "path").is_err());
    }
}

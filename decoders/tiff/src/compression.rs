//! The strip compressions: PackBits and LZW (TIFF 6.0 sections 9 and 13).

use crate::refuse;
use legation_decoder_sdk::DecodeError;

/// Appends to `out` the PackBits-decoded `input`, stopping once `expected`
/// bytes are out. A strip that ends early leaves fewer, which the caller
/// reports.
pub fn packbits(input: &[u8], expected: usize, out: &mut Vec<u8>) {
    let goal = out.len() + expected;
    let mut at = 0;
    while at < input.len() && out.len() < goal {
        let n = input[at] as i8;
        at += 1;
        match n {
            0..=127 => {
                let len = (n as usize + 1).min(input.len() - at).min(goal - out.len());
                out.extend_from_slice(&input[at..at + len]);
                at += n as usize + 1;
            }
            -127..=-1 => {
                let Some(&byte) = input.get(at) else { break };
                at += 1;
                let len = (1 - isize::from(n)) as usize;
                let len = len.min(goal - out.len());
                out.resize(out.len() + len, byte);
            }
            // -128 is a no-op.
            _ => {}
        }
    }
}

const CLEAR: u16 = 256;
const END: u16 = 257;
const FIRST: u16 = 258;
const TABLE_SIZE: usize = 4096;

/// Appends to `out` the LZW-decoded `input`, stopping at the end-of-
/// information code, at the end of the input, or once `expected` bytes
/// are out.
///
/// Codes are 9 to 12 bits, most significant bit first; the width grows
/// when the next free code reaches 511, 1023 and 2047 (one code earlier
/// than in GIF, as TIFF writers do).
///
/// Every string of the table is somewhere in `out` already: a new entry is
/// the previous code's string followed by the first byte of the current
/// one, and the two were written one after the other. So an entry is kept
/// as where its string starts in `out` and its length, and a code is
/// decoded by copying that range, not by walking a chain of prefixes a
/// byte at a time.
///
/// One table serves every strip of a page: made once, it costs nothing per
/// strip (a scan can have a strip per row, and a decoder's memory is never
/// given back).
pub struct Lzw {
    /// Entry i (from FIRST on): its string is `out[start[i]..start[i] +
    /// length[i]]`. Only entries below the next free code are read, and
    /// each is written before that.
    start: Vec<usize>,
    length: Vec<usize>,
}

impl Lzw {
    /// A table for any number of strips.
    pub fn new() -> Self {
        Lzw {
            start: vec![0; TABLE_SIZE],
            length: vec![0; TABLE_SIZE],
        }
    }

    /// Decodes one strip (see [`Lzw`]).
    pub fn decode(
        &mut self,
        input: &[u8],
        expected: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        lzw(input, expected, out, &mut self.start, &mut self.length)
    }
}

fn lzw(
    input: &[u8],
    expected: usize,
    out: &mut Vec<u8>,
    start: &mut [usize],
    length: &mut [usize],
) -> Result<(), DecodeError> {
    if input.len() >= 2 && input[0] == 0 && input[1] & 1 == 1 {
        return Err(refuse("old-style LZW (bits reversed) is not supported"));
    }
    let goal = out.len() + expected;
    let mut next = FIRST;
    let mut width = 9;
    // The previous code's string: where it was written and its length.
    let mut old: Option<(usize, usize)> = None;
    let mut bits = BitReader {
        input,
        pos: 0,
        buffer: 0,
        count: 0,
    };
    while out.len() < goal {
        let Some(code) = bits.read(width) else {
            break;
        };
        if code == CLEAR {
            next = FIRST;
            width = 9;
            old = None;
            continue;
        }
        if code == END {
            break;
        }
        let at = out.len();
        if code < 256 {
            out.push(code as u8);
        } else if code < next {
            let (from, len) = (start[usize::from(code)], length[usize::from(code)]);
            out.extend_from_within(from..from + len);
        } else if code == next {
            // The code being defined: the previous string and its first
            // byte.
            let Some((from, len)) = old else {
                return Err(refuse("LZW data starts with an undefined code"));
            };
            out.extend_from_within(from..from + len);
            out.push(out[from]);
        } else {
            return Err(refuse(format!("LZW code {code} is not yet defined")));
        }
        if let Some((from, len)) = old {
            // The previous string and this one's first byte, which
            // follows it in `out`.
            let slot = usize::from(next);
            if slot < TABLE_SIZE {
                start[slot] = from;
                length[slot] = len + 1;
                next += 1;
            }
        }
        old = Some((at, out.len() - at));
        if usize::from(next) + 1 >= 1 << width && width < 12 {
            width += 1;
        }
    }
    out.truncate(goal);
    Ok(())
}

/// Reads codes most significant bit first.
struct BitReader<'a> {
    input: &'a [u8],
    pos: usize,
    buffer: u32,
    count: u32,
}

impl BitReader<'_> {
    fn read(&mut self, width: u32) -> Option<u16> {
        while self.count < width {
            let byte = *self.input.get(self.pos)?;
            self.pos += 1;
            self.buffer = self.buffer << 8 | u32::from(byte);
            self.count += 8;
        }
        self.count -= width;
        let code = (self.buffer >> self.count) & ((1 << width) - 1);
        self.buffer &= (1 << self.count) - 1;
        Some(code as u16)
    }
}

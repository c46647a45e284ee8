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
pub fn lzw(input: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    if input.len() >= 2 && input[0] == 0 && input[1] & 1 == 1 {
        return Err(refuse("old-style LZW (bits reversed) is not supported"));
    }
    let goal = out.len() + expected;
    // Entry i: the code of its prefix, its last byte and its length.
    let mut prefix = vec![0u16; TABLE_SIZE];
    let mut last = vec![0u8; TABLE_SIZE];
    let mut length = vec![0u16; TABLE_SIZE];
    for i in 0..256 {
        last[i] = i as u8;
        length[i] = 1;
    }
    let mut next = FIRST;
    let mut width = 9;
    let mut old: Option<u16> = None;
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
        let first_byte;
        if code < next {
            first_byte = emit(code, &prefix, &last, &length, out);
            if let Some(old) = old {
                add(
                    &mut next,
                    old,
                    first_byte,
                    &mut prefix,
                    &mut last,
                    &mut length,
                );
            }
        } else if code == next {
            // The code being defined: the old string and its first byte.
            let Some(old) = old else {
                return Err(refuse("LZW data starts with an undefined code"));
            };
            let start = out.len();
            let old_first = emit(old, &prefix, &last, &length, out);
            out.push(old_first);
            first_byte = out[start];
            add(
                &mut next,
                old,
                first_byte,
                &mut prefix,
                &mut last,
                &mut length,
            );
        } else {
            return Err(refuse(format!("LZW code {code} is not yet defined")));
        }
        old = Some(code);
        if usize::from(next) + 1 >= 1 << width && width < 12 {
            width += 1;
        }
    }
    out.truncate(goal);
    Ok(())
}

/// Appends the string of `code` to `out` and returns its first byte.
fn emit(code: u16, prefix: &[u16], last: &[u8], length: &[u16], out: &mut Vec<u8>) -> u8 {
    let len = usize::from(length[usize::from(code)]);
    let start = out.len();
    out.resize(start + len, 0);
    let mut code = code;
    for slot in out[start..].iter_mut().rev() {
        *slot = last[usize::from(code)];
        code = prefix[usize::from(code)];
    }
    out[start]
}

fn add(
    next: &mut u16,
    old: u16,
    byte: u8,
    prefix: &mut [u16],
    last: &mut [u8],
    length: &mut [u16],
) {
    let slot = usize::from(*next);
    if slot < TABLE_SIZE {
        prefix[slot] = old;
        last[slot] = byte;
        length[slot] = length[usize::from(old)].saturating_add(1);
        *next += 1;
    }
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

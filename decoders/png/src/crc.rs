//! CRC-32 as PNG defines it (ISO 3309, ITU-T V.42): polynomial 0xEDB88320
//! reflected, initial value and final XOR 0xFFFFFFFF.

/// The table of CRCs of every byte value, built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// `SLICES[k][n]`: the CRC register after byte `n` and then `k` zero
/// bytes, for taking eight bytes a step ("slicing by eight").
const SLICES: [[u32; 256]; 8] = {
    let mut slices = [[0u32; 256]; 8];
    slices[0] = TABLE;
    let mut k = 1;
    while k < 8 {
        let mut n = 0;
        while n < 256 {
            let previous = slices[k - 1][n];
            slices[k][n] = TABLE[(previous & 0xff) as usize] ^ (previous >> 8);
            n += 1;
        }
        k += 1;
    }
    slices
};

/// The CRC-32 of `bytes`, eight bytes a step: the register's four bytes
/// and the next four each look up where they end up after the rest of
/// the eight, and the eight lookups are independent of one another
/// (a byte at a time, each step waits for the one before).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let low = crc ^ u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let t = |k: usize, byte: u32| SLICES[k][(byte & 0xff) as usize];
        crc = t(7, low)
            ^ t(6, low >> 8)
            ^ t(5, low >> 16)
            ^ t(4, low >> 24)
            ^ t(3, u32::from(chunk[4]))
            ^ t(2, u32::from(chunk[5]))
            ^ t(1, u32::from(chunk[6]))
            ^ t(0, u32::from(chunk[7]));
    }
    !chunks.remainder().iter().fold(crc, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        // The standard check value of CRC-32.
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
        // An IEND chunk's type: its CRC appears in every PNG.
        assert_eq!(super::crc32(b"IEND"), 0xae42_6082);
    }

    #[test]
    fn eight_at_a_time_agrees_with_one_at_a_time() {
        let bytewise = |bytes: &[u8]| {
            !bytes.iter().fold(!0u32, |crc, &b| {
                super::TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
            })
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..4099)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        // Every length up to 70 from every start up to 8 (what is left
        // after the steps of eight differs), and a long run.
        for start in 0..8 {
            for len in 0..70 {
                let bytes = &data[start..start + len];
                assert_eq!(super::crc32(bytes), bytewise(bytes), "{start} {len}");
            }
        }
        assert_eq!(super::crc32(&data), bytewise(&data));
        assert_eq!(super::crc32(&[0xff; 100]), bytewise(&[0xff; 100]));
    }
}

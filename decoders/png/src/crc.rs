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

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
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
}

//! Lower-case hexadecimal, the encoding of every hash, key and nonce in the
//! format's JSON documents.

/// Encodes bytes as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Decodes lower-case hex; upper case and odd lengths are refused so that
/// each value has one spelling.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Decodes hex of exactly `N` bytes.
pub fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut bad = 0u8;
    for (o, p) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (DIGITS[p[0] as usize], DIGITS[p[1] as usize]);
        bad |= (hi | lo) & 0x80;
        *o = hi << 4 | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

/// Value of each byte as a lower-case hex digit, 0x80 for non-digits.
const DIGITS: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Serde adapter for fixed-size byte arrays written as hex strings.
pub mod array {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(v))
    }
    /// Deserializes from hex of exactly `N` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode_array(&s)
            .ok_or_else(|| D::Error::custom(format!("expected {N} bytes of lower-case hex")))
    }
}

/// Serde adapter for byte vectors written as hex strings.
pub mod vec {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Serializes as hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(v))
    }
    /// Deserializes from lower-case hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::decode(&s).ok_or_else(|| D::Error::custom("expected lower-case hex"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_refusals() {
        assert_eq!(super::encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(super::decode("00abff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(super::decode("00ABFF"), None);
        assert_eq!(super::decode("abc"), None);
        assert_eq!(super::decode_array::<2>("00ab"), Some([0, 0xab]));
        assert_eq!(super::decode_array::<2>("00"), None);
    }
}

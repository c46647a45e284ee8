//! Key files: X25519 recipients (who can open an archive) and Ed25519
//! issuers (who sign it), and passphrase generation and strength checks.
//!
//! A key file is UTF-8 text: lines starting with `#` are comments, and one
//! line holds a type tag, a space and 64 hex digits, for example
//! `legation-x25519-public 3f2a...`. Secret files are written with mode
//! 0600 by the command.

use zeroize::Zeroizing;

use crate::{Error, Result};

/// Tag of an X25519 public key (recipient) line.
pub const RECIPIENT_PUBLIC: &str = "legation-x25519-public";
/// Tag of an X25519 secret key (identity) line.
pub const RECIPIENT_SECRET: &str = "legation-x25519-secret";
/// Tag of an Ed25519 public key (issuer) line.
pub const ISSUER_PUBLIC: &str = "legation-ed25519-public";
/// Tag of an Ed25519 secret key (issuer signing key) line.
pub const ISSUER_SECRET: &str = "legation-ed25519-secret";

/// A recipient's secret X25519 key: opens archives packed for its public key.
/// Zeroized when dropped; its `Debug` shows only the public key.
pub struct Identity(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity(secret <redacted>, public {})",
            crate::hex::encode(&self.public())
        )
    }
}

impl From<Zeroizing<[u8; 32]>> for Identity {
    /// Takes a secret already held in a zeroizing array (as
    /// [`parse_key_file`] returns it), without a plain copy.
    fn from(secret: Zeroizing<[u8; 32]>) -> Self {
        Identity(secret)
    }
}

impl Identity {
    /// Draws a new identity.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut k[..]);
        Identity(k)
    }
    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Identity(Zeroizing::new(b))
    }
    /// The raw secret.
    pub fn secret(&self) -> &[u8; 32] {
        &self.0
    }
    /// The matching public key.
    pub fn public(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*self.0)).to_bytes()
    }
}

/// An issuer's signing key: an Ed25519 seed, and for a hybrid issuer
/// (SPEC §27.4, format 2.2) an ML-DSA-65 seed too. Zeroized when dropped;
/// its `Debug` shows only the public key. Sign with [`crate::pqsig::sign`]
/// (every half) or [`crate::v2::head::sign_lines`].
pub struct IssuerKey {
    ed25519: Zeroizing<[u8; 32]>,
    ml_dsa_65: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IssuerKey(secret <redacted>, public {}{})",
            crate::hex::encode(&self.public()),
            if self.ml_dsa_65.is_some() {
                " and ML-DSA-65"
            } else {
                ""
            }
        )
    }
}

impl From<Zeroizing<[u8; 32]>> for IssuerKey {
    /// Takes an Ed25519 secret already held in a zeroizing array, without
    /// a plain copy.
    fn from(secret: Zeroizing<[u8; 32]>) -> Self {
        IssuerKey {
            ed25519: secret,
            ml_dsa_65: None,
        }
    }
}

impl IssuerKey {
    /// Draws a new Ed25519 signing key.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut k[..]);
        IssuerKey::from(k)
    }
    /// Draws a new hybrid signing key: Ed25519 and ML-DSA-65 seeds.
    pub fn generate_hybrid(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Self::generate(rng);
        let mut m = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut m[..]);
        k.ml_dsa_65 = Some(m);
        k
    }
    /// From a raw Ed25519 seed.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        IssuerKey::from(Zeroizing::new(b))
    }
    /// From raw seeds: Ed25519's, and ML-DSA-65's for a hybrid key.
    pub fn from_seeds(ed25519: [u8; 32], ml_dsa_65: Option<[u8; 32]>) -> Self {
        IssuerKey {
            ed25519: Zeroizing::new(ed25519),
            ml_dsa_65: ml_dsa_65.map(Zeroizing::new),
        }
    }
    /// The raw Ed25519 secret seed.
    pub fn secret(&self) -> &[u8; 32] {
        &self.ed25519
    }
    /// The ML-DSA-65 seed of a hybrid key.
    pub fn ml_dsa_seed(&self) -> Option<&[u8; 32]> {
        self.ml_dsa_65.as_deref()
    }
    /// Whether the key also signs with ML-DSA-65.
    pub fn is_hybrid(&self) -> bool {
        self.ml_dsa_65.is_some()
    }
    /// The matching Ed25519 public key.
    pub fn public(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.ed25519)
            .verifying_key()
            .to_bytes()
    }
    /// The whole public key: Ed25519, and ML-DSA-65 for a hybrid key
    /// (expanding its seed costs an ML-DSA key generation, about 0.1 ms).
    pub fn public_key(&self) -> crate::pqsig::IssuerPublic {
        match &self.ml_dsa_65 {
            None => crate::pqsig::IssuerPublic::ed25519(self.public()),
            Some(m) => {
                crate::pqsig::IssuerPublic::hybrid(self.public(), crate::pqsig::public_of(m))
            }
        }
    }
    /// Parses a secret key file: `legation-ed25519-secret` (64 hex digits)
    /// or `legation-ed25519-mldsa65-secret` (128: the Ed25519 seed, then
    /// the ML-DSA-65 seed); `path` names the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        if key_file_tag(text) == Some(crate::pqsig::ISSUER_SECRET) {
            let k = parse_key_line::<64>(text, crate::pqsig::ISSUER_SECRET, path)?;
            let mut ed = Zeroizing::new([0u8; 32]);
            let mut m = Zeroizing::new([0u8; 32]);
            ed.copy_from_slice(&k[..32]);
            m.copy_from_slice(&k[32..]);
            return Ok(IssuerKey {
                ed25519: ed,
                ml_dsa_65: Some(m),
            });
        }
        parse_key_file(text, ISSUER_SECRET, path).map(IssuerKey::from)
    }
    /// The secret key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> Zeroizing<String> {
        match &self.ml_dsa_65 {
            None => format_key_file(ISSUER_SECRET, &self.ed25519, comment),
            Some(m) => {
                let mut both = Zeroizing::new([0u8; 64]);
                both[..32].copy_from_slice(&self.ed25519[..]);
                both[32..].copy_from_slice(&m[..]);
                format_key_file(crate::pqsig::ISSUER_SECRET, &both, comment)
            }
        }
    }
}

/// Formats a key file: a comment line and the tagged key line. The text
/// is built in one zeroizing string sized up front (no reallocation), and
/// the hex of the key is wiped too.
pub fn format_key_file<const N: usize>(
    tag: &str,
    key: &[u8; N],
    comment: &str,
) -> Zeroizing<String> {
    let hex = Zeroizing::new(crate::hex::encode(key));
    let mut out = Zeroizing::new(String::with_capacity(
        comment.len() + tag.len() + hex.len() + 5,
    ));
    for part in ["# ", comment, "\n", tag, " ", hex.as_str(), "\n"] {
        out.push_str(part);
    }
    out
}

/// The tags a key file line may have; anything else on a key line is not
/// repeated in errors, as it may be a key itself.
const KNOWN_TAGS: [&str; 12] = [
    RECIPIENT_PUBLIC,
    RECIPIENT_SECRET,
    crate::pq::RECIPIENT_PUBLIC,
    crate::pq::RECIPIENT_SECRET,
    ISSUER_PUBLIC,
    ISSUER_SECRET,
    crate::pqsig::ISSUER_PUBLIC,
    crate::pqsig::ISSUER_SECRET,
    crate::v2::witness::WITNESS_PUBLIC,
    crate::v2::witness::WITNESS_SECRET,
    crate::v2::witness::WITNESS_HYBRID_PUBLIC,
    crate::v2::witness::WITNESS_HYBRID_SECRET,
];

/// Parses a key file's text, expecting the given tag. `path` names the
/// file in errors.
pub fn parse_key_file(text: &str, tag: &'static str, path: &str) -> Result<Zeroizing<[u8; 32]>> {
    parse_key_line(text, tag, path)
}

/// The tag of a key file's key line, if it is one of the known tags (so
/// that a command can take either kind of recipient or identity).
pub fn key_file_tag(text: &str) -> Option<&'static str> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let (t, _) = line.split_once(' ')?;
    KNOWN_TAGS.iter().find(|k| **k == t).copied()
}

/// As [`parse_key_file`], for a key of `N` bytes (an X-Wing public key
/// is 1216).
pub fn parse_key_line<const N: usize>(
    text: &str,
    tag: &'static str,
    path: &str,
) -> Result<Zeroizing<[u8; N]>> {
    let bad = |reason: String| Error::KeyFile {
        path: path.to_owned(),
        expected: tag,
        reason,
    };
    let mut found = None;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (t, v) = line
            .split_once(' ')
            .ok_or_else(|| bad("a key line is `TAG HEX`".into()))?;
        if t != tag {
            // Name a known tag; never echo anything else (a line holding
            // a key and a comment would print the key).
            return Err(bad(match KNOWN_TAGS.iter().find(|k| **k == t) {
                Some(k) => format!("found a {k:?} line"),
                None => "found a line with another tag".into(),
            }));
        }
        if found.is_some() {
            return Err(bad("more than one key line".into()));
        }
        // Decoded straight into the zeroizing array: no heap copy.
        let v = v.trim();
        let lower_hex =
            v.len().is_multiple_of(2) && v.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if !lower_hex {
            return Err(bad("key is not lower-case hex".into()));
        }
        if v.len() != 2 * N {
            return Err(bad(format!("key is not {N} bytes")));
        }
        let mut key = Zeroizing::new([0u8; N]);
        for (o, p) in key.iter_mut().zip(v.as_bytes().chunks_exact(2)) {
            let digit = |c: u8| if c <= b'9' { c - b'0' } else { c - b'a' + 10 };
            *o = digit(p[0]) << 4 | digit(p[1]);
        }
        found = Some(key);
    }
    found.ok_or_else(|| bad("no key line".into()))
}

/// Crockford's base32 alphabet, without I, L, O and U.
const PASSPHRASE_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Generates a passphrase of 130 random bits: 26 base32 characters in
/// groups of five, e.g. `7k2mq-...`.
pub fn generate_passphrase(rng: &mut impl rand_core::CryptoRngCore) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(31));
    for i in 0..26 {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        // 32 divides 256, so masking the low five bits is uniform.
        out.push(PASSPHRASE_ALPHABET[(rng.next_u32() & 31) as usize] as char);
    }
    out
}

/// Fewest estimated bits of entropy a passphrase must have to be accepted
/// without force.
pub const MIN_PASSPHRASE_BITS: f64 = 80.0;

/// Estimates a passphrase's strength conservatively: each character
/// contributes log2 of the size of the character classes used, a character
/// repeating the one before or continuing a run (`abc`, `321`) contributes
/// one bit, and the total is capped by the number of distinct characters.
pub fn passphrase_bits(p: &str) -> f64 {
    // The passphrase's characters: wiped when dropped, like the copy below.
    // Sized once (never more chars than bytes), so no freed partial copy.
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(p.len()));
    chars.extend(p.chars());
    let mut pool = 0u32;
    if chars.iter().any(char::is_ascii_lowercase) {
        pool += 26;
    }
    if chars.iter().any(char::is_ascii_uppercase) {
        pool += 26;
    }
    if chars.iter().any(char::is_ascii_digit) {
        pool += 10;
    }
    if chars
        .iter()
        .any(|c| c.is_ascii() && !c.is_ascii_alphanumeric())
    {
        pool += 33;
    }
    if chars.iter().any(|c| !c.is_ascii()) {
        pool += 100;
    }
    let per = f64::from(pool.max(1)).log2();
    let mut bits = 0.0;
    for (i, c) in chars.iter().enumerate() {
        let predictable = i > 0 && {
            let d = *c as i64 - chars[i - 1] as i64;
            d.abs() <= 1
        };
        bits += if predictable { 1.0 } else { per };
    }
    let mut distinct = chars.clone(); // Zeroizing too
    distinct.sort_unstable();
    distinct.dedup();
    bits.min(distinct.len() as f64 * per * 1.5)
}

/// Refuses a passphrase weaker than [`MIN_PASSPHRASE_BITS`].
pub fn check_passphrase(p: &str) -> Result<()> {
    let bits = passphrase_bits(p);
    if bits < MIN_PASSPHRASE_BITS {
        return Err(Error::WeakPassphrase(format!(
            "about {bits:.0} bits, at least {MIN_PASSPHRASE_BITS:.0} wanted"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn key_files_round_trip_and_refuse_the_wrong_kind() {
        let id = Identity::from_bytes([7; 32]);
        let text = format_key_file(RECIPIENT_SECRET, id.secret(), "test");
        assert_eq!(
            *parse_key_file(&text, RECIPIENT_SECRET, "k").unwrap(),
            [7; 32]
        );
        let e = parse_key_file(&text, ISSUER_SECRET, "k.key")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.key") && e.contains("legation-x25519-secret"),
            "{e}"
        );
        assert!(parse_key_file("# only a comment\n", RECIPIENT_SECRET, "k").is_err());
        assert!(parse_key_file("legation-x25519-secret 00\n", RECIPIENT_SECRET, "k").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let id = Identity::from(Zeroizing::new([0x5a; 32]));
        let issuer = IssuerKey::from(Zeroizing::new([0x5a; 32]));
        for shown in [format!("{id:?}"), format!("{issuer:#?}")] {
            assert!(shown.contains("redacted"), "{shown}");
            assert!(!shown.contains("5a5a"), "{shown}");
        }
        assert!(format!("{id:?}").contains(&crate::hex::encode(&id.public())));
        // A key line without its tag: the error names neither half of it.
        let secret = "5a".repeat(32);
        for text in [
            format!("{secret} legation-x25519-secret\n"),
            format!("{secret} # my key\n"),
        ] {
            let e = parse_key_file(&text, RECIPIENT_SECRET, "k.key")
                .unwrap_err()
                .to_string();
            assert!(!e.contains("5a5a"), "{e}");
        }
        // A known tag is still named.
        let e = parse_key_file(
            &format!("{ISSUER_SECRET} {secret}\n"),
            RECIPIENT_SECRET,
            "k.key",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(ISSUER_SECRET) && !e.contains("5a5a"), "{e}");
        for (bad, why) in [
            ("AB".repeat(32), "lower-case hex"),
            ("abc".into(), "lower-case hex"),
            ("ab".repeat(31), "32 bytes"),
        ] {
            let e = parse_key_file(&format!("{RECIPIENT_SECRET} {bad}"), RECIPIENT_SECRET, "k")
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{e}");
        }
        let text = format_key_file(RECIPIENT_SECRET, &[0x5a; 32], "c");
        assert_eq!(&*text, &format!("# c\n{RECIPIENT_SECRET} {secret}\n"));
    }

    #[test]
    fn generated_passphrases_are_strong_and_weak_ones_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let p = generate_passphrase(&mut rng);
        assert_eq!(p.len(), 31);
        check_passphrase(&p).unwrap();
        for weak in [
            "password",
            "hunter2",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abcdefghijklmnopqrstuvwxyz",
            "Summer2026!",
        ] {
            assert!(check_passphrase(weak).is_err(), "{weak}");
        }
        check_passphrase("correct horse battery staple on the moor").unwrap();
    }
}

//! Key files: X25519 recipients (who can open an archive) and Ed25519
//! issuers (who sign it), and passphrase generation and strength checks.
//!
//! A key file is UTF-8 text: lines starting with `#` are comments, and one
//! line holds a type tag, a space and 64 hex digits, for example
//! `legation-x25519-public 3f2a...`. Secret files are written with mode
//! 0600 by the command.

use zeroize::{Zeroize, Zeroizing};

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
pub struct Identity(Zeroizing<[u8; 32]>);

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

/// An issuer's Ed25519 signing key.
pub struct IssuerKey(Zeroizing<[u8; 32]>);

impl IssuerKey {
    /// Draws a new signing key.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut k[..]);
        IssuerKey(k)
    }
    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        IssuerKey(Zeroizing::new(b))
    }
    /// The raw secret seed.
    pub fn secret(&self) -> &[u8; 32] {
        &self.0
    }
    /// The matching public key.
    pub fn public(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.0)
            .verifying_key()
            .to_bytes()
    }
}

/// Formats a key file: a comment line and the tagged key line.
pub fn format_key_file(tag: &str, key: &[u8; 32], comment: &str) -> Zeroizing<String> {
    Zeroizing::new(format!("# {comment}\n{tag} {}\n", crate::hex::encode(key)))
}

/// Parses a key file's text, expecting the given tag. `path` names the
/// file in errors.
pub fn parse_key_file(text: &str, tag: &'static str, path: &str) -> Result<Zeroizing<[u8; 32]>> {
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
            return Err(bad(format!("found a {t:?} line")));
        }
        if found.is_some() {
            return Err(bad("more than one key line".into()));
        }
        let mut bytes =
            crate::hex::decode(v.trim()).ok_or_else(|| bad("key is not lower-case hex".into()))?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| bad("key is not 32 bytes".into()))?;
        bytes.zeroize();
        found = Some(Zeroizing::new(arr));
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
    let chars: Vec<char> = p.chars().collect();
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
    let mut distinct = chars.clone();
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

//! Hybrid issuer signatures (SPEC §27.4, format 2.2): an issuer key that
//! holds an Ed25519 key and an ML-DSA-65 key (FIPS 204) signs every
//! statement with both, so that a forger must break both.
//!
//! This module is the one place that signs and verifies for an issuer key
//! whatever its algorithms: [`sign`] gives one signature line per
//! algorithm the key holds, [`verify_line`] checks one line, and
//! [`IssuerPublic::signed_by`] says whether a set of lines carries a valid
//! signature of every half of an expected (pinned) key. Heads use it
//! through [`crate::v2::head`]; any other signed statement (a handover, a
//! revocation) passes its own message, which begins with its own prefix.
//!
//! ML-DSA-65 is RustCrypto's `ml-dsa` crate, signing with FIPS 204's
//! deterministic variant and an empty context: the same key and message
//! give the same bytes, as Ed25519's do (so test vectors are stable and a
//! rewritten archive is the same file).

use ml_dsa::{EncodedSignature, EncodedVerifyingKey, MlDsa65, Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::keys::IssuerKey;
use crate::v2::head::{SignatureLine, ED25519};
use crate::{Error, Result};

/// The algorithm's name in `signatures` lines and `issuers` items.
pub const ML_DSA_65: &str = "ml-dsa-65";
/// Bytes of an ML-DSA-65 public key (FIPS 204 `pkEncode`).
pub const PUBLIC_LEN: usize = 1952;
/// Bytes of an ML-DSA-65 signature (FIPS 204 `sigEncode`).
pub const SIGNATURE_LEN: usize = 3309;
/// Bytes of an ML-DSA-65 secret key as kept: the 32-byte seed ξ of FIPS
/// 204's `ML-DSA.KeyGen_internal`.
pub const SEED_LEN: usize = 32;
/// Bytes of a hybrid issuer's public key file's key: Ed25519's 32, then
/// ML-DSA-65's 1952.
pub const HYBRID_PUBLIC_LEN: usize = 32 + PUBLIC_LEN;
/// Tag of a hybrid issuer's public key file line (3968 hex digits).
pub const ISSUER_PUBLIC: &str = "legation-ed25519-mldsa65-public";
/// Tag of a hybrid issuer's secret key file line: the Ed25519 seed, then
/// the ML-DSA-65 seed (128 hex digits).
pub const ISSUER_SECRET: &str = "legation-ed25519-mldsa65-secret";
/// The BLAKE3 key derivation context of a hybrid issuer's id.
const HYBRID_ID_CONTEXT: &str = "legation 2026 hybrid issuer id";

/// The ML-DSA-65 signing key expanded from a seed (about 0.1 ms).
fn signing_key(seed: &[u8; SEED_LEN]) -> SigningKey<MlDsa65> {
    SigningKey::<MlDsa65>::from_seed(&(*seed).into())
}

/// The ML-DSA-65 public key of a seed.
pub fn public_of(seed: &[u8; SEED_LEN]) -> Box<[u8; PUBLIC_LEN]> {
    let mut out = Box::new([0u8; PUBLIC_LEN]);
    out.copy_from_slice(&signing_key(seed).expanded_key().verifying_key().encode());
    out
}

/// An ML-DSA-65 signature of `message` (deterministic, empty context).
pub fn sign_ml_dsa(seed: &[u8; SEED_LEN], message: &[u8]) -> Result<Vec<u8>> {
    let sk = signing_key(seed);
    let sig = sk
        .expanded_key()
        .sign_deterministic(message, b"")
        .map_err(|_| {
            // Rejection sampling gave up: FIPS 204 bounds how often, and it
            // does not happen with any real message.
            Error::invalid(
                crate::v2::SIGNATURES_ENTRY,
                "ML-DSA-65 signing found no signature within its bound",
            )
        })?;
    Ok(sig.encode().to_vec())
}

/// Whether `signature` is a valid ML-DSA-65 signature of `message` under
/// `public_key` (empty context). Any other length is `false`.
pub fn verify_ml_dsa(public_key: &[u8], signature: &[u8], message: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (
        EncodedVerifyingKey::<MlDsa65>::try_from(public_key),
        EncodedSignature::<MlDsa65>::try_from(signature),
    ) else {
        return false;
    };
    // A signature whose hint or response is out of range decodes to none.
    let Some(sig) = Signature::<MlDsa65>::decode(&sig) else {
        return false;
    };
    VerifyingKey::<MlDsa65>::decode(&key).verify_with_context(message, b"", &sig)
}

/// Signs `message` with every half of `issuer`: an `ed25519` line, and an
/// `ml-dsa-65` line when the key is hybrid. The single signing entry point
/// for issuer keys; `message` carries its statement's own prefix.
pub fn sign(issuer: &IssuerKey, message: &[u8]) -> Result<Vec<SignatureLine>> {
    use ed25519_dalek::Signer;
    let ed = ed25519_dalek::SigningKey::from_bytes(issuer.secret());
    let mut lines = vec![SignatureLine {
        algorithm: ED25519.to_string(),
        public_key: ed.verifying_key().to_bytes().to_vec(),
        signature: ed.sign(message).to_bytes().to_vec(),
    }];
    if let Some(seed) = issuer.ml_dsa_seed() {
        lines.push(SignatureLine {
            algorithm: ML_DSA_65.to_string(),
            public_key: public_of(seed).to_vec(),
            signature: sign_ml_dsa(seed, message)?,
        });
    }
    Ok(lines)
}

/// Verifies one line over `message`: `Some(true)` when it holds,
/// `Some(false)` when it does not, `None` for an algorithm this reader
/// does not know. Ed25519 by the strict rules of SPEC §1.
pub fn verify_line(line: &SignatureLine, message: &[u8]) -> Option<bool> {
    match line.algorithm.as_str() {
        ED25519 => {
            let (Ok(public), Ok(signature)) = (
                <[u8; 32]>::try_from(line.public_key.as_slice()),
                <[u8; 64]>::try_from(line.signature.as_slice()),
            ) else {
                return Some(false);
            };
            let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&public) else {
                return Some(false);
            };
            Some(
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
                    .is_ok(),
            )
        }
        ML_DSA_65 => Some(verify_ml_dsa(&line.public_key, &line.signature, message)),
        _ => None,
    }
}

/// Whether this reader checks signatures of `algorithm`.
pub fn known(algorithm: &str) -> bool {
    algorithm == ED25519 || algorithm == ML_DSA_65
}

/// The 32-byte id of a hybrid issuer key, which stands for the pair where
/// 2.0 code takes an Ed25519 key (a pinned issuer, SPEC §27.4): the first
/// `BLAKE3-derive(HYBRID_ID_CONTEXT, i || ed25519 || ml_dsa_65)`, for a
/// one-byte counter `i` from 0, that is no Ed25519 point (its y, reduced
/// mod p, has no x). So nobody, even one who can solve discrete
/// logarithms, holds an Ed25519 key equal to an id, and a pin of a hybrid
/// key is never met by an Ed25519 signature alone.
pub fn hybrid_id(ed25519: &[u8; 32], ml_dsa_65: &[u8]) -> [u8; 32] {
    for i in 0..=u8::MAX {
        let mut h = blake3::Hasher::new_derive_key(HYBRID_ID_CONTEXT);
        h.update(&[i]);
        h.update(ed25519);
        h.update(ml_dsa_65);
        let id = *h.finalize().as_bytes();
        if curve25519_point(&id).is_none() {
            return id;
        }
    }
    // About half of all 32-byte strings are points, so 256 in a row is a
    // chance of 2^-256.
    unreachable_id()
}

/// The decoded point of 32 bytes, if they encode one (y reduced mod p).
fn curve25519_point(bytes: &[u8; 32]) -> Option<ed25519_dalek::VerifyingKey> {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).ok()
}

/// Never reached (see [`hybrid_id`]); a fixed non-point so that the
/// function stays total without a panic.
fn unreachable_id() -> [u8; 32] {
    // y = 2: (y² - 1) / (d y² + 1) = 3 / (4d + 1), not a square mod p
    // (checked by the test `the_fallback_id_is_no_point`).
    let mut id = [0u8; 32];
    id[0] = 2;
    id
}

/// Whether a 32-byte pin ([`IssuerPublic::pin`]) is met by these signers,
/// each an algorithm and a public key whose signature verified: an
/// Ed25519 pin by its key, a hybrid pin by an Ed25519 key and an
/// ML-DSA-65 key whose [`hybrid_id`] it is. (A hybrid id is no Ed25519
/// point, so no Ed25519 signer alone meets it.)
pub fn pin_met<'s, 'k>(
    pin: &[u8; 32],
    signers: impl Iterator<Item = (&'s str, &'k [u8])> + Clone,
) -> bool {
    let of = |alg: &'static str| {
        signers
            .clone()
            .filter(move |(a, _)| *a == alg)
            .map(|(_, k)| k)
    };
    of(ED25519).any(|e| {
        e == pin
            || <&[u8; 32]>::try_from(e)
                .is_ok_and(|e| of(ML_DSA_65).any(|m| hybrid_id(e, m) == *pin))
    })
}

/// The fingerprint to show for these issuers: a single hybrid issuer's
/// (one Ed25519 and one ML-DSA-65 key) covers both keys; otherwise the
/// first Ed25519 key's. `None` when there is no Ed25519 key.
pub fn signer_fingerprint<'s, 'k>(
    signers: impl Iterator<Item = (&'s str, &'k [u8])> + Clone,
) -> Option<String> {
    let ed: Vec<&[u8]> = signers
        .clone()
        .filter(|(a, _)| *a == ED25519)
        .map(|(_, k)| k)
        .collect();
    let ml: Vec<&[u8]> = signers
        .filter(|(a, _)| *a == ML_DSA_65)
        .map(|(_, k)| k)
        .collect();
    let first: &[u8; 32] = ed.first()?.to_owned().try_into().ok()?;
    Some(match (ed.len(), ml.as_slice()) {
        (1, [m]) => crate::crypto::fingerprint(&hybrid_id(first, m)),
        _ => crate::crypto::fingerprint(first),
    })
}

/// An issuer's public key: Ed25519, and ML-DSA-65 for a hybrid issuer.
/// What `legation` pins with `--issuer` and what `keygen issuer` writes.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerPublic {
    ed25519: [u8; 32],
    ml_dsa_65: Option<Box<[u8; PUBLIC_LEN]>>,
}

impl std::fmt::Debug for IssuerPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IssuerPublic({}, {})",
            self.algorithms(),
            self.fingerprint()
        )
    }
}

impl IssuerPublic {
    /// An Ed25519 issuer.
    pub fn ed25519(key: [u8; 32]) -> Self {
        IssuerPublic {
            ed25519: key,
            ml_dsa_65: None,
        }
    }

    /// A hybrid issuer from its two public keys.
    pub fn hybrid(ed25519: [u8; 32], ml_dsa_65: Box<[u8; PUBLIC_LEN]>) -> Self {
        IssuerPublic {
            ed25519,
            ml_dsa_65: Some(ml_dsa_65),
        }
    }

    /// The Ed25519 half.
    pub fn ed25519_key(&self) -> &[u8; 32] {
        &self.ed25519
    }

    /// The ML-DSA-65 half, for a hybrid issuer.
    pub fn ml_dsa_65_key(&self) -> Option<&[u8; PUBLIC_LEN]> {
        self.ml_dsa_65.as_deref()
    }

    /// `ed25519`, or `ed25519+ml-dsa-65` for a hybrid issuer.
    pub fn algorithms(&self) -> &'static str {
        if self.ml_dsa_65.is_some() {
            "ed25519+ml-dsa-65"
        } else {
            ED25519
        }
    }

    /// The 32 bytes that stand for this key where a pin is 32 bytes: the
    /// Ed25519 key, or a hybrid issuer's [`hybrid_id`].
    pub fn pin(&self) -> [u8; 32] {
        match &self.ml_dsa_65 {
            None => self.ed25519,
            Some(m) => hybrid_id(&self.ed25519, &m[..]),
        }
    }

    /// The fingerprint people compare (SPEC §6): of the Ed25519 key, or of
    /// a hybrid issuer's id, so that it covers both halves.
    pub fn fingerprint(&self) -> String {
        crate::crypto::fingerprint(&self.pin())
    }

    /// Whether `lines` hold a valid signature over `message` by every half
    /// of this key (both for a hybrid issuer): what a pin of this key
    /// requires. Lines of other keys are not looked at.
    pub fn signed_by(&self, lines: &[SignatureLine], message: &[u8]) -> bool {
        let holds = |algorithm: &str, key: &[u8]| {
            lines.iter().any(|l| {
                l.algorithm == algorithm
                    && l.public_key == key
                    && verify_line(l, message) == Some(true)
            })
        };
        holds(ED25519, &self.ed25519)
            && self
                .ml_dsa_65
                .as_ref()
                .is_none_or(|m| holds(ML_DSA_65, &m[..]))
    }

    /// Parses a public key file: `legation-ed25519-public` (64 hex
    /// digits) or `legation-ed25519-mldsa65-public` (3968); `path` names
    /// the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        if crate::keys::key_file_tag(text) == Some(ISSUER_PUBLIC) {
            let k = crate::keys::parse_key_line::<HYBRID_PUBLIC_LEN>(text, ISSUER_PUBLIC, path)?;
            let mut ed = [0u8; 32];
            ed.copy_from_slice(&k[..32]);
            let mut m = Box::new([0u8; PUBLIC_LEN]);
            m.copy_from_slice(&k[32..]);
            return Ok(IssuerPublic::hybrid(ed, m));
        }
        let k = crate::keys::parse_key_file(text, crate::keys::ISSUER_PUBLIC, path)?;
        Ok(IssuerPublic::ed25519(*k))
    }

    /// The public key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> String {
        match &self.ml_dsa_65 {
            None => {
                crate::keys::format_key_file(crate::keys::ISSUER_PUBLIC, &self.ed25519, comment)
                    .to_string()
            }
            Some(m) => {
                let mut both = Zeroizing::new([0u8; HYBRID_PUBLIC_LEN]);
                both[..32].copy_from_slice(&self.ed25519);
                both[32..].copy_from_slice(&m[..]);
                crate::keys::format_key_file(ISSUER_PUBLIC, &both, comment).to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::head;

    fn hybrid(n: u8) -> IssuerKey {
        IssuerKey::from_seeds([n; 32], Some([n ^ 0x80; 32]))
    }

    /// FIPS 204 key generation from the seed 00 01 … 1f gives the public
    /// key of the IETF LAMPS example `ML-DSA-65.pub` (lamps-wg
    /// dilithium-certificates, which the crate also ships): its first
    /// bytes and the BLAKE3 of all 1952, taken from the PEM file.
    #[test]
    fn key_generation_matches_the_lamps_example() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let public = public_of(&seed);
        assert_eq!(
            crate::hex::encode(&public[..32]),
            "48683d91978e31eb3dddb8b0473482d2b88a5f625949fd8f58a561e696bd4c27"
        );
        assert_eq!(
            blake3::hash(&public[..]).to_hex().as_str(),
            "66de1384e0ba89c45e52c0cb2b2072efd63e1137e37007b3bfa8738f20db11eb"
        );
    }

    /// Deterministic signing: the same seed and message give the same
    /// signature; this one is pinned (our own recorded value, so that a
    /// change of the crate's signing shows here) and verifies.
    #[test]
    fn deterministic_signature_is_pinned() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let a = sign_ml_dsa(&seed, b"legation").unwrap();
        assert_eq!(a, sign_ml_dsa(&seed, b"legation").unwrap());
        assert_eq!(a.len(), SIGNATURE_LEN);
        assert_eq!(
            blake3::hash(&a).to_hex().as_str(),
            "425fb4022f9d9b7572763ad7fefe8aef17e9bb2d679e279af452c32db8d493b2"
        );
        assert!(verify_ml_dsa(&public_of(&seed)[..], &a, b"legation"));
        assert!(!verify_ml_dsa(&public_of(&seed)[..], &a, b"legatioN"));
    }

    #[test]
    fn hybrid_keys_sign_with_both_and_a_pin_needs_both() {
        let k = hybrid(3);
        let public = k.public_key();
        assert_eq!(public.algorithms(), "ed25519+ml-dsa-65");
        let m = head::signed_message(b"a head");
        let lines = sign(&k, &m).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].algorithm, ED25519);
        assert_eq!(lines[1].algorithm, ML_DSA_65);
        assert_eq!(lines[1].public_key.len(), PUBLIC_LEN);
        assert_eq!(lines[1].signature.len(), SIGNATURE_LEN);
        assert!(lines.iter().all(|l| verify_line(l, &m) == Some(true)));
        assert!(public.signed_by(&lines, &m));
        // Either half missing or flipped: the pin is not met.
        assert!(!public.signed_by(&lines[..1], &m));
        assert!(!public.signed_by(&lines[1..], &m));
        for i in 0..2 {
            let mut bad = lines.clone();
            bad[i].signature[7] ^= 1;
            assert_eq!(verify_line(&bad[i], &m), Some(false));
            assert!(!public.signed_by(&bad, &m));
        }
        assert!(!public.signed_by(&lines, &head::signed_message(b"another")));
        // An Ed25519 key signs one line and its pin is its key.
        let ed = IssuerKey::from_bytes([3; 32]);
        assert_eq!(sign(&ed, &m).unwrap().len(), 1);
        assert_eq!(ed.public_key().pin(), ed.public());
        assert!(ed.public_key().signed_by(&lines, &m));
        // The hybrid pin is no Ed25519 key, the Ed25519 half's fingerprint
        // differs from the hybrid one.
        assert_ne!(public.pin(), k.public());
        assert!(curve25519_point(&public.pin()).is_none());
        assert_ne!(public.fingerprint(), ed.public_key().fingerprint());
        let unknown = SignatureLine {
            algorithm: "slh-dsa-sha2-128s".into(),
            ..lines[1].clone()
        };
        assert_eq!(verify_line(&unknown, &m), None);
        // Pins: met by both halves, not by the Ed25519 half alone.
        let both = [
            (ED25519, &lines[0].public_key[..]),
            (ML_DSA_65, &lines[1].public_key[..]),
        ];
        assert!(pin_met(&public.pin(), both.iter().copied()));
        assert!(pin_met(&k.public(), both.iter().copied()));
        assert!(!pin_met(&public.pin(), both[..1].iter().copied()));
        assert!(!pin_met(&public.pin(), both[1..].iter().copied()));
        assert_eq!(
            signer_fingerprint(both.iter().copied()),
            Some(public.fingerprint())
        );
        assert_eq!(
            signer_fingerprint(both[..1].iter().copied()),
            Some(ed.public_key().fingerprint())
        );
        assert_eq!(signer_fingerprint(both[1..].iter().copied()), None);
    }

    #[test]
    fn ids_are_never_points() {
        for n in 0..=255u8 {
            let id = hybrid_id(&[n; 32], &[n; PUBLIC_LEN]);
            assert!(curve25519_point(&id).is_none(), "{n}");
        }
    }

    #[test]
    fn the_fallback_id_is_no_point() {
        assert!(curve25519_point(&unreachable_id()).is_none());
    }

    #[test]
    fn hostile_lengths_do_not_verify() {
        let k = hybrid(5);
        let m = b"message";
        let line = &sign(&k, m).unwrap()[1];
        for (key, sig) in [
            (&line.public_key[..PUBLIC_LEN - 1], &line.signature[..]),
            (&line.public_key[..], &line.signature[..SIGNATURE_LEN - 1]),
            (
                &line.public_key[..],
                &[line.signature.clone(), vec![0]].concat()[..],
            ),
            (&[][..], &[][..]),
        ] {
            assert!(!verify_ml_dsa(key, sig, m));
        }
        // A response out of range (every byte 0xff) decodes to no signature.
        assert!(!verify_ml_dsa(&line.public_key, &[0xff; SIGNATURE_LEN], m));
        assert!(!verify_ml_dsa(&line.public_key, &[0; SIGNATURE_LEN], m));
    }

    #[test]
    fn public_key_files_round_trip_and_are_checked() {
        let k = hybrid(7);
        let public = k.public_key();
        let text = public.to_key_file("issuer gov");
        assert!(text.contains(ISSUER_PUBLIC));
        assert_eq!(
            text.lines().nth(1).unwrap().len(),
            ISSUER_PUBLIC.len() + 1 + 2 * HYBRID_PUBLIC_LEN
        );
        assert_eq!(
            IssuerPublic::from_key_file(&text, "gov.pub").unwrap(),
            public
        );
        let ed = IssuerKey::from_bytes([7; 32]).public_key();
        let t = ed.to_key_file("ed");
        assert_eq!(IssuerPublic::from_key_file(&t, "ed.pub").unwrap(), ed);
        // Truncated, a secret given as public, and a recipient key: named.
        let short = text.replacen("0", "", 1);
        let e = IssuerPublic::from_key_file(&short, "gov.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("gov.pub"), "{e}");
        let secret = k.to_key_file("secret");
        let e = IssuerPublic::from_key_file(&secret, "s.key")
            .unwrap_err()
            .to_string();
        assert!(e.contains(ISSUER_SECRET) && e.contains("s.key"), "{e}");
    }
}

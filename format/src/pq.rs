//! Post-quantum recipients (SPEC §7.11, format 2.1): the data key wrapped
//! for an X-Wing public key, the hybrid of ML-KEM-768 and X25519 that the
//! C2SP age specification's `mlkem768x25519` recipient also uses. The
//! slot secret is X-Wing's shared secret; wrapping and opening are SPEC
//! §7.5 and §7.6 as for every other slot, over this slot's own header.
//!
//! The KEM is RustCrypto's `x-wing` crate (draft-connolly-cfrg-xwing-kem
//! 06); this module adds the key files, the slot and its header. A slot
//! stays closed to anyone who breaks only one of the two halves: X-Wing's
//! shared secret hashes both halves' secrets together.

use serde::{Deserialize, Serialize};
use x_wing::{Decapsulate, KeyExport};
use zeroize::Zeroizing;

use crate::crypto::{self, DataKey, KeySlot};
use crate::{Error, Result};

/// Bytes of an X-Wing public key: ML-KEM-768's 1184, then X25519's 32.
pub const PUBLIC_LEN: usize = x_wing::ENCAPSULATION_KEY_SIZE;
/// Bytes of an X-Wing secret key: a seed both halves are expanded from.
pub const SECRET_LEN: usize = x_wing::DECAPSULATION_KEY_SIZE;
/// Bytes of an X-Wing ciphertext: ML-KEM-768's 1088, then X25519's 32.
pub const CIPHERTEXT_LEN: usize = x_wing::CIPHERTEXT_SIZE;
/// Random bytes one encapsulation takes: 32 for ML-KEM, 32 for X25519.
pub const ENCAPSULATION_RANDOMNESS_LEN: usize = x_wing::ENCAPSULATION_RANDOMNESS_SIZE;
/// The slot's `type` in `key_slots`, and the start of its header.
pub const SLOT_TYPE: &str = "mlkem768x25519";
/// Tag of an X-Wing public key (post-quantum recipient) key file line.
pub const RECIPIENT_PUBLIC: &str = "legation-mlkem768x25519-public";
/// Tag of an X-Wing secret key (post-quantum identity) key file line.
pub const RECIPIENT_SECRET: &str = "legation-mlkem768x25519-secret";

/// A post-quantum recipient's public key, checked: its ML-KEM half
/// decodes (every coefficient below q) and its X25519 half is not a point
/// of small order.
#[derive(Clone, PartialEq, Eq)]
pub struct PqRecipient {
    bytes: Box<[u8; PUBLIC_LEN]>,
    key: x_wing::EncapsulationKey,
}

impl std::fmt::Debug for PqRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PqRecipient({})", self.fingerprint())
    }
}

impl PqRecipient {
    /// Checks and takes 1216 bytes; `what` names them in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self> {
        let bytes: [u8; PUBLIC_LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(
                what,
                format!(
                    "an X-Wing public key is {PUBLIC_LEN} bytes, not {}",
                    bytes.len()
                ),
            )
        })?;
        let key = x_wing::EncapsulationKey::try_from(&bytes[..]).map_err(|_| {
            Error::invalid(
                what,
                "not an ML-KEM-768 public key (a coefficient is not below q)",
            )
        })?;
        let mut x = [0u8; 32];
        x.copy_from_slice(&bytes[PUBLIC_LEN - 32..]);
        // Any scalar shows a point of small order: the product is zero.
        let probe = x25519_dalek::StaticSecret::from([0x55; 32]);
        if !probe
            .diffie_hellman(&x25519_dalek::PublicKey::from(x))
            .was_contributory()
        {
            return Err(Error::invalid(what, "its X25519 half is a low-order point"));
        }
        Ok(PqRecipient {
            bytes: Box::new(bytes),
            key,
        })
    }

    /// The 1216 bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_LEN] {
        &self.bytes
    }

    /// The key's fingerprint (as `legation keygen` prints for X25519).
    pub fn fingerprint(&self) -> String {
        crypto::fingerprint_of(&self.bytes[..])
    }

    /// Parses a public key file (`legation-mlkem768x25519-public` and 2432
    /// hex digits); `path` names the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        let k = crate::keys::parse_key_line::<PUBLIC_LEN>(text, RECIPIENT_PUBLIC, path)?;
        Self::from_bytes(&k[..], path)
    }

    /// The public key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> String {
        crate::keys::format_key_file(RECIPIENT_PUBLIC, &self.bytes, comment).to_string()
    }
}

/// A post-quantum identity: the 32-byte X-Wing seed from which both
/// halves' secret keys are expanded. Zeroized when dropped; its `Debug`
/// shows only the public key's fingerprint.
pub struct PqIdentity(Zeroizing<[u8; SECRET_LEN]>);

impl std::fmt::Debug for PqIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PqIdentity(secret <redacted>, public {})",
            self.public().fingerprint()
        )
    }
}

impl From<Zeroizing<[u8; SECRET_LEN]>> for PqIdentity {
    /// Takes a seed already held in a zeroizing array (as
    /// [`crate::keys::parse_key_file`] returns it).
    fn from(seed: Zeroizing<[u8; SECRET_LEN]>) -> Self {
        PqIdentity(seed)
    }
}

impl PqIdentity {
    /// Draws a new identity.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; SECRET_LEN]);
        rng.fill_bytes(&mut k[..]);
        PqIdentity(k)
    }

    /// From the raw seed.
    pub fn from_bytes(seed: [u8; SECRET_LEN]) -> Self {
        PqIdentity(Zeroizing::new(seed))
    }

    /// The raw seed.
    pub fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    fn decapsulation_key(&self) -> x_wing::DecapsulationKey {
        x_wing::DecapsulationKey::from(*self.0)
    }

    /// The matching public key. Expanding the seed costs an ML-KEM key
    /// generation (tens of microseconds).
    pub fn public(&self) -> PqRecipient {
        let key = x_wing::Decapsulator::encapsulation_key(&self.decapsulation_key()).clone();
        let mut bytes = Box::new([0u8; PUBLIC_LEN]);
        bytes.copy_from_slice(&key.to_bytes());
        PqRecipient { bytes, key }
    }

    /// Parses a secret key file (`legation-mlkem768x25519-secret` and 64
    /// hex digits); `path` names the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        crate::keys::parse_key_file(text, RECIPIENT_SECRET, path).map(PqIdentity)
    }

    /// The secret key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> Zeroizing<String> {
        crate::keys::format_key_file(RECIPIENT_SECRET, &self.0, comment)
    }
}

/// An `mlkem768x25519` key slot's members after `type` (SPEC §7.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PqSlot {
    /// The X-Wing ciphertext: ML-KEM-768's, then the X25519 ephemeral key.
    #[serde(with = "crate::hex::array")]
    pub ciphertext: [u8; CIPHERTEXT_LEN],
    /// AES-256-GCM of the data key: 32 bytes and a 16-byte tag.
    #[serde(with = "crate::hex::array")]
    pub wrapped: [u8; 48],
    /// The slot commitment (SPEC §7.5).
    #[serde(with = "crate::hex::array")]
    pub commitment: [u8; 32],
}

/// The slot header (SPEC §7.11): `"mlkem768x25519" || 0x00 || archive_id
/// || ciphertext || recipient`, 2367 bytes.
pub fn header(
    archive_id: &[u8; 16],
    ciphertext: &[u8; CIPHERTEXT_LEN],
    recipient: &PqRecipient,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(SLOT_TYPE.len() + 1 + 16 + CIPHERTEXT_LEN + PUBLIC_LEN);
    h.extend_from_slice(SLOT_TYPE.as_bytes());
    h.push(0);
    h.extend_from_slice(archive_id);
    h.extend_from_slice(ciphertext);
    h.extend_from_slice(&recipient.bytes[..]);
    h
}

/// Makes a slot for `data_key` and `recipient` with fresh randomness.
pub fn pq_slot(
    data_key: &DataKey,
    archive_id: &[u8; 16],
    recipient: &PqRecipient,
    rng: &mut impl rand_core::CryptoRngCore,
) -> KeySlot {
    let mut randomness = Zeroizing::new([0u8; ENCAPSULATION_RANDOMNESS_LEN]);
    rng.fill_bytes(&mut randomness[..]);
    pq_slot_with(data_key, archive_id, recipient, &randomness)
}

/// As [`pq_slot`], with the encapsulation's 64 random bytes given (for
/// test vectors; reusing them for two slots would give both the same
/// secret).
pub fn pq_slot_with(
    data_key: &DataKey,
    archive_id: &[u8; 16],
    recipient: &PqRecipient,
    randomness: &[u8; ENCAPSULATION_RANDOMNESS_LEN],
) -> KeySlot {
    let (ciphertext, shared) = encapsulate(recipient, randomness);
    let h = header(archive_id, &ciphertext, recipient);
    let (wrapped, commitment) = crypto::wrap_bytes(&shared, &h, data_key.as_bytes());
    KeySlot::MlKem768X25519(Box::new(PqSlot {
        ciphertext,
        wrapped,
        commitment,
    }))
}

/// X-Wing's encapsulation with the given randomness: the ciphertext and
/// the shared secret (the slot secret).
pub fn encapsulate(
    recipient: &PqRecipient,
    randomness: &[u8; ENCAPSULATION_RANDOMNESS_LEN],
) -> ([u8; CIPHERTEXT_LEN], Zeroizing<[u8; 32]>) {
    let (ct, ss) = recipient
        .key
        .encapsulate_deterministic(&(*randomness).into());
    let mut ciphertext = [0u8; CIPHERTEXT_LEN];
    ciphertext.copy_from_slice(&ct);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&ss);
    (ciphertext, secret)
}

/// X-Wing's decapsulation: the shared secret a ciphertext gives under
/// `identity` (a ciphertext for another key gives an unrelated secret:
/// ML-KEM rejects implicitly).
pub fn decapsulate(
    identity: &PqIdentity,
    ciphertext: &[u8; CIPHERTEXT_LEN],
) -> Zeroizing<[u8; 32]> {
    let ct = x_wing::Ciphertext::from(*ciphertext);
    let ss = identity.decapsulation_key().decapsulate(&ct);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&ss);
    secret
}

/// Tries to open an `mlkem768x25519` slot with a post-quantum identity;
/// `None` for any other slot, or if the identity is not this slot's.
pub fn open_pq_slot(
    slot: &KeySlot,
    archive_id: &[u8; 16],
    identity: &PqIdentity,
) -> Option<DataKey> {
    let KeySlot::MlKem768X25519(s) = slot else {
        return None;
    };
    open_with_public(s, archive_id, identity, &identity.public())
}

/// As [`open_pq_slot`] with the identity's public key computed already
/// (a reader trying many slots expands the seed once).
pub fn open_with_public(
    slot: &PqSlot,
    archive_id: &[u8; 16],
    identity: &PqIdentity,
    public: &PqRecipient,
) -> Option<DataKey> {
    let secret = decapsulate(identity, &slot.ciphertext);
    let h = header(archive_id, &slot.ciphertext, public);
    crypto::unwrap_bytes(&secret, &h, &slot.wrapped, &slot.commitment)
        .map(|k| DataKey::from_bytes(*k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn slot_round_trip_and_other_keys_refused() {
        let mut r = rng();
        let id = PqIdentity::generate(&mut r);
        let pk = id.public();
        let dk = DataKey::generate(&mut r);
        let archive = [3u8; 16];
        let slot = pq_slot(&dk, &archive, &pk, &mut r);
        assert_eq!(
            open_pq_slot(&slot, &archive, &id).unwrap().as_bytes(),
            dk.as_bytes()
        );
        // Another identity, another archive: the commitment differs.
        assert!(open_pq_slot(&slot, &archive, &PqIdentity::generate(&mut r)).is_none());
        assert!(open_pq_slot(&slot, &[4; 16], &id).is_none());
        // Every byte of the ciphertext is bound: a flipped bit closes it.
        for at in [0, 1087, 1088, CIPHERTEXT_LEN - 1] {
            let KeySlot::MlKem768X25519(mut s) = slot.clone() else {
                unreachable!()
            };
            s.ciphertext[at] ^= 1;
            assert!(open_pq_slot(&KeySlot::MlKem768X25519(s), &archive, &id).is_none());
        }
        // Two slots for one recipient share nothing.
        let again = pq_slot(&dk, &archive, &pk, &mut r);
        assert_ne!(again, slot);
    }

    #[test]
    fn slot_json_shape_and_hostile_lengths() {
        let mut r = rng();
        let id = PqIdentity::generate(&mut r);
        let dk = DataKey::generate(&mut r);
        let slot = pq_slot(&dk, &[1; 16], &id.public(), &mut r);
        let json = serde_json::to_string(&slot).unwrap();
        assert!(
            json.starts_with(r#"{"type":"mlkem768x25519","ciphertext":""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<KeySlot>(&json).unwrap(), slot);
        let KeySlot::MlKem768X25519(s) = &slot else {
            unreachable!()
        };
        let ct = crate::hex::encode(&s.ciphertext);
        for (bad, what) in [
            (ct[..ct.len() - 2].to_owned(), "truncated"),
            (format!("{ct}00"), "oversized"),
            (String::new(), "empty"),
        ] {
            let e = serde_json::from_str::<KeySlot>(&json.replace(&ct, &bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains("expected 1120 bytes"), "{what}: {e}");
        }
    }

    #[test]
    fn public_keys_are_checked() {
        let pk = PqIdentity::from_bytes([9; 32]).public();
        assert_eq!(PqRecipient::from_bytes(pk.as_bytes(), "k").unwrap(), pk);
        let e = PqRecipient::from_bytes(&pk.as_bytes()[..1215], "k.pub")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k.pub") && e.contains("1216 bytes, not 1215"),
            "{e}"
        );
        // A coefficient of 4095 >= q = 3329 in the ML-KEM half.
        let mut b = *pk.as_bytes();
        b[0] = 0xff;
        b[1] |= 0x0f;
        let e = PqRecipient::from_bytes(&b, "k.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("ML-KEM-768"), "{e}");
        // The X25519 half a low-order point (zero).
        let mut b = *pk.as_bytes();
        b[PUBLIC_LEN - 32..].fill(0);
        let e = PqRecipient::from_bytes(&b, "k.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("low-order"), "{e}");
    }

    #[test]
    fn key_files_round_trip() {
        let id = PqIdentity::from_bytes([0x5a; 32]);
        let text = id.to_key_file("an identity");
        let back = PqIdentity::from_key_file(&text, "id.key").unwrap();
        assert_eq!(back.secret(), id.secret());
        let pub_text = id.public().to_key_file("a recipient");
        assert_eq!(
            pub_text.lines().nth(1).unwrap().len(),
            RECIPIENT_PUBLIC.len() + 1 + 2432
        );
        assert_eq!(
            PqRecipient::from_key_file(&pub_text, "r.pub").unwrap(),
            id.public()
        );
        // An X25519 key file where a post-quantum one is expected is named.
        let x = crate::keys::format_key_file(crate::keys::RECIPIENT_PUBLIC, &[1; 32], "c");
        let e = PqRecipient::from_key_file(&x, "r.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("legation-x25519-public"), "{e}");
        let short = pub_text.replace(&pub_text.lines().nth(1).unwrap()[40..42], "");
        let e = PqRecipient::from_key_file(&short, "r.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not 1216 bytes"), "{e}");
    }

    /// The draft's published known-answer tests (the ones the `x-wing`
    /// crate checks itself against), through this module's functions.
    #[test]
    fn draft_known_answers() {
        let kat: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/pq/xwing-draft-06-kat.json")).unwrap();
        let hex = |v: &serde_json::Value| crate::hex::decode(v.as_str().unwrap()).unwrap();
        let cases = kat.as_array().unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let seed: [u8; 32] = hex(&case["seed"]).try_into().unwrap();
            let id = PqIdentity::from_bytes(seed);
            assert_eq!(hex(&case["sk"]), seed);
            assert_eq!(&id.public().as_bytes()[..], &hex(&case["pk"])[..]);
            let eseed: [u8; 64] = hex(&case["eseed"]).try_into().unwrap();
            let (ct, ss) = encapsulate(&id.public(), &eseed);
            assert_eq!(&ct[..], &hex(&case["ct"])[..]);
            assert_eq!(&ss[..], &hex(&case["ss"])[..]);
            assert_eq!(&decapsulate(&id, &ct)[..], &hex(&case["ss"])[..]);
        }
    }
}

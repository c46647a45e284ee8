//! Witnesses, cosignatures and heartbeats (SPEC §34): the small signed
//! statements that let a reader tell a stale or rolled-back copy of a
//! series from the newest one.
//!
//! - A **witness key** is an Ed25519 key held by a host, or (2.3) a hybrid
//!   one, Ed25519 and ML-DSA-65; its key files carry their own tags
//!   ([`WITNESS_SECRET`], [`WITNESS_PUBLIC`], [`WITNESS_HYBRID_SECRET`],
//!   [`WITNESS_HYBRID_PUBLIC`]) so that an issuer key is never taken for
//!   one.
//! - A **cosignature file** is a generation's head, its issuer signatures
//!   and one or more `cosignature-ed25519` lines (and, for a hybrid
//!   witness, 2.3, a `cosignature-ml-dsa-65` line beside each): "as of this
//!   time, this is the newest generation I hold, and its keyless audit
//!   passed".
//! - A **heartbeat** is the issuer's statement "generation `s` is the
//!   newest, as of `time`, until `expires`" (TUF's timestamp role), signed
//!   with every half of the issuer's key (2.3: both of a hybrid key).
//! - A witness's **state** remembers, per series, the last generation it
//!   cosigned, so that it refuses to cosign its own storage rolled back.
//!
//! Everything here is pure (no clock: callers pass `now`), strict (one
//! spelling a meaning) and bounded before anything is kept.

use zeroize::Zeroizing;

use super::head::{self, parse_signatures, signatures_to_bytes, Head, SignatureLine, ED25519};
use crate::hex;
use crate::keys::IssuerKey;
use crate::pqsig;
use crate::time::{format_rfc3339, parse_rfc3339};
use crate::{Error, Result};

/// Tag of a witness's Ed25519 public key line.
pub const WITNESS_PUBLIC: &str = "legation-witness-ed25519-public";
/// Tag of a witness's Ed25519 secret key line.
pub const WITNESS_SECRET: &str = "legation-witness-ed25519-secret";
/// Tag of a hybrid witness's public key line (2.3): the Ed25519 key, then
/// the ML-DSA-65 key (3968 hex digits).
pub const WITNESS_HYBRID_PUBLIC: &str = "legation-witness-ed25519-mldsa65-public";
/// Tag of a hybrid witness's secret key line (2.3): the Ed25519 seed, then
/// the ML-DSA-65 seed (128 hex digits).
pub const WITNESS_HYBRID_SECRET: &str = "legation-witness-ed25519-mldsa65-secret";
/// What a cosignature signs before its time line and the head.
pub const COSIGNED_PREFIX: &[u8] = b"legation cosignature v1\n";
/// The algorithm of the cosignature lines 2.0 defines.
pub const COSIGNATURE_ED25519: &str = "cosignature-ed25519";
/// The algorithm of a hybrid witness's post-quantum lines (2.3).
pub const COSIGNATURE_ML_DSA_65: &str = "cosignature-ml-dsa-65";
/// What a heartbeat's signatures sign before its six lines.
pub const HEARTBEAT_PREFIX: &[u8] = b"legation heartbeat v2\n";
/// The first line of a heartbeat.
pub const HEARTBEAT_MAGIC: &str = "legation-heartbeat 2.0";
/// The first line of a witness's state file.
pub const STATE_MAGIC: &str = "legation-witness-state 1";
/// How far ahead of the reader's clock a statement's time may be (seconds).
pub const MAX_CLOCK_SKEW: i64 = 600;
/// At most this many bytes of cosignature lines in a file.
pub const MAX_COSIGNATURE_BYTES: usize = 1 << 20;
/// At most this many cosignature lines in a file.
pub const MAX_COSIGNATURES: usize = 64;
/// At most this many bytes a cosignature line.
pub const MAX_COSIGNATURE_LINE: usize = 128 << 10;
/// The largest cosignature file: a head, its signatures, the lines and the
/// two empty lines.
pub const MAX_COSIGNATURE_FILE: usize =
    head::MAX_HEAD + 1 + head::MAX_SIGNATURES_BYTES + 1 + MAX_COSIGNATURE_BYTES;
/// The largest heartbeat file.
pub const MAX_HEARTBEAT: usize = 64 << 10;
/// At most this many series in a witness's state.
pub const MAX_STATE_SERIES: usize = 100_000;
/// The file name a cosignature file or heartbeat is named by in errors.
const HEARTBEAT_FILE: &str = "heartbeat";
const STATE_FILE: &str = "witness state";

/// A witness's signing key: Ed25519, and (2.3) an ML-DSA-65 seed for a
/// hybrid witness. Zeroized when dropped; its `Debug` shows only the
/// public key.
pub struct WitnessKey {
    ed25519: Zeroizing<[u8; 32]>,
    ml_dsa_65: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WitnessKey(secret <redacted>, public {})",
            hex::encode(&self.public())
        )
    }
}

impl From<Zeroizing<[u8; 32]>> for WitnessKey {
    /// Takes a secret already held in a zeroizing array, without a plain copy.
    fn from(secret: Zeroizing<[u8; 32]>) -> Self {
        WitnessKey {
            ed25519: secret,
            ml_dsa_65: None,
        }
    }
}

impl WitnessKey {
    /// Draws a new witness key.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut k[..]);
        WitnessKey::from(k)
    }
    /// Draws a new hybrid witness key (2.3): Ed25519 and ML-DSA-65 seeds.
    pub fn generate_hybrid(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Self::generate(rng);
        let mut m = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut m[..]);
        k.ml_dsa_65 = Some(m);
        k
    }
    /// From raw bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        WitnessKey::from(Zeroizing::new(b))
    }
    /// From raw seeds: Ed25519's, and ML-DSA-65's for a hybrid witness.
    pub fn from_seeds(ed25519: [u8; 32], ml_dsa_65: Option<[u8; 32]>) -> Self {
        WitnessKey {
            ed25519: Zeroizing::new(ed25519),
            ml_dsa_65: ml_dsa_65.map(Zeroizing::new),
        }
    }
    /// The raw Ed25519 secret seed.
    pub fn secret(&self) -> &[u8; 32] {
        &self.ed25519
    }
    /// The ML-DSA-65 seed of a hybrid witness.
    pub fn ml_dsa_seed(&self) -> Option<&[u8; 32]> {
        self.ml_dsa_65.as_deref()
    }
    /// The matching Ed25519 public key: the witness's identity (its short
    /// id, the key its lines are counted under).
    pub fn public(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.ed25519)
            .verifying_key()
            .to_bytes()
    }
    /// The whole public key: Ed25519, and ML-DSA-65 for a hybrid witness
    /// (expanding its seed costs an ML-DSA key generation).
    pub fn public_key(&self) -> WitnessPublic {
        WitnessPublic {
            ed25519: self.public(),
            ml_dsa_65: self.ml_dsa_65.as_deref().map(pqsig::public_of),
        }
    }
    /// Parses a secret key file: `legation-witness-ed25519-secret` (64 hex
    /// digits) or, 2.3, `legation-witness-ed25519-mldsa65-secret` (128);
    /// `path` names the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        if crate::keys::key_file_tag(text) == Some(WITNESS_HYBRID_SECRET) {
            let k = crate::keys::parse_key_line::<64>(text, WITNESS_HYBRID_SECRET, path)?;
            let mut ed = Zeroizing::new([0u8; 32]);
            let mut m = Zeroizing::new([0u8; 32]);
            ed.copy_from_slice(&k[..32]);
            m.copy_from_slice(&k[32..]);
            return Ok(WitnessKey {
                ed25519: ed,
                ml_dsa_65: Some(m),
            });
        }
        crate::keys::parse_key_file(text, WITNESS_SECRET, path).map(WitnessKey::from)
    }
    /// The secret key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> Zeroizing<String> {
        match &self.ml_dsa_65 {
            None => crate::keys::format_key_file(WITNESS_SECRET, &self.ed25519, comment),
            Some(m) => {
                let mut both = Zeroizing::new([0u8; 64]);
                both[..32].copy_from_slice(&self.ed25519[..]);
                both[32..].copy_from_slice(&m[..]);
                crate::keys::format_key_file(WITNESS_HYBRID_SECRET, &both, comment)
            }
        }
    }
    /// The first 8 bytes of the public key in hex: the witness's part of
    /// its cosignature files' names.
    pub fn short_id(&self) -> String {
        short_id(&self.public())
    }
}

/// A witness's public key: Ed25519, and (2.3) ML-DSA-65 for a hybrid
/// witness, whose lines count only when both halves cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPublic {
    /// The Ed25519 key: the witness's identity.
    pub ed25519: [u8; 32],
    /// The ML-DSA-65 key of a hybrid witness (FIPS 204 `pkEncode`).
    pub ml_dsa_65: Option<Box<[u8; pqsig::PUBLIC_LEN]>>,
}

impl From<[u8; 32]> for WitnessPublic {
    /// An Ed25519 witness.
    fn from(ed25519: [u8; 32]) -> Self {
        WitnessPublic {
            ed25519,
            ml_dsa_65: None,
        }
    }
}

impl WitnessPublic {
    /// Parses a public key file: `legation-witness-ed25519-public` (64 hex
    /// digits) or, 2.3, `legation-witness-ed25519-mldsa65-public` (3968);
    /// `path` names the file in errors.
    pub fn from_key_file(text: &str, path: &str) -> Result<Self> {
        if crate::keys::key_file_tag(text) == Some(WITNESS_HYBRID_PUBLIC) {
            let k = crate::keys::parse_key_line::<{ pqsig::HYBRID_PUBLIC_LEN }>(
                text,
                WITNESS_HYBRID_PUBLIC,
                path,
            )?;
            let mut ed = [0u8; 32];
            ed.copy_from_slice(&k[..32]);
            let mut m = Box::new([0u8; pqsig::PUBLIC_LEN]);
            m.copy_from_slice(&k[32..]);
            return Ok(WitnessPublic {
                ed25519: ed,
                ml_dsa_65: Some(m),
            });
        }
        let k = crate::keys::parse_key_file(text, WITNESS_PUBLIC, path)?;
        Ok(WitnessPublic::from(*k))
    }

    /// The public key file: a comment line and the key line.
    pub fn to_key_file(&self, comment: &str) -> String {
        match &self.ml_dsa_65 {
            None => {
                crate::keys::format_key_file(WITNESS_PUBLIC, &self.ed25519, comment).to_string()
            }
            Some(m) => {
                let mut both = Zeroizing::new([0u8; pqsig::HYBRID_PUBLIC_LEN]);
                both[..32].copy_from_slice(&self.ed25519);
                both[32..].copy_from_slice(&m[..]);
                crate::keys::format_key_file(WITNESS_HYBRID_PUBLIC, &both, comment).to_string()
            }
        }
    }

    /// `ed25519`, or `ed25519+ml-dsa-65` for a hybrid witness.
    pub fn algorithms(&self) -> &'static str {
        if self.ml_dsa_65.is_some() {
            "ed25519+ml-dsa-65"
        } else {
            ED25519
        }
    }
}

/// The first 8 bytes of a witness public key in hex (16 digits).
pub fn short_id(public: &[u8; 32]) -> String {
    hex::encode(&public[..8])
}

/// What a cosignature by a witness at `time` signs:
/// [`COSIGNED_PREFIX`], `time <decimal>`, a line feed, the head's bytes.
pub fn cosigned_message(head: &[u8], time: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(COSIGNED_PREFIX.len() + 26 + head.len());
    m.extend_from_slice(COSIGNED_PREFIX);
    m.extend_from_slice(format!("time {time}\n").as_bytes());
    m.extend_from_slice(head);
    m
}

/// One cosignature line: `<algorithm> <public key hex> <time> <signature hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureLine {
    /// The algorithm (`cosignature-ed25519`; others are kept, not checked).
    pub algorithm: String,
    /// The witness's public key.
    pub public_key: Vec<u8>,
    /// When the witness cosigned, seconds since 1970 (below 2^63).
    pub time: u64,
    /// The signature.
    pub signature: Vec<u8>,
}

impl CosignatureLine {
    /// The witness key of an `ed25519` line.
    pub fn ed25519_key(&self) -> Option<[u8; 32]> {
        (self.algorithm == COSIGNATURE_ED25519)
            .then(|| self.public_key.as_slice().try_into().ok())
            .flatten()
    }

    /// Verifies the line over a head: `Some(true)` or `Some(false)`, `None`
    /// for an algorithm this reader does not know. Strict Ed25519 as the
    /// head's signatures; (2.3) ML-DSA-65 as a head's `ml-dsa-65` lines.
    pub fn verify(&self, head: &[u8]) -> Option<bool> {
        if self.algorithm == COSIGNATURE_ML_DSA_65 {
            return Some(pqsig::verify_ml_dsa(
                &self.public_key,
                &self.signature,
                &cosigned_message(head, self.time),
            ));
        }
        let key = self.ed25519_key()?;
        let Ok(sig) = <[u8; 64]>::try_from(self.signature.as_slice()) else {
            return Some(false);
        };
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
            return Some(false);
        };
        Some(
            key.verify_strict(
                &cosigned_message(head, self.time),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_ok(),
        )
    }
}

/// Cosigns a head's bytes with a witness key at `time`.
pub fn cosign(key: &WitnessKey, head: &[u8], time: u64) -> CosignatureLine {
    use ed25519_dalek::Signer;
    let k = ed25519_dalek::SigningKey::from_bytes(key.secret());
    CosignatureLine {
        algorithm: COSIGNATURE_ED25519.into(),
        public_key: k.verifying_key().to_bytes().to_vec(),
        time,
        signature: k.sign(&cosigned_message(head, time)).to_bytes().to_vec(),
    }
}

/// Cosigns a head's bytes with every half of a witness key at `time`: a
/// `cosignature-ed25519` line, and (2.3) a `cosignature-ml-dsa-65` line of
/// the same time for a hybrid witness.
pub fn cosign_all(key: &WitnessKey, head: &[u8], time: u64) -> Result<Vec<CosignatureLine>> {
    let mut lines = vec![cosign(key, head, time)];
    if let Some(seed) = key.ml_dsa_seed() {
        lines.push(CosignatureLine {
            algorithm: COSIGNATURE_ML_DSA_65.into(),
            public_key: pqsig::public_of(seed).to_vec(),
            time,
            signature: pqsig::sign_ml_dsa(seed, &cosigned_message(head, time))?,
        });
    }
    Ok(lines)
}

/// A cosignature file: the cosigned head, its issuer signatures, and the
/// witnesses' lines (SPEC §34.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignatures {
    /// The head's bytes, exactly as stored in the generation file.
    pub head_bytes: Vec<u8>,
    /// The head, parsed.
    pub head: Head,
    /// The generation's `signatures` bytes, exactly as stored.
    pub signatures_bytes: Vec<u8>,
    /// Those signatures, parsed.
    pub signatures: Vec<SignatureLine>,
    /// The cosignature lines, sorted by algorithm then key, one a key.
    pub lines: Vec<CosignatureLine>,
}

/// Why a cosignature file or heartbeat does not count (the checks of
/// SPEC §34.3 and §34.4, after parsing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// No signature over the head (or heartbeat) verifies from a trusted
    /// issuer key.
    #[error("{file}: not signed by a trusted issuer")]
    NotIssuerSigned {
        /// The file.
        file: String,
    },
    /// A line from a trusted key does not verify: the file was tampered
    /// with, or forged.
    #[error("{file}: the signature of {key} does not verify (tampered with or forged)")]
    BadSignature {
        /// The file.
        file: String,
        /// The key's fingerprint.
        key: String,
    },
    /// (2.3) A hybrid witness's cosignature with one half missing, or its
    /// two halves dated differently: stripped or forged.
    #[error(
        "{file}: the cosignature of hybrid witness {key} lacks its {missing} line (stripped or forged)"
    )]
    HalfMissing {
        /// The file.
        file: String,
        /// The witness's fingerprint.
        key: String,
        /// `ML-DSA-65` or `Ed25519`.
        missing: &'static str,
    },
    /// A statement dated more than [`MAX_CLOCK_SKEW`] after the reader's
    /// clock.
    #[error("{file}: dated {time}, more than 10 minutes after this clock ({now})")]
    InFuture {
        /// The file.
        file: String,
        /// The statement's time.
        time: String,
        /// The reader's clock.
        now: String,
    },
    /// A heartbeat whose `expires` has passed.
    #[error("{file}: expired at {expires} (now {now})")]
    Expired {
        /// The file.
        file: String,
        /// The heartbeat's `expires`.
        expires: String,
        /// The reader's clock.
        now: String,
    },
}

/// A verified cosignature: which witness cosigned, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cosigned {
    /// The witness's public key.
    pub witness: [u8; 32],
    /// When it cosigned, seconds since 1970.
    pub time: i64,
}

impl Cosignatures {
    /// A cosignature file for a generation's stored head and signatures,
    /// with no line yet.
    pub fn new(head_bytes: &[u8], signatures_bytes: &[u8]) -> Result<Self> {
        Ok(Cosignatures {
            head: Head::parse(head_bytes)?,
            head_bytes: head_bytes.to_vec(),
            signatures: parse_signatures(signatures_bytes)?,
            signatures_bytes: signatures_bytes.to_vec(),
            lines: Vec::new(),
        })
    }

    /// The generation's chain hash (SPEC §27.3).
    pub fn chain(&self) -> [u8; 32] {
        head::chain_hash(&self.head_bytes, &self.signatures_bytes)
    }

    /// Adds a line, replacing an older line of the same key (a line with
    /// the same key and an equal or later time is kept instead).
    pub fn add(&mut self, line: CosignatureLine) {
        let key = (line.algorithm.as_str(), line.public_key.as_slice());
        match self
            .lines
            .binary_search_by(|l| (l.algorithm.as_str(), l.public_key.as_slice()).cmp(&key))
        {
            Ok(i) if self.lines[i].time < line.time => self.lines[i] = line,
            Ok(_) => {}
            Err(i) => self.lines.insert(i, line),
        }
    }

    /// The file's bytes: head, an empty line, signatures, an empty line,
    /// the cosignature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head_bytes.clone();
        out.push(b'\n');
        out.extend_from_slice(&signatures_to_bytes(&self.signatures));
        out.push(b'\n');
        for l in &self.lines {
            out.extend_from_slice(
                format!(
                    "{} {} {} {}\n",
                    l.algorithm,
                    hex::encode(&l.public_key),
                    l.time,
                    hex::encode(&l.signature)
                )
                .as_bytes(),
            );
        }
        out
    }

    /// Parses a cosignature file, refusing any byte [`Cosignatures::to_bytes`]
    /// would not have written. `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self> {
        let bad = |what: String| Error::invalid(file, what);
        if bytes.len() > MAX_COSIGNATURE_FILE {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_COSIGNATURE_FILE} a cosignature file may have",
                bytes.len()
            )));
        }
        // The head is ten lines; then an empty line.
        let mut at = 0;
        for _ in 0..10 {
            match bytes[at..].iter().position(|&b| b == b'\n') {
                Some(n) => at += n + 1,
                None => return Err(bad("ends inside the head".into())),
            }
        }
        let head_bytes = &bytes[..at];
        let head = Head::parse(head_bytes).map_err(|e| rename(e, file, "the head"))?;
        let rest = bytes[at..]
            .strip_prefix(b"\n")
            .ok_or_else(|| bad("no empty line after the head's ten lines".into()))?;
        // Signature lines are never empty, so the first empty line ends them.
        let (sigs, lines) = if let Some(r) = rest.strip_prefix(b"\n") {
            (&rest[..0], r)
        } else {
            let end = rest
                .windows(2)
                .position(|w| w == b"\n\n")
                .ok_or_else(|| bad("no empty line after the signatures".into()))?;
            (&rest[..end + 1], &rest[end + 2..])
        };
        let signatures = parse_signatures(sigs).map_err(|e| rename(e, file, "the signatures"))?;
        if signatures_to_bytes(&signatures) != sigs {
            return Err(bad("the signatures are not in their one spelling".into()));
        }
        let lines = parse_lines(lines, file)?;
        Ok(Cosignatures {
            head_bytes: head_bytes.to_vec(),
            head,
            signatures_bytes: sigs.to_vec(),
            signatures,
            lines,
        })
    }

    /// Checks the file as a reader at `now` must (SPEC §34.2): the head's
    /// verified signatures meet one of the pins `issuers` (an Ed25519 key,
    /// or a hybrid issuer's id met only by both halves, §27.4); every line
    /// from one of `witnesses` (Ed25519 witnesses) verifies and is not
    /// dated more than [`MAX_CLOCK_SKEW`] after `now`. Returns those
    /// witnesses' cosignatures; lines of other keys and of unknown
    /// algorithms are skipped.
    pub fn check(
        &self,
        issuers: &[[u8; 32]],
        witnesses: &[[u8; 32]],
        now: i64,
        file: &str,
    ) -> std::result::Result<Vec<Cosigned>, WitnessError> {
        let witnesses: Vec<WitnessPublic> = witnesses.iter().copied().map(Into::into).collect();
        self.check_keys(issuers, &witnesses, now, file)
    }

    /// [`Cosignatures::check`] with witness keys of either kind (2.3): a
    /// hybrid witness counts only when its `cosignature-ed25519` and
    /// `cosignature-ml-dsa-65` lines are both present, both verify and
    /// carry one time; one without the other is refused
    /// ([`WitnessError::HalfMissing`]).
    pub fn check_keys(
        &self,
        issuers: &[[u8; 32]],
        witnesses: &[WitnessPublic],
        now: i64,
        file: &str,
    ) -> std::result::Result<Vec<Cosigned>, WitnessError> {
        if !issuer_signed(&self.signatures, issuers, |l| {
            head::verify(l, &self.head_bytes)
        }) {
            return Err(WitnessError::NotIssuerSigned { file: file.into() });
        }
        let line_of = |algorithm: &str, key: &[u8]| {
            self.lines
                .iter()
                .find(|l| l.algorithm == algorithm && l.public_key == key)
        };
        let mut out = Vec::new();
        for w in witnesses {
            let key = w.ed25519;
            let fp = || crate::crypto::fingerprint(&key);
            let ed = line_of(COSIGNATURE_ED25519, &key);
            let ml = w
                .ml_dsa_65
                .as_ref()
                .map(|m| line_of(COSIGNATURE_ML_DSA_65, &m[..]));
            let l = match (ed, ml) {
                (None, None | Some(None)) => continue,
                (Some(l), None | Some(Some(_))) => l,
                (None, Some(Some(_))) | (Some(_), Some(None)) => {
                    return Err(WitnessError::HalfMissing {
                        file: file.into(),
                        key: fp(),
                        missing: if ed.is_none() { "Ed25519" } else { "ML-DSA-65" },
                    })
                }
            };
            let halves = std::iter::once(l).chain(ml.flatten());
            for h in halves {
                if h.verify(&self.head_bytes) != Some(true) || h.time != l.time {
                    return Err(WitnessError::BadSignature {
                        file: file.into(),
                        key: fp(),
                    });
                }
            }
            // Below 2^63 by parsing.
            let time = l.time as i64;
            if time > now.saturating_add(MAX_CLOCK_SKEW) {
                return Err(WitnessError::InFuture {
                    file: file.into(),
                    time: format_rfc3339(time),
                    now: format_rfc3339(now),
                });
            }
            out.push(Cosigned { witness: key, time });
        }
        Ok(out)
    }
}

/// Whether the lines that verify (by `verify`) meet one of the pins
/// `issuers` (SPEC §27.4's rule: an Ed25519 pin by its key's line, a
/// hybrid issuer's id by an `ed25519` line and an `ml-dsa-65` line whose
/// pair has that id, never by the Ed25519 half alone). Only lines whose
/// key could meet a pin are verified.
fn issuer_signed(
    lines: &[SignatureLine],
    issuers: &[[u8; 32]],
    verify: impl Fn(&SignatureLine) -> Option<bool>,
) -> bool {
    let ed: Vec<&SignatureLine> = lines.iter().filter(|l| l.algorithm == ED25519).collect();
    let ml: Vec<&SignatureLine> = lines
        .iter()
        .filter(|l| l.algorithm == pqsig::ML_DSA_65)
        .collect();
    issuers.iter().any(|pin| {
        ed.iter().any(|e| {
            let Ok(ek) = <&[u8; 32]>::try_from(e.public_key.as_slice()) else {
                return false;
            };
            if ek == pin {
                return verify(e) == Some(true);
            }
            ml.iter().any(|m| {
                pqsig::hybrid_id(ek, &m.public_key) == *pin
                    && verify(e) == Some(true)
                    && verify(m) == Some(true)
            })
        })
    })
}

/// A format error of a part (the head, the signatures) as an error of
/// the file holding it.
fn rename(e: Error, file: &str, part: &str) -> Error {
    match e {
        Error::Invalid { what, .. } => Error::invalid(file, format!("{part}: {what}")),
        other => other,
    }
}

/// Parses the cosignature lines: sorted by algorithm then key, one a key,
/// bounded as `signatures`.
fn parse_lines(bytes: &[u8], file: &str) -> Result<Vec<CosignatureLine>> {
    let bad = |what: String| Error::invalid(file, what);
    if bytes.len() > MAX_COSIGNATURE_BYTES {
        return Err(bad(format!(
            "{} bytes of cosignature lines, more than {MAX_COSIGNATURE_BYTES}",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let body = bytes
        .strip_suffix(b"\n")
        .ok_or_else(|| bad("does not end with a line feed".into()))?;
    let mut out: Vec<CosignatureLine> = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if n > MAX_COSIGNATURES {
            return Err(bad(format!(
                "more than {MAX_COSIGNATURES} cosignature lines"
            )));
        }
        if line.len() > MAX_COSIGNATURE_LINE {
            return Err(bad(format!(
                "cosignature line {n}: {} bytes, more than {MAX_COSIGNATURE_LINE}",
                line.len()
            )));
        }
        let text = std::str::from_utf8(line)
            .ok()
            .filter(|t| t.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .ok_or_else(|| bad(format!("cosignature line {n} is not printable ASCII")))?;
        let f: Vec<&str> = text.split(' ').collect();
        let [algorithm, key, time, sig] = f[..] else {
            return Err(bad(format!(
                "cosignature line {n} is not `<algorithm> <public key hex> <time> <signature hex>`"
            )));
        };
        let name_ok = algorithm.strip_prefix("cosignature-").is_some_and(|a| {
            !a.is_empty()
                && a.len() <= 32
                && a.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if !name_ok {
            return Err(bad(format!(
                "cosignature line {n}: the algorithm is not `cosignature-` and 1 to 32 of a-z, 0-9, -"
            )));
        }
        let time = head::decimal(time)
            .filter(|&t| t < 1 << 63)
            .ok_or_else(|| {
                bad(format!(
                    "cosignature line {n}: the time is not a decimal number below 2^63 without \
                     leading zeros"
                ))
            })?;
        let field = |v: &str, what: &str| -> Result<Vec<u8>> {
            hex::decode(v).filter(|b| !b.is_empty()).ok_or_else(|| {
                bad(format!(
                    "cosignature line {n}: the {what} is not lower-case hex"
                ))
            })
        };
        let l = CosignatureLine {
            algorithm: algorithm.into(),
            public_key: field(key, "public key")?,
            time,
            signature: field(sig, "signature")?,
        };
        if l.algorithm == COSIGNATURE_ML_DSA_65
            && (l.public_key.len() != pqsig::PUBLIC_LEN
                || l.signature.len() != pqsig::SIGNATURE_LEN)
        {
            return Err(bad(format!(
                "cosignature line {n}: an ml-dsa-65 line has a {}-byte key and a {}-byte \
                 signature, not {} and {}",
                pqsig::PUBLIC_LEN,
                pqsig::SIGNATURE_LEN,
                l.public_key.len(),
                l.signature.len()
            )));
        }
        if l.algorithm == COSIGNATURE_ED25519
            && (l.public_key.len() != 32 || l.signature.len() != 64)
        {
            return Err(bad(format!(
                "cosignature line {n}: an ed25519 line has a 32-byte key and a 64-byte \
                 signature, not {} and {}",
                l.public_key.len(),
                l.signature.len()
            )));
        }
        if let Some(prev) = out.last() {
            if (prev.algorithm.as_str(), &prev.public_key) >= (l.algorithm.as_str(), &l.public_key)
            {
                return Err(bad(format!(
                    "cosignature line {n} is not after line {} (sorted by algorithm then key, one \
                     line a key)",
                    n - 1
                )));
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// The issuer's heartbeat: generation `sequence` (chain hash `chain`) of
/// series `archive_id` is the newest as of `time`, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The series (archive id).
    pub archive_id: [u8; 16],
    /// The newest generation's sequence.
    pub sequence: u64,
    /// Its chain hash.
    pub chain: [u8; 32],
    /// When the statement was made, seconds since 1970.
    pub time: i64,
    /// Until when it holds; after `time`.
    pub expires: i64,
    /// The issuer signatures over [`HEARTBEAT_PREFIX`] and the six lines.
    pub signatures: Vec<SignatureLine>,
}

impl Heartbeat {
    /// The six signed lines.
    pub fn body(&self) -> Vec<u8> {
        format!(
            "{HEARTBEAT_MAGIC}\narchive {}\nsequence {}\nchain {}\ntime {}\nexpires {}\n",
            hex::encode(&self.archive_id),
            self.sequence,
            hex::encode(&self.chain),
            format_rfc3339(self.time),
            format_rfc3339(self.expires),
        )
        .into_bytes()
    }

    /// What each signature signs.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut m = HEARTBEAT_PREFIX.to_vec();
        m.extend_from_slice(&self.body());
        m
    }

    /// Adds the issuer's signatures, one line a half of its key (2.3: an
    /// `ed25519` and an `ml-dsa-65` line for a hybrid key), replacing any
    /// line of the same algorithm and key.
    pub fn sign(&mut self, issuer: &IssuerKey) -> Result<()> {
        for line in pqsig::sign(issuer, &self.signed_message())? {
            self.signatures
                .retain(|l| (&l.algorithm, &l.public_key) != (&line.algorithm, &line.public_key));
            self.signatures.push(line);
        }
        self.signatures
            .sort_by(|a, b| (&a.algorithm, &a.public_key).cmp(&(&b.algorithm, &b.public_key)));
        Ok(())
    }

    /// The file: the six lines, an empty line, the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.push(b'\n');
        out.extend_from_slice(&signatures_to_bytes(&self.signatures));
        out
    }

    /// Parses a heartbeat, refusing any byte [`Heartbeat::to_bytes`] would
    /// not have written.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |what: String| Error::invalid(HEARTBEAT_FILE, what);
        if bytes.len() > MAX_HEARTBEAT {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_HEARTBEAT} a heartbeat may have",
                bytes.len()
            )));
        }
        let end = bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| bad("no empty line after the six lines".into()))?;
        let body = std::str::from_utf8(&bytes[..end])
            .ok()
            .filter(|t| t.bytes().all(|b| b == b'\n' || (0x20..0x7f).contains(&b)))
            .ok_or_else(|| bad("not printable ASCII".into()))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(HEARTBEAT_MAGIC) {
            return Err(bad(format!("line 1 is not `{HEARTBEAT_MAGIC}`")));
        }
        let keys = ["archive", "sequence", "chain", "time", "expires"];
        let mut v = [""; 5];
        for (i, key) in keys.iter().enumerate() {
            v[i] = lines
                .next()
                .and_then(|l| l.strip_prefix(key))
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| bad(format!("line {} is not `{key} …`", i + 2)))?;
        }
        if lines.next().is_some() {
            return Err(bad("a line after `expires`: 2.0 defines none".into()));
        }
        let time = |i: usize| {
            parse_rfc3339(v[i]).ok_or_else(|| {
                bad(format!(
                    "{} is not a UTC time YYYY-MM-DDTHH:MM:SSZ",
                    keys[i]
                ))
            })
        };
        let sigs = &bytes[end + 2..];
        let signatures =
            parse_signatures(sigs).map_err(|e| rename(e, HEARTBEAT_FILE, "signatures"))?;
        let hb = Heartbeat {
            archive_id: hex::decode_array(v[0])
                .ok_or_else(|| bad("archive is not 32 lower-case hex digits".into()))?,
            sequence: head::decimal(v[1]).ok_or_else(|| {
                bad("sequence is not a decimal number without leading zeros".into())
            })?,
            chain: hex::decode_array(v[2])
                .ok_or_else(|| bad("chain is not 64 lower-case hex digits".into()))?,
            time: time(3)?,
            expires: time(4)?,
            signatures,
        };
        if hb.expires <= hb.time {
            return Err(bad("expires is not after time".into()));
        }
        if hb.to_bytes() != bytes {
            return Err(bad("not in its one spelling".into()));
        }
        Ok(hb)
    }

    /// Checks the heartbeat as a reader at `now` must (SPEC §34.4): its
    /// verified signatures meet one of the pins `issuers` (a hybrid
    /// issuer's id needs both halves, 2.3), `time` not more than
    /// [`MAX_CLOCK_SKEW`] ahead, `expires` not passed.
    pub fn check(&self, issuers: &[[u8; 32]], now: i64) -> std::result::Result<(), WitnessError> {
        let file = HEARTBEAT_FILE.to_string();
        let message = self.signed_message();
        let signed = issuer_signed(&self.signatures, issuers, |l| {
            pqsig::verify_line(l, &message)
        });
        if !signed {
            return Err(WitnessError::NotIssuerSigned { file });
        }
        if self.time > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(WitnessError::InFuture {
                file,
                time: format_rfc3339(self.time),
                now: format_rfc3339(now),
            });
        }
        if self.expires <= now {
            return Err(WitnessError::Expired {
                file,
                expires: format_rfc3339(self.expires),
                now: format_rfc3339(now),
            });
        }
        Ok(())
    }
}

/// What a witness remembers of one series: the last generation it
/// cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The series.
    pub archive_id: [u8; 16],
    /// The generation last cosigned.
    pub sequence: u64,
    /// Its chain hash.
    pub chain: [u8; 32],
    /// Its head's `created`.
    pub created: i64,
    /// When the witness cosigned it.
    pub time: i64,
}

/// A witness's state: one [`Held`] a series, sorted by archive id
/// (SPEC §34.5). Written whole, atomically, before each cosignature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessState {
    /// The series, sorted by archive id, one each.
    pub series: Vec<Held>,
    /// The issuer keys it saw revoked (SPEC §37.5), sorted by series then
    /// key, one each.
    pub revoked: Vec<RevokedKey>,
}

/// An issuer key a witness saw revoked for a series (format 2.2): it
/// cosigns no generation after `last` that the key signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedKey {
    /// The series.
    pub archive_id: [u8; 16],
    /// The revoked key (Ed25519).
    pub key: [u8; 32],
    /// The last generation it signed legitimately.
    pub last: u64,
    /// When the witness learnt it.
    pub time: i64,
}

impl WitnessState {
    /// What the state holds for a series.
    pub fn get(&self, archive_id: &[u8; 16]) -> Option<&Held> {
        self.series
            .binary_search_by(|h| h.archive_id.cmp(archive_id))
            .ok()
            .map(|i| &self.series[i])
    }

    /// Records a series' newest cosigned generation.
    pub fn set(&mut self, held: Held) {
        match self
            .series
            .binary_search_by(|h| h.archive_id.cmp(&held.archive_id))
        {
            Ok(i) => self.series[i] = held,
            Err(i) => self.series.insert(i, held),
        }
    }

    /// Records a revocation; of two for one key the lower `last` stays.
    /// Returns whether the state changed.
    pub fn revoke(&mut self, r: RevokedKey) -> bool {
        let at = (r.archive_id, r.key);
        match self
            .revoked
            .binary_search_by(|k| (k.archive_id, k.key).cmp(&at))
        {
            Ok(i) if self.revoked[i].last <= r.last => false,
            Ok(i) => {
                self.revoked[i] = r;
                true
            }
            Err(i) => {
                self.revoked.insert(i, r);
                true
            }
        }
    }

    /// Refuses a generation that a key this witness saw revoked signed
    /// after its last legitimate generation (SPEC §37.5).
    pub fn check_signers(
        &self,
        head: &Head,
        signers: &[[u8; 32]],
    ) -> std::result::Result<(), Refusal> {
        for k in signers {
            let at = (head.archive_id, *k);
            let Ok(i) = self
                .revoked
                .binary_search_by(|r| (r.archive_id, r.key).cmp(&at))
            else {
                continue;
            };
            let r = &self.revoked[i];
            if head.sequence > r.last {
                return Err(Refusal::Revoked {
                    archive: hex::encode(&head.archive_id),
                    sequence: head.sequence,
                    key: crate::crypto::fingerprint(k),
                    last: r.last,
                    time: format_rfc3339(r.time),
                });
            }
        }
        Ok(())
    }

    /// Forgets a series (`witness --reset`); what it saw revoked stays.
    pub fn remove(&mut self, archive_id: &[u8; 16]) -> bool {
        let before = self.series.len();
        self.series.retain(|h| &h.archive_id != archive_id);
        self.series.len() != before
    }

    /// The file: [`STATE_MAGIC`], then one line a series:
    /// `<archive> <sequence> <chain> <created> <time>`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{STATE_MAGIC}\n").into_bytes();
        for h in &self.series {
            out.extend_from_slice(
                format!(
                    "{} {} {} {} {}\n",
                    hex::encode(&h.archive_id),
                    h.sequence,
                    hex::encode(&h.chain),
                    format_rfc3339(h.created),
                    format_rfc3339(h.time)
                )
                .as_bytes(),
            );
        }
        for r in &self.revoked {
            out.extend_from_slice(
                format!(
                    "revoked {} {} {} {}\n",
                    hex::encode(&r.archive_id),
                    hex::encode(&r.key),
                    r.last,
                    format_rfc3339(r.time)
                )
                .as_bytes(),
            );
        }
        out
    }

    /// Parses a state file strictly; at most [`MAX_STATE_SERIES`] series
    /// and as many revoked keys.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |what: String| Error::invalid(STATE_FILE, what);
        // A series line is under 160 bytes, a revoked key's under 160.
        let max = STATE_MAGIC.len() + 1 + MAX_STATE_SERIES * 320;
        if bytes.len() > max {
            return Err(bad(format!("{} bytes, more than {max}", bytes.len())));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("does not end with a line feed".into()))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(STATE_MAGIC) {
            return Err(bad(format!("line 1 is not `{STATE_MAGIC}`")));
        }
        let mut state = WitnessState::default();
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let f: Vec<&str> = line.split(' ').collect();
            if let ["revoked", a, k, l, t] = f[..] {
                let r = RevokedKey {
                    archive_id: hex::decode_array(a).ok_or_else(|| {
                        bad(format!("line {n}: the archive id is not 32 hex digits"))
                    })?,
                    key: hex::decode_array(k)
                        .ok_or_else(|| bad(format!("line {n}: the key is not 64 hex digits")))?,
                    last: head::decimal(l)
                        .ok_or_else(|| bad(format!("line {n}: last is not a number")))?,
                    time: parse_rfc3339(t)
                        .ok_or_else(|| bad(format!("line {n}: the time is not a UTC time")))?,
                };
                if state
                    .revoked
                    .last()
                    .is_some_and(|p| (p.archive_id, p.key) >= (r.archive_id, r.key))
                    || state.revoked.len() >= MAX_STATE_SERIES
                {
                    return Err(bad(format!(
                        "line {n} is not after line {} (revoked keys sorted by series then key, \
                         one line a key, after the series)",
                        n - 1
                    )));
                }
                state.revoked.push(r);
                continue;
            }
            if !state.revoked.is_empty() {
                return Err(bad(format!("line {n}: a series after the revoked keys")));
            }
            let [a, s, c, cr, t] = f[..] else {
                return Err(bad(format!(
                    "line {n} is not `<archive> <sequence> <chain> <created> <time>`"
                )));
            };
            let held = Held {
                archive_id: hex::decode_array(a)
                    .ok_or_else(|| bad(format!("line {n}: the archive id is not 32 hex digits")))?,
                sequence: head::decimal(s)
                    .ok_or_else(|| bad(format!("line {n}: the sequence is not a number")))?,
                chain: hex::decode_array(c)
                    .ok_or_else(|| bad(format!("line {n}: the chain hash is not 64 hex digits")))?,
                created: parse_rfc3339(cr)
                    .ok_or_else(|| bad(format!("line {n}: created is not a UTC time")))?,
                time: parse_rfc3339(t)
                    .ok_or_else(|| bad(format!("line {n}: the time is not a UTC time")))?,
            };
            if state
                .series
                .last()
                .is_some_and(|p| p.archive_id >= held.archive_id)
            {
                return Err(bad(format!(
                    "line {n} is not after line {} (sorted by archive id, one line a series)",
                    n - 1
                )));
            }
            state.series.push(held);
        }
        Ok(state)
    }
}

/// Why a witness refuses to cosign (SPEC §34.5), from its state and the
/// head it is shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The copy holds an older generation than the witness cosigned: its
    /// own storage was rolled back.
    #[error(
        "this copy holds generation {held} of series {archive}, but this witness cosigned \
         generation {cosigned} at {time}: the copy was rolled back"
    )]
    Rollback {
        /// The series.
        archive: String,
        /// The generation the copy holds.
        held: u64,
        /// The generation the witness cosigned.
        cosigned: u64,
        /// When it cosigned it.
        time: String,
    },
    /// The copy holds another generation with the sequence the witness
    /// cosigned: a fork.
    #[error(
        "this copy holds a generation {sequence} of series {archive} other than the one this \
         witness cosigned (chain {cosigned}, here {found}): a fork"
    )]
    Fork {
        /// The series.
        archive: String,
        /// The sequence.
        sequence: u64,
        /// The chain hash cosigned.
        cosigned: String,
        /// The chain hash found.
        found: String,
    },
    /// The witness cannot link the generation it holds to the one it
    /// cosigned last.
    #[error(
        "generation {sequence} of series {archive} does not follow generation {cosigned} that \
         this witness cosigned: {why}"
    )]
    Unlinked {
        /// The series.
        archive: String,
        /// The generation shown.
        sequence: u64,
        /// The generation last cosigned.
        cosigned: u64,
        /// What is missing or wrong.
        why: String,
    },
    /// The generation is signed by an issuer key this witness saw revoked
    /// before it (format 2.2, SPEC §37.5).
    #[error(
        "REVOKED: generation {sequence} of series {archive} is signed by issuer {key}, which this \
         witness saw revoked after generation {last} (at {time})"
    )]
    Revoked {
        /// The series.
        archive: String,
        /// The generation.
        sequence: u64,
        /// The key's fingerprint.
        key: String,
        /// The last generation it signed legitimately.
        last: u64,
        /// When the witness learnt of the revocation.
        time: String,
    },
    /// The head's `created` is ahead of the witness's clock, or before
    /// the generation it cosigned last.
    #[error("generation {sequence} of series {archive}: {why}")]
    BadTime {
        /// The series.
        archive: String,
        /// The generation.
        sequence: u64,
        /// What is wrong.
        why: String,
    },
}

impl WitnessState {
    /// Decides whether a witness may cosign `head` (chain hash `chain`)
    /// at `now` (SPEC §34.5 rules 3 and 4). `chain_to` gives the heads of
    /// the generations between the last cosigned one and `head`, as
    /// `previous` links: called with a sequence, it returns that
    /// generation's (`previous`, chain hash) if the witness has its file.
    pub fn admit(
        &self,
        head: &Head,
        chain: &[u8; 32],
        now: i64,
        mut chain_to: impl FnMut(u64) -> Option<([u8; 32], [u8; 32])>,
    ) -> std::result::Result<(), Refusal> {
        let archive = hex::encode(&head.archive_id);
        if head.created > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(Refusal::BadTime {
                archive,
                sequence: head.sequence,
                why: format!(
                    "created {}, more than 10 minutes after this clock ({})",
                    format_rfc3339(head.created),
                    format_rfc3339(now)
                ),
            });
        }
        let Some(held) = self.get(&head.archive_id) else {
            return Ok(());
        };
        if head.sequence < held.sequence {
            return Err(Refusal::Rollback {
                archive,
                held: head.sequence,
                cosigned: held.sequence,
                time: format_rfc3339(held.time),
            });
        }
        if head.sequence == held.sequence {
            if chain != &held.chain {
                return Err(Refusal::Fork {
                    archive,
                    sequence: head.sequence,
                    cosigned: hex::encode(&held.chain),
                    found: hex::encode(chain),
                });
            }
            return Ok(());
        }
        if head.created < held.created {
            return Err(Refusal::BadTime {
                archive,
                sequence: head.sequence,
                why: format!(
                    "created {}, before generation {} ({}) that this witness cosigned",
                    format_rfc3339(head.created),
                    held.sequence,
                    format_rfc3339(held.created)
                ),
            });
        }
        // Walk back from the head shown to the generation held.
        let mut want = head.previous;
        for s in (held.sequence + 1..head.sequence).rev() {
            let Some((previous, c)) = chain_to(s) else {
                return Err(Refusal::Unlinked {
                    archive,
                    sequence: head.sequence,
                    cosigned: held.sequence,
                    why: format!(
                        "generation {s} is not present (`--reset` trusts it as a first sight)"
                    ),
                });
            };
            if c != want {
                return Err(Refusal::Unlinked {
                    archive,
                    sequence: head.sequence,
                    cosigned: held.sequence,
                    why: format!(
                        "generation {s} present is not the one generation {} names",
                        s + 1
                    ),
                });
            }
            want = previous;
        }
        if want != held.chain {
            return Err(Refusal::Unlinked {
                archive,
                sequence: head.sequence,
                cosigned: held.sequence,
                why: format!(
                    "the chain leads to another generation {} than the one cosigned (a fork)",
                    held.sequence
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> IssuerKey {
        IssuerKey::from_bytes([1; 32])
    }

    fn witness(n: u8) -> WitnessKey {
        WitnessKey::from_bytes([n; 32])
    }

    fn head(sequence: u64, previous: [u8; 32]) -> Head {
        Head {
            archive_id: [7; 16],
            sequence,
            previous,
            created: 1_800_000_000 + sequence as i64 * 86_400,
            records: 10,
            bytes: 100,
            records_root: [0x11; 32],
            entries: [0x22; 32],
            public: [0x33; 32],
        }
    }

    fn generation(sequence: u64, previous: [u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let h = head(sequence, previous).to_bytes();
        let s = signatures_to_bytes(&[head::sign(&issuer(), &h)]);
        (h, s)
    }

    const NOW: i64 = 1_801_000_000;

    #[test]
    fn cosignature_files_round_trip_and_check() {
        let (h, s) = generation(1, [9; 32]);
        let mut c = Cosignatures::new(&h, &s).unwrap();
        c.add(cosign(&witness(2), &h, NOW as u64 - 10));
        c.add(cosign(&witness(3), &h, NOW as u64 - 20));
        // An older line of a key already there is not kept; a newer one is.
        c.add(cosign(&witness(2), &h, NOW as u64 - 100));
        assert_eq!(c.lines.len(), 2);
        c.add(cosign(&witness(3), &h, NOW as u64 - 5));
        let bytes = c.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("legation-head 2.0\n"));
        assert!(text.contains(
            "public 3333333333333333333333333333333333333333333333333333333333333333\n\ned25519 "
        ));
        let p = Cosignatures::parse(&bytes, "w.cosig").unwrap();
        assert_eq!(p, c);
        assert_eq!(p.to_bytes(), bytes);
        assert_eq!(p.chain(), head::chain_hash(&h, &s));
        let keys = [witness(2).public(), witness(3).public()];
        let got = p.check(&[issuer().public()], &keys, NOW, "w").unwrap();
        assert_eq!(got.len(), 2);
        assert!(got
            .iter()
            .any(|g| g.witness == keys[1] && g.time == NOW - 5));
        // Only the witnesses asked for count.
        assert_eq!(
            p.check(&[issuer().public()], &keys[..1], NOW, "w")
                .unwrap()
                .len(),
            1
        );
        // Another issuer: the head is not vouched for.
        assert!(matches!(
            p.check(&[[5; 32]], &keys, NOW, "w"),
            Err(WitnessError::NotIssuerSigned { .. })
        ));
        // Too far in the future for this clock.
        assert!(matches!(
            p.check(&[issuer().public()], &keys, NOW - 1000, "w"),
            Err(WitnessError::InFuture { .. })
        ));
        // Unsigned generations parse (an empty signatures part).
        let mut u = Cosignatures::new(&h, b"").unwrap();
        u.add(cosign(&witness(2), &h, 5));
        assert_eq!(Cosignatures::parse(&u.to_bytes(), "u").unwrap(), u);
    }

    #[test]
    fn a_tampered_cosignature_is_refused() {
        let (h, s) = generation(1, [9; 32]);
        let mut c = Cosignatures::new(&h, &s).unwrap();
        c.add(cosign(&witness(2), &h, 1000));
        let keys = [witness(2).public()];
        // The time changed after signing.
        let mut t = c.clone();
        t.lines[0].time = 1001;
        let e = t
            .check(&[issuer().public()], &keys, NOW, "w.cosig")
            .unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        // The cosignature moved to another head of the same series.
        let (h2, s2) = generation(2, [8; 32]);
        let mut moved = Cosignatures::new(&h2, &s2).unwrap();
        moved.lines = c.lines.clone();
        assert!(matches!(
            moved.check(&[issuer().public()], &keys, NOW, "w"),
            Err(WitnessError::BadSignature { .. })
        ));
        // A cosignature is not a head signature and the reverse.
        let as_head = head::SignatureLine {
            algorithm: ED25519.into(),
            public_key: c.lines[0].public_key.clone(),
            signature: c.lines[0].signature.clone(),
        };
        assert_eq!(head::verify(&as_head, &h), Some(false));
        // An unknown algorithm is skipped.
        let mut pq = c.clone();
        pq.add(CosignatureLine {
            algorithm: "cosignature-ml-dsa-65".into(),
            public_key: vec![1; 1952],
            time: 3,
            signature: vec![2; 3309],
        });
        let back = Cosignatures::parse(&pq.to_bytes(), "pq").unwrap();
        assert_eq!(back.lines.len(), 2);
        assert_eq!(
            back.check(&[issuer().public()], &keys, NOW, "w")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn hostile_cosignature_files_are_refused() {
        let (h, s) = generation(1, [9; 32]);
        let mut c = Cosignatures::new(&h, &s).unwrap();
        c.add(cosign(&witness(2), &h, 1000));
        c.add(cosign(&witness(3), &h, 1000));
        let good = String::from_utf8(c.to_bytes()).unwrap();
        let e = |t: &str| {
            Cosignatures::parse(t.as_bytes(), "w.cosig")
                .unwrap_err()
                .to_string()
        };
        let first = good.lines().nth(13).unwrap().to_string();
        let second = good.lines().nth(14).unwrap().to_string();
        assert!(first.starts_with("cosignature-ed25519 "), "{first}");
        let swapped = good.replace(&format!("{first}\n{second}"), &format!("{second}\n{first}"));
        assert!(e(&swapped).contains("is not after line 1"));
        assert!(e(&good.replace(" 1000 ", " 01000 ")).contains("the time"));
        assert!(e(&good.replace(" 1000 ", " 9223372036854775808 ")).contains("the time"));
        assert!(e(&good.replacen("cosignature-ed25519", "cosig-ed25519", 1)).contains("algorithm"));
        assert!(
            e(&good.replacen("cosignature-ed25519 ", "cosignature-ed25519 00", 1))
                .contains("32-byte key")
        );
        assert!(e(good.trim_end()).contains("line feed"));
        assert!(e(&good.replacen("\n\ned25519", "\ned25519", 1)).contains("no empty line"));
        assert!(e(&good.replacen("sequence 1", "sequence 01", 1)).starts_with("w.cosig: the head"));
        assert!(e(&good[..200]).contains("head"));
        assert!(e(&format!("{good}\n")).contains("not `<algorithm>"));
        let many: String = (0..=MAX_COSIGNATURES)
            .map(|i| format!("cosignature-x{i:03} 00 1 00\n"))
            .collect();
        let base = good.split("cosignature-").next().unwrap();
        assert!(e(&format!("{base}{many}")).contains("more than 64"));
        let huge = vec![b'a'; MAX_COSIGNATURE_FILE + 1];
        assert!(Cosignatures::parse(&huge, "w")
            .unwrap_err()
            .to_string()
            .contains("more than"));
    }

    #[test]
    fn heartbeats_round_trip_and_expire() {
        let mut hb = Heartbeat {
            archive_id: [7; 16],
            sequence: 18,
            chain: [0xcd; 32],
            time: NOW - 3600,
            expires: NOW + 6 * 86_400,
            signatures: Vec::new(),
        };
        hb.sign(&issuer()).unwrap();
        hb.sign(&issuer()).unwrap();
        assert_eq!(hb.signatures.len(), 1);
        let bytes = hb.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("legation-heartbeat 2.0\narchive 07070707070707070707070707070707\nsequence 18\nchain cdcd"), "{text}");
        assert!(
            text.contains(&format!("\nexpires {}\n", format_rfc3339(NOW + 6 * 86_400))),
            "{text}"
        );
        let p = Heartbeat::parse(&bytes).unwrap();
        assert_eq!(p, hb);
        p.check(&[issuer().public()], NOW).unwrap();
        assert!(matches!(
            p.check(&[issuer().public()], NOW + 7 * 86_400),
            Err(WitnessError::Expired { .. })
        ));
        assert!(matches!(
            p.check(&[[4; 32]], NOW),
            Err(WitnessError::NotIssuerSigned { .. })
        ));
        assert!(matches!(
            p.check(&[issuer().public()], NOW - 7200),
            Err(WitnessError::InFuture { .. })
        ));
        let tampered = text.replace("sequence 18", "sequence 19");
        let t = Heartbeat::parse(tampered.as_bytes()).unwrap();
        assert!(matches!(
            t.check(&[issuer().public()], NOW),
            Err(WitnessError::NotIssuerSigned { .. })
        ));
        let e = |t: &str| Heartbeat::parse(t.as_bytes()).unwrap_err().to_string();
        assert!(e(&text.replace("sequence 18", "sequence 018")).contains("sequence"));
        assert!(
            e(&text.replace("legation-heartbeat 2.0", "legation-heartbeat 2.1")).contains("line 1")
        );
        assert!(e(&text.replacen("\n\n", "\n", 1)).contains("empty line"));
        assert!(e(&text.replacen("expires", "expire", 1)).contains("line 6"));
        let backwards = Heartbeat {
            expires: hb.time,
            ..hb.clone()
        };
        assert!(Heartbeat::parse(&backwards.to_bytes())
            .unwrap_err()
            .to_string()
            .contains("after time"));
        assert!(e(&format!("{text}\n")).contains("heartbeat"));
        assert!(Heartbeat::parse(&vec![b'\n'; MAX_HEARTBEAT + 1]).is_err());
    }

    #[test]
    fn witness_state_round_trips_and_admits_only_forward() {
        let (h0, s0) = generation(0, [0; 32]);
        let c0 = head::chain_hash(&h0, &s0);
        let (h1, s1) = generation(1, c0);
        let c1 = head::chain_hash(&h1, &s1);
        let (h2, s2) = generation(2, c1);
        let c2 = head::chain_hash(&h2, &s2);
        let mut state = WitnessState::default();
        let p = |h: &[u8]| Head::parse(h).unwrap();
        // First sight: anything.
        state.admit(&p(&h1), &c1, NOW, |_| None).unwrap();
        state.set(Held {
            archive_id: [7; 16],
            sequence: 1,
            chain: c1,
            created: p(&h1).created,
            time: NOW,
        });
        state.set(Held {
            archive_id: [1; 16],
            sequence: 4,
            chain: [3; 32],
            created: 5,
            time: 6,
        });
        let bytes = state.to_bytes();
        assert_eq!(WitnessState::parse(&bytes).unwrap(), state);
        assert_eq!(state.series[0].archive_id, [1; 16]);
        // Same generation again: fine; the next: linked by `previous`.
        state.admit(&p(&h1), &c1, NOW, |_| None).unwrap();
        state.admit(&p(&h2), &c2, NOW, |_| None).unwrap();
        // Rolled back to 0.
        let e = state.admit(&p(&h0), &c0, NOW, |_| None).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::Rollback {
                    held: 0,
                    cosigned: 1,
                    ..
                }
            ),
            "{e}"
        );
        // Another generation 1: a fork.
        let other = Head {
            records: 11,
            ..p(&h1)
        };
        let e = state.admit(&other, &[5; 32], NOW, |_| None).unwrap_err();
        assert!(matches!(e, Refusal::Fork { .. }), "{e}");
        // Generation 3 with 2 missing, then present.
        let (h3, s3) = generation(3, c2);
        let c3 = head::chain_hash(&h3, &s3);
        let e = state.admit(&p(&h3), &c3, NOW, |_| None).unwrap_err();
        assert!(matches!(e, Refusal::Unlinked { .. }), "{e}");
        state
            .admit(&p(&h3), &c3, NOW, |s| (s == 2).then_some((c1, c2)))
            .unwrap();
        // A generation 2 of another chain.
        let e = state
            .admit(&p(&h3), &c3, NOW, |s| (s == 2).then_some(([1; 32], c2)))
            .unwrap_err();
        assert!(e.to_string().contains("fork"), "{e}");
        // A generation 2 not following the cosigned 1.
        let (h2b, _) = generation(2, [6; 32]);
        let e = state.admit(&p(&h2b), &[2; 32], NOW, |_| None).unwrap_err();
        assert!(matches!(e, Refusal::Unlinked { .. }), "{e}");
        // Created far ahead of the clock.
        let e = state
            .admit(&p(&h2), &c2, p(&h2).created - 3600, |_| None)
            .unwrap_err();
        assert!(matches!(e, Refusal::BadTime { .. }), "{e}");
        assert!(state.remove(&[7; 16]));
        assert!(state.get(&[7; 16]).is_none());
        // Hostile state files.
        let e = |t: &str| WitnessState::parse(t.as_bytes()).unwrap_err().to_string();
        let text = String::from_utf8(bytes).unwrap();
        let l: Vec<&str> = text.lines().collect();
        assert!(e(&format!("{}\n{}\n{}\n", l[0], l[2], l[1])).contains("not after"));
        assert!(e("legation-witness-state 2\n").contains("line 1"));
        assert!(e(&text.replace(" 4 ", " x ")).contains("sequence"));
        assert!(e(text.trim_end()).contains("line feed"));
    }

    #[test]
    fn a_witness_remembers_revoked_keys() {
        let (h3, _) = generation(3, [2; 32]);
        let head = Head::parse(&h3).unwrap();
        let k = issuer().public();
        let mut state = WitnessState::default();
        state.set(Held {
            archive_id: [7; 16],
            sequence: 2,
            chain: [2; 32],
            created: 5,
            time: 6,
        });
        assert!(state.check_signers(&head, &[k]).is_ok());
        let r = |last| RevokedKey {
            archive_id: [7; 16],
            key: k,
            last,
            time: NOW,
        };
        assert!(state.revoke(r(5)));
        assert!(state.check_signers(&head, &[k]).is_ok());
        // A lower last replaces it; a higher one changes nothing.
        assert!(state.revoke(r(2)));
        assert!(!state.revoke(r(4)));
        let e = state.check_signers(&head, &[k]).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::Revoked {
                    last: 2,
                    sequence: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("REVOKED"));
        // Another series' revocation, or another key's, refuses nothing.
        assert!(state.check_signers(&head, &[[4; 32]]).is_ok());
        state.revoke(RevokedKey {
            archive_id: [8; 16],
            ..r(0)
        });
        let bytes = state.to_bytes();
        let back = WitnessState::parse(&bytes).unwrap();
        assert_eq!(back, state);
        assert!(!state.remove(&[9; 16]));
        assert!(state.remove(&[7; 16]));
        assert!(
            state.check_signers(&head, &[k]).is_err(),
            "a reset keeps revocations"
        );
        // Revoked lines sorted, after the series.
        let text = String::from_utf8(bytes).unwrap();
        let l: Vec<&str> = text.lines().collect();
        let e = |t: String| WitnessState::parse(t.as_bytes()).unwrap_err().to_string();
        assert_eq!(l.len(), 4);
        let join = |ls: &[&str]| ls.iter().map(|x| format!("{x}\n")).collect::<String>();
        assert!(e(join(&[l[0], l[1], l[3], l[2]])).contains("not after"));
        assert!(e(join(&[l[0], l[2], l[1]])).contains("a series after"));
        let bad_last = l[2].replace(" 2 ", " 02 ");
        assert!(e(join(&[l[0], l[1], &bad_last])).contains("last"));
    }

    #[test]
    fn hybrid_witnesses_count_only_with_both_halves() {
        let (h, s) = generation(7, [1; 32]);
        let w = WitnessKey::from_seeds([2; 32], Some([3; 32]));
        let public = w.public_key();
        let mut c = Cosignatures::new(&h, &s).unwrap();
        for l in cosign_all(&w, &h, 1000).unwrap() {
            c.add(l);
        }
        assert_eq!(c.lines.len(), 2);
        let p = Cosignatures::parse(&c.to_bytes(), "w").unwrap();
        let pins = [issuer().public()];
        let got = p
            .check_keys(&pins, std::slice::from_ref(&public), NOW, "w")
            .unwrap();
        assert_eq!(
            got,
            vec![Cosigned {
                witness: w.public(),
                time: 1000
            }]
        );
        // Either half stripped: refused by name, not counted.
        for strip in [COSIGNATURE_ML_DSA_65, COSIGNATURE_ED25519] {
            let mut half = p.clone();
            half.lines.retain(|l| l.algorithm != strip);
            let e = half
                .check_keys(&pins, std::slice::from_ref(&public), NOW, "w")
                .unwrap_err();
            assert!(matches!(e, WitnessError::HalfMissing { .. }), "{e}");
        }
        // The ML-DSA-65 signature flipped, or its time moved: refused.
        let mut flipped = p.clone();
        flipped.lines[1].signature[7] ^= 1;
        let e = flipped
            .check_keys(&pins, std::slice::from_ref(&public), NOW, "w")
            .unwrap_err();
        assert!(matches!(e, WitnessError::BadSignature { .. }), "{e}");
        // Given the Ed25519 half alone (as a 2.2 reader is), the Ed25519
        // line counts and the ML-DSA-65 line is another key's.
        assert_eq!(p.check(&pins, &[w.public()], NOW, "w").unwrap().len(), 1);
        // A wrong-length ml-dsa-65 line does not parse.
        let mut short = c.clone();
        short.lines[1].signature.pop();
        let e = Cosignatures::parse(&short.to_bytes(), "w")
            .unwrap_err()
            .to_string();
        assert!(e.contains("an ml-dsa-65 line has a 1952-byte key"), "{e}");
        // Key files round-trip with their own tags.
        let secret = w.to_key_file("hybrid witness");
        let back = WitnessKey::from_key_file(&secret, "w.key").unwrap();
        assert_eq!(back.ml_dsa_seed(), Some(&[3; 32]));
        let pub_file = public.to_key_file("hybrid witness");
        assert!(pub_file.contains(WITNESS_HYBRID_PUBLIC));
        assert_eq!(
            WitnessPublic::from_key_file(&pub_file, "w.pub").unwrap(),
            public
        );
        let e = crate::keys::parse_key_file(&pub_file, WITNESS_PUBLIC, "w.pub")
            .unwrap_err()
            .to_string();
        assert!(e.contains(WITNESS_HYBRID_PUBLIC), "{e}");
    }

    #[test]
    fn a_hybrid_issuer_heartbeat_needs_both_halves_for_its_pin() {
        let hybrid = IssuerKey::from_seeds([5; 32], Some([6; 32]));
        let pin = hybrid.public_key().pin();
        let mut hb = Heartbeat {
            archive_id: [1; 16],
            sequence: 3,
            chain: [2; 32],
            time: NOW - 60,
            expires: NOW + 3600,
            signatures: Vec::new(),
        };
        hb.sign(&hybrid).unwrap();
        assert_eq!(hb.signatures.len(), 2);
        let p = Heartbeat::parse(&hb.to_bytes()).unwrap();
        p.check(&[pin], NOW).unwrap();
        // The Ed25519 half still meets a pin of the Ed25519 key alone.
        p.check(&[hybrid.public()], NOW).unwrap();
        // Stripped of its ML-DSA-65 line, or with it flipped: not the
        // hybrid issuer's.
        let mut stripped = p.clone();
        stripped.signatures.retain(|l| l.algorithm == ED25519);
        let e = Heartbeat::parse(&stripped.to_bytes())
            .unwrap()
            .check(&[pin], NOW);
        assert!(
            matches!(e, Err(WitnessError::NotIssuerSigned { .. })),
            "{e:?}"
        );
        let mut flipped = p.clone();
        flipped.signatures[1].signature[3] ^= 1;
        let e = flipped.check(&[pin], NOW);
        assert!(
            matches!(e, Err(WitnessError::NotIssuerSigned { .. })),
            "{e:?}"
        );
        // An Ed25519-only heartbeat by the hybrid key's Ed25519 half (as
        // 2.2 wrote) does not meet the hybrid pin either.
        let mut old = Heartbeat {
            signatures: Vec::new(),
            ..p.clone()
        };
        old.sign(&IssuerKey::from_bytes([5; 32])).unwrap();
        assert!(old.check(&[pin], NOW).is_err());
    }

    #[test]
    fn witness_keys_have_their_own_tags() {
        let k = witness(9);
        let text = crate::keys::format_key_file(WITNESS_SECRET, k.secret(), "witness of Iceland");
        assert_eq!(
            *crate::keys::parse_key_file(&text, WITNESS_SECRET, "w.key").unwrap(),
            [9; 32]
        );
        let e = crate::keys::parse_key_file(&text, crate::keys::ISSUER_SECRET, "w.key")
            .unwrap_err()
            .to_string();
        assert!(e.contains(WITNESS_SECRET), "{e}");
        assert_eq!(k.short_id(), hex::encode(&k.public()[..8]));
        assert!(!format!("{k:?}").contains("0909"));
    }
}

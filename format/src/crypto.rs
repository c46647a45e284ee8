//! Chunked record encryption, key slots, key commitment and signatures.
//!
//! Every encrypted entry is a *stream*: its plaintext cut into
//! [`CHUNK_SIZE`] chunks, each sealed with AES-256-GCM under a key derived
//! for that stream alone, with a nonce made of the chunk index and a
//! last-chunk flag (the STREAM construction age uses). Any chunk can be
//! opened without the ones before it; truncating, reordering or moving
//! chunks between streams or archives makes a tag fail.

use crate::gcm::Gcm;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 65_536;
/// Bytes of authentication tag after each chunk.
pub const TAG_LEN: usize = 16;
/// Bytes of one full sealed chunk.
pub const SEALED_CHUNK: usize = CHUNK_SIZE + TAG_LEN;

/// BLAKE3 key-derivation contexts (one per purpose, fixed forever).
pub mod context {
    /// Key of a record stream.
    pub const RECORD: &str = "legation 2026-11-27 record stream key";
    /// Key of the catalog index stream.
    pub const CATALOG_INDEX: &str = "legation 2026-11-27 catalog index stream key";
    /// Key of a catalog page stream.
    pub const CATALOG_PAGE: &str = "legation 2026-11-27 catalog page stream key";
    /// Commitment to the data key, stored in the manifest.
    pub const KEY_COMMITMENT: &str = "legation 2026-11-27 data key commitment";
    /// Key that wraps the data key in a key slot.
    pub const SLOT_WRAP: &str = "legation 2026-11-27 key slot wrap key";
    /// Key that commits to a key slot's wrap.
    pub const SLOT_COMMIT: &str = "legation 2026-11-27 key slot commitment key";
    /// Prefix of the message the issuer signs.
    pub const SIGNATURE: &str = "legation 2026-11-27 manifest signature\n";
    /// Public key fingerprints.
    pub const FINGERPRINT: &str = "legation 2026-11-27 public key fingerprint";
    /// Format 2.0: a bundle's stream key, from its random stream id.
    pub const BUNDLE: &str = "legation 2.0 bundle stream key";
    /// Format 2.0: a catalog page's stream key, from its random stream id.
    pub const PAGE: &str = "legation 2.0 catalog page stream key";
    /// Format 2.0: the catalog index's stream key, from its random stream id.
    pub const INDEX: &str = "legation 2.0 catalog index stream key";
    /// Format 2.1: the event log's stream key, from its random stream id.
    pub const EVENTS: &str = "legation 2.1 event log stream key";
    /// Format 2.0: a record's salt in the records tree.
    pub const RECORD_SALT: &str = "legation 2.0 record salt";
}

/// The archive's data key: 32 random bytes from which every stream key is
/// derived. Zeroized when dropped; its `Debug` shows no byte of it.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl From<Zeroizing<[u8; 32]>> for DataKey {
    /// Takes key bytes already held in a zeroizing array, without a plain
    /// copy.
    fn from(bytes: Zeroizing<[u8; 32]>) -> Self {
        DataKey(bytes)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// BLAKE3 derive_key of `ctx` over `parts`, written straight into a
/// zeroizing key. The hasher and its output reader, which hold the last
/// input block (the secret input), are wiped too.
fn derive_secret(ctx: &str, parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut h = blake3::Hasher::new_derive_key(ctx);
    for p in parts {
        h.update(p);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    let mut reader = h.finalize_xof();
    reader.fill(&mut out[..]);
    reader.zeroize();
    h.zeroize();
    out
}

impl DataKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }
    /// Draws a fresh key.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut k[..]);
        DataKey(k)
    }
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// The commitment stored in the manifest: BLAKE3 derive_key over the
    /// key and archive id. A reader compares it before decrypting anything.
    pub fn commitment(&self, archive_id: &[u8; 16]) -> [u8; 32] {
        // Public, but the hasher held the key: derive_secret wipes it.
        *derive_secret(context::KEY_COMMITMENT, &[self.as_bytes(), archive_id])
    }
    /// The key of a stream.
    pub fn stream_key(&self, archive_id: &[u8; 16], stream: StreamId) -> StreamKey {
        let (ctx, extra): (&str, Vec<u8>) = match stream {
            StreamId::Record(nonce) => (context::RECORD, nonce.to_vec()),
            StreamId::CatalogIndex => (context::CATALOG_INDEX, Vec::new()),
            StreamId::CatalogPage(n) => (context::CATALOG_PAGE, n.to_le_bytes().to_vec()),
            StreamId::Bundle(id) => (context::BUNDLE, id.to_vec()),
            StreamId::Page(id) => (context::PAGE, id.to_vec()),
            StreamId::Index(id) => (context::INDEX, id.to_vec()),
            StreamId::Events(id) => (context::EVENTS, id.to_vec()),
        };
        let k = derive_secret(ctx, &[self.as_bytes(), archive_id, &extra]);
        StreamKey(Gcm::new(&k))
    }
}

/// Which stream a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamId {
    /// A record, by the 16-byte stream nonce in its catalog entry.
    Record([u8; 16]),
    /// The catalog index.
    CatalogIndex,
    /// Catalog page number n.
    CatalogPage(u64),
    /// Format 2.0: a bundle, by its random stream id (in the index).
    Bundle([u8; 16]),
    /// Format 2.0: a catalog page, by its random stream id (in the index).
    Page([u8; 16]),
    /// Format 2.0: the catalog index, by its random stream id (in `public.json`).
    Index([u8; 16]),
    /// Format 2.1: the event log, by its random stream id (the first 16
    /// bytes of the `events` entry).
    Events([u8; 16]),
}

/// An AES-256-GCM key for one stream.
pub struct StreamKey(Gcm);

/// The 96-bit nonce of chunk `index`: 11-byte big-endian index, then 1 for
/// the last chunk and 0 otherwise.
pub fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

impl StreamKey {
    /// Seals one chunk in place, appending its tag.
    pub fn seal_chunk(&self, index: u64, last: bool, chunk: &mut Vec<u8>) {
        debug_assert!(chunk.len() <= CHUNK_SIZE);
        let tag = self.0.seal(chunk_nonce(index, last), chunk);
        chunk.extend_from_slice(&tag);
    }
    /// Encrypts one chunk in place and returns its tag.
    pub fn seal_detached(&self, index: u64, last: bool, chunk: &mut [u8]) -> [u8; TAG_LEN] {
        self.0.seal(chunk_nonce(index, last), chunk)
    }
    /// Seals one chunk from `plain` into `out` (cleared first).
    pub fn seal_chunk_into(&self, index: u64, last: bool, plain: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(plain);
        self.seal_chunk(index, last, out);
    }
    /// Opens one sealed chunk in place (ciphertext followed by tag); on
    /// success `sealed` is truncated to the plaintext.
    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        sealed: &mut Vec<u8>,
    ) -> std::result::Result<(), ChunkError> {
        let n = self.open_chunk_slice(index, last, sealed)?;
        sealed.truncate(n);
        Ok(())
    }
    /// Opens one sealed chunk held in a slice; returns the plaintext length
    /// (the plaintext is left at the start of the slice).
    pub fn open_chunk_slice(
        &self,
        index: u64,
        last: bool,
        sealed: &mut [u8],
    ) -> std::result::Result<usize, ChunkError> {
        if sealed.len() < TAG_LEN || sealed.len() > SEALED_CHUNK {
            return Err(ChunkError);
        }
        self.0
            .open(chunk_nonce(index, last), sealed)
            .map_err(|_| ChunkError)?;
        Ok(sealed.len() - TAG_LEN)
    }
}

/// A chunk failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError;

/// Number of chunks in a stream of `len` plaintext bytes (at least one: an
/// empty stream is one empty chunk marked last).
pub fn chunk_count(len: u64) -> u64 {
    len.div_ceil(CHUNK_SIZE as u64).max(1)
}

/// Sealed length of a stream of `len` plaintext bytes.
pub fn sealed_len(len: u64) -> u64 {
    len + chunk_count(len) * TAG_LEN as u64
}

/// Plaintext length of the stream with sealed length `sealed`, if that
/// length is possible at all.
pub fn plain_len(sealed: u64) -> Option<u64> {
    let full = sealed / SEALED_CHUNK as u64;
    let rest = sealed % SEALED_CHUNK as u64;
    let len = match rest {
        0 if full > 0 => full * CHUNK_SIZE as u64,
        0 => return None,
        r if r >= TAG_LEN as u64 && (full == 0 || r > TAG_LEN as u64) => {
            full * CHUNK_SIZE as u64 + r - TAG_LEN as u64
        }
        _ => return None,
    };
    (sealed_len(len) == sealed).then_some(len)
}

/// The padded length of a stream whose content is `len` bytes long: the
/// Padmé scheme (Nikitin et al., PETS 2019), which leaks O(log log len)
/// bits of the length at a cost of at most 12% padding.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
}

/// Encrypts a whole small stream (a catalog page or index) at once.
pub fn seal_stream(key: &StreamKey, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sealed_len(plain.len() as u64) as usize);
    let n = chunk_count(plain.len() as u64);
    let mut buf = Vec::with_capacity(SEALED_CHUNK);
    for i in 0..n {
        let start = (i as usize) * CHUNK_SIZE;
        let end = (start + CHUNK_SIZE).min(plain.len());
        key.seal_chunk_into(i, i + 1 == n, &plain[start..end], &mut buf);
        out.extend_from_slice(&buf);
    }
    out
}

/// Decrypts a whole small stream; the error gives the failing chunk.
pub fn open_stream(key: &StreamKey, sealed: &[u8]) -> std::result::Result<Vec<u8>, u64> {
    let len = plain_len(sealed.len() as u64).ok_or(0u64)?;
    let n = chunk_count(len);
    let mut out = Vec::with_capacity(len as usize);
    // Holds a plaintext chunk at the end: wiped when dropped.
    let mut buf = Zeroizing::new(Vec::with_capacity(SEALED_CHUNK));
    for i in 0..n {
        let start = (i as usize) * SEALED_CHUNK;
        let end = (start + SEALED_CHUNK).min(sealed.len());
        buf.clear();
        buf.extend_from_slice(&sealed[start..end]);
        key.open_chunk(i, i + 1 == n, &mut buf).map_err(|_| i)?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Bounds on Argon2id parameters a reader accepts, so a hostile archive
/// cannot demand unbounded memory or time.
pub mod kdf_bounds {
    /// Largest memory cost, in KiB (2 GiB).
    pub const MAX_MEMORY_KIB: u32 = 2 * 1024 * 1024;
    /// Largest number of passes.
    pub const MAX_ITERATIONS: u32 = 16;
    /// Largest degree of parallelism.
    pub const MAX_PARALLELISM: u32 = 16;
    /// Most passphrase slots an archive may carry (each costs one Argon2id run).
    pub const MAX_PASSPHRASE_SLOTS: usize = 8;
}

/// Argon2id parameters of a passphrase slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Argon2Params {
    /// What `legation pack` uses: 256 MiB, 3 passes, 1 lane (about a second).
    pub const DEFAULT: Argon2Params = Argon2Params {
        memory_kib: 256 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The work of one run, in KiB-passes (memory × passes; the lanes
    /// share the memory, so they change the time, not the work).
    pub fn work(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// Whether a run costs more than [`Argon2Params::DEFAULT`]: more
    /// memory, or more work (SPEC §7.7: a reader derives at most one such
    /// slot unless told to).
    pub fn above_default(&self) -> bool {
        self.memory_kib > Self::DEFAULT.memory_kib || self.work() > Self::DEFAULT.work()
    }

    /// Checks the parameters against [`kdf_bounds`] and Argon2's own rules.
    pub fn check(&self, slot: usize) -> Result<()> {
        use kdf_bounds::*;
        let bad = |what: String| Err(Error::HostileKdf { slot, what });
        if self.memory_kib > MAX_MEMORY_KIB {
            return bad(format!(
                "Argon2id memory {} KiB exceeds the bound {MAX_MEMORY_KIB} KiB",
                self.memory_kib
            ));
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return bad(format!(
                "Argon2id passes {} outside 1..={MAX_ITERATIONS}",
                self.iterations
            ));
        }
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return bad(format!(
                "Argon2id lanes {} outside 1..={MAX_PARALLELISM}",
                self.parallelism
            ));
        }
        if self.memory_kib < 8 * self.parallelism {
            return bad(format!(
                "Argon2id memory {} KiB below 8 KiB per lane",
                self.memory_kib
            ));
        }
        Ok(())
    }
}

/// A key slot: the data key wrapped for one recipient or one passphrase.
/// Unknown slot types in an archive are kept as [`KeySlot::Unknown`] and
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum KeySlot {
    /// Wrapped for an X25519 public key.
    #[serde(rename = "x25519")]
    X25519 {
        /// The sender's ephemeral public key.
        #[serde(with = "crate::hex::array")]
        ephemeral: [u8; 32],
        /// AES-256-GCM of the data key: 32 bytes and a 16-byte tag.
        #[serde(with = "crate::hex::array")]
        wrapped: [u8; 48],
        /// Commitment to the wrap (see [`slot_commitment`]).
        #[serde(with = "crate::hex::array")]
        commitment: [u8; 32],
    },
    /// Wrapped under a key derived from a passphrase with Argon2id.
    #[serde(rename = "argon2id")]
    Passphrase {
        /// Argon2id salt.
        #[serde(with = "crate::hex::array")]
        salt: [u8; 16],
        /// Argon2id parameters.
        #[serde(flatten)]
        params: Argon2Params,
        /// AES-256-GCM of the data key: 32 bytes and a 16-byte tag.
        #[serde(with = "crate::hex::array")]
        wrapped: [u8; 48],
        /// Commitment to the wrap (see [`slot_commitment`]).
        #[serde(with = "crate::hex::array")]
        commitment: [u8; 32],
    },
    /// Format 2.0: the data key opened by K of N holders (SPEC §7.9).
    #[serde(rename = "quorum")]
    Quorum(Box<crate::quorum::QuorumSlot>),
    /// Format 2.1: wrapped for a post-quantum (X-Wing: ML-KEM-768 and
    /// X25519) public key (SPEC §7.11).
    #[serde(rename = "mlkem768x25519")]
    MlKem768X25519(Box<crate::pq::PqSlot>),
    /// A slot type this reader does not know.
    #[serde(other)]
    Unknown,
}

/// The bytes that bind a slot's public parameters into its keys (for an
/// `mlkem768x25519` slot, [`crate::pq::header`]; empty here).
pub fn slot_header(slot: &KeySlot, archive_id: &[u8; 16], recipient: Option<&[u8; 32]>) -> Vec<u8> {
    let mut h = Vec::new();
    match slot {
        KeySlot::X25519 { ephemeral, .. } => {
            h.extend_from_slice(b"x25519\0");
            h.extend_from_slice(archive_id);
            h.extend_from_slice(ephemeral);
            h.extend_from_slice(recipient.unwrap_or(&[0; 32]));
        }
        KeySlot::Passphrase { salt, params, .. } => {
            h.extend_from_slice(b"argon2id\0");
            h.extend_from_slice(archive_id);
            h.extend_from_slice(salt);
            h.extend_from_slice(&params.memory_kib.to_le_bytes());
            h.extend_from_slice(&params.iterations.to_le_bytes());
            h.extend_from_slice(&params.parallelism.to_le_bytes());
        }
        KeySlot::Quorum(q) => h = q.header(archive_id),
        // Its header holds the recipient's 1216-byte key: `pq::header`.
        KeySlot::MlKem768X25519(_) | KeySlot::Unknown => {}
    }
    h
}

fn slot_keys(secret: &[u8; 32], header: &[u8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    (
        derive_secret(context::SLOT_WRAP, &[secret, header]),
        derive_secret(context::SLOT_COMMIT, &[secret, header]),
    )
}

/// The commitment of a slot: BLAKE3 keyed by the slot's commitment key over
/// the wrapped bytes. Checked before any GCM decryption, so one wrap cannot
/// be made to open under many passphrases (partitioning oracles).
pub fn slot_commitment(commit_key: &[u8; 32], wrapped: &[u8; 48]) -> [u8; 32] {
    *blake3::keyed_hash(commit_key, wrapped).as_bytes()
}

fn wrap(secret: &[u8; 32], header: &[u8], data_key: &DataKey) -> ([u8; 48], [u8; 32]) {
    wrap_bytes(secret, header, data_key.as_bytes())
}

/// SPEC §7.5 on any 32 secret bytes: `wrapped` and `commitment` of `key`
/// under a slot secret and header (quorum slots wrap shares so).
pub(crate) fn wrap_bytes(secret: &[u8; 32], header: &[u8], key: &[u8; 32]) -> ([u8; 48], [u8; 32]) {
    let (wk, ck) = slot_keys(secret, header);
    let mut buf = Zeroizing::new(*key);
    let tag = Gcm::new(&wk).seal([0; 12], &mut buf[..]);
    let mut wrapped = [0u8; 48];
    wrapped[..32].copy_from_slice(&buf[..]);
    wrapped[32..].copy_from_slice(&tag);
    (wrapped, slot_commitment(&ck, &wrapped))
}

fn unwrap(
    secret: &[u8; 32],
    header: &[u8],
    wrapped: &[u8; 48],
    commitment: &[u8; 32],
) -> Option<DataKey> {
    unwrap_bytes(secret, header, wrapped, commitment).map(DataKey)
}

/// SPEC §7.6 steps 1 to 4 on any 32 secret bytes: the commitment first,
/// in constant time, then the tag; `None` if either fails.
pub(crate) fn unwrap_bytes(
    secret: &[u8; 32],
    header: &[u8],
    wrapped: &[u8; 48],
    commitment: &[u8; 32],
) -> Option<Zeroizing<[u8; 32]>> {
    let (wk, ck) = slot_keys(secret, header);
    // Constant-time comparison through blake3::Hash's PartialEq.
    if blake3::Hash::from(slot_commitment(&ck, wrapped)) != blake3::Hash::from(*commitment) {
        return None;
    }
    let mut buf = Zeroizing::new(*wrapped);
    Gcm::new(&wk).open([0; 12], &mut buf[..]).ok()?;
    // 48 bytes: key, then tag. Copied into the key's own zeroizing array.
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&buf[..32]);
    Some(key)
}

/// A passphrase as Argon2id sees it: Unicode NFC, so the same words typed
/// on systems that compose characters differently give the same key.
pub fn normalize_passphrase(p: &str) -> Zeroizing<Vec<u8>> {
    use unicode_normalization::UnicodeNormalization;
    // NFC makes UTF-8 text at most three times longer (UAX #15), so with
    // this capacity the string never reallocates and leaves no freed copy
    // of a passphrase prefix behind.
    let mut s = Zeroizing::new(String::with_capacity(p.len() * 3));
    for c in p.nfc() {
        s.push(c);
    }
    Zeroizing::new(std::mem::take(&mut *s).into_bytes())
}

/// Argon2id of a passphrase into a 32-byte slot secret.
///
/// The working memory (`memory_kib`) is allocated here and wiped before it
/// is freed: its last blocks determine the output, so left behind it would
/// give away the slot secret (`hash_password_into` frees it unwiped).
pub fn argon2id(passphrase: &[u8], salt: &[u8; 16], p: &Argon2Params) -> Zeroizing<[u8; 32]> {
    let params = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32)).unwrap(); // checked by Argon2Params::check
    let mut blocks = Zeroizing::new(vec![argon2::Block::default(); params.block_count()]);
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    a.hash_password_into_with_memory(passphrase, salt, &mut out[..], &mut blocks[..])
        .unwrap(); // salt and output lengths are valid
    out
}

/// Makes a passphrase slot for `data_key`.
pub fn passphrase_slot(
    data_key: &DataKey,
    archive_id: &[u8; 16],
    passphrase: &str,
    params: Argon2Params,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<KeySlot> {
    params.check(0)?;
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut slot = KeySlot::Passphrase {
        salt,
        params,
        wrapped: [0; 48],
        commitment: [0; 32],
    };
    let header = slot_header(&slot, archive_id, None);
    let secret = argon2id(&normalize_passphrase(passphrase), &salt, &params);
    let (w, c) = wrap(&secret, &header, data_key);
    if let KeySlot::Passphrase {
        wrapped,
        commitment,
        ..
    } = &mut slot
    {
        *wrapped = w;
        *commitment = c;
    }
    Ok(slot)
}

/// Makes an X25519 slot for `data_key` and a recipient's public key.
pub fn x25519_slot(
    data_key: &DataKey,
    archive_id: &[u8; 16],
    recipient: &[u8; 32],
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<KeySlot> {
    let (ephemeral, shared) = x25519_send(recipient, rng)?;
    let mut slot = KeySlot::X25519 {
        ephemeral,
        wrapped: [0; 48],
        commitment: [0; 32],
    };
    let header = slot_header(&slot, archive_id, Some(recipient));
    let (w, c) = wrap(&shared, &header, data_key);
    if let KeySlot::X25519 {
        wrapped,
        commitment,
        ..
    } = &mut slot
    {
        *wrapped = w;
        *commitment = c;
    }
    Ok(slot)
}

/// The sender's half of SPEC §7.3's X25519: a fresh ephemeral public key
/// and the shared secret with `recipient`; a low-order recipient is refused.
pub(crate) fn x25519_send(
    recipient: &[u8; 32],
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<([u8; 32], Zeroizing<[u8; 32]>)> {
    let mut e = [0u8; 32];
    rng.fill_bytes(&mut e);
    let eph = x25519_dalek::StaticSecret::from(e);
    e.zeroize();
    let ephemeral = x25519_dalek::PublicKey::from(&eph).to_bytes();
    let shared = eph.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return Err(Error::invalid(
            "recipient",
            "public key is a low-order point",
        ));
    }
    Ok((ephemeral, Zeroizing::new(*shared.as_bytes())))
}

/// The reader's half of SPEC §7.3's X25519: the identity's public key and
/// the shared secret with `ephemeral`, `None` for a low-order point.
pub(crate) fn x25519_receive(
    secret: &[u8; 32],
    ephemeral: &[u8; 32],
) -> Option<([u8; 32], Zeroizing<[u8; 32]>)> {
    let sk = x25519_dalek::StaticSecret::from(*secret);
    let public = x25519_dalek::PublicKey::from(&sk).to_bytes();
    let shared = sk.diffie_hellman(&x25519_dalek::PublicKey::from(*ephemeral));
    shared
        .was_contributory()
        .then(|| (public, Zeroizing::new(*shared.as_bytes())))
}

/// Tries to open a passphrase slot; `None` if the passphrase is not its.
pub fn open_passphrase_slot(
    slot: &KeySlot,
    archive_id: &[u8; 16],
    passphrase: &str,
) -> Option<DataKey> {
    let KeySlot::Passphrase {
        salt,
        params,
        wrapped,
        commitment,
    } = slot
    else {
        return None;
    };
    params.check(0).ok()?;
    let secret = argon2id(&normalize_passphrase(passphrase), salt, params);
    unwrap(
        &secret,
        &slot_header(slot, archive_id, None),
        wrapped,
        commitment,
    )
}

/// Tries to open an X25519 slot with a recipient's secret key.
pub fn open_x25519_slot(
    slot: &KeySlot,
    archive_id: &[u8; 16],
    secret: &[u8; 32],
) -> Option<DataKey> {
    let KeySlot::X25519 {
        ephemeral,
        wrapped,
        commitment,
    } = slot
    else {
        return None;
    };
    let (public, shared) = x25519_receive(secret, ephemeral)?;
    unwrap(
        &shared,
        &slot_header(slot, archive_id, Some(&public)),
        wrapped,
        commitment,
    )
}

/// The message the issuer signs: a fixed prefix, then the manifest bytes.
pub fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context::SIGNATURE.len() + manifest.len());
    m.extend_from_slice(context::SIGNATURE.as_bytes());
    m.extend_from_slice(manifest);
    m
}

/// Verifies an issuer's signature with Ed25519's strict rules (canonical
/// S, no small-order keys or R), so signatures are not malleable.
pub fn verify_signature(public: &[u8; 32], manifest: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return false;
    };
    key.verify_strict(
        &signed_message(manifest),
        &ed25519_dalek::Signature::from_bytes(signature),
    )
    .is_ok()
}

/// Signs a manifest with an issuer's secret key.
pub fn sign(secret: &[u8; 32], manifest: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer;
    ed25519_dalek::SigningKey::from_bytes(secret)
        .sign(&signed_message(manifest))
        .to_bytes()
}

/// The fingerprint people compare: the first 16 bytes of a BLAKE3
/// derive_key over the public key, in hex groups of four.
pub fn fingerprint(public: &[u8; 32]) -> String {
    fingerprint_of(public)
}

/// [`fingerprint`] of a public key of any length (a post-quantum
/// recipient's is 1216 bytes).
pub fn fingerprint_of(public: &[u8]) -> String {
    let mut h = blake3::Hasher::new_derive_key(context::FINGERPRINT);
    h.update(public);
    let hex = crate::hex::encode(&h.finalize().as_bytes()[..16]);
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":") // ASCII hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn lengths() {
        assert_eq!(sealed_len(0), 16);
        assert_eq!(sealed_len(1), 17);
        assert_eq!(sealed_len(65_536), 65_552);
        assert_eq!(sealed_len(65_537), 65_553 + 16);
        for len in [0, 1, 100, 65_535, 65_536, 65_537, 131_072, 1_000_000] {
            assert_eq!(plain_len(sealed_len(len)), Some(len), "{len}");
        }
        for bad in [0, 15, 65_552 + 16, 65_552 + 5] {
            assert_eq!(plain_len(bad), None, "{bad}");
        }
    }

    #[test]
    fn padme_known_values() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(9), 10);
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1_000_000), 1_015_808);
        for l in [2, 3, 100, 65_537, 1 << 40] {
            let p = padme(l);
            assert!(p >= l && (p - l) * 100 <= l * 12, "{l} -> {p}");
        }
    }

    #[test]
    fn stream_detects_truncation_reordering_and_moving() {
        let dk = DataKey::generate(&mut rng());
        let id = [1; 16];
        let k = dk.stream_key(&id, StreamId::Record([2; 16]));
        let plain: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let sealed = seal_stream(&k, &plain);
        assert_eq!(open_stream(&k, &sealed).unwrap(), plain);
        // Truncated to whole chunks: the new last chunk was not sealed as last.
        assert_eq!(open_stream(&k, &sealed[..2 * SEALED_CHUNK]), Err(1));
        // Two chunks swapped.
        let mut swapped = sealed.clone();
        swapped[..SEALED_CHUNK].copy_from_slice(&sealed[SEALED_CHUNK..2 * SEALED_CHUNK]);
        swapped[SEALED_CHUNK..2 * SEALED_CHUNK].copy_from_slice(&sealed[..SEALED_CHUNK]);
        assert_eq!(open_stream(&k, &swapped), Err(0));
        // The same bytes under another stream or archive.
        assert_eq!(
            open_stream(&dk.stream_key(&id, StreamId::Record([3; 16])), &sealed),
            Err(0)
        );
        assert_eq!(
            open_stream(&dk.stream_key(&[9; 16], StreamId::Record([2; 16])), &sealed),
            Err(0)
        );
    }

    #[test]
    fn slots_open_with_their_key_only() {
        let mut r = rng();
        let dk = DataKey::generate(&mut r);
        let id = [5; 16];
        let p = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let s = passphrase_slot(&dk, &id, "correct horse caf\u{e9}", p, &mut r).unwrap();
        assert_eq!(
            open_passphrase_slot(&s, &id, "correct horse caf\u{e9}")
                .unwrap()
                .as_bytes(),
            dk.as_bytes()
        );
        // The same words with a decomposed é (as macOS may type it).
        assert_eq!(
            open_passphrase_slot(&s, &id, "correct horse cafe\u{301}")
                .unwrap()
                .as_bytes(),
            dk.as_bytes()
        );
        assert!(open_passphrase_slot(&s, &id, "wrong horse").is_none());
        assert!(open_passphrase_slot(&s, &[6; 16], "correct horse caf\u{e9}").is_none());
        let sk = [9u8; 32];
        let pk = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(sk)).to_bytes();
        let s = x25519_slot(&dk, &id, &pk, &mut r).unwrap();
        assert_eq!(
            open_x25519_slot(&s, &id, &sk).unwrap().as_bytes(),
            dk.as_bytes()
        );
        assert!(open_x25519_slot(&s, &id, &[8; 32]).is_none());
        // Changing a KDF parameter changes the derived keys: the slot no longer opens.
        if let KeySlot::Passphrase {
            salt,
            wrapped,
            commitment,
            ..
        } = passphrase_slot(&dk, &id, "pw", p, &mut r).unwrap()
        {
            let tweaked = KeySlot::Passphrase {
                salt,
                params: Argon2Params { iterations: 2, ..p },
                wrapped,
                commitment,
            };
            assert!(open_passphrase_slot(&tweaked, &id, "pw").is_none());
        }
        assert!(x25519_slot(&dk, &id, &[0; 32], &mut r).is_err());
    }

    #[test]
    fn unknown_slot_types_are_tolerated() {
        let s: KeySlot =
            serde_json::from_str(r#"{"type":"ml-kem-768","ciphertext":"00"}"#).unwrap();
        assert_eq!(s, KeySlot::Unknown);
    }

    #[test]
    fn secrets_are_redacted_and_derived_as_before() {
        let dk = DataKey::from_bytes([0xab; 32]);
        let shown = format!("{dk:?} {dk:#?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        // derive_secret is BLAKE3 derive_key, byte for byte (the format).
        let mut h = blake3::Hasher::new_derive_key(context::RECORD);
        h.update(&[1; 32]);
        h.update(&[2; 16]);
        assert_eq!(
            *derive_secret(context::RECORD, &[&[1; 32], &[2; 16]]),
            *h.finalize().as_bytes()
        );
        // NFC into a string sized once: same bytes as a plain collect.
        use unicode_normalization::UnicodeNormalization;
        for p in [
            "",
            "caf\u{e9}",
            "cafe\u{301}",
            "\u{fb2c}\u{fb2c}",
            "\u{958}x",
        ] {
            assert_eq!(
                &normalize_passphrase(p)[..],
                p.nfc().collect::<String>().as_bytes()
            );
        }
    }

    #[test]
    fn signatures() {
        let sk = [3u8; 32];
        let pk = ed25519_dalek::SigningKey::from_bytes(&sk)
            .verifying_key()
            .to_bytes();
        let sig = sign(&sk, b"manifest");
        assert!(verify_signature(&pk, b"manifest", &sig));
        assert!(!verify_signature(&pk, b"manifesT", &sig));
        assert_eq!(fingerprint(&pk).len(), 39);
    }
}

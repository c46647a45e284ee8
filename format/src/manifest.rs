//! The public manifest: what anyone, the host included, may read and audit.

use serde::{Deserialize, Serialize};

use crate::crypto::KeySlot;
use crate::{Error, Result, FORMAT_MAJOR, MANIFEST_ENTRY};

/// The public manifest (`manifest.json`), signed by the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"legation"`.
    pub format: String,
    /// Format version, `MAJOR.MINOR`.
    pub version: String,
    /// Random archive id.
    #[serde(with = "crate::hex::array")]
    pub archive_id: [u8; 16],
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// The issuer's Ed25519 public key, or `None` for an unsigned archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Issuer>,
    /// Commitment to the data key ([`crate::crypto::DataKey::commitment`]).
    #[serde(with = "crate::hex::array")]
    pub key_commitment: [u8; 32],
    /// Key slots; any one opens the archive.
    pub key_slots: Vec<KeySlot>,
    /// Plaintext bytes per chunk of every encrypted stream.
    pub chunk_size: u64,
    /// Where the encrypted catalog is.
    pub catalog: CatalogRef,
    /// The decoders the archive carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoders: Vec<DecoderRef>,
    /// Every entry of the container except `manifest.json` and
    /// `manifest.sig`, in container order.
    pub entries: Vec<ManifestEntry>,
}

/// A decoder module stored in the archive, as the manifest describes it
/// (its bytes are pinned by the entry's BLAKE3 in `entries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderRef {
    /// Entry name: `d/`, the first 16 hex digits of the module's BLAKE3, `.wasm`.
    pub entry: String,
    /// Decoder name, from its `legation.decoder` section.
    pub name: String,
    /// Decoder version.
    pub version: String,
    /// ABI version.
    pub abi: u32,
    /// Media types it handles.
    pub media_types: Vec<String>,
    /// Limits metered into the module.
    pub limits: DecoderLimits,
}

/// The limits a metered decoder module carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderLimits {
    /// Fuel per call.
    pub fuel: u64,
    /// Largest call depth.
    pub max_depth: u32,
    /// Largest linear memory, in 64 KiB pages.
    pub max_memory_pages: u32,
}

/// Prefix of decoder entries.
pub const DECODER_PREFIX: &str = "d/";

/// The entry name of a decoder module with this BLAKE3.
pub fn decoder_entry(hash: &[u8; 32]) -> String {
    format!("{DECODER_PREFIX}{}.wasm", crate::hex::encode(&hash[..8]))
}

/// The issuer's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// Always `"ed25519"`.
    pub algorithm: String,
    /// The public key.
    #[serde(with = "crate::hex::array")]
    pub public_key: [u8; 32],
}

/// Where the catalog is and how large it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRef {
    /// Entry name of the catalog index.
    pub index: String,
    /// Number of catalog pages.
    pub pages: u64,
}

/// One stored entry as the manifest pins it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Entry name.
    pub name: String,
    /// Stored size in bytes.
    pub size: u64,
    /// CRC-32 the container header must carry.
    pub crc32: u32,
    /// BLAKE3 of the stored bytes.
    #[serde(with = "crate::hex::array")]
    pub blake3: [u8; 32],
}

impl Manifest {
    /// Parses and checks the version; unknown fields are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        // Look at the version first so a future major gets a clear error
        // even if its fields have changed shape.
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<String>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            entry: MANIFEST_ENTRY.into(),
            reason: e.to_string(),
        })?;
        if head.format.as_deref() != Some("legation") {
            return Err(Error::invalid(
                MANIFEST_ENTRY,
                "\"format\" is not \"legation\"",
            ));
        }
        let version = head.version.unwrap_or_default();
        let number = |s: &str| {
            (!s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse::<u32>().ok())
            .flatten()
        };
        let major = version
            .split_once('.')
            .and_then(|(m, n)| number(n).and(number(m)));
        if major != Some(FORMAT_MAJOR) {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_MAJOR,
            });
        }
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            entry: MANIFEST_ENTRY.into(),
            reason: e.to_string(),
        })?;
        if m.chunk_size != crate::crypto::CHUNK_SIZE as u64 {
            return Err(Error::invalid(
                MANIFEST_ENTRY,
                format!(
                    "chunk size {} is not {}",
                    m.chunk_size,
                    crate::crypto::CHUNK_SIZE
                ),
            ));
        }
        if m.catalog.index != crate::CATALOG_INDEX_ENTRY {
            return Err(Error::invalid(
                MANIFEST_ENTRY,
                format!(
                    "catalog index {:?} is not {:?}",
                    m.catalog.index,
                    crate::CATALOG_INDEX_ENTRY
                ),
            ));
        }
        if crate::time::parse_rfc3339(&m.created).is_none() {
            return Err(Error::invalid(
                MANIFEST_ENTRY,
                format!("created time {:?} is not RFC 3339 UTC", m.created),
            ));
        }
        if let Some(i) = &m.issuer {
            if i.algorithm != "ed25519" {
                return Err(Error::invalid(
                    MANIFEST_ENTRY,
                    format!("issuer algorithm {:?} is not ed25519", i.algorithm),
                ));
            }
        }
        Ok(m)
    }

    /// The manifest's canonical bytes: compact JSON, its recovery data as
    /// the last member (§5.5), and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = serde_json::to_vec(self).unwrap(); // plain data, always serializable
        crate::recovery::protect_manifest(&v)
    }
}

/// Formats a signature entry: 128 hex digits and a newline.
pub fn format_signature(sig: &[u8; 64]) -> Vec<u8> {
    let mut v = crate::hex::encode(sig).into_bytes();
    v.push(b'\n');
    v
}

/// Parses a signature entry.
pub fn parse_signature(bytes: &[u8]) -> Result<[u8; 64]> {
    let s = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.strip_suffix('\n'));
    s.and_then(crate::hex::decode_array).ok_or_else(|| {
        Error::invalid(
            crate::SIGNATURE_ENTRY,
            "not 128 lower-case hex digits and a newline",
        )
    })
}

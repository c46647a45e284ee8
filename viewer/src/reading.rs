//! What the screens ask of an archive that needs no egui: its public
//! facts, unlocking and what a failure says, key files, a record's view
//! checked for the record tab (or its first bytes when it has none), and
//! the names shown.

use std::path::Path;

use legation_format::catalog::{CatalogRecord, Render};
use legation_format::crypto::KeySlot;
use legation_format::keys::{self, Identity};
use legation_reader::decode::{Host, RenderError};
use legation_reader::{Archive, ErrorKind, Key as ArchiveKey, Signer, Unlocked};
use zeroize::Zeroizing;

use crate::platform::{Platform, RenderedRecord};

/// Bytes of a record shown raw when its decoder fails.
pub(crate) const RAW_PREVIEW: u64 = 64 << 10;

/// What anyone may see of an archive without a key.
pub(crate) struct Facts {
    pub(crate) version: String,
    pub(crate) archive_id: String,
    pub(crate) created: String,
    pub(crate) issuer: Result<Option<String>, String>,
    pub(crate) size: u64,
    pub(crate) entries: usize,
    pub(crate) record_entries: u64,
    pub(crate) record_bytes: u64,
    /// Records stored in bundles (2.0): `record_entries` counts records,
    /// not container entries.
    pub(crate) bundled: bool,
    pub(crate) key_slots: Vec<String>,
    pub(crate) decoders: Vec<String>,
}

impl Facts {
    pub(crate) fn of(a: &Archive) -> Facts {
        let m = a.manifest();
        // 2.0 keeps records in bundles: its signed head says how many
        // and their bytes; 1.x has one encrypted entry a record.
        let head = a
            .head_and_signatures()
            .and_then(|(h, _)| legation_format::v2::head::Head::parse(h).ok());
        let (record_entries, record_bytes) = match head {
            Some(h) => (h.records, h.bytes),
            None => m
                .entries
                .iter()
                .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX))
                .fold((0, 0), |(c, b), e| (c + 1, b + e.size)),
        };
        let issuer = match a.check_signature(None) {
            Ok(Signer::Valid { fingerprint, .. }) => Ok(Some(fingerprint)),
            Ok(Signer::Unsigned) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
        Facts {
            version: m.version.clone(),
            archive_id: legation_format::hex::encode(&m.archive_id),
            created: m.created.clone(),
            issuer,
            size: a.len(),
            entries: a.entries().len(),
            record_entries,
            record_bytes,
            bundled: a.is_v2(),
            key_slots: m
                .key_slots
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    KeySlot::X25519 { .. } => "identity (X25519)".to_owned(),
                    KeySlot::Passphrase { .. } => "passphrase (Argon2id)".to_owned(),
                    KeySlot::MlKem768X25519(_) => {
                        "post-quantum identity (ML-KEM-768 + X25519)".to_owned()
                    }
                    KeySlot::Quorum(q) => crate::shares::describe(q, i),
                    _ => "unknown kind".to_owned(),
                })
                .collect(),
            decoders: m
                .decoders
                .iter()
                .map(|d| format!("{} {}", d.name, d.version))
                .collect(),
        }
    }
}

/// Unlocks, saying plainly when the key is wrong.
pub(crate) fn unlock(archive: &Archive, keys: &[ArchiveKey]) -> Result<Unlocked, String> {
    archive.unlock(keys).map_err(|e| unlock_error(&e))
}

/// What the unlock form says when unlocking fails.
pub fn unlock_error(e: &legation_reader::Error) -> String {
    if let legation_reader::Error::Quorum(q) = e {
        // Named: too few shares, another archive's, a damaged one.
        return format!("Cannot unlock with these shares: {q}");
    }
    match e.kind() {
        // The reader's message says the same at more length.
        ErrorKind::WrongKey => {
            "Wrong passphrase or identity: it opens none of this archive's key slots. Check it and try again."
                .to_owned()
        }
        _ => format!("Cannot unlock: {e}"),
    }
}

/// Reads an identity (`NAME.key`) file, X25519 or post-quantum (SPEC
/// §7.11, known by its tag), wiping its bytes once parsed.
pub(crate) fn read_identity(platform: &dyn Platform, p: &Path) -> Result<ArchiveKey, String> {
    let bytes = Zeroizing::new(
        platform
            .read_file(p)
            .map_err(|e| format!("Cannot read identity file {}: {e}", p.display()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not an identity file (not text)", p.display()))?;
    if keys::key_file_tag(text) == Some(legation_format::pq::RECIPIENT_SECRET) {
        return legation_format::pq::PqIdentity::from_key_file(text, &p.display().to_string())
            .map(ArchiveKey::PqIdentity)
            .map_err(|e| e.to_string());
    }
    let k = keys::parse_key_file(text, keys::RECIPIENT_SECRET, &p.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(ArchiveKey::Identity(Identity::from(k)))
}

/// Reads an issuer's public key (`NAME.pub`) file: the 32 bytes to pin,
/// an Ed25519 key or a hybrid key's id (SPEC §27.4: both signatures).
pub(crate) fn read_issuer(platform: &dyn Platform, p: &Path) -> Result<[u8; 32], String> {
    let bytes = platform
        .read_file(p)
        .map_err(|e| format!("Cannot read issuer key {}: {e}", p.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not an issuer public key (not text)", p.display()))?;
    legation_format::pqsig::IssuerPublic::from_key_file(text, &p.display().to_string())
        .map(|k| k.pin())
        .map_err(|e| e.to_string())
}

/// The name to show for an archive: a file's name, or the last segment
/// of a URL's path (without its query, which for a presigned URL is
/// longer than the window and holds the signature).
pub(crate) fn file_name(p: &Path) -> String {
    let s = p.to_string_lossy();
    if s.contains("://") {
        let path = s.split(['?', '#']).next().unwrap_or_default();
        if let Some(last) = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|l| !l.is_empty())
        {
            return last.to_owned();
        }
    }
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Why a record cannot be shown, with its first bytes (or why they
/// cannot be read) and whether the raw view shows them as hex.
pub(crate) struct Failed {
    pub(crate) error: String,
    pub(crate) raw: Result<Vec<u8>, String>,
    pub(crate) as_hex: bool,
}

/// Renders a record with its decoder for the record tab: the main
/// document and the render hash, and page 1's canonical CBOR. Every page
/// is decoded for the render hash, one at a time; only the first is kept,
/// to be shown.
pub(crate) fn render_first(
    u: &Unlocked,
    host: &Host,
    rec: &CatalogRecord,
) -> Result<RenderedRecord, String> {
    let mut first_page = None;
    u.render_record_with(host, rec, &mut |n, cbor| {
        if n == 1 {
            first_page = Some(cbor.to_vec());
        }
    })
    .map(|rendered| RenderedRecord {
        rendered,
        first_page,
    })
    .map_err(|e: RenderError| e.to_string())
}

/// A record's documents, checked against the view limits, ready to lay out.
pub(crate) struct Checked {
    pub(crate) main: legation_document::Document,
    pub(crate) first_page: Option<legation_document::Document>,
    /// Whether the view hashes to the one recorded at packing.
    pub(crate) matches_recorded: Option<bool>,
}

/// Checks a decoder's documents, or says why the record shows raw (with
/// its first bytes, at most [`RAW_PREVIEW`], which `raw` reads wherever
/// the record is stored).
pub(crate) fn check_view_with(
    raw: &dyn Fn() -> Result<Vec<u8>, String>,
    rec: &CatalogRecord,
    r: Result<RenderedRecord, String>,
    limits: &legation_document::Limits,
) -> Result<Checked, Failed> {
    let fail = |error: String| {
        let raw = raw();
        Failed {
            error,
            raw,
            as_hex: true,
        }
    };
    let r = r.map_err(fail)?;
    let parse = |cbor: &[u8]| {
        legation_document::Document::from_cbor(cbor, limits)
            .map_err(|e| fail(format!("the decoder's view is invalid: {e}")))
    };
    let main = parse(&r.rendered.main)?;
    let first_page = r.first_page.as_deref().map(parse).transpose()?;
    let matches_recorded = match &rec.render {
        Some(Render::Rendered { blake3, .. }) => Some(*blake3 == r.rendered.hash()),
        _ => None,
    };
    Ok(Checked {
        main,
        first_page,
        matches_recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_archives_and_urls() {
        let name = |s: &str| file_name(Path::new(s));
        assert_eq!(name("/srv/copies/demo.lgn"), "demo.lgn");
        assert_eq!(name("s3://embassy/2026/demo.lgn"), "demo.lgn");
        assert_eq!(
            name("http://127.0.0.1:3900/embassy/demo.lgn?X-Amz-Credential=GK1/20261127/garage/s3/aws4_request&X-Amz-Signature=ab"),
            "demo.lgn"
        );
        assert_eq!(name("https://example.org/a/b.lgn#top"), "b.lgn");
    }
}

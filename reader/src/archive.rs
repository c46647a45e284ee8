//! Opening an archive: the end records, the central directory and the
//! manifest, and nothing else.

use std::sync::Arc;

use legation_format::container::{self, Entry};
use legation_format::manifest::{self, Manifest};
use legation_format::{crypto, recovery, MANIFEST_ENTRY, SIGNATURE_ENTRY};

use crate::source::ReadAt;
use crate::{Error, Result};

/// Largest central directory accepted (1 GiB: about 17 million entries).
pub const MAX_DIRECTORY: u64 = 1 << 30;
/// Largest manifest accepted (512 MiB).
pub const MAX_MANIFEST: u64 = 512 << 20;

/// An open archive. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct Archive {
    inner: Arc<Inner>,
}

struct Inner {
    source: Box<dyn ReadAt>,
    entries: Vec<Entry>,
    by_name: NameIndex,
    manifest: Manifest,
    manifest_bytes: Vec<u8>,
    /// Whether the stored manifest was damaged and its bytes were put
    /// right from its own recovery data (§5.5).
    manifest_recovered: bool,
    signature: Option<[u8; 64]>,
    /// Why the signature entry could not be read, when it is damaged.
    signature_damaged: Option<String>,
    /// For a format 2.0 archive, what opening read of its public tail.
    v2: Option<crate::v2::Opened>,
}

/// Who signed the manifest, as far as the signature tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Signed with this key, and the signature verifies.
    Valid {
        /// The issuer's public key.
        public_key: [u8; 32],
        /// Its fingerprint.
        fingerprint: String,
    },
    /// The archive carries no signature.
    Unsigned,
}

impl Archive {
    /// Opens an archive: reads and checks the end records, the central
    /// directory and the manifest, and checks that the manifest lists
    /// exactly the container's entries. Does not read records.
    pub fn open(source: impl ReadAt + 'static) -> Result<Self> {
        let source: Box<dyn ReadAt> = Box::new(source);
        let len = source.len();
        let tail_len = len.min(container::TAIL_LEN as u64);
        let mut tail = vec![0u8; tail_len as usize];
        read(&*source, len - tail_len, &mut tail, "the end records")?;
        let dir = container::parse_end(&tail, len)?;
        if dir.size > MAX_DIRECTORY {
            return Err(Error::TooLarge {
                entry: "central directory".into(),
                size: dir.size,
                limit: MAX_DIRECTORY,
            });
        }
        let mut cd = vec![0u8; dir.size as usize];
        read(&*source, dir.offset, &mut cd, "the central directory")?;
        let entries = container::parse_directory(&cd, &dir)?;
        drop(cd);
        let by_name = NameIndex::new(&entries);

        let first = entries
            .first()
            .ok_or_else(|| Error::NotLegation("the container is empty".into()))?;
        if first.name != legation_format::MIMETYPE_ENTRY
            || first.size != legation_format::MEDIA_TYPE.len() as u64
        {
            return Err(Error::NotLegation(format!(
                "first entry is {:?}, not the mimetype entry",
                first.name
            )));
        }
        let mut mt = vec![0u8; first.size as usize];
        read(&*source, first.data_offset(), &mut mt, "mimetype")?;
        if mt != legation_format::MEDIA_TYPE.as_bytes() {
            return Err(Error::NotLegation(
                "mimetype entry does not hold application/vnd.legation.archive+zip".into(),
            ));
        }

        if crate::v2::open::is_v2(&|name| by_name.get(&entries, name).is_some()) {
            let (opened, manifest) = crate::v2::open::open(&*source, &entries)?;
            return Ok(Archive {
                inner: Arc::new(Inner {
                    source,
                    entries,
                    by_name,
                    manifest,
                    manifest_bytes: opened.head_bytes.clone(),
                    manifest_recovered: !opened.recovered.is_empty(),
                    signature: None,
                    signature_damaged: None,
                    v2: Some(opened),
                }),
            });
        }

        let m = by_name
            .get(&entries, MANIFEST_ENTRY)
            .map(|i| &entries[i])
            .ok_or_else(|| Error::MissingEntry {
                entry: MANIFEST_ENTRY.into(),
            })?;
        if m.size > MAX_MANIFEST {
            return Err(Error::TooLarge {
                entry: MANIFEST_ENTRY.into(),
                size: m.size,
                limit: MAX_MANIFEST,
            });
        }
        let mut manifest_bytes = vec![0u8; m.size as usize];
        read(
            &*source,
            m.data_offset(),
            &mut manifest_bytes,
            MANIFEST_ENTRY,
        )?;
        let mut manifest_recovered = false;
        if crc32fast_hash(&manifest_bytes) != m.crc32 {
            // Damaged: put right from its recovery data, if the result has
            // the CRC-32 of the header (the signature is checked later).
            let crc = m.crc32;
            manifest_bytes =
                recovery::recover_manifest(&manifest_bytes, &|b| crc32fast_hash(b) == crc)
                    .ok_or_else(|| Error::ManifestMismatch {
                        entry: MANIFEST_ENTRY.into(),
                        what: "CRC-32 differs from its header (damaged), and its recovery \
                               data cannot put it right"
                            .into(),
                    })?;
            manifest_recovered = true;
        }
        let manifest = Manifest::parse(&manifest_bytes)?;

        // A damaged signature does not stop the archive being read: the
        // signer just cannot be checked (check_signature says so).
        let mut signature_damaged = None;
        let signature = match by_name.get(&entries, SIGNATURE_ENTRY) {
            Some(i) => {
                let e = &entries[i];
                if e.size != 129 {
                    return Err(Error::ManifestMismatch {
                        entry: SIGNATURE_ENTRY.into(),
                        what: format!("is {} bytes, not 129", e.size),
                    });
                }
                let mut b = vec![0u8; 129];
                read(&*source, e.data_offset(), &mut b, SIGNATURE_ENTRY)?;
                if crc32fast_hash(&b) != e.crc32 {
                    signature_damaged = Some("its CRC-32 differs from its headers".to_owned());
                    None
                } else {
                    match manifest::parse_signature(&b) {
                        Ok(s) => Some(s),
                        Err(err) => {
                            signature_damaged = Some(err.to_string());
                            None
                        }
                    }
                }
            }
            None => None,
        };
        let signed = signature.is_some() || signature_damaged.is_some();
        check_manifest_against_container(&manifest, &entries, signed)?;
        Ok(Archive {
            inner: Arc::new(Inner {
                source,
                entries,
                by_name,
                manifest,
                manifest_bytes,
                manifest_recovered,
                signature,
                signature_damaged,
                v2: None,
            }),
        })
    }

    /// Whether the stored manifest is damaged and was put right in memory
    /// from its own recovery data (§5.5): the archive reads as it should,
    /// and fixity reports the damage; `repair` writes a whole copy.
    pub fn manifest_recovered(&self) -> bool {
        self.inner.manifest_recovered || self.inner.v2.as_ref().is_some_and(|v| v.any_recovered())
    }

    /// The public manifest. For a format 2.0 archive, its public facts
    /// (`public.json`) in the manifest's shape, with no `entries`: 2.0
    /// pins entries in its entry table ([`Archive::manifest_entry`]),
    /// which opening does not read.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }
    /// The manifest's stored bytes (what the signature covers); for a
    /// format 2.0 archive, the head's.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.inner.manifest_bytes
    }
    /// Whether the archive is of format 2.0 (else 1.x).
    pub fn is_v2(&self) -> bool {
        self.inner.v2.is_some()
    }
    /// A format 2.0 archive's `head` and `signatures` bytes, as stored.
    pub fn head_and_signatures(&self) -> Option<(&[u8], &[u8])> {
        let v = self.inner.v2.as_ref()?;
        Some((&v.head_bytes, &v.signatures_bytes))
    }
    /// What opening read of a 2.0 archive's public tail.
    pub(crate) fn v2(&self) -> Option<&crate::v2::Opened> {
        self.inner.v2.as_ref()
    }
    /// The container's entries in order.
    pub fn entries(&self) -> &[Entry] {
        &self.inner.entries
    }
    /// The source's name (path or URL).
    pub fn name(&self) -> &str {
        self.inner.source.name()
    }
    /// The archive's size in bytes.
    pub fn len(&self) -> u64 {
        self.inner.source.len()
    }
    /// Whether the archive is empty (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The source.
    pub fn source(&self) -> &dyn ReadAt {
        &*self.inner.source
    }
    /// An entry by name.
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.inner
            .by_name
            .get(&self.inner.entries, name)
            .map(|i| &self.inner.entries[i])
            .ok_or_else(|| Error::MissingEntry { entry: name.into() })
    }
    /// The manifest's record of an entry (same index as in the container);
    /// for format 2.0, the entry table's row (the table is read the first
    /// time this is asked; `entries-tree`, `entries`, `public.json`,
    /// `head` and `signatures` have no row).
    pub fn manifest_entry(&self, name: &str) -> Result<&legation_format::manifest::ManifestEntry> {
        let i = self
            .inner
            .by_name
            .get(&self.inner.entries, name)
            .ok_or_else(|| Error::MissingEntry { entry: name.into() })?;
        let list = match &self.inner.v2 {
            Some(v) => v.table(self.source(), &self.inner.entries)?,
            None => &self.inner.manifest.entries[..],
        };
        list.get(i).ok_or_else(|| Error::ManifestMismatch {
            entry: name.into(),
            what: "has no row in the entry table (it is the table's tree or one of the last four)"
                .into(),
        })
    }

    /// Checks the manifest signature. Without `pinned`, any valid signer
    /// (or none) is reported; with it, the signer must be that key.
    pub fn check_signature(&self, pinned: Option<&[u8; 32]>) -> Result<Signer> {
        if let Some(v) = &self.inner.v2 {
            return v.check_signature(pinned).map_err(Error::for_v2);
        }
        if let Some(what) = &self.inner.signature_damaged {
            return Err(Error::SignatureDamaged { what: what.clone() });
        }
        let signer = match (&self.inner.manifest.issuer, &self.inner.signature) {
            (Some(issuer), Some(sig)) => {
                if !crypto::verify_signature(&issuer.public_key, &self.inner.manifest_bytes, sig) {
                    return Err(Error::BadSignature);
                }
                Signer::Valid {
                    public_key: issuer.public_key,
                    fingerprint: crypto::fingerprint(&issuer.public_key),
                }
            }
            (None, None) => Signer::Unsigned,
            // Checked at open: an issuer always comes with a signature.
            _ => return Err(Error::BadSignature),
        };
        match (pinned, &signer) {
            (Some(p), Signer::Unsigned) => Err(Error::Unsigned {
                expected: crypto::fingerprint(p),
            }),
            (
                Some(p),
                Signer::Valid {
                    public_key,
                    fingerprint,
                },
            ) if public_key != p => Err(Error::WrongIssuer {
                expected: crypto::fingerprint(p),
                found: fingerprint.clone(),
            }),
            _ => Ok(signer),
        }
    }

    /// Reads a whole entry of at most `limit` bytes and checks its BLAKE3
    /// against the manifest.
    pub fn read_entry(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let e = self.entry(name)?;
        if e.size > limit {
            return Err(Error::TooLarge {
                entry: name.into(),
                size: e.size,
                limit,
            });
        }
        let mut buf = vec![0u8; e.size as usize];
        self.read_at(e.data_offset(), &mut buf, name)?;
        let want = self.manifest_entry(name)?.blake3;
        if blake3::hash(&buf).as_bytes() != &want {
            // A damaged catalog page or index is rebuilt from its stripe.
            return match self.rebuild_catalog_member(name) {
                Some(b) => Ok(b),
                None => Err(Error::EntryHash {
                    entry: name.into(),
                    pinned_by: if self.v2().is_some() {
                        crate::Pin::EntryTable
                    } else {
                        crate::Pin::Manifest
                    },
                }),
            };
        }
        Ok(buf)
    }

    /// The catalog entry `name` (a page, the index or a parity entry)
    /// rebuilt from the rest of its stripe (§10.8), every part checked
    /// against its BLAKE3; `None` if the archive has no parity, `name` is
    /// none of these, or another part of the stripe is damaged too.
    pub(crate) fn rebuild_catalog_member(&self, name: &str) -> Option<Vec<u8>> {
        let intact = |n: &str| -> Option<Vec<u8>> {
            let e = self.entry(n).ok()?;
            let mut b = vec![0u8; usize::try_from(e.size).ok()?];
            self.read_at(e.data_offset(), &mut b, n).ok()?;
            (blake3::hash(&b).as_bytes() == &self.manifest_entry(n).ok()?.blake3).then_some(b)
        };
        let e = self.entry(name).ok()?;
        let b =
            recovery::rebuild_catalog_entry(name, self.manifest().catalog.pages, e.size, &intact)?;
        (blake3::hash(&b).as_bytes() == &self.manifest_entry(name).ok()?.blake3).then_some(b)
    }

    /// Reads bytes from the source; `what` names them in errors.
    pub fn read_at(&self, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
        read(&*self.inner.source, offset, buf, what)
    }
}

/// Entry indices sorted by name, for lookups by binary search without a
/// second copy of every name.
struct NameIndex(Vec<u32>);

impl NameIndex {
    fn new(entries: &[Entry]) -> Self {
        let mut v: Vec<u32> = (0..entries.len() as u32).collect();
        v.sort_unstable_by(|&a, &b| entries[a as usize].name.cmp(&entries[b as usize].name));
        NameIndex(v)
    }
    fn get(&self, entries: &[Entry], name: &str) -> Option<usize> {
        let i = self
            .0
            .binary_search_by(|&i| entries[i as usize].name.as_str().cmp(name))
            .ok()?;
        Some(self.0[i] as usize)
    }
}

/// Every decoder the manifest lists is one of its entries, named after
/// its own BLAKE3, and listed once.
pub(crate) fn check_decoders(m: &Manifest) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for d in &m.decoders {
        let bad = |what: String| {
            Err(Error::ManifestMismatch {
                entry: d.entry.clone(),
                what,
            })
        };
        let Some(e) = m.entries.iter().find(|e| e.name == d.entry) else {
            return bad("decoder listed in the manifest but not among its entries".into());
        };
        if legation_format::manifest::decoder_entry(&e.blake3) != d.entry {
            return bad("decoder entry is not named after its BLAKE3".into());
        }
        if !seen.insert(&d.entry) {
            return bad("decoder listed twice".into());
        }
    }
    Ok(())
}

fn read(source: &dyn ReadAt, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
    source
        .read_exact_at(offset, buf)
        .map_err(|e| Error::Source {
            what: what.into(),
            source_name: source.name().into(),
            source: e,
        })
}

fn crc32fast_hash(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b);
    h.finalize()
}

/// The manifest must list every entry but itself and the signature, in
/// container order, with the same sizes and CRCs; those two come last.
fn check_manifest_against_container(m: &Manifest, entries: &[Entry], signed: bool) -> Result<()> {
    check_decoders(m)?;
    let tail = if signed { 2 } else { 1 };
    if m.issuer.is_some() != signed {
        return Err(Error::ManifestMismatch {
            entry: SIGNATURE_ENTRY.into(),
            what: if signed {
                "present but the manifest names no issuer"
            } else {
                "missing but the manifest names an issuer"
            }
            .into(),
        });
    }
    let n = entries.len();
    if n < tail + 1
        || entries[n - tail].name != MANIFEST_ENTRY
        || (signed && entries[n - 1].name != SIGNATURE_ENTRY)
    {
        return Err(Error::ManifestMismatch {
            entry: MANIFEST_ENTRY.into(),
            what: "manifest.json (and manifest.sig) must be the last entries".into(),
        });
    }
    let listed = &entries[..n - tail];
    if listed.len() != m.entries.len() {
        return Err(Error::ManifestMismatch {
            entry: MANIFEST_ENTRY.into(),
            what: format!(
                "lists {} entries but the container holds {}",
                m.entries.len(),
                listed.len()
            ),
        });
    }
    for (c, me) in listed.iter().zip(&m.entries) {
        if c.name != me.name {
            return Err(Error::ManifestMismatch {
                entry: c.name.clone(),
                what: format!("the manifest lists {:?} at this position", me.name),
            });
        }
        if c.size != me.size || c.crc32 != me.crc32 {
            return Err(Error::ManifestMismatch {
                entry: c.name.clone(),
                what: format!(
                    "container says {} bytes with CRC {:08x}, manifest {} bytes with CRC {:08x}",
                    c.size, c.crc32, me.size, me.crc32
                ),
            });
        }
    }
    Ok(())
}

//! Container surgery: take an archive apart into named entries, change
//! them, and put it back together in canonical form (or deliberately not).

use legation_format::catalog::{self, Page};
use legation_format::container::{self, Entry};
use legation_format::crypto::{self, DataKey, StreamId};
use legation_format::keys::IssuerKey;
use legation_format::manifest::{self, Manifest, ManifestEntry};
use legation_reader::{source::MemSource, Archive, Key};
use zeroize::Zeroizing;

/// An archive as a list of named entries.
#[derive(Clone)]
pub struct Raw {
    /// Entries in container order.
    pub entries: Vec<(String, Vec<u8>)>,
}

impl Raw {
    /// Takes a canonical archive apart.
    pub fn parse(bytes: &[u8]) -> Raw {
        let tail = &bytes[bytes.len().saturating_sub(container::TAIL_LEN)..];
        let dir = container::parse_end(tail, bytes.len() as u64).unwrap();
        let list = container::parse_directory(
            &bytes[dir.offset as usize..(dir.offset + dir.size) as usize],
            &dir,
        )
        .unwrap();
        Raw {
            entries: list
                .iter()
                .map(|e| {
                    (
                        e.name.clone(),
                        bytes[e.data_offset() as usize..e.end() as usize].to_vec(),
                    )
                })
                .collect(),
        }
    }

    /// Puts the entries together as a canonical container (names are not
    /// checked, so hostile names can be written).
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut list = Vec::new();
        for (name, data) in &self.entries {
            let e = Entry {
                name: name.clone(),
                size: data.len() as u64,
                crc32: crc32fast::hash(data),
                offset: out.len() as u64,
            };
            out.extend(container::local_header(name, e.size, e.crc32));
            out.extend_from_slice(data);
            list.push(e);
        }
        let cd_offset = out.len() as u64;
        for e in &list {
            out.extend(container::central_header(e));
        }
        let cd_size = out.len() as u64 - cd_offset;
        out.extend(container::end_records(
            list.len() as u64,
            cd_offset,
            cd_size,
        ));
        out
    }

    /// The data of an entry.
    pub fn get(&self, name: &str) -> &Vec<u8> {
        &self
            .entries
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .1
    }

    /// The data of an entry, to change.
    pub fn get_mut(&mut self, name: &str) -> &mut Vec<u8> {
        &mut self
            .entries
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .1
    }

    /// Names of the record entries.
    pub fn record_entries(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n.starts_with(legation_format::RECORD_PREFIX))
            .collect()
    }

    /// The manifest.
    pub fn manifest(&self) -> Manifest {
        Manifest::parse(self.get(legation_format::MANIFEST_ENTRY)).unwrap()
    }

    /// Replaces the manifest bytes and the signature, as an issuer would:
    /// `signer` signs (and becomes the manifest's issuer), `None` strips
    /// the signature.
    pub fn set_manifest_bytes(&mut self, bytes: Vec<u8>, signer: Option<&IssuerKey>) {
        self.entries
            .retain(|(n, _)| n != legation_format::SIGNATURE_ENTRY);
        *self.get_mut(legation_format::MANIFEST_ENTRY) = bytes.clone();
        if let Some(k) = signer {
            let sig = manifest::format_signature(&crypto::sign(k.secret(), &bytes));
            self.entries
                .push((legation_format::SIGNATURE_ENTRY.into(), sig));
        }
    }

    /// Recomputes the manifest's entry list from the entries, sets the
    /// issuer to `signer` and signs: a forgery by whoever holds `signer`.
    pub fn reseal(&mut self, signer: Option<&IssuerKey>, edit: impl FnOnce(&mut Manifest)) {
        let mut m = self.manifest();
        m.entries = self
            .entries
            .iter()
            .filter(|(n, _)| {
                n != legation_format::MANIFEST_ENTRY && n != legation_format::SIGNATURE_ENTRY
            })
            .map(|(n, d)| ManifestEntry {
                name: n.clone(),
                size: d.len() as u64,
                crc32: crc32fast::hash(d),
                blake3: *blake3::hash(d).as_bytes(),
            })
            .collect();
        m.issuer = signer.map(|k| manifest::Issuer {
            algorithm: "ed25519".into(),
            public_key: k.public(),
        });
        edit(&mut m);
        // Keep manifest.json (and manifest.sig) last.
        let mf = self
            .entries
            .iter()
            .position(|(n, _)| n == legation_format::MANIFEST_ENTRY)
            .unwrap();
        let entry = self.entries.remove(mf);
        self.entries
            .retain(|(n, _)| n != legation_format::SIGNATURE_ENTRY);
        self.entries.push(entry);
        self.set_manifest_bytes(m.to_bytes(), signer);
    }

    /// The data key, found with the sample passphrase.
    pub fn data_key(&self) -> DataKey {
        let a = Archive::open(MemSource::new(self.build(), "raw")).unwrap();
        let u = a
            .unlock(&[Key::Passphrase(Zeroizing::new(crate::PASSPHRASE.into()))])
            .unwrap();
        u.data_key().clone()
    }

    /// Decrypts catalog page `n`, lets `edit` change it, and seals it again.
    pub fn edit_page(&mut self, key: &DataKey, n: u64, edit: impl FnOnce(&mut Page)) {
        let id = self.manifest().archive_id;
        let name = legation_format::catalog_page_entry(n);
        let sk = key.stream_key(&id, StreamId::CatalogPage(n));
        let json = catalog::inflate(
            &crypto::open_stream(&sk, self.get(&name)).unwrap(),
            catalog::MAX_PAGE_BYTES,
            &name,
        )
        .unwrap();
        let mut page: Page = serde_json::from_slice(&json).unwrap();
        edit(&mut page);
        *self.get_mut(&name) =
            crypto::seal_stream(&sk, &catalog::deflate(&serde_json::to_vec(&page).unwrap()));
    }

    /// The catalog page `n`, decrypted.
    pub fn page(&self, key: &DataKey, n: u64) -> Page {
        let mut copy = self.clone();
        let mut out = None;
        copy.edit_page(key, n, |p| out = Some(p.clone()));
        out.unwrap()
    }
}

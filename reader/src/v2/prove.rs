//! One-record proofs: what `legation prove` writes and the viewers export.
//! Finding the record reads one page; its leaves (one page's) give the
//! path within the page, the index's page roots the path over pages.

use legation_format::v2::proof::{self, Proof};
use legation_format::v2::{page, tree};

use super::Catalog;
use crate::{Error, Result, Unlocked};

impl Unlocked {
    /// The proof that the record at `path`, with the bytes its catalog
    /// facts pin, is in the archive the head's signatures sign (design
    /// note §6, §11). Reads one page; refuses a format 1.x archive, which
    /// carries no records tree.
    pub fn prove(&self, path: &str) -> Result<Proof> {
        let Some(cat) = self.v2() else {
            return Err(Error::NoRecordsTree {
                archive: self.archive().name().into(),
            });
        };
        let archive = self.archive();
        let opened = archive.v2().expect("a 2.0 archive");
        let none = || Error::NoSuchRecord { path: path.into() };
        let p = cat.page_for(path).ok_or_else(none)?;
        let raw: Vec<page::Record> = cat.raw_page(archive, self.data_key(), p)?;
        let i = raw
            .binary_search_by(|r| r.path.as_str().cmp(path))
            .map_err(|_| none())?;
        let id = archive.manifest().archive_id;
        let mut leaves = Vec::with_capacity(raw.len());
        for r in &raw {
            leaves.push(Catalog::leaf_hash(&id, self.data_key(), r)?);
        }
        let pref = &cat.index.pages[p];
        if tree::root(&leaves) != pref.root {
            return Err(Error::ManifestMismatch {
                entry: legation_format::v2::page_entry(p as u64),
                what: "its records' tree root differs from the index's".into(),
            });
        }
        let salt = tree::record_salt(self.data_key(), &id, path);
        let leaf = raw[i].leaf(&salt)?;
        // SPEC 2.0 §29.2 step 1: a checker refuses a longer leaf, so such
        // a record (a title or metadata of tens of kilobytes) cannot be
        // proven; say so rather than write a proof no one accepts.
        if leaf.len() > proof::MAX_LEAF {
            return Err(legation_format::Error::invalid(
                "proof",
                format!(
                    "{path}: the record's leaf is {} bytes, more than the {} a proof may carry \
                     (its title or metadata are too long to be proven)",
                    leaf.len(),
                    proof::MAX_LEAF
                ),
            )
            .into());
        }
        let page_roots: Vec<[u8; 32]> = cat
            .index
            .pages
            .iter()
            .map(|q| tree::leaf_hash(&q.root))
            .collect();
        if tree::root(&page_roots) != opened.head.records_root {
            return Err(Error::ManifestMismatch {
                entry: legation_format::v2::HEAD_ENTRY.into(),
                what: "records-root differs from the root over the index's page roots".into(),
            });
        }
        Ok(Proof {
            page: p as u64,
            pages: page_roots.len() as u64,
            record: i as u64,
            page_records: raw.len() as u64,
            leaf,
            page_path: tree::path(&leaves, i),
            pages_path: tree::path(&page_roots, p),
            head: opened.head_bytes.clone(),
            signatures: opened.signatures_bytes.clone(),
        })
    }
}

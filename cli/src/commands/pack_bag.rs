//! `pack BAG --from-bag`: a BagIt bag (RFC 8493) validated, then its
//! payload packed as the records, `bag-info.txt` kept as archive-level
//! metadata under `.legation/`, and every record's bytes as packed
//! checked against the bag's manifest.
//!
//! The archive's records are the files under `data/`, at their paths
//! below it (so `extract` gives back the payload as it was, and
//! `extract --to-bag` a bag of it). Two records under the reserved
//! folder `.legation/` (SPEC §11.6) keep what is not payload:
//! `.legation/bag-info.txt`, the bag's `bag-info.txt` byte for byte (when
//! it has one), and `.legation/bag-validation.txt`, what was checked at
//! packing, which `legation premis` reports as the validation event.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::pack::{Found, FoundRecord, RecordSink};
use legation_format::writer::{RecordMeta, RecordSource};
use legation_interchange::bagit::{nfc, Algorithm, Bag, Hasher};

/// The folder of records that are not payload (SPEC §11.6); a bag whose
/// payload has a top-level folder of this name is refused.
pub const RESERVED: &str = ".legation/";
/// The bag's own `bag-info.txt`, byte for byte.
pub const BAG_INFO_RECORD: &str = ".legation/bag-info.txt";
/// What was validated at packing (BagIt tag-file syntax).
pub const VALIDATION_RECORD: &str = ".legation/bag-validation.txt";

/// Whether `dir` looks like a bag: a `bagit.txt` file beside a `data`
/// folder.
pub fn looks_like_bag(dir: &Path) -> bool {
    dir.join("bagit.txt").is_file() && dir.join("data").is_dir()
}

/// A bag that passed validation, ready to be packed.
pub struct FromBag {
    root: PathBuf,
    /// The algorithm of the cross-check: the strongest the bag has.
    algorithm: Algorithm,
    /// Record path (below `data/`, NFC) -> its checksum in the bag's
    /// manifest of `algorithm`.
    sums: HashMap<String, String>,
    /// Payload files the validation read.
    files: u64,
    /// The records under `.legation/`, in path order.
    reserved: Vec<FoundRecord>,
    /// The validation record's file, removed when packing is over.
    scratch: PathBuf,
}

impl Drop for FromBag {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.scratch);
    }
}

/// The strongest of the bag's payload algorithms, which the cross-check
/// computes again over the bytes packed.
fn strongest(algorithms: &[Algorithm]) -> Option<Algorithm> {
    [
        Algorithm::Sha512,
        Algorithm::Sha256,
        Algorithm::Sha1,
        Algorithm::Md5,
    ]
    .into_iter()
    .find(|a| algorithms.contains(a))
}

impl FromBag {
    /// Reads and validates the bag in `root` (every payload file through
    /// every manifest algorithm, completeness both ways, `Payload-Oxum`,
    /// tag manifests), refusing an invalid bag with every failing file
    /// named, and a payload name that no record may have. `scratch` is a
    /// file name free for the validation record; `created` the archive's
    /// creation time.
    pub fn prepare(root: &Path, scratch: PathBuf, created: i64) -> Result<FromBag> {
        let bag = Bag::open(root).map_err(|e| anyhow!("{}: {e}", root.display()))?;
        let report = bag
            .validate()
            .map_err(|e| anyhow!("{}: {e}", root.display()))?;
        if !report.is_valid() {
            let mut why = String::new();
            for p in &report.problems {
                why.push_str("\n  ");
                why.push_str(&crate::view::sanitize(&p.to_string()));
            }
            bail!(
                "{} is not a valid bag ({} problem{}), nothing packed:{why}",
                root.display(),
                report.problems.len(),
                if report.problems.len() == 1 { "" } else { "s" }
            );
        }
        let mut refused = Vec::new();
        for p in bag.payload_paths() {
            let rel = p.strip_prefix("data/").unwrap_or(p);
            if rel.contains(['\n', '\r']) {
                refused.push(format!(
                    "{rel:?}: a line break in a name (which a manifest can carry as %0A or %0D) \
                     cannot be in a record path (SPEC §10.6)"
                ));
            } else if nfc(rel).starts_with(RESERVED) {
                refused.push(format!(
                    "{rel:?}: the top-level folder .legation/ of the payload is reserved for \
                     what is not payload (SPEC §11.6)"
                ));
            }
        }
        if !refused.is_empty() {
            bail!(
                "{}: {} payload name{} cannot be packed, nothing packed:\n  {}",
                root.display(),
                refused.len(),
                if refused.len() == 1 { "" } else { "s" },
                refused.join("\n  ")
            );
        }
        // Validation read every file through every algorithm; any of them
        // would do, and the strongest is the one worth re-checking.
        let algorithm = strongest(&bag.algorithms)
            .ok_or_else(|| anyhow!("{}: the bag has no payload manifest", root.display()))?;
        let mut sums = HashMap::new();
        let key = |p: &str| nfc(p.strip_prefix("data/").unwrap_or(p));
        for p in bag.payload_paths() {
            if let Some(sum) = bag.checksum(p, algorithm) {
                sums.insert(key(p), sum.to_owned());
            }
        }
        // A file whose manifest line bagit-python wrote undecoded (`%25`
        // as it is) is on disk under that name.
        for (raw, decoded) in bag.undecoded_paths() {
            if let Some(sum) = bag.checksum(decoded, algorithm) {
                sums.insert(key(raw), sum.to_owned());
            }
        }
        let tag_algorithms = bag
            .tag_algorithms
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>();
        let mut text = String::new();
        let mut line = |k: &str, v: &str| {
            text.push_str(k);
            text.push_str(": ");
            text.push_str(v);
            text.push('\n');
        };
        line("Validated", &legation_format::time::format_rfc3339(created));
        line("Validating-Agent", &agent());
        line("BagIt-Version", &bag.version);
        let manifests = bag.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>();
        line("Payload-Manifests", &manifests.join(" "));
        if tag_algorithms.is_empty() {
            line("Tag-Manifests", "none");
        } else {
            line("Tag-Manifests", &tag_algorithms.join(" "));
        }
        line(
            "Payload-Oxum",
            &format!("{}.{}", report.octets, report.files),
        );
        line(
            "Checks",
            "every payload file against every payload manifest, completeness both ways, \
             Payload-Oxum, every tag file against every tag manifest",
        );
        line("Outcome", "valid");
        line(
            "Cross-Check",
            &format!(
                "{} of every record's bytes as packed equal to the bag's manifest-{}.txt",
                algorithm.name(),
                algorithm.name()
            ),
        );
        fs::write(&scratch, text.as_bytes())
            .with_context(|| format!("writing {}", scratch.display()))?;
        let mut reserved = Vec::new();
        let info = root.join("bag-info.txt");
        if info.is_file() {
            reserved.push(reserved_record(BAG_INFO_RECORD, &info)?);
        }
        reserved.push(reserved_record(VALIDATION_RECORD, &scratch)?);
        reserved.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(FromBag {
            root: root.to_owned(),
            algorithm,
            sums,
            files: report.files,
            reserved,
            scratch,
        })
    }

    /// The folder whose files are the records: the bag's `data/`.
    pub fn payload(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The walk of the payload with the `.legation/` records merged in at
    /// their place in record order.
    pub fn merge<'a>(
        &self,
        walk: impl Iterator<Item = legation_format::Result<Found>> + Send + 'a,
    ) -> impl Iterator<Item = legation_format::Result<Found>> + Send + 'a {
        merge_reserved(self.reserved.clone(), walk)
    }

    /// A sink that checks each payload record's bytes against the bag's
    /// manifest before (or, when streamed, as) they go into `inner`.
    pub fn cross_check<'a, S: RecordSink>(&'a self, inner: &'a mut S) -> CrossCheck<'a, S> {
        CrossCheck {
            bag: self,
            inner,
            checked: 0,
        }
    }
}

/// A walk with `reserved` (records under `.legation/`, in path order)
/// merged in at their place in record order; a record of the walk under
/// `.legation/` ends it with an error (SPEC §11.6).
pub fn merge_reserved<'a>(
    reserved: Vec<FoundRecord>,
    walk: impl Iterator<Item = legation_format::Result<Found>> + Send + 'a,
) -> impl Iterator<Item = legation_format::Result<Found>> + Send + 'a {
    let mut reserved = reserved.into_iter().peekable();
    let mut walk = walk.peekable();
    std::iter::from_fn(move || {
        let before = match (reserved.peek(), walk.peek()) {
            (Some(_), None) => true,
            (Some(r), Some(Ok(Found::Record(w)))) => r.path < w.path,
            _ => false,
        };
        if before {
            return reserved.next().map(|r| Ok(Found::Record(r)));
        }
        let next = walk.next()?;
        if let Ok(Found::Record(r)) = &next {
            if r.path.starts_with(RESERVED) {
                return Some(Err(legation_format::Error::Unsupported {
                    path: r.path.clone(),
                    what: "is under .legation/, a folder packing keeps for what is not \
                           a record of the folder (SPEC §11.6)"
                        .into(),
                }));
            }
        }
        Some(next)
    })
}

/// `legation` and its version, as agents and tag files name it.
pub fn agent() -> String {
    format!("legation {}", env!("CARGO_PKG_VERSION"))
}

fn reserved_record(path: &str, file: &Path) -> Result<FoundRecord> {
    let meta = fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    Ok(FoundRecord {
        path: path.to_owned(),
        file: file.to_owned(),
        size: meta.len(),
        modified,
        sidecar: None,
    })
}

/// See [`FromBag::cross_check`].
pub struct CrossCheck<'a, S> {
    bag: &'a FromBag,
    inner: &'a mut S,
    checked: u64,
}

impl<S> CrossCheck<'_, S> {
    /// Checks that every payload file the validation read was packed.
    pub fn finish(self) -> Result<()> {
        if self.checked != self.bag.files {
            bail!(
                "{} payload files were validated but {} packed: the bag changed while it was packed",
                self.bag.files,
                self.checked
            );
        }
        Ok(())
    }

    fn compare(&self, path: &str, actual: String) -> legation_format::Result<()> {
        let expected = self.expected(path)?;
        if *expected != actual {
            return Err(legation_format::Error::Changed {
                path: path.to_owned(),
                what: format!(
                    "its {} as packed is {actual}, the bag's manifest says {expected}",
                    self.bag.algorithm
                ),
            });
        }
        Ok(())
    }

    fn expected(&self, path: &str) -> legation_format::Result<&String> {
        self.bag
            .sums
            .get(path)
            .ok_or_else(|| legation_format::Error::Changed {
                path: path.to_owned(),
                what: format!(
                    "not listed in the bag's manifest-{}.txt (the payload changed after it was validated)",
                    self.bag.algorithm
                ),
            })
    }
}

fn digest(algorithm: Algorithm, bytes: &[u8]) -> String {
    let mut h = algorithm.hasher();
    h.update(bytes);
    h.finish_hex()
}

impl<S: RecordSink> RecordSink for CrossCheck<'_, S> {
    fn add_empty_dir(&mut self, path: &str) -> legation_format::Result<()> {
        self.inner.add_empty_dir(path)
    }

    fn add_record(
        &mut self,
        meta: RecordMeta,
        source: RecordSource<'_>,
    ) -> legation_format::Result<()> {
        if meta.path.starts_with(RESERVED) {
            return self.inner.add_record(meta, source);
        }
        let path = meta.path.clone();
        let algorithm = self.bag.algorithm;
        match source {
            RecordSource::Bytes(b) => {
                self.compare(&path, digest(algorithm, b))?;
                self.inner.add_record(meta, RecordSource::Bytes(b))?;
            }
            RecordSource::Prepared(p) => {
                self.compare(&path, digest(algorithm, p.bytes()))?;
                self.inner.add_record(meta, RecordSource::Prepared(p))?;
            }
            RecordSource::Reader { reader, size } => {
                self.expected(&path)?;
                let mut hashing = Hashing {
                    inner: reader,
                    hasher: Some(algorithm.hasher()),
                };
                self.inner.add_record(
                    meta,
                    RecordSource::Reader {
                        reader: &mut hashing,
                        size,
                    },
                )?;
                let h = hashing.hasher.take().expect("taken once, here");
                self.compare(&path, h.finish_hex())?;
            }
        }
        self.checked += 1;
        Ok(())
    }
}

/// A reader that hashes what it passes on.
struct Hashing<'a> {
    inner: &'a mut dyn Read,
    hasher: Option<Hasher>,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

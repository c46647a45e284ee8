//! The issuer's statements of succession a reader has (SPEC §37, format
//! 2.2): handovers and revocations given to it and found in the folder
//! `issuer/` beside a series, and what a series makes of them: a change
//! of issuers a handover accounts for passes the splice rules (§37.6),
//! and a generation signed by a key that was revoked before it, or had
//! handed the series over, is refused by name (§37.3).
//!
//! The command line (`verify --issuer`, `witness`) and the viewers share
//! this; each reads the statement files its own way (a folder, an
//! object store, URLs) and hands their bytes here. Bounded: at most
//! [`MAX_STATEMENTS`] statements of at most [`MAX_STATEMENT`] bytes each.

use std::path::Path;

use legation_format::v2::succession::{
    Handover, Statement, Succession, SuccessionError, HANDOVER_EXT, MAX_STATEMENT, MAX_STATEMENTS,
    REVOCATION_EXT,
};

use super::series::Series;
use crate::{Error, Result};

/// The folder beside a series that holds its issuer's statements.
pub const FOLDER: &str = "issuer";

/// The statements a reader has: those given (each must parse and be
/// about the series it is applied to) and those found beside the series
/// (each must parse: nothing found there is believed unchecked; those
/// about another series sharing the folder are left out).
#[derive(Debug, Default, Clone)]
pub struct Statements {
    given: Vec<(Statement, String)>,
    found: Vec<(Statement, String)>,
}

impl Statements {
    /// Parses statement files, each `(name, bytes)`: `given` ones (named
    /// by the user) and `found` ones (read beside a series). A file that
    /// does not parse is an error naming it; more than
    /// [`MAX_STATEMENTS`] in all is refused.
    pub fn parse(given: Vec<(String, Vec<u8>)>, found: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let count = given.len() + found.len();
        if count > MAX_STATEMENTS {
            return Err(Error::ManifestMismatch {
                entry: FOLDER.into(),
                what: SuccessionError::TooMany {
                    count,
                    max: MAX_STATEMENTS,
                }
                .to_string(),
            });
        }
        let read = |list: Vec<(String, Vec<u8>)>| -> Result<Vec<(Statement, String)>> {
            list.into_iter()
                .map(|(name, bytes)| {
                    if bytes.len() > MAX_STATEMENT {
                        return Err(Error::ManifestMismatch {
                            entry: name,
                            what: format!(
                                "more than the {MAX_STATEMENT} bytes a statement may have"
                            ),
                        });
                    }
                    Ok((Statement::parse(&bytes, &name)?, name))
                })
                .collect()
        };
        // The same statement beside several copies is taken once.
        let mut found = read(found)?;
        found.sort_by(|a, b| a.1.cmp(&b.1));
        let mut kept: Vec<(Statement, String)> = Vec::with_capacity(found.len());
        for f in found {
            if !kept.iter().any(|k| k.0 == f.0) {
                kept.push(f);
            }
        }
        let found = kept;
        Ok(Statements {
            given: read(given)?,
            found,
        })
    }

    /// Whether there is any statement at all.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty() && self.found.is_empty()
    }

    /// How many statements there are.
    pub fn len(&self) -> usize {
        self.given.len() + self.found.len()
    }

    /// The handovers about series `archive_id`, given and found, with
    /// their files (for the splice rules of a series, SPEC §37.6).
    pub fn handovers(&self, archive_id: [u8; 16]) -> Vec<(Handover, String)> {
        self.given
            .iter()
            .chain(&self.found)
            .filter_map(|(s, file)| match s {
                Statement::Handover(h) if h.archive_id == archive_id => {
                    Some((h.clone(), file.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The succession of series `archive_id` from `pinned`: the
    /// statements given (every one must be about this series) and those
    /// found that are about it.
    pub fn succession(
        &self,
        archive_id: [u8; 16],
        pinned: [u8; 32],
    ) -> std::result::Result<Succession, SuccessionError> {
        let mut handovers = Vec::new();
        let mut revocations = Vec::new();
        let ours = self
            .found
            .iter()
            .filter(|(s, _)| s.archive_id() == archive_id);
        for (s, file) in self.given.iter().chain(ours) {
            match s {
                Statement::Handover(h) => handovers.push((h.clone(), file.clone())),
                Statement::Revocation(r) => revocations.push((r.clone(), file.clone())),
            }
        }
        Succession::follow(archive_id, pinned, &handovers, &revocations)
    }

    /// The revocations given (not found) about series `archive_id`, as
    /// their bytes: what a witness puts beside its copy.
    pub fn given_revocations(&self, archive_id: [u8; 16]) -> Vec<Vec<u8>> {
        self.given
            .iter()
            .filter_map(|(s, _)| match s {
                Statement::Revocation(r) if r.archive_id == archive_id => Some(r.to_bytes()),
                _ => None,
            })
            .collect()
    }
}

/// The statement files (`*.handover`, `*.revocation`) in the folder
/// `issuer/` beside `place`: in it when `place` is a folder (a series
/// given as its folder), else in the folder of the file. None when there
/// is no such folder; a file over [`MAX_STATEMENT`] bytes, or more than
/// [`MAX_STATEMENTS`] files, is an error naming the folder.
pub fn files_beside(place: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let dir = if place.is_dir() {
        place.to_path_buf()
    } else {
        match place.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => Path::new(".").to_path_buf(),
        }
    };
    let folder = dir.join(FOLDER);
    let io = |e: std::io::Error, name: &Path| Error::Source {
        what: "the issuer's statements".into(),
        source_name: name.display().to_string(),
        source: e,
    };
    let listing = match std::fs::read_dir(&folder) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e, &folder)),
    };
    let mut paths = Vec::new();
    for e in listing {
        let p = e.map_err(|e| io(e, &folder))?.path();
        let ours = p
            .extension()
            .is_some_and(|x| x == HANDOVER_EXT || x == REVOCATION_EXT);
        if ours && p.is_file() {
            paths.push(p);
        }
        if paths.len() > MAX_STATEMENTS {
            return Err(Error::ManifestMismatch {
                entry: folder.display().to_string(),
                what: format!("more than the {MAX_STATEMENTS} statements a reader takes"),
            });
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        use std::io::Read;
        let f = std::fs::File::open(&p).map_err(|e| io(e, &p))?;
        let mut b = Vec::new();
        f.take(MAX_STATEMENT as u64 + 1)
            .read_to_end(&mut b)
            .map_err(|e| io(e, &p))?;
        if b.len() > MAX_STATEMENT {
            return Err(Error::ManifestMismatch {
                entry: p.display().to_string(),
                what: format!("more than the {MAX_STATEMENT} bytes a statement may have"),
            });
        }
        out.push((p.display().to_string(), b));
    }
    Ok(out)
}

impl Series {
    /// The splice rules checked again with the handovers among
    /// `statements` (SPEC §37.6): a change of issuers they account for
    /// passes. Nothing changes without statements.
    pub fn with_statements(self, statements: &Statements) -> Series {
        if statements.is_empty() {
            return self;
        }
        let handovers = statements.handovers(self.archive_id);
        self.with_handovers(&handovers)
    }

    /// The succession of the series from `pinned`, or, for a reader that
    /// pinned no key, from the key that signed the oldest generation
    /// present (the series' own first signer: a later generation by a
    /// key that this key revoked, or handed over from, is then refused
    /// all the same). `None` without statements, or when the oldest
    /// generation verifies under no issuer key.
    pub fn succession(
        &self,
        statements: &Statements,
        pinned: Option<[u8; 32]>,
    ) -> Option<std::result::Result<Succession, SuccessionError>> {
        if statements.is_empty() {
            return None;
        }
        let pin = match pinned {
            Some(p) => p,
            None => *self
                .files
                .iter()
                .min_by_key(|f| f.sequence())?
                .generation
                .signers
                .first()?,
        };
        Some(statements.succession(self.archive_id, pin))
    }

    /// Why the succession refuses generation `sequence` (revoked before
    /// it, handed over, outside the chain), naming the key and the
    /// statement; `None` when it admits it or the generation is absent.
    pub fn refusal(&self, sequence: u64, succession: &Succession) -> Option<SuccessionError> {
        let f = self.file(sequence)?;
        succession.admit(sequence, &f.generation.signers).err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_that_does_not_parse_is_named() {
        let e = Statements::parse(
            Vec::new(),
            vec![("issuer/x.handover".into(), b"not a statement\n".to_vec())],
        )
        .unwrap_err();
        assert!(e.to_string().contains("issuer/x.handover"), "{e}");
    }

    #[test]
    fn too_many_statements_are_refused_unread() {
        let many = vec![("s".to_owned(), Vec::new()); MAX_STATEMENTS + 1];
        let e = Statements::parse(many, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("4096"), "{e}");
    }

    #[test]
    fn an_oversized_statement_is_refused() {
        let big = vec![(
            "issuer/big.revocation".into(),
            vec![b'a'; MAX_STATEMENT + 1],
        )];
        let e = Statements::parse(Vec::new(), big).unwrap_err();
        assert!(e.to_string().contains("issuer/big.revocation"), "{e}");
    }

    #[test]
    fn no_folder_is_no_statement() {
        let d = std::env::temp_dir().join(format!("legation-succ-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert!(files_beside(&d.join("register.lgn")).unwrap().is_empty());
        std::fs::create_dir_all(d.join(FOLDER)).unwrap();
        std::fs::write(d.join(FOLDER).join("a.handover"), b"x").unwrap();
        std::fs::write(d.join(FOLDER).join("notes.txt"), b"y").unwrap();
        let f = files_beside(&d).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].0.ends_with("a.handover"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

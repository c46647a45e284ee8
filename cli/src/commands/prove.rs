//! `prove ARCHIVE RECORD -o FILE`: a one-record proof (format 2.0): the
//! record's leaf, its paths to the signed records root, the head and its
//! signatures, which `check-proof` checks with no key and no archive.

use std::path::Path;

use anyhow::Result;

use super::{open, unlock_required};
use crate::keyopts::KeyOpts;
use crate::location::Location;

/// `prove ARCHIVE RECORD -o FILE`: finds the record (one catalog page),
/// builds its proof and writes it whole under a temporary name before it
/// takes `output`'s name (never replacing a file without `force`).
pub fn prove(
    path: &Location,
    record: &str,
    output: &Path,
    keys: &KeyOpts,
    force: bool,
) -> Result<u8> {
    let a = open(path)?;
    if !a.is_v2() {
        return Err(anyhow::anyhow!(legation_reader::Error::NoRecordsTree {
            archive: path.to_string(),
        }));
    }
    let u = unlock_required(path, &a, keys)?;
    let proof = u.prove(record)?;
    let bytes = proof.to_bytes();
    let (tmp, ()) = crate::place::write_beside(output, |w| Ok(w.write_all(&bytes)?))?;
    // On failure the temporary file is removed by `place`.
    crate::place::place(&tmp, output, force)?;
    eprintln!(
        "{}: proof of {record} written ({} bytes)",
        output.display(),
        bytes.len()
    );
    Ok(0)
}

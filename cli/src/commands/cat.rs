//! `cat ARCHIVE RECORD`: one record's bytes on standard output, checked
//! before they are written (or, for a large record, chunk by chunk).

use std::io::{BufWriter, Write};

use anyhow::Result;

use super::{open, unlock_required};
use crate::keyopts::KeyOpts;
use crate::location::Location;

/// `cat ARCHIVE RECORD`.
pub fn cat(path: &Location, record: &str, keys: &KeyOpts) -> Result<u8> {
    let a = open(path)?;
    let u = unlock_required(path, &a, keys)?;
    let rec = u.find(record)?;
    let mut stdout = crate::output::stdout();
    if rec.size <= CAT_WHOLE_MAX {
        let bytes = u.read_record(&rec, CAT_WHOLE_MAX)?;
        stdout.write_all(&bytes)?;
        stdout.flush()?;
        return Ok(0);
    }
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    if let Err(e) = u.copy_record(&rec, &mut out, &mut |_| {}) {
        // What is still buffered is dropped, not written.
        let _ = out.into_parts();
        return Err(e.into());
    }
    out.flush()?;
    Ok(0)
}

/// Records up to this size are read whole and checked (every chunk's
/// tag, the size, the BLAKE3) by `cat` before a byte of them is written.
/// Larger ones are streamed, each chunk written once its tag is checked,
/// and the record's BLAKE3 checked at the end: a non-zero exit then means
/// the output must be discarded.
const CAT_WHOLE_MAX: u64 = 16 << 20;

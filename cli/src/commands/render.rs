//! `render ARCHIVE RECORD -o FILE.html`: a record as its decoder
//! renders it, written to one self-contained HTML file.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Result};

use super::view::{compare_with_packing, to_render, RAW_PREVIEW};
use crate::keyopts::KeyOpts;
use crate::location::Location;
use crate::place::{place, write_beside};
use crate::view;

/// `render ARCHIVE RECORD -o FILE.html`: written a page of the record at
/// a time, as each is decoded.
pub fn render(
    path: &Location,
    record: &str,
    out: &Path,
    keys: &KeyOpts,
    force: bool,
) -> Result<u8> {
    if !force && fs::symlink_metadata(out).is_ok() {
        bail!("{} exists (use --force to replace it)", out.display());
    }
    let (u, rec, host) = to_render(path, record, keys)?;
    let facts = legation_html::record_facts(&path.to_string(), &u, &rec);
    let mut unrendered = None;
    let rendered = write_beside(out, |w| {
        match legation_html::write_record_html(&u, &host, &rec, &facts, w) {
            Ok(r) => Ok(r),
            Err(legation_html::HtmlError::NotRendered(why)) => {
                unrendered = Some(why);
                Err(anyhow!("not rendered"))
            }
            Err(e) => Err(anyhow!(view::sanitize(&e.to_string()))),
        }
    });
    let (tmp, (hash, n)) = match (rendered, unrendered) {
        (Ok(done), _) => done,
        // A record its decoder cannot show is written by its facts, the
        // reason and its first bytes, as `view` shows it.
        (Err(_), Some(why)) => {
            let first = u.read_range(&rec, 0, RAW_PREVIEW.min(rec.size))?;
            let html = legation_html::unrendered_html(&rec, &why, &first, &facts);
            let (tmp, n) = write_beside(out, |w| {
                w.write_all(html.as_bytes())?;
                Ok(html.len())
            })?;
            place(&tmp, out, force)?;
            eprintln!(
                "{}: not rendered: {}; wrote its facts and first bytes to {} ({n} bytes)",
                view::sanitize(&rec.path),
                view::sanitize(&why),
                out.display()
            );
            return Ok(u8::from(matches!(
                rec.render,
                Some(legation_format::catalog::Render::Rendered { .. })
            )));
        }
        (Err(e), None) => return Err(e),
    };
    place(&tmp, out, force)?;
    eprintln!("wrote {} ({n} bytes)", out.display());
    Ok(compare_with_packing(&rec, &hash))
}

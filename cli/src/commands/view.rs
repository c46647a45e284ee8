//! `view ARCHIVE RECORD`: a record as its decoder renders it, as text
//! in the terminal, compared with the view recorded at packing. What it
//! shares with `render` (finding the record and a decoder host, the
//! comparison) is here.

use std::io::Write;

use anyhow::{anyhow, Result};
use legation_reader::Unlocked;

use super::{open, unlock_required};
use crate::keyopts::KeyOpts;
use crate::location::Location;
use crate::{output, view};

/// The record to render, unlocked, with a decoder host.
pub(super) fn to_render(
    path: &Location,
    record: &str,
    keys: &KeyOpts,
) -> Result<(
    Unlocked,
    legation_format::catalog::CatalogRecord,
    legation_reader::decode::Host,
)> {
    let a = open(path)?;
    let u = unlock_required(path, &a, keys)?;
    let rec = u.find(record)?;
    let host = crate::decoders::host()?;
    Ok((u, rec, host))
}

/// Says on standard error how a view compares with the one recorded at
/// packing; `Ok(1)` if it differs.
pub(super) fn compare_with_packing(
    rec: &legation_format::catalog::CatalogRecord,
    hash: &[u8; 32],
) -> u8 {
    let record = view::sanitize(&rec.path);
    match &rec.render {
        Some(legation_format::catalog::Render::Rendered { blake3, .. }) if blake3 != hash => {
            eprintln!("warning: {record}: this view differs from the one recorded at packing (run legation verify)");
            1
        }
        Some(legation_format::catalog::Render::Rendered { .. }) => {
            eprintln!("{record}: view identical to the one recorded at packing");
            0
        }
        _ => {
            eprintln!("{record}: no view was recorded at packing");
            0
        }
    }
}

/// `view ARCHIVE RECORD`: the record's view, printed a page at a time as
/// each is decoded. A record its decoder cannot show is shown by its
/// facts and first bytes instead; exit 1 if it was rendered at packing
/// (its view then differs from the recorded one), else 0.
pub fn view(path: &Location, record: &str, keys: &KeyOpts) -> Result<u8> {
    let (u, rec, host) = to_render(path, record, keys)?;
    let limits = host.limits().view.clone();
    let mut out = output::stdout();
    let mut pages = 0usize;
    let mut failed: Option<anyhow::Error> = None;
    let rendered = u.render_record_with(&host, &rec, &mut |n, cbor| {
        if failed.is_some() {
            return;
        }
        let shown = legation_document::Document::from_cbor(cbor, &limits)
            .map_err(|e| anyhow!("{}: {e}", rec.path))
            .and_then(|doc| {
                if n == 0 {
                    pages = legation_reader::decode::page_count(cbor, &limits) as usize;
                }
                out.write_all(view::document_text(n as usize, pages, &doc).as_bytes())?;
                Ok(())
            });
        if let Err(e) = shown {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    match rendered {
        Ok(r) => Ok(compare_with_packing(&rec, &r.hash())),
        Err(legation_reader::decode::RenderError::Archive(e)) => Err(e.into()),
        // The machine could not run the decoder: not concluded (exit 2),
        // never shown as a record its decoder cannot show.
        Err(legation_reader::decode::RenderError::Decode(d)) if d.is_host_failure() => {
            Err(anyhow!(view::sanitize(&d.to_string())))
        }
        Err(e) => {
            show_unrendered(path, &u, &rec, &e.to_string(), &mut out)?;
            Ok(u8::from(matches!(
                rec.render,
                Some(legation_format::catalog::Render::Rendered { .. })
            )))
        }
    }
}

/// Bytes of a record shown when its decoder cannot show it.
pub(super) const RAW_PREVIEW: u64 = 256;

/// A record that cannot be rendered, shown by its facts, the reason and
/// its first bytes: the document `render` writes as HTML, in the terminal.
fn show_unrendered(
    path: &Location,
    u: &Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    why: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let first = u.read_range(rec, 0, RAW_PREVIEW.min(rec.size))?;
    let mut doc = legation_html::unrendered_document(rec, why, &first);
    let facts = legation_html::record_facts(&path.to_string(), u, rec);
    doc.blocks
        .insert(0, legation_document::Block::Fields { items: facts });
    out.write_all(view::document_text(0, 0, &doc).as_bytes())?;
    Ok(())
}

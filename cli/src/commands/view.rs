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
use crate::view::TERMINAL_ROWS;
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

/// How `view` shows a record: how many rows of each table, and whether
/// through a pager.
#[derive(Debug, Clone, Copy)]
pub struct ViewOptions {
    /// Rows of a table shown (`--rows N`, `--all`: every row).
    pub rows: usize,
    /// Page through `$PAGER` (or `less -R`) when standard output is a
    /// terminal; false with `--no-pager`.
    pub pager: bool,
}

/// `view ARCHIVE RECORD`: the record's path and title, then its view,
/// printed a page at a time as each is decoded, through a pager when
/// standard output is a terminal. A record its decoder cannot show is
/// shown through the archive's raw decoder with the reason (or by its
/// facts and first bytes where there is none); exit 1 if it was rendered
/// at packing (its view then differs from the recorded one), else 0.
pub fn view(path: &Location, record: &str, keys: &KeyOpts, options: ViewOptions) -> Result<u8> {
    let (u, rec, host) = to_render(path, record, keys)?;
    let mut pager = Pager::start(options.pager)?;
    let result = view_into(path, &u, &rec, &host, options.rows, pager.out());
    pager.finish();
    result
}

/// [`view()`] once the record is found, written to `out`.
fn view_into(
    path: &Location,
    u: &Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    host: &legation_reader::decode::Host,
    rows: usize,
    out: &mut dyn Write,
) -> Result<u8> {
    out.write_all(header(rec).as_bytes())?;
    let limits = host.limits().view.clone();
    let mut pages = 0usize;
    let mut failed: Option<anyhow::Error> = None;
    let mut each = |n: u32, cbor: &[u8]| {
        if failed.is_some() {
            return;
        }
        let shown = legation_document::Document::from_cbor(cbor, &limits)
            .map_err(|e| anyhow!("{}: {e}", rec.path))
            .and_then(|doc| {
                if n == 0 {
                    pages = legation_reader::decode::page_count(cbor, &limits) as usize;
                }
                out.write_all(view::document_text(n as usize, pages, &doc, rows).as_bytes())?;
                Ok(())
            });
        if let Err(e) = shown {
            failed = Some(e);
        }
    };
    let rendered = u.render_record_with(host, rec, &mut each);
    if let Some(e) = failed {
        return Err(e);
    }
    let recorded = u8::from(matches!(
        rec.render,
        Some(legation_format::catalog::Render::Rendered { .. })
    ));
    match rendered {
        Ok(r) => Ok(compare_with_packing(rec, &r.hash())),
        Err(legation_reader::decode::RenderError::Archive(e)) => Err(e.into()),
        // The machine could not run the decoder: not concluded (exit 2),
        // never shown as a record its decoder cannot show.
        Err(legation_reader::decode::RenderError::Decode(d)) if d.is_host_failure() => {
            Err(anyhow!(view::sanitize(&d.to_string())))
        }
        Err(e) => {
            let why = e.to_string();
            // The record through the archive's raw decoder (byte
            // statistics and a hex dump), headed by why its own decoder
            // did not show it.
            let notice = format!("\n[not shown by its decoder: {why}; shown raw]\n");
            let mut raw_failed: Option<anyhow::Error> = None;
            let mut raw_each = |_: u32, cbor: &[u8]| {
                let shown = legation_document::Document::from_cbor(cbor, &limits)
                    .map_err(|e| anyhow!("{}: {e}", rec.path))
                    .and_then(|doc| {
                        out.write_all(view::sanitize(&notice).as_bytes())?;
                        out.write_all(view::document_text(0, 0, &doc, rows).as_bytes())?;
                        Ok(())
                    });
                if let Err(e) = shown {
                    raw_failed = Some(e);
                }
            };
            match u.render_raw_with(host, rec, &mut raw_each) {
                Ok(Some(_)) if raw_failed.is_none() => {
                    eprintln!("{}", view::sanitize(&why));
                }
                _ => show_unrendered(path, u, rec, &why, out)?,
            }
            Ok(recorded)
        }
    }
}

/// The lines that say which record this is: its path and, where it has
/// one, its Dublin Core title.
fn header(rec: &legation_format::catalog::CatalogRecord) -> String {
    let mut h = format!("record : {}\n", rec.path);
    // The title from the record's Dublin Core (`rec.title` falls back to
    // the file name, which the path already shows).
    if let Some(title) = rec.metadata.get("title").and_then(|t| t.first()) {
        h.push_str(&format!("title  : {title}\n"));
    }
    h.push('\n');
    view::sanitize(&h)
}

/// Where `view` writes: a pager's standard input when standard output
/// is a terminal (as `git` does: `$PAGER`, else `less -R`, with `LESS=FRX`
/// unless set, so that a view shorter than the screen is just printed),
/// standard output otherwise.
struct Pager {
    child: Option<std::process::Child>,
    stdout: output::Stdout,
}

impl Pager {
    /// A pager if `wanted` and standard output is a terminal and `$PAGER`
    /// is not empty or `cat`.
    fn start(wanted: bool) -> Result<Pager> {
        use std::io::IsTerminal;
        let stdout = output::stdout();
        let command = std::env::var("PAGER").unwrap_or_else(|_| "less -R".into());
        let command = command.trim();
        if !wanted || !std::io::stdout().is_terminal() || command.is_empty() || command == "cat" {
            return Ok(Pager {
                child: None,
                stdout,
            });
        }
        let mut c = std::process::Command::new("sh");
        c.args(["-c", command]).stdin(std::process::Stdio::piped());
        if std::env::var_os("LESS").is_none() {
            c.env("LESS", "FRX");
        }
        let child = c
            .spawn()
            .map_err(|e| anyhow!("starting the pager {command:?}: {e} (--no-pager prints)"))?;
        Ok(Pager {
            child: Some(child),
            stdout,
        })
    }

    /// Where to write.
    fn out(&mut self) -> &mut dyn Write {
        match self.child.as_mut().and_then(|c| c.stdin.as_mut()) {
            Some(stdin) => stdin,
            None => &mut self.stdout,
        }
    }

    /// Closes the pager's input and waits for the reader to quit it.
    fn finish(mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        let _ = self.stdout.flush();
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
    out.write_all(view::document_text(0, 0, &doc, TERMINAL_ROWS).as_bytes())?;
    Ok(())
}

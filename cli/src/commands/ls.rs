//! `ls ARCHIVE`: the records of an archive with a key, page by page of
//! its catalog; its public facts without one.

use std::io::{BufWriter, Write};

use anyhow::Result;
use serde_json::json;

use super::info::{print_public, public_facts};
use super::{open, signer};
use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::{output, view};

/// A catalog page as the reader hands it over.
type PageResult = legation_reader::Result<std::sync::Arc<legation_format::catalog::Page>>;

/// `ls ARCHIVE`.
pub fn ls(path: &Location, keys: &KeyOpts, as_json: bool) -> Result<u8> {
    let a = open(path)?;
    let k = keys.keys(false)?;
    // With a key, or an issuer to pin, the signature is checked (and
    // said) before any key is derived; without, the public facts say it.
    let u = if !k.is_empty() || keys.issuer.is_some() {
        let pinned = signer(path, &a, keys)?;
        let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
        (!k.is_empty())
            .then(|| a.unlock_signed(&k, pinned.as_ref(), &mut consent))
            .transpose()?
    } else {
        None
    };
    let Some(u) = u else {
        let facts = public_facts(&a)?;
        if as_json {
            println!("{}", output::json(&facts, true));
        } else {
            print_public(&facts);
            eprintln!(
                "(give --identity, --passphrase-file, {} or -p to list the records)",
                keyopts::PASSPHRASE_ENV
            );
        }
        return Ok(0);
    };
    let mut out = BufWriter::new(crate::output::stdout());
    if as_json {
        writeln!(out, "[")?;
    }
    let mut first = true;
    let pages = u.index().pages.len();
    let mut failed = None;
    let mut list_page = |page: PageResult| -> Result<()> {
        for r in &page?.records {
            if as_json {
                let v = json!({
                    "path": r.path, "title": r.title, "media_type": r.media_type, "size": r.size,
                    "blake3": legation_format::hex::encode(&r.blake3), "modified": r.modified, "metadata": r.metadata,
                });
                let v = output::json(&v, false);
                writeln!(out, "{}{v}", if first { "  " } else { ", " })?;
            } else {
                // Every field comes from the catalog: all of it cleaned.
                let line = format!(
                    "{:>12}  {:<26}  {:<20}  {}",
                    r.size,
                    r.media_type,
                    r.modified.as_deref().unwrap_or("-"),
                    r.path
                );
                writeln!(out, "{}", view::sanitize(&line))?;
            }
            first = false;
        }
        Ok(())
    };
    // Pages are listed as they are decoded: memory holds two at most.
    u.for_each_page(0..pages, &mut |_, page| match list_page(page) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if as_json {
        writeln!(out, "]")?;
    } else {
        for d in &u.index().empty_dirs {
            writeln!(
                out,
                "{:>12}  {:<26}  {:<20}  {}/",
                "-",
                "folder (empty)",
                "-",
                view::sanitize(d)
            )?;
        }
    }
    out.flush()?;
    Ok(0)
}

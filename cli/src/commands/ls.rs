//! `ls ARCHIVE`: the records of an archive with a key, page by page of
//! its catalog; its public facts without one.
//!
//! Listing runs on two threads: one reads, decrypts, inflates and parses
//! the next catalog pages while this one writes the lines of the page
//! before, through a queue of [`PAGES_AHEAD`] pages, so that memory stays
//! bounded by a few pages and the lines come out in catalog order.

use std::fmt::Write as _;
use std::io::{BufWriter, ErrorKind, Write};
use std::sync::{mpsc, Arc};

use anyhow::Result;
use legation_format::catalog::{CatalogRecord, Page};
use legation_reader::Unlocked;
use serde_json::json;

use super::info::{print_public, public_facts};
use super::{open, signer};
use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::{output, view};

/// A catalog page as the reader hands it over.
type PageResult = legation_reader::Result<Arc<Page>>;

/// Pages decoded and waiting to be written, at most.
const PAGES_AHEAD: usize = 2;

/// Exit status when standard output's reader has gone (as a shell gives
/// a process killed by SIGPIPE).
const GONE: u8 = 141;

/// `ls ARCHIVE`.
pub fn ls(path: &Location, keys: &KeyOpts, as_json: bool) -> Result<u8> {
    let a = open(path)?;
    let Some(u) = unlock_if_keyed(path, &a, keys)? else {
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
    // Standard output without `output::stdout`'s exit on a broken pipe:
    // a reader that has gone (`| head`) ends the listing quietly, and
    // `--stats` still prints.
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match list(&u, &mut out, as_json) {
        Ok(()) => Ok(0),
        Err(Failure::Io(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(GONE),
        Err(Failure::Io(e)) => Err(anyhow::Error::new(e).context("writing standard output")),
        Err(Failure::Read(e)) => {
            // What was listed before the bad page is shown, then the error.
            if let Err(w) = out.flush() {
                if w.kind() == ErrorKind::BrokenPipe {
                    return Ok(GONE);
                }
            }
            Err(e.into())
        }
    }
}

/// The archive unlocked with the keys given, or `None` when none were.
/// With a key, or an issuer to pin, the signature is checked (and said)
/// before any key is derived; without, the public facts say it.
pub(super) fn unlock_if_keyed(
    path: &Location,
    a: &legation_reader::Archive,
    keys: &KeyOpts,
) -> Result<Option<Unlocked>> {
    let k = keys.keys(false)?;
    if k.is_empty() && keys.issuer.is_none() {
        return Ok(None);
    }
    let pinned = signer(path, a, keys)?;
    let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
    Ok((!k.is_empty())
        .then(|| a.unlock_signed(&k, pinned.as_ref(), &mut consent))
        .transpose()?)
}

/// Why listing stopped early.
pub(super) enum Failure {
    /// Standard output could not be written.
    Io(std::io::Error),
    /// A catalog page could not be read.
    Read(legation_reader::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Writes every record's line (or JSON item), then the empty folders.
fn list(u: &Unlocked, out: &mut impl Write, as_json: bool) -> Result<(), Failure> {
    if as_json {
        out.write_all(b"[\n")?;
    }
    let mut first = true;
    // One line, reused: no allocation per record.
    let mut line = String::with_capacity(256);
    for_each_page_ahead(u, &mut |page: &Page| {
        for r in &page.records {
            line.clear();
            if as_json {
                json_item(&mut line, r, first);
            } else {
                text_line(&mut line, r);
            }
            out.write_all(line.as_bytes())?;
            first = false;
        }
        // The first rows show at once, not when the buffer fills.
        if page.page == 0 {
            out.flush()?;
        }
        Ok(())
    })?;
    if as_json {
        out.write_all(b"]\n")?;
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
    Ok(())
}

/// Calls `each` with every catalog page in order, on this thread, while
/// other threads decode the pages after it. A 2.0 archive's pages (at
/// most 4096 records each) are decoded by two threads, even and odd
/// pages, each at most one page ahead of what is written; a 1.x
/// archive's by one thread through [`Unlocked::for_each_page`], which
/// decodes two pages side by side only when they are small, at most
/// [`PAGES_AHEAD`] waiting. The first error, of `each` or of a page, ends
/// it; the decoding threads then stop at their next page.
pub(super) fn for_each_page_ahead(
    u: &Unlocked,
    each: &mut dyn FnMut(&Page) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let pages = u.index().pages.len();
    let lanes = if u.v2_index().is_some() { 2 } else { 1 };
    std::thread::scope(|s| {
        let mut queues = Vec::with_capacity(lanes);
        let mut returns = Vec::with_capacity(lanes);
        for lane in 0..lanes {
            let (tx, rx) = mpsc::sync_channel::<PageResult>(PAGES_AHEAD / lanes);
            // Written pages go back to the thread that decoded them, to be
            // freed there: the allocator reuses the memory in that
            // thread instead of moving it between threads (about a
            // fifth of the time went to freeing, at 10M records).
            let (back, written) = mpsc::channel::<Arc<Page>>();
            queues.push(rx);
            returns.push(back);
            s.spawn(move || {
                // A send fails once the receiver is gone: stop decoding.
                let mut send = |_, page| tx.send(page).is_ok();
                if lanes == 1 {
                    // Pages come from for_each_page's own threads: none go
                    // back (a send back fails, the page is freed where written).
                    drop(written);
                    u.for_each_page(0..pages, &mut send);
                    return;
                }
                for n in (lane..pages).step_by(lanes) {
                    // At most the pages sent before: a bounded number.
                    written.try_iter().for_each(drop);
                    if !u.for_each_page(n..n + 1, &mut send) {
                        return;
                    }
                }
            });
        }
        // Returning drops the queues, which stops the decoding threads.
        for n in 0..pages {
            // A lane ends early only by panicking; the scope passes that on.
            let Ok(page) = queues[n % lanes].recv() else {
                break;
            };
            let page = page.map_err(Failure::Read)?;
            each(&page)?;
            // A lane that has ended frees nothing more: drop it here.
            let _ = returns[n % lanes].send(page);
        }
        Ok(())
    })
}

/// A record's text line: size, media type, modification time and path,
/// each field cleaned as [`view::sanitize`] cleans a line.
fn text_line(line: &mut String, r: &CatalogRecord) {
    // A String takes any write: the result is always Ok.
    let _ = write!(line, "{:>12}  ", r.size);
    push_padded(line, &r.media_type, 26);
    line.push_str("  ");
    push_padded(line, r.modified.as_deref().unwrap_or("-"), 20);
    line.push_str("  ");
    push_clean(line, &r.path);
    line.push('\n');
}

/// A record as one item of the JSON array, with its separator.
fn json_item(line: &mut String, r: &CatalogRecord, first: bool) {
    let v = json!({
        "path": r.path, "title": r.title, "media_type": r.media_type, "size": r.size,
        "blake3": legation_format::hex::encode(&r.blake3), "modified": r.modified, "metadata": r.metadata,
    });
    line.push_str(if first { "  " } else { ", " });
    line.push_str(&output::json(&v, false));
    line.push('\n');
}

/// `s` cleaned, then spaces to `width` characters (as `{:<width}` pads).
fn push_padded(line: &mut String, s: &str, width: usize) {
    let chars = push_clean(line, s);
    for _ in chars..width {
        line.push(' ');
    }
}

/// Appends `s` with every character unsafe to show replaced by U+FFFD
/// (as [`view::sanitize`] does, one for one, so widths do not change);
/// returns its length in characters.
fn push_clean(line: &mut String, s: &str) -> usize {
    // Printable ASCII, tab and newline are all safe: copied as they are.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n')
    {
        line.push_str(s);
        return s.len();
    }
    let mut n = 0;
    for c in s.chars() {
        line.push(if legation_html::unsafe_to_show(c) {
            '\u{fffd}'
        } else {
            c
        });
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, media_type: &str, modified: Option<&str>) -> CatalogRecord {
        CatalogRecord {
            path: path.into(),
            title: String::new(),
            media_type: media_type.into(),
            size: 1234,
            blake3: [0; 32],
            modified: modified.map(Into::into),
            decoder: None,
            render: None,
            metadata: Default::default(),
            entry: "b/00000000".into(),
            stream: [0; 16],
            encoding: legation_format::catalog::Encoding::Identity,
            stored_size: 1234,
            offset: 0,
        }
    }

    /// The line the listing wrote before it stopped allocating per record.
    fn reference(r: &CatalogRecord) -> String {
        let line = format!(
            "{:>12}  {:<26}  {:<20}  {}",
            r.size,
            r.media_type,
            r.modified.as_deref().unwrap_or("-"),
            r.path
        );
        format!("{}\n", view::sanitize(&line))
    }

    #[test]
    fn text_lines_match_the_padded_and_cleaned_format() {
        for r in [
            record("a/b.txt", "text/plain", None),
            record(
                "r0000/p0000000001.bin",
                "application/octet-stream",
                Some("2025-12-01T00:00:00Z"),
            ),
            // Unsafe characters become U+FFFD one for one; padding counts characters.
            record("ü/\u{202e}txt.exe", "text/\u{7}plain", Some("\u{1b}[2J")),
            record("x", "a-media-type-longer-than-twenty-six-characters", None),
        ] {
            let mut line = String::from("left over");
            line.clear();
            text_line(&mut line, &r);
            assert_eq!(line, reference(&r), "{}", r.path);
        }
        let mut line = String::new();
        text_line(&mut line, &record("ü/\u{202e}txt.exe", "text/plain", None));
        assert!(line.ends_with("ü/\u{fffd}txt.exe\n"), "{line:?}");
    }

    #[test]
    fn json_items_are_separated_and_escaped() {
        let mut line = String::new();
        json_item(&mut line, &record("a\u{202e}b", "text/plain", None), true);
        assert!(line.starts_with("  {"), "{line}");
        assert!(line.contains("\\u202e"), "{line}");
        line.clear();
        json_item(&mut line, &record("c", "text/plain", None), false);
        assert!(line.starts_with(", {") && line.ends_with("}\n"), "{line}");
    }
}

//! A record's view as one self-contained HTML file (no script, nothing
//! loaded from elsewhere, images inlined as PNG), headed by the facts that
//! identify it, and the text helpers hosts share: a hex dump and the
//! cleaner of archive and decoder text for terminals ([`clean`]).
//! `legation render` and the viewer's export share this code.

mod png;
mod text;

use std::fmt::Write as _;

use legation_document::{Block, Document};
use legation_format::catalog::CatalogRecord;
use legation_reader::Unlocked;

use crate::png::encode_png;
pub use crate::text::{clean, hex_dump, unsafe_to_show};

/// The facts that head an exported view: the archive (named by
/// `archive_label`), the record, its hashes, decoder, issuer and Dublin
/// Core metadata.
pub fn record_facts(
    archive_label: &str,
    u: &Unlocked,
    rec: &CatalogRecord,
) -> Vec<(String, String)> {
    let m = u.archive().manifest();
    let decoder = m
        .decoders
        .iter()
        .find(|d| Some(&d.entry) == rec.decoder.as_ref());
    let mut facts = vec![
        (
            "archive".to_owned(),
            format!(
                "{archive_label} (id {})",
                legation_format::hex::encode(&m.archive_id)
            ),
        ),
        ("record".to_owned(), rec.path.clone()),
        ("media type".to_owned(), rec.media_type.clone()),
        ("size".to_owned(), format!("{} bytes", rec.size)),
        (
            "BLAKE3".to_owned(),
            legation_format::hex::encode(&rec.blake3),
        ),
    ];
    if let Some(d) = decoder {
        facts.push((
            "decoder".to_owned(),
            format!("{} {} ({})", d.name, d.version, d.entry),
        ));
    }
    if let Ok(legation_reader::Signer::Valid { fingerprint, .. }) =
        u.archive().check_signature(None)
    {
        facts.push(("issuer".to_owned(), fingerprint));
    }
    for (k, vs) in &rec.metadata {
        facts.push((format!("dc:{k}"), vs.join("; ")));
    }
    facts
}

/// `s` as HTML text, cleaned as [`clean`] says.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if unsafe_to_show(c) => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// The documents of a record as one self-contained HTML page: no scripts,
/// no external resources, images as `data:` PNGs. `facts` are shown as a
/// header (archive, record, hashes, decoder).
pub fn to_html(docs: &[Document], facts: &[(String, String)]) -> String {
    let Some((main, pages)) = docs.split_first() else {
        return String::new();
    };
    let mut o = html_start(main, facts);
    for (i, page) in pages.iter().enumerate() {
        o += &html_page(i + 1, pages.len(), page);
    }
    o.push_str(HTML_END);
    o
}

/// The start of a record's HTML page: the head, the facts and the main
/// document; its pages follow ([`html_page`]), then [`HTML_END`].
fn html_start(main: &Document, facts: &[(String, String)]) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"und\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>\nbody{{font-family:serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}}\n\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}}\n\
         .facts td:first-child{{font-weight:bold}}.facts{{font-family:monospace;font-size:.85em}}\n\
         pre{{background:#f4f4f4;padding:.5em;overflow:auto}}img{{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}}\n\
         .page{{border-top:2px solid #333;margin-top:2em}}\n</style></head><body>\n",
        esc(&main.title)
    );
    if !facts.is_empty() {
        o.push_str("<table class=\"facts\">\n");
        for (k, v) in facts {
            let _ = writeln!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
        }
        o.push_str("</table>\n");
    }
    // A document opening with its title as a heading (a Markdown act's
    // `# Title`) shows it once, as the page's heading.
    let blocks = if repeats_title(main) {
        &main.blocks[1..]
    } else {
        &main.blocks[..]
    };
    let _ = writeln!(o, "<h1>{}</h1>", esc(&main.title));
    for b in blocks {
        block_html(&mut o, b);
    }
    o
}

/// Whether a document's first block is a top heading saying its title
/// (a Markdown document's own `# Title` under the decoder's title taken
/// from it): hosts then show the title once.
pub fn repeats_title(doc: &Document) -> bool {
    matches!(doc.blocks.first(),
        Some(Block::Heading { level: 1, text }) if text.trim() == doc.title.trim())
}

/// Page `number` (from 1) of `of` as a section of the HTML page.
fn html_page(number: usize, of: usize, page: &Document) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<section class=\"page\"><h2>Page {number} of {of}: {}</h2>",
        esc(&page.title)
    );
    for b in &page.blocks {
        block_html(&mut o, b);
    }
    o.push_str("</section>\n");
    o
}

/// The end of a record's HTML page.
const HTML_END: &str = "</body></html>\n";

/// Why a record's view could not be written as HTML.
#[derive(Debug)]
pub enum HtmlError {
    /// The record's decoder cannot show it (a limit, a refusal, too large,
    /// no decoder): show it by its bytes instead ([`unrendered_html`]).
    NotRendered(String),
    /// Reading the archive or writing the output failed.
    Failed(String),
}

impl std::fmt::Display for HtmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HtmlError::NotRendered(why) | HtmlError::Failed(why) => f.write_str(why),
        }
    }
}

/// Renders a record with its decoder and writes its view to `out` as one
/// HTML page, a page of the record at a time: each page is decoded,
/// written and dropped before the next (SPEC §15.2). Returns the render
/// hash and the number of bytes written.
pub fn write_record_html(
    u: &Unlocked,
    host: &legation_reader::decode::Host,
    rec: &CatalogRecord,
    facts: &[(String, String)],
    out: &mut dyn std::io::Write,
) -> Result<([u8; 32], u64), HtmlError> {
    let limits = host.limits().view.clone();
    let mut written = 0u64;
    let mut failed: Option<String> = None;
    let mut pages = 0usize;
    let r = u.render_record_with(host, rec, &mut |n, cbor| {
        if failed.is_some() {
            return;
        }
        let piece = Document::from_cbor(cbor, &limits)
            .map_err(|e| format!("{}: the decoder's view is invalid: {e}", rec.path))
            .map(|doc| {
                if n == 0 {
                    pages = legation_reader::decode::page_count(cbor, &limits) as usize;
                    html_start(&doc, facts)
                } else {
                    html_page(n as usize, pages, &doc)
                }
            });
        match piece.and_then(|p| {
            out.write_all(p.as_bytes()).map_err(|e| e.to_string())?;
            written += p.len() as u64;
            Ok(())
        }) {
            Ok(()) => {}
            Err(e) => failed = Some(e),
        }
    });
    if let Some(e) = failed {
        return Err(HtmlError::Failed(e));
    }
    let r = r.map_err(|e| match e {
        legation_reader::decode::RenderError::Archive(e) => HtmlError::Failed(e.to_string()),
        // The machine could not run the decoder: nothing is concluded
        // about the record, so it is not shown as one that cannot render.
        legation_reader::decode::RenderError::Decode(d) if d.is_host_failure() => {
            HtmlError::Failed(d.to_string())
        }
        other => HtmlError::NotRendered(other.to_string()),
    })?;
    out.write_all(HTML_END.as_bytes())
        .map_err(|e| HtmlError::Failed(e.to_string()))?;
    Ok((r.hash(), written + HTML_END.len() as u64))
}

/// A record its decoder cannot show, as a view document of its own: why
/// it is not rendered, and a hex dump of `first`, its first bytes.
/// `legation view` prints it and [`unrendered_html`] writes it.
pub fn unrendered_document(rec: &CatalogRecord, why: &str, first: &[u8]) -> Document {
    Document {
        title: format!("{} (not rendered)", rec.path),
        blocks: vec![
            Block::Fields {
                items: vec![("not rendered".to_owned(), why.to_owned())],
            },
            Block::Paragraph {
                spans: vec![legation_document::Span::plain(format!(
                    "Its first {} of {} bytes (the original is exported whole, checked \
                     against its BLAKE3, with legation extract or the viewer's Export \
                     original):",
                    first.len(),
                    rec.size
                ))],
            },
            Block::Code {
                text: hex_dump(first),
            },
        ],
    }
}

/// [`unrendered_document`] as one HTML page, headed by `facts`.
pub fn unrendered_html(
    rec: &CatalogRecord,
    why: &str,
    first: &[u8],
    facts: &[(String, String)],
) -> String {
    to_html(&[unrendered_document(rec, why, first)], facts)
}

fn block_html(o: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text } => {
            let l = (level + 1).min(6);
            let _ = writeln!(o, "<h{l}>{}</h{l}>", esc(text));
        }
        Block::Paragraph { spans } => {
            o.push_str("<p>");
            for s in spans {
                let mut t = esc(&s.text);
                if s.code {
                    t = format!("<code>{t}</code>");
                }
                if s.emphasis {
                    t = format!("<em>{t}</em>");
                }
                if s.strong {
                    t = format!("<strong>{t}</strong>");
                }
                o.push_str(&t);
            }
            o.push_str("</p>\n");
        }
        Block::Fields { items } => {
            o.push_str("<table>\n");
            for (l, v) in items {
                let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(l), esc(v));
            }
            o.push_str("</table>\n");
        }
        Block::Table { columns, rows, .. } => {
            o.push_str("<table>\n<tr>");
            for c in columns {
                let _ = write!(o, "<th>{}</th>", esc(c));
            }
            o.push_str("</tr>\n");
            for r in rows {
                o.push_str("<tr>");
                for c in r {
                    let _ = write!(o, "<td>{}</td>", esc(c));
                }
                o.push_str("</tr>\n");
            }
            o.push_str("</table>\n");
        }
        Block::Image {
            width,
            height,
            format,
            pixels,
        } => {
            let png = encode_png(*width, *height, *format, pixels);
            let _ = writeln!(
                o,
                "<p><img width=\"{width}\" height=\"{height}\" alt=\"image {width}×{height}\" src=\"data:image/png;base64,{}\"></p>",
                legation_format::v2::base64::encode(&png)
            );
        }
        Block::Code { text } => {
            let _ = writeln!(o, "<pre>{}</pre>", esc(text));
        }
        Block::Pages { count } => {
            let _ = writeln!(o, "<p><em>{count} pages follow.</em></p>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use legation_document::{PixelFormat, Span};

    #[test]
    fn html_shows_no_control_or_bidirectional_character() {
        let hostile = "a\x1b]0;x\x07\r\u{9b}\u{202e}\u{2066}\u{200f}\u{061c}\u{7f}b";
        let d = Document {
            title: hostile.into(),
            blocks: vec![
                Block::Code {
                    text: format!("{hostile}\n\tnext"),
                },
                Block::Fields {
                    items: vec![(hostile.into(), hostile.into())],
                },
            ],
        };
        let h = to_html(&[d], &[(hostile.into(), hostile.into())]);
        assert!(!h.chars().any(unsafe_to_show), "{h:?}");
        let shown = format!("a\u{fffd}]0;x{}b", "\u{fffd}".repeat(8));
        assert!(h.contains(&shown), "{h:?}");
        assert!(h.contains("\n\tnext"));
    }

    #[test]
    fn html_escapes_and_inlines() {
        let d = Document {
            title: "<script>".into(),
            blocks: vec![
                Block::Paragraph {
                    spans: vec![Span {
                        text: "a & b".into(),
                        emphasis: true,
                        strong: false,
                        code: false,
                    }],
                },
                Block::Image {
                    width: 1,
                    height: 1,
                    format: PixelFormat::Gray8,
                    pixels: vec![255],
                },
            ],
        };
        let h = to_html(&[d], &[]);
        assert!(h.contains("<title>&lt;script&gt;</title>") && !h.contains("<script>"));
        assert!(h.contains("<em>a &amp; b</em>"));
        assert!(h.contains("data:image/png;base64,iVBORw0KGgo"));
    }

    #[test]
    fn a_title_repeated_as_the_first_heading_is_shown_once() {
        let d = Document {
            title: "Digital Continuity Act".into(),
            blocks: vec![
                Block::Heading {
                    level: 1,
                    text: "Digital Continuity Act".into(),
                },
                Block::Heading {
                    level: 2,
                    text: "Section 1".into(),
                },
            ],
        };
        let h = to_html(std::slice::from_ref(&d), &[]);
        assert_eq!(h.matches("Digital Continuity Act</h").count(), 1, "{h}");
        assert!(h.contains("<h1>Digital Continuity Act</h1>") && h.contains("<h3>Section 1</h3>"));
        // Another first heading stays.
        let mut other = d;
        other.title = "Act 45 of 1995".into();
        let h = to_html(&[other], &[]);
        assert!(
            h.contains("<h1>Act 45 of 1995</h1>") && h.contains("<h2>Digital Continuity Act</h2>")
        );
    }
}

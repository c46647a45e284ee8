//! Showing view documents: as text in a terminal, and as one
//! self-contained HTML file with images inlined as PNG.

use std::fmt::Write as _;

use legation_view::{Block, Document, PixelFormat, Span};

/// Rows of a table shown in the terminal before the rest is summarised.
const TERMINAL_ROWS: usize = 40;
/// Widest column in the terminal, in characters.
const TERMINAL_COLUMN: usize = 28;

/// The documents of a record (main, then pages) as terminal text, with
/// every control character a decoder might put there (escape sequences
/// that would drive the terminal, bidirectional overrides that would
/// reorder what is shown) replaced by U+FFFD.
pub fn to_text(docs: &[Document]) -> String {
    sanitize(&raw_text(docs))
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if (c.is_control() && c != '\n' && c != '\t') || bidi {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

fn raw_text(docs: &[Document]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "━━ {} ━━", d.title);
        } else {
            let _ = writeln!(out, "\n── page {i} of {}: {} ──", docs.len() - 1, d.title);
        }
        for b in &d.blocks {
            block_text(&mut out, b);
        }
    }
    out
}

fn spans_text(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| {
            if s.code {
                format!("`{}`", s.text)
            } else if s.strong {
                format!("*{}*", s.text)
            } else if s.emphasis {
                format!("_{}_", s.text)
            } else {
                s.text.clone()
            }
        })
        .collect()
}

fn clip(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        format!("{s}{}", " ".repeat(width - n))
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

fn block_text(out: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text } => {
            let _ = writeln!(out, "\n{} {text}", "#".repeat(usize::from(*level)));
        }
        Block::Paragraph { spans } => {
            let _ = writeln!(out, "\n{}", spans_text(spans));
        }
        Block::Fields { items } => {
            let w = items
                .iter()
                .map(|(l, _)| l.chars().count())
                .max()
                .unwrap_or(0)
                .min(30);
            out.push('\n');
            for (l, v) in items {
                let _ = writeln!(out, "  {} : {v}", clip(l, w));
            }
        }
        Block::Table { columns, rows, .. } => {
            let widths: Vec<usize> = (0..columns.len())
                .map(|c| {
                    let cells = rows
                        .iter()
                        .take(TERMINAL_ROWS)
                        .map(|r| r[c].chars().count());
                    cells
                        .chain([columns[c].chars().count()])
                        .max()
                        .unwrap_or(1)
                        .clamp(1, TERMINAL_COLUMN)
                })
                .collect();
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| clip(c, *w))
                    .collect::<Vec<_>>()
                    .join(" │ ")
            };
            let _ = writeln!(out, "\n{}", line(columns));
            let _ = writeln!(
                out,
                "{}",
                widths
                    .iter()
                    .map(|w| "─".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("─┼─")
            );
            for r in rows.iter().take(TERMINAL_ROWS) {
                let _ = writeln!(out, "{}", line(r));
            }
            if rows.len() > TERMINAL_ROWS {
                let _ = writeln!(
                    out,
                    "… {} more rows ({} in all; `legation render` shows every row)",
                    rows.len() - TERMINAL_ROWS,
                    rows.len()
                );
            }
        }
        Block::Image {
            width,
            height,
            format,
            pixels,
        } => {
            let _ = writeln!(
                out,
                "\n[image {width}×{height}, {}, {} bytes of pixels]",
                format.name(),
                pixels.len()
            );
        }
        Block::Code { text } => {
            out.push('\n');
            for l in text.lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
        Block::Pages { count } => {
            let _ = writeln!(out, "\n[{count} pages follow]");
        }
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The documents of a record as one self-contained HTML page: no scripts,
/// no external resources, images as `data:` PNGs. `facts` are shown as a
/// header (archive, record, hashes, decoder).
pub fn to_html(docs: &[Document], facts: &[(String, String)]) -> String {
    let title = docs.first().map_or("", |d| d.title.as_str());
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
        esc(title)
    );
    if !facts.is_empty() {
        o.push_str("<table class=\"facts\">\n");
        for (k, v) in facts {
            let _ = writeln!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
        }
        o.push_str("</table>\n");
    }
    for (i, d) in docs.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(o, "<h1>{}</h1>", esc(&d.title));
        } else {
            let _ = writeln!(
                o,
                "<section class=\"page\"><h2>Page {i} of {}: {}</h2>",
                docs.len() - 1,
                esc(&d.title)
            );
        }
        for b in &d.blocks {
            block_html(&mut o, b);
        }
        if i > 0 {
            o.push_str("</section>\n");
        }
    }
    o.push_str("</body></html>\n");
    o
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
                base64(&png)
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

/// A PNG (8 bits per sample, no interlace, filter 0) of raw pixels.
pub fn encode_png(width: u32, height: u32, format: PixelFormat, pixels: &[u8]) -> Vec<u8> {
    let (colour, bpp) = match format {
        PixelFormat::Gray8 => (0u8, 1usize),
        PixelFormat::GrayAlpha8 => (4, 2),
        PixelFormat::Rgb8 => (2, 3),
        PixelFormat::Rgba8 => (6, 4),
    };
    let stride = width as usize * bpp;
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    for row in pixels.chunks(stride.max(1)) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

/// Standard base64 with padding (RFC 4648).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_cannot_drive_the_terminal() {
        let d = Document {
            title: "a\x1b]0;pwned\x07b".into(),
            blocks: vec![Block::Code {
                text: "\u{202e}evil\r\n".into(),
            }],
        };
        let t = to_text(&[d]);
        assert!(
            !t.chars()
                .any(|c| c == '\x1b' || c == '\x07' || c == '\r' || c == '\u{202e}'),
            "{t:?}"
        );
        assert!(t.contains("a\u{fffd}]0;pwned\u{fffd}b"));
    }

    #[test]
    fn base64_vectors() {
        // RFC 4648 section 10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
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
}

//! Showing view documents as text in a terminal. (The HTML writer that
//! `legation render` uses is `legation_html`, shared with the
//! viewer's export.)

use std::fmt::Write as _;

use legation_document::{Block, Document, Span};

/// Rows of a table shown in the terminal before the rest is summarised,
/// unless `view --rows N` or `--all` says otherwise.
pub const TERMINAL_ROWS: usize = 40;
/// Labels of fields are aligned up to this width; a longer one is shown
/// whole, its value after it.
const LABEL_ALIGN: usize = 30;
/// Widest column in the terminal, in characters.
const TERMINAL_COLUMN: usize = 28;

/// The documents of a record (main, then pages) as terminal text, with
/// every control character a decoder might put there (escape sequences
/// that would drive the terminal, bidirectional overrides that would
/// reorder what is shown) replaced by U+FFFD.
#[cfg(test)]
pub fn to_text(docs: &[Document]) -> String {
    let pages = docs.len().saturating_sub(1);
    docs.iter()
        .enumerate()
        .map(|(i, d)| document_text(i, pages, d, TERMINAL_ROWS))
        .collect()
}

/// One document as terminal text: the main document (`index` 0) or page
/// `index` of `pages`, cleaned as `to_text` (a test helper) says; tables
/// show their first `rows` rows and say how many more there are.
pub fn document_text(index: usize, pages: usize, d: &Document, rows: usize) -> String {
    let mut out = String::new();
    if index == 0 {
        let _ = writeln!(out, "━━ {} ━━", d.title);
    } else {
        let _ = writeln!(out, "\n── page {index} of {pages}: {} ──", d.title);
    }
    for b in &d.blocks {
        block_text(&mut out, b, rows);
    }
    sanitize(&out)
}

/// `s` with every control character but newline and tab, and every
/// bidirectional override, isolate or mark, replaced by U+FFFD: text from
/// an archive or a decoder (paths, refusal messages, reasons) is shown,
/// never obeyed. The viewer's cleaner ([`legation_html::clean`]),
/// which its HTML uses too; every line `println!` and `eprintln!` write
/// goes through it.
pub fn sanitize(s: &str) -> String {
    legation_html::clean(s)
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

/// `label` padded to `width`, or whole when it is longer.
fn pad(label: &str, width: usize) -> String {
    let n = label.chars().count();
    format!("{label}{}", " ".repeat(width.saturating_sub(n)))
}

fn block_text(out: &mut String, b: &Block, shown_rows: usize) {
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
                .min(LABEL_ALIGN);
            out.push('\n');
            for (l, v) in items {
                let _ = writeln!(out, "  {} : {v}", pad(l, w));
            }
        }
        Block::Table { columns, rows, .. } => {
            let widths: Vec<usize> = (0..columns.len())
                .map(|c| {
                    let cells = rows.iter().take(shown_rows).map(|r| r[c].chars().count());
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
            for r in rows.iter().take(shown_rows) {
                let _ = writeln!(out, "{}", line(r));
            }
            if rows.len() > shown_rows {
                let _ = writeln!(
                    out,
                    "… {} more rows ({} in all; `--rows N` or `--all` shows more)",
                    rows.len() - shown_rows,
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
    fn long_labels_are_shown_whole_and_rows_as_asked() {
        let label = "the register's own long label for the date of record";
        let d = Document {
            title: "t".into(),
            blocks: vec![
                Block::Fields {
                    items: vec![
                        ("id".into(), "7".into()),
                        (label.into(), "1984-08-26".into()),
                    ],
                },
                Block::Table {
                    columns: vec!["n".into()],
                    types: None,
                    rows: (0..50).map(|i| vec![format!("row{i}")]).collect(),
                },
            ],
        };
        let t = document_text(0, 0, &d, 3);
        assert!(t.contains(&format!("  {label} : 1984-08-26")), "{t}");
        assert!(
            t.contains(&format!("  {} : 7", pad("id", LABEL_ALIGN))),
            "{t}"
        );
        assert!(t.contains("row2") && !t.contains("row3"), "{t}");
        assert!(t.contains("… 47 more rows (50 in all;"), "{t}");
        let all = document_text(0, 0, &d, usize::MAX);
        assert!(all.contains("row49") && !all.contains("more rows"), "{all}");
    }
}

//! The plain text and Markdown decoder.
//!
//! The decoder ABI passes a record's bytes but not its media type, so the
//! decoder tells Markdown from plain text by looking: text with an ATX
//! heading (`# Title`), a code fence, a pipe table or an inline link is
//! read as Markdown ([`decode_markdown`]), anything else as plain text
//! ([`decode_plain`]). Both are public for callers that know the type.
//!
//! Text that is not UTF-8 is read as Latin-1, with a note in a
//! [`Block::Fields`] block.

#![deny(unsafe_code)]

pub mod markdown;

use std::borrow::Cow;

use legation_decoder_sdk::text::{
    self, decode_text, find_byte, is_blank, trim, trim_end, TextEncoding,
};
use legation_decoder_sdk::{decoder, Block, DecodeError, Document, Limits, Span};

decoder! {
    name: "text", version: "1.0.0", media_types: ["text/plain", "text/markdown"],
    decode: decode,
}

/// Longest title taken from the text, in characters.
const TITLE_CHARS: usize = 100;

/// Decodes plain text or Markdown, whichever the text looks like.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let (text, encoding) = decode_text(input);
    let text = normalize_newlines(&text);
    // Split once: telling Markdown from plain text and reading either
    // take the same lines.
    let lines: Vec<&str> = text::lines(&text).collect();
    if markdown::looks_like(&text, &lines) {
        Ok(finish(markdown::render_lines(&lines), encoding))
    } else {
        Ok(finish(plain(&lines), encoding))
    }
}

/// Decodes plain text: paragraphs split on blank lines, lines kept.
pub fn decode_plain(input: &[u8]) -> Result<Document, DecodeError> {
    let (text, encoding) = decode_text(input);
    let text = normalize_newlines(&text);
    Ok(finish(
        plain(&text::lines(&text).collect::<Vec<_>>()),
        encoding,
    ))
}

/// Decodes Markdown.
pub fn decode_markdown(input: &[u8]) -> Result<Document, DecodeError> {
    let (text, encoding) = decode_text(input);
    Ok(finish(
        markdown::render(&normalize_newlines(&text)),
        encoding,
    ))
}

/// CR LF and lone CR become LF, in one pass over the bytes (a substring
/// search per line is several times slower in WebAssembly, which has no
/// vector search to fall back on). Lines are found by the SDK's
/// [`find_byte`] and [`text::lines`], which read 8 bytes a step in WebAssembly
/// where the standard library's read 4.
fn normalize_newlines(text: &str) -> Cow<'_, str> {
    if find_byte(text.as_bytes(), b'\r').is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_byte(rest.as_bytes(), b'\r') {
        out.push_str(&rest[..at]);
        out.push('\n');
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn plain(lines: &[&str]) -> Document {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph {
                spans: vec![Span::plain(paragraph.join("\n"))],
            });
            paragraph.clear();
        }
    };
    for &line in lines {
        if is_blank(line) {
            flush(&mut paragraph, &mut blocks);
        } else {
            paragraph.push(trim_end(line));
        }
    }
    flush(&mut paragraph, &mut blocks);
    let title = lines
        .iter()
        .map(|line| trim(line))
        .find(|line| !line.is_empty())
        .unwrap_or("Text");
    Document {
        title: title.to_owned(),
        blocks,
    }
}

/// Adds the encoding note, shortens the title and keeps the document
/// within the view limits.
fn finish(document: Document, encoding: TextEncoding) -> Document {
    let limits = Limits::default();
    finish_within(document, encoding, limits.max_blocks, limits.max_text)
}

/// [`finish`] with the block and text-length limits given.
fn finish_within(
    mut document: Document,
    encoding: TextEncoding,
    max_blocks: usize,
    max_text: usize,
) -> Document {
    if let Some(note) = encoding.note() {
        document
            .blocks
            .insert(0, Block::Fields { items: vec![note] });
    }
    if document.title.chars().count() > TITLE_CHARS {
        let cut: String = document.title.chars().take(TITLE_CHARS - 1).collect();
        document.title = format!("{}…", trim_end(&cut));
    }
    // Past the block limit, the rest of the text goes into the last
    // blocks as plain text rather than being lost: one paragraph, or
    // several where it is longer than a text may be (below), with as
    // many fewer blocks before them.
    if document.blocks.len() > max_blocks {
        let mut cut = max_blocks - 1;
        let mut rest = joined(document.blocks.drain(cut..));
        loop {
            let pieces = pieces(&rest, max_text);
            if cut + pieces.len() <= max_blocks || cut == 0 {
                document
                    .blocks
                    .extend(pieces.into_iter().map(|text| Block::Paragraph {
                        spans: vec![Span::plain(text)],
                    }));
                break;
            }
            let earlier = max_blocks.saturating_sub(pieces.len()).min(cut - 1);
            rest = format!("{}\n\n{rest}", joined(document.blocks.drain(earlier..)));
            cut = earlier;
        }
    }
    // A text longer than a view document's texts may be (a plain text of
    // one huge paragraph, a huge code block) is split into blocks at line
    // ends. Texts within the limit are left as they are, so every document
    // that was valid before is unchanged.
    if document.blocks.iter().any(|b| longest_text(b) > max_text) {
        let blocks = std::mem::take(&mut document.blocks);
        for block in blocks {
            split_long(block, max_text, &mut document.blocks);
        }
        document.blocks.truncate(max_blocks);
    }
    document
}

/// The longest text of a paragraph's span or a code block.
fn longest_text(block: &Block) -> usize {
    match block {
        Block::Paragraph { spans } => spans.iter().map(|s| s.text.len()).max().unwrap_or(0),
        Block::Code { text } | Block::Heading { text, .. } => text.len(),
        _ => 0,
    }
}

/// Appends `block` to `out`, as several blocks of the same kind if one of
/// its texts is longer than `max_text` bytes.
fn split_long(block: Block, max_text: usize, out: &mut Vec<Block>) {
    match block {
        Block::Code { text } if text.len() > max_text => {
            out.extend(
                pieces(&text, max_text)
                    .into_iter()
                    .map(|text| Block::Code { text }),
            );
        }
        Block::Heading { level, text } if text.len() > max_text => {
            out.extend(
                pieces(&text, max_text)
                    .into_iter()
                    .map(|text| Block::Heading { level, text }),
            );
        }
        Block::Paragraph { spans } if spans.iter().any(|s| s.text.len() > max_text) => {
            // Each span on its own, the long ones in pieces, each piece a
            // paragraph keeping its span's emphasis.
            for span in spans {
                for text in pieces(&span.text, max_text) {
                    out.push(Block::Paragraph {
                        spans: vec![Span {
                            text,
                            ..span.clone()
                        }],
                    });
                }
            }
        }
        other => out.push(other),
    }
}

/// `text` cut into pieces of at most `max` bytes: at the last line end
/// within each piece's reach (the line end itself dropped), or, in a line
/// longer than that, at a character boundary.
fn pieces(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        match rest[..end].rfind('\n') {
            Some(line_end) if line_end > 0 => {
                out.push(rest[..line_end].to_owned());
                rest = &rest[line_end + 1..];
            }
            _ => {
                out.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    out.push(rest.to_owned());
    out
}

/// The texts of blocks, for the overflow paragraph, a blank line apart.
fn joined(blocks: impl Iterator<Item = Block>) -> String {
    blocks.map(block_text).collect::<Vec<_>>().join("\n\n")
}

/// The text of a block, for the overflow paragraph.
fn block_text(block: Block) -> String {
    match block {
        Block::Heading { text, .. } | Block::Code { text } => text,
        Block::Paragraph { spans } => spans.into_iter().map(|s| s.text).collect(),
        Block::Fields { items } => items
            .into_iter()
            .map(|(l, v)| format!("{l}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Table { columns, rows, .. } => std::iter::once(columns)
            .chain(rows)
            .map(|row| row.join(" | "))
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Image { .. } | Block::Pages { .. } => String::new(),
    }
}

#[cfg(test)]
mod tests;

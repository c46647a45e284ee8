//! A Markdown reader for the common subset of CommonMark and GitHub's
//! tables: ATX and setext headings, paragraphs with emphasis, strong
//! emphasis, code spans and links, fenced and indented code blocks, block
//! quotes, bulleted and numbered lists (as paragraphs with a bullet or
//! number in front, indented by depth) and pipe tables. Link reference
//! definitions are dropped, thematic breaks end a paragraph, and HTML is
//! shown as text.

use legation_decoder_sdk::text::{find_byte, is_blank, lines, trim, trim_end, trim_start};
use legation_decoder_sdk::{Block, Document, Span};

/// Whether `text` shows a sign of Markdown that plain text rarely has: an
/// ATX heading, a code fence, a pipe table's delimiter row, or an inline
/// link.
pub fn looks_like_markdown(text: &str) -> bool {
    looks_like(text, &lines(text).collect::<Vec<_>>())
}

/// [`looks_like_markdown`] of `text`, already split into `lines`.
pub(crate) fn looks_like(text: &str, lines: &[&str]) -> bool {
    lines.iter().enumerate().any(|(i, line)| {
        // A heading starts with `#` and a fence with a backquote or a
        // tilde, after the indentation: most lines are neither.
        let opens = match block_start(line).and_then(|rest| rest.bytes().next()) {
            Some(b'#') => atx_heading(line).is_some(),
            Some(b'`' | b'~') => fence_open(line).is_some(),
            _ => false,
        };
        opens || (i > 0 && has_pipe(lines[i - 1]) && is_delimiter_row(line))
    }) || has_inline_link(text)
}

/// Renders Markdown text (with LF line ends) as a document.
pub fn render(text: &str) -> Document {
    render_lines(&lines(text).collect::<Vec<_>>())
}

/// [`render`] of a text split into its `lines`.
pub(crate) fn render_lines(lines: &[&str]) -> Document {
    let mut renderer = Renderer {
        blocks: Vec::new(),
        paragraph: Vec::new(),
    };
    renderer.run(lines);
    renderer.flush();
    let title = renderer
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::Heading { text, .. } => Some(text.clone()),
            _ => None,
        })
        .or_else(|| {
            renderer.blocks.iter().find_map(|block| match block {
                Block::Paragraph { spans } => Some(spans.iter().map(|s| s.text.as_str()).collect()),
                _ => None,
            })
        })
        .unwrap_or_else(|| "Markdown".to_owned());
    Document {
        title,
        blocks: renderer.blocks,
    }
}

struct Renderer<'a> {
    blocks: Vec<Block>,
    /// Lines of the paragraph being read.
    paragraph: Vec<&'a str>,
}

impl<'a> Renderer<'a> {
    fn run(&mut self, lines: &[&'a str]) {
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            if is_blank(line) {
                self.flush();
                i += 1;
            } else if let Some((fence, len)) = fence_open(line) {
                self.flush();
                let indent = indent(line);
                let mut code = Vec::new();
                i += 1;
                while i < lines.len() && !is_fence_close(lines[i], fence, len) {
                    code.push(strip_indent(lines[i], indent));
                    i += 1;
                }
                i += 1; // the closing fence, if any
                self.blocks.push(Block::Code {
                    text: code.join("\n"),
                });
            } else if let Some((level, text)) = atx_heading(line) {
                self.flush();
                self.blocks.push(Block::Heading {
                    level,
                    text: plain_text(text),
                });
                i += 1;
            } else if let (false, Some(level)) = (self.paragraph.is_empty(), setext(line)) {
                let text = plain_text(&self.paragraph.join(" "));
                self.paragraph.clear();
                self.blocks.push(Block::Heading { level, text });
                i += 1;
            } else if is_thematic_break(line) {
                self.flush();
                i += 1;
            } else if self.paragraph.is_empty()
                && has_pipe(line)
                && lines.get(i + 1).is_some_and(|next| is_delimiter_row(next))
            {
                i = self.table(lines, i);
            } else if self.paragraph.is_empty() && indent(line) >= 4 {
                i = self.indented_code(lines, i);
            } else if let Some(item) = list_item(line) {
                self.flush();
                i = self.list_item(lines, i, item);
            } else if let Some(quoted) = quote(line) {
                self.flush();
                let mut text = vec![quoted];
                i += 1;
                while let Some(quoted) = lines.get(i).and_then(|line| quote(line)) {
                    text.push(quoted);
                    i += 1;
                }
                let mut spans = vec![Span::plain("> ")];
                spans.extend(inline(&join_lines(&text)));
                self.blocks.push(Block::Paragraph {
                    spans: merge(spans),
                });
            } else if self.paragraph.is_empty() && is_link_definition(line) {
                i += 1;
            } else {
                self.paragraph.push(line);
                i += 1;
            }
        }
    }

    fn flush(&mut self) {
        if !self.paragraph.is_empty() {
            let spans = inline(&join_lines(&self.paragraph));
            self.paragraph.clear();
            self.blocks.push(Block::Paragraph { spans });
        }
    }

    /// A pipe table whose header is line `i`; returns the line after it.
    fn table(&mut self, lines: &[&str], mut i: usize) -> usize {
        let columns: Vec<String> = table_cells(lines[i])
            .iter()
            .map(|c| plain_text(c))
            .collect();
        i += 2;
        let mut rows = Vec::new();
        while i < lines.len() && !is_blank(lines[i]) && has_pipe(lines[i]) {
            let mut row: Vec<String> = table_cells(lines[i])
                .iter()
                .map(|c| plain_text(c))
                .collect();
            row.resize(columns.len(), String::new());
            rows.push(row);
            i += 1;
        }
        self.blocks.push(Block::Table {
            columns,
            types: None,
            rows,
        });
        i
    }

    /// An indented code block starting at line `i`.
    fn indented_code(&mut self, lines: &[&str], mut i: usize) -> usize {
        let mut code = Vec::new();
        while i < lines.len() && (is_blank(lines[i]) || indent(lines[i]) >= 4) {
            code.push(strip_indent(lines[i], 4));
            i += 1;
        }
        while code.last().is_some_and(|line| is_blank(line)) {
            code.pop();
        }
        self.blocks.push(Block::Code {
            text: code.join("\n"),
        });
        i
    }

    /// A list item starting at line `i`, with the lines that continue it.
    fn list_item(&mut self, lines: &[&str], mut i: usize, item: ListItem<'a>) -> usize {
        let mut text = vec![item.content];
        i += 1;
        while i < lines.len() {
            let line = lines[i];
            if is_blank(line)
                || list_item(line).is_some()
                || atx_heading(line).is_some()
                || fence_open(line).is_some()
                || is_thematic_break(line)
                || quote(line).is_some()
            {
                break;
            }
            text.push(trim(line));
            i += 1;
        }
        let depth = item.indent / 2;
        let mut spans = vec![Span::plain(format!(
            "{}{} ",
            "    ".repeat(depth),
            item.marker
        ))];
        spans.extend(inline(&join_lines(&text)));
        self.blocks.push(Block::Paragraph {
            spans: merge(spans),
        });
        i
    }
}

/// Joins a paragraph's lines: a soft break becomes a space; a hard break
/// (two trailing spaces or a backslash) a line feed.
fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let line = trim_start(line);
        if index + 1 == lines.len() {
            out.push_str(trim_end(line));
        } else if line.ends_with("  ") {
            out.push_str(trim_end(line));
            out.push('\n');
        } else if let Some(stripped) = trim_end(line).strip_suffix('\\') {
            out.push_str(stripped);
            out.push('\n');
        } else {
            out.push_str(trim_end(line));
            out.push(' ');
        }
    }
    out
}

/// Whether `line` has a `|` (found 16 bytes a step, see [`find_byte`]).
fn has_pipe(line: &str) -> bool {
    find_byte(line.as_bytes(), b'|').is_some()
}

/// Columns of leading white space (a tab counts 4).
fn indent(line: &str) -> usize {
    let mut columns = 0;
    // Bytes, not characters: a space or a tab is one byte, and no other
    // character has a byte that is one.
    for b in line.bytes() {
        match b {
            b' ' => columns += 1,
            b'\t' => columns += 4 - columns % 4,
            _ => break,
        }
    }
    columns
}

/// `line` without up to `columns` columns of leading white space.
fn strip_indent(line: &str, columns: usize) -> &str {
    let mut removed = 0;
    for (at, c) in line.char_indices() {
        if removed >= columns {
            return &line[at..];
        }
        match c {
            ' ' => removed += 1,
            '\t' => removed += 4 - removed % 4,
            _ => return &line[at..],
        }
    }
    ""
}

/// `line` without up to three spaces of indentation, or `None` if it is
/// indented more (and so not a block start).
fn block_start(line: &str) -> Option<&str> {
    (indent(line) <= 3).then(|| trim_start(line))
}

fn atx_heading(line: &str) -> Option<(u8, &str)> {
    let rest = block_start(line)?;
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let text = &rest[hashes..];
    if !(text.is_empty() || text.starts_with([' ', '\t'])) {
        return None;
    }
    let text = trim(text);
    // A closing run of hashes, after a space, is not part of the text.
    let without = text.trim_end_matches('#');
    let text = if without.is_empty() {
        ""
    } else if without.ends_with([' ', '\t']) {
        trim_end(without)
    } else {
        text
    };
    Some((hashes as u8, text))
}

/// A fence's character and length, if `line` opens a code block.
fn fence_open(line: &str) -> Option<(char, usize)> {
    let rest = block_start(line)?;
    let fence = rest.chars().next().filter(|&c| c == '`' || c == '~')?;
    let len = rest.chars().take_while(|&c| c == fence).count();
    let info = &rest[len..];
    (len >= 3 && !(fence == '`' && info.contains('`'))).then_some((fence, len))
}

fn is_fence_close(line: &str, fence: char, len: usize) -> bool {
    block_start(line).is_some_and(|rest| {
        let run = rest.chars().take_while(|&c| c == fence).count();
        run >= len && is_blank(&rest[run..])
    })
}

fn setext(line: &str) -> Option<u8> {
    let rest = block_start(line)?.trim_end();
    if !rest.is_empty() && rest.bytes().all(|b| b == b'=') {
        Some(1)
    } else if !rest.is_empty() && rest.bytes().all(|b| b == b'-') {
        Some(2)
    } else {
        None
    }
}

fn is_thematic_break(line: &str) -> bool {
    let Some(rest) = block_start(line) else {
        return false;
    };
    // Three or more of one mark, and nothing else but white space; `rest`
    // starts with its first mark (block_start trimmed the white space).
    let mut marks = rest.chars().filter(|c| !c.is_whitespace());
    let Some(mark @ ('*' | '-' | '_')) = marks.next() else {
        return false;
    };
    let mut count = 1;
    for c in marks {
        if c != mark {
            return false;
        }
        count += 1;
    }
    count >= 3
}

/// A list item's indentation, marker to show and first line of text.
struct ListItem<'a> {
    indent: usize,
    marker: String,
    content: &'a str,
}

fn list_item(line: &str) -> Option<ListItem<'_>> {
    let indent = indent(line);
    let rest = trim_start(line);
    let (marker, after) = if let Some(after) = rest.strip_prefix(['-', '*', '+']) {
        ("•".to_owned(), after)
    } else {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let after = rest[digits..].strip_prefix(['.', ')'])?;
        (format!("{}.", &rest[..digits]), after)
    };
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    Some(ListItem {
        indent,
        marker,
        content: trim(after),
    })
}

fn quote(line: &str) -> Option<&str> {
    let rest = block_start(line)?.strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// `[label]: destination`
fn is_link_definition(line: &str) -> bool {
    block_start(line)
        .and_then(|rest| rest.strip_prefix('['))
        .and_then(|rest| rest.split_once("]:"))
        .is_some_and(|(label, destination)| {
            !label.is_empty() && !label.contains(']') && !is_blank(destination)
        })
}

/// A pipe table's delimiter row, such as `| --- | :---: |`.
fn is_delimiter_row(line: &str) -> bool {
    has_pipe(line) && line.contains('-') && {
        let cells = table_cells(line);
        !cells.is_empty()
            && cells.iter().all(|cell| {
                let inner = cell.strip_prefix(':').unwrap_or(cell);
                let inner = inner.strip_suffix(':').unwrap_or(inner);
                !inner.is_empty() && inner.bytes().all(|b| b == b'-')
            })
    }
}

/// The cells of a table row: split on unescaped `|`, outer pipes dropped.
fn table_cells(line: &str) -> Vec<String> {
    let line = trim(line);
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = if line.ends_with('|') && !line.ends_with("\\|") {
        &line[..line.len() - 1]
    } else {
        line
    };
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            c => cell.push(c),
        }
    }
    cells.push(trim(&cell).to_owned());
    cells
}

fn has_inline_link(text: &str) -> bool {
    // Each `](` in turn: found by a search for `]` (a byte search) and a
    // look at the next byte, as a substring search has no fast path in
    // WebAssembly. `rest` starts after the previous `](`.
    let bytes = text.as_bytes();
    let (mut rest, mut from) = (0, 0);
    while let Some(offset) = find_byte(&bytes[from..], b']') {
        let at = from + offset;
        if bytes.get(at + 1) != Some(&b'(') {
            from = at + 1;
            continue;
        }
        let line_before = text[rest..at].rsplit('\n').next().unwrap_or("");
        let after = &text[at + 2..];
        let line_after = &after[..find_byte(after.as_bytes(), b'\n').unwrap_or(after.len())];
        if line_before.contains('[') && line_after.contains(')') {
            return true;
        }
        rest = at + 2;
        from = rest;
    }
    false
}

/// The text of inline Markdown without its styles.
fn plain_text(text: &str) -> String {
    inline(text).into_iter().map(|span| span.text).collect()
}

/// Inline Markdown as styled spans.
pub fn inline(text: &str) -> Vec<Span> {
    let mut parser = Inline {
        source: text,
        spans: Vec::new(),
        text: String::new(),
        emphasis: false,
        strong: false,
    };
    parser.run(0, text.len());
    parser.push_text();
    merge(parser.spans)
}

/// The inline parser. It walks the bytes of `source`: every character
/// that starts something (`\`, backquote, `*`, `_`, `!`, `[`, `<`, and the
/// `]`, `(`, `)`, `>` and space that end them) is ASCII, and no byte of
/// another character is one, so positions it stops at are character
/// boundaries, and text between them is copied as it is.
struct Inline<'a> {
    source: &'a str,
    spans: Vec<Span>,
    /// Text not yet pushed, in the current style.
    text: String,
    emphasis: bool,
    strong: bool,
}

/// Whether `b` may start an inline element (a run of other bytes is
/// plain text).
fn starts_inline(b: u8) -> bool {
    matches!(b, b'\\' | b'`' | b'*' | b'_' | b'!' | b'[' | b'<')
}

impl Inline<'_> {
    fn push_text(&mut self) {
        if !self.text.is_empty() {
            self.spans.push(Span {
                text: std::mem::take(&mut self.text),
                emphasis: self.emphasis,
                strong: self.strong,
                code: false,
            });
        }
    }

    fn run(&mut self, start: usize, end: usize) {
        let (source, bytes) = (self.source, self.source.as_bytes());
        let mut i = start;
        while i < end {
            match bytes[i] {
                b'\\' if i + 1 < end && bytes[i + 1].is_ascii_punctuation() => {
                    self.text.push(char::from(bytes[i + 1]));
                    i += 2;
                }
                b'`' => i = self.code_span(i, end),
                b'*' | b'_' => i = self.delimiter(i, end),
                b'!' if bytes.get(i + 1) == Some(&b'[') => {
                    // An image: its description stands for it.
                    match self.link(i + 1, end) {
                        Some(next) => i = next,
                        None => {
                            self.text.push('!');
                            i += 1;
                        }
                    }
                }
                b'[' => match self.link(i, end) {
                    Some(next) => i = next,
                    None => {
                        self.text.push('[');
                        i += 1;
                    }
                },
                b'<' => {
                    // An autolink: <https://...> shows its address.
                    let close = (i + 1..end).find(|&j| bytes[j] == b'>' || bytes[j] == b' ');
                    match close {
                        Some(j) if bytes[j] == b'>' && bytes[i + 1..j].contains(&b':') => {
                            self.text.push_str(&source[i + 1..j]);
                            i = j + 1;
                        }
                        _ => {
                            self.text.push('<');
                            i += 1;
                        }
                    }
                }
                _ => {
                    // A run of characters that start nothing, taken whole.
                    let run = bytes[i + 1..end]
                        .iter()
                        .position(|&b| starts_inline(b))
                        .map_or(end, |n| i + 1 + n);
                    self.text.push_str(&source[i..run]);
                    i = run;
                }
            }
        }
    }

    /// The length of the run of `b` at `i`, up to `end`.
    fn run_of(&self, b: u8, i: usize, end: usize) -> usize {
        self.source.as_bytes()[i..end]
            .iter()
            .take_while(|&&d| d == b)
            .count()
    }

    /// A code span opening at `i`; returns where to go on.
    fn code_span(&mut self, i: usize, end: usize) -> usize {
        let (source, bytes) = (self.source, self.source.as_bytes());
        let run = self.run_of(b'`', i, end);
        let mut j = i + run;
        while j < end {
            if bytes[j] == b'`' {
                let closing = self.run_of(b'`', j, end);
                if closing == run {
                    let mut code = &source[i + run..j];
                    if code.len() >= 2
                        && code.starts_with(' ')
                        && code.ends_with(' ')
                        && !is_blank(code)
                    {
                        code = &code[1..code.len() - 1];
                    }
                    self.push_text();
                    self.spans.push(Span {
                        text: code.to_owned(),
                        emphasis: self.emphasis,
                        strong: self.strong,
                        code: true,
                    });
                    return j + closing;
                }
                j += closing;
            } else {
                j += 1;
            }
        }
        // No closing run: the backticks are text.
        self.text.push_str(&source[i..i + run]);
        i + run
    }

    /// A run of `*` or `_` at `i`: opens or closes emphasis or strong
    /// emphasis when it can, else is text.
    fn delimiter(&mut self, i: usize, end: usize) -> usize {
        let source = self.source;
        let c = source.as_bytes()[i];
        let run = self.run_of(c, i, end);
        let before = source[..i].chars().next_back();
        let after = source[i + run..end].chars().next();
        let space_after = after.is_none_or(char::is_whitespace);
        let space_before = before.is_none_or(char::is_whitespace);
        // `_` inside a word (snake_case) is text.
        let intraword = c == b'_'
            && before.is_some_and(char::is_alphanumeric)
            && after.is_some_and(char::is_alphanumeric);
        if intraword {
            self.text.push_str(&source[i..i + run]);
            return i + run;
        }
        let width = if run >= 2 { 2 } else { 1 };
        let open = if width == 2 {
            self.strong
        } else {
            self.emphasis
        };
        if open && !space_before {
            self.push_text();
            if width == 2 {
                self.strong = false;
            } else {
                self.emphasis = false;
            }
            return i + width;
        }
        if !open && !space_after && self.closes_later(i + width, end, c, width) {
            self.push_text();
            if width == 2 {
                self.strong = true;
            } else {
                self.emphasis = true;
            }
            return i + width;
        }
        self.text.push_str(&source[i..i + run]);
        i + run
    }

    /// Whether a run of `width` `c`s after a non-space closes an opening at
    /// `from`.
    fn closes_later(&self, from: usize, end: usize, c: u8, width: usize) -> bool {
        let (source, bytes) = (self.source, self.source.as_bytes());
        let mut j = from + 1;
        while j + width <= end {
            if bytes[j..j + width].iter().all(|&d| d == c)
                && !source[..j]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_whitespace)
            {
                let run = self.run_of(c, j, end);
                if width == 2 || run != 2 {
                    return true;
                }
                j += run;
                continue;
            }
            j += 1;
        }
        false
    }

    /// A link `[text](destination)` or `[text][label]` opening at `i`:
    /// its text, then the destination in parentheses when it says more.
    /// Returns where to go on, or `None` if `i` opens no link.
    fn link(&mut self, i: usize, end: usize) -> Option<usize> {
        let (source, bytes) = (self.source, self.source.as_bytes());
        let mut depth = 0;
        let close = (i..end).find(|&j| {
            match bytes[j] {
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ => {}
            }
            depth == 0
        })?;
        let (destination, next) = match bytes.get(close + 1) {
            Some(b'(') => {
                let paren = (close + 2..end).find(|&j| bytes[j] == b')')?;
                let inside = &source[close + 2..paren];
                let destination = inside.split_whitespace().next().unwrap_or("");
                (Some(destination), paren + 1)
            }
            Some(b'[') => {
                let label_end = (close + 2..end).find(|&j| bytes[j] == b']')?;
                (None, label_end + 1)
            }
            _ => return None,
        };
        let label = &source[i + 1..close];
        self.run(i + 1, close);
        if let Some(destination) = destination {
            let destination = destination.trim_start_matches('<').trim_end_matches('>');
            if !destination.is_empty() && destination != label {
                self.text.push_str(&format!(" ({destination})"));
            }
        }
        Some(next)
    }
}

/// Joins neighbouring spans of the same style and drops empty ones.
fn merge(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        if span.text.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last)
                if (last.emphasis, last.strong, last.code)
                    == (span.emphasis, span.strong, span.code) =>
            {
                last.text.push_str(&span.text);
            }
            _ => out.push(span),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thematic_breaks_as_defined() {
        // The definition, collecting the marks; the decoder's version stops
        // at the first character that rules a line out.
        let reference = |line: &str| {
            block_start(line).is_some_and(|rest| {
                let marks: Vec<char> = rest.chars().filter(|c| !c.is_whitespace()).collect();
                marks.len() >= 3
                    && matches!(marks[0], '*' | '-' | '_')
                    && marks.iter().all(|&c| c == marks[0])
            })
        };
        let pieces = ["-", "*", "_", " ", "\t", "\u{a0}", "a", "    "];
        let mut level = vec![String::new()];
        let mut lines = level.clone();
        for _ in 0..5 {
            level = level
                .iter()
                .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
                .collect();
            lines.extend(level.iter().cloned());
        }
        for line in &lines {
            assert_eq!(is_thematic_break(line), reference(line), "{line:?}");
        }
        assert!(is_thematic_break("- - -"));
        assert!(!is_thematic_break("--"));
    }
}

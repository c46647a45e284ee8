use super::*;
use markdown::inline;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes through the host's checks.
fn document(input: &[u8]) -> Document {
    let response = legation_decoder_sdk::respond(decode(input));
    legation_decoder_sdk::read_response(&response).unwrap()
}

fn span(text: &str, emphasis: bool, strong: bool, code: bool) -> Span {
    Span {
        text: text.into(),
        emphasis,
        strong,
        code,
    }
}

fn paragraph(text: &str) -> Block {
    Block::Paragraph {
        spans: vec![Span::plain(text)],
    }
}

fn heading(level: u8, text: &str) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn code(text: &str) -> Block {
    Block::Code { text: text.into() }
}

#[test]
fn plain_text_paragraphs_keep_their_lines() {
    let doc = document(b"  Title line\r\nsecond line   \r\n\r\n \t \nNext paragraph\n\n\n");
    assert_eq!(doc.title, "Title line");
    assert_eq!(
        doc.blocks,
        vec![
            paragraph("  Title line\nsecond line"),
            paragraph("Next paragraph")
        ]
    );
    assert_eq!(document(b"").blocks, vec![]);
    assert_eq!(document(b"").title, "Text");
}

#[test]
fn latin1_text_gets_a_note() {
    let doc = document(b"Tere, J\xfcri!\n");
    assert_eq!(
        doc.blocks,
        vec![
            Block::Fields {
                items: vec![(
                    "encoding".into(),
                    "not UTF-8; shown as Latin-1 (ISO 8859-1)".into()
                )]
            },
            paragraph("Tere, Jüri!"),
        ]
    );
}

#[test]
fn long_titles_are_shortened() {
    let line = "word ".repeat(40);
    let doc = document(line.as_bytes());
    assert_eq!(doc.title.chars().count(), 100);
    assert!(doc.title.ends_with('…'));
}

#[test]
fn corpus_licences_are_plain_text() {
    for (name, title, paragraphs) in [
        ("GPL-2.txt", "GNU GENERAL PUBLIC LICENSE", None),
        (
            "BSD.txt",
            "Copyright (c) The Regents of the University of California.",
            Some(3),
        ),
    ] {
        let input = testdata(name);
        assert!(!markdown::looks_like_markdown(
            std::str::from_utf8(&input).unwrap()
        ));
        let doc = document(&input);
        assert_eq!(doc.title, title, "{name}");
        if let Some(count) = paragraphs {
            assert_eq!(doc.blocks.len(), count, "{name}");
        }
        // Nothing is lost: every non-blank line is in some paragraph.
        let text: String = doc
            .blocks
            .iter()
            .map(|b| match b {
                Block::Paragraph { spans } => spans[0].text.clone() + "\n",
                other => panic!("{other:?}"),
            })
            .collect();
        let lines = String::from_utf8(input).unwrap();
        let expected: Vec<&str> = lines
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{name}");
    }
}

#[test]
fn inline_styles() {
    assert_eq!(
        inline("a *em* and **strong** and `co*de*` and _under_ and __both__"),
        vec![
            span("a ", false, false, false),
            span("em", true, false, false),
            span(" and ", false, false, false),
            span("strong", false, true, false),
            span(" and ", false, false, false),
            span("co*de*", false, false, true),
            span(" and ", false, false, false),
            span("under", true, false, false),
            span(" and ", false, false, false),
            span("both", false, true, false),
        ]
    );
    assert_eq!(
        inline("***both*** x"),
        vec![
            span("both", true, true, false),
            span(" x", false, false, false)
        ]
    );
    // Not emphasis: spaces inside, no closer, snake_case, escapes.
    for text in [
        "a * b * c",
        "2 * 3",
        "snake_case_name",
        r"\*not\*",
        "**open",
    ] {
        let spans = inline(text);
        assert_eq!(spans.len(), 1, "{text}: {spans:?}");
        assert!(!spans[0].emphasis && !spans[0].strong, "{text}");
    }
    assert_eq!(inline(r"\*not\*")[0].text, "*not*");
    assert_eq!(
        inline("``a ` b`` and ` x `"),
        vec![
            span("a ` b", false, false, true),
            span(" and ", false, false, false),
            span("x", false, false, true)
        ]
    );
    assert_eq!(inline("`open")[0].text, "`open");
}

#[test]
fn inline_styles_beside_characters_of_several_bytes() {
    // The parser walks bytes: what stands before and after a delimiter is
    // the whole character there, letters and spaces outside ASCII included.
    assert_eq!(
        inline("é**字**é"),
        vec![
            span("é", false, false, false),
            span("字", false, true, false),
            span("é", false, false, false)
        ]
    );
    // `_` between letters (here, non-ASCII ones) is text.
    assert_eq!(inline("é_ж_é"), vec![span("é_ж_é", false, false, false)]);
    // A no-break space counts as space: no emphasis opens before it.
    assert_eq!(
        inline("a *\u{a0}b* c"),
        vec![span("a *\u{a0}b* c", false, false, false)]
    );
    assert_eq!(
        inline("字 `é` [ж](ü) <https://é.x>"),
        vec![
            span("字 ", false, false, false),
            span("é", false, false, true),
            span(" ж (ü) https://é.x", false, false, false)
        ]
    );
}

#[test]
fn links_and_images() {
    assert_eq!(
        inline("see [the spec](https://example.org/spec \"title\") now")[0].text,
        "see the spec (https://example.org/spec) now"
    );
    assert_eq!(inline("[https://a.b](https://a.b)")[0].text, "https://a.b");
    assert_eq!(
        inline("[![Build Status][build-img]][build] ok")[0].text,
        "Build Status ok"
    );
    assert_eq!(inline("mail <https://x.y/z>")[0].text, "mail https://x.y/z");
    assert_eq!(inline("a [b] c < d")[0].text, "a [b] c < d");
    assert_eq!(
        inline("**[bold link](u)**"),
        vec![span("bold link (u)", false, true, false)]
    );
}

#[test]
fn markdown_blocks() {
    let text = "\
Title
=====

Intro *text*
on two lines.  
Hard break.

Sub
---

# ATX #
###### Six
####### seven is text

```rust
fn main() {
    x
}
```

~~~
tilde
~~~~

    indented
      more

    after blank

- one
  continued
- two
  * nested
1. first
2) second

> quoted
> more

[ref]: https://example.org
***
| a | b \\| c |
|---|:-:|
| 1 | **2** |
| 3 |
after
";
    let doc = markdown::render(text);
    assert_eq!(doc.title, "Title");
    let p = |spans: Vec<Span>| Block::Paragraph { spans };
    let plain = |t: &str| span(t, false, false, false);
    assert_eq!(
        doc.blocks,
        vec![
            heading(1, "Title"),
            p(vec![
                plain("Intro "),
                span("text", true, false, false),
                plain(" on two lines.\nHard break."),
            ]),
            heading(2, "Sub"),
            heading(1, "ATX"),
            heading(6, "Six"),
            paragraph("####### seven is text"),
            code("fn main() {\n    x\n}"),
            code("tilde"),
            code("indented\n  more\n\nafter blank"),
            paragraph("• one continued"),
            paragraph("• two"),
            paragraph("    • nested"),
            paragraph("1. first"),
            paragraph("2. second"),
            paragraph("> quoted more"),
            Block::Table {
                columns: vec!["a".into(), "b | c".into()],
                types: None,
                rows: vec![vec!["1".into(), "2".into()], vec!["3".into(), "".into()],],
            },
            paragraph("after"),
        ]
    );
}

#[test]
fn unclosed_fences_run_to_the_end() {
    let doc = markdown::render("```\ncode\n\nmore");
    assert_eq!(doc.blocks, vec![code("code\n\nmore")]);
}

#[test]
fn markdown_is_detected() {
    for text in [
        "# Heading\ntext",
        "text\n```\ncode\n```",
        "a | b\n--|--\n1 | 2",
        "see [x](https://y)",
        "a]b then [x](y)",
        "](x)\nthen [y](z)",
    ] {
        assert!(markdown::looks_like_markdown(text), "{text}");
    }
    for text in [
        "Plain text\n==========\n",
        "#hashtag",
        "a - b\n- c",
        "[1] note (see page 2)",
        "C# code",
        "a]b](c)",
        "[x]\n(y)",
    ] {
        assert!(!markdown::looks_like_markdown(text), "{text}");
    }
}

#[test]
fn corpus_readme() {
    let doc = document(&testdata("crc32fast-README.md"));
    assert_eq!(doc.title, "crc32fast Build Status Crates.io Documentation");
    let headings: Vec<(u8, &str)> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, text } => Some((*level, text.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        headings,
        vec![
            (1, "crc32fast Build Status Crates.io Documentation"),
            (2, "Usage"),
            (3, "Simple usage"),
            (3, "Advanced usage"),
            (2, "Performance"),
            (2, "Memory Safety"),
            (2, "Available feature flags"),
            (3, "std (default: enabled)"),
            (3, "nightly (default: disabled)"),
            (2, "License"),
            (3, "Contribution"),
        ]
    );
    // The link definitions after the title are dropped; the tagline is
    // emphasised.
    assert_eq!(
        doc.blocks[1],
        Block::Paragraph {
            spans: vec![span(
                "Fast, SIMD-accelerated CRC32 (IEEE) checksum computation",
                true,
                false,
                false
            )]
        }
    );
    assert!(doc.blocks.contains(&code(
        "use crc32fast::Hasher;\n\nlet mut hasher = Hasher::new();\nhasher.update(b\"foo bar baz\");\nlet checksum = hasher.finalize();"
    )));
    let table = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table { columns, rows, .. } => Some((columns, rows)),
            _ => None,
        })
        .unwrap();
    assert_eq!(table.0, &["crate", "version", "variant", "ns/iter", "MB/s"]);
    assert_eq!(table.1.len(), 3);
    assert_eq!(table.1[0][0], "crc (https://crates.io/crates/crc)");
    // The list items with continuation lines.
    let items: Vec<String> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph { spans } if spans[0].text.starts_with("• ") => {
                Some(spans.iter().map(|s| s.text.as_str()).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(items.len(), 6);
    assert!(items[2].ends_with("otherwise unchanged)"), "{}", items[2]);
}

#[test]
fn explicit_entry_points() {
    let text = b"# Not a heading in plain text";
    assert_eq!(
        decode_plain(text).unwrap().blocks,
        vec![paragraph("# Not a heading in plain text")]
    );
    assert_eq!(
        decode_markdown(b"plain *or* not").unwrap().blocks[0],
        Block::Paragraph {
            spans: vec![
                span("plain ", false, false, false),
                span("or", true, false, false),
                span(" not", false, false, false)
            ]
        }
    );
}

#[test]
fn random_input_never_panics() {
    let alphabet = "*_`[]()!<>#|-\\:~ \n\t a1.é=+>".chars().collect::<Vec<_>>();
    let mut state = 5u64;
    for _ in 0..5000 {
        let len = (state >> 40) as usize % 60;
        let text: String = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(state >> 33) as usize % alphabet.len()]
            })
            .collect();
        let doc = decode_markdown(text.as_bytes()).unwrap();
        assert!(doc.validate(&Limits::default()).is_ok(), "{text:?}");
        let doc = decode(text.as_bytes()).unwrap();
        assert!(doc.validate(&Limits::default()).is_ok(), "{text:?}");
    }
}

#[test]
fn newlines_of_every_convention_become_lf() {
    assert!(matches!(normalize_newlines("a\nb"), Cow::Borrowed("a\nb")));
    assert_eq!(normalize_newlines("a\r\nb\rc\r\r\nd\r"), "a\nb\nc\n\nd\n");
    assert_eq!(normalize_newlines("\r\n\r\n"), "\n\n");
    assert_eq!(normalize_newlines("é\r\nж\rα"), "é\nж\nα");
}

/// A text longer than a view document's texts may be is split into
/// blocks at line ends (a line longer than that at a character boundary);
/// shorter texts are left as they were.
#[test]
fn texts_over_the_length_limit_are_split_at_line_ends() {
    let doc = |blocks| Document {
        title: "t".into(),
        blocks,
    };
    let within = finish_within(
        doc(vec![paragraph("one\ntwo\nthree"), code("x\ny")]),
        TextEncoding::Utf8,
        10,
        13,
    );
    assert_eq!(
        within.blocks,
        vec![paragraph("one\ntwo\nthree"), code("x\ny")]
    );
    let split = finish_within(
        doc(vec![paragraph("one\ntwo\nthree"), code("abcdef\ngh")]),
        TextEncoding::Utf8,
        10,
        8,
    );
    assert_eq!(
        split.blocks,
        vec![
            paragraph("one\ntwo"),
            paragraph("three"),
            code("abcdef"),
            code("gh"),
        ]
    );
    // One line of 2-byte characters: cut between characters.
    let split = finish_within(doc(vec![paragraph("ééééé")]), TextEncoding::Utf8, 10, 5);
    assert_eq!(
        split.blocks,
        vec![paragraph("éé"), paragraph("éé"), paragraph("é")]
    );
    // Emphasis stays with its span's pieces.
    let split = finish_within(
        doc(vec![Block::Paragraph {
            spans: vec![
                span("a", false, false, false),
                span("bb\ncc", true, false, false),
            ],
        }]),
        TextEncoding::Utf8,
        10,
        3,
    );
    assert_eq!(
        split.blocks,
        vec![
            paragraph("a"),
            Block::Paragraph {
                spans: vec![span("bb", true, false, false)]
            },
            Block::Paragraph {
                spans: vec![span("cc", true, false, false)]
            },
        ]
    );
}

/// Past the block limit the rest of the text is kept in the last blocks,
/// several if it is too long for one, and the document stays within both
/// limits.
#[test]
fn the_overflow_of_many_blocks_stays_within_both_limits() {
    let blocks: Vec<Block> = (0..20).map(|i| paragraph(&format!("p{i:02}"))).collect();
    let doc = Document {
        title: "t".into(),
        blocks,
    };
    // Within the text limit: one overflow paragraph, as before.
    let one = finish_within(doc.clone(), TextEncoding::Utf8, 10, 1000);
    assert_eq!(one.blocks.len(), 10);
    assert_eq!(one.blocks[8], paragraph("p08"));
    let expected: Vec<String> = (9..20).map(|i| format!("p{i:02}")).collect();
    assert_eq!(one.blocks[9], paragraph(&expected.join("\n\n")));
    // Over it: the overflow takes several paragraphs, and fewer blocks
    // stand before it; no text is lost.
    let many = finish_within(doc, TextEncoding::Utf8, 10, 12);
    assert!(many.blocks.len() <= 10, "{:?}", many.blocks);
    let text: Vec<String> = many.blocks.into_iter().map(block_text).collect();
    assert!(text.iter().all(|t| t.len() <= 12), "{text:?}");
    let all = text.join("\n\n");
    for i in 0..20 {
        assert!(all.contains(&format!("p{i:02}")), "p{i:02} lost: {all:?}");
    }
}

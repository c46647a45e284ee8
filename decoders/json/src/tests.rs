use super::*;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes through the same checks as the host.
fn document(input: &str) -> Document {
    let response = legation_decoder_sdk::respond(decode(input.as_bytes()));
    legation_decoder_sdk::read_response(&response).unwrap()
}

fn fields(items: &[(&str, &str)]) -> Block {
    Block::Fields {
        items: items
            .iter()
            .map(|(l, v)| (l.to_string(), v.to_string()))
            .collect(),
    }
}

fn heading(level: u8, text: &str) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn table(columns: &[&str], types: &[ColumnType], rows: &[&[&str]]) -> Block {
    Block::Table {
        columns: columns.iter().map(|s| s.to_string()).collect(),
        types: Some(types.to_vec()),
        rows: rows
            .iter()
            .map(|row| row.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}

#[test]
fn objects_become_fields_and_sections() {
    let doc = document(
        r#"{"name": "Estonia", "code": 233, "eu": true, "motto": null,
            "capital": {"name": "Tallinn", "seat": {"since": 1918}},
            "tags": [], "extra": {},
            "counties": ["Harju", "Tartu"]}"#,
    );
    assert_eq!(doc.title, "JSON object");
    assert_eq!(
        doc.blocks,
        vec![
            fields(&[
                ("name", "Estonia"),
                ("code", "233"),
                ("eu", "true"),
                ("motto", "null"),
                ("tags", "[]"),
                ("extra", "{}"),
            ]),
            heading(1, "capital"),
            fields(&[("name", "Tallinn")]),
            heading(2, "seat"),
            fields(&[("since", "1918")]),
            heading(1, "counties"),
            table(&["value"], &[ColumnType::Text], &[&["Harju"], &["Tartu"]]),
        ]
    );
}

#[test]
fn arrays_of_objects_become_tables_with_the_union_of_keys() {
    let doc = document(
        r#"[{"id": 1, "name": "a"},
            {"id": 2.5, "ok": false, "tags": ["x", "y\""]},
            {"name": null, "ok": true, "id": -3}]"#,
    );
    assert_eq!(doc.title, "JSON array");
    assert_eq!(
        doc.blocks,
        vec![table(
            &["id", "name", "ok", "tags"],
            &[
                ColumnType::Decimal,
                ColumnType::Text,
                ColumnType::Boolean,
                ColumnType::Text
            ],
            &[
                &["1", "a", "", ""],
                &["2.5", "", "false", r#"["x","y\""]"#],
                &["-3", "", "true", ""],
            ],
        )]
    );
}

#[test]
fn mixed_arrays_become_one_column() {
    let doc = document(r#"[1, 2e3, {"a": [1]}, [null], "s"]"#);
    assert_eq!(
        doc.blocks,
        vec![table(
            &["value"],
            &[ColumnType::Text],
            &[&["1"], &["2e3"], &[r#"{"a":[1]}"#], &["[null]"], &["s"]],
        )]
    );
    let doc = document("[1, 2, null]");
    assert_eq!(
        doc.blocks,
        vec![table(
            &["value"],
            &[ColumnType::Integer],
            &[&["1"], &["2"], &[""]]
        )]
    );
}

#[test]
fn scalars_at_the_top() {
    assert_eq!(document("\"hi\"").blocks, vec![fields(&[("value", "hi")])]);
    assert_eq!(
        document(" 12.50 ").blocks,
        vec![fields(&[("value", "12.50")])]
    );
    assert_eq!(document("{}").blocks, vec![]);
}

#[test]
fn heading_levels_stop_at_6() {
    let nested = "{\"a\":".repeat(9) + "{\"x\":1}" + &"}".repeat(9);
    let doc = document(&nested);
    let levels: Vec<u8> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, .. } => Some(*level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, vec![1, 2, 3, 4, 5, 6, 6, 6, 6]);
}

#[test]
fn control_characters_in_nested_strings_are_escaped() {
    let doc = document(r#"[[ "a\u0001\n" ]]"#);
    assert_eq!(
        doc.blocks,
        vec![table(
            &["value"],
            &[ColumnType::Text],
            &[&[r#"["a\u0001\n"]"#]]
        )]
    );
}

#[test]
fn refusals_pass_through() {
    assert_eq!(
        decode(b"{\"a\": }").unwrap_err().message(),
        "JSON: expected a value at line 1, column 7"
    );
}

#[test]
fn large_documents_are_cut_to_the_limits() {
    let text = format!("[{}0]", "0,".repeat(100));
    let doc = decode_within(text.as_bytes(), 51, 10).unwrap();
    let Block::Table { rows, .. } = &doc.blocks[0] else {
        panic!()
    };
    // One cell for the column name, 50 rows.
    assert_eq!(rows.len(), 50);
    let note = fields(&[(
        "note",
        "the document is too large to show whole; the rest is cut",
    )]);
    assert_eq!(doc.blocks[1], note);
    // Too many sections.
    let text = format!("{{{}\"z\":{{\"a\":1}}}}", "\"s\":{\"a\":1},".repeat(20));
    let doc = decode_within(text.as_bytes(), 1000, 10).unwrap();
    assert_eq!(doc.blocks.len(), 11);
    assert_eq!(doc.blocks[10], note);
}

#[test]
fn corpus_iso_registers() {
    for (name, key, columns) in [
        (
            "iso_15924.json",
            "15924",
            &["alpha_4", "name", "numeric"][..],
        ),
        ("iso_3166-3.json", "3166-3", &[][..]),
        ("iso_639-5.json", "639-5", &[][..]),
    ] {
        let input = testdata(name);
        let doc = {
            let response = legation_decoder_sdk::respond(decode(&input));
            legation_decoder_sdk::read_response(&response).unwrap()
        };
        let [Block::Heading { level: 1, text }, Block::Table {
            columns: found,
            rows: found_rows,
            ..
        }] = &doc.blocks[..]
        else {
            panic!("{name}: {:?}", &doc.blocks[..2.min(doc.blocks.len())])
        };
        assert_eq!(text, key);
        if !columns.is_empty() {
            assert_eq!(found, columns);
        }
        assert!(found.contains(&"name".to_string()), "{name}: {found:?}");
        assert!(found_rows.len() > 20, "{name}");
        // The objects' members are all there: count them in the text.
        let members = String::from_utf8_lossy(&input).matches("\": \"").count();
        let cells = found_rows
            .iter()
            .flatten()
            .filter(|c| !c.is_empty())
            .count();
        assert_eq!(cells, members, "{name}");
    }
}

#[test]
fn corpus_first_script_is_adlam() {
    let doc = decode(&testdata("iso_15924.json")).unwrap();
    let Block::Table { rows, .. } = &doc.blocks[1] else {
        panic!()
    };
    assert_eq!(rows[0], vec!["Adlm", "Adlam", "166"]);
}

#[test]
fn duplicate_members_show_the_first_and_wide_arrays_are_cut() {
    let doc = document(r#"[{"a": 1, "a": 2}]"#);
    assert_eq!(
        doc.blocks,
        vec![table(&["a"], &[ColumnType::Integer], &[&["1"]])]
    );
    // 300 objects with a key each: 300 columns, so only 2 rows fit in
    // 1000 cells.
    let items: Vec<String> = (0..300).map(|i| format!("{{\"k{i}\": {i}}}")).collect();
    let text = format!("[{}]", items.join(","));
    let doc = decode_within(text.as_bytes(), 1000, 10).unwrap();
    let Block::Table { columns, rows, .. } = &doc.blocks[0] else {
        panic!()
    };
    assert_eq!((columns.len(), rows.len()), (300, 2));
}

#[test]
fn random_input_never_panics() {
    let alphabet = b"{}[],:\"\\u0123456789.eE+-truefalsn \n";
    let mut state = 1u64;
    for _ in 0..3000 {
        let len = (state >> 40) as usize % 40;
        let text: Vec<u8> = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(state >> 33) as usize % alphabet.len()]
            })
            .collect();
        if let Ok(doc) = decode(&text) {
            assert!(doc.validate(&Limits::default()).is_ok());
        }
    }
}

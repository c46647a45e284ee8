use super::*;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Summary, column names, types and rows.
type Table = (
    Vec<(String, String)>,
    Vec<String>,
    Vec<ColumnType>,
    Vec<Vec<String>>,
);

/// Decodes through the same checks as the host, and splits the result.
fn table(input: &[u8]) -> Table {
    let response = legation_decoder_sdk::respond(decode(input));
    let document = legation_decoder_sdk::read_response(&response).unwrap();
    let [Block::Fields { items }, Block::Table {
        columns,
        types,
        rows,
    }] = &document.blocks[..]
    else {
        panic!("{document:?}")
    };
    (
        items.clone(),
        columns.clone(),
        types.clone().unwrap(),
        rows.clone(),
    )
}

fn field(items: &[(String, String)], label: &str) -> Option<String> {
    items
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.clone())
}

fn strings(row: &[&str]) -> Vec<String> {
    row.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rfc_4180_quoting() {
    let input = b"name,note,count\r\n\"Tamm, J\xc3\xbcri\",\"said \"\"yes\"\"\",1\r\n\"two\r\nlines\",,2\r\n";
    let (items, columns, types, rows) = table(input);
    assert_eq!(columns, strings(&["name", "note", "count"]));
    assert_eq!(
        rows,
        vec![
            strings(&["Tamm, Jüri", "said \"yes\"", "1"]),
            strings(&["two\r\nlines", "", "2"]),
        ]
    );
    assert_eq!(types[2], ColumnType::Integer);
    assert_eq!(field(&items, "rows").unwrap(), "2");
    assert_eq!(field(&items, "delimiter").unwrap(), "comma");
}

#[test]
fn line_ends_and_empty_lines() {
    let (_, _, _, rows) = table(b"a,1\n\nb,2\rc,3\r\n\r\nd,4");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3], strings(&["d", "4"]));
    // A delimiter at the end of the text leaves an empty last field.
    let (_, columns, _, rows) = table(b"x,y\n1,");
    assert_eq!(columns, strings(&["x", "y"]));
    assert_eq!(rows, vec![strings(&["1", ""])]);
}

#[test]
fn text_after_a_closing_quote_is_kept() {
    let (_, _, _, rows) = table(b"\"a\"b,c\nd,e");
    assert_eq!(rows[0], strings(&["ab", "c"]));
}

#[test]
fn unclosed_quotes_are_refused() {
    let error = decode(b"a,b\n1,\"2\n3,4\n").unwrap_err();
    assert_eq!(
        error.message(),
        "a quoted field opened on line 2 is never closed"
    );
}

#[test]
fn delimiters_are_detected() {
    for (text, name) in [
        (&b"a\tb\tc\n1\t2\t3\n"[..], "tab"),
        (b"a;b\n1,5;2,5\n3,0;4,5\n", "semicolon"),
        (b"a|b\n1|2\n", "vertical bar"),
        // Commas in text that is split by tabs.
        (b"name\tremark\nA\tyes, indeed\nB\tno\n", "tab"),
        (b"one column\n1\n2\n", "comma"),
    ] {
        let (items, ..) = table(text);
        assert_eq!(field(&items, "delimiter").unwrap(), name, "{text:?}");
    }
    // A tab inside quotes does not make the file tab-separated.
    let (items, columns, ..) = table(b"a,\"b\tc\",d\n1,2,3\n");
    assert_eq!(field(&items, "delimiter").unwrap(), "comma");
    assert_eq!(columns, strings(&["a", "b\tc", "d"]));
}

#[test]
fn header_detection() {
    // Numbers below: header.
    let (items, columns, ..) = table(b"city,people\nTallinn,450000\nTartu,97000\n");
    assert_eq!(field(&items, "header").unwrap(), "first row");
    assert_eq!(columns, strings(&["city", "people"]));
    // A number in the first row: no header.
    let (items, columns, _, rows) = table(b"Tallinn,450000\nTartu,97000\n");
    assert_eq!(
        field(&items, "header").unwrap(),
        "none found; columns named Column 1 to Column 2"
    );
    assert_eq!(columns, strings(&["Column 1", "Column 2"]));
    assert_eq!(rows.len(), 2);
    // Text only: no way to tell, so no header.
    let (_, columns, ..) = table(b"a,b\nc,d\n");
    assert_eq!(columns, strings(&["Column 1", "Column 2"]));
    // One row only: data.
    let (_, columns, _, rows) = table(b"a,b\n");
    assert_eq!(columns, strings(&["Column 1", "Column 2"]));
    assert_eq!(rows.len(), 1);
    // An empty cell in the first row: not a header.
    let (_, columns, ..) = table(b"a,\nx,1\n");
    assert_eq!(columns[0], "Column 1");
}

#[test]
fn column_types_are_inferred() {
    let input = b"i,d,date,b,t,mixed,empty\n\
        1,1.5,2024-02-29,true,x,1,\n\
        -20,-.5,1999-12-31,FALSE,y,2024-01-01,\n\
        +3,1e5,2000-01-01,True,1,true,\n\
        ,7,,,z,x,\n";
    let (_, _, types, _) = table(input);
    assert_eq!(
        types,
        vec![
            ColumnType::Integer,
            ColumnType::Decimal,
            ColumnType::Date,
            ColumnType::Boolean,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Text,
        ]
    );
}

#[test]
fn cell_kinds() {
    for (cell, expected) in [
        ("12", Kind::Integer),
        ("-0", Kind::Integer),
        ("1.", Kind::Decimal),
        (".5", Kind::Decimal),
        ("2E-3", Kind::Decimal),
        ("1e", Kind::Text),
        (".", Kind::Text),
        ("e5", Kind::Text),
        ("1,5", Kind::Text),
        ("2023-02-29", Kind::Text),
        ("2024-02-29", Kind::Date),
        ("1900-02-29", Kind::Text),
        ("2000-02-29", Kind::Date),
        ("2023-13-01", Kind::Text),
        ("2023-04-31", Kind::Text),
        ("2023-4-01", Kind::Text),
        (" true ", Kind::Boolean),
        ("yes", Kind::Text),
        ("  ", Kind::Empty),
    ] {
        assert_eq!(kind(cell), expected, "{cell:?}");
    }
}

#[test]
fn ragged_rows_are_padded_and_counted() {
    let (items, columns, _, rows) = table(b"a,b,c\n1,2\n3,4,5,6\n7,8,9\n");
    assert_eq!(columns, strings(&["a", "b", "c", "Column 4"]));
    assert_eq!(rows[0], strings(&["1", "2", "", ""]));
    assert_eq!(rows[1], strings(&["3", "4", "5", "6"]));
    assert_eq!(
        field(&items, "padded rows").unwrap(),
        "2 rows had fewer than 4 cells and were padded with empty cells"
    );
}

#[test]
fn latin1_is_noted() {
    let (items, _, _, rows) = table(b"name,n\nJ\xfcri,1\n");
    assert_eq!(rows[0][0], "Jüri");
    assert!(field(&items, "encoding").unwrap().contains("Latin-1"));
}

#[test]
fn empty_input_is_an_empty_table() {
    let (items, columns, _, rows) = table(b"");
    assert_eq!(field(&items, "rows").unwrap(), "0");
    assert!(columns.is_empty() && rows.is_empty());
    let (_, columns, ..) = table(b"\n\r\n");
    assert!(columns.is_empty());
}

#[test]
fn corpus_stocks() {
    let (items, columns, types, rows) = table(&testdata("stocks.csv"));
    assert_eq!(columns, strings(&["symbol", "date", "price"]));
    // Dates are written "Jan 1 2000", not ISO: text.
    assert_eq!(
        types,
        vec![ColumnType::Text, ColumnType::Text, ColumnType::Decimal]
    );
    // 561 lines, the last without a line feed.
    assert_eq!(rows.len(), 560);
    assert_eq!(rows[0], strings(&["MSFT", "Jan 1 2000", "39.81"]));
    assert_eq!(field(&items, "columns").unwrap(), "3");
}

#[test]
fn corpus_iowa_electricity() {
    let (_, columns, types, rows) = table(&testdata("iowa-electricity.csv"));
    assert_eq!(columns, strings(&["year", "source", "net_generation"]));
    assert_eq!(
        types,
        vec![ColumnType::Date, ColumnType::Text, ColumnType::Integer]
    );
    assert_eq!(rows.len(), 51);
    assert_eq!(rows[0], strings(&["2001-01-01", "Fossil Fuels", "35361"]));
}

#[test]
fn corpus_la_riots() {
    let (items, columns, types, rows) = table(&testdata("la-riots.csv"));
    assert_eq!(columns.len(), 11);
    assert_eq!(columns[2], "age");
    assert_eq!(types[2], ColumnType::Integer);
    assert_eq!(types[5], ColumnType::Date);
    assert_eq!(types[9], ColumnType::Decimal);
    assert_eq!(types[10], ColumnType::Decimal);
    assert_eq!(rows.len(), 63);
    assert_eq!(rows[0][9], "-118.2739756");
    assert!(field(&items, "padded rows").is_none());
}

#[test]
fn random_input_never_panics() {
    let alphabet = b"\",;\t|\r\n a1.-2024";
    let mut state = 3u64;
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
            assert!(doc.validate(&Limits::default()).is_ok(), "{text:?}");
        }
    }
}

/// Every record a view can show is kept, and the rest are only counted:
/// the bound is the cell limit of view documents.
#[test]
fn records_are_kept_up_to_the_cell_limit() {
    assert_eq!(KEEP as u64, Limits::default().max_cells);
}

/// A table over the cell limit: rows past what is kept still count in the
/// number of rows, the width and the padding, as if all were kept.
#[test]
fn rows_past_the_cell_limit_are_counted() {
    let rows = 2_600_000;
    let mut text = String::with_capacity(rows * 12);
    text.push_str("id,a,b,c\n");
    for i in 0..rows {
        if i == rows - 10 {
            text.push_str("short\n\n");
        } else if i == rows - 5 {
            text.push_str("1,2,3,4,5\n");
        } else {
            text.push_str(&format!("{i},{},x,{}\n", i % 7, i % 3));
        }
    }
    let parsed = parse(&text, b',', usize::MAX).unwrap();
    assert!(!parsed.unkept.is_empty(), "some records only counted");
    assert_eq!(
        parsed.records.len() + parsed.unkept.values().sum::<usize>(),
        rows + 1
    );
    let (items, columns, _, shown) = table(text.as_bytes());
    assert_eq!(field(&items, "rows").as_deref(), Some("2600000"));
    assert_eq!(field(&items, "columns").as_deref(), Some("5"));
    assert_eq!(columns, strings(&["id", "a", "b", "c", "Column 5"]));
    // Every row but the one of five cells is padded.
    assert_eq!(
        field(&items, "padded rows").as_deref(),
        Some("2599999 rows had fewer than 5 cells and were padded with empty cells")
    );
    // (10,000,000 - 5 - 16) / 5 rows fit the view.
    assert_eq!(shown.len(), 1_999_995);
    assert_eq!(
        field(&items, "shown").as_deref(),
        Some("first 1999995 of 2600000 rows")
    );
}

//! Writing legacy mainframe record files (`.ebc`, layout `LGN-EBC-1`,
//! documented in `decoders/ebcdic`): fixed-length EBCDIC 037 records with
//! a self-describing header, packed-decimal numbers and a trailer with a
//! record count and a control total.

use std::io::{self, Write};

/// One field of a record layout.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Name, up to 16 characters.
    pub name: &'static str,
    /// `C` text, `P` packed decimal, `Z` zoned decimal, `D` date.
    pub kind: char,
    /// Offset in the record.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
    /// Decimal places.
    pub scale: usize,
    /// Summed into the trailer's control total.
    pub control: bool,
}

/// A value for one field of a data record.
pub enum Value<'a> {
    /// Text, padded with spaces (and cut to the field).
    Text(&'a str),
    /// A number scaled to an integer (`12345` is `123.45` at scale 2),
    /// and the sign nibble to write for a plus (`0xC` or `0xF`).
    Number(i64, u8),
    /// A date as `YYYYMMDD`, or empty.
    Date(&'a str),
}

/// EBCDIC 037 for a character of ISO 8859-1, `?` for anything else.
pub fn ebcdic(c: char) -> u8 {
    static TABLE: std::sync::OnceLock<[u8; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0x6fu8; 256];
        for (e, &u) in legation_decoder_ebcdic::CP037.iter().enumerate() {
            t[usize::from(u)] = e as u8;
        }
        t
    });
    let u = c as u32;
    if u < 256 {
        table[u as usize]
    } else {
        0x6f
    }
}

fn text(out: &mut [u8], s: &str) {
    out.fill(0x40);
    for (slot, c) in out.iter_mut().zip(s.chars()) {
        *slot = ebcdic(c);
    }
}

/// Packed decimal of `value` in `out` (all its bytes), `plus` the sign
/// nibble of a positive value, `0xD` for a negative one. Digits that do
/// not fit are dropped from the left, as a COBOL MOVE does.
pub fn packed(out: &mut [u8], value: i64, plus: u8) {
    let mut v = value.unsigned_abs();
    let n = out.len();
    let mut nibbles = vec![0u8; 2 * n];
    nibbles[2 * n - 1] = if value < 0 { 0xD } else { plus };
    for slot in nibbles[..2 * n - 1].iter_mut().rev() {
        *slot = (v % 10) as u8;
        v /= 10;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = nibbles[2 * i] << 4 | nibbles[2 * i + 1];
    }
}

/// A record file being written.
pub struct RecordFile<W: Write> {
    out: W,
    length: usize,
    fields: &'static [FieldDef],
    count: i64,
    total: i64,
    record: Vec<u8>,
}

impl<W: Write> RecordFile<W> {
    /// Writes the header and the field descriptors.
    pub fn new(
        mut out: W,
        length: usize,
        dataset: &str,
        created: &str,
        fields: &'static [FieldDef],
    ) -> io::Result<Self> {
        let mut r = vec![0x40u8; length];
        text(&mut r[0..4], "HDR1");
        text(&mut r[4..8], &format!("{length:04}"));
        text(&mut r[8..10], &format!("{:02}", fields.len()));
        text(&mut r[10..54], dataset);
        text(&mut r[54..62], created);
        out.write_all(&r)?;
        for f in fields {
            let mut d = vec![0x40u8; length];
            text(&mut d[0..4], "FLD1");
            text(&mut d[4..20], f.name);
            text(
                &mut d[20..31],
                &format!(
                    "{}{:04}{:03}{:02}{}",
                    f.kind,
                    f.offset,
                    f.length,
                    f.scale,
                    if f.control { 'T' } else { ' ' }
                ),
            );
            out.write_all(&d)?;
        }
        Ok(RecordFile {
            out,
            length,
            fields,
            count: 0,
            total: 0,
            record: vec![0x40; length],
        })
    }

    /// Writes one data record, values in field order.
    pub fn record(&mut self, values: &[Value]) -> io::Result<()> {
        self.record.fill(0x40);
        for (f, v) in self.fields.iter().zip(values) {
            let slot = &mut self.record[f.offset..f.offset + f.length];
            match v {
                Value::Text(s) => text(slot, s),
                Value::Date(s) => text(slot, s),
                Value::Number(n, plus) => {
                    if f.kind == 'Z' {
                        let digits = format!("{:0>w$}", n.unsigned_abs(), w = f.length);
                        let digits = &digits[digits.len() - f.length..];
                        for (b, d) in slot.iter_mut().zip(digits.bytes()) {
                            *b = 0xF0 | (d - b'0');
                        }
                        let last = f.length - 1;
                        let zone = if *n < 0 { 0xD0 } else { *plus << 4 };
                        slot[last] = zone | (slot[last] & 0x0f);
                    } else {
                        packed(slot, *n, *plus);
                    }
                    if f.control {
                        self.total += n;
                    }
                }
            }
        }
        self.count += 1;
        self.out.write_all(&self.record)
    }

    /// Writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let mut t = vec![0x40u8; self.length];
        text(&mut t[0..4], "TRL1");
        packed(&mut t[4..12], self.count, 0xC);
        packed(&mut t[12..20], self.total, 0xC);
        self.out.write_all(&t)?;
        Ok(self.out)
    }
}

/// The land tax roll layout: one record per parcel and tax year.
pub const LAND_TAX: &[FieldDef] = &[
    field("REC-TYPE", 'C', 0, 1, 0),
    field("PARCEL-ID", 'C', 1, 14, 0),
    field("OWNER-ID", 'C', 15, 8, 0),
    field("OWNER-NAME", 'C', 23, 30, 0),
    field("MUNICIPALITY", 'C', 53, 20, 0),
    field("LAND-USE", 'C', 73, 2, 0),
    field("AREA-M2", 'P', 75, 5, 0),
    field("ASSESSED-VALUE", 'P', 80, 6, 2),
    FieldDef {
        control: true,
        ..field("TAX-DUE", 'P', 86, 5, 2)
    },
    field("ASSESSED-ON", 'D', 91, 8, 0),
    field("STATUS", 'C', 99, 1, 0),
    field("BALANCE", 'P', 100, 4, 2),
    field("DISTRICT-NO", 'Z', 104, 3, 0),
];

/// Record length of [`LAND_TAX`]: 107 bytes of fields and a filler.
pub const LAND_TAX_LENGTH: usize = 120;

const fn field(
    name: &'static str,
    kind: char,
    offset: usize,
    length: usize,
    scale: usize,
) -> FieldDef {
    FieldDef {
        name,
        kind,
        offset,
        length,
        scale,
        control: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_decimal_bytes() {
        let mut b = [0u8; 3];
        packed(&mut b, 12345, 0xC);
        assert_eq!(b, [0x12, 0x34, 0x5C]);
        packed(&mut b, -7, 0xC);
        assert_eq!(b, [0x00, 0x00, 0x7D]);
        packed(&mut b, 42, 0xF);
        assert_eq!(b, [0x00, 0x04, 0x2F]);
        packed(&mut b, 1_234_567, 0xC);
        assert_eq!(b, [0x34, 0x56, 0x7C]);
        assert_eq!(ebcdic('A'), 0xC1);
        assert_eq!(ebcdic('é'), 0x51);
        assert_eq!(ebcdic('Ж'), 0x6f);
    }

    #[test]
    fn a_file_decodes_with_the_decoder() {
        let mut f = RecordFile::new(
            Vec::new(),
            LAND_TAX_LENGTH,
            "VLM.TEST",
            "19850101",
            LAND_TAX,
        )
        .unwrap();
        for (i, name) in ["HÉLÈNE KOVAC", "DRAGAN PETROVIC"].iter().enumerate() {
            f.record(&[
                Value::Text("D"),
                Value::Text("ZAD-0001-0001"),
                Value::Text("P0000001"),
                Value::Text(name),
                Value::Text("VELMORA"),
                Value::Text("AR"),
                Value::Number(1200, 0xF),
                Value::Number(1_500_000, 0xC),
                Value::Number(4500 + i as i64, 0xC),
                Value::Date("19850315"),
                Value::Text("P"),
                Value::Number(-1250, 0xC),
                Value::Number(7, 0xF),
            ])
            .unwrap();
        }
        let bytes = f.finish().unwrap();
        assert_eq!(bytes.len(), LAND_TAX_LENGTH * (1 + LAND_TAX.len() + 2 + 1));
        let doc = legation_decoder_ebcdic::decode(&bytes).unwrap();
        let legation_decoder_sdk::Block::Table { rows, .. } = &doc.blocks[4] else {
            panic!()
        };
        assert_eq!(
            rows[0],
            [
                "D",
                "ZAD-0001-0001",
                "P0000001",
                "HÉLÈNE KOVAC",
                "VELMORA",
                "AR",
                "1200",
                "15000.00",
                "45.00",
                "1985-03-15",
                "P",
                "-12.50",
                "7"
            ]
        );
        assert_eq!(rows[1][8], "45.01");
    }
}

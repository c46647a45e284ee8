//! TZif time zone files (RFC 8536), as in `/usr/share/zoneinfo`: the
//! local time types and the transitions between them.
//!
//! A TZif file does not say which zone it describes; its name is its
//! path. So this decoder is given the record's facts (decoder ABI 2,
//! format 2.1): the zone is the part of the record's path after a
//! `zoneinfo/` folder (`zoneinfo/Europe/Oslo` and
//! `zoneinfo/Europe/Oslo.tzif` are `Europe/Oslo`), else the
//! record's title, and the document shows the path, media type and title
//! it was given. It is an example of the SDK's `decode_with_facts:`, built
//! with the other decoders but stored in an archive only when `legation
//! pack --decoder` names it.

#![deny(unsafe_code)]

use legation_decoder_sdk::{decoder, Block, DecodeError, Document, Facts};

decoder! {
    name: "tzif", version: "1.0.0", media_types: ["application/x-tzif"],
    decode_with_facts: decode,
}

/// Most transitions listed; a zone has a few hundred.
pub const MAX_ROWS: usize = 2000;

/// The counts of a TZif header, in the order of RFC 8536 §3.1.
struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

impl Counts {
    /// The header at the start of `input`: magic, version, counts.
    fn read(input: &[u8]) -> Result<(u8, Counts), DecodeError> {
        if input.len() < 44 || &input[..4] != b"TZif" {
            return Err(DecodeError::new("not a TZif file (no TZif header)"));
        }
        let count = |i: usize| {
            let at = 20 + 4 * i;
            u32::from_be_bytes([input[at], input[at + 1], input[at + 2], input[at + 3]]) as usize
        };
        let counts = Counts {
            isut: count(0),
            isstd: count(1),
            leap: count(2),
            time: count(3),
            types: count(4),
            chars: count(5),
        };
        if counts.types == 0 {
            return Err(DecodeError::new("a TZif header with no local time types"));
        }
        Ok((input[4], counts))
    }

    /// Length of the data block after the header, with times of `time`
    /// bytes (4 in version 1's block, 8 in the later one); `None` on
    /// overflow.
    fn data_len(&self, time: usize) -> Option<usize> {
        let transitions = self.time.checked_mul(time + 1)?;
        let types = self.types.checked_mul(6)?;
        let leaps = self.leap.checked_mul(time + 4)?;
        transitions
            .checked_add(types)?
            .checked_add(self.chars)?
            .checked_add(leaps)?
            .checked_add(self.isstd)?
            .checked_add(self.isut)
    }
}

/// Decodes a TZif file, naming its zone from the record's facts.
pub fn decode(input: &[u8], facts: &Facts) -> Result<Document, DecodeError> {
    let (version, first) = Counts::read(input)?;
    let short = || DecodeError::new("the TZif file ends inside its data");
    let first_len = 44 + first.data_len(4).ok_or_else(short)?;
    // Version 2 and later repeat the data with 64-bit times, then a
    // footer: the rule for times after the last transition.
    let (counts, data, time, footer) = if version >= b'2' {
        let second = input.get(first_len..).ok_or_else(short)?;
        let (_, counts) = Counts::read(second)?;
        let len = counts.data_len(8).ok_or_else(short)?;
        let data = second.get(44..44 + len).ok_or_else(short)?;
        let footer = second[44 + len..]
            .strip_prefix(b"\n")
            .and_then(|f| f.split(|&b| b == b'\n').next())
            .map(|f| String::from_utf8_lossy(f).into_owned());
        (counts, data, 8, footer)
    } else {
        let data = input.get(44..first_len).ok_or_else(short)?;
        (first, data, 4, None)
    };
    let (times, rest) = data.split_at(counts.time * time);
    let (indices, rest) = rest.split_at(counts.time);
    let (types, rest) = rest.split_at(counts.types * 6);
    let chars = &rest[..counts.chars];
    let types: Vec<(i32, bool, String)> = types
        .chunks_exact(6)
        .map(|t| {
            let offset = i32::from_be_bytes([t[0], t[1], t[2], t[3]]);
            let name = chars.get(usize::from(t[5])..).unwrap_or_default();
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            (
                offset,
                t[4] != 0,
                String::from_utf8_lossy(&name[..end]).into_owned(),
            )
        })
        .collect();
    let zone = match facts.path.rsplit_once("zoneinfo/") {
        Some((_, zone)) if !zone.is_empty() => zone.strip_suffix(".tzif").unwrap_or(zone),
        _ => facts.title,
    };
    let mut items = vec![
        ("Zone".to_owned(), zone.to_owned()),
        ("Record".to_owned(), facts.path.to_owned()),
        ("Title".to_owned(), facts.title.to_owned()),
        ("Media type".to_owned(), facts.media_type.to_owned()),
        (
            "TZif version".to_owned(),
            match version {
                0 => "1".to_owned(),
                v => char::from(v).to_string(),
            },
        ),
        ("Transitions".to_owned(), counts.time.to_string()),
        ("Leap seconds".to_owned(), counts.leap.to_string()),
    ];
    if let Some(rule) = footer {
        items.push(("Rule after the last transition".to_owned(), rule));
    }
    let type_rows = types
        .iter()
        .map(|(offset, dst, name)| vec![offset_text(*offset), yes_no(*dst), name.clone()])
        .collect();
    let mut transitions = Vec::new();
    for (at, &index) in times.chunks_exact(time).zip(indices).take(MAX_ROWS) {
        let seconds = if time == 8 {
            i64::from_be_bytes(at.try_into().expect("8 bytes"))
        } else {
            i64::from(i32::from_be_bytes(at.try_into().expect("4 bytes")))
        };
        let (offset, dst, name) = types.get(usize::from(index)).ok_or_else(|| {
            DecodeError::new(format!(
                "a transition to local time type {index}, of {} types",
                types.len()
            ))
        })?;
        transitions.push(vec![
            utc_text(seconds),
            offset_text(*offset),
            yes_no(*dst),
            name.clone(),
        ]);
    }
    let mut blocks = vec![
        Block::Fields { items },
        Block::Heading {
            level: 2,
            text: "Local time types".into(),
        },
        Block::Table {
            columns: vec!["UTC offset".into(), "DST".into(), "Abbreviation".into()],
            types: None,
            rows: type_rows,
        },
    ];
    if !transitions.is_empty() {
        blocks.push(Block::Heading {
            level: 2,
            text: if counts.time > MAX_ROWS {
                format!("Transitions (the first {MAX_ROWS} of {})", counts.time)
            } else {
                "Transitions".into()
            },
        });
        blocks.push(Block::Table {
            columns: vec![
                "From (UTC)".into(),
                "UTC offset".into(),
                "DST".into(),
                "Abbreviation".into(),
            ],
            types: None,
            rows: transitions,
        });
    }
    Ok(Document {
        title: format!("Time zone {zone}"),
        blocks,
    })
}

/// A small TZif version 2 file, as `zic` would write for a zone of
/// Central European time with summer time in 2024 (two local time types,
/// two transitions, a footer): for tests and examples.
pub fn sample_file() -> Vec<u8> {
    let header = |time: u32, types: u32, chars: u32| {
        let mut h = b"TZif2".to_vec();
        h.extend_from_slice(&[0; 15]);
        for count in [0, 0, 0, time, types, chars] {
            h.extend_from_slice(&u32::to_be_bytes(count));
        }
        h
    };
    let types: &[u8] = &[0, 0, 0x0e, 0x10, 0, 0, 0, 0, 0x1c, 0x20, 1, 4];
    let chars = b"CET\0CEST\0";
    // Version 1's block (no transitions), then version 2's.
    let mut out = header(0, 2, chars.len() as u32);
    out.extend_from_slice(types);
    out.extend_from_slice(chars);
    out.extend(header(2, 2, chars.len() as u32));
    for at in [1_711_846_800i64, 1_729_990_800] {
        out.extend_from_slice(&at.to_be_bytes());
    }
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(types);
    out.extend_from_slice(chars);
    out.extend_from_slice(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
    out
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// `+01:00`, `-03:30`, `+00:53:28`.
fn offset_text(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let s = offset.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{sec:02}")
    }
}

/// Seconds since 1970 as `YYYY-MM-DD hh:mm:ss` in the proleptic Gregorian
/// calendar (days to a civil date by the era method).
fn utc_text(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests;

//! Format identification by PRONOM identifiers (PUIDs).
//!
//! The signatures are PRONOM's own (`interchange/pronom/signatures.tsv`,
//! written by `interchange/pronom/update.py` from the PRONOM records that
//! opf-fido ships; release and licence in `interchange/pronom/README.md`),
//! compiled into this crate and parsed once on first use. Identification
//! follows DROID's rules:
//!
//! 1. Every internal signature whose byte sequences all match marks its
//!    format. BOF sequences are matched from the start (within their
//!    offset range), EOF sequences back from the end, variable ones
//!    anywhere in the window. Only the first and last [`WINDOW`] bytes of
//!    a record are read (a record of 4 GiB reads 128 KiB); a variable
//!    sequence is looked for in each of the two windows, never across
//!    the unread middle.
//! 2. Of the formats marked, those another marked format has priority
//!    over (PRONOM's "Has priority over") are dropped. Where several
//!    remain, one whose extensions include the record's is preferred;
//!    the others are listed in [`Identification::also`].
//! 3. With no signature match, formats that have no internal signature
//!    are looked up by the record's extension (DROID's default; a
//!    format with a signature that did not match is not given on its
//!    extension alone).
//!
//! 4. A record that a ZIP byte signature matched (even where a format
//!    with priority over ZIP was chosen) is looked into: PRONOM's
//!    container signatures tell DOCX, XLSX, ODT, EPUB and other formats
//!    built on ZIP by the entries they hold ([`container`], basis
//!    [`Basis::Container`]). Only [`identify_bytes`] and
//!    [`identify_reader`] do this (they can read the whole record);
//!    [`identify_windows`] has only the ends.
//!
//! Plain text, CSV, JSON and Markdown have no byte signature in PRONOM,
//! so they are identified by extension (`x-fmt/111`, `x-fmt/18`,
//! `fmt/817`, `fmt/1149`, basis [`Basis::Extension`]) after a look at the
//! bytes: a record with a NUL byte in its windows is not text and stays
//! unidentified; text that is not UTF-8 keeps the identification with a
//! warning; JSON must start (after whitespace and a BOM) with a JSON
//! value's first character.

pub mod container;
pub mod pattern;

use pattern::{Budget, Pattern};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::OnceLock;

/// Bytes read at each end of a record: DROID's default "maximum bytes to
/// scan" (65,536).
pub const WINDOW: usize = 64 * 1024;
/// Matching steps one identification may take (about 20 ms at worst);
/// past it the remaining signatures count as not matched and
/// [`Identification::cut_short`] is set.
pub const BUDGET: u64 = 20_000_000;

/// The PRONOM signatures, as compiled in.
const SIGNATURES: &str = include_str!("../../pronom/signatures.tsv");

/// A PRONOM format.
#[derive(Debug)]
pub struct Format {
    /// Its PUID (`fmt/13`).
    pub puid: String,
    /// Its name (`Portable Network Graphics`).
    pub name: String,
    /// Its version (`1.2`), empty if PRONOM gives none.
    pub version: String,
    /// Its MIME types, comma-separated, possibly empty.
    pub mime: String,
    /// Its file extensions, lower case.
    pub extensions: Vec<String>,
    over: Vec<usize>,
    has_signature: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Bof,
    Eof,
    Var,
}

#[derive(Debug)]
struct Sequence {
    anchor: Anchor,
    /// The pattern with its offset range as a leading gap; for EOF,
    /// reversed, to be matched on the reversed end window.
    pattern: Pattern,
    /// The fewest bytes a window must have for it to match.
    min: usize,
}

/// A byte a matching record must have at a fixed distance from its start
/// (BOF) or from its end (EOF, 0 the last byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fixed {
    anchor: Anchor,
    pos: usize,
    byte: u8,
}

impl Fixed {
    /// Whether the windows have the byte (a window too short has not).
    #[inline]
    fn holds(self, head: &[u8], end: &[u8]) -> bool {
        match self.anchor {
            Anchor::Eof => end.len() > self.pos && end[end.len() - 1 - self.pos] == self.byte,
            _ => head.get(self.pos) == Some(&self.byte),
        }
    }
}

#[derive(Debug)]
struct Signature {
    format: usize,
    /// BOF first, then EOF, then variable: the cheap anchored checks
    /// before the scans.
    sequences: Vec<Sequence>,
    /// The longest of its sequences' `min`: a record whose windows are
    /// all shorter is not tried.
    min: usize,
    /// A few more bytes at fixed places that a match needs (besides the
    /// one it is dispatched on), checked before any matching.
    fixed: Vec<Fixed>,
    /// Whether it has several keys (one per alternative), so that one
    /// record may reach it more than once.
    keys: bool,
}

/// How commonly a byte occurs in records (0 rare .. 3 common): keys are
/// chosen among a signature's bytes to be the rarest, so that text and
/// zero-filled binaries seldom reach its matcher.
fn commonness(b: u8) -> u32 {
    match b {
        0x00 => 3,
        0xFF | b' ' | b'a'..=b'z' => 2,
        b'0'..=b'9' | b'A'..=b'Z' | b'\n' | b'\r' | b'\t' => 1,
        _ => 0,
    }
}

/// The 16-bit hash of three bytes in a row, a key of the signatures
/// that need those bytes somewhere.
#[inline]
fn trigram(a: u8, b: u8, c: u8) -> u16 {
    let v = (a as u32) << 16 | (b as u32) << 8 | c as u32;
    (v.wrapping_mul(2_654_435_761) >> 16) as u16
}

/// Signatures that need one byte at one fixed place, by that byte.
#[derive(Debug)]
struct FixedTable {
    anchor: Anchor,
    pos: usize,
    /// A bit for each byte that has signatures: most lookups end here,
    /// in a few cache lines for all the tables, not in `by_byte`.
    present: [u64; 4],
    by_byte: Vec<Vec<u32>>,
}

/// The parsed signature file.
#[derive(Debug)]
pub struct Registry {
    /// PRONOM's release of the signatures (`109`).
    pub release: String,
    /// Every format, in PRONOM's order.
    pub formats: Vec<Format>,
    signatures: Vec<Signature>,
    /// How a record finds the few signatures that may match it, built
    /// once with the registry: each signature is reached by one key.
    /// Signatures with a byte at a fixed place, by place and byte (the
    /// rarest such byte is its key), the places in increasing order;
    by_fixed: Vec<FixedTable>,
    /// signatures without one but with three literal bytes in a row
    /// somewhere, by the hash of the rarest such three, or else by one
    /// such hash for each option of a set of alternatives (a bit per
    /// hash in `key_bits`, looked up for each three bytes of the
    /// windows);
    key_bits: Box<[u64; 1024]>,
    by_key: HashMap<u16, Vec<u32>>,
    /// and the few with neither, tried on every record.
    always: Vec<u32>,
    by_puid: HashMap<String, usize>,
    by_extension: HashMap<String, Vec<usize>>,
    /// Signatures left out because their syntax is not supported, with why.
    pub skipped: Vec<String>,
}

/// What an identification rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A PRONOM internal (byte) signature matched.
    Signature,
    /// A PRONOM container signature matched: the record is a ZIP holding
    /// the entries it names ([`Identification::entries`]).
    Container,
    /// The file extension only, for a format with no byte signature.
    Extension,
    /// Nothing matched.
    Unidentified,
}

impl Basis {
    /// The word used in listings and PREMIS: `signature`, `container`,
    /// `extension` or `unidentified`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Signature => "signature",
            Basis::Container => "container",
            Basis::Extension => "extension",
            Basis::Unidentified => "unidentified",
        }
    }
}

/// The result of identifying one record.
#[derive(Debug, Clone)]
pub struct Identification {
    /// The format, or `None` when unidentified.
    pub format: Option<&'static Format>,
    /// What it rests on.
    pub basis: Basis,
    /// Other formats that matched equally well (PUIDs).
    pub also: Vec<String>,
    /// A note (extension mismatch, text not UTF-8, ...).
    pub warning: Option<String>,
    /// Whether the matching budget ran out before every signature was
    /// tried.
    pub cut_short: bool,
    /// For [`Basis::Container`], the entries the matching container
    /// signature names (`[Content_Types].xml`).
    pub entries: Vec<String>,
}

impl Identification {
    /// The PUID, or an empty string when unidentified.
    pub fn puid(&self) -> &str {
        self.format.map_or("", |f| f.puid.as_str())
    }

    /// The basis as stored and listed: [`Basis::as_str`], and for a
    /// container match the entries it rests on
    /// (`container: META-INF/manifest.xml, content.xml`).
    pub fn basis_text(&self) -> String {
        match self.basis {
            Basis::Container => format!("container: {}", self.entries.join(", ")),
            b => b.as_str().to_owned(),
        }
    }
}

/// The release of the signatures an identification used: `109` for
/// byte signatures and extensions, `109, container 20200121` when a
/// container signature matched.
pub fn release_of(basis: Basis) -> String {
    match basis {
        Basis::Container => format!(
            "{}, container {}",
            registry().release,
            container::containers().version
        ),
        _ => registry().release.clone(),
    }
}

/// The registry, parsed on first use.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY
        .get_or_init(|| Registry::parse(SIGNATURES).expect("the compiled-in signature file parses"))
}

impl Registry {
    /// Parses a signature file in the form `update.py` writes.
    pub fn parse(text: &str) -> Result<Registry, String> {
        let mut reg = Registry {
            release: String::new(),
            formats: Vec::new(),
            signatures: Vec::new(),
            by_fixed: Vec::new(),
            key_bits: Box::new([0; 1024]),
            by_key: HashMap::new(),
            always: Vec::new(),
            by_puid: HashMap::new(),
            by_extension: HashMap::new(),
            skipped: Vec::new(),
        };
        let mut overs: Vec<Vec<String>> = Vec::new();
        let mut sigs: Vec<(String, Vec<&str>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            match f.first() {
                Some(&"P") => reg.release = f.get(1).unwrap_or(&"").to_string(),
                Some(&"F") if f.len() == 7 => {
                    let index = reg.formats.len();
                    let extensions: Vec<String> = f[5]
                        .split(',')
                        .filter(|e| !e.is_empty())
                        .map(|e| e.to_ascii_lowercase())
                        .collect();
                    for e in &extensions {
                        reg.by_extension.entry(e.clone()).or_default().push(index);
                    }
                    reg.by_puid.insert(f[1].to_string(), index);
                    overs.push(
                        f[6].split(',')
                            .filter(|p| !p.is_empty())
                            .map(String::from)
                            .collect(),
                    );
                    reg.formats.push(Format {
                        puid: f[1].to_string(),
                        name: f[2].to_string(),
                        version: f[3].to_string(),
                        mime: f[4].to_string(),
                        extensions,
                        over: Vec::new(),
                        has_signature: false,
                    });
                }
                Some(&"S") if f.len() >= 4 => sigs.push((f[1].to_string(), f[3..].to_vec())),
                _ if line.is_empty() => {}
                _ => return Err(format!("line {}: not a P, F or S line", n + 1)),
            }
        }
        for (i, over) in overs.into_iter().enumerate() {
            reg.formats[i].over = over
                .iter()
                .filter_map(|p| reg.by_puid.get(p).copied())
                .collect();
        }
        for (puid, seqs) in sigs {
            let Some(&format) = reg.by_puid.get(&puid) else {
                return Err(format!("a signature of {puid}, a format not listed"));
            };
            match seqs
                .iter()
                .map(|s| parse_sequence(s))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(parsed) => {
                    reg.formats[format].has_signature = true;
                    let index = reg.signatures.len() as u32;
                    let mut runs = Vec::new();
                    let mut alternatives = Vec::new();
                    let mut fixed = Vec::new();
                    let mut sequences = Vec::new();
                    for (seq, r, alt) in parsed {
                        runs.extend(r);
                        alternatives.extend(alt);
                        if seq.anchor != Anchor::Var {
                            fixed.extend(seq.pattern.fixed_bytes().into_iter().map(
                                |(pos, byte)| Fixed {
                                    anchor: seq.anchor,
                                    pos,
                                    byte,
                                },
                            ));
                        }
                        sequences.push(seq);
                    }
                    sequences.sort_by_key(|s| s.anchor as u8);
                    // The rarest bytes first; of equally rare ones, the
                    // nearest to an end.
                    fixed.sort_by_key(|f| (commonness(f.byte), f.pos, f.anchor as u8));
                    fixed.dedup();
                    let rarest = |t: &&[u8]| t.iter().map(|&b| commonness(b)).sum::<u32>();
                    let mut several = false;
                    if let Some(&key) = fixed.first() {
                        reg.key_fixed(key, index);
                    } else if let Some(t) =
                        runs.iter().flat_map(|r| r.windows(3)).min_by_key(rarest)
                    {
                        reg.key_trigram(trigram(t[0], t[1], t[2]), index);
                    } else if let Some(options) = alternatives.first() {
                        // One key an option: the rarest three bytes of each.
                        let mut keys: Vec<u16> = options
                            .iter()
                            .filter_map(|r| r.windows(3).min_by_key(rarest))
                            .map(|t| trigram(t[0], t[1], t[2]))
                            .collect();
                        keys.sort_unstable();
                        keys.dedup();
                        several = keys.len() > 1;
                        for h in keys {
                            reg.key_trigram(h, index);
                        }
                    } else {
                        reg.always.push(index);
                    }
                    reg.signatures.push(Signature {
                        format,
                        min: sequences.iter().map(|s| s.min).max().unwrap_or(0),
                        sequences,
                        fixed: fixed.into_iter().skip(1).take(4).collect(),
                        keys: several,
                    });
                }
                Err(why) => reg.skipped.push(format!("{puid}: {why}")),
            }
        }
        reg.by_fixed.sort_by_key(|t| (t.pos, t.anchor as u8));
        Ok(reg)
    }

    /// Files signature `index` under the hash of three bytes it needs.
    fn key_trigram(&mut self, h: u16, index: u32) {
        self.key_bits[(h >> 6) as usize] |= 1u64 << (h & 63);
        self.by_key.entry(h).or_default().push(index);
    }

    /// Files signature `index` under the byte it needs at a fixed place.
    fn key_fixed(&mut self, key: Fixed, index: u32) {
        let at = match self
            .by_fixed
            .iter()
            .position(|t| t.anchor == key.anchor && t.pos == key.pos)
        {
            Some(at) => at,
            None => {
                self.by_fixed.push(FixedTable {
                    anchor: key.anchor,
                    pos: key.pos,
                    present: [0; 4],
                    by_byte: vec![Vec::new(); 256],
                });
                self.by_fixed.len() - 1
            }
        };
        let t = &mut self.by_fixed[at];
        t.present[(key.byte >> 6) as usize] |= 1u64 << (key.byte & 63);
        t.by_byte[key.byte as usize].push(index);
    }

    /// A format by PUID.
    pub fn format(&self, puid: &str) -> Option<&Format> {
        self.by_puid.get(puid).map(|&i| &self.formats[i])
    }

    /// A format's index in [`Registry::formats`] by PUID.
    fn format_index(&self, puid: &str) -> Option<usize> {
        self.by_puid.get(puid).copied()
    }

    /// Number of ZIP container signatures in use.
    pub fn container_count(&self) -> usize {
        container::containers().count()
    }

    /// Number of internal signatures in use.
    pub fn signature_count(&self) -> usize {
        self.signatures.len()
    }
}

/// What a sequence's text gives: the sequence, its runs of three or more
/// literal bytes (a match holds each), and its alternatives' runs (a
/// match holds one run of each set).
type Parsed = (Sequence, Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>);

fn parse_sequence(s: &str) -> Result<Parsed, String> {
    let mut parts = s.splitn(4, ':');
    let (Some(pos), Some(off), Some(max), Some(value)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{s:?} is not POSITION:OFFSET:MAX:VALUE"));
    };
    let num = |t: &str| -> Result<Option<u32>, String> {
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse()
                .map(Some)
                .map_err(|_| format!("offset {t:?} is not a number"))
        }
    };
    let (off, max) = (num(off)?, num(max)?);
    let min = off.unwrap_or(0);
    let max = max.or(off).unwrap_or(0).max(min);
    let pattern = pattern::parse(value).map_err(|e| format!("{value:?}: {e}"))?;
    let runs = pattern.literal_runs();
    let alternatives = pattern.alternative_runs();
    let (anchor, pattern) = match pos {
        "BOF" => (Anchor::Bof, pattern.after_gap(min, Some(max))),
        "EOF" => (Anchor::Eof, pattern.reversed().after_gap(min, Some(max))),
        "VAR" => (Anchor::Var, pattern.after_gap(min, None)),
        other => return Err(format!("position {other:?} is not BOF, EOF or VAR")),
    };
    let min = pattern.min_width();
    Ok((
        Sequence {
            anchor,
            pattern,
            min,
        },
        runs,
        alternatives,
    ))
}

/// The record's extension, lower case, from its name (`a/b.TIF` -> `tif`).
fn extension(name: &str) -> Option<String> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Formats PRONOM has no byte signature for that are identified by
/// extension with a look at the bytes, and which to prefer when an
/// extension names several formats.
const TEXT_FORMATS: [(&str, &str); 4] = [
    ("txt", "x-fmt/111"),
    ("csv", "x-fmt/18"),
    ("json", "fmt/817"),
    ("md", "fmt/1149"),
];

/// Identifies a record from a reader that can seek: reads at most
/// [`WINDOW`] bytes at each end.
pub fn identify_reader(
    name: &str,
    mut reader: impl Read + Seek,
) -> std::io::Result<Identification> {
    let len = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    let head_len = (len.min(2 * WINDOW as u64)) as usize;
    let whole = len <= 2 * WINDOW as u64;
    let mut head = vec![0u8; if whole { head_len } else { WINDOW }];
    reader.read_exact(&mut head)?;
    let found = if whole {
        by_signatures(name, &head, None)
    } else {
        let mut tail = vec![0u8; WINDOW];
        reader.seek(SeekFrom::Start(len - WINDOW as u64))?;
        reader.read_exact(&mut tail)?;
        by_signatures(name, &head, Some(&tail))
    };
    Ok(look_into(
        name,
        found,
        &mut container::Seeking { reader, len },
    ))
}

/// Identifies a record held in memory (its ends, and a ZIP's central
/// directory and the entries container signatures name).
pub fn identify_bytes(name: &str, data: &[u8]) -> Identification {
    let found = if data.len() <= 2 * WINDOW {
        by_signatures(name, data, None)
    } else {
        by_signatures(name, &data[..WINDOW], Some(&data[data.len() - WINDOW..]))
    };
    look_into(name, found, &mut { data })
}

/// A record a container format's byte signature matched is looked into;
/// any other identification is returned as it is, and so is this one
/// when no container signature matches.
fn look_into(
    name: &str,
    (id, container): (Identification, bool),
    src: &mut dyn container::Source,
) -> Identification {
    if !container {
        return id;
    }
    let reg = registry();
    let note = |id: Identification, note: String| Identification {
        warning: Some(match id.warning {
            Some(w) => format!("{w}; {note}"),
            None => note,
        }),
        ..id
    };
    match container::look_into(src) {
        container::Outcome::NotRead(why) => {
            note(id, format!("not looked into as a container: {why}"))
        }
        container::Outcome::Nothing(spent) => Identification {
            cut_short: id.cut_short || spent,
            ..id
        },
        container::Outcome::Matched(matched, spent) => {
            let formats: Vec<usize> = matched.iter().map(|(f, _)| *f).collect();
            let (first, also) = rank(reg, formats, extension(name).as_deref());
            let entries = matched
                .into_iter()
                .find(|(f, _)| *f == first)
                .map(|(_, e)| e)
                .unwrap_or_default();
            let format = &reg.formats[first];
            Identification {
                format: Some(format),
                basis: Basis::Container,
                also: also.iter().map(|&i| reg.formats[i].puid.clone()).collect(),
                warning: extension_warning(format, extension(name).as_deref()),
                cut_short: id.cut_short || spent,
                entries,
            }
        }
    }
}

/// Of formats matched, those no other matched format has priority over;
/// the first whose extensions hold the record's, else the first: that
/// one and the rest.
fn rank(reg: &Registry, mut matched: Vec<usize>, ext: Option<&str>) -> (usize, Vec<usize>) {
    matched.sort_unstable();
    let mut found: Vec<usize> = matched
        .iter()
        .copied()
        .filter(|&f| !matched.iter().any(|&m| reg.formats[m].over.contains(&f)))
        .collect();
    if found.is_empty() {
        // A priority cycle: keep everything that matched.
        found = matched;
    }
    let by_ext = ext.and_then(|e| {
        found
            .iter()
            .position(|&i| reg.formats[i].extensions.iter().any(|x| x == e))
    });
    let first = found.remove(by_ext.unwrap_or(0));
    (first, found)
}

/// The warning of a record whose extension is not one of its format's.
fn extension_warning(format: &Format, ext: Option<&str>) -> Option<String> {
    match ext {
        Some(e) if !format.extensions.is_empty() && !format.extensions.iter().any(|x| x == e) => {
            Some(format!(
                "extension .{e} is not one of {}'s ({})",
                format.puid,
                format.extensions.join(", ")
            ))
        }
        None if !format.extensions.is_empty() => Some("the name has no extension".into()),
        _ => None,
    }
}

/// Identifies a record from its first bytes and, when the record is
/// longer than the head, its last bytes (`tail: None` means `head` is
/// the whole record). Windows longer than [`WINDOW`] are cut to it,
/// except a whole record of up to twice that.
pub fn identify_windows(name: &str, head: &[u8], tail: Option<&[u8]>) -> Identification {
    by_signatures(name, head, tail).0
}

/// [`identify_windows`], and whether a byte signature of a container
/// format matched (ZIP: `x-fmt/263`, `fmt/189`), even where a format
/// with priority over it was chosen (an ODT's `mimetype` entry makes it
/// ODT 1.1 by byte signature, a ZIP too).
fn by_signatures(name: &str, head: &[u8], tail: Option<&[u8]>) -> (Identification, bool) {
    let reg = registry();
    let (head, tail) = match tail {
        None if head.len() <= 2 * WINDOW => (head, None),
        None => (&head[..WINDOW], Some(&head[head.len() - WINDOW..])),
        Some(t) => (
            &head[..head.len().min(WINDOW)],
            Some(&t[t.len().saturating_sub(WINDOW)..]),
        ),
    };
    let end_window = tail.unwrap_or(head);
    let mut run = Run {
        reg,
        head,
        tail,
        end_window,
        reversed: None,
        budget: Budget::new(BUDGET),
        matched: Vec::new(),
        tried: Vec::new(),
    };
    // Each signature is reached by its one key (or, keyed by its
    // alternatives, by the key of each one the windows hold).
    // The tables are in order of place: past the longer window, no
    // table has a byte to look up.
    let reach = head.len().max(end_window.len());
    'keys: {
        for t in &reg.by_fixed {
            if t.pos >= reach {
                break;
            }
            let window = if t.anchor == Anchor::Eof {
                end_window
            } else {
                head
            };
            let Some(&b) = (match t.anchor {
                Anchor::Eof => window.len().checked_sub(t.pos + 1).map(|p| &window[p]),
                _ => window.get(t.pos),
            }) else {
                continue;
            };
            if t.present[(b >> 6) as usize] & (1u64 << (b & 63)) == 0 {
                continue;
            }
            for &i in &t.by_byte[b as usize] {
                if !run.try_signature(i) {
                    break 'keys;
                }
            }
        }
        // The keyed hashes met so far, so that a key met again costs
        // little: the first few in a list, then a bit each.
        let mut met = Met::default();
        for w in std::iter::once(head).chain(tail) {
            for t in w.windows(3) {
                let h = trigram(t[0], t[1], t[2]);
                let (word, bit) = ((h >> 6) as usize, 1u64 << (h & 63));
                if reg.key_bits[word] & bit == 0 || !met.first(h) {
                    continue;
                }
                for &i in reg.by_key.get(&h).map_or(&[][..], Vec::as_slice) {
                    if !run.try_signature(i) {
                        break 'keys;
                    }
                }
            }
        }
        for &i in &reg.always {
            if !run.try_signature(i) {
                break 'keys;
            }
        }
    }
    let Run {
        matched, budget, ..
    } = run;
    let ext = extension(name);
    if !matched.is_empty() {
        let containers = container::containers();
        let container = matched.iter().any(|&f| containers.triggers(f));
        let (first, found) = rank(reg, matched, ext.as_deref());
        let format = &reg.formats[first];
        let id = Identification {
            format: Some(format),
            basis: Basis::Signature,
            also: found.iter().map(|&i| reg.formats[i].puid.clone()).collect(),
            warning: extension_warning(format, ext.as_deref()),
            cut_short: budget.exhausted,
            entries: Vec::new(),
        };
        return (id, container);
    }
    let unidentified = |warning: Option<String>| Identification {
        format: None,
        basis: Basis::Unidentified,
        also: Vec::new(),
        warning,
        cut_short: budget.exhausted,
        entries: Vec::new(),
    };
    let Some(ext) = ext else {
        return (unidentified(None), false);
    };
    let mut candidates: Vec<usize> = reg
        .by_extension
        .get(&ext)
        .map(|v| {
            v.iter()
                .copied()
                .filter(|&i| !reg.formats[i].has_signature)
                .collect()
        })
        .unwrap_or_default();
    if candidates.is_empty() {
        return (unidentified(None), false);
    }
    if let Some((_, puid)) = TEXT_FORMATS.iter().find(|(e, _)| *e == ext) {
        if let Some(p) = candidates
            .iter()
            .position(|&i| reg.formats[i].puid == *puid)
        {
            let preferred = candidates.remove(p);
            candidates.insert(0, preferred);
        }
    }
    let format = &reg.formats[candidates[0]];
    let mut warning = None;
    let texty = format.mime.starts_with("text/")
        || format.mime.contains("json")
        || TEXT_FORMATS.iter().any(|(_, p)| *p == format.puid);
    if texty {
        let windows = [Some(head), tail];
        if windows.iter().flatten().any(|w| w.contains(&0)) {
            return (
                unidentified(Some(format!(
                    "extension .{ext} names {} but the bytes have NUL: not text",
                    format.puid
                ))),
                false,
            );
        }
        if !utf8_window(head, tail.is_some()) || tail.is_some_and(|t| !utf8_tail(t)) {
            warning = Some(format!("extension .{ext}: text that is not UTF-8"));
        }
        if format.puid == "fmt/817" {
            let body = String::from_utf8_lossy(&head[..head.len().min(64)]);
            let first = body
                .trim_start_matches(['\u{FEFF}', ' ', '\t', '\r', '\n'])
                .chars()
                .next();
            if !first.is_some_and(|c| "{[\"-0123456789tfn".contains(c)) {
                return (
                    unidentified(Some(format!(
                        "extension .{ext} but the bytes do not start a JSON value"
                    ))),
                    false,
                );
            }
        }
    }
    let id = Identification {
        format: Some(format),
        basis: Basis::Extension,
        also: candidates[1..]
            .iter()
            .map(|&i| reg.formats[i].puid.clone())
            .collect(),
        warning,
        cut_short: budget.exhausted,
        entries: Vec::new(),
    };
    (id, false)
}

/// The keyed hashes one identification has met. A small record meets a
/// few (random bytes of 200 about three): they are kept in a list, and
/// only a record that meets more gets a bit for each of the 65,536
/// hashes (8 KiB, zeroed once), so that its test stays constant.
#[derive(Default)]
struct Met {
    few: [u16; 16],
    count: usize,
    bits: Option<Box<[u64; 1024]>>,
}

impl Met {
    /// Whether `h` is met for the first time (and notes it).
    #[inline]
    fn first(&mut self, h: u16) -> bool {
        let (word, bit) = ((h >> 6) as usize, 1u64 << (h & 63));
        if let Some(bits) = &mut self.bits {
            let new = bits[word] & bit == 0;
            bits[word] |= bit;
            return new;
        }
        if self.few[..self.count].contains(&h) {
            return false;
        }
        if self.count < self.few.len() {
            self.few[self.count] = h;
            self.count += 1;
            return true;
        }
        let mut bits = Box::new([0u64; 1024]);
        for &k in &self.few {
            bits[(k >> 6) as usize] |= 1u64 << (k & 63);
        }
        bits[word] |= bit;
        self.bits = Some(bits);
        true
    }
}

/// One identification's matching: the windows, what matched so far
/// (formats, few) and the budget.
struct Run<'a> {
    reg: &'a Registry,
    head: &'a [u8],
    tail: Option<&'a [u8]>,
    end_window: &'a [u8],
    /// The end window last byte first, made when an EOF sequence is
    /// first matched.
    reversed: Option<Vec<u8>>,
    budget: Budget,
    matched: Vec<usize>,
    /// The signatures of several keys tried so far.
    tried: Vec<u32>,
}

impl Run<'_> {
    /// Matches signature `i` unless its format matched already or a
    /// quick check rules it out; `false` once the budget is spent.
    fn try_signature(&mut self, i: u32) -> bool {
        let sig = &self.reg.signatures[i as usize];
        let longest = self.head.len().max(self.tail.map_or(0, <[u8]>::len));
        if sig.keys {
            if self.tried.contains(&i) {
                return true;
            }
            self.tried.push(i);
        }
        if self.matched.contains(&sig.format)
            || sig.min > longest
            || !sig
                .fixed
                .iter()
                .all(|f| f.holds(self.head, self.end_window))
        {
            return true;
        }
        let (head, tail, end) = (self.head, self.tail, self.end_window);
        let budget = &mut self.budget;
        let reversed = &mut self.reversed;
        let all = sig.sequences.iter().all(|seq| match seq.anchor {
            Anchor::Bof => seq.min <= head.len() && seq.pattern.matches_at_start(head, budget),
            Anchor::Eof => {
                seq.min <= end.len()
                    && seq.pattern.matches_at_start(
                        reversed.get_or_insert_with(|| end.iter().rev().copied().collect()),
                        budget,
                    )
            }
            Anchor::Var => {
                (seq.min <= head.len() && seq.pattern.matches_at_start(head, budget))
                    || tail.is_some_and(|t| {
                        seq.min <= t.len() && seq.pattern.matches_at_start(t, budget)
                    })
            }
        });
        if all {
            self.matched.push(sig.format);
        }
        !self.budget.exhausted
    }
}

/// Whether a head window is UTF-8, allowing a character cut at its end
/// when the record goes on.
fn utf8_window(w: &[u8], cut: bool) -> bool {
    match std::str::from_utf8(w) {
        Ok(_) => true,
        Err(e) => cut && e.error_len().is_none(),
    }
}

/// Whether a tail window is UTF-8 once up to 3 continuation bytes at its
/// start (a character cut by the window) are skipped.
fn utf8_tail(w: &[u8]) -> bool {
    let skip = w.iter().take(3).take_while(|&&b| b & 0xC0 == 0x80).count();
    std::str::from_utf8(&w[skip..]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_signatures_parse() {
        let reg = registry();
        assert_eq!(reg.release, "109");
        assert!(reg.formats.len() > 2000, "{}", reg.formats.len());
        assert!(reg.signature_count() > 1900, "{}", reg.signature_count());
        // Every signature of PRONOM 109 is in the supported syntax.
        assert!(reg.skipped.is_empty(), "{:?}", reg.skipped);
        let png = reg.format("fmt/13").unwrap();
        assert_eq!(
            (png.name.as_str(), png.version.as_str()),
            ("Portable Network Graphics", "1.2")
        );
    }

    #[test]
    fn extension_and_text_rules() {
        let id = identify_bytes("a/notes.TXT", "héllo\n".as_bytes());
        assert_eq!((id.puid(), id.basis), ("x-fmt/111", Basis::Extension));
        assert!(id.warning.is_none());
        let id = identify_bytes("t.csv", b"a,b\n\xff,2\n");
        assert_eq!((id.puid(), id.basis), ("x-fmt/18", Basis::Extension));
        assert!(id.warning.unwrap().contains("not UTF-8"));
        let id = identify_bytes("x.txt", b"ab\0cd");
        assert_eq!(id.basis, Basis::Unidentified);
        let id = identify_bytes("x.json", b" \n{\"a\": 1}");
        assert_eq!((id.puid(), id.basis), ("fmt/817", Basis::Extension));
        let id = identify_bytes("x.json", b"<xml/>");
        assert_eq!(id.basis, Basis::Unidentified);
        let id = identify_bytes("README.md", b"# Title\n");
        assert_eq!((id.puid(), id.basis), ("fmt/1149", Basis::Extension));
        let id = identify_bytes("noext", b"plain");
        assert_eq!((id.puid(), id.basis), ("", Basis::Unidentified));
        // A UTF-8 character cut by the head window is not a fault.
        let mut big = vec![b'a'; WINDOW - 1];
        big.extend("é".as_bytes());
        big.extend(vec![b'b'; 2 * WINDOW]);
        assert!(identify_bytes("big.txt", &big).warning.is_none());
    }

    #[test]
    fn signatures_and_priorities() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend([0u8; 40]);
        png.extend(b"\0\0\0\0IEND\xaeB`\x82");
        let id = identify_bytes("a.png", &png);
        assert_eq!((id.puid(), id.basis), ("fmt/11", Basis::Signature));
        // An iTXt chunk makes it 1.2, which has priority over 1.0 and 1.1.
        let mut v12 = png[..33].to_vec();
        v12.extend(b"\0\0\0\x05iTXtabcde\0\0\0\0");
        v12.extend(b"\0\0\0\0IEND\xaeB`\x82");
        let id = identify_bytes("b.png", &v12);
        assert_eq!(id.puid(), "fmt/13", "{id:?}");
        assert!(id.also.is_empty(), "{id:?}");
        let id = identify_bytes("c.tif", b"II*\0\x08\0\0\0rest of a tiff");
        assert_eq!(id.puid(), "fmt/353");
        let id = identify_bytes("wrong.jpg", b"II*\0\x08\0\0\0");
        assert_eq!(id.puid(), "fmt/353");
        assert!(id.warning.unwrap().contains(".jpg"));
        let id = identify_bytes("d.pdf", b"%PDF-1.7\n...\n%%EOF\n");
        assert_eq!(id.puid(), "fmt/276", "{id:?}");
        let id = identify_bytes("d.pdf", b"%PDF-1.4\n...\n%%EOF");
        assert_eq!(id.puid(), "fmt/18", "{id:?}");
    }

    /// Random and adversarial records (runs of one byte, every signature's
    /// lead byte followed by noise, lengths around the window sizes) are
    /// identified without a panic and within the budget.
    #[test]
    fn hostile_records_are_identified_within_bounds() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let lengths = [
            0,
            1,
            2,
            3,
            7,
            64,
            4096,
            WINDOW - 1,
            WINDOW,
            2 * WINDOW,
            2 * WINDOW + 1,
            300_000,
        ];
        for (n, &len) in lengths.iter().enumerate() {
            for fill in 0..4 {
                let data: Vec<u8> = (0..len)
                    .map(|i| match fill {
                        0 => next() as u8,
                        1 => b'A',
                        2 => [b'<', b'%', b'{', 0][i % 4],
                        _ => (i % 256) as u8,
                    })
                    .collect();
                for name in ["x", "a.txt", "b.json", "c.pdf", ".hidden", "d.", "e.TIF"] {
                    let id = identify_bytes(name, &data);
                    assert!(!id.cut_short, "{n} {fill} {name}");
                }
            }
        }
        // Each known lead byte, then noise: the anchored matchers run.
        for lead in 0..=255u8 {
            let mut data = vec![lead];
            data.extend((0..2000).map(|_| next() as u8));
            let _ = identify_bytes("f.bin", &data);
        }
    }

    #[test]
    fn a_large_record_reads_only_its_ends() {
        struct Counting<R> {
            inner: R,
            read: u64,
        }
        impl<R: Read> Read for Counting<R> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.inner.read(buf)?;
                self.read += n as u64;
                Ok(n)
            }
        }
        impl<R: Seek> Seek for Counting<R> {
            fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
                self.inner.seek(pos)
            }
        }
        let mut data = vec![0x20u8; 1 << 20];
        data[..8].copy_from_slice(b"%PDF-1.7");
        let n = data.len();
        data[n - 6..].copy_from_slice(b"%%EOF\n");
        let mut r = Counting {
            inner: std::io::Cursor::new(data),
            read: 0,
        };
        let id = identify_reader("big.pdf", &mut r).unwrap();
        assert_eq!(id.puid(), "fmt/276");
        assert_eq!(r.read, 2 * WINDOW as u64);
    }

    /// Bytes that satisfy `pattern` as far as a simple walk can: each
    /// atom's first byte it allows, each gap at its minimum of `fill`,
    /// alternative `pick` (modulo their number).
    fn instance(pattern: &pattern::Pattern, fill: u8, pick: usize) -> Vec<u8> {
        use pattern::{Atom, Elem};
        let atom = |a: &Atom, out: &mut Vec<u8>| match a {
            Atom::Byte(b) => out.push(*b),
            Atom::Any => out.push(fill),
            Atom::Set(bits) => out.push(
                (0..=255u8)
                    .find(|&x| bits[(x >> 6) as usize] & (1u64 << (x & 63)) != 0)
                    .unwrap_or(fill),
            ),
            Atom::Span { lo, reversed, .. } => {
                let mut v = lo.to_vec();
                if *reversed {
                    v.reverse();
                }
                out.extend(v)
            }
        };
        let mut out = Vec::new();
        for e in &pattern.elems {
            match e {
                Elem::Seq(atoms) => atoms.iter().for_each(|a| atom(a, &mut out)),
                Elem::Gap { min, .. } => {
                    out.extend(std::iter::repeat_n(fill, (*min).min(70_000) as usize))
                }
                Elem::Alt(options) => options[pick % options.len()]
                    .iter()
                    .for_each(|a| atom(a, &mut out)),
            }
        }
        out
    }

    /// Every signature's own instance (its sequences placed where they
    /// anchor, over three fillers and alternatives), records of random
    /// bytes of every first byte and of many lengths, and text: the
    /// identifications of all of them, one line each, digested. The
    /// digest is pinned: a change of the matcher that changes any PUID,
    /// basis, runner-up or warning of any of these fails here (the
    /// listing is written to $PRONOM_LISTING when set, to compare).
    #[test]
    fn identifications_of_made_records_are_pinned() {
        let reg = registry();
        let mut records: Vec<(String, Vec<u8>)> = Vec::new();
        for (n, sig) in reg.signatures.iter().enumerate() {
            let f = &reg.formats[sig.format];
            for (v, fill) in [0u8, b'A', 0xA5].into_iter().enumerate() {
                let parts: Vec<(Anchor, Vec<u8>)> = sig
                    .sequences
                    .iter()
                    .map(|q| {
                        let mut b = instance(&q.pattern, fill, v);
                        if q.anchor == Anchor::Eof {
                            b.reverse();
                        }
                        (q.anchor, b)
                    })
                    .collect();
                let need: usize = parts.iter().map(|(_, b)| b.len()).sum();
                let mut data = vec![fill; need + 16 * v];
                let mut at = 0;
                for (anchor, b) in &parts {
                    match anchor {
                        Anchor::Bof => {
                            data[..b.len()].copy_from_slice(b);
                            at = at.max(b.len());
                        }
                        Anchor::Eof => {
                            let l = data.len();
                            data[l - b.len()..].copy_from_slice(b);
                        }
                        Anchor::Var => {
                            let start = at.min(data.len() - b.len());
                            data[start..start + b.len()].copy_from_slice(b);
                            at = start + b.len();
                        }
                    }
                }
                let name = match (v, f.extensions.first()) {
                    (1, Some(e)) => format!("s{n}.{e}"),
                    (2, _) => format!("s{n}"),
                    _ => format!("s{n}.bin"),
                };
                records.push((name, data));
            }
        }
        let mut x = 0x0123_4567_89AB_CDEFu64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for lead in 0..=255u8 {
            for len in [1usize, 4, 9, 20, 64, 200, 700] {
                let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                d[0] = lead;
                records.push((format!("r{lead}.bin"), d.clone()));
                let l = d.len();
                d[l - 1] = lead;
                records.push((format!("e{lead}"), d));
            }
        }
        for (i, t) in [
            "<?xml version=\"1.0\"?><a/>",
            "{\"a\": [1, 2]}",
            "a,b\n1,2\n",
            "# T\n\ntext",
            "%PDF-1.4\n%%EOF",
        ]
        .iter()
        .enumerate()
        {
            for name in ["t.txt", "t.json", "t.csv", "t.md", "t.xml", "t", "t.pdf"] {
                records.push((format!("{i}{name}"), t.as_bytes().to_vec()));
            }
        }
        let mut listing = String::new();
        let mut own = 0;
        for (k, (name, data)) in records.iter().enumerate() {
            let id = identify_bytes(name, data);
            if k < reg.signatures.len() * 3
                && id.format.map(|f| f as *const Format)
                    == Some(&reg.formats[reg.signatures[k / 3].format] as *const Format)
            {
                own += 1;
            }
            listing.push_str(&format!(
                "{name}\t{}\t{}\t{}\t{}\t{}\n",
                id.puid(),
                id.basis.as_str(),
                id.also.join(","),
                id.warning.as_deref().unwrap_or(""),
                id.cut_short
            ));
        }
        if let Ok(path) = std::env::var("PRONOM_LISTING") {
            std::fs::write(path, &listing).unwrap();
        }
        let digest = listing.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        eprintln!("{} records, {own} signature instances identified as their own format, digest {digest:#018x}", records.len());
        assert!(own > 4000, "{own}");
        // 0x92c9_8bc2_d8b5_5fe9 before container identification: the
        // listing differs only in the 7 records a ZIP signature matched
        // (instances of x-fmt/263, fmt/189 and of SIARD 1.0, fmt/161,
        // which has priority over ZIP), which now say they were not
        // looked into as containers (they have no end of central
        // directory record); with that note taken out, the old digest
        // comes back.
        assert_eq!(digest, 0x9bf2_5a32_1d23_8556);
    }
}

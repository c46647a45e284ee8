//! The `outboard` entry at the fixity level (SPEC 2.0 §25.2, §30.3): the
//! full audit checks that every covered entry's values merge to its row's
//! BLAKE3, and the sampled audit checks random 64 KiB pieces of the
//! entries against those values, reading a piece and the drawn entry's
//! values instead of the whole entry.

use std::collections::BTreeSet;

use legation_format::container::{self, Entry};
use legation_format::manifest::ManifestEntry;
use legation_format::v2::outboard::{self, Merger, OUTBOARD_ENTRY, PIECE, VALUE};

use crate::verify::{Level, Problem, Progress, Report, Sample};
use crate::{Archive, Error};

/// Values read at once (1 MiB), whatever an entry's size.
const VALUES_BLOCK: u64 = 32768;

/// The most pieces one sampled audit draws (256 GiB of pieces): the draw
/// is held in memory, and a larger check is the full audit's job.
pub(crate) const MAX_DRAW: u64 = 1 << 22;

/// Where `outboard` is and which entries it covers, from the entry table.
struct Layout<'a> {
    /// The container's entries and the table's rows (one a covered entry).
    entries: &'a [Entry],
    rows: &'a [ManifestEntry],
    /// `outboard`'s index in the container.
    at: usize,
    /// For each entry before `outboard`, the number of values before its
    /// own (so entry `i`'s values start at byte `32 * first[i]`).
    first: Vec<u64>,
}

impl<'a> Layout<'a> {
    /// The layout, or the problem with `outboard`'s size.
    fn new(entries: &'a [Entry], rows: &'a [ManifestEntry]) -> Result<Self, Error> {
        let at = rows
            .iter()
            .position(|r| r.name == OUTBOARD_ENTRY)
            .ok_or_else(|| Error::MissingEntry {
                entry: OUTBOARD_ENTRY.into(),
            })?;
        let mut first = Vec::with_capacity(at);
        let mut total = 0u64;
        for r in &rows[..at] {
            first.push(total);
            total = total.saturating_add(outboard::values(r.size));
        }
        let want = total.saturating_mul(VALUE);
        if rows[at].size != want {
            return Err(Error::ManifestMismatch {
                entry: OUTBOARD_ENTRY.into(),
                what: format!(
                    "holds {} bytes where the {at} entries before it need {want} (32 a 64 KiB piece \
                     of each entry over 64 KiB)",
                    rows[at].size
                ),
            });
        }
        Ok(Layout {
            entries,
            rows,
            at,
            first,
        })
    }

    /// Streams entry `i`'s values through `each` (index, value), reading
    /// at most [`VALUES_BLOCK`] at once; returns the bytes read.
    fn values(
        &self,
        archive: &Archive,
        i: usize,
        each: &mut dyn FnMut(u64, [u8; 32]),
    ) -> Result<u64, Error> {
        let count = outboard::values(self.rows[i].size);
        let base = self.entries[self.at].data_offset() + self.first[i] * VALUE;
        let mut buf = Vec::new();
        let mut k = 0u64;
        while k < count {
            let n = (count - k).min(VALUES_BLOCK);
            buf.resize((n * VALUE) as usize, 0);
            archive.read_at(base + k * VALUE, &mut buf, OUTBOARD_ENTRY)?;
            for v in buf.chunks_exact(VALUE as usize) {
                each(k, v.try_into().expect("32 bytes"));
                k += 1;
            }
        }
        Ok(count * VALUE)
    }
}

fn fixity(subject: &str, e: &Error) -> Problem {
    Problem {
        level: Level::Fixity,
        subject: subject.to_owned(),
        message: e.to_string(),
        kind: e.kind(),
    }
}

fn no_merge(name: &str) -> Error {
    Error::ManifestMismatch {
        entry: OUTBOARD_ENTRY.into(),
        what: format!(
            "its values for {name} do not merge to that entry's BLAKE3 in the entry table \
             (outboard damaged or forged)"
        ),
    }
}

/// The full audit's check of `outboard` (SPEC 2.0 §30.3 step 2): its size
/// is what the entries before it need, and every covered entry's values
/// merge to the entry's BLAKE3 in the table. Reads `outboard` once more
/// (about 1/2048 of the bytes it covers), holding one block of values.
/// Nothing for a 1.x archive, or when the table could not be read (the
/// pass reported that).
pub(crate) fn check_outboard(archive: &Archive, report: &mut Report) {
    let Some(v) = archive.v2() else { return };
    let entries = archive.entries();
    let Ok(rows) = v.table(archive.source(), entries) else {
        return;
    };
    let layout = match Layout::new(entries, rows) {
        Ok(l) => l,
        Err(e) => return report.problems.push(fixity(OUTBOARD_ENTRY, &e)),
    };
    // One pass over `outboard` in blocks of VALUES_BLOCK values, whatever
    // the entries' boundaries (a remote source pays a request a block).
    let data = entries[layout.at].data_offset();
    let total = rows[layout.at].size / VALUE;
    let mut buf: Vec<u8> = Vec::new();
    let mut block_at = 0u64; // first value in `buf`
    let mut k = 0u64; // next value
    for (i, row) in rows[..layout.at].iter().enumerate() {
        let count = outboard::values(row.size);
        if count == 0 {
            continue;
        }
        debug_assert_eq!(k, layout.first[i]);
        let mut m = Merger::new();
        for _ in 0..count {
            if k >= block_at + (buf.len() as u64) / VALUE {
                let n = (total - k).min(VALUES_BLOCK);
                buf.resize((n * VALUE) as usize, 0);
                if let Err(e) = archive.read_at(data + k * VALUE, &mut buf, OUTBOARD_ENTRY) {
                    return report.problems.push(fixity(OUTBOARD_ENTRY, &e));
                }
                block_at = k;
            }
            let at = ((k - block_at) * VALUE) as usize;
            m.push(buf[at..at + VALUE as usize].try_into().expect("32 bytes"));
            k += 1;
        }
        if m.root() != Some(row.blake3) {
            report
                .problems
                .push(fixity(OUTBOARD_ENTRY, &no_merge(&row.name)));
        }
    }
}

/// SplitMix64 from `seed`: the draw's generator (the seed is drawn from
/// the operating system for each run, so the host cannot know the draw).
fn splitmix(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `take` distinct numbers below `total`, uniformly (R. Floyd's
/// algorithm: `O(take)` steps and memory, whatever `total`).
pub(crate) fn draw(total: u64, take: u64, seed: u64) -> BTreeSet<u64> {
    let mut next = splitmix(seed);
    let take = take.min(total);
    let mut chosen = BTreeSet::new();
    for j in total - take..total {
        let t = next() % (j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen
}

/// The sampled keyless audit of a 2.0 archive (SPEC 2.0 §30.3, "Sampled
/// audit"): the signatures and the last four entries as in the full
/// audit, the entry table, then `n` pieces drawn uniformly without
/// replacement among every piece of every entry before `entries` but
/// `outboard` (an entry of at most 64 KiB is one piece). A drawn piece of
/// a small entry is that entry, hashed whole with its local header; of a
/// larger one, its bytes (with the local header for piece 0) hashed at
/// their offset and compared with the entry's value in `outboard`, whose
/// values for that entry must merge to the table's BLAKE3.
pub(crate) fn sample(
    archive: &Archive,
    pinned: Option<&[u8; 32]>,
    n: u64,
    seed: u64,
    progress: Progress<'_>,
) -> Report {
    let entries = archive.entries();
    let count = entries.len();
    let last_four: Vec<usize> = (count.saturating_sub(4)..count).collect();
    let mut report = archive.fixity_of(pinned, Some(&last_four), progress);
    let mut sample = Sample {
        entries_total: count as u64,
        entries_sampled: last_four.len() as u64,
        seed,
        p_detect_one: 0.0,
        detects_95: 0,
        piece_size: PIECE,
        pieces_total: 0,
        pieces_sampled: 0,
    };
    let rows = match archive.v2().map(|v| v.table(archive.source(), entries)) {
        Some(Ok(r)) => r,
        // The pass reported why; nothing can be drawn without the table.
        _ => {
            report.sample = Some(sample);
            return report;
        }
    };
    if report.cancelled {
        return report;
    }
    let layout = match Layout::new(entries, rows) {
        Ok(l) => Some(l),
        Err(e) => {
            report.problems.push(fixity(OUTBOARD_ENTRY, &e));
            None
        }
    };
    // The pieces drawn from: every entry before `entries` but `outboard`
    // (which opening found right before `recovery`).
    let at = rows
        .iter()
        .position(|r| r.name == OUTBOARD_ENTRY)
        .unwrap_or(rows.len());
    let drawable: Vec<usize> = (0..rows.len()).filter(|&i| i != at).collect();
    let mut starts = Vec::with_capacity(drawable.len());
    let mut total = 0u64;
    for &i in &drawable {
        starts.push(total);
        total = total.saturating_add(outboard::pieces(rows[i].size));
    }
    let chosen = draw(total, n.min(MAX_DRAW), seed);
    let odds = Sample::odds(total, chosen.len() as u64, seed);
    sample.pieces_total = total;
    sample.pieces_sampled = chosen.len() as u64;
    sample.p_detect_one = odds.p_detect_one;
    sample.detects_95 = odds.detects_95;
    // Group the drawn pieces by entry, in file order.
    let mut by_entry: Vec<(usize, Vec<u64>)> = Vec::new();
    for p in chosen {
        let k = starts.partition_point(|&s| s <= p) - 1;
        let i = drawable[k];
        match by_entry.last_mut() {
            Some((j, v)) if *j == i => v.push(p - starts[k]),
            _ => by_entry.push((i, vec![p - starts[k]])),
        }
    }
    let all = sample.pieces_sampled.max(1);
    let mut done = 0u64;
    for (i, pieces) in by_entry {
        sample.entries_sampled += 1;
        report.entries_checked += 1;
        // `outboard` covers the entries before it: `recovery`, after it,
        // is checked whole as an entry of one piece is.
        let covered = i < at && outboard::values(rows[i].size) > 0;
        let checked = match layout.as_ref() {
            _ if !covered => whole(archive, &entries[i], &rows[i]),
            Some(l) => pieces_of(archive, l, i, &pieces),
            None => Err(vec![Error::ManifestMismatch {
                entry: entries[i].name.clone(),
                what: "its drawn pieces cannot be checked: outboard is damaged".into(),
            }]),
        };
        match checked {
            Ok(bytes) => report.bytes_checked += bytes,
            Err(errors) => {
                for e in errors {
                    let subject = match &e {
                        Error::ManifestMismatch { entry, .. }
                        | Error::EntryHash { entry, .. }
                        | Error::MissingEntry { entry } => entry.clone(),
                        Error::Source { what, .. } => what.clone(),
                        _ => entries[i].name.clone(),
                    };
                    report.problems.push(fixity(&subject, &e));
                }
            }
        }
        done += pieces.len() as u64;
        if !progress(done, all) {
            report.cancelled = true;
            break;
        }
    }
    report.sample = Some(sample);
    report
}

/// An entry of one piece: local header and bytes in one read, the header
/// checked and the bytes hashed against the row.
/// `recovery` (not covered by `outboard`, about the entry table's size) is
/// hashed whole the same way, read in blocks of at most 1 MiB.
fn whole(archive: &Archive, e: &Entry, row: &ManifestEntry) -> Result<u64, Vec<Error>> {
    let len = e.end() - e.offset;
    let head = (e.data_offset() - e.offset) as usize;
    let mut hasher = blake3::Hasher::new();
    let mut errors = Vec::new();
    let mut b = Vec::new();
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(VALUES_BLOCK * VALUE);
        b.resize(n as usize, 0);
        archive
            .read_at(e.offset + at, &mut b, &e.name)
            .map_err(|x| vec![x])?;
        let data = if at == 0 {
            // The local header is shorter than a block.
            if let Err(x) = container::check_local_header(e, &b[..head]) {
                errors.push(Error::from(x));
            }
            &b[head..]
        } else {
            &b[..]
        };
        hasher.update(data);
        at += n;
    }
    if hasher.finalize().as_bytes() != &row.blake3 {
        errors.push(Error::EntryHash {
            entry: e.name.clone(),
            pinned_by: crate::Pin::EntryTable,
        });
    }
    match errors.is_empty() {
        true => Ok(len),
        false => Err(errors),
    }
}

/// The drawn pieces of a covered entry: its values read from `outboard`
/// (merging to the row's BLAKE3), then each piece read and hashed at its
/// offset against its value.
fn pieces_of(
    archive: &Archive,
    layout: &Layout<'_>,
    i: usize,
    pieces: &[u64],
) -> Result<u64, Vec<Error>> {
    let e = &layout.entries[i];
    let row = &layout.rows[i];
    let mut wanted: Vec<(u64, [u8; 32])> = pieces.iter().map(|&p| (p, [0; 32])).collect();
    let mut m = Merger::new();
    let mut bytes = layout
        .values(archive, i, &mut |k, cv| {
            m.push(cv);
            if let Ok(w) = wanted.binary_search_by_key(&k, |x| x.0) {
                wanted[w].1 = cv;
            }
        })
        .map_err(|x| vec![x])?;
    if m.root() != Some(row.blake3) {
        return Err(vec![no_merge(&e.name)]);
    }
    let mut errors = Vec::new();
    let mut buf = Vec::new();
    for (k, value) in wanted {
        let from = k * PIECE;
        let to = (from + PIECE).min(e.size);
        // Piece 0 is read with the entry's local header, and checks it.
        let head = if k == 0 {
            e.data_offset() - e.offset
        } else {
            0
        };
        buf.resize((head + to - from) as usize, 0);
        archive
            .read_at(e.data_offset() + from - head, &mut buf, &e.name)
            .map_err(|x| vec![x])?;
        bytes += buf.len() as u64;
        let (header, data) = buf.split_at(head as usize);
        if k == 0 {
            if let Err(x) = container::check_local_header(e, header) {
                errors.push(Error::from(x));
            }
        }
        if outboard::piece_value(k, data) != value {
            errors.push(Error::ManifestMismatch {
                entry: e.name.clone(),
                what: format!(
                    "bytes {from} to {to} (piece {k}) differ from their value in outboard \
                     (changed or damaged)"
                ),
            });
        }
    }
    match errors.is_empty() {
        true => Ok(bytes),
        false => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;
    use legation_format::keys::{Identity, IssuerKey};
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_chacha::rand_core::SeedableRng;
    use std::sync::Arc;

    /// A signed archive of 200 small records and one of 5.5 pieces that
    /// does not compress (so `b/00000000` has six pieces), and its
    /// issuer.
    fn made() -> (Vec<u8>, [u8; 32]) {
        made_for(1)
    }

    /// [`made`] for `recipients` key slots (each about 200 bytes of
    /// `public.json`, which `recovery` copies).
    fn made_for(recipients: usize) -> (Vec<u8>, [u8; 32]) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let issuer = IssuerKey::generate(&mut rng);
        let public = issuer.public();
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(issuer),
            recipients: (0..recipients)
                .map(|_| Identity::generate(&mut rng).public())
                .collect(),
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
        for i in 0..200usize {
            let bytes: Vec<u8> = if i == 100 {
                let mut b = vec![0u8; 5 * PIECE as usize + PIECE as usize / 2];
                blake3::Hasher::new()
                    .update(b"noise")
                    .finalize_xof()
                    .fill(&mut b);
                b
            } else {
                format!("record {i}").into_bytes()
            };
            let meta = RecordMeta {
                path: format!("r/{i:04}"),
                media_type: "application/octet-stream".into(),
                ..Default::default()
            };
            w.add_record(meta, RecordSource::Bytes(&bytes)).unwrap();
        }
        (w.finish().unwrap().into_inner(), public)
    }

    fn open(bytes: Vec<u8>) -> Archive {
        Archive::open(MemSource::new(bytes, "s.lgn")).unwrap()
    }

    fn subjects(r: &Report) -> Vec<&str> {
        r.problems.iter().map(|p| p.subject.as_str()).collect()
    }

    #[test]
    fn a_damaged_piece_is_found_by_drawing_it_and_only_its_entry_is_named() {
        let (bytes, issuer) = made();
        let a = open(bytes.clone());
        let b = a.entry("b/00000000").unwrap().clone();
        assert_eq!(outboard::pieces(b.size), 6);
        let r = a.verify_fixity(Some(&issuer), &mut |_, _| true);
        assert!(r.ok(), "{:?}", r.problems);
        let all = a.verify_fixity_sample(Some(&issuer), 1_000, 1, &mut |_, _| true);
        assert!(all.ok(), "{:?}", all.problems);
        let s = all.sample.as_ref().unwrap();
        assert_eq!(s.pieces_sampled, s.pieces_total);
        assert_eq!(s.piece_size, PIECE);
        assert!((s.p_detect_one - 1.0).abs() < 1e-9);
        // A bit of piece 3 flipped.
        let mut bad = bytes;
        bad[(b.data_offset() + 3 * PIECE + 77) as usize] ^= 4;
        let a = open(bad);
        let r = a.verify_fixity(Some(&issuer), &mut |_, _| true);
        assert_eq!(subjects(&r), ["b/00000000"], "{:?}", r.problems);
        let r = a.verify_fixity_sample(Some(&issuer), 1_000, 1, &mut |_, _| true);
        assert_eq!(subjects(&r), ["b/00000000"], "{:?}", r.problems);
        assert!(
            r.problems[0].message.contains("(piece 3)"),
            "{:?}",
            r.problems
        );
        // A draw without piece 3 passes; with it, fails: over seeds, both.
        let (mut passed, mut failed) = (0, 0);
        for seed in 0..40 {
            let r = a.verify_fixity_sample(Some(&issuer), 2, seed, &mut |_, _| true);
            match r.ok() {
                true => passed += 1,
                false => failed += 1,
            }
        }
        assert!(passed > 0 && failed > 0, "{passed} passed, {failed} failed");
    }

    #[test]
    fn a_damaged_outboard_is_named_by_the_full_audit_and_by_a_sample_that_needs_it() {
        let (bytes, issuer) = made();
        let a = open(bytes.clone());
        let o = a.entry(OUTBOARD_ENTRY).unwrap().clone();
        let b = a.entry("b/00000000").unwrap().clone();
        let before: u64 = a
            .entries()
            .iter()
            .take_while(|e| e.offset < b.offset)
            .map(|e| outboard::values(e.size))
            .sum();
        let mut bad = bytes.clone();
        bad[(o.data_offset() + 32 * (before + 2) + 1) as usize] ^= 1;
        let a = open(bad.clone());
        let r = a.verify_fixity(Some(&issuer), &mut |_, _| true);
        assert!(
            r.problems.iter().all(|p| p.subject == OUTBOARD_ENTRY) && r.problems.len() == 2,
            "its row's BLAKE3 and the merge: {:?}",
            r.problems
        );
        assert!(
            r.problems[1].message.contains("b/00000000"),
            "{:?}",
            r.problems
        );
        let r = a.verify_fixity_sample(Some(&issuer), 1_000, 3, &mut |_, _| true);
        assert!(subjects(&r).contains(&OUTBOARD_ENTRY), "{:?}", r.problems);
        // Repair from this copy alone regenerates outboard from the bundle.
        let mut out = std::io::Cursor::new(Vec::new());
        let report = crate::repair::repair(
            Arc::new(MemSource::new(bad, "bad.lgn")),
            None,
            &crate::repair::Options {
                pinned: Some(issuer),
                prefer: None,
            },
            &mut out,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(report.from_recovery.entries, 1, "{report:?}");
        assert!(out.into_inner() == bytes, "repaired byte for byte");
    }

    #[test]
    fn recovery_which_outboard_does_not_cover_is_checked_whole_when_drawn() {
        let (bytes, issuer) = made_for(400);
        let a = open(bytes.clone());
        let rec = a.entry("recovery").unwrap().clone();
        assert!(rec.size > PIECE, "{}", rec.size);
        let r = a.verify_fixity_sample(Some(&issuer), 1_000, 1, &mut |_, _| true);
        assert!(r.ok(), "{:?}", r.problems);
        let mut bad = bytes;
        bad[(rec.data_offset() + PIECE + 9) as usize] ^= 1;
        let a = open(bad);
        let r = a.verify_fixity_sample(Some(&issuer), 1_000, 1, &mut |_, _| true);
        assert_eq!(subjects(&r), ["recovery"], "{:?}", r.problems);
    }

    #[test]
    fn an_outboard_of_the_wrong_size_is_refused_before_it_is_read() {
        let rows = |sizes: &[(&str, u64)]| -> Vec<ManifestEntry> {
            sizes
                .iter()
                .map(|&(n, size)| ManifestEntry {
                    name: n.into(),
                    size,
                    crc32: 0,
                    blake3: [0; 32],
                })
                .collect()
        };
        // Covered: 65537 bytes (2 values) and 10 GiB (163,840): 32 each.
        let r = rows(&[
            ("a", 65536),
            ("b", 65537),
            ("c", 10 << 30),
            (OUTBOARD_ENTRY, 32 * (2 + 163_840)),
        ]);
        let l = Layout::new(&[], &r).map(|l| l.first).unwrap();
        assert_eq!(l, [0, 0, 2]);
        let mut short = r.clone();
        short[3].size -= 32;
        let e = Layout::new(&[], &short).err().unwrap().to_string();
        assert!(
            e.starts_with("outboard: holds") && e.contains("need"),
            "{e}"
        );
        // Sizes whose values overflow do not wrap around.
        let huge = rows(&[("a", u64::MAX), ("b", u64::MAX), (OUTBOARD_ENTRY, 0)]);
        assert!(Layout::new(&[], &huge).is_err());
    }

    #[test]
    fn the_draw_is_uniform_distinct_and_bounded() {
        for (total, take) in [(0, 5), (1, 5), (10, 10), (1000, 50), (u64::MAX, 50)] {
            let d = draw(total, take, 7);
            assert_eq!(d.len() as u64, take.min(total));
            assert!(d.iter().all(|&p| p < total));
        }
        // Every number of a small range is drawn about as often.
        let mut hits = [0u32; 20];
        for seed in 0..20_000 {
            for p in draw(20, 3, seed) {
                hits[p as usize] += 1;
            }
        }
        // 3,000 expected each.
        assert!(hits.iter().all(|&h| (2700..3300).contains(&h)), "{hits:?}");
        assert_ne!(draw(1 << 40, 50, 1), draw(1 << 40, 50, 2));
        assert_eq!(draw(1 << 40, 50, 1), draw(1 << 40, 50, 1));
    }
}

//! The `outboard` entry at the fixity level (SPEC 2.0 §25.2, §30.3): the
//! full audit checks that every covered entry's values merge to its row's
//! BLAKE3, and the sampled audit checks random 64 KiB pieces of the
//! entries against those values, reading a piece and the drawn entry's
//! values instead of the whole entry, and the drawn entries' rows of the
//! entry table by their paths in `entries-tree` (SPEC 2.0 §25.3) instead
//! of the whole table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use legation_format::container::{self, Entry};
use legation_format::manifest::ManifestEntry;
use legation_format::v2::entries::{self as table, CHUNK, NODE, TREE_ENTRY};
use legation_format::v2::outboard::{self, Merger, OUTBOARD_ENTRY, PIECE, VALUE};
use legation_format::v2::ENTRIES_ENTRY;

use crate::verify::{Level, Problem, Progress, Report, Sample};
use crate::{Archive, Error};

/// Values read at once (1 MiB), whatever an entry's size.
const VALUES_BLOCK: u64 = 32768;

/// The most pieces one sampled audit draws (256 GiB of pieces): the draw
/// is held in memory, and a larger check is the full audit's job.
pub(crate) const MAX_DRAW: u64 = 1 << 22;

/// Where `outboard` is and where each entry's values start in it, from
/// the container's sizes (the full audit has checked them against the
/// table; the sampled audit against the rows it reads, and `outboard`'s
/// size against its own row, which pins how many values there are).
struct Layout<'a> {
    /// The container's entries.
    entries: &'a [Entry],
    /// `outboard`'s index in the container.
    at: usize,
    /// For each entry before `outboard`, the number of values before its
    /// own (so entry `i`'s values start at byte `32 * first[i]`).
    first: Vec<u64>,
}

impl<'a> Layout<'a> {
    /// The layout for `outboard` at `at` holding `size` bytes (its row's),
    /// or the problem with that size.
    fn new(entries: &'a [Entry], at: usize, size: u64) -> Result<Self, Error> {
        let mut first = Vec::with_capacity(at);
        let mut total = 0u64;
        for e in &entries[..at] {
            first.push(total);
            total = total.saturating_add(outboard::values(e.size));
        }
        let want = total.saturating_mul(VALUE);
        if size != want {
            return Err(Error::ManifestMismatch {
                entry: OUTBOARD_ENTRY.into(),
                what: format!(
                    "holds {size} bytes where the {at} entries before it need {want} (32 a 64 KiB \
                     piece of each entry over 64 KiB)"
                ),
            });
        }
        Ok(Layout { entries, at, first })
    }

    /// Streams entry `i`'s values through `each` (index, value), reading
    /// at most [`VALUES_BLOCK`] at once; returns the bytes read.
    fn values(
        &self,
        archive: &Archive,
        i: usize,
        each: &mut dyn FnMut(u64, [u8; 32]),
    ) -> Result<u64, Error> {
        let count = outboard::values(self.entries[i].size);
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

/// The rows of the entry table a sampled audit asks for, each read with
/// the 1 KiB chunks that hold it and checked against the head's `entries`
/// hash through the chunks' paths in `entries-tree` (SPEC 2.0 §25.3):
/// about `row + 2 KiB + 32 * log2(table / 1 KiB)` bytes a row, whatever
/// the table's size, where reading the table would take all of it.
///
/// A row is found at the offset the container's names and sizes give it;
/// it must be a whole line there and describe the container's entry, or
/// the table (or the container) was changed: the row is named. The
/// table's last chunk, which pins its length, is checked first.
struct Rows<'a> {
    archive: &'a Archive,
    /// The container's entries, `entries-tree` and `entries`.
    entries: &'a [Entry],
    tree: &'a Entry,
    table: &'a Entry,
    /// Each listed entry's row offset in the table, and the table's end.
    starts: Vec<u64>,
    /// The head's `entries`.
    root: [u8; 32],
    /// Chunks checked and still wanted (rows are asked for in file
    /// order, so chunks before the last asked for are dropped).
    chunks: BTreeMap<u64, Vec<u8>>,
    /// Tree values read on paths that checked.
    nodes: HashMap<u64, [u8; 32]>,
    /// Bytes read from `entries` and `entries-tree`.
    read: u64,
}

impl<'a> Rows<'a> {
    /// Checks the table's and its tree's sizes against the container and
    /// the rows' offsets against the table's size (bounded: the table at
    /// most 64 MiB, SPEC §25, the tree what it takes).
    fn new(archive: &'a Archive, entries: &'a [Entry], root: [u8; 32]) -> Result<Self, Error> {
        let n = entries.len();
        let (tree, t) = (&entries[n - 5], &entries[n - 4]);
        if t.size > table::MAX_ENTRIES_BYTES as u64 {
            return Err(Error::TooLarge {
                entry: t.name.clone(),
                size: t.size,
                limit: table::MAX_ENTRIES_BYTES as u64,
            });
        }
        if tree.name != TREE_ENTRY || tree.size != table::tree_len(t.size) {
            return Err(Error::ManifestMismatch {
                entry: TREE_ENTRY.into(),
                what: format!(
                    "holds {} bytes where an entry table of {} bytes takes {}",
                    tree.size,
                    t.size,
                    table::tree_len(t.size)
                ),
            });
        }
        let listed = &entries[..n - 5];
        let mut starts = Vec::with_capacity(listed.len() + 1);
        let mut at = 0u64;
        for e in listed {
            starts.push(at);
            at += table::row_len(&e.name, e.size) as u64;
        }
        starts.push(at);
        if at != t.size {
            return Err(Error::ManifestMismatch {
                entry: ENTRIES_ENTRY.into(),
                what: format!(
                    "holds {} bytes where rows for the {} entries the container lists before its \
                     tree take {at}: an entry was added, removed, renamed or resized",
                    t.size,
                    listed.len()
                ),
            });
        }
        Ok(Rows {
            archive,
            entries,
            tree,
            table: t,
            starts,
            root,
            chunks: BTreeMap::new(),
            nodes: HashMap::new(),
            read: 0,
        })
    }

    /// Entry `i`'s row, checked against the head and the container.
    fn row(&mut self, i: usize) -> Result<ManifestEntry, Error> {
        let (from, to) = (self.starts[i], self.starts[i + 1]);
        // The byte before the row too: a row starts after a line feed.
        let before = from.saturating_sub(1);
        let (c0, c1) = (before / CHUNK, (to - 1) / CHUNK);
        self.chunks.retain(|&c, _| c >= c0);
        self.check_chunks(c0, c1, i)?;
        let mut bytes = Vec::with_capacity((to - before) as usize);
        for c in c0..=c1 {
            let chunk = &self.chunks[&c];
            let lo = before.max(c * CHUNK) - c * CHUNK;
            let hi = to.min(c * CHUNK + chunk.len() as u64) - c * CHUNK;
            bytes.extend_from_slice(&chunk[lo as usize..hi as usize]);
        }
        let e = &self.entries[i];
        let wrong = |what: String| Error::ManifestMismatch {
            entry: ENTRIES_ENTRY.into(),
            what: format!(
                "row {} (bytes {from} to {to}, for {}): {what}",
                i + 1,
                e.name
            ),
        };
        let line = match from {
            0 => &bytes[..],
            _ if bytes[0] == b'\n' => &bytes[1..],
            _ => return Err(wrong("does not start a line".into())),
        };
        let r = match table::parse(line) {
            Ok(mut rows) if rows.len() == 1 => rows.remove(0),
            Ok(_) => return Err(wrong("is not one line".into())),
            Err(x) => return Err(wrong(x.to_string())),
        };
        if r.name != e.name || r.size != e.size || r.crc32 != e.crc32 {
            return Err(wrong(format!(
                "the table lists {} of {} bytes with CRC {:08x}, the container {} of {} bytes \
                 with CRC {:08x}",
                r.name, r.size, r.crc32, e.name, e.size, e.crc32
            )));
        }
        Ok(ManifestEntry {
            name: r.name,
            size: r.size,
            crc32: r.crc32,
            blake3: r.blake3,
        })
    }

    /// Reads and checks chunks `c0..=c1` of the table not checked yet:
    /// the chunks in one read, then the tree values their paths need and
    /// no earlier path read, in runs of neighbours.
    fn check_chunks(&mut self, c0: u64, c1: u64, row: usize) -> Result<(), Error> {
        let len = self.table.size;
        let Some(first) = (c0..=c1).find(|c| !self.chunks.contains_key(c)) else {
            return Ok(());
        };
        let from = first * CHUNK;
        let to = ((c1 + 1) * CHUNK).min(len);
        let mut data = vec![0u8; (to - from) as usize];
        self.archive
            .read_at(self.table.data_offset() + from, &mut data, ENTRIES_ENTRY)?;
        self.read += data.len() as u64;
        let mut wanted = BTreeSet::new();
        for c in first..=c1 {
            for p in table::path(len, c) {
                if !self.nodes.contains_key(&p.at) {
                    wanted.insert(p.at);
                }
            }
        }
        let mut got: HashMap<u64, [u8; 32]> = HashMap::with_capacity(wanted.len());
        let wanted: Vec<u64> = wanted.into_iter().collect();
        for run in wanted.chunk_by(|a, b| a + 1 == *b) {
            let mut b = vec![0u8; run.len() * NODE as usize];
            self.archive
                .read_at(self.tree.data_offset() + run[0] * NODE, &mut b, TREE_ENTRY)?;
            self.read += b.len() as u64;
            for (k, v) in run.iter().zip(b.chunks_exact(NODE as usize)) {
                got.insert(*k, v.try_into().expect("32 bytes"));
            }
        }
        for c in first..=c1 {
            let lo = (c * CHUNK - from) as usize;
            let chunk = &data[lo..(lo + CHUNK as usize).min(data.len())];
            let path = table::path(len, c);
            let values: Vec<[u8; 32]> = path
                .iter()
                .map(|p| self.nodes.get(&p.at).or(got.get(&p.at)).copied())
                .collect::<Option<_>>()
                .expect("every value of the path read or known");
            if table::root_from(len, c, chunk, &values) != self.root {
                return Err(Error::ManifestMismatch {
                    entry: ENTRIES_ENTRY.into(),
                    what: format!(
                        "bytes {} to {} (chunk {c}, holding the row of {}) do not give the head's \
                         entries hash through their path in entries-tree: the table or its tree \
                         is damaged or forged",
                        c * CHUNK,
                        c * CHUNK + chunk.len() as u64,
                        self.entries[row].name
                    ),
                });
            }
            for (p, v) in path.iter().zip(values) {
                self.nodes.insert(p.at, v);
            }
            self.chunks.insert(c, chunk.to_vec());
        }
        Ok(())
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

/// The subject a sampled entry's problem is told under: the entry the
/// error names.
fn subject_of(e: &Error, drawn: &str) -> String {
    match e {
        Error::ManifestMismatch { entry, .. }
        | Error::EntryHash { entry, .. }
        | Error::MissingEntry { entry }
        | Error::TooLarge { entry, .. } => entry.clone(),
        Error::Source { what, .. } => what.clone(),
        _ => drawn.to_owned(),
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
    // The tree's bytes were compared in the pass; its CRC-32 in the
    // headers (which nothing else pins) is compared here, when they were
    // right (SPEC 2.0 §25.3).
    let tree = &entries[entries.len() - 5];
    if let Some(crc) = v.tree_crc() {
        if tree.crc32 != crc && !report.problems.iter().any(|p| p.subject == TREE_ENTRY) {
            let e = Error::ManifestMismatch {
                entry: TREE_ENTRY.into(),
                what: format!(
                    "its headers give CRC {:08x}, its bytes have {crc:08x}",
                    tree.crc32
                ),
            };
            report.problems.push(fixity(TREE_ENTRY, &e));
        }
    }
    let Some(at) = rows.iter().position(|r| r.name == OUTBOARD_ENTRY) else {
        let e = Error::MissingEntry {
            entry: OUTBOARD_ENTRY.into(),
        };
        return report.problems.push(fixity(OUTBOARD_ENTRY, &e));
    };
    // The table has checked every size against the container.
    let layout = match Layout::new(entries, at, rows[at].size) {
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
/// audit"): the signatures and the last three entries as in the full
/// audit; the rows of `outboard` and `recovery` (the table's last two,
/// which pin its length and how many values `outboard` holds), read by
/// their paths in `entries-tree`; then `n` pieces drawn uniformly without
/// replacement among every piece of every entry before the table's tree
/// but `outboard` (an entry of at most 64 KiB is one piece), by the
/// container's sizes. Each entry drawn from has its row read by its path
/// and compared with the container. A drawn piece of a small entry is
/// that entry, hashed whole with its local header; of a larger one, its
/// bytes (with the local header for piece 0) hashed at their offset and
/// compared with the entry's value in `outboard`, whose values for that
/// entry must merge to the row's BLAKE3. The entry table is never read
/// whole.
pub(crate) fn sample(
    archive: &Archive,
    pinned: Option<&[u8; 32]>,
    n: u64,
    seed: u64,
    progress: Progress<'_>,
) -> Report {
    let entries = archive.entries();
    let count = entries.len();
    let last_three: Vec<usize> = (count.saturating_sub(3)..count).collect();
    let mut report = archive.fixity_of(pinned, Some(&last_three), progress);
    let mut sample = Sample {
        entries_total: count as u64,
        entries_sampled: last_three.len() as u64,
        seed,
        p_detect_one: 0.0,
        detects_95: 0,
        piece_size: PIECE,
        pieces_total: 0,
        pieces_sampled: 0,
    };
    if report.cancelled {
        return report;
    }
    let Some(v) = archive.v2() else {
        report.sample = Some(sample);
        return report;
    };
    // Opening has checked the order: ..., outboard, recovery,
    // entries-tree, then the last four.
    let at = count - 7;
    let mut rows = match Rows::new(archive, entries, v.head.entries) {
        Ok(r) => r,
        Err(e) => {
            // Nothing can be drawn without rows.
            report
                .problems
                .push(fixity(&subject_of(&e, ENTRIES_ENTRY), &e));
            report.sample = Some(sample);
            return report;
        }
    };
    // outboard's row, and recovery's, which ends the table.
    let mut layout = None;
    for i in [at, at + 1] {
        match rows.row(i) {
            Ok(r) if i == at => match Layout::new(entries, at, r.size) {
                Ok(l) => layout = Some(l),
                Err(e) => report.problems.push(fixity(OUTBOARD_ENTRY, &e)),
            },
            Ok(_) => {}
            Err(e) => report
                .problems
                .push(fixity(&subject_of(&e, &entries[i].name), &e)),
        }
    }
    // The pieces drawn from: every listed entry but `outboard`.
    let drawable: Vec<usize> = (0..count - 5).filter(|&i| i != at).collect();
    let mut starts = Vec::with_capacity(drawable.len());
    let mut total = 0u64;
    for &i in &drawable {
        starts.push(total);
        total = total.saturating_add(outboard::pieces(entries[i].size));
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
        let covered = i < at && outboard::values(entries[i].size) > 0;
        let checked = rows
            .row(i)
            .map_err(|e| vec![e])
            .and_then(|row| match layout.as_ref() {
                _ if !covered => whole(archive, &entries[i], &row),
                Some(l) => pieces_of(archive, l, i, &row, &pieces),
                None => Err(vec![Error::ManifestMismatch {
                    entry: entries[i].name.clone(),
                    what: "its drawn pieces cannot be checked: outboard is damaged".into(),
                }]),
            });
        match checked {
            Ok(bytes) => report.bytes_checked += bytes,
            Err(errors) => {
                for e in errors {
                    report
                        .problems
                        .push(fixity(&subject_of(&e, &entries[i].name), &e));
                }
            }
        }
        done += pieces.len() as u64;
        if !progress(done, all) {
            report.cancelled = true;
            break;
        }
    }
    report.bytes_checked += rows.read;
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
    row: &ManifestEntry,
    pieces: &[u64],
) -> Result<u64, Vec<Error>> {
    let e = &layout.entries[i];
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
        let list = |sizes: &[(&str, u64)]| -> Vec<Entry> {
            sizes
                .iter()
                .map(|&(n, size)| Entry {
                    name: n.into(),
                    size,
                    crc32: 0,
                    offset: 0,
                })
                .collect()
        };
        // Covered: 65537 bytes (2 values) and 10 GiB (163,840): 32 each.
        let want = 32 * (2 + 163_840);
        let e = list(&[
            ("a", 65536),
            ("b", 65537),
            ("c", 10 << 30),
            (OUTBOARD_ENTRY, want),
        ]);
        let l = Layout::new(&e, 3, want).map(|l| l.first).unwrap();
        assert_eq!(l, [0, 0, 2]);
        let e = Layout::new(&e, 3, want - 32).err().unwrap().to_string();
        assert!(
            e.starts_with("outboard: holds") && e.contains("need"),
            "{e}"
        );
        // Sizes whose values overflow do not wrap around.
        let huge = list(&[("a", u64::MAX), ("b", u64::MAX), (OUTBOARD_ENTRY, 0)]);
        assert!(Layout::new(&huge, 2, 0).is_err());
    }

    /// A signed archive of `n` tiny records (a page every 4,096), so that
    /// its entry table spans several 1 KiB chunks.
    fn made_with_pages(n: usize) -> (Vec<u8>, [u8; 32]) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        let issuer = IssuerKey::generate(&mut rng);
        let public = issuer.public();
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(issuer),
            recipients: vec![Identity::generate(&mut rng).public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
        for i in 0..n {
            let meta = RecordMeta {
                path: format!("r/{i:06}"),
                media_type: "application/octet-stream".into(),
                ..Default::default()
            };
            let bytes = format!("record {i} {}", i * 7919 % 10007);
            w.add_record(meta, RecordSource::Bytes(bytes.as_bytes()))
                .unwrap();
        }
        (w.finish().unwrap().into_inner(), public)
    }

    #[test]
    fn rows_are_checked_by_their_paths_and_a_changed_row_or_tree_value_is_named() {
        let (bytes, issuer) = made_with_pages(30 * 4096 + 1);
        let a = open(bytes.clone());
        let table = a.entry(ENTRIES_ENTRY).unwrap().clone();
        let tree = a.entry(TREE_ENTRY).unwrap().clone();
        assert!(table.size > 2 * CHUNK, "{}", table.size);
        assert_eq!(tree.size, table::tree_len(table.size));
        // Every row, in file order, checks against the head by its path,
        // and reading them all reads each chunk once and each tree value
        // at most once.
        let entries = a.entries();
        let mut rows = Rows::new(&a, entries, a.v2().unwrap().head.entries).unwrap();
        for (i, e) in entries[..entries.len() - 5].iter().enumerate() {
            let r = rows.row(i).unwrap();
            assert_eq!((r.name.as_str(), r.size), (e.name.as_str(), e.size));
        }
        assert!(rows.read <= table.size + tree.size, "{}", rows.read);
        // One row alone: its chunks and its path, not the table.
        let mut rows = Rows::new(&a, entries, a.v2().unwrap().head.entries).unwrap();
        rows.row(5).unwrap();
        let levels = table::tree_levels(table.size).len() as u64;
        assert!(rows.read <= 2 * CHUNK + 2 * levels * NODE, "{}", rows.read);
        assert!(rows.read < table.size, "{}", rows.read);
        let all = a.verify_fixity_sample(Some(&issuer), 1_000_000, 1, &mut |_, _| true);
        assert!(all.ok(), "{:?}", all.problems);

        // A row's BLAKE3 changed (the page c/00000004): the head's hash no
        // longer follows; the sample names the table and the row's entry.
        let row_at = |name: &str| {
            let i = entries.iter().position(|e| e.name == name).unwrap();
            let starts: u64 = entries[..i]
                .iter()
                .map(|e| table::row_len(&e.name, e.size) as u64)
                .sum();
            table.data_offset() + starts
        };
        // A sample that draws every piece names `entries` with `needle`
        // in its message; the full audit's report is handed back.
        let named_by_sample = |bad: Vec<u8>, needle: &str| {
            let b = open(bad);
            let r = b.verify_fixity_sample(Some(&issuer), 1_000_000, 1, &mut |_, _| true);
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.subject == ENTRIES_ENTRY && p.message.contains(needle)),
                "{needle}: {:?}",
                r.problems
            );
            b.verify_fixity(Some(&issuer), &mut |_, _| true)
        };
        let mut bad = bytes.clone();
        let at = row_at("c/00000004") as usize + "c/00000004".len() + 20;
        bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
        let full = named_by_sample(bad, "the row of c/00000004");
        assert!(
            subjects(&full).contains(&ENTRIES_ENTRY),
            "{:?}",
            full.problems
        );

        // A value of the tree changed: the sample finds the path broken
        // (naming the table, whose rows it can no longer check), the full
        // audit the tree entry itself.
        let mut bad = bytes.clone();
        bad[(tree.data_offset() + 3 * NODE + 7) as usize] ^= 0x40;
        let full = named_by_sample(bad, "entries-tree");
        assert_eq!(subjects(&full), [TREE_ENTRY], "{:?}", full.problems);
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

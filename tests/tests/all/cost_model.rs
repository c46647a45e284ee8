//! SPEC 2.0 §31, the cost model, checked: 2.0 archives of several sizes
//! are written with the 2.0 writer and read through a source that counts
//! every read; for each operation (open, unlock, find and read one record,
//! list every record, the keyless audit, a sampled audit) the bytes and
//! reads the reader asks for are compared with §31's formulas evaluated
//! on that archive's entries, and what opening reads is shown not to grow
//! with the number of records.
//!
//! Sizes above 40,000 records belong to the benchmark (release builds);
//! here 1, 5,000 and 40,000 records (ten pages) keep the test to seconds in
//! a debug build.

use std::sync::{Arc, Mutex};

use legation_format::catalog::CatalogRecord;
use legation_format::container::Entry;
use legation_format::keys::{Identity, IssuerKey};
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use legation_reader::source::{MemSource, ReadAt};
use legation_reader::{Archive, Key, Unlocked};
use rand_chacha::rand_core::SeedableRng;

/// §31's symbols that the formulas need, from SPEC 2.0 §8.2 and §3.
const CHUNK: u64 = 65536;
const SEALED_CHUNK: u64 = CHUNK + 16;
/// The end records a reader reads at once (§31: `T`).
const T: u64 = 98;
/// The `mimetype` entry's data (`application/vnd.legation.archive+zip`).
const MIMETYPE: u64 = 36;
/// A piece of `outboard` (SPEC 2.0 §25.2).
const PIECE: u64 = 65536;
/// Every byte of the large record: it crosses four chunk edges.
const LARGE: usize = 4 * 65536 + 1000;

/// A source that logs every read as `(offset, length)`.
#[derive(Clone)]
struct Counting {
    inner: Arc<MemSource>,
    reads: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Counting {
    fn take(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

impl ReadAt for Counting {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.reads.lock().unwrap().push((offset, buf.len() as u64));
        self.inner.read_exact_at(offset, buf)
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// What one operation read: bytes, reads and the largest read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    bytes: u64,
    reads: u64,
    largest: u64,
}

fn cost(reads: &[(u64, u64)]) -> Cost {
    Cost {
        bytes: reads.iter().map(|r| r.1).sum(),
        reads: reads.len() as u64,
        largest: reads.iter().map(|r| r.1).max().unwrap_or(0),
    }
}

struct Made {
    bytes: Vec<u8>,
    identity: [u8; 32],
    issuer: [u8; 32],
}

/// The record at place `i`: 20 to 200 bytes, one of them large.
fn record(i: usize) -> Vec<u8> {
    if i == 3 {
        return (0..LARGE).map(|k| (k * 131 + (k >> 8)) as u8).collect();
    }
    (0..20 + (i * 37) % 181)
        .map(|k| (k * 7 + i * 13) as u8)
        .collect()
}

fn path(i: usize) -> String {
    format!("r{:03}/p{i:07}.bin", i % 1000 / 10)
}

/// An archive of `n` records, signed, for one identity, paths in order.
fn make(n: usize) -> Made {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(31);
    let issuer = IssuerKey::generate(&mut rng);
    let issuer_public = issuer.public();
    let identity = Identity::generate(&mut rng);
    let opts = WriterOptions {
        created: 1_767_225_600,
        issuer: Some(issuer),
        recipients: vec![identity.public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| path(i));
    for i in order {
        let meta = RecordMeta {
            path: path(i),
            media_type: "application/octet-stream".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(&record(i))).unwrap();
    }
    Made {
        bytes: w.finish().unwrap().into_inner(),
        identity: *identity.secret(),
        issuer: issuer_public,
    }
}

/// §31's `S(x)`: entry `x`'s stored size.
fn s(a: &Archive, name: &str) -> u64 {
    a.entry(name).unwrap().size
}

/// §31's `h(x)`: entry `x`'s local header (no ZIP64 field below 4 GiB).
fn h(name: &str) -> u64 {
    30 + name.len() as u64
}

/// §31's `CD`.
fn cd(entries: &[Entry]) -> u64 {
    entries.iter().map(|e| 46 + e.name.len() as u64).sum()
}

/// The chunks `c` of §31's find-and-read row for a record at `o` in its
/// bundle with `stored` stored bytes.
fn chunks(o: u64, stored: u64) -> u64 {
    if stored == 0 {
        0
    } else {
        (o + stored - 1) / CHUNK - o / CHUNK + 1
    }
}

/// Everything measured on one archive, checked against §31 there.
fn check(n: usize) -> Costs {
    let m = make(n);
    let src = Counting {
        inner: Arc::new(MemSource::new(m.bytes.clone(), "cost.lgn")),
        reads: Arc::default(),
    };
    let f = m.bytes.len() as u64;

    // Open, public facts.
    let a = Archive::open(src.clone()).unwrap();
    let open = cost(&src.take());
    let entries = a.entries().to_vec();
    let open_formula = T
        + cd(&entries)
        + MIMETYPE
        + s(&a, "public.json")
        + h("head")
        + s(&a, "head")
        + h("signatures")
        + s(&a, "signatures");
    assert_eq!(open.bytes, open_formula, "open, {n} records");
    assert_eq!(open.reads, 4, "open, {n} records: {open:?}");
    // The public facts need nothing more, the signatures included.
    assert!(matches!(
        a.check_signature(Some(&m.issuer)),
        Ok(legation_reader::Signer::Valid { .. })
    ));
    assert_eq!(cost(&src.take()).reads, 0, "checking the signature reads");

    // Unlock.
    let keys = [Key::Identity(Identity::from_bytes(m.identity))];
    let u = a.unlock(&keys).unwrap();
    let unlock = cost(&src.take());
    assert_eq!(
        unlock,
        Cost {
            bytes: s(&a, "c/index"),
            reads: 1,
            largest: s(&a, "c/index"),
        },
        "unlock, {n} records"
    );
    let pages = u.index().pages.len() as u64;
    assert_eq!(pages, (n as u64).div_ceil(4096), "P = ceil(n / 4096)");

    // Find and read one record: the large one, and one in the last page.
    let mut targets = vec![path(n - 1)];
    if n > 3 {
        targets.push(path(3));
    }
    for p in &targets {
        let page = u.index().pages.iter().position(|r| r.last >= *p).unwrap();
        let page_name = format!("c/{page:08x}");
        let was_cached = u.page(page).is_ok();
        let _ = src.take();
        assert!(was_cached);
        let rec = u.find(p).unwrap();
        let find = cost(&src.take());
        // The page was just read by page(), so find reads nothing again;
        // a fresh Unlocked reads it once.
        assert_eq!(find.reads, 0, "find of a cached page, {p}");
        let fresh = a.unlock(&keys).unwrap();
        let _ = src.take();
        let rec2 = fresh.find(p).unwrap();
        assert_eq!(rec2.path, rec.path);
        let find = cost(&src.take());
        assert_eq!(
            find,
            Cost {
                bytes: s(&a, &page_name),
                reads: 1,
                largest: s(&a, &page_name),
            },
            "find {p} in {n} records"
        );
        let bytes = fresh.read_record(&rec2, u64::MAX).unwrap();
        assert_eq!(bytes.len() as u64, rec2.size);
        let read = cost(&src.take());
        let c = chunks(rec2.offset, rec2.stored_size);
        assert!(
            read.bytes <= SEALED_CHUNK * c && read.bytes > SEALED_CHUNK * c.saturating_sub(1),
            "read {p} in {n} records: {read:?}, {c} chunks"
        );
        assert_eq!(read.reads, c.min(1), "one read for {c} chunks");
        // Range reads touch only the chunks of the range.
        check_range(&fresh, &rec2, &src);
    }

    // List every record: each page once, in order, nothing else.
    let mut listed = 0u64;
    u.for_each_page(0..pages as usize, &mut |_, p| {
        listed += p.unwrap().records.len() as u64;
        true
    });
    assert_eq!(listed, n as u64);
    let list = src.take();
    let list_formula: u64 = (0..pages).map(|k| s(&a, &format!("c/{k:08x}"))).sum();
    let mut page_reads: Vec<(u64, u64)> = (0..pages)
        .map(|k| {
            let e = a.entry(&format!("c/{k:08x}")).unwrap();
            (e.data_offset(), e.size)
        })
        .collect();
    let mut got = list.clone();
    got.sort_unstable();
    page_reads.sort_unstable();
    assert_eq!(got, page_reads, "list reads each page once, {n} records");
    assert_eq!(cost(&list).bytes, list_formula);

    // The keyless audit: the file once, in order, up to the central
    // directory (which opening read and checked, with the end records),
    // plus the entry table read once before the pass (MemSource cannot be
    // mapped, so the pass reads).
    let z = 22; // the end records below 4 GiB and 65,535 entries
    let directory_at = f - z - cd(&entries);
    let report = a.verify_fixity(Some(&m.issuer), &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    let audit = src.take();
    let audit_cost = cost(&audit);
    let table = s(&a, "entries");
    let ob = a.entry("outboard").unwrap().clone();
    assert_eq!(
        audit_cost.bytes,
        directory_at + table + ob.size,
        "keyless audit, {n} records: F - CD - 22 + S(entries) + S(outboard)"
    );
    // Each byte of the file once (the table's read aside, and outboard's
    // second read, in blocks of at most 1 MiB, after the pass), in order.
    let mut pass: Vec<(u64, u64)> = audit.clone();
    let te = a.entry("entries").unwrap();
    let at = pass
        .iter()
        .position(|&r| r == (te.data_offset(), te.size))
        .expect("the entry table read whole once");
    pass.remove(at);
    let values_reads = ob.size.div_ceil(1 << 20) as usize;
    let again = pass.split_off(pass.len() - values_reads);
    let mut next = ob.data_offset();
    for &(o, l) in &again {
        assert_eq!(
            (o, l.min(1 << 20)),
            (next, l),
            "outboard read again, in order"
        );
        next = o + l;
    }
    assert_eq!(next, ob.end());
    let mut next = 0u64;
    for &(o, l) in &pass {
        assert_eq!(o, next, "the pass reads in order, without gaps or overlaps");
        next = o + l;
    }
    assert_eq!(next, directory_at);
    // Fixed hashing buffers: no read larger than the pass's block.
    assert!(audit_cost.largest <= 32 << 20);

    // A sampled audit of N pieces, on a fresh opening: the last three
    // whole, the rows of outboard and recovery (the table's last two),
    // then for each entry drawn from its row (the 1 KiB chunks of the
    // entry table that hold it, and their paths in entries-tree, each
    // chunk and value read once), and each drawn piece: an entry of one
    // piece whole with its header, else the piece (with the header for
    // piece 0) and the entry's values in outboard, read once for the
    // entry (§31's row). The table is never read whole.
    let a = Archive::open(src.clone()).unwrap();
    let _ = src.take();
    let sample_n = 20u64;
    let report = a.verify_fixity_sample(Some(&m.issuer), sample_n, 7, &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    let sampled = src.take();
    let sampled_cost = cost(&sampled);
    let count = entries.len();
    let last_three_at = entries[count - 3].offset;
    assert_eq!(
        sampled[0],
        (last_three_at, directory_at - last_three_at),
        "the last three first"
    );
    let tree = a.entry("entries-tree").unwrap().clone();
    let listed = &entries[..count - 5];
    let row_starts: Vec<u64> = listed
        .iter()
        .scan(0u64, |at, x| {
            let here = *at;
            *at += (x.name.len() + 1 + x.size.to_string().len() + 1 + 8 + 1 + 64 + 1) as u64;
            Some(here)
        })
        .chain(std::iter::once(table))
        .collect();
    let m_chunks = table.div_ceil(CHUNK_1K);
    let levels = tree_levels(m_chunks);
    let covering: Vec<&Entry> = listed.iter().filter(|x| x.name != "outboard").collect();
    let pieces_total: u64 = covering.iter().map(|x| x.size.div_ceil(PIECE).max(1)).sum();
    let mut formula = directory_at - last_three_at;
    let mut drawn = 0u64;
    let mut value_reads = 0u64;
    let mut first_value = 0u64;
    let mut value_starts = std::collections::HashMap::new();
    for x in &entries[..count - 7] {
        value_starts.insert(x.name.clone(), first_value);
        if x.size > PIECE {
            first_value += x.size.div_ceil(PIECE);
        }
    }
    // The rows asked for: outboard's, recovery's, and each drawn entry's.
    let mut rows_asked: std::collections::BTreeSet<usize> = [count - 7, count - 6].into();
    let (mut table_bytes, mut tree_bytes) = (0u64, 0u64);
    let mut chunks_read = std::collections::BTreeSet::new();
    let mut values_read = std::collections::BTreeSet::new();
    for &(o, l) in &sampled[1..] {
        if o >= te.data_offset() && o < te.end() {
            // Whole chunks of the table, each once.
            assert_eq!((o - te.data_offset()) % CHUNK_1K, 0, "a chunk's start");
            assert!(o + l == te.end() || l % CHUNK_1K == 0, "whole chunks");
            let c0 = (o - te.data_offset()) / CHUNK_1K;
            for c in c0..c0 + l.div_ceil(CHUNK_1K) {
                assert!(chunks_read.insert(c), "chunk {c} read twice");
            }
            table_bytes += l;
            formula += l;
            continue;
        }
        if o >= tree.data_offset() && o < tree.end() {
            assert_eq!((o - tree.data_offset()) % 32, 0);
            assert!(o + l <= tree.end() && l % 32 == 0);
            let v0 = (o - tree.data_offset()) / 32;
            for v in v0..v0 + l / 32 {
                assert!(values_read.insert(v), "tree value {v} read twice");
            }
            tree_bytes += l;
            formula += l;
            continue;
        }
        if o >= ob.offset && o < ob.end() {
            // One entry's values, whole.
            let x = covering
                .iter()
                .find(|x| x.size > PIECE && o == ob.data_offset() + 32 * value_starts[&x.name])
                .expect("values read from an entry's first");
            assert_eq!(l, 32 * x.size.div_ceil(PIECE), "{}'s values", x.name);
            formula += l;
            value_reads += 1;
            continue;
        }
        let (i, x) = listed
            .iter()
            .enumerate()
            .find(|(_, x)| o >= x.offset && o < x.end() && x.name != "outboard")
            .expect("a read inside an entry drawn from");
        rows_asked.insert(i);
        assert!(o + l <= x.end());
        drawn += 1;
        formula += l;
        if x.size <= PIECE || x.name == "recovery" {
            // Whole (recovery, which outboard does not cover, in blocks
            // of 1 MiB; here it is smaller).
            assert_eq!((o, l), (x.offset, h(&x.name) + x.size), "{} whole", x.name);
            continue;
        }
        let k = (o.max(x.data_offset()) - x.data_offset()) / PIECE;
        let from = if k == 0 {
            x.offset
        } else {
            x.data_offset() + k * PIECE
        };
        let len = (x.size - k * PIECE).min(PIECE) + if k == 0 { h(&x.name) } else { 0 };
        assert_eq!((o, l), (from, len), "piece {k} of {}", x.name);
    }
    // Exactly the chunks that hold the rows asked for (with the line feed
    // before each), and exactly the values of their paths (§25.3).
    let mut want_chunks = std::collections::BTreeSet::new();
    for &i in &rows_asked {
        let (from, to) = (row_starts[i].saturating_sub(1), row_starts[i + 1]);
        want_chunks.extend(from / CHUNK_1K..=(to - 1) / CHUNK_1K);
    }
    assert_eq!(
        chunks_read, want_chunks,
        "{n} records: the table's chunks read"
    );
    let want_values: std::collections::BTreeSet<u64> = want_chunks
        .iter()
        .flat_map(|&c| path_values(m_chunks, c))
        .collect();
    assert_eq!(
        values_read, want_values,
        "{n} records: entries-tree's values read"
    );
    let chunk_bytes: u64 = want_chunks
        .iter()
        .map(|&c| (table - c * CHUNK_1K).min(CHUNK_1K))
        .sum();
    assert_eq!(
        (table_bytes, tree_bytes),
        (chunk_bytes, 32 * want_values.len() as u64)
    );
    // What the rows cost grows with log n: at most two chunks and a path
    // (a value a level) a row, whatever the table's size.
    let rows_bound = rows_asked.len() as u64 * 2 * (CHUNK_1K + 32 * levels.len() as u64);
    assert!(
        table_bytes + tree_bytes <= rows_bound,
        "{n} records: {table_bytes} + {tree_bytes} bytes for {} rows",
        rows_asked.len()
    );
    assert_eq!(
        drawn,
        sample_n.min(pieces_total),
        "{n} records: pieces drawn"
    );
    // Reads: the last three, one a piece, one for each large entry's
    // values, and the rows' chunks and values.
    assert_eq!(
        sampled_cost.reads,
        1 + drawn
            + value_reads
            + sampled[1..]
                .iter()
                .filter(|&&(o, _)| (o >= te.data_offset() && o < te.end())
                    || (o >= tree.data_offset() && o < tree.end()))
                .count() as u64,
        "{sampled_cost:?}"
    );
    let sample = report.sample.as_ref().unwrap();
    assert_eq!(
        (sample.pieces_total, sample.pieces_sampled),
        (pieces_total, drawn)
    );
    assert_eq!(
        sampled_cost.bytes, formula,
        "sampled audit, {n} records: the last three + the rows' chunks and paths + each drawn \
         piece + its entry's values"
    );
    // Bytes a piece are bounded whatever the entry's size: at most 64 KiB
    // and a header, plus 32 bytes a piece of the entry it is in.
    assert!(sampled_cost.largest <= 1 << 20, "{sampled_cost:?}");
    Costs {
        open,
        cd: cd(&entries),
        sample_rows: rows_asked.len() as u64,
        sample_table: table_bytes + tree_bytes,
        table,
        levels: levels.len() as u64,
    }
}

/// What [`check`] hands back for the comparisons across sizes.
struct Costs {
    open: Cost,
    cd: u64,
    /// Rows the sampled audit asked for, and the bytes of `entries` and
    /// `entries-tree` it read for them.
    sample_rows: u64,
    sample_table: u64,
    /// The entry table's size and its tree's levels.
    table: u64,
    levels: u64,
}

/// A chunk of the entry table (SPEC 2.0 §25.3).
const CHUNK_1K: u64 = 1024;

/// The values each stored level of the table's tree holds, for `m`
/// chunks: `m`, `ceil(m / 2)`, … while two or more (§25.3).
fn tree_levels(m: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut c = m;
    while c >= 2 {
        out.push(c);
        c = c.div_ceil(2);
    }
    out
}

/// The places in `entries-tree` of chunk `c`'s path: on each level, the
/// sibling of the chunk's ancestor when there is one (§25.3).
fn path_values(m: u64, c: u64) -> Vec<u64> {
    let mut start = 0;
    let mut out = Vec::new();
    for (l, count) in tree_levels(m).into_iter().enumerate() {
        let sibling = (c >> l) ^ 1;
        if sibling < count {
            out.push(start + sibling);
        }
        start += count;
    }
    out
}

/// `read_range` of a record's bytes reads only the chunks the range spans.
fn check_range(u: &Unlocked, rec: &CatalogRecord, src: &Counting) {
    if rec.size < 2 {
        return;
    }
    let (off, len) = (rec.size / 2, 1);
    let got = u.read_range(rec, off, len).unwrap();
    assert_eq!(got.len(), 1);
    let read = cost(&src.take());
    assert_eq!(read.reads, 1);
    assert!(read.bytes <= SEALED_CHUNK, "{read:?}");
}

#[test]
fn each_operation_reads_what_spec_31_says_at_several_sizes() {
    let mut costs = Vec::new();
    for n in [1usize, 5_000, 40_000, 200_000] {
        costs.push((n, check(n)));
    }
    // What opening reads does not grow with n: apart from the central
    // directory (56 bytes a page, a page every 4,096 records), it reads
    // the same four ranges of the same sizes, but for the digits of the
    // counts in public.json and the head.
    let first = &costs[0].1;
    for (n, c) in &costs[1..] {
        let (o, cd) = (c.open, c.cd);
        assert_eq!(o.reads, first.open.reads);
        let (rest, first_rest) = (o.bytes - cd, first.open.bytes - first.cd);
        assert!(
            rest <= first_rest + 16,
            "open of {n} records reads {rest} bytes besides the central directory, of 1 record {first_rest}"
        );
        // The central directory: about 56 bytes an entry, and the entries
        // beyond the first archive's are pages and their parity.
        let pages = (*n as u64).div_ceil(4096);
        assert!(
            cd <= first.cd + 2 * pages * (46 + 12) + 64,
            "central directory of {cd} bytes for {n} records"
        );
    }
    // The sampled audit's rows (§31): for the same N, what it reads of the
    // entry table and its tree grows by at most two values a row each
    // time the table doubles (a level of the tree), not with the table:
    // from 5,000 to 200,000 records the table grows about fivefold, the
    // bytes a row by a bounded additive amount.
    let per_row = |c: &Costs| c.sample_table as f64 / c.sample_rows as f64;
    let (small, large) = (&costs[1].1, &costs[3].1);
    assert!(
        large.table >= 4 * small.table,
        "{} {}",
        large.table,
        small.table
    );
    assert!(large.levels > small.levels);
    assert!(
        per_row(large)
            <= per_row(small) + (2 * CHUNK_1K + 64 * (large.levels - small.levels)) as f64,
        "bytes a row: {} at 5,000 records, {} at 200,000",
        per_row(small),
        per_row(large)
    );
    for (n, c) in &costs {
        assert!(
            c.sample_table <= c.sample_rows * 2 * (CHUNK_1K + 32 * c.levels),
            "{n} records: {} bytes for {} rows, {} levels",
            c.sample_table,
            c.sample_rows,
            c.levels
        );
    }
}

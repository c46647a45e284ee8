//! The three verification levels: fixity (no key), content (with a key),
//! and render (with a key; comes with the decoders).

use std::collections::HashMap;

use legation_format::container;
use legation_format::manifest::{DecoderLimits, DecoderRef};
use serde::{Deserialize, Serialize};

use crate::archive::Signer;
use crate::{Archive, Error, ErrorKind, Result, Unlocked};

/// How deep a verification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Without a key: container structure, every entry's BLAKE3, signature.
    Fixity,
    /// With a key: also every chunk's tag, padding, plaintext size and hash.
    Content,
    /// With a key: also every decoder's output against the render hash
    /// recorded when the archive was packed.
    Render,
}

impl Level {
    /// The level's name as commands, reports and the viewer write it:
    /// `fixity`, `content` or `render` (as in JSON reports too).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Fixity => "fixity",
            Level::Content => "content",
            Level::Render => "render",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = UnknownLevel;

    /// The level named `s`, as [`Level::as_str`] writes it.
    fn from_str(s: &str) -> std::result::Result<Self, UnknownLevel> {
        [Level::Fixity, Level::Content, Level::Render]
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

/// A name that is not a verification level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown verification level {0:?} (fixity, content or render)")]
pub struct UnknownLevel(pub String);

/// One problem found, naming the entry or record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    /// The level that found it.
    pub level: Level,
    /// The entry name (fixity) or record path (content).
    pub subject: String,
    /// What is wrong.
    pub message: String,
    /// Its class.
    pub kind: ErrorKind,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The deepest level run.
    pub level: Level,
    /// Fingerprint of the signer, if the signature verified.
    pub signer: Option<String>,
    /// Whether the signer was pinned by the caller.
    pub pinned: bool,
    /// Entries whose bytes were hashed.
    pub entries_checked: u64,
    /// Records whose content was checked.
    pub records_checked: u64,
    /// Bytes of the archive hashed by the fixity pass.
    pub bytes_checked: u64,
    /// Bytes of records decrypted and hashed by the content pass.
    pub record_bytes_checked: u64,
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
    /// Records whose views were re-rendered and matched.
    #[serde(default)]
    pub records_rendered: u64,
    /// Records packed without a view, with the packer's reason.
    #[serde(default)]
    pub not_rendered: Vec<(String, String)>,
    /// Whether the caller cancelled before the end.
    pub cancelled: bool,
    /// For a sampled fixity audit, what was sampled; `None` when every
    /// entry was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
}

/// A fixity audit of a random sample of entries, and what it can tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Entries in the archive.
    pub entries_total: u64,
    /// Entries checked: the manifest, the signature and a uniform random
    /// sample of the others, drawn without replacement.
    pub entries_sampled: u64,
    /// The seed of the draw (so a run can be repeated).
    pub seed: u64,
    /// The chance that one damaged entry is among those checked.
    pub p_detect_one: f64,
    /// The fewest damaged entries that this sample finds with a chance of
    /// at least 95 % (the whole archive's entry count when no number of
    /// entries short of all reaches 95 %). For a 2.0 archive, pieces.
    pub detects_95: u64,
    /// For a 2.0 archive, the bytes of a piece (65536): entries are drawn
    /// from by pieces (SPEC 2.0 §30.3), and `p_detect_one` and
    /// `detects_95` count pieces; 0 for 1.x, which draws whole entries.
    #[serde(default)]
    pub piece_size: u64,
    /// Pieces the draw was made from (2.0).
    #[serde(default)]
    pub pieces_total: u64,
    /// Pieces drawn and checked (2.0).
    #[serde(default)]
    pub pieces_sampled: u64,
}

impl Sample {
    /// The odds of a sample of `n` of `total` entries (drawn uniformly,
    /// without replacement) for `seed`.
    pub fn odds(total: u64, n: u64, seed: u64) -> Sample {
        let n = n.min(total);
        // P(no damaged entry drawn | d damaged) = prod_{i<n} (total-d-i)/(total-i).
        let miss = |d: u64| -> f64 {
            if d + n > total {
                return 0.0;
            }
            (0..n)
                .map(|i| (total - d - i) as f64 / (total - i) as f64)
                .product()
        };
        let mut detects_95 = total;
        // miss(d) falls as d grows: a binary search for the first d with
        // miss(d) <= 5 %.
        let (mut lo, mut hi) = (1u64, total.max(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if miss(mid) <= 0.05 {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if total > 0 && miss(lo) <= 0.05 {
            detects_95 = lo;
        }
        Sample {
            entries_total: total,
            entries_sampled: n,
            seed,
            p_detect_one: if total == 0 {
                1.0
            } else {
                n as f64 / total as f64
            },
            detects_95,
            piece_size: 0,
            pieces_total: 0,
            pieces_sampled: 0,
        }
    }
}

impl Report {
    /// Whether nothing is wrong (and the check ran to the end).
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && !self.cancelled
    }
    /// The most serious class among the problems (forgery before damage).
    pub fn worst(&self) -> Option<ErrorKind> {
        let rank = |k: ErrorKind| match k {
            ErrorKind::Forged => 0,
            ErrorKind::Damaged => 1,
            _ => 2,
        };
        self.problems
            .iter()
            .map(|p| p.kind)
            .min_by_key(|&k| rank(k))
    }
}

/// Progress: bytes done, bytes in all; return `false` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Bytes mapped or read per block during the fixity pass.
const BLOCK: usize = 32 << 20;
/// Slices at least this long are hashed on all cores.
#[cfg(not(target_arch = "wasm32"))]
const PARALLEL_HASH: usize = 1 << 20;

impl Archive {
    /// The keyless fixity audit: signature (pinned or not), then every
    /// entry's local header and BLAKE3, in one sequential pass over the
    /// file. Problems are collected per entry; the pass goes on after one.
    pub fn verify_fixity(&self, pinned: Option<&[u8; 32]>, progress: Progress<'_>) -> Report {
        let mut report = self.fixity_of(pinned, None, progress);
        if !report.cancelled {
            // 2.0: every outboard value against its entry's BLAKE3.
            crate::v2::sample::check_outboard(self, &mut report);
        }
        report
    }

    /// The keyless fixity audit of a random sample: the signature, the
    /// manifest and `n` of the other entries, drawn uniformly without
    /// replacement with a generator seeded by `seed` (take it from the
    /// operating system: a host that can guess the draw can keep only the
    /// entries it will be asked for). The report's `sample` says what the
    /// sample can find. A 2.0 archive is drawn from by 64 KiB pieces,
    /// each checked against the `outboard` entry's values, so a sample
    /// reads a bounded number of bytes a piece whatever the entries' sizes.
    pub fn verify_fixity_sample(
        &self,
        pinned: Option<&[u8; 32]>,
        n: u64,
        seed: u64,
        progress: Progress<'_>,
    ) -> Report {
        if self.v2().is_some() {
            return crate::v2::sample::sample(self, pinned, n, seed, progress);
        }
        let count = self.entries().len();
        // Always checked: the manifest, then the signature.
        let fixed = self.manifest().entries.len();
        let mut others: Vec<usize> = (0..fixed.min(count)).collect();
        // A partial Fisher-Yates shuffle with SplitMix64.
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let take = (n as usize).min(others.len());
        for i in 0..take {
            let j = i + (next() % (others.len() - i) as u64) as usize;
            others.swap(i, j);
        }
        let mut chosen: Vec<usize> = others[..take].to_vec();
        chosen.extend(fixed..count);
        chosen.sort_unstable();
        let mut report = self.fixity_of(pinned, Some(&chosen), progress);
        let mut sample = Sample::odds(fixed as u64, take as u64, seed);
        // The manifest and signature are always checked.
        sample.entries_total = count as u64;
        sample.entries_sampled = chosen.len() as u64;
        report.sample = Some(sample);
        report
    }

    /// The fixity pass over every entry, or over `only` (sorted indices).
    pub(crate) fn fixity_of(
        &self,
        pinned: Option<&[u8; 32]>,
        only: Option<&[usize]>,
        progress: Progress<'_>,
    ) -> Report {
        let mut report = Report {
            level: Level::Fixity,
            signer: None,
            pinned: pinned.is_some(),
            entries_checked: 0,
            records_checked: 0,
            bytes_checked: 0,
            record_bytes_checked: 0,
            problems: Vec::new(),
            records_rendered: 0,
            not_rendered: Vec::new(),
            cancelled: false,
            sample: None,
        };
        match self.check_signature(pinned) {
            Ok(Signer::Valid { fingerprint, .. }) => report.signer = Some(fingerprint),
            Ok(Signer::Unsigned) => {}
            Err(e) => {
                let subject = match self.v2() {
                    Some(_) => legation_format::v2::SIGNATURES_ENTRY,
                    None => legation_format::SIGNATURE_ENTRY,
                };
                report.problems.push(problem(Level::Fixity, subject, &e))
            }
        }
        // 2.0: the entry table pins every entry before it; read (and
        // checked against the head and the container) once, before the
        // pass, unless the pass covers none of them (the sampled audit's
        // last three: it checks the rows it draws by their paths).
        let n = self.entries().len();
        let table = self
            .v2()
            .filter(|_| only.is_none_or(|o| o.iter().any(|&i| i + 4 < n)))
            .map(|v| v.table(self.source(), self.entries()));
        if let Some(Err(e)) = &table {
            let subject = match e {
                Error::ManifestMismatch { entry, .. } | Error::EntryHash { entry, .. } => {
                    entry.as_str()
                }
                _ => legation_format::v2::ENTRIES_ENTRY,
            };
            report.problems.push(problem(Level::Fixity, subject, e));
        }
        let expected = |i: usize| -> Option<([u8; 32], crate::Pin)> {
            match (self.v2(), &table) {
                (Some(v), Some(t)) => {
                    v.expected_hash(t.as_deref().unwrap_or(&[]), self.entries(), i)
                }
                (Some(v), None) => v.expected_hash(&[], self.entries(), i),
                _ => self.expected_hash(i).map(|h| (h, crate::Pin::Manifest)),
            }
        };
        let entries = self.entries();
        let all: Vec<usize>;
        let order = match only {
            Some(o) => o,
            None => {
                all = (0..entries.len()).collect();
                &all
            }
        };
        let direct = |at: u64, len: usize| -> std::io::Result<Block> {
            if let Some(m) = self.source().map(at, len) {
                return m.map(Block::Mapped);
            }
            let mut b = vec![0; len];
            self.source().read_exact_at(at, &mut b)?;
            Ok(Block::Read(b))
        };
        #[cfg(not(target_arch = "wasm32"))]
        if self.source().map(0, 1).is_none() {
            // A source that cannot be mapped (a remote object): several
            // blocks in flight at once hide each request's latency.
            let plan = plan_blocks(entries, order);
            return std::thread::scope(|scope| {
                let ahead = Ahead::start(scope, self.source(), plan);
                let r = self.fixity_pass(report, order, &expected, progress, &mut |at, len| {
                    ahead.take(at, len)
                });
                ahead.stop();
                r
            });
        }
        self.fixity_pass(report, order, &expected, progress, &mut |at, len| {
            direct(at, len)
        })
    }

    /// The pass of [`Archive::fixity_of`] over the entries of `order`,
    /// reading blocks through `fetch`; `expected(i)` is the BLAKE3 entry
    /// `i` must have, if any.
    fn fixity_pass(
        &self,
        mut report: Report,
        order: &[usize],
        expected: &dyn Fn(usize) -> Option<([u8; 32], crate::Pin)>,
        progress: Progress<'_>,
        fetch: &mut dyn FnMut(u64, usize) -> std::io::Result<Block>,
    ) -> Report {
        let entries = self.entries();
        let total: u64 = order
            .iter()
            .map(|&i| entries[i].end() - entries[i].offset)
            .sum();
        let mut done = 0u64;
        // Decoder modules are checked against their `decoders` item as
        // their bytes go by (SPEC §16.2 step 4, §30.3 step 5).
        let items: HashMap<&str, &DecoderRef> = self
            .manifest()
            .decoders
            .iter()
            .map(|d| (d.entry.as_str(), d))
            .collect();
        let mut buffer = Vec::new();
        let mut mapped: Option<crate::source::Mapped> = None;
        let mut block_at = 0u64; // file offset of the block's first byte
        let mut block_len = 0usize;
        for (k, &i) in order.iter().enumerate() {
            let e = &entries[i];
            let expected = expected(i);
            let mut hasher = blake3::Hasher::new();
            let mut header = Vec::with_capacity(container::local_header_len(&e.name, e.size));
            let mut at = e.offset;
            let mut failed = None;
            let item = items.get(e.name.as_str()).copied();
            let mut sections = item.map(|_| Sections::default());
            while at < e.end() {
                if at < block_at || at >= block_at + block_len as u64 {
                    block_at = at;
                    block_len = block_len_from(entries, order, k, at);
                    mapped = None;
                    match fetch(at, block_len) {
                        Ok(Block::Mapped(m)) => mapped = Some(m),
                        Ok(Block::Read(b)) => buffer = b,
                        Err(err) => {
                            failed = Some(self.read_error(err, &e.name));
                            break;
                        }
                    }
                    report.bytes_checked += block_len as u64;
                    done += block_len as u64;
                    if !progress(done, total) {
                        report.cancelled = true;
                        return report;
                    }
                }
                let from = (at - block_at) as usize;
                let to = (e.end().min(block_at + block_len as u64) - block_at) as usize;
                let block: &[u8] = match &mapped {
                    Some(m) => (**m).as_ref(),
                    None => &buffer,
                };
                let slice = &block[from..to];
                // The first bytes of an entry are its local header.
                let header_left = (e.data_offset().saturating_sub(at) as usize).min(slice.len());
                header.extend_from_slice(&slice[..header_left]);
                hash(&mut hasher, &slice[header_left..]);
                if let Some(sc) = &mut sections {
                    sc.feed(&slice[header_left..]);
                }
                at += slice.len() as u64;
            }
            report.entries_checked += 1;
            if let Some(err) = failed {
                report.problems.push(problem(Level::Fixity, &e.name, &err));
                return report;
            }
            if let Err(err) = container::check_local_header(e, &header) {
                report
                    .problems
                    .push(problem(Level::Fixity, &e.name, &err.into()));
            }
            let hash_ok = expected.is_none_or(|(h, _)| hasher.finalize().as_bytes() == &h);
            if let (false, Some((_, pinned_by))) = (hash_ok, expected) {
                report.problems.push(problem(
                    Level::Fixity,
                    &e.name,
                    &Error::EntryHash {
                        entry: e.name.clone(),
                        pinned_by,
                    },
                ));
            }
            // A module whose bytes are not the listed ones is reported
            // damaged above; its sections say nothing more.
            if let (Some(item), Some(sc), true) = (item, sections, hash_ok) {
                if let Err(what) = sc.agrees_with(item) {
                    report.problems.push(problem(
                        Level::Fixity,
                        &e.name,
                        &Error::ManifestMismatch {
                            entry: e.name.clone(),
                            what,
                        },
                    ));
                }
            }
        }
        report
    }

    /// The manifest's hash for entry `i`; for the manifest itself, the
    /// hash of the bytes opening took (which differ from the stored ones
    /// only when those were damaged and put right from their recovery
    /// data); none for the signature, which its own check covers.
    fn expected_hash(&self, i: usize) -> Option<[u8; 32]> {
        match self.manifest().entries.get(i) {
            Some(m) => Some(m.blake3),
            None if i == self.manifest().entries.len() => {
                Some(*blake3::hash(self.manifest_bytes()).as_bytes())
            }
            None => None,
        }
    }
}

/// The most bytes of a `legation.decoder` section kept (its JSON is a
/// few hundred bytes; the section is refused above this).
const MAX_DESCRIPTION: usize = 64 << 10;

/// What [`Sections`] is reading next in a module's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The 8 bytes of magic and version; how many are read.
    Preamble(u8),
    /// A section's id byte.
    Id,
    /// A section's size (LEB128 u32): value so far, bits read, whether
    /// the section is custom.
    Size(u32, u32, bool),
    /// A custom section's name length: value so far, bits read, section
    /// bytes left.
    NameLen(u32, u32, u32),
    /// A custom section's name: name bytes left, section bytes left.
    Name(u32, u32),
    /// The rest of a section: bytes left, what it is.
    Payload(u32, Custom),
    /// Malformed; the reason is kept in `error`.
    Failed,
}

/// Which custom section a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Custom {
    Decoder,
    Meter,
    Other,
}

/// A streaming reader of a WebAssembly module's top-level sections that
/// keeps only its `legation.decoder` and `legation.meter` custom sections
/// (SPEC §12.5, §13.2), in constant memory, whatever the module's size.
/// It reads the sections' framing only: whether the module is valid is the
/// render level's question.
#[derive(Debug)]
struct Sections {
    scan: Scan,
    preamble: [u8; 8],
    name: Vec<u8>,
    decoder: Option<Vec<u8>>,
    meter: Option<Vec<u8>>,
    error: Option<String>,
}

impl Default for Sections {
    fn default() -> Self {
        Sections {
            scan: Scan::Preamble(0),
            preamble: [0; 8],
            name: Vec::new(),
            decoder: None,
            meter: None,
            error: None,
        }
    }
}

/// One more byte `b` of a LEB128 u32 (value so far, bits read): the new
/// value and bits, and whether the number is complete.
fn leb_step(value: u32, bits: u32, b: u8) -> std::result::Result<(u32, u32, bool), String> {
    let low = u32::from(b & 0x7f);
    if bits == 28 && (b & 0x80 != 0 || low > 0x0f) {
        return Err("a section size or name length is not a LEB128 u32".into());
    }
    Ok((value | low << bits, bits + 7, b & 0x80 == 0))
}

impl Sections {
    fn fail(&mut self, what: impl Into<String>) {
        self.error.get_or_insert(what.into());
        self.scan = Scan::Failed;
    }

    /// Takes the next bytes of the module.
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.scan {
                Scan::Failed => return,
                Scan::Preamble(n) => {
                    self.preamble[n as usize] = data[0];
                    data = &data[1..];
                    self.scan = if n == 7 {
                        if &self.preamble != b"\0asm\x01\0\0\0" {
                            self.fail("not a WebAssembly 1 module");
                            return;
                        }
                        Scan::Id
                    } else {
                        Scan::Preamble(n + 1)
                    };
                }
                Scan::Id => {
                    self.scan = Scan::Size(0, 0, data[0] == 0);
                    data = &data[1..];
                }
                Scan::Size(v, bits, custom) => {
                    let step = leb_step(v, bits, data[0]);
                    data = &data[1..];
                    match step {
                        Err(e) => self.fail(e),
                        Ok((size, _, true)) if custom => self.scan = Scan::NameLen(0, 0, size),
                        Ok((size, _, true)) => self.scan = Scan::Payload(size, Custom::Other),
                        Ok((v, bits, false)) => self.scan = Scan::Size(v, bits, custom),
                    }
                }
                Scan::NameLen(v, bits, left) => {
                    if left == 0 {
                        self.fail("a custom section ends inside its name");
                        return;
                    }
                    let step = leb_step(v, bits, data[0]);
                    data = &data[1..];
                    match step {
                        Err(e) => self.fail(e),
                        Ok((len, _, true)) if len > left - 1 => {
                            self.fail("a custom section's name is longer than the section")
                        }
                        Ok((len, _, true)) => {
                            self.name.clear();
                            self.scan = Scan::Name(len, left - 1);
                        }
                        Ok((v, bits, false)) => self.scan = Scan::NameLen(v, bits, left - 1),
                    }
                }
                Scan::Name(0, left) => {
                    let kind = match self.name.as_slice() {
                        b"legation.decoder" => Custom::Decoder,
                        b"legation.meter" => Custom::Meter,
                        _ => Custom::Other,
                    };
                    let slot = match kind {
                        Custom::Decoder => Some(&mut self.decoder),
                        Custom::Meter => Some(&mut self.meter),
                        Custom::Other => None,
                    };
                    if let Some(slot) = slot {
                        if slot.is_some() {
                            let name = String::from_utf8_lossy(&self.name).into_owned();
                            self.fail(format!("has more than one {name} section"));
                            return;
                        }
                        *slot = Some(Vec::new());
                    }
                    self.scan = Scan::Payload(left, kind);
                }
                Scan::Name(n, left) => {
                    let take = data.len().min(n as usize);
                    // Only names up to 16 bytes can be ours; keep no more.
                    let keep = take.min(17usize.saturating_sub(self.name.len()));
                    self.name.extend_from_slice(&data[..keep]);
                    data = &data[take..];
                    self.scan = Scan::Name(n - take as u32, left - take as u32);
                }
                Scan::Payload(0, _) => self.scan = Scan::Id,
                Scan::Payload(left, kind) => {
                    let take = data.len().min(left as usize);
                    let (kept, cap) = match kind {
                        Custom::Decoder => (&mut self.decoder, MAX_DESCRIPTION),
                        Custom::Meter => (&mut self.meter, 16),
                        Custom::Other => (&mut None, 0),
                    };
                    if let Some(k) = kept {
                        if k.len() + take > cap {
                            let name = match kind {
                                Custom::Decoder => "legation.decoder",
                                _ => "legation.meter",
                            };
                            self.fail(format!("its {name} section is over {cap} bytes"));
                            return;
                        }
                        k.extend_from_slice(&data[..take]);
                    }
                    data = &data[take..];
                    self.scan = Scan::Payload(left - take as u32, kind);
                }
            }
        }
    }

    /// Whether the sections read give `item`'s name, version, ABI, media
    /// types and limits; what differs if not.
    fn agrees_with(self, item: &DecoderRef) -> std::result::Result<(), String> {
        if let Some(e) = self.error {
            return Err(format!("its sections cannot be read: {e}"));
        }
        match self.scan {
            Scan::Id => {}
            Scan::Payload(0, _) => {}
            _ => return Err("its sections cannot be read: the module ends inside one".into()),
        }
        let section = self
            .decoder
            .ok_or("has no legation.decoder section, but the decoders list describes it")?;
        let info: crate::decode::DecoderInfo = serde_json::from_slice(&section)
            .map_err(|e| format!("its legation.decoder section does not parse: {e}"))?;
        let differs = |what: &str, module: &dyn std::fmt::Debug, listed: &dyn std::fmt::Debug| {
            Err(format!(
                "its legation.decoder section gives {what} {module:?}, the decoders list {listed:?}"
            ))
        };
        if info.name != item.name {
            return differs("name", &info.name, &item.name);
        }
        if info.version != item.version {
            return differs("version", &info.version, &item.version);
        }
        if info.abi != item.abi {
            return differs("ABI", &info.abi, &item.abi);
        }
        if info.media_types != item.media_types {
            return differs("media types", &info.media_types, &item.media_types);
        }
        let meter = self
            .meter
            .ok_or("has no legation.meter section, but the decoders list gives its limits")?;
        let Ok(m) = <[u8; 16]>::try_from(meter.as_slice()) else {
            return Err(format!(
                "its legation.meter section is {} bytes, not 16",
                meter.len()
            ));
        };
        let limits = DecoderLimits {
            fuel: u64::from_le_bytes(m[..8].try_into().expect("8 bytes")),
            max_depth: u32::from_le_bytes(m[8..12].try_into().expect("4 bytes")),
            max_memory_pages: u32::from_le_bytes(m[12..].try_into().expect("4 bytes")),
        };
        if limits != item.limits {
            return Err(format!(
                "its legation.meter section gives fuel {}, depth {}, memory pages {}; the \
                 decoders list fuel {}, depth {}, memory pages {}",
                limits.fuel,
                limits.max_depth,
                limits.max_memory_pages,
                item.limits.fuel,
                item.limits.max_depth,
                item.limits.max_memory_pages
            ));
        }
        Ok(())
    }
}

/// A block of the file, mapped or read.
enum Block {
    Mapped(crate::source::Mapped),
    Read(Vec<u8>),
}

impl Archive {
    fn read_error(&self, e: std::io::Error, what: &str) -> Error {
        Error::Source {
            what: what.into(),
            source_name: self.source().name().into(),
            source: e,
        }
    }
}

/// How long a block starting at `at`, inside entry `order[k]`, may be:
/// to the end of the run of entries to check that lie next to each other
/// (all of them, in a full audit), at most [`BLOCK`]. The walk stops as
/// soon as the run reaches [`BLOCK`], so a pass costs one step an entry
/// and one a block, whatever the number of entries.
fn block_len_from(entries: &[container::Entry], order: &[usize], k: usize, at: u64) -> usize {
    let limit = at.saturating_add(BLOCK as u64);
    let mut end = entries[order[k]].end();
    for w in order[k..].windows(2) {
        if end >= limit || w[1] != w[0] + 1 {
            break;
        }
        end = entries[w[1]].end();
    }
    (end.min(limit) - at) as usize
}

/// The blocks the fixity pass reads for `order`, in order: each starts
/// where the previous one left the entries being checked and runs to the
/// end of their run of neighbours, at most [`BLOCK`] long.
#[cfg(not(target_arch = "wasm32"))]
fn plan_blocks(entries: &[container::Entry], order: &[usize]) -> Vec<(u64, usize)> {
    let mut plan = Vec::new();
    let (mut block_at, mut block_len) = (0u64, 0usize);
    for (k, &i) in order.iter().enumerate() {
        let e = &entries[i];
        let mut at = e.offset;
        while at < e.end() {
            if at < block_at || at >= block_at + block_len as u64 {
                block_at = at;
                block_len = block_len_from(entries, order, k, at);
                plan.push((block_at, block_len));
            }
            at = e.end().min(block_at + block_len as u64);
        }
    }
    plan
}

/// Blocks in flight at once from a source that cannot be mapped.
#[cfg(not(target_arch = "wasm32"))]
const AHEAD: usize = 4;

/// Reads the planned blocks on [`AHEAD`] threads, at most [`AHEAD`] blocks
/// ahead of the one being hashed, and hands them over in order.
#[cfg(not(target_arch = "wasm32"))]
struct Ahead {
    plan: Vec<(u64, usize)>,
    state: std::sync::Mutex<AheadState>,
    changed: std::sync::Condvar,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Default)]
struct AheadState {
    /// The next block to start reading.
    next: usize,
    /// The next block to hand over.
    taken: usize,
    done: std::collections::HashMap<usize, std::io::Result<Vec<u8>>>,
    stop: bool,
}

#[cfg(not(target_arch = "wasm32"))]
impl Ahead {
    fn start<'s, 'a: 's>(
        scope: &'s std::thread::Scope<'s, '_>,
        source: &'a dyn crate::source::ReadAt,
        plan: Vec<(u64, usize)>,
    ) -> std::sync::Arc<Ahead> {
        let ahead = std::sync::Arc::new(Ahead {
            plan,
            state: Default::default(),
            changed: Default::default(),
        });
        for _ in 0..AHEAD.min(ahead.plan.len()) {
            let a = ahead.clone();
            scope.spawn(move || loop {
                let i = {
                    let mut st = a.state.lock().unwrap_or_else(|e| e.into_inner());
                    while !st.stop && st.next < a.plan.len() && st.next >= st.taken + AHEAD {
                        st = a.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                    }
                    if st.stop || st.next >= a.plan.len() {
                        return;
                    }
                    st.next += 1;
                    st.next - 1
                };
                let (at, len) = a.plan[i];
                let mut b = vec![0; len];
                let r = source.read_exact_at(at, &mut b).map(|()| b);
                let mut st = a.state.lock().unwrap_or_else(|e| e.into_inner());
                st.done.insert(i, r);
                a.changed.notify_all();
            });
        }
        ahead
    }

    /// The block at `at` of `len` bytes, which must be the next planned.
    fn take(&self, at: u64, len: usize) -> std::io::Result<Block> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let i = st.taken;
        if self.plan.get(i) != Some(&(at, len)) {
            return Err(std::io::Error::other("fixity pass: read out of plan"));
        }
        loop {
            if let Some(r) = st.done.remove(&i) {
                st.taken += 1;
                self.changed.notify_all();
                return r.map(Block::Read);
            }
            st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Lets the reading threads end (the pass ended or was cancelled).
    fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.changed.notify_all();
    }
}

fn hash(h: &mut blake3::Hasher, data: &[u8]) {
    #[cfg(not(target_arch = "wasm32"))]
    if data.len() >= PARALLEL_HASH {
        h.update_rayon(data);
        return;
    }
    h.update(data);
}

fn problem(level: Level, subject: &str, e: &Error) -> Problem {
    Problem {
        level,
        subject: subject.to_owned(),
        message: e.to_string(),
        kind: e.kind(),
    }
}

impl Unlocked {
    /// The content check: fixity first, then every catalog page, and every
    /// record's chunks, padding, size and BLAKE3; every record entry must
    /// be referenced by exactly one record.
    pub fn verify_content(&self, pinned: Option<&[u8; 32]>, progress: Progress<'_>) -> Report {
        if let Some(catalog) = self.v2() {
            return crate::v2::verify::content(self, catalog, pinned, progress);
        }
        let archive = self.archive();
        let total_fixity = archive.len();
        let total_records: u64 = archive
            .manifest()
            .entries
            .iter()
            .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX))
            .map(|e| e.size)
            .sum();
        let all = total_fixity + total_records;
        let mut report = archive.verify_fixity(pinned, &mut |done, _| progress(done, all));
        if report.cancelled {
            return report;
        }
        report.level = Level::Content;
        let mut unreferenced: HashMap<&str, bool> = archive
            .entries()
            .iter()
            .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX))
            .map(|e| (e.name.as_str(), false))
            .collect();
        let mut done = total_fixity;
        let mut unreadable_pages = false;
        for n in 0..self.index().pages.len() {
            let page = match self.page(n) {
                Ok(p) => p,
                Err(e) => {
                    report
                        .problems
                        .push(problem(Level::Content, &self.index().pages[n].entry, &e));
                    unreadable_pages = true;
                    continue;
                }
            };
            for rec in &page.records {
                match unreferenced.get_mut(rec.entry.as_str()) {
                    Some(seen @ false) => *seen = true,
                    Some(true) => {
                        report.problems.push(Problem {
                            level: Level::Content,
                            subject: rec.path.clone(),
                            message: format!(
                                "{}: entry {} is already used by another record",
                                rec.path, rec.entry
                            ),
                            kind: ErrorKind::Damaged,
                        });
                        continue;
                    }
                    None => {
                        report.problems.push(problem(
                            Level::Content,
                            &rec.path,
                            &Error::MissingEntry {
                                entry: rec.entry.clone(),
                            },
                        ));
                        continue;
                    }
                }
                if let Some(dec) = &rec.decoder {
                    if !self
                        .archive()
                        .manifest()
                        .decoders
                        .iter()
                        .any(|d| &d.entry == dec)
                    {
                        report.problems.push(problem(
                            Level::Content,
                            &rec.path,
                            &Error::MissingEntry {
                                entry: format!("{dec} (the record's decoder, not in the manifest)"),
                            },
                        ));
                    }
                }
                let base = done;
                let mut cancelled = false;
                let r = self.copy_record(rec, &mut std::io::sink(), &mut |bytes| {
                    if !progress(base + bytes, all) {
                        cancelled = true;
                    }
                });
                if cancelled {
                    report.cancelled = true;
                    return report;
                }
                if let Err(e) = r {
                    report.problems.push(problem(Level::Content, &rec.path, &e));
                }
                done += archive.entry(&rec.entry).map_or(0, |e| e.size);
                report.records_checked += 1;
                report.record_bytes_checked += rec.size;
            }
        }
        // With a page unreadable, its records' entries would all look
        // unreferenced: report only what is certain.
        let mut orphans: Vec<_> = unreferenced
            .into_iter()
            .filter(|(_, seen)| !seen && !unreadable_pages)
            .map(|(n, _)| n)
            .collect();
        orphans.sort_unstable();
        for name in orphans {
            report.problems.push(Problem {
                level: Level::Content,
                subject: name.to_owned(),
                message: format!("{name}: record entry that no catalog record refers to"),
                kind: ErrorKind::Damaged,
            });
        }
        report
    }
}

impl Unlocked {
    /// The render check: content first, then every record that has a
    /// recorded view is decoded again with the archive's own decoder and
    /// its render hash compared with the catalog's.
    pub fn verify_render(
        &self,
        host: &crate::decode::Host,
        pinned: Option<&[u8; 32]>,
        progress: Progress<'_>,
    ) -> Report {
        let mut report = self.verify_content(pinned, &mut |d, t| progress(d, t * 2));
        if report.cancelled {
            return report;
        }
        report.level = Level::Render;
        let total: u64 = self.index().records;
        let mut done = 0u64;
        let base = self.archive().len();
        for n in 0..self.index().pages.len() {
            let Ok(page) = self.page(n) else { continue }; // reported by the content pass
                                                           // Each record renders on its own: two at a time.
            let half = page.records.len().div_ceil(2);
            let (a, b) = page.records.split_at(half);
            let check = |recs: &[legation_format::catalog::CatalogRecord]| {
                recs.iter()
                    .map(|rec| self.check_view(host, rec))
                    .collect::<Vec<_>>()
            };
            let (ra, rb) = legation_format::writer::join(|| check(a), || check(b));
            for (rec, outcome) in page.records.iter().zip(ra.into_iter().chain(rb)) {
                match outcome {
                    ViewCheck::Matches => report.records_rendered += 1,
                    ViewCheck::NotRecorded => {}
                    ViewCheck::NotRendered(reason) => {
                        report.not_rendered.push((rec.path.clone(), reason))
                    }
                    ViewCheck::Problem(message, kind) => report.problems.push(Problem {
                        level: Level::Render,
                        subject: rec.path.clone(),
                        message,
                        kind,
                    }),
                }
            }
            done += page.records.len() as u64;
            if !progress(base + base * done / total.max(1), base * 2) {
                report.cancelled = true;
                return report;
            }
        }
        report
    }
}

/// What re-rendering one record showed.
enum ViewCheck {
    Matches,
    NotRecorded,
    NotRendered(String),
    Problem(String, ErrorKind),
}

impl Unlocked {
    fn check_view(
        &self,
        host: &crate::decode::Host,
        rec: &legation_format::catalog::CatalogRecord,
    ) -> ViewCheck {
        use legation_format::catalog::Render;
        let (blake3, pages) = match &rec.render {
            None | Some(Render::Unknown) => return ViewCheck::NotRecorded,
            Some(Render::NotRendered { reason }) => return ViewCheck::NotRendered(reason.clone()),
            Some(Render::Rendered { blake3, pages }) => (blake3, pages),
        };
        match self.render_record(host, rec) {
            Ok(r) if &r.hash() == blake3 && r.pages == *pages => ViewCheck::Matches,
            Ok(_) => ViewCheck::Problem(
                format!(
                    "{}: the decoder's view differs from the one recorded at packing",
                    rec.path
                ),
                ErrorKind::Damaged,
            ),
            // The watchdog is a backstop, not a limit of the format: its
            // firing proves nothing either way; nor does this machine's
            // failure to run the decoder at all (an address-space limit).
            Err(
                e @ crate::decode::RenderError::Decode(
                    crate::decode::DecodeError::Timeout { .. }
                    | crate::decode::DecodeError::Host { .. },
                ),
            ) => ViewCheck::Problem(format!("{}: {e}", rec.path), ErrorKind::Io),
            Err(e) => ViewCheck::Problem(format!("{}: {e}", rec.path), ErrorKind::Damaged),
        }
    }
}

/// Opens and fully checks; a convenience returning the first problem as an
/// error.
pub fn check(report: &Report) -> Result<()> {
    match report.problems.first() {
        None => Ok(()),
        Some(p) => Err(Error::ManifestMismatch {
            entry: p.subject.clone(),
            what: p.message.clone(),
        }),
    }
}

#[cfg(test)]
mod sample_tests {
    use super::Sample;

    #[test]
    fn odds_of_a_sample() {
        // All drawn: any damage is found.
        let s = Sample::odds(100, 100, 7);
        assert_eq!((s.p_detect_one, s.detects_95), (1.0, 1));
        // None drawn: nothing short of everything is found.
        assert_eq!(Sample::odds(100, 0, 7).detects_95, 100);
        // 1 of 10 drawn: one damaged entry is found 10 % of the time; 9
        // damaged entries leave one clean entry, drawn 10 % of the time,
        // so 90 %; 10 damaged are found for certain.
        let s = Sample::odds(10, 1, 7);
        assert!((s.p_detect_one - 0.1).abs() < 1e-12);
        assert_eq!(s.detects_95, 10);
        // 50 of 1000: miss(d) = C(1000-d, 50) / C(1000, 50); 57 damaged
        // entries are the fewest caught 95 % of the time (exactly:
        // miss(56) = 0.0520, miss(57) = 0.0492).
        let s = Sample::odds(1000, 50, 7);
        assert_eq!(s.detects_95, 57);
    }
}

#[cfg(test)]
mod level_tests {
    use super::{Level, UnknownLevel};

    #[test]
    fn a_level_is_named_the_same_everywhere() {
        for level in [Level::Fixity, Level::Content, Level::Render] {
            // Reports in JSON name it as the terminal and the viewer do.
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{level}\""));
            assert_eq!(level.as_str().parse(), Ok(level));
        }
        assert_eq!(Level::Content.to_string(), "content");
        assert_eq!(
            "Fixity".parse::<Level>(),
            Err(UnknownLevel("Fixity".into()))
        );
    }
}

#[cfg(test)]
mod section_tests {
    use super::{DecoderLimits, DecoderRef, Sections};

    fn leb(mut v: u32, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        leb(name.len() as u32, &mut body);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        let mut s = vec![0];
        leb(body.len() as u32, &mut s);
        s.extend(body);
        s
    }

    /// A change to an item.
    type Edit = fn(&mut DecoderRef);

    const DESCRIPTION: &str =
        r#"{"abi":1,"name":"csv","version":"1.0.0","media_types":["text/csv"],"pages":false}"#;

    fn meter() -> Vec<u8> {
        let mut m = 20_000_000_000u64.to_le_bytes().to_vec();
        m.extend(2000u32.to_le_bytes());
        m.extend(16384u32.to_le_bytes());
        m
    }

    /// A module: preamble, a type section, a long-named custom section,
    /// the description, 300 bytes of another section, the meter section.
    fn module(description: &str, meter: &[u8]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 4, 1, 0x60, 0, 0]);
        m.extend(custom("producers-and-a-long-name-of-no-interest", b"xyz"));
        m.extend(custom("legation.decoder", description.as_bytes()));
        m.extend([10, 0xac, 0x02]);
        m.extend([0u8; 300]);
        m.extend(custom("legation.meter", meter));
        m
    }

    fn item() -> DecoderRef {
        DecoderRef {
            entry: "d/0000000000000000.wasm".into(),
            name: "csv".into(),
            version: "1.0.0".into(),
            abi: 1,
            media_types: vec!["text/csv".into()],
            limits: DecoderLimits {
                fuel: 20_000_000_000,
                max_depth: 2000,
                max_memory_pages: 16384,
            },
        }
    }

    /// The verdict on `bytes` fed whole, and fed `step` bytes at a time
    /// (which must agree).
    fn verdict(bytes: &[u8], item: &DecoderRef) -> Result<(), String> {
        let mut whole = Sections::default();
        whole.feed(bytes);
        let whole = whole.agrees_with(item);
        for step in [1, 3, 64] {
            let mut s = Sections::default();
            bytes.chunks(step).for_each(|c| s.feed(c));
            assert_eq!(s.agrees_with(item), whole, "fed {step} bytes at a time");
        }
        whole
    }

    #[test]
    fn a_module_agrees_with_its_item_in_any_pieces() {
        assert_eq!(verdict(&module(DESCRIPTION, &meter()), &item()), Ok(()));
    }

    #[test]
    fn each_difference_is_named() {
        let m = module(DESCRIPTION, &meter());
        let cases: [(Edit, &str); 5] = [
            (|i| i.name = "tsv".into(), "name"),
            (|i| i.version = "1.0.1".into(), "version"),
            (|i| i.abi = 2, "ABI"),
            (|i| i.media_types.push("text/plain".into()), "media types"),
            (|i| i.limits.max_depth = 2001, "depth 2000"),
        ];
        for (edit, says) in cases {
            let mut i = item();
            edit(&mut i);
            let e = verdict(&m, &i).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn missing_doubled_or_malformed_sections_are_refused() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (module(DESCRIPTION, &meter()[..15]), "15 bytes, not 16"),
            (
                module(DESCRIPTION, &[meter(), vec![0]].concat()),
                "over 16 bytes",
            ),
            (module("{\"abi\":1}", &meter()), "does not parse"),
            (
                {
                    let mut m = module(DESCRIPTION, &meter());
                    m.extend(custom("legation.decoder", DESCRIPTION.as_bytes()));
                    m
                },
                "more than one legation.decoder",
            ),
            (
                {
                    let mut m = module(DESCRIPTION, &meter());
                    m.truncate(m.len() - 3);
                    m
                },
                "ends inside",
            ),
            (b"\0asm\x02\0\0\0".to_vec(), "not a WebAssembly 1 module"),
            (
                [
                    b"\0asm\x01\0\0\0".as_slice(),
                    &[1, 0xff, 0xff, 0xff, 0xff, 0x7f],
                ]
                .concat(),
                "LEB128",
            ),
            (
                [b"\0asm\x01\0\0\0".as_slice(), &[0, 2, 5, b'a']].concat(),
                "name is longer",
            ),
            (
                {
                    let mut m = b"\0asm\x01\0\0\0".to_vec();
                    m.extend(custom("legation.meter", &meter()));
                    m
                },
                "no legation.decoder section",
            ),
            (
                {
                    let mut m = b"\0asm\x01\0\0\0".to_vec();
                    m.extend(custom("legation.decoder", DESCRIPTION.as_bytes()));
                    m
                },
                "no legation.meter section",
            ),
        ];
        for (bytes, says) in cases {
            let e = verdict(&bytes, &item()).unwrap_err();
            assert!(e.contains(says), "{says}: {e}");
        }
    }
}

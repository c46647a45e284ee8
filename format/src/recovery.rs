//! Recovery data (SPEC.md §5.5 and §10.8): what lets one damaged byte of
//! the manifest, of a key slot in it, or of the catalog be put right from
//! the archive itself, without another copy and without a key.
//!
//! Both use the same idea: the protected bytes are cut into *members*,
//! each with a hash that says whether it is intact, and members are grouped
//! into *stripes*, each with a parity (the XOR of its members, padded with
//! zeros to the longest). One member lost in a stripe is the parity XOR the
//! others.
//!
//! - The manifest carries its own recovery data as its last member,
//!   `"recovery"`, computed over every byte before it: the members are
//!   blocks of [`BLOCK`] bytes, their hashes and the parities are in the
//!   member. Stripes interleave (block `i` is in stripe `i mod S`), so a
//!   run of damaged bytes up to `S` blocks long is recoverable.
//! - Catalog pages and the index are sealed entries whose BLAKE3 the
//!   manifest pins; groups of [`STRIPE`] consecutive ones have a plain
//!   parity entry `p/` + 8 hex digits. Format 2.0 keeps exactly this
//!   over its pages and `c/index` (SPEC 2.0 §25.1).
//! - Format 2.0's small public entries are covered by a [`TailRecovery`]
//!   entry before `entries` (copies of `public.json`, of the entry
//!   table's other rows and of the head but its `entries` hash), and
//!   `signatures`, which nothing before it can hold, by its CRC-32 and
//!   its own signatures ([`correct_one_byte`]).

use crate::hex;

/// Bytes per block of the manifest's recovery data.
pub const BLOCK: usize = 1024;
/// Members per stripe (the catalog's, and at most the manifest's).
pub const STRIPE: usize = 16;
/// Bytes of each block's hash in the manifest's recovery data.
pub const TAG: usize = 16;
/// Prefix of the catalog's parity entries.
pub const PARITY_PREFIX: &str = "p/";

/// What comes between the protected bytes and the recovery data.
const OPEN: &[u8] = b",\"recovery\":\"";
/// What follows the recovery data: the end of the object and the line feed.
const CLOSE: &[u8] = b"\"}\n";

/// The name of the catalog's parity entry for stripe `s`.
pub fn parity_entry(s: u64) -> String {
    format!("{PARITY_PREFIX}{s:08x}")
}

/// XORs `src` into `acc`, growing `acc` with zeros to `src`'s length.
pub fn xor_into(acc: &mut Vec<u8>, src: &[u8]) {
    if acc.len() < src.len() {
        acc.resize(src.len(), 0);
    }
    for (a, s) in acc.iter_mut().zip(src) {
        *a ^= s;
    }
}

/// The number of stripes of a manifest whose protected part has `blocks`
/// blocks: enough for at most [`STRIPE`] blocks each, and at least 8 (or
/// one per block), so that small manifests survive a run of damage too.
fn stripes(blocks: usize) -> usize {
    blocks.div_ceil(STRIPE).max(blocks.min(8))
}

fn tag(block: &[u8]) -> [u8; TAG] {
    let mut t = [0u8; TAG];
    t.copy_from_slice(&blake3::hash(block).as_bytes()[..TAG]);
    t
}

/// Lengths of the parities of a protected part of `len` bytes.
fn parity_lens(len: usize) -> Vec<usize> {
    let blocks = len.div_ceil(BLOCK);
    let s = stripes(blocks);
    let mut lens = vec![0usize; s];
    for i in 0..blocks {
        let l = BLOCK.min(len - i * BLOCK);
        lens[i % s] = lens[i % s].max(l);
    }
    lens
}

/// Length in bytes (before hex) of the recovery data of `len` protected bytes.
fn data_len(len: usize) -> usize {
    len.div_ceil(BLOCK) * TAG + parity_lens(len).iter().sum::<usize>()
}

/// The recovery data of `p`: each stripe's parity, then each block's tag.
/// (Parities first: a run of damage across the end of the protected part
/// then reaches the parities of other stripes than its blocks', and one
/// across the end of the manifest reaches tags, which only make intact
/// blocks look damaged.)
fn recovery_data(p: &[u8]) -> Vec<u8> {
    let blocks: Vec<&[u8]> = p.chunks(BLOCK).collect();
    let s = stripes(blocks.len());
    let mut parity = vec![Vec::new(); s];
    for (i, b) in blocks.iter().enumerate() {
        xor_into(&mut parity[i % s], b);
    }
    let mut out = Vec::with_capacity(data_len(p.len()));
    for q in parity {
        out.extend_from_slice(&q);
    }
    for b in &blocks {
        out.extend_from_slice(&tag(b));
    }
    out
}

/// The whole manifest for protected bytes `p`: `p`, the recovery member,
/// the closing brace and the line feed.
fn assemble(p: &[u8]) -> Vec<u8> {
    let data = recovery_data(p);
    let mut m = Vec::with_capacity(p.len() + OPEN.len() + 2 * data.len() + CLOSE.len());
    m.extend_from_slice(p);
    m.extend_from_slice(OPEN);
    m.extend_from_slice(hex::encode(&data).as_bytes());
    m.extend_from_slice(CLOSE);
    m
}

/// Adds the recovery member to a manifest serialized as compact JSON (an
/// object, so ending with `}`) and appends the line feed: the manifest's
/// stored bytes.
pub fn protect_manifest(json: &[u8]) -> Vec<u8> {
    assert_eq!(json.last(), Some(&b'}'), "a JSON object");
    assemble(&json[..json.len() - 1])
}

/// The length of the protected part of a protected manifest of `n` bytes,
/// if `n` is a length such a manifest can have.
pub fn protected_len(n: usize) -> Option<usize> {
    let whole = |l: usize| l + OPEN.len() + 2 * data_len(l) + CLOSE.len();
    // `whole` strictly increases with `l`, so at most one `l` fits: find
    // it by bisection over the lengths not above `n`.
    let (mut lo, mut hi) = (1usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if whole(mid) < n {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo <= n && whole(lo) == n).then_some(lo)
}

/// Whether `m` is a manifest with intact recovery data: the bytes after
/// its protected part are exactly those its protected part gives.
pub fn is_protected(m: &[u8]) -> bool {
    protected_len(m.len()).is_some_and(|l| m[l..].starts_with(OPEN) && assemble(&m[..l]) == m)
}

/// One hex digit pair, or `None` where the text is not lower-case hex.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    let d = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    Some(d(pair[0])? << 4 | d(pair[1])?)
}

/// Puts right a damaged protected manifest from its own recovery data:
/// each block whose tag differs is rebuilt from its stripe's parity when
/// it is the only such block of its stripe. Returns the first candidate
/// that `accept` takes (the caller checks it against the CRC-32 of the
/// entry's headers, or the issuer's signature): the bytes as they are with
/// their recovery data regenerated (when only the recovery data is
/// damaged), then the rebuilt ones. `None` if neither is accepted, or if
/// `damaged` is not of a length a protected manifest can have.
pub fn recover_manifest(damaged: &[u8], accept: &dyn Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let l = protected_len(damaged.len())?;
    let as_is = assemble(&damaged[..l]);
    if accept(&as_is) {
        return Some(as_is);
    }
    let text = &damaged[l + OPEN.len()..damaged.len() - CLOSE.len()];
    let data: Vec<Option<u8>> = text.chunks(2).map(hex_byte).collect();
    let blocks = l.div_ceil(BLOCK);
    let s = stripes(blocks);
    let lens = parity_lens(l);
    let mut p = damaged[..l].to_vec();
    let block = |i: usize| i * BLOCK..(i * BLOCK + BLOCK).min(l);
    let tags_at: usize = lens.iter().sum();
    let suspect: Vec<bool> = (0..blocks)
        .map(|i| {
            let stored = &data[tags_at + i * TAG..tags_at + (i + 1) * TAG];
            let t = tag(&p[block(i)]);
            stored.iter().zip(t).any(|(b, t)| *b != Some(t))
        })
        .collect();
    let mut parity_at = 0;
    for (stripe, &plen) in lens.iter().enumerate() {
        let members: Vec<usize> = (stripe..blocks).step_by(s).collect();
        let bad: Vec<usize> = members.iter().copied().filter(|&i| suspect[i]).collect();
        if let [lost] = bad[..] {
            let mut acc: Vec<u8> = data[parity_at..parity_at + plen]
                .iter()
                .map(|b| b.unwrap_or(0))
                .collect();
            for &i in members.iter().filter(|&&i| i != lost) {
                xor_into(&mut acc, &p[block(i)]);
            }
            let r = block(lost);
            let n = r.len();
            p[r].copy_from_slice(&acc[..n]);
        }
        parity_at += plen;
    }
    let rebuilt = assemble(&p);
    accept(&rebuilt).then_some(rebuilt)
}

/// The catalog's parities as the writer accumulates them: members (pages,
/// then the index) are added in order, each stripe of [`STRIPE`] members
/// closing when full.
#[derive(Debug, Default, Clone)]
pub struct CatalogParity {
    done: Vec<Vec<u8>>,
    open: Vec<u8>,
    members: usize,
}

impl CatalogParity {
    /// Adds the next member's stored bytes.
    pub fn add(&mut self, stored: &[u8]) {
        xor_into(&mut self.open, stored);
        self.members += 1;
        if self.members.is_multiple_of(STRIPE) {
            self.done.push(std::mem::take(&mut self.open));
        }
    }

    /// The parities, one per stripe, in order.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.members.is_multiple_of(STRIPE) {
            self.done.push(self.open);
        }
        self.done
    }
}

/// The stripe of catalog member `i` (page `i`, or the index as member
/// `pages`), and the members of that stripe, of `members` in all.
pub fn catalog_stripe(i: u64, members: u64) -> (u64, std::ops::Range<u64>) {
    let s = i / STRIPE as u64;
    let start = s * STRIPE as u64;
    (s, start..(start + STRIPE as u64).min(members))
}

/// The name of catalog member `i` of an archive with `pages` pages: page
/// `i`, or the index when `i == pages`.
pub fn catalog_member(i: u64, pages: u64) -> String {
    if i == pages {
        crate::CATALOG_INDEX_ENTRY.to_owned()
    } else {
        crate::catalog_page_entry(i)
    }
}

/// Rebuilds the entry `name` of an archive with `pages` catalog pages from
/// its stripe (§10.8): a catalog member (a page or the index) as the
/// parity XOR the stripe's other members, or a parity entry as the XOR of
/// its stripe's members; truncated to `size`. `intact` gives an entry's
/// stored bytes when they have their BLAKE3, else `None`. `None` if `name`
/// is neither, or another part of the stripe is not intact; the caller
/// checks the result against the entry's BLAKE3.
pub fn rebuild_catalog_entry(
    name: &str,
    pages: u64,
    size: u64,
    intact: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let members = pages.checked_add(1)?;
    let (mut acc, range, lost) = match (0..members).find(|&i| catalog_member(i, pages) == name) {
        Some(lost) => {
            let (stripe, range) = catalog_stripe(lost, members);
            (intact(&parity_entry(stripe))?, range, Some(lost))
        }
        None => {
            let s = (0..members.div_ceil(STRIPE as u64)).find(|&s| parity_entry(s) == name)?;
            (
                Vec::new(),
                catalog_stripe(s * STRIPE as u64, members).1,
                None,
            )
        }
    };
    for i in range.filter(|&i| Some(i) != lost) {
        xor_into(&mut acc, &intact(&catalog_member(i, pages))?);
    }
    acc.truncate(usize::try_from(size).ok()?);
    (acc.len() as u64 == size).then_some(acc)
}

/// Format 2.0's recovery entry for the public tail (SPEC 2.0 §25.1): it
/// stands right before `entries`, which lists it, and holds a copy of
/// `public.json`, a copy of every row of `entries` but its own, and the
/// head with its `entries` hash written as zeros (the one line that
/// depends on the entry table, which lists this entry).
pub const TAIL_ENTRY: &str = "recovery";
/// The first line of the recovery entry.
const TAIL_MAGIC: &[u8] = b"legation-recovery 2.0\n";
/// The sections of the recovery entry, in order.
const TAIL_SECTIONS: [&str; 3] = ["public.json", "entries", "head"];
/// Largest recovery entry a reader reads: `public.json` (4 MiB), the rows
/// (64 MiB) and the head (64 KiB), with their section lines.
pub const MAX_TAIL: u64 = (4 << 20) + (64 << 20) + (64 << 10) + 256;

/// What the recovery entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecovery {
    /// A copy of `public.json`.
    pub public: Vec<u8>,
    /// A copy of the entry table's rows for every entry before the
    /// recovery entry (all of `entries` but its last line).
    pub rows: Vec<u8>,
    /// The head with the hash of its `entries` line written as 64 zeros.
    pub head: Vec<u8>,
}

impl TailRecovery {
    /// The entry's bytes: the first line, then each section as its name,
    /// one space, its length in decimal and a line feed, then its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = TAIL_MAGIC.to_vec();
        for (name, b) in TAIL_SECTIONS
            .iter()
            .zip([&self.public, &self.rows, &self.head])
        {
            out.extend_from_slice(format!("{name} {}\n", b.len()).as_bytes());
            out.extend_from_slice(b);
        }
        out
    }

    /// Parses the entry; `None` unless it is exactly the form
    /// [`TailRecovery::to_bytes`] writes (lengths in shortest decimal,
    /// each within the bytes that remain).
    pub fn parse(mut b: &[u8]) -> Option<TailRecovery> {
        b = b.strip_prefix(TAIL_MAGIC)?;
        let mut parts = Vec::with_capacity(3);
        for name in TAIL_SECTIONS {
            b = b.strip_prefix(name.as_bytes())?.strip_prefix(b" ")?;
            let nl = b.iter().take(21).position(|&c| c == b'\n')?;
            let digits = std::str::from_utf8(&b[..nl]).ok()?;
            if digits.is_empty()
                || !digits.bytes().all(|c| c.is_ascii_digit())
                || (digits.len() > 1 && digits.starts_with('0'))
            {
                return None;
            }
            let len: usize = digits.parse().ok()?;
            b = &b[nl + 1..];
            if len > b.len() {
                return None;
            }
            parts.push(b[..len].to_vec());
            b = &b[len..];
        }
        if !b.is_empty() {
            return None;
        }
        let head = parts.pop()?;
        let rows = parts.pop()?;
        let public = parts.pop()?;
        Some(TailRecovery { public, rows, head })
    }

    /// The entry table this recovery entry gives when its own row is
    /// `own` (its name, size, CRC-32 and BLAKE3, as the container and its
    /// bytes give them): the copied rows and that row.
    pub fn entries_with(&self, size: u64, crc32: u32, blake3: &[u8; 32]) -> Vec<u8> {
        let mut t = self.rows.clone();
        t.extend_from_slice(
            format!("{TAIL_ENTRY} {size} {crc32:08x} {}\n", hex::encode(blake3)).as_bytes(),
        );
        t
    }

    /// The head this recovery entry gives for an entry table of BLAKE3
    /// `entries`; `None` if the copy is not a head.
    pub fn head_with(&self, entries: &[u8; 32]) -> Option<Vec<u8>> {
        let mut h = crate::v2::head::Head::parse(&self.head).ok()?;
        if h.entries != [0; 32] {
            return None;
        }
        h.entries = *entries;
        Some(h.to_bytes())
    }
}

/// One step of the reflected CRC-32 register (polynomial 0xEDB88320) over
/// a zero byte.
fn crc_zero_byte(mut s: u32) -> u32 {
    for _ in 0..8 {
        s = if s & 1 == 1 {
            (s >> 1) ^ 0xEDB8_8320
        } else {
            s >> 1
        };
    }
    s
}

/// Largest entry [`correct_one_byte`] searches (the search costs about 256
/// steps a byte).
pub const MAX_CORRECTED: usize = 1 << 20;

/// Puts right one damaged byte of `stored` by its CRC-32 `crc` (as the
/// entry's headers give it): CRC-32 is affine, so the change of one byte
/// at place `i` by `d` changes the CRC-32 by a value that depends only on
/// `i` and `d`, and the stored bytes' difference from `crc` names the
/// candidates. Returns the first candidate `accept` takes (the caller
/// checks it by a stronger means: signatures that verify). `None` when no
/// one-byte change gives `crc`, when `accept` takes none, or when `stored`
/// is longer than [`MAX_CORRECTED`].
pub fn correct_one_byte(
    stored: &[u8],
    crc: u32,
    accept: &dyn Fn(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    if stored.is_empty() || stored.len() > MAX_CORRECTED {
        return None;
    }
    let syndrome = crc32fast::hash(stored) ^ crc;
    if syndrome == 0 {
        return None;
    }
    // The CRC-32 change of each bit of the byte at the current place,
    // from the last byte backwards.
    let mut basis: [u32; 8] = std::array::from_fn(|b| crc_zero_byte(1 << b));
    let mut table = [0u32; 256];
    for i in (0..stored.len()).rev() {
        for d in 1..256usize {
            let low = d.trailing_zeros() as usize;
            table[d] = table[d & (d - 1)] ^ basis[low];
            if table[d] == syndrome {
                let mut c = stored.to_vec();
                c[i] ^= d as u8;
                if accept(&c) {
                    return Some(c);
                }
            }
        }
        for v in &mut basis {
            *v = crc_zero_byte(*v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(len: usize, seed: u64) -> Vec<u8> {
        // A JSON object of about `len` bytes with varied content.
        let mut body = String::from("{\"format\":\"legation\",\"filler\":\"");
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        while body.len() + 2 < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body.push(char::from(b'a' + (x % 26) as u8));
        }
        body.push_str("\"}");
        protect_manifest(body.as_bytes())
    }

    fn by_crc(want: u32) -> impl Fn(&[u8]) -> bool {
        move |m: &[u8]| crc32fast::hash(m) == want
    }

    #[test]
    fn lengths_invert() {
        for len in [
            2usize,
            3,
            100,
            1023,
            1024,
            1025,
            4096,
            16 * 1024,
            16 * 1024 + 1,
            100_000,
        ] {
            let m = manifest(len, len as u64);
            let l = protected_len(m.len()).unwrap();
            assert_eq!(&m[l..l + OPEN.len()], OPEN);
            assert!(is_protected(&m));
            // No other length is a protected manifest's length nearby
            // unless it inverts to a different protected length.
            for n in m.len() - 3..m.len() + 3 {
                if let Some(l2) = protected_len(n) {
                    assert!(n == m.len() || l2 != l);
                }
            }
        }
    }

    #[test]
    fn every_single_byte_damage_is_recovered() {
        // Small (one stripe per block), middling and striped manifests;
        // every byte changed, in turn, to a value it does not have.
        for (len, step) in [(300usize, 1usize), (5000, 5), (40_000, 101)] {
            let m = manifest(len, 7);
            let crc = crc32fast::hash(&m);
            for at in (0..m.len()).step_by(step) {
                let mut d = m.clone();
                d[at] ^= 1 << (at % 8);
                assert_ne!(d, m);
                let r = recover_manifest(&d, &by_crc(crc));
                assert_eq!(r.as_deref(), Some(&m[..]), "len {len}, byte {at}");
            }
        }
    }

    #[test]
    fn runs_of_damage_up_to_the_stripes_are_recovered() {
        // 40 KB: 40 blocks, 8 stripes; any run of 4 KiB (within 5 blocks
        // of 8 stripes) is recoverable; zeroed, as a dead sector reads.
        let m = manifest(40_000, 3);
        let crc = crc32fast::hash(&m);
        for start in (0..m.len() - 4096).step_by(997) {
            let mut d = m.clone();
            d[start..start + 4096].fill(0);
            assert_eq!(
                recover_manifest(&d, &by_crc(crc)).as_deref(),
                Some(&m[..]),
                "run at {start}"
            );
        }
    }

    #[test]
    fn two_blocks_lost_in_one_stripe_are_not_guessed() {
        let m = manifest(40_000, 5);
        let crc = crc32fast::hash(&m);
        let s = stripes(40_000usize.div_ceil(BLOCK));
        let mut d = m.clone();
        d[10] ^= 0xff;
        d[10 + s * BLOCK] ^= 0xff; // the same stripe
        assert_eq!(recover_manifest(&d, &by_crc(crc)), None);
        // A length no protected manifest has is not guessed at either.
        let n = (m.len() - 64..m.len())
            .find(|&n| protected_len(n).is_none())
            .unwrap();
        assert_eq!(recover_manifest(&m[..n], &|_| true), None);
    }

    #[test]
    fn tail_recovery_round_trips_and_refuses_other_forms() {
        let t = TailRecovery {
            public: b"{\"format\":\"legation\"}\n".to_vec(),
            rows: b"mimetype 36 12345678 00\n".to_vec(),
            head: Vec::new(),
        };
        let b = t.to_bytes();
        assert_eq!(TailRecovery::parse(&b), Some(t.clone()));
        assert!(b.starts_with(b"legation-recovery 2.0\npublic.json 22\n{"));
        // Trailing bytes, a cut, a padded length, a length past the end.
        let mut longer = b.clone();
        longer.push(b'\n');
        assert_eq!(TailRecovery::parse(&longer), None);
        assert_eq!(TailRecovery::parse(&b[..b.len() - 1]), None);
        let padded = String::from_utf8(b.clone())
            .unwrap()
            .replace("public.json 22", "public.json 023");
        assert_eq!(TailRecovery::parse(padded.as_bytes()), None);
        let huge = String::from_utf8(b.clone())
            .unwrap()
            .replace("public.json 22", "public.json 99999999999999999999");
        assert_eq!(TailRecovery::parse(huge.as_bytes()), None);
        // The entry's own row is appended as the entry table writes rows.
        let own = t.entries_with(7, 0xdeadbeef, &[0xab; 32]);
        assert!(own.ends_with(format!("recovery 7 deadbeef {}\n", "ab".repeat(32)).as_bytes()));
    }

    #[test]
    fn one_damaged_byte_is_found_by_the_crc() {
        let m: Vec<u8> = (0..700u32).map(|i| (i * 31 % 251) as u8).collect();
        let crc = crc32fast::hash(&m);
        for at in (0..m.len()).step_by(7) {
            for d in [1u8, 0x80, 0xff, 0x5a] {
                let mut x = m.clone();
                x[at] ^= d;
                let got = correct_one_byte(&x, crc, &|c| c == &m[..]);
                assert_eq!(got.as_deref(), Some(&m[..]), "byte {at} ^ {d:#x}");
            }
        }
        // Intact bytes, two damaged bytes (not accepted), and nothing
        // accepted: no candidate.
        assert_eq!(correct_one_byte(&m, crc, &|_| true), None);
        let mut two = m.clone();
        two[3] ^= 1;
        two[500] ^= 1;
        assert_eq!(correct_one_byte(&two, crc, &|c| c == &m[..]), None);
        let mut one = m.clone();
        one[9] ^= 4;
        assert_eq!(correct_one_byte(&one, crc, &|_| false), None);
    }

    #[test]
    fn catalog_parity_rebuilds_any_one_member_of_a_stripe() {
        let members: Vec<Vec<u8>> = (0..37u8)
            .map(|i| {
                (0..(100 + 37 * i as usize))
                    .map(|j| (j as u8) ^ i)
                    .collect()
            })
            .collect();
        let mut p = CatalogParity::default();
        for m in &members {
            p.add(m);
        }
        let parities = p.finish();
        assert_eq!(parities.len(), 3);
        // 36 pages and the index; each entry rebuilt from the others.
        let pages = members.len() as u64 - 1;
        let bytes_of = |name: &str| -> Option<Vec<u8>> {
            (0..=pages)
                .find(|&i| catalog_member(i, pages) == name)
                .map(|i| members[i as usize].clone())
                .or_else(|| {
                    (0..3u64)
                        .find(|&s| parity_entry(s) == name)
                        .map(|s| parities[s as usize].clone())
                })
        };
        for lost in 0..=pages {
            let name = catalog_member(lost, pages);
            let want = &members[lost as usize];
            let intact = |n: &str| if n == name { None } else { bytes_of(n) };
            let got = rebuild_catalog_entry(&name, pages, want.len() as u64, &intact);
            assert_eq!(got.as_ref(), Some(want), "{name}");
        }
        for s in 0..3u64 {
            let name = parity_entry(s);
            let want = &parities[s as usize];
            let intact = |n: &str| if n == name { None } else { bytes_of(n) };
            let got = rebuild_catalog_entry(&name, pages, want.len() as u64, &intact);
            assert_eq!(got.as_ref(), Some(want), "{name}");
        }
        // Two lost in one stripe: not rebuilt.
        let intact = |n: &str| {
            if n == catalog_member(0, pages) || n == catalog_member(1, pages) {
                None
            } else {
                bytes_of(n)
            }
        };
        assert_eq!(
            rebuild_catalog_entry(&catalog_member(0, pages), pages, 100, &intact),
            None
        );
    }
}

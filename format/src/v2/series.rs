//! Generations and series (SPEC §33): the `series` member of a dependent
//! generation's `public.json`, the chain of heads, and the splice rules a
//! reader checks over every generation file it has (§33.6).
//!
//! A series is the generations of one archive: they share its archive id
//! and data key. Generation `s` is one signed head with `sequence s`; its
//! **chain hash** is [`chain_hash`]`(head, signatures)`, which the head of
//! `s + 1` carries as `previous`. A **dependent** generation file uses
//! bundles and pages of earlier files and lists those generations in
//! `public.json`'s `series.inherits`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use crate::v2::head::chain_hash;
use crate::v2::head::Head;
use crate::v2::succession::Handover;

/// Most items `series.inherits` may hold.
pub const MAX_INHERITS: usize = 1 << 16;
/// Longest file name hint, in bytes.
pub const MAX_FILE_HINT: usize = 255;

/// `public.json`'s `series` member: the earlier generations whose files
/// hold an entry this generation uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesMember {
    /// One item a generation, strictly increasing by sequence.
    pub inherits: Vec<Inherited>,
}

/// One generation a dependent file uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inherited {
    /// Its sequence (below this generation's).
    pub sequence: u64,
    /// Its chain hash.
    #[serde(with = "crate::hex::array")]
    pub chain: [u8; 32],
    /// The name its file had beside this one when this one was written: a
    /// hint for finding it, never trusted.
    pub file: String,
    /// (2.1) The decoder modules of that file this generation's records
    /// name and this file does not store: each an item of that file's
    /// `public.json` `decoders`, equal in every member (SPEC §33.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoders: Vec<crate::manifest::DecoderRef>,
}

impl SeriesMember {
    /// Checks the member against the head's `sequence`: 1 to
    /// [`MAX_INHERITS`] items, sequences strictly increasing and below
    /// `sequence`, file hints 1 to [`MAX_FILE_HINT`] bytes with no `/`,
    /// `\`, control or bidirectional formatting character.
    pub fn check(&self, sequence: u64) -> std::result::Result<(), String> {
        if self.inherits.is_empty() || self.inherits.len() > MAX_INHERITS {
            return Err(format!(
                "series.inherits holds {} items, not 1 to {MAX_INHERITS}",
                self.inherits.len()
            ));
        }
        let mut prev: Option<u64> = None;
        for i in &self.inherits {
            if prev.is_some_and(|p| p >= i.sequence) {
                return Err(format!(
                    "series.inherits: generation {} is not after generation {}",
                    i.sequence,
                    prev.unwrap_or_default()
                ));
            }
            if i.sequence >= sequence {
                return Err(format!(
                    "series.inherits names generation {}, not before this generation {sequence}",
                    i.sequence
                ));
            }
            check_file_hint(&i.file)
                .map_err(|e| format!("series.inherits, generation {}: {e}", i.sequence))?;
            for d in &i.decoders {
                crate::v2::page::check_decoder_name(&d.entry)
                    .map_err(|e| format!("series.inherits, generation {}: {e}", i.sequence))?;
            }
            prev = Some(i.sequence);
        }
        let mut names = std::collections::HashSet::new();
        if let Some(d) = self
            .decoders()
            .find(|(_, d)| !names.insert(d.entry.as_str()))
        {
            return Err(format!("series.inherits lists decoder {} twice", d.1.entry));
        }
        Ok(())
    }

    /// (2.1) Every inherited decoder, with the generation whose file
    /// stores it.
    pub fn decoders(&self) -> impl Iterator<Item = (u64, &crate::manifest::DecoderRef)> {
        self.inherits
            .iter()
            .flat_map(|i| i.decoders.iter().map(move |d| (i.sequence, d)))
    }

    /// The item for generation `sequence`, if listed.
    pub fn get(&self, sequence: u64) -> Option<&Inherited> {
        self.inherits
            .binary_search_by_key(&sequence, |i| i.sequence)
            .ok()
            .map(|k| &self.inherits[k])
    }
}

/// A file name hint: 1 to [`MAX_FILE_HINT`] bytes, no path separator, no
/// control character, no bidirectional formatting character.
pub fn check_file_hint(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > MAX_FILE_HINT {
        return Err(format!(
            "file hint of {} bytes, not 1 to {MAX_FILE_HINT}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|&c| {
        c == '/'
            || c == '\\'
            || c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
    }) {
        return Err(format!("file hint {name:?} holds {c:?}"));
    }
    if name == "." || name == ".." {
        return Err(format!("file hint {name:?} is not a file name"));
    }
    Ok(())
}

/// What the splice rules need of one generation file: its name (for
/// errors), its head, its chain hash, its issuers and which of them signed
/// it with a signature that verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// Where it was found (a path or URL), for messages.
    pub file: String,
    /// Its head, parsed.
    pub head: Head,
    /// [`chain_hash`] of its stored head and signatures.
    pub chain: [u8; 32],
    /// `public.json`'s issuers (its `ed25519` items' keys).
    pub issuers: Vec<[u8; 32]>,
    /// (2.2) `public.json`'s `ml-dsa-65` issuer keys, in its order: a
    /// hybrid issuer's post-quantum halves (SPEC §27.4).
    pub ml_dsa_65: Vec<Vec<u8>>,
    /// The issuer keys whose signature over this head verifies.
    pub signers: Vec<[u8; 32]>,
}

/// A splice of a series, caught by [`check_chain`] or [`resolve`]
/// (SPEC §33.6). Each is a fixity failure naming the files.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeriesError {
    /// A file offered as part of the series whose head names another
    /// archive id.
    OtherSeries {
        /// The file.
        file: String,
        /// The archive id its head names.
        archive: [u8; 16],
    },
    /// The file found for an inherited generation has its sequence and
    /// archive but another chain hash.
    WrongGeneration {
        /// The generation.
        sequence: u64,
        /// The file found.
        file: String,
        /// The chain hash `series.inherits` lists.
        expected: [u8; 32],
        /// The file's chain hash.
        found: [u8; 32],
    },
    /// No file holds an inherited generation.
    MissingGeneration {
        /// The generation.
        sequence: u64,
        /// The file name hint.
        hint: String,
    },
    /// Generations `after` and `before` are present and none between.
    SeriesGap {
        /// The present generation below the gap.
        after: u64,
        /// The present generation above the gap.
        before: u64,
    },
    /// A head whose `previous` is the chain hash of a present generation
    /// other than `sequence - 1`.
    SequenceSkip {
        /// The generation whose `previous` is wrong.
        sequence: u64,
        /// The generation its `previous` names.
        previous_of: u64,
        /// Its file.
        file: String,
    },
    /// Generations `sequence` and `sequence - 1` are present and the
    /// first's `previous` is not the second's chain hash.
    WrongPrevious {
        /// The generation.
        sequence: u64,
        /// Its file.
        file: String,
        /// The chain hash of generation `sequence - 1`.
        expected: [u8; 32],
        /// Its `previous`.
        found: [u8; 32],
    },
    /// Two different heads with one sequence, both signed by one issuer key.
    Fork {
        /// The sequence.
        sequence: u64,
        /// One file.
        first: String,
        /// The other.
        second: String,
        /// The issuer key that signed both.
        issuer: [u8; 32],
    },
    /// Two different heads with one sequence not signed by a common key
    /// (at most one of them can be the issuer's).
    Conflict {
        /// The sequence.
        sequence: u64,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// A generation created before its predecessor.
    CreatedBackwards {
        /// The generation.
        sequence: u64,
        /// Its file.
        file: String,
    },
    /// A generation whose issuers differ from its predecessor's.
    IssuersChanged {
        /// The generation.
        sequence: u64,
        /// Its file.
        file: String,
    },
    /// (2.3) Two valid handovers of the series by one key that differ in
    /// `from` or `new` (SPEC §33.6, §37.3 rule 3): evidence of a stolen or
    /// misused issuer key, whether or not either is applied.
    HandoverFork {
        /// The key (pin) that signed both.
        key: [u8; 32],
        /// One handover's file.
        first: String,
        /// The other's.
        second: String,
    },
}

impl SeriesError {
    /// The short name of the rule broken (the test vectors' `expect`).
    pub fn kind(&self) -> &'static str {
        match self {
            SeriesError::OtherSeries { .. } => "other-series",
            SeriesError::WrongGeneration { .. } => "wrong-generation",
            SeriesError::MissingGeneration { .. } => "missing-generation",
            SeriesError::SeriesGap { .. } => "gap",
            SeriesError::SequenceSkip { .. } => "sequence-skip",
            SeriesError::WrongPrevious { .. } => "wrong-previous",
            SeriesError::Fork { .. } => "fork",
            SeriesError::Conflict { .. } => "conflict",
            SeriesError::CreatedBackwards { .. } => "created-backwards",
            SeriesError::IssuersChanged { .. } => "issuers-changed",
            SeriesError::HandoverFork { .. } => "handover-fork",
        }
    }
}

fn short(h: &[u8]) -> String {
    crate::hex::encode(&h[..8.min(h.len())])
}

impl std::fmt::Display for SeriesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeriesError::OtherSeries { file, archive } => write!(
                f,
                "{file} belongs to another series (archive {})",
                crate::hex::encode(archive)
            ),
            SeriesError::WrongGeneration {
                sequence,
                file,
                expected,
                found,
            } => write!(
                f,
                "{file} holds generation {sequence} with chain hash {}…, but the series lists \
                 {}… (a file of a fork, or a tampered copy)",
                short(found),
                short(expected)
            ),
            SeriesError::MissingGeneration { sequence, hint } => write!(
                f,
                "generation {sequence} is needed and no file holds it (it was written as {hint})"
            ),
            SeriesError::SeriesGap { after, before } => write!(
                f,
                "generations {after} and {before} are present but not {}: history was lost",
                if before - after == 2 {
                    format!("{}", after + 1)
                } else {
                    format!("{} to {}", after + 1, before - 1)
                }
            ),
            SeriesError::SequenceSkip {
                sequence,
                previous_of,
                file,
            } => write!(
                f,
                "{file}: generation {sequence} follows generation {previous_of}, not {}",
                sequence - 1
            ),
            SeriesError::WrongPrevious {
                sequence,
                file,
                expected,
                found,
            } => write!(
                f,
                "{file}: generation {sequence}'s previous is {}…, not generation {}'s chain \
                 hash {}…",
                short(found),
                sequence - 1,
                short(expected)
            ),
            SeriesError::Fork {
                sequence,
                first,
                second,
                issuer,
            } => write!(
                f,
                "FORK: {first} and {second} are two different generations {sequence}, both \
                 signed by issuer {} (a stolen or misused issuer key)",
                crate::crypto::fingerprint(issuer)
            ),
            SeriesError::Conflict {
                sequence,
                first,
                second,
            } => write!(
                f,
                "{first} and {second} are two different generations {sequence}, not signed by \
                 one issuer key"
            ),
            SeriesError::CreatedBackwards { sequence, file } => write!(
                f,
                "{file}: generation {sequence} was created before generation {}",
                sequence - 1
            ),
            SeriesError::IssuersChanged { sequence, file } => write!(
                f,
                "{file}: generation {sequence} names other issuers than generation {}",
                sequence - 1
            ),
            SeriesError::HandoverFork { key, first, second } => write!(
                f,
                "FORK: {first} and {second} are two different handovers of this series by \
                 issuer {} (a stolen or misused issuer key)",
                crate::crypto::fingerprint(key)
            ),
        }
    }
}

impl std::error::Error for SeriesError {}

/// The generations present, checked: one per sequence (copies of one
/// generation, the same chain hash, count once), in increasing sequence.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// Sequence to the index (in the slice given) of its file.
    pub by_sequence: BTreeMap<u64, usize>,
}

impl Chain {
    /// The newest generation present.
    pub fn newest(&self) -> Option<(u64, usize)> {
        self.by_sequence.iter().next_back().map(|(&s, &i)| (s, i))
    }
    /// The oldest generation present.
    pub fn oldest(&self) -> Option<(u64, usize)> {
        self.by_sequence.iter().next().map(|(&s, &i)| (s, i))
    }
}

/// Checks the splice rules of SPEC §33.6 over `gens`, every file offered
/// as part of series `archive`: another series, a fork (or a conflict),
/// a gap, a skipped sequence, a wrong previous hash, a generation created
/// before its predecessor, changed issuers. Returns every error found (in
/// increasing sequence) or the chain. Costs `O(n log n)` in files.
pub fn check_chain(
    archive: &[u8; 16],
    gens: &[Generation],
) -> std::result::Result<Chain, Vec<SeriesError>> {
    check_chain_handed(archive, gens, &[])
}

/// The pins (SPEC §37.1) of a generation's issuers, as the splice rule
/// compares them across a handover (2.3, §37.6): the `ed25519` keys when
/// there is no `ml-dsa-65` item; a hybrid issuer's id when there is
/// exactly one item of each; `None` for any other shape, which no
/// handover changes.
pub fn issuer_pins(ed25519: &[[u8; 32]], ml_dsa_65: &[Vec<u8>]) -> Option<BTreeSet<[u8; 32]>> {
    match (ed25519, ml_dsa_65) {
        (_, []) => Some(ed25519.iter().copied().collect()),
        ([e], [m]) if m.len() == crate::pqsig::PUBLIC_LEN => {
            Some(BTreeSet::from([crate::pqsig::hybrid_id(e, m)]))
        }
        _ => None,
    }
}

/// Whether the issuers of generation `s` (`now`) are those of generation
/// `s - 1` (`before`) after the handovers taking effect at `s` (2.2,
/// SPEC §33.6 and §37.6): each handover of this series from `s` whose old
/// key is an issuer of `s - 1` and whose signature verifies replaces its
/// old key by its new one; the sets must then be equal.
fn handed_over(
    archive: &[u8; 16],
    s: u64,
    before: &Generation,
    now: &Generation,
    handovers: &[(Handover, String)],
) -> bool {
    let (Some(before), Some(now)) = (
        issuer_pins(&before.issuers, &before.ml_dsa_65),
        issuer_pins(&now.issuers, &now.ml_dsa_65),
    ) else {
        return false;
    };
    let mut after = before.clone();
    for (h, file) in handovers {
        if &h.archive_id == archive
            && h.from == s
            && before.contains(&h.old)
            && h.check(file).is_ok()
        {
            after.remove(&h.old);
            after.insert(h.new);
        }
    }
    after == now
}

/// (2.3) The forks among `handovers` (SPEC §33.6, §37.3 rule 3): two
/// handovers of series `archive` by one old key, both valid (§37.1),
/// that differ in `from` or `new` (the same statement made twice, at
/// other times, is one). Only keys with two different handovers cost a
/// signature check.
fn handover_forks(archive: &[u8; 16], handovers: &[(Handover, String)]) -> Vec<SeriesError> {
    let mut by_old: BTreeMap<[u8; 32], Vec<(&Handover, &str)>> = BTreeMap::new();
    for (h, file) in handovers.iter().filter(|(h, _)| &h.archive_id == archive) {
        by_old.entry(h.old).or_default().push((h, file));
    }
    let mut forks = Vec::new();
    for (old, hs) in by_old {
        if hs
            .iter()
            .all(|(h, _)| (h.from, h.new) == (hs[0].0.from, hs[0].0.new))
        {
            continue;
        }
        let valid: Vec<&(&Handover, &str)> = hs
            .iter()
            .filter(|(h, file)| h.check(file).is_ok())
            .collect();
        if let Some((_, second)) = valid
            .iter()
            .find(|(h, _)| (h.from, h.new) != (valid[0].0.from, valid[0].0.new))
        {
            forks.push(SeriesError::HandoverFork {
                key: old,
                first: valid[0].1.to_string(),
                second: second.to_string(),
            });
        }
    }
    forks
}

/// [`check_chain`] with the issuer's handovers a reader has (given, or in
/// the series folder's `issuer/`, each with its file): a change of issuers
/// between generations `s - 1` and `s` passes exactly when handovers from
/// `s` by issuers of `s - 1` account for it (2.2, SPEC §37.6); otherwise
/// it is [`SeriesError::IssuersChanged`]. (2.3) Two valid handovers of the
/// series by one key that differ are [`SeriesError::HandoverFork`],
/// applied or not. Only generations whose issuers change, and keys with
/// two different handovers, cost a signature check.
pub fn check_chain_handed(
    archive: &[u8; 16],
    gens: &[Generation],
    handovers: &[(Handover, String)],
) -> std::result::Result<Chain, Vec<SeriesError>> {
    let mut errors = handover_forks(archive, handovers);
    let mut chain = Chain::default();
    let mut by_hash: BTreeMap<[u8; 32], u64> = BTreeMap::new();
    for (i, g) in gens.iter().enumerate() {
        if &g.head.archive_id != archive {
            errors.push(SeriesError::OtherSeries {
                file: g.file.clone(),
                archive: g.head.archive_id,
            });
            continue;
        }
        match chain.by_sequence.get(&g.head.sequence) {
            None => {
                chain.by_sequence.insert(g.head.sequence, i);
                by_hash.insert(g.chain, g.head.sequence);
            }
            Some(&j) if gens[j].chain == g.chain => {}
            Some(&j) => {
                let other = &gens[j];
                let (first, second) = (other.file.clone(), g.file.clone());
                let sequence = g.head.sequence;
                errors.push(match other.signers.iter().find(|k| g.signers.contains(k)) {
                    Some(issuer) => SeriesError::Fork {
                        sequence,
                        first,
                        second,
                        issuer: *issuer,
                    },
                    None => SeriesError::Conflict {
                        sequence,
                        first,
                        second,
                    },
                });
            }
        }
    }
    let mut prev: Option<(u64, &Generation)> = None;
    for (&s, &i) in &chain.by_sequence {
        let g = &gens[i];
        let file = g.file.clone();
        if let Some((p, pg)) = prev {
            if s > p + 1 {
                errors.push(SeriesError::SeriesGap {
                    after: p,
                    before: s,
                });
            }
            if s == p + 1 {
                if g.head.previous != pg.chain {
                    errors.push(match by_hash.get(&g.head.previous) {
                        Some(&k) if k != p => SeriesError::SequenceSkip {
                            sequence: s,
                            previous_of: k,
                            file,
                        },
                        _ => SeriesError::WrongPrevious {
                            sequence: s,
                            file,
                            expected: pg.chain,
                            found: g.head.previous,
                        },
                    });
                } else if g.head.created < pg.head.created {
                    errors.push(SeriesError::CreatedBackwards { sequence: s, file });
                } else if (g.ml_dsa_65 != pg.ml_dsa_65 || g.issuers != pg.issuers)
                    && !handed_over(archive, s, pg, g, handovers)
                {
                    // A hybrid issuer's ML-DSA-65 half is neither dropped,
                    // added nor swapped but by a handover whose pins
                    // (2.3: a hybrid key's id) account for it, §37.6.
                    errors.push(SeriesError::IssuersChanged { sequence: s, file });
                }
            } else if let Some(&k) = by_hash.get(&g.head.previous) {
                // Across a gap, a previous naming a present generation other
                // than s - 1 is still a skip.
                if k + 1 != s {
                    errors.push(SeriesError::SequenceSkip {
                        sequence: s,
                        previous_of: k,
                        file,
                    });
                }
            }
        }
        prev = Some((s, g));
    }
    if errors.is_empty() {
        Ok(chain)
    } else {
        Err(errors)
    }
}

/// Finds, among `gens` (already checked by [`check_chain`]), the file of
/// each generation `member` inherits: its index in `gens`, in the order
/// of `member.inherits`. A file with the generation's sequence and
/// another chain hash is [`SeriesError::WrongGeneration`]; none is
/// [`SeriesError::MissingGeneration`].
pub fn resolve(
    member: &SeriesMember,
    gens: &[Generation],
    chain: &Chain,
) -> std::result::Result<Vec<usize>, SeriesError> {
    member
        .inherits
        .iter()
        .map(|item| match chain.by_sequence.get(&item.sequence) {
            Some(&i) if gens[i].chain == item.chain => Ok(i),
            Some(&i) => Err(SeriesError::WrongGeneration {
                sequence: item.sequence,
                file: gens[i].file.clone(),
                expected: item.chain,
                found: gens[i].chain,
            }),
            None => Err(SeriesError::MissingGeneration {
                sequence: item.sequence,
                hint: item.file.clone(),
            }),
        })
        .collect()
}

/// The name `pack --update` gives generation `sequence` beside `previous`
/// (a file name): its stem (without `.lgn` and a `.<digits>` before it),
/// a dot, the sequence in at least 8 digits, `.lgn`.
pub fn generation_file_name(previous: &str, sequence: u64) -> String {
    let stem = previous.strip_suffix(".lgn").unwrap_or(previous);
    let stem = match stem.rsplit_once('.') {
        Some((s, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => stem,
    };
    format!("{stem}.{sequence:08}.lgn")
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 16] = [7; 16];

    /// A chain of `n` generations, each signed by key 1.
    fn chain_of(n: u64) -> Vec<Generation> {
        let mut out: Vec<Generation> = Vec::new();
        for s in 0..n {
            let previous = out.last().map_or([0; 32], |g| g.chain);
            out.push(generation(s, previous, 1_000 + s as i64, &format!("g{s}")));
        }
        out
    }

    fn generation(s: u64, previous: [u8; 32], created: i64, file: &str) -> Generation {
        let head = Head {
            archive_id: A,
            sequence: s,
            previous,
            created,
            records: 10,
            bytes: 100,
            records_root: [s as u8; 32],
            entries: [1; 32],
            public: [2; 32],
        };
        let bytes = head.to_bytes();
        Generation {
            file: file.into(),
            chain: chain_hash(&bytes, b"sig"),
            head,
            issuers: vec![[9; 32]],
            ml_dsa_65: Vec::new(),
            signers: vec![[9; 32]],
        }
    }

    fn kinds(r: std::result::Result<Chain, Vec<SeriesError>>) -> Vec<&'static str> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.kind())
            .collect()
    }

    #[test]
    fn a_good_chain_passes_and_copies_count_once() {
        let mut g = chain_of(4);
        g.push(g[2].clone());
        let c = check_chain(&A, &g).unwrap();
        assert_eq!(c.newest(), Some((3, 3)));
        assert_eq!(c.oldest(), Some((0, 0)));
        // History before the oldest generation present is not a gap.
        assert!(check_chain(&A, &g[2..]).is_ok());
    }

    #[test]
    fn another_series_is_named() {
        let mut g = chain_of(2);
        g[1].head.archive_id = [8; 16];
        let e = check_chain(&A, &g).unwrap_err();
        assert_eq!(
            e,
            vec![SeriesError::OtherSeries {
                file: "g1".into(),
                archive: [8; 16]
            }]
        );
        assert!(e[0].to_string().contains("another series"));
    }

    #[test]
    fn a_gap_is_named() {
        let g = chain_of(5);
        let some = vec![g[0].clone(), g[1].clone(), g[4].clone()];
        let e = check_chain(&A, &some).unwrap_err();
        assert_eq!(
            e,
            vec![SeriesError::SeriesGap {
                after: 1,
                before: 4
            }]
        );
        assert!(e[0].to_string().contains("not 2 to 3"));
    }

    #[test]
    fn a_wrong_previous_and_a_skip_are_told_apart() {
        let mut g = chain_of(3);
        g[2].head.previous = [5; 32];
        assert_eq!(kinds(check_chain(&A, &g)), vec!["wrong-previous"]);
        let mut g = chain_of(3);
        g[2].head.previous = g[0].chain;
        let e = check_chain(&A, &g).unwrap_err();
        assert_eq!(
            e,
            vec![SeriesError::SequenceSkip {
                sequence: 2,
                previous_of: 0,
                file: "g2".into()
            }]
        );
    }

    #[test]
    fn a_fork_needs_one_signer_for_both() {
        let mut g = chain_of(3);
        let mut other = generation(2, g[1].chain, 2_000, "other");
        g.push(other.clone());
        let e = check_chain(&A, &g).unwrap_err();
        assert!(
            matches!(&e[..], [SeriesError::Fork { sequence: 2, issuer, .. }] if *issuer == [9; 32])
        );
        assert!(e[0].to_string().starts_with("FORK: g2 and other"));
        // Signed by someone else: a conflict, not evidence of a fork.
        g.pop();
        other.signers = vec![[3; 32]];
        g.push(other);
        assert_eq!(kinds(check_chain(&A, &g)), vec!["conflict"]);
    }

    #[test]
    fn time_going_back_and_changed_issuers_are_named() {
        let mut g = chain_of(2);
        let created = g[0].head.created - 1;
        g[1] = generation(1, g[0].chain, created, "g1");
        assert_eq!(kinds(check_chain(&A, &g)), vec!["created-backwards"]);
        let mut g = chain_of(2);
        g[1].issuers = vec![[4; 32]];
        assert_eq!(kinds(check_chain(&A, &g)), vec!["issuers-changed"]);
        // A hybrid issuer's post-quantum half dropped, swapped or added
        // while its Ed25519 key stays (what one who broke Ed25519 alone
        // could sign) is a change of issuers too.
        let mut g = chain_of(3);
        g[0].ml_dsa_65 = vec![vec![1; 1952]];
        g[1].ml_dsa_65 = vec![vec![1; 1952]];
        assert!(check_chain(&A, &g[..2]).is_ok());
        assert_eq!(kinds(check_chain(&A, &g)), vec!["issuers-changed"]);
        g[2].ml_dsa_65 = vec![vec![2; 1952]];
        assert_eq!(kinds(check_chain(&A, &g)), vec!["issuers-changed"]);
        g[2].ml_dsa_65 = vec![vec![1; 1952]];
        assert!(check_chain(&A, &g).is_ok());
        g[0].ml_dsa_65.clear();
        assert_eq!(kinds(check_chain(&A, &g)), vec!["issuers-changed"]);
    }

    #[test]
    fn a_change_of_issuers_passes_only_with_its_handover() {
        use crate::keys::IssuerKey;
        let (old, new, other) = (
            IssuerKey::from_bytes([1; 32]),
            IssuerKey::from_bytes([2; 32]),
            IssuerKey::from_bytes([3; 32]),
        );
        let mut g = chain_of(3);
        for x in &mut g {
            x.issuers = vec![old.public()];
        }
        for x in &mut g[2..] {
            x.issuers = vec![new.public()];
        }
        let handover = |from: u64, by: &IssuerKey, to: &IssuerKey| {
            let mut h = Handover::new(A, from, by.public(), to.public(), 1_800_000_000);
            h.sign(by).unwrap();
            (h, "issuer/h.handover".to_string())
        };
        let changed = |r| kinds(r) == vec!["issuers-changed"];
        assert!(changed(check_chain(&A, &g)));
        assert!(check_chain_handed(&A, &g, &[handover(2, &old, &new)]).is_ok());
        // Taking effect at another generation, by a key that is not the
        // old issuer, to another key, or of another series: refused.
        for wrong in [
            handover(1, &old, &new),
            handover(3, &old, &new),
            handover(2, &other, &new),
            handover(2, &old, &other),
        ] {
            assert!(changed(check_chain_handed(&A, &g, &[wrong])));
        }
        let (mut h, f) = handover(2, &old, &new);
        h.archive_id = [8; 16];
        h.sign(&old).unwrap();
        assert!(changed(check_chain_handed(&A, &g, &[(h, f)])));
        // Forged: claims the old key, signed by another.
        let (mut h, _) = handover(2, &other, &new);
        h.old = old.public();
        assert!(changed(check_chain_handed(&A, &g, &[(h, "forged".into())])));
    }

    #[test]
    fn a_handover_to_or_from_a_hybrid_key_is_followed_by_its_pins() {
        // 2.3 (SPEC §37.6): the issuers compared are pins, so a handover
        // whose old or new key is hybrid (named by its id) accounts for
        // the change of both items.
        use crate::keys::IssuerKey;
        let ed = IssuerKey::from_bytes([1; 32]);
        let hy = IssuerKey::from_seeds([2; 32], Some([3; 32]));
        // A hybrid key whose Ed25519 half is `ed`'s: an upgrade in place.
        let up = IssuerKey::from_seeds([1; 32], Some([4; 32]));
        let set = |x: &mut Generation, k: &IssuerKey| {
            x.issuers = vec![k.public()];
            x.ml_dsa_65 = k
                .ml_dsa_seed()
                .map(|s| crate::pqsig::public_of(s).to_vec())
                .into_iter()
                .collect();
        };
        let handover = |by: &IssuerKey, to: &IssuerKey| {
            let mut h = Handover::new(A, 2, by.public_key().pin(), to.public_key().pin(), 1);
            h.sign(by).unwrap();
            (h, "issuer/h.handover".to_string())
        };
        let changed = |r| kinds(r) == vec!["issuers-changed"];
        for (a, b) in [(&ed, &hy), (&hy, &ed), (&hy, &up), (&ed, &up)] {
            let mut g = chain_of(3);
            set(&mut g[0], a);
            set(&mut g[1], a);
            set(&mut g[2], b);
            assert!(changed(check_chain(&A, &g)));
            let h = handover(a, b);
            assert!(check_chain_handed(&A, &g, std::slice::from_ref(&h)).is_ok());
            // The new generation stripped of its ML-DSA-65 item, or
            // carrying another: not what the handover names. (Stripped
            // after an upgrade in place, it names generation 1's issuer
            // again, no change of issuers: superseding is §37.3's check.)
            if b.is_hybrid() && a.public() != b.public() {
                let mut stripped = g.clone();
                stripped[2].ml_dsa_65.clear();
                assert!(changed(check_chain_handed(
                    &A,
                    &stripped,
                    std::slice::from_ref(&h)
                )));
                let mut swapped = g.clone();
                swapped[2].ml_dsa_65 = vec![vec![7; 1952]];
                assert!(changed(check_chain_handed(
                    &A,
                    &swapped,
                    std::slice::from_ref(&h)
                )));
            }
            // A hybrid old key's handover stripped of its ML-DSA-65 line
            // is not the old key's.
            if a.is_hybrid() {
                let (mut bare, f) = h.clone();
                bare.signatures
                    .retain(|l| l.algorithm == crate::v2::head::ED25519);
                assert!(changed(check_chain_handed(&A, &g, &[(bare, f)])));
            }
        }
    }

    #[test]
    fn two_handovers_by_one_key_that_differ_are_a_fork() {
        use crate::keys::IssuerKey;
        let key = |n: u8| IssuerKey::from_bytes([n; 32]);
        let (old, a, b) = (key(1), key(2), key(3));
        let handover = |from: u64, to: &IssuerKey, time: i64, file: &str| {
            let mut h = Handover::new(A, from, old.public(), to.public(), time);
            h.sign(&old).unwrap();
            (h, file.to_string())
        };
        // Generation 2 names both new keys: 2.2 applied both handovers.
        let mut g = chain_of(3);
        for x in &mut g {
            x.issuers = vec![old.public()];
        }
        g[2].issuers = vec![a.public(), b.public()];
        let to_both = [
            handover(2, &a, 1_800_000_000, "issuer/a.handover"),
            handover(2, &b, 1_800_000_000, "issuer/b.handover"),
        ];
        assert_eq!(
            kinds(check_chain_handed(&A, &g, &to_both)),
            vec!["handover-fork"]
        );
        // A later `from` to another key, not applied at all: still a fork.
        g[2].issuers = vec![a.public()];
        let later = [
            handover(2, &a, 1_800_000_000, "issuer/a.handover"),
            handover(5, &b, 1_800_000_000, "issuer/b.handover"),
        ];
        assert_eq!(
            kinds(check_chain_handed(&A, &g, &later)),
            vec!["handover-fork"]
        );
        // The same statement made twice, at another time: one.
        let twice = [
            handover(2, &a, 1_800_000_000, "issuer/a.handover"),
            handover(2, &a, 1_800_000_100, "issuer/a2.handover"),
        ];
        assert!(check_chain_handed(&A, &g, &twice).is_ok());
        // A second handover that does not verify is not the key's: no fork.
        let (mut forged, f) = handover(5, &b, 1_800_000_000, "issuer/b.handover");
        forged.from = 6;
        let with_forged = [later[0].clone(), (forged, f)];
        assert!(check_chain_handed(&A, &g, &with_forged).is_ok());
        // Another series' handovers by the key are not this series'.
        let (mut other, f) = handover(5, &b, 1_800_000_000, "issuer/b.handover");
        other.archive_id = [8; 16];
        other.sign(&old).unwrap();
        assert!(check_chain_handed(&A, &g, &[later[0].clone(), (other, f)]).is_ok());
    }

    #[test]
    fn inherits_resolve_by_chain_hash() {
        let g = chain_of(3);
        let c = check_chain(&A, &g).unwrap();
        let member = SeriesMember {
            inherits: vec![
                Inherited {
                    sequence: 0,
                    chain: g[0].chain,
                    file: "g0".into(),
                    decoders: Vec::new(),
                },
                Inherited {
                    sequence: 1,
                    chain: g[1].chain,
                    file: "g1".into(),
                    decoders: Vec::new(),
                },
            ],
        };
        member.check(2).unwrap();
        assert_eq!(resolve(&member, &g, &c).unwrap(), vec![0, 1]);
        let mut wrong = member.clone();
        wrong.inherits[1].chain = [0; 32];
        assert_eq!(
            resolve(&wrong, &g, &c).unwrap_err().kind(),
            "wrong-generation"
        );
        let c01 = check_chain(&A, &g[..1]).unwrap();
        let e = resolve(&member, &g[..1], &c01).unwrap_err();
        assert_eq!(
            e,
            SeriesError::MissingGeneration {
                sequence: 1,
                hint: "g1".into()
            }
        );
    }

    #[test]
    fn hostile_members_are_refused() {
        let item = |s: u64, f: &str| Inherited {
            sequence: s,
            chain: [0; 32],
            file: f.into(),
            decoders: Vec::new(),
        };
        let m = |items: Vec<Inherited>| SeriesMember { inherits: items };
        assert!(m(vec![]).check(3).unwrap_err().contains("0 items"));
        assert!(m(vec![item(1, "a"), item(1, "b")])
            .check(3)
            .unwrap_err()
            .contains("not after"));
        assert!(m(vec![item(3, "a")])
            .check(3)
            .unwrap_err()
            .contains("not before"));
        for bad in [
            "",
            "a/b",
            "a\\b",
            "a\u{202e}b",
            "a\nb",
            "..",
            &"x".repeat(256),
        ] {
            assert!(m(vec![item(0, bad)]).check(3).is_err(), "{bad:?}");
        }
        assert!(m(vec![item(0, "register.00000000.lgn")]).check(1).is_ok());
        // JSON with a bad chain hash is refused by serde.
        assert!(serde_json::from_str::<SeriesMember>(
            r#"{"inherits":[{"sequence":0,"chain":"zz","file":"a"}]}"#
        )
        .is_err());
    }

    #[test]
    fn file_names_follow_the_stem() {
        assert_eq!(
            generation_file_name("register.lgn", 1),
            "register.00000001.lgn"
        );
        assert_eq!(
            generation_file_name("register.00000017.lgn", 18),
            "register.00000018.lgn"
        );
        assert_eq!(
            generation_file_name("a.b", 123_456_789),
            "a.b.123456789.lgn"
        );
    }
}

//! Issuer succession and revocation (SPEC §37, format 2.2): the two signed
//! statements that let a series outlive its issuer's key, and the rules a
//! reader pinned to one key follows to know which key may sign which
//! generation.
//!
//! - A **handover** is signed by the old key: "from generation `from` on,
//!   the new key signs this series in my place". It ends the old key's
//!   tenure: a generation at or after `from` signed by the old key alone
//!   is refused ([`SuccessionError::Superseded`]).
//! - A **revocation** names a key, the last generation it signed
//!   legitimately and a reason; signed by the key itself or by a key that
//!   succeeded it. A generation after `last` signed by that key is refused
//!   ([`SuccessionError::Revoked`]).
//!
//! [`Succession::follow`] walks the handovers from a pinned key, bounded
//! ([`MAX_CHAIN`] links, [`MAX_STATEMENTS`] statements) and refusing loops
//! and forks (two handovers by one key to different keys); it costs
//! `O(n log n)` in statements. Everything here is pure: no clock, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use super::head::{self, parse_signatures, signatures_to_bytes, SignatureLine, ED25519};
use crate::keys::IssuerKey;
use crate::time::{format_rfc3339, parse_rfc3339};
use crate::{hex, pqsig};
use crate::{Error, Result};

/// The first line of a handover.
pub const HANDOVER_MAGIC: &str = "legation-handover 2.2";
/// The first line of a revocation.
pub const REVOCATION_MAGIC: &str = "legation-revocation 2.2";
/// What a handover's signatures sign before its lines.
pub const HANDOVER_PREFIX: &[u8] = b"legation handover v1\n";
/// What a revocation's signatures sign before its lines.
pub const REVOCATION_PREFIX: &[u8] = b"legation revocation v1\n";
/// The largest statement file a reader accepts (signature lines of
/// post-quantum algorithms are kilobytes).
pub const MAX_STATEMENT: usize = 64 << 10;
/// At most this many bytes of reason in a revocation.
pub const MAX_REASON: usize = 512;
/// At most this many handovers in the chain from a pinned key.
pub const MAX_CHAIN: usize = 1024;
/// At most this many statements (handovers and revocations) of a series
/// a reader takes into account.
pub const MAX_STATEMENTS: usize = 4096;
/// The file name extension of a handover beside a series (`issuer/`).
pub const HANDOVER_EXT: &str = "handover";
/// The file name extension of a revocation beside a series (`issuer/`).
pub const REVOCATION_EXT: &str = "revocation";

/// The issuer's handover: from generation `from` of series `archive_id`
/// on, `new` signs in `old`'s place. Signed by `old`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The series (archive id).
    pub archive_id: [u8; 16],
    /// The first generation the new key signs.
    pub from: u64,
    /// The pin of the key handing over (an Ed25519 key or a hybrid id).
    pub old: [u8; 32],
    /// The pin of the key taking over.
    pub new: [u8; 32],
    /// When the statement was made, seconds since 1970.
    pub time: i64,
    /// The signature lines (SPEC §27.3's form) over [`HANDOVER_PREFIX`] and
    /// the lines.
    pub signatures: Vec<SignatureLine>,
}

/// A revocation of an issuer key for one series: `key` signed generations
/// up to `last` legitimately, and none after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The series (archive id).
    pub archive_id: [u8; 16],
    /// The pin of the revoked key.
    pub key: [u8; 32],
    /// The last generation the key signed legitimately.
    pub last: u64,
    /// When the statement was made, seconds since 1970.
    pub time: i64,
    /// Why, in words: 1 to [`MAX_REASON`] bytes of UTF-8 with no control
    /// or bidirectional formatting character.
    pub reason: String,
    /// The signature lines over [`REVOCATION_PREFIX`] and the lines.
    pub signatures: Vec<SignatureLine>,
}

/// Why a statement, a chain of handovers or a generation's signer is
/// refused (SPEC §37). Each names the file or key concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuccessionError {
    /// A handover not signed by the key it hands over from (no line of
    /// that key, or a line that does not verify).
    #[error("{file}: the handover is not signed by the key it hands over from ({old})")]
    NotSignedByOld {
        /// The file.
        file: String,
        /// The old key's fingerprint.
        old: String,
    },
    /// A line of a known algorithm in a statement that does not verify,
    /// or that a key other than the one the rules allow signed.
    #[error("{file}: the signature of {key} does not verify or is not allowed here")]
    BadSignature {
        /// The file.
        file: String,
        /// The signer's fingerprint.
        key: String,
    },
    /// A statement about another series.
    #[error("{file}: a statement about series {archive}, not {expected}")]
    OtherSeries {
        /// The file.
        file: String,
        /// The series it names.
        archive: String,
        /// The series read.
        expected: String,
    },
    /// Two handovers by one key that disagree: evidence of a stolen or
    /// misused key.
    #[error(
        "FORK: {first} and {second} are two different handovers by issuer {key} (a stolen or \
         misused issuer key)"
    )]
    Fork {
        /// The key that signed both.
        key: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// The chain of handovers comes back to a key it passed.
    #[error("{file}: the handover to {key} leads back to a key of the chain (a loop)")]
    Loop {
        /// The handover closing the loop.
        file: String,
        /// The key it hands over to.
        key: String,
    },
    /// A handover whose `from` is before the generation its old key took
    /// over at.
    #[error(
        "{file}: hands over from generation {from}, before {took_over}, when its key took over"
    )]
    GoesBack {
        /// The file.
        file: String,
        /// Its `from`.
        from: u64,
        /// When the old key's tenure began.
        took_over: u64,
    },
    /// More handovers in the chain than [`MAX_CHAIN`].
    #[error("the chain of handovers from {pinned} is longer than {max}")]
    ChainTooLong {
        /// The pinned key's fingerprint.
        pinned: String,
        /// The bound.
        max: usize,
    },
    /// More statements than [`MAX_STATEMENTS`].
    #[error("{count} statements of succession, more than {max}")]
    TooMany {
        /// How many were given.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A revocation signed by neither the revoked key nor a key that
    /// succeeded it.
    #[error(
        "{file}: the revocation of {key} is signed by neither that key nor a key that succeeded \
         it"
    )]
    Unauthorised {
        /// The file.
        file: String,
        /// The revoked key's fingerprint.
        key: String,
    },
    /// A generation signed by a revoked key after the last generation it
    /// signed legitimately.
    #[error(
        "REVOKED: generation {sequence} is signed by issuer {key}, revoked after generation \
         {last} ({reason}; {file})"
    )]
    Revoked {
        /// The generation.
        sequence: u64,
        /// The key's fingerprint.
        key: String,
        /// The last generation it signed legitimately.
        last: u64,
        /// The revocation's reason.
        reason: String,
        /// The revocation's file.
        file: String,
    },
    /// A generation signed by a key that had handed the series over
    /// before it.
    #[error(
        "generation {sequence} is signed by issuer {key}, which handed the series over to \
         {successor} from generation {from} ({file})"
    )]
    Superseded {
        /// The generation.
        sequence: u64,
        /// The signer's fingerprint.
        key: String,
        /// The generation the handover took effect.
        from: u64,
        /// The successor's fingerprint.
        successor: String,
        /// The handover's file.
        file: String,
    },
    /// A generation signed by a key of the chain before its tenure began.
    #[error(
        "generation {sequence} is signed by issuer {key}, whose tenure begins at generation \
         {from} ({file})"
    )]
    BeforeTenure {
        /// The generation.
        sequence: u64,
        /// The signer's fingerprint.
        key: String,
        /// The first generation it may sign.
        from: u64,
        /// The handover that gave it the series.
        file: String,
    },
    /// A generation signed by no key the chain from the pinned key
    /// reaches.
    #[error(
        "generation {sequence} is signed by {found}, not by the pinned issuer {pinned} or a key \
         it handed the series to"
    )]
    NotInChain {
        /// The generation.
        sequence: u64,
        /// The signers' fingerprints, or `nobody`.
        found: String,
        /// The pinned key's fingerprint.
        pinned: String,
    },
}

/// A statement of either kind, as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A handover.
    Handover(Handover),
    /// A revocation.
    Revocation(Revocation),
}

impl Statement {
    /// Parses a handover or a revocation, by its first line. `file` names
    /// it in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Statement> {
        if bytes.starts_with(HANDOVER_MAGIC.as_bytes()) {
            Handover::parse(bytes, file).map(Statement::Handover)
        } else if bytes.starts_with(REVOCATION_MAGIC.as_bytes()) {
            Revocation::parse(bytes, file).map(Statement::Revocation)
        } else {
            Err(Error::invalid(
                file,
                format!("neither `{HANDOVER_MAGIC}` nor `{REVOCATION_MAGIC}`"),
            ))
        }
    }

    /// The series the statement is about.
    pub fn archive_id(&self) -> [u8; 16] {
        match self {
            Statement::Handover(h) => h.archive_id,
            Statement::Revocation(r) => r.archive_id,
        }
    }
}

/// The pin of an issuer key (SPEC §27.4): its Ed25519 key, or the id of
/// a hybrid pair. Statements name keys by their pins.
pub fn pin_of(key: &IssuerKey) -> [u8; 32] {
    key.public_key().pin()
}

/// Signs `message` with every half of an issuer key ([`pqsig::sign`]),
/// adding the lines to `lines` (replacing lines of the same keys) in the
/// order of SPEC §27.3.
fn put_lines(lines: &mut Vec<SignatureLine>, key: &IssuerKey, message: &[u8]) -> Result<()> {
    for line in pqsig::sign(key, message)? {
        lines.retain(|l| (&l.algorithm, &l.public_key) != (&line.algorithm, &line.public_key));
        lines.push(line);
    }
    lines.sort_by(|a, b| (&a.algorithm, &a.public_key).cmp(&(&b.algorithm, &b.public_key)));
    Ok(())
}

/// The pins met by `lines` ([`pqsig::pin_met`]'s rule: every Ed25519 key
/// whose line verified, and the hybrid id of every verified Ed25519 and
/// ML-DSA-65 pair), and the first line of a known algorithm that did not
/// verify. At most 64 lines (§27.3), so the pairs are few.
pub fn pins_met(
    lines: &[SignatureLine],
    verify: impl Fn(&SignatureLine) -> Option<bool>,
) -> (Vec<[u8; 32]>, Option<&SignatureLine>) {
    let mut failed = None;
    let verified: Vec<&SignatureLine> = lines
        .iter()
        .filter(|l| match verify(l) {
            Some(true) => true,
            Some(false) => {
                failed = failed.or(Some(*l));
                false
            }
            None => false,
        })
        .collect();
    let ed: Vec<[u8; 32]> = verified
        .iter()
        .filter(|l| l.algorithm == ED25519)
        .filter_map(|l| <[u8; 32]>::try_from(l.public_key.as_slice()).ok())
        .collect();
    let mut pins = ed.clone();
    for m in verified.iter().filter(|l| l.algorithm == pqsig::ML_DSA_65) {
        pins.extend(ed.iter().map(|e| pqsig::hybrid_id(e, &m.public_key)));
    }
    (pins, failed)
}

/// The pins a statement's lines meet over `message`; a line of a known
/// algorithm that does not verify is an error naming its key.
fn statement_pins(
    lines: &[SignatureLine],
    message: &[u8],
    file: &str,
) -> std::result::Result<Vec<[u8; 32]>, SuccessionError> {
    match pins_met(lines, |l| pqsig::verify_line(l, message)) {
        (_, Some(bad)) => Err(SuccessionError::BadSignature {
            file: file.into(),
            key: crate::crypto::fingerprint_of(&bad.public_key),
        }),
        (pins, None) => Ok(pins),
    }
}

/// Splits a statement into its lines after the first (each `key value`,
/// the keys given, in order) and its signature lines, refusing any other
/// shape. The values may hold spaces (a reason does).
fn split_statement<'a, const N: usize>(
    bytes: &'a [u8],
    file: &str,
    magic: &str,
    keys: [&str; N],
) -> Result<([&'a str; N], Vec<SignatureLine>)> {
    let bad = |what: String| Error::invalid(file, what);
    if bytes.len() > MAX_STATEMENT {
        return Err(bad(format!(
            "{} bytes, more than the {MAX_STATEMENT} a statement may have",
            bytes.len()
        )));
    }
    let end = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| bad("no empty line after the statement's lines".into()))?;
    let body = std::str::from_utf8(&bytes[..end]).map_err(|_| bad("not UTF-8".into()))?;
    let mut lines = body.split('\n');
    if lines.next() != Some(magic) {
        return Err(bad(format!("line 1 is not `{magic}`")));
    }
    let mut v = [""; N];
    for (i, key) in keys.iter().enumerate() {
        v[i] = lines
            .next()
            .and_then(|l| l.strip_prefix(key))
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| bad(format!("line {} is not `{key} …`", i + 2)))?;
    }
    if lines.next().is_some() {
        return Err(bad(format!(
            "a line after `{}`: 2.2 defines none",
            keys[N - 1]
        )));
    }
    let signatures = parse_signatures(&bytes[end + 2..]).map_err(|e| match e {
        Error::Invalid { what, .. } => bad(format!("signatures: {what}")),
        other => other,
    })?;
    Ok((v, signatures))
}

/// A statement's file: its lines, an empty line, its signature lines.
fn statement_bytes(mut body: Vec<u8>, signatures: &[SignatureLine]) -> Vec<u8> {
    body.push(b'\n');
    body.extend_from_slice(&signatures_to_bytes(signatures));
    body
}

/// Whether `reason` may stand in a revocation: 1 to [`MAX_REASON`] bytes,
/// no control character (C0, DEL, C1) and no bidirectional formatting
/// character (SPEC §17.4's list), no leading or trailing space.
pub fn reason_ok(reason: &str) -> bool {
    !reason.is_empty()
        && reason.len() <= MAX_REASON
        && !reason.starts_with(' ')
        && !reason.ends_with(' ')
        && reason.chars().all(|c| {
            !c.is_control()
                && !matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}')
        })
}

impl Handover {
    /// A handover with no signature yet.
    pub fn new(archive_id: [u8; 16], from: u64, old: [u8; 32], new: [u8; 32], time: i64) -> Self {
        Handover {
            archive_id,
            from,
            old,
            new,
            time,
            signatures: Vec::new(),
        }
    }

    /// The signed lines.
    pub fn body(&self) -> Vec<u8> {
        format!(
            "{HANDOVER_MAGIC}\narchive {}\nfrom {}\nold {}\nnew {}\ntime {}\n",
            hex::encode(&self.archive_id),
            self.from,
            hex::encode(&self.old),
            hex::encode(&self.new),
            format_rfc3339(self.time),
        )
        .into_bytes()
    }

    /// What each signature signs.
    pub fn signed_message(&self) -> Vec<u8> {
        [HANDOVER_PREFIX, &self.body()].concat()
    }

    /// Signs with the old key, with each of its halves. Refuses any other
    /// key, so that a handover is never signed by a key it does not hand
    /// over from.
    pub fn sign(&mut self, old: &IssuerKey) -> Result<()> {
        if pin_of(old) != self.old {
            return Err(Error::invalid(
                "handover",
                "the signing key is not the key handed over from",
            ));
        }
        let message = self.signed_message();
        put_lines(&mut self.signatures, old, &message)
    }

    /// The file: the lines, an empty line, the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        statement_bytes(self.body(), &self.signatures)
    }

    /// Parses a handover, refusing any byte [`Handover::to_bytes`] would
    /// not have written. Does not check signatures ([`Handover::check`]).
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self> {
        let bad = |what: &str| Error::invalid(file, what.to_string());
        let (v, signatures) = split_statement(
            bytes,
            file,
            HANDOVER_MAGIC,
            ["archive", "from", "old", "new", "time"],
        )?;
        let h = Handover {
            archive_id: hex::decode_array(v[0])
                .ok_or_else(|| bad("archive is not 32 lower-case hex digits"))?,
            from: head::decimal(v[1])
                .ok_or_else(|| bad("from is not a decimal number without leading zeros"))?,
            old: hex::decode_array(v[2])
                .ok_or_else(|| bad("old is not 64 lower-case hex digits"))?,
            new: hex::decode_array(v[3])
                .ok_or_else(|| bad("new is not 64 lower-case hex digits"))?,
            time: parse_rfc3339(v[4])
                .ok_or_else(|| bad("time is not a UTC time YYYY-MM-DDTHH:MM:SSZ"))?,
            signatures,
        };
        if h.old == h.new {
            return Err(bad("hands over from a key to itself"));
        }
        if h.to_bytes() != bytes {
            return Err(bad("not in its one spelling"));
        }
        Ok(h)
    }

    /// Checks the signatures (SPEC §37.1): every line of a known
    /// algorithm verifies, and the lines meet the old key's pin (both
    /// halves of a hybrid key).
    pub fn check(&self, file: &str) -> std::result::Result<(), SuccessionError> {
        let not_old = || SuccessionError::NotSignedByOld {
            file: file.into(),
            old: crate::crypto::fingerprint(&self.old),
        };
        // A line of the old key (either half of a hybrid one) that fails is
        // the old key not signing; another key's, a bad signature.
        let ours = |bad: &SignatureLine| match bad.algorithm.as_str() {
            ED25519 => bad.public_key[..] == self.old,
            _ => self.signatures.iter().any(|l| {
                <[u8; 32]>::try_from(l.public_key.as_slice())
                    .is_ok_and(|e| pqsig::hybrid_id(&e, &bad.public_key) == self.old)
            }),
        };
        let message = self.signed_message();
        let pins = match pins_met(&self.signatures, |l| pqsig::verify_line(l, &message)) {
            (_, Some(bad)) if ours(bad) => return Err(not_old()),
            (_, Some(bad)) => {
                return Err(SuccessionError::BadSignature {
                    file: file.into(),
                    key: crate::crypto::fingerprint_of(&bad.public_key),
                })
            }
            (pins, None) => pins,
        };
        if pins.contains(&self.old) {
            Ok(())
        } else {
            Err(not_old())
        }
    }

    /// Whether two handovers say the same (they may differ in time and
    /// signatures: the same statement made twice).
    fn same_as(&self, other: &Handover) -> bool {
        (self.archive_id, self.from, self.old, self.new)
            == (other.archive_id, other.from, other.old, other.new)
    }
}

impl Revocation {
    /// A revocation with no signature yet; `reason` must pass
    /// [`reason_ok`].
    pub fn new(
        archive_id: [u8; 16],
        key: [u8; 32],
        last: u64,
        time: i64,
        reason: &str,
    ) -> Result<Self> {
        if !reason_ok(reason) {
            return Err(Error::invalid(
                "revocation",
                format!(
                    "the reason must be 1 to {MAX_REASON} bytes of text on one line, with no \
                     control or bidirectional formatting character and no space at either end"
                ),
            ));
        }
        Ok(Revocation {
            archive_id,
            key,
            last,
            time,
            reason: reason.into(),
            signatures: Vec::new(),
        })
    }

    /// The signed lines.
    pub fn body(&self) -> Vec<u8> {
        format!(
            "{REVOCATION_MAGIC}\narchive {}\nkey {}\nlast {}\ntime {}\nreason {}\n",
            hex::encode(&self.archive_id),
            hex::encode(&self.key),
            self.last,
            format_rfc3339(self.time),
            self.reason,
        )
        .into_bytes()
    }

    /// What each signature signs.
    pub fn signed_message(&self) -> Vec<u8> {
        [REVOCATION_PREFIX, &self.body()].concat()
    }

    /// Adds a signature by `key`, with each of its halves: the revoked
    /// key itself, or a key that succeeded it (a reader checks which,
    /// [`Succession::follow`]).
    pub fn sign(&mut self, key: &IssuerKey) -> Result<()> {
        let message = self.signed_message();
        put_lines(&mut self.signatures, key, &message)
    }

    /// The file: the lines, an empty line, the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        statement_bytes(self.body(), &self.signatures)
    }

    /// Parses a revocation, refusing any byte [`Revocation::to_bytes`]
    /// would not have written. Does not check signatures.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self> {
        let bad = |what: &str| Error::invalid(file, what.to_string());
        let (v, signatures) = split_statement(
            bytes,
            file,
            REVOCATION_MAGIC,
            ["archive", "key", "last", "time", "reason"],
        )?;
        if !reason_ok(v[4]) {
            return Err(bad(
                "the reason is not 1 to 512 bytes of text without control or bidirectional \
                 formatting characters or spaces at either end",
            ));
        }
        let r = Revocation {
            archive_id: hex::decode_array(v[0])
                .ok_or_else(|| bad("archive is not 32 lower-case hex digits"))?,
            key: hex::decode_array(v[1])
                .ok_or_else(|| bad("key is not 64 lower-case hex digits"))?,
            last: head::decimal(v[2])
                .ok_or_else(|| bad("last is not a decimal number without leading zeros"))?,
            time: parse_rfc3339(v[3])
                .ok_or_else(|| bad("time is not a UTC time YYYY-MM-DDTHH:MM:SSZ"))?,
            reason: v[4].into(),
            signatures,
        };
        if r.to_bytes() != bytes {
            return Err(bad("not in its one spelling"));
        }
        Ok(r)
    }

    /// The pins its lines meet; every line of a known algorithm must
    /// verify (an error names the first that does not), and at least one
    /// pin must be met.
    pub fn signers(&self, file: &str) -> std::result::Result<Vec<[u8; 32]>, SuccessionError> {
        let s = statement_pins(&self.signatures, &self.signed_message(), file)?;
        if s.is_empty() {
            return Err(SuccessionError::Unauthorised {
                file: file.into(),
                key: crate::crypto::fingerprint(&self.key),
            });
        }
        Ok(s)
    }
}

/// One key's tenure in a chain: the generations `from..until` it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenure {
    /// The key.
    pub key: [u8; 32],
    /// The first generation it signs (0 for the pinned key).
    pub from: u64,
    /// The first generation its successor signs; `None` for the last key.
    pub until: Option<u64>,
    /// The handover that gave it the series (`None` for the pinned key).
    pub given_by: Option<String>,
}

/// A revocation a reader accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The last generation the key signed legitimately (the lowest of the
    /// accepted revocations of the key).
    pub last: u64,
    /// That revocation's reason.
    pub reason: String,
    /// That revocation's file.
    pub file: String,
}

/// Which key may sign which generation of a series, from a pinned key,
/// the handovers and the revocations a reader has seen (SPEC §37.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Succession {
    /// The series.
    pub archive_id: [u8; 16],
    /// The tenures, from the pinned key's on, in chain order.
    pub tenures: Vec<Tenure>,
    /// The revoked keys of the series.
    pub revoked: BTreeMap<[u8; 32], Revoked>,
}

impl Succession {
    /// The pinned key alone, holding every generation.
    pub fn pinned(archive_id: [u8; 16], pinned: [u8; 32]) -> Self {
        Succession {
            archive_id,
            tenures: vec![Tenure {
                key: pinned,
                from: 0,
                until: None,
                given_by: None,
            }],
            revoked: BTreeMap::new(),
        }
    }

    /// Follows the chain of handovers from `pinned` and takes in the
    /// revocations (each statement with the file that held it). Every
    /// statement must be about series `archive_id` and verify; two
    /// handovers by one key that disagree are a fork; a chain that loops,
    /// goes back, or passes [`MAX_CHAIN`] links is refused; a revocation
    /// must be signed by its key or a key that succeeded it. Handovers by
    /// keys the chain does not reach are checked and otherwise ignored.
    pub fn follow(
        archive_id: [u8; 16],
        pinned: [u8; 32],
        handovers: &[(Handover, String)],
        revocations: &[(Revocation, String)],
    ) -> std::result::Result<Self, SuccessionError> {
        let count = handovers.len() + revocations.len();
        if count > MAX_STATEMENTS {
            return Err(SuccessionError::TooMany {
                count,
                max: MAX_STATEMENTS,
            });
        }
        let series = |a: &[u8; 16], file: &str| {
            if a == &archive_id {
                Ok(())
            } else {
                Err(SuccessionError::OtherSeries {
                    file: file.into(),
                    archive: hex::encode(a),
                    expected: hex::encode(&archive_id),
                })
            }
        };
        let mut by_old: BTreeMap<[u8; 32], (&Handover, &str)> = BTreeMap::new();
        for (h, file) in handovers {
            series(&h.archive_id, file)?;
            h.check(file)?;
            match by_old.get(&h.old) {
                Some((other, _)) if other.same_as(h) => {}
                Some((_, first)) => {
                    return Err(SuccessionError::Fork {
                        key: crate::crypto::fingerprint(&h.old),
                        first: first.to_string(),
                        second: file.clone(),
                    })
                }
                None => {
                    by_old.insert(h.old, (h, file));
                }
            }
        }
        let mut out = Succession::pinned(archive_id, pinned);
        let mut seen = BTreeSet::from([pinned]);
        let mut key = pinned;
        while let Some((h, file)) = by_old.get(&key) {
            if out.tenures.len() > MAX_CHAIN {
                return Err(SuccessionError::ChainTooLong {
                    pinned: crate::crypto::fingerprint(&pinned),
                    max: MAX_CHAIN,
                });
            }
            if !seen.insert(h.new) {
                return Err(SuccessionError::Loop {
                    file: file.to_string(),
                    key: crate::crypto::fingerprint(&h.new),
                });
            }
            // The last tenure is the old key's, open until now.
            let current = out.tenures.last_mut().expect("the pinned key's tenure");
            if h.from < current.from {
                return Err(SuccessionError::GoesBack {
                    file: file.to_string(),
                    from: h.from,
                    took_over: current.from,
                });
            }
            current.until = Some(h.from);
            out.tenures.push(Tenure {
                key: h.new,
                from: h.from,
                until: None,
                given_by: Some(file.to_string()),
            });
            key = h.new;
        }
        let place: BTreeMap<[u8; 32], usize> = out
            .tenures
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key, i))
            .collect();
        for (r, file) in revocations {
            series(&r.archive_id, file)?;
            let signers = r.signers(file)?;
            let at = place.get(&r.key);
            let allowed = signers
                .iter()
                .any(|s| s == &r.key || matches!((at, place.get(s)), (Some(a), Some(b)) if b > a));
            if !allowed {
                return Err(SuccessionError::Unauthorised {
                    file: file.clone(),
                    key: crate::crypto::fingerprint(&r.key),
                });
            }
            let lower = out.revoked.get(&r.key).is_none_or(|k| r.last < k.last);
            if lower {
                out.revoked.insert(
                    r.key,
                    Revoked {
                        last: r.last,
                        reason: r.reason.clone(),
                        file: file.clone(),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The tenure holding generation `sequence`: the last whose `from` is
    /// at most `sequence` (tenures of no generation, `from == until`, never
    /// hold one).
    pub fn holder(&self, sequence: u64) -> &Tenure {
        let i = self.tenures.partition_point(|t| t.from <= sequence);
        // The pinned key's tenure begins at 0, so i >= 1.
        &self.tenures[i.saturating_sub(1)]
    }

    /// Decides whether generation `sequence`, whose head verified under
    /// `signers`, is signed as the chain says: by the key holding that
    /// generation, not revoked before it. Returns that key.
    pub fn admit(
        &self,
        sequence: u64,
        signers: &[[u8; 32]],
    ) -> std::result::Result<[u8; 32], SuccessionError> {
        let holder = self.holder(sequence);
        let fp = crate::crypto::fingerprint;
        if signers.contains(&holder.key) {
            if let Some(r) = self.revoked.get(&holder.key).filter(|r| r.last < sequence) {
                return Err(SuccessionError::Revoked {
                    sequence,
                    key: fp(&holder.key),
                    last: r.last,
                    reason: r.reason.clone(),
                    file: r.file.clone(),
                });
            }
            return Ok(holder.key);
        }
        for (i, t) in self.tenures.iter().enumerate() {
            if !signers.contains(&t.key) {
                continue;
            }
            if let Some(until) = t.until.filter(|&u| u <= sequence) {
                let next = &self.tenures[i + 1];
                return Err(SuccessionError::Superseded {
                    sequence,
                    key: fp(&t.key),
                    from: until,
                    successor: fp(&next.key),
                    file: next.given_by.clone().unwrap_or_default(),
                });
            }
            return Err(SuccessionError::BeforeTenure {
                sequence,
                key: fp(&t.key),
                from: t.from,
                file: t.given_by.clone().unwrap_or_default(),
            });
        }
        Err(SuccessionError::NotInChain {
            sequence,
            found: if signers.is_empty() {
                "nobody".into()
            } else {
                signers.iter().map(fp).collect::<Vec<_>>().join(", ")
            },
            pinned: fp(&self.tenures[0].key),
        })
    }

    /// The key that holds the series' newest tenure.
    pub fn current(&self) -> [u8; 32] {
        self.tenures.last().expect("the pinned key's tenure").key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 16] = [7; 16];
    const T: i64 = 1_800_000_000;

    fn key(n: u8) -> IssuerKey {
        IssuerKey::from_bytes([n; 32])
    }

    fn handover(old: u8, new: u8, from: u64) -> (Handover, String) {
        let mut h = Handover::new(A, from, key(old).public(), key(new).public(), T);
        h.sign(&key(old)).unwrap();
        (h, format!("h{old}-{new}"))
    }

    fn revocation(of: u8, by: u8, last: u64) -> (Revocation, String) {
        let mut r = Revocation::new(A, key(of).public(), last, T, "key lost").unwrap();
        r.sign(&key(by)).unwrap();
        (r, format!("r{of}-{by}"))
    }

    #[test]
    fn statements_round_trip_and_refuse_other_spellings() {
        let (h, _) = handover(1, 2, 5);
        let b = h.to_bytes();
        assert_eq!(Handover::parse(&b, "f").unwrap(), h);
        assert!(b.starts_with(b"legation-handover 2.2\narchive 0707"));
        let (r, _) = revocation(1, 1, 4);
        let rb = r.to_bytes();
        assert_eq!(Revocation::parse(&rb, "f").unwrap(), r);
        assert_eq!(
            Statement::parse(&rb, "f").unwrap(),
            Statement::Revocation(r)
        );
        // Each change of spelling is refused, naming the file.
        let text = String::from_utf8(b.clone()).unwrap();
        for bad in [
            text.replace("from 5", "from 05"),
            text.replace("old ", "old  "),
            text.replace("\n\n", "\n"),
            text.replace("Z\n", "+00:00\n"),
            text.replacen("\n", "\r\n", 1),
            format!("{text}\n"),
            text.replace("archive 07", "archive 7"),
        ] {
            let e = Handover::parse(bad.as_bytes(), "x.handover").unwrap_err();
            assert!(e.to_string().starts_with("x.handover"), "{e}");
        }
        assert!(Statement::parse(b"legation-heartbeat 2.0\n", "f").is_err());
        assert!(Handover::parse(&vec![b'a'; MAX_STATEMENT + 1], "f")
            .unwrap_err()
            .to_string()
            .contains("more than"));
        // A handover to itself says nothing.
        let mut same = Handover::new(A, 1, key(1).public(), key(1).public(), T);
        same.sign(&key(1)).unwrap();
        assert!(Handover::parse(&same.to_bytes(), "f").is_err());
    }

    #[test]
    fn reasons_are_one_line_of_plain_text() {
        assert!(reason_ok("Ministry reorganised; key retired"));
        assert!(reason_ok("võti kadunud"));
        for bad in [
            "",
            " x",
            "x ",
            "a\nb",
            "a\u{202E}b",
            "a\u{7f}",
            &"x".repeat(513),
        ] {
            assert!(!reason_ok(bad), "{bad:?}");
            assert!(Revocation::new(A, [1; 32], 0, T, bad).is_err());
        }
    }

    #[test]
    fn a_good_chain_of_two_handovers() {
        let s = Succession::follow(
            A,
            key(1).public(),
            &[handover(2, 3, 9), handover(1, 2, 4)],
            &[],
        )
        .unwrap();
        assert_eq!(s.tenures.len(), 3);
        assert_eq!(s.current(), key(3).public());
        let k = |n: u8| key(n).public();
        assert_eq!(s.admit(0, &[k(1)]).unwrap(), k(1));
        assert_eq!(s.admit(3, &[k(1)]).unwrap(), k(1));
        assert_eq!(s.admit(4, &[k(2)]).unwrap(), k(2));
        assert_eq!(s.admit(8, &[k(2), k(9)]).unwrap(), k(2));
        assert_eq!(s.admit(9, &[k(3)]).unwrap(), k(3));
        assert_eq!(s.admit(1 << 40, &[k(3)]).unwrap(), k(3));
        // The old key after its handover, the new before its tenure.
        assert!(matches!(
            s.admit(4, &[k(1)]),
            Err(SuccessionError::Superseded { from: 4, .. })
        ));
        assert!(matches!(
            s.admit(3, &[k(2)]),
            Err(SuccessionError::BeforeTenure { from: 4, .. })
        ));
        assert!(matches!(
            s.admit(3, &[k(8)]),
            Err(SuccessionError::NotInChain { .. })
        ));
        assert!(s.admit(3, &[]).unwrap_err().to_string().contains("nobody"));
        // Without the handovers, only the pinned key.
        let alone = Succession::follow(A, k(1), &[], &[]).unwrap();
        assert!(alone.admit(9, &[k(3)]).is_err());
        assert!(alone.admit(9, &[k(1)]).is_ok());
    }

    #[test]
    fn a_handover_signed_by_the_wrong_key_is_refused() {
        let mut h = Handover::new(A, 3, key(1).public(), key(2).public(), T);
        // The API refuses; a forger writes the line by hand.
        assert!(h.sign(&key(5)).is_err());
        h.signatures = pqsig::sign(&key(5), &h.signed_message()).unwrap();
        let e = Succession::follow(A, key(1).public(), &[(h.clone(), "f".into())], &[]);
        assert!(matches!(e, Err(SuccessionError::NotSignedByOld { .. })));
        // The old key's line over another statement.
        let other = Handover::new(A, 4, key(1).public(), key(2).public(), T);
        h.signatures = pqsig::sign(&key(1), &other.signed_message()).unwrap();
        let e = Succession::follow(A, key(1).public(), &[(h.clone(), "f".into())], &[]);
        assert!(matches!(e, Err(SuccessionError::NotSignedByOld { .. })));
        // The old key's good line beside a bad line of another key.
        h.signatures.clear();
        h.sign(&key(1)).unwrap();
        let forged = pqsig::sign(&key(6), b"something else").unwrap();
        h.signatures.extend(forged);
        h.signatures.sort_by(|a, b| a.public_key.cmp(&b.public_key));
        let e = Succession::follow(A, key(1).public(), &[(h, "f".into())], &[]);
        assert!(matches!(e, Err(SuccessionError::BadSignature { .. })));
    }

    #[test]
    fn a_revoked_keys_later_generation_is_refused() {
        let k = |n: u8| key(n).public();
        let s = Succession::follow(A, k(1), &[], &[revocation(1, 1, 6)]).unwrap();
        assert!(s.admit(6, &[k(1)]).is_ok());
        let e = s.admit(7, &[k(1)]).unwrap_err();
        assert!(matches!(
            e,
            SuccessionError::Revoked {
                last: 6,
                sequence: 7,
                ..
            }
        ));
        assert!(e.to_string().contains("key lost"), "{e}");
        // Two revocations of one key: the lower last wins (a thief's
        // revocation can only take, never give).
        let s =
            Succession::follow(A, k(1), &[], &[revocation(1, 1, 6), revocation(1, 1, 2)]).unwrap();
        assert!(s.admit(3, &[k(1)]).is_err());
        // A successor may revoke its predecessor; a stranger may not, and
        // a predecessor may not revoke its successor.
        let chain = [handover(1, 2, 4)];
        let s = Succession::follow(A, k(1), &chain, &[revocation(1, 2, 2)]).unwrap();
        assert!(matches!(
            s.admit(3, &[k(1)]),
            Err(SuccessionError::Revoked { .. })
        ));
        assert!(matches!(
            Succession::follow(A, k(1), &chain, &[revocation(1, 9, 2)]),
            Err(SuccessionError::Unauthorised { .. })
        ));
        assert!(matches!(
            Succession::follow(A, k(1), &chain, &[revocation(2, 1, 2)]),
            Err(SuccessionError::Unauthorised { .. })
        ));
        // The successor revoked: the series stops at its last.
        let s = Succession::follow(A, k(1), &chain, &[revocation(2, 2, 8)]).unwrap();
        assert!(s.admit(8, &[k(2)]).is_ok());
        assert!(s.admit(9, &[k(2)]).is_err());
    }

    #[test]
    fn statements_of_another_series_are_refused() {
        let mut r = Revocation::new([8; 16], key(1).public(), 0, T, "other").unwrap();
        r.sign(&key(1)).unwrap();
        let e = Succession::follow(A, key(1).public(), &[], &[(r, "r".into())]).unwrap_err();
        assert!(matches!(e, SuccessionError::OtherSeries { .. }));
        let mut h = Handover::new([8; 16], 1, key(1).public(), key(2).public(), T);
        h.sign(&key(1)).unwrap();
        let e = Succession::follow(A, key(1).public(), &[(h, "h".into())], &[]).unwrap_err();
        assert!(matches!(e, SuccessionError::OtherSeries { .. }));
    }

    #[test]
    fn loops_forks_and_going_back_are_refused() {
        let k1 = key(1).public();
        let e = Succession::follow(A, k1, &[handover(1, 2, 1), handover(2, 1, 2)], &[]);
        assert!(matches!(e, Err(SuccessionError::Loop { .. })));
        let e = Succession::follow(A, k1, &[handover(1, 2, 1), handover(1, 3, 1)], &[]);
        assert!(matches!(e, Err(SuccessionError::Fork { .. })), "{e:?}");
        assert!(e.unwrap_err().to_string().starts_with("FORK"));
        // The same statement made twice is no fork.
        let (mut again, _) = handover(1, 2, 1);
        again.time += 60;
        again.signatures.clear();
        again.sign(&key(1)).unwrap();
        assert!(Succession::follow(A, k1, &[handover(1, 2, 1), (again, "b".into())], &[]).is_ok());
        let e = Succession::follow(A, k1, &[handover(1, 2, 5), handover(2, 3, 4)], &[]);
        assert!(matches!(
            e,
            Err(SuccessionError::GoesBack {
                from: 4,
                took_over: 5,
                ..
            })
        ));
        // Handovers off the chain are checked but change nothing.
        let s = Succession::follow(A, k1, &[handover(4, 5, 1)], &[]).unwrap();
        assert_eq!(s.tenures.len(), 1);
    }

    #[test]
    fn a_chain_ten_thousand_long_is_bounded() {
        // Keys are derived from an index; a chain of 10,000 handovers.
        let k = |i: u32| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            IssuerKey::from_bytes(b)
        };
        let statements = |n: u32| -> Vec<(Handover, String)> {
            (0..n)
                .map(|i| {
                    let mut h = Handover::new(A, u64::from(i), k(i).public(), k(i + 1).public(), T);
                    h.sign(&k(i)).unwrap();
                    (h, format!("{i}"))
                })
                .collect()
        };
        let long = statements(10_000);
        assert!(matches!(
            Succession::follow(A, k(0).public(), &long, &[]),
            Err(SuccessionError::TooMany { count: 10_000, .. })
        ));
        let e = Succession::follow(A, k(0).public(), &long[..MAX_CHAIN + 1], &[]);
        assert!(
            matches!(e, Err(SuccessionError::ChainTooLong { .. })),
            "{e:?}"
        );
        let s = Succession::follow(A, k(0).public(), &long[..MAX_CHAIN], &[]).unwrap();
        assert_eq!(s.tenures.len(), MAX_CHAIN + 1);
        assert_eq!(
            s.admit(5000, &[k(MAX_CHAIN as u32).public()]).unwrap(),
            s.current()
        );
    }

    #[test]
    fn hybrid_keys_are_named_by_their_pins_and_sign_with_both_halves() {
        let hybrid = IssuerKey::from_seeds([0x31; 32], Some([0x32; 32]));
        let pin = pin_of(&hybrid);
        assert_ne!(pin, hybrid.public(), "a hybrid key's pin is its id");
        // Key 1 hands over to the hybrid key; the hybrid key to key 3.
        let mut to = Handover::new(A, 2, key(1).public(), pin, T);
        to.sign(&key(1)).unwrap();
        let mut from = Handover::new(A, 5, pin, key(3).public(), T);
        assert!(from.sign(&key(9)).is_err());
        from.sign(&hybrid).unwrap();
        assert_eq!(from.signatures.len(), 2, "an ed25519 and an ml-dsa-65 line");
        assert_eq!(Handover::parse(&from.to_bytes(), "f").unwrap(), from);
        let chain = [(to, "to".to_string()), (from.clone(), "from".to_string())];
        let s = Succession::follow(A, key(1).public(), &chain, &[]).unwrap();
        // A generation signed by the hybrid key meets its pin only with
        // both lines; the Ed25519 half alone is no holder of its tenure.
        assert_eq!(s.admit(3, &[hybrid.public(), pin]).unwrap(), pin);
        assert!(matches!(
            s.admit(3, &[hybrid.public()]),
            Err(SuccessionError::NotInChain { .. })
        ));
        // The hybrid key's handover stripped of its ML-DSA-65 line is not
        // the hybrid key's.
        let mut stripped = from.clone();
        stripped.signatures.retain(|l| l.algorithm == ED25519);
        let e = Succession::follow(
            A,
            key(1).public(),
            &[chain[0].clone(), (stripped, "s".into())],
            &[],
        );
        assert!(
            matches!(e, Err(SuccessionError::NotSignedByOld { .. })),
            "{e:?}"
        );
        // A flipped bit in the ML-DSA-65 line is a bad signature.
        let mut flipped = from;
        let ml = flipped
            .signatures
            .iter_mut()
            .find(|l| l.algorithm == pqsig::ML_DSA_65)
            .unwrap();
        ml.signature[7] ^= 1;
        let e = Succession::follow(
            A,
            key(1).public(),
            &[chain[0].clone(), (flipped, "b".into())],
            &[],
        );
        assert!(
            matches!(e, Err(SuccessionError::NotSignedByOld { .. })),
            "{e:?}"
        );
        // The hybrid successor revokes key 1.
        let mut r = Revocation::new(A, key(1).public(), 0, T, "retired").unwrap();
        r.sign(&hybrid).unwrap();
        let s = Succession::follow(A, key(1).public(), &chain, &[(r, "r".into())]).unwrap();
        assert!(matches!(
            s.admit(1, &[key(1).public()]),
            Err(SuccessionError::Revoked { .. })
        ));
    }

    #[test]
    fn handovers_of_no_generation_are_skipped_over() {
        // 2 hands over to 3 at the generation it took over: 2 holds none.
        let k = |n: u8| key(n).public();
        let s = Succession::follow(A, k(1), &[handover(1, 2, 4), handover(2, 3, 4)], &[]).unwrap();
        assert_eq!(s.holder(4).key, k(3));
        assert_eq!(s.holder(3).key, k(1));
        assert!(matches!(
            s.admit(4, &[k(2)]),
            Err(SuccessionError::Superseded { .. })
        ));
    }
}

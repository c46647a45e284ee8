//! The format's test vectors: one file each in `format/testdata/`, a text
//! header of `key: value` lines, a blank line, then the archive's bytes
//! (SPEC.md §18).
//!
//! Header keys: `expect` (what a reader must conclude), `passphrase`,
//! `identity` (hex X25519 secret), `issuer` (hex Ed25519 public key the
//! reader pins), `proof` (in a proof vector, in place of the key lines:
//! the record's bytes to check as hex, or `-` for none), `comment`. The
//! `expect:` line is `success`, `no key`, or a failure stage (`open
//! failure`, `fixity failure`, `unlock failure`, `content failure`,
//! `render failure`, `proof failure`) followed by `: ` and a fragment of
//! the message, for people.
//!
//! This reader's check does not match those fragments: each vector also
//! carries an [`Outcome`], the stage and the class of error the reader
//! must reach there (the variant of its [`Error`], or the kind and
//! subject of a verification [`Problem`]), and [`Vector::check_with`]
//! compares what the reader concludes with it. A proof vector's bytes are
//! a proof file (SPEC §29), checked with no archive and no key by
//! [`legation_format::v2::proof::Proof`]; its failures all share one class
//! of error, so for them the fragment is matched. The generator, one
//! function per family of vectors, is in `families` (format 1.x) and `v2`
//! (format 2.0).

use std::sync::Arc;

use legation_format::hex;
use legation_reader::source::{CountingSource, MemSource};
use legation_reader::{Archive, Error, ErrorKind, Key, Problem};
use zeroize::Zeroizing;

use crate::{issuer, PASSPHRASE};

mod families;
pub mod pq;
pub mod series;
pub mod succession;
mod v2;
pub mod witness;

/// Every vector, generated from scratch (deterministic): format 1.x's,
/// then format 2.0's.
pub fn all() -> Vec<Vector> {
    let mut v = families::all();
    v.extend(v2::all());
    v
}

/// One test vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    /// File name without extension.
    pub name: String,
    /// The `expect:` line.
    pub expect: String,
    /// Passphrase to try.
    pub passphrase: Option<String>,
    /// Identity (hex secret) to try.
    pub identity: Option<String>,
    /// Post-quantum identity (hex X-Wing seed, SPEC §7.11) to try.
    pub pq_identity: Option<String>,
    /// Issuer public key (hex) to pin.
    pub issuer: Option<String>,
    /// A proof vector: the record's bytes to check the proof against,
    /// as hex, or `-` for none (the `proof:` line).
    pub proof: Option<String>,
    /// What the vector is about.
    pub comment: String,
    /// The archive.
    pub bytes: Vec<u8>,
    /// What the reader must conclude, by class of error; not in the file
    /// (its `expect:` line names the stage, and a message fragment).
    pub outcome: Outcome,
    /// Why this source tree's reader does not reach [`Vector::outcome`],
    /// which SPEC.md states: the check then passes only while the reader
    /// still disagrees, so the mark goes when the reader is put right.
    pub reader_disagrees: Option<&'static str>,
}

/// What a reader concludes from a vector: the first stage that fails, and
/// how. Stages run in order: open, fixity, unlock, content, render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every stage passes.
    Success,
    /// Opening fails with this error.
    Open(Refusal),
    /// The keyless audit reports this problem (among others, perhaps).
    Fixity(Finding),
    /// The given key opens no slot ([`ErrorKind::WrongKey`]).
    NoKey,
    /// Unlocking fails with this error, for another reason than the key.
    Unlock(Refusal),
    /// Fixity passes and the content check reports this problem.
    Content(Finding),
    /// Content passes and the render check reports this problem.
    Render(Finding),
    /// A proof vector: parsing or checking the proof fails with an error
    /// whose message holds this fragment.
    Proof(String),
}

impl Outcome {
    /// The stage as the `expect:` line names it.
    pub fn stage(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Open(_) => "open failure",
            Outcome::Fixity(_) => "fixity failure",
            Outcome::NoKey => "no key",
            Outcome::Unlock(_) => "unlock failure",
            Outcome::Content(_) => "content failure",
            Outcome::Render(_) => "render failure",
            Outcome::Proof(_) => "proof failure",
        }
    }
}

/// A problem a verification must report: its class and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The problem's [`Problem::kind`].
    pub kind: ErrorKind,
    /// The entry (fixity) or record path (content, render) it names.
    pub subject: String,
}

impl Finding {
    /// Damage to `subject`.
    pub fn damaged(subject: impl Into<String>) -> Self {
        Finding {
            kind: ErrorKind::Damaged,
            subject: subject.into(),
        }
    }
    /// A forgery found at `subject`.
    pub fn forged(subject: impl Into<String>) -> Self {
        Finding {
            kind: ErrorKind::Forged,
            subject: subject.into(),
        }
    }
    fn in_(&self, problems: &[Problem]) -> bool {
        problems
            .iter()
            .any(|p| p.kind == self.kind && p.subject == self.subject)
    }
}

/// The variant of the reader's [`Error`] (and of the format's error it
/// wraps) that opening or unlocking must end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A ZIP structure the canonical container does not allow
    /// (`Error::Format(Container)`).
    Container,
    /// A document breaks a rule of the format (`Error::Format(Invalid)`).
    Invalid,
    /// A JSON document does not parse into its shape (`Error::Format(Json)`).
    Json,
    /// A major format version this reader does not know
    /// (`Error::Format(UnsupportedVersion)`, [`ErrorKind::Unsupported`]).
    UnsupportedVersion,
    /// Key slot parameters beyond a reader's bounds (`Error::Format(HostileKdf)`).
    HostileKdf,
    /// The first entry is not Legation's mimetype (`Error::NotLegation`).
    NotLegation,
    /// The container and the manifest disagree about this entry
    /// (`Error::ManifestMismatch`).
    ManifestMismatch(String),
    /// A slot's key fails the key commitment (`Error::KeyCommitment`).
    KeyCommitment,
    /// An entry's BLAKE3 is not the one pinned for it (`Error::EntryHash`).
    EntryHash(String),
    /// A quorum slot refused or a share that does not fit it, other than
    /// too few shares (`Error::Quorum`).
    Quorum,
}

impl Refusal {
    /// The refusal `e` is, if it is one of these.
    pub fn of(e: &Error) -> Option<Refusal> {
        use legation_format::Error as F;
        Some(match e {
            Error::Format(F::Container { .. }) => Refusal::Container,
            Error::Format(F::Invalid { .. }) => Refusal::Invalid,
            Error::Format(F::Json { .. }) => Refusal::Json,
            Error::Format(F::UnsupportedVersion { .. }) => Refusal::UnsupportedVersion,
            Error::Format(F::HostileKdf { .. }) => Refusal::HostileKdf,
            Error::NotLegation(_) => Refusal::NotLegation,
            Error::ManifestMismatch { entry, .. } => Refusal::ManifestMismatch(entry.clone()),
            Error::KeyCommitment { .. } => Refusal::KeyCommitment,
            Error::EntryHash { entry, .. } => Refusal::EntryHash(entry.clone()),
            Error::Quorum(_) => Refusal::Quorum,
            _ => return None,
        })
    }
}

/// What the reader concluded, with the errors and problems as it gave
/// them (compared with an [`Outcome`], and shown when they differ).
#[derive(Debug)]
enum Concluded {
    Success,
    Open(Error),
    Fixity(Vec<Problem>),
    NoKey,
    Unlock(Error),
    Content(Vec<Problem>),
    Render(Vec<Problem>),
    /// A proof failed with this error.
    Proof(legation_format::Error),
}

impl Concluded {
    fn is(&self, want: &Outcome) -> bool {
        match (self, want) {
            (Concluded::Success, Outcome::Success) | (Concluded::NoKey, Outcome::NoKey) => true,
            (Concluded::Open(e), Outcome::Open(r)) | (Concluded::Unlock(e), Outcome::Unlock(r)) => {
                Refusal::of(e).as_ref() == Some(r)
            }
            (Concluded::Fixity(p), Outcome::Fixity(f))
            | (Concluded::Content(p), Outcome::Content(f))
            | (Concluded::Render(p), Outcome::Render(f)) => f.in_(p),
            (Concluded::Proof(e), Outcome::Proof(fragment)) => e.to_string().contains(fragment),
            _ => false,
        }
    }
}

impl Vector {
    /// A vector that must succeed, tried with the sample's passphrase.
    fn new(name: &str, comment: &str, bytes: Vec<u8>) -> Self {
        Vector {
            name: name.into(),
            expect: Outcome::Success.stage().into(),
            passphrase: Some(PASSPHRASE.into()),
            identity: None,
            pq_identity: None,
            issuer: None,
            proof: None,
            comment: comment.into(),
            bytes,
            outcome: Outcome::Success,
            reader_disagrees: None,
        }
    }

    /// Marks a vector whose outcome this reader does not reach yet.
    // No vector needs it now; kept for the next one the reader lags behind.
    #[allow(dead_code)]
    fn reader_disagrees(mut self, why: &'static str) -> Self {
        self.reader_disagrees = Some(why);
        self
    }

    /// A proof vector that must succeed: `bytes` is the proof file, checked
    /// against `record` when given.
    fn proof(name: &str, comment: &str, bytes: Vec<u8>, record: Option<&[u8]>) -> Self {
        Vector {
            passphrase: None,
            proof: Some(record.map_or_else(|| "-".to_owned(), hex::encode)),
            ..Vector::new(name, comment, bytes)
        }
    }

    /// A proof vector checked against `record` instead.
    fn with_record(mut self, record: &[u8]) -> Self {
        self.proof = Some(hex::encode(record));
        self
    }

    /// Expects `outcome` instead; `fragment` (of the message, for people)
    /// follows the stage on the `expect:` line unless it is empty.
    fn expect(mut self, outcome: Outcome, fragment: &str) -> Self {
        self.expect = match fragment {
            "" => outcome.stage().into(),
            f => format!("{}: {f}", outcome.stage()),
        };
        self.outcome = outcome;
        self
    }

    /// Pins the sample's issuer.
    fn pin(mut self) -> Self {
        self.issuer = Some(hex::encode(&issuer().public()));
        self
    }

    /// The file's bytes.
    pub fn to_file(&self) -> Vec<u8> {
        let mut s = format!("expect: {}\n", self.expect);
        if let Some(p) = &self.passphrase {
            s.push_str(&format!("passphrase: {p}\n"));
        }
        if let Some(i) = &self.identity {
            s.push_str(&format!("identity: {i}\n"));
        }
        if let Some(i) = &self.pq_identity {
            s.push_str(&format!("pq-identity: {i}\n"));
        }
        if let Some(i) = &self.issuer {
            s.push_str(&format!("issuer: {i}\n"));
        }
        if let Some(p) = &self.proof {
            s.push_str(&format!("proof: {p}\n"));
        }
        s.push_str(&format!("comment: {}\n\n", self.comment));
        let mut v = s.into_bytes();
        v.extend_from_slice(&self.bytes);
        v
    }

    /// Runs the vector against the reader, decoding with wasmtime.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn check(&self) -> Result<(), String> {
        self.check_with(&legation_reader::decode::Host::native())
    }

    /// Runs the vector against the reader, decoding with `host`; `Err`
    /// says how the outcome differs from the expectation.
    pub fn check_with(&self, host: &legation_reader::decode::Host) -> Result<(), String> {
        self.check_counting(host).map(|_| ())
    }

    /// Like [`Vector::check_with`], and says how many bytes the reader read
    /// from the archive on the way (every stage the vector reaches).
    pub fn check_counting(&self, host: &legation_reader::decode::Host) -> Result<u64, String> {
        let source = Arc::new(CountingSource::new(MemSource::new(
            self.bytes.clone(),
            self.name.clone(),
        )));
        let got = self.conclude(host, source.clone());
        match (got.is(&self.outcome), self.reader_disagrees) {
            (false, None) => return Err(format!("expected {:?}, got {got:?}", self.outcome)),
            (true, Some(why)) => {
                return Err(format!(
                    "the reader now reaches the expected outcome: drop the mark \"{why}\""
                ))
            }
            _ => {}
        }
        Ok(source.bytes_read())
    }

    /// Runs the stages in order up to the first that fails.
    fn conclude(
        &self,
        host: &legation_reader::decode::Host,
        source: Arc<CountingSource<MemSource>>,
    ) -> Concluded {
        let pinned = self
            .issuer
            .as_deref()
            .map(|h| hex::decode_array::<32>(h).expect("issuer hex"));
        if let Some(record) = &self.proof {
            let record = (record != "-").then(|| hex::decode(record).expect("record hex"));
            return match legation_format::v2::proof::Proof::parse(&self.bytes)
                .and_then(|p| p.check(pinned.as_ref(), record.as_deref()))
            {
                Ok(_) => Concluded::Success,
                Err(e) => Concluded::Proof(e),
            };
        }
        let archive = match Archive::open(source) {
            Ok(a) => a,
            Err(e) => return Concluded::Open(e),
        };
        let fixity = archive.verify_fixity(pinned.as_ref(), &mut |_, _| true);
        if !fixity.ok() {
            return Concluded::Fixity(fixity.problems);
        }
        let mut keys = Vec::new();
        if let Some(p) = &self.passphrase {
            keys.push(Key::Passphrase(Zeroizing::new(p.clone())));
        }
        if let Some(i) = &self.identity {
            keys.push(Key::Identity(legation_format::keys::Identity::from_bytes(
                hex::decode_array(i).expect("identity hex"),
            )));
        }
        if let Some(i) = &self.pq_identity {
            keys.push(Key::PqIdentity(
                legation_format::pq::PqIdentity::from_bytes(
                    hex::decode_array(i).expect("pq-identity hex"),
                ),
            ));
        }
        let unlocked = match archive.unlock(&keys) {
            Ok(u) => u,
            Err(e) if e.kind() == ErrorKind::WrongKey => return Concluded::NoKey,
            Err(e) => return Concluded::Unlock(e),
        };
        let content = unlocked.verify_content(pinned.as_ref(), &mut |_, _| true);
        if !content.ok() {
            return Concluded::Content(content.problems);
        }
        let render = unlocked.verify_render(host, pinned.as_ref(), &mut |_, _| true);
        if !render.ok() {
            return Concluded::Render(render.problems);
        }
        Concluded::Success
    }
}

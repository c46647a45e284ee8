//! `issuer handover` and `issuer revoke` (SPEC §37, format 2.2): the
//! issuer's signed statements that a new key succeeds the old one from a
//! generation on, and that a key signed nothing legitimately after a
//! generation; and what `verify` and `witness` do with them: follow the
//! handovers from the pinned key and refuse a generation signed by a key
//! that was revoked before it or had handed the series over.
//!
//! Statements sit beside the series, in `<series folder>/issuer/` (for
//! `s3://BUCKET/PREFIX/NAME.lgn`, the objects `PREFIX/issuer/…`), named
//! by the first 16 hex digits of their BLAKE3, or are given with
//! `--handover FILE` and `--revocation FILE`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::crypto::fingerprint;
use legation_format::hex;
use legation_format::v2::head::{self, Head};
use legation_format::v2::succession::{
    pin_of, pins_met, Handover, Revocation, Succession, HANDOVER_EXT, MAX_STATEMENT,
    MAX_STATEMENTS, REVOCATION_EXT,
};
use legation_reader::Archive;

use super::open;
use super::witness::{now, Beside};
use crate::keyopts::{read_issuer_public, read_issuer_secret};
use crate::location::Location;
use crate::place::write_new_file;

/// The folder beside a series that holds its statements.
pub const FOLDER: &str = "issuer";

/// `legation issuer …`.
#[derive(Debug, clap::Subcommand)]
pub enum IssuerCommand {
    /// Sign, with the old key, that a new key signs the series in its
    /// place from a generation on (SPEC §37.1).
    Handover(HandoverArgs),
    /// Sign that a key signed nothing legitimately after a generation,
    /// and why (SPEC §37.2): with the key itself, or with a key that
    /// succeeded it.
    Revoke(RevokeArgs),
}

/// The arguments of `issuer handover`.
#[derive(Debug, clap::Args)]
pub struct HandoverArgs {
    /// The old issuer's secret key, which signs the handover.
    #[arg(value_name = "OLD.key")]
    pub old: PathBuf,
    /// The new issuer's public key.
    #[arg(value_name = "NEW.pub")]
    pub new: PathBuf,
    /// The first generation the new key signs (default: the one after
    /// the generation given).
    #[arg(long, value_name = "N")]
    pub from_generation: Option<u64>,
    #[command(flatten)]
    pub place: Placing,
}

/// The arguments of `issuer revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The secret key that signs: the revoked key itself, or (with
    /// --key) a key that succeeded it.
    #[arg(value_name = "SIGNER.key")]
    pub signer: PathBuf,
    /// The public key revoked (default: the signer's own).
    #[arg(long, value_name = "KEY.pub")]
    pub key: Option<PathBuf>,
    /// Why, in words (one line, at most 512 bytes).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The last generation the key signed legitimately.
    #[arg(long, value_name = "N")]
    pub last_generation: u64,
    #[command(flatten)]
    pub place: Placing,
}

/// Which series a statement is about, and where it goes.
#[derive(Debug, clap::Args)]
pub struct Placing {
    /// A generation of the series (a format 2.0 file or s3://BUCKET/KEY):
    /// its archive id names the series.
    #[arg(long, value_name = "ARCHIVE")]
    pub series: Location,
    /// Write the statement here (default: beside the series, in `issuer/`).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// The time to take as now (RFC 3339, UTC), for tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// Statements of succession given to `verify` or `witness` besides those
/// found beside the archives.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct SuccessionOpts {
    /// A handover of the issuer's key (`issuer handover`), followed from
    /// the pinned issuer; repeatable. Those in `issuer/` beside each
    /// archive are read too.
    #[arg(long = "handover", value_name = "FILE")]
    pub handovers: Vec<PathBuf>,
    /// A revocation of an issuer key (`issuer revoke`); repeatable. Those
    /// in `issuer/` beside each archive are read too.
    #[arg(long = "revocation", value_name = "FILE")]
    pub revocations: Vec<PathBuf>,
}

/// `legation issuer handover|revoke`.
pub fn issuer(cmd: &IssuerCommand) -> Result<u8> {
    match cmd {
        IssuerCommand::Handover(a) => handover(a),
        IssuerCommand::Revoke(a) => revoke(a),
    }
}

/// The head of a series' generation.
fn head_of(loc: &Location) -> Result<(Archive, Head)> {
    let a = open(loc)?;
    let (h, _) = a.head_and_signatures().ok_or_else(|| {
        anyhow!("{loc}: a format 1.x archive has no series (`legation convert` rewrites it)")
    })?;
    let head = Head::parse(h)?;
    Ok((a, head))
}

/// Writes a statement to `output`, or beside the series as
/// `issuer/<16 hex of its BLAKE3>.<ext>`.
fn write_statement(bytes: &[u8], ext: &str, place: &Placing) -> Result<String> {
    match &place.output {
        Some(p) => {
            write_new_file(p, bytes, false, place.force)?;
            Ok(p.display().to_string())
        }
        None => {
            let name = hex::encode(&blake3::hash(bytes).as_bytes()[..8]);
            Beside::of(&place.series).write(&format!("{FOLDER}/{name}.{ext}"), bytes)
        }
    }
}

fn handover(a: &HandoverArgs) -> Result<u8> {
    let now = now(a.place.now.as_deref())?;
    let old = read_issuer_secret(&a.old)?;
    let new = read_issuer_public(&a.new)?;
    let (archive, head) = head_of(&a.place.series)?;
    let from = match a.from_generation {
        Some(n) => n,
        None => head
            .sequence
            .checked_add(1)
            .context("no generation after this one")?,
    };
    if pin_of(&old) == new {
        bail!("{} and {}: the same key", a.old.display(), a.new.display());
    }
    if !signed_by(&archive, &pin_of(&old)) {
        eprintln!(
            "note: generation {} ({}) is not signed by {}: check that this is the key that holds \
             the series",
            head.sequence,
            a.place.series,
            fingerprint(&pin_of(&old))
        );
    }
    let mut h = Handover::new(head.archive_id, from, pin_of(&old), new, now);
    h.sign(&old)?;
    let bytes = h.to_bytes();
    let written = write_statement(&bytes, HANDOVER_EXT, &a.place)?;
    println!(
        "handover of series {}: from generation {from}, issuer {} signs in the place of {}: \
         {written}",
        hex::encode(&head.archive_id),
        fingerprint(&new),
        fingerprint(&pin_of(&old)),
    );
    Ok(0)
}

fn revoke(a: &RevokeArgs) -> Result<u8> {
    let now = now(a.place.now.as_deref())?;
    let signer = read_issuer_secret(&a.signer)?;
    let key = match &a.key {
        Some(p) => read_issuer_public(p)?,
        None => pin_of(&signer),
    };
    let (_, head) = head_of(&a.place.series)?;
    let mut r = Revocation::new(head.archive_id, key, a.last_generation, now, &a.reason)?;
    r.sign(&signer)?;
    let bytes = r.to_bytes();
    let written = write_statement(&bytes, REVOCATION_EXT, &a.place)?;
    println!(
        "revocation of issuer {} for series {}: nothing it signed after generation {} counts: \
         {written}",
        fingerprint(&key),
        hex::encode(&head.archive_id),
        a.last_generation
    );
    if key != pin_of(&signer) {
        eprintln!(
            "note: signed by {}: readers accept it only if that key succeeded {} by handovers they \
             follow",
            fingerprint(&pin_of(&signer)),
            fingerprint(&key)
        );
    }
    Ok(0)
}

/// Whether one of the head's `ed25519` signatures by `key` verifies.
fn signed_by(a: &Archive, key: &[u8; 32]) -> bool {
    signers(a).contains(key)
}

/// The pins (SPEC §27.4: an Ed25519 key, or a hybrid pair's id) that the
/// head's verified signatures meet.
pub fn signers(a: &Archive) -> Vec<[u8; 32]> {
    let Some((h, s)) = a.head_and_signatures() else {
        return Vec::new();
    };
    let Ok(lines) = head::parse_signatures(s) else {
        return Vec::new();
    };
    pins_met(&lines, |l| head::verify(l, h)).0
}

/// The statements a reader has (`legation_reader::succession::Statements`):
/// those given on the command line and those in `issuer/` beside each
/// archive, locally or on a store.
#[derive(Debug, Default)]
pub struct Statements(legation_reader::succession::Statements);

impl Statements {
    /// Reads the files of `opts` and the `issuer/` folder beside each of
    /// `places`.
    pub fn gather(places: &[Location], opts: &SuccessionOpts) -> Result<Statements> {
        let mut given = Vec::new();
        for p in opts.handovers.iter().chain(&opts.revocations) {
            given.push((p.display().to_string(), read_limited(p)?));
        }
        let mut files = Vec::new();
        for loc in places {
            // A series given as a folder holds its `issuer/` itself.
            let beside = match loc.local().filter(|d| d.is_dir()) {
                Some(d) => Beside::Dir(d.to_path_buf()),
                None => Beside::of(loc),
            };
            files.extend(beside.files(FOLDER, HANDOVER_EXT, MAX_STATEMENT as u64)?);
            files.extend(beside.files(FOLDER, REVOCATION_EXT, MAX_STATEMENT as u64)?);
            if files.len() > MAX_STATEMENTS {
                break;
            }
        }
        Ok(Statements(legation_reader::succession::Statements::parse(
            given, files,
        )?))
    }

    /// Whether there is any statement at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The handovers about series `archive_id`, given and found, with
    /// their files (for the splice rules of a series, SPEC §37.6).
    pub fn handovers(&self, archive_id: [u8; 16]) -> Vec<(Handover, String)> {
        self.0.handovers(archive_id)
    }

    /// The succession of series `archive_id` from `pinned`; a refusal of
    /// the statements themselves exits with code 1.
    pub fn succession(&self, archive_id: [u8; 16], pinned: [u8; 32]) -> Result<Succession> {
        self.0.succession(archive_id, pinned).map_err(refused)
    }
}

/// A statement file, refused above [`MAX_STATEMENT`] bytes unread.
fn read_limited(p: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let mut b = Vec::new();
    f.take(MAX_STATEMENT as u64 + 1)
        .read_to_end(&mut b)
        .with_context(|| format!("reading {}", p.display()))?;
    if b.len() > MAX_STATEMENT {
        bail!(
            "{}: more than the {MAX_STATEMENT} bytes a statement may have",
            p.display()
        );
    }
    Ok(b)
}

/// The key to pin for archive `a` when the reader pins `pinned`: the key
/// the succession gives its generation, checked against who signed it.
/// A format 1.x archive, or no statement at all, keeps `pinned`. A
/// refusal (revoked, superseded, not in the chain) is an error naming it;
/// the key is printed on standard error when it is not `pinned`.
pub fn pin_for(
    loc: &Location,
    a: &Archive,
    pinned: [u8; 32],
    statements: &Statements,
) -> Result<[u8; 32]> {
    let Some((h, _)) = a.head_and_signatures() else {
        return Ok(pinned);
    };
    if statements.is_empty() {
        return Ok(pinned);
    }
    let head = Head::parse(h)?;
    let s = statements
        .succession(head.archive_id, pinned)
        .with_context(|| format!("{loc}: the issuer's statements of succession"))?;
    let key = s
        .admit(head.sequence, &signers(a))
        .map_err(|e| {
            anyhow::Error::new(legation_format::Error::invalid(
                legation_format::v2::SIGNATURES_ENTRY,
                e.to_string(),
            ))
        })
        .with_context(|| format!("{loc}: issuer succession"))?;
    if key != pinned {
        let t = s.holder(head.sequence);
        eprintln!(
            "issuer {} holds generation {} by handover from the pinned issuer {} ({})",
            fingerprint(&key),
            head.sequence,
            fingerprint(&pinned),
            t.given_by.as_deref().unwrap_or("")
        );
    }
    Ok(key)
}

/// A refusal of the statements themselves (forged, another series, a
/// fork, a loop) as a format error, so that it exits with code 1.
fn refused(e: legation_format::v2::succession::SuccessionError) -> anyhow::Error {
    anyhow::Error::new(legation_format::Error::invalid(FOLDER, e.to_string()))
}

/// What a witness makes of the issuer's statements for the generation a
/// copy holds (SPEC §37.5).
pub struct Judged {
    /// The succession, when there is any statement.
    succession: Option<Succession>,
    /// The key that holds the generation, or why none does.
    verdict: std::result::Result<[u8; 32], String>,
    /// The keys whose signature over the head verifies.
    signers: Vec<[u8; 32]>,
    /// The revocations given on the command line about this series.
    given: Vec<Vec<u8>>,
}

impl Judged {
    /// Reads the statements given and beside `loc` and judges its
    /// generation from `pinned`. Statements that are themselves refused
    /// are an error (exit code 1).
    pub fn of(
        loc: &Location,
        a: &Archive,
        pinned: [u8; 32],
        opts: &SuccessionOpts,
    ) -> Result<Judged> {
        let statements = Statements::gather(std::slice::from_ref(loc), opts)?;
        let signers = signers(a);
        let Some((h, _)) = a.head_and_signatures() else {
            bail!("{loc}: a format 1.x archive has no generations");
        };
        let head = Head::parse(h)?;
        if statements.is_empty() {
            return Ok(Judged {
                succession: None,
                verdict: Ok(pinned),
                signers,
                given: Vec::new(),
            });
        }
        let s = statements
            .succession(head.archive_id, pinned)
            .with_context(|| format!("{loc}: the issuer's statements of succession"))?;
        let verdict = s.admit(head.sequence, &signers).map_err(|e| e.to_string());
        let given = statements.0.given_revocations(head.archive_id);
        Ok(Judged {
            succession: Some(s),
            verdict,
            signers,
            given,
        })
    }

    /// The key to pin in the audit: the one holding the generation, else
    /// `pinned` (the refusal comes after the audit).
    pub fn pin(&self, pinned: [u8; 32]) -> [u8; 32] {
        *self.verdict.as_ref().unwrap_or(&pinned)
    }

    /// Records in the witness's state every revocation accepted (writing
    /// those given beside the copy, in `issuer/`, so that they reach this
    /// embassy's readers), then refuses a generation the succession or the
    /// state's revocations refuse.
    pub fn remember(
        &self,
        loc: &Location,
        head: &Head,
        state: &mut legation_format::v2::witness::WitnessState,
        now: i64,
    ) -> std::result::Result<(), String> {
        let mut learnt = false;
        for (key, r) in self.succession.iter().flat_map(|s| &s.revoked) {
            learnt |= state.revoke(legation_format::v2::witness::RevokedKey {
                archive_id: head.archive_id,
                key: *key,
                last: r.last,
                time: now,
            });
        }
        if learnt {
            for bytes in &self.given {
                let name = hex::encode(&blake3::hash(bytes).as_bytes()[..8]);
                let rel = format!("{FOLDER}/{name}.{REVOCATION_EXT}");
                match Beside::of(loc).write(&rel, bytes) {
                    Ok(w) => eprintln!("witness: the revocation is now beside the copy: {w}"),
                    Err(e) => {
                        eprintln!("witness: could not write the revocation beside the copy: {e:#}")
                    }
                }
            }
        }
        self.verdict.clone()?;
        state
            .check_signers(head, &self.signers)
            .map_err(|r| r.to_string())
    }
}

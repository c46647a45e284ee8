//! `rekey ARCHIVE (-o NEW | --in-place)`: a format 2.0 archive's key
//! slots changed without re-encrypting its records (SPEC §35, format 2.1).
//!
//! The data key stays; slots are kept, removed (`--remove-slot N`, or
//! `--remove-recipient NAME.key`: the slots that identity opens, since an
//! X25519 slot does not say whose it is, SPEC §7.8), replaced
//! (`--replace-slots`) and added (`--add-recipient`,
//! `--add-passphrase-file`, `--quorum …`). The result is generation
//! `s + 1` of the archive's series: every byte before `recovery` is the
//! old file's, and only `recovery`, `entries-tree`, `entries`,
//! `public.json`, `head`, `signatures`, the central directory and the end
//! records are new ([`legation_format::v2::rekey`]).
//!
//! `-o NEW` copies the unchanged prefix and writes the new tail under a
//! temporary name, placed when whole. `--in-place` writes the new tail
//! into the archive itself through a journal beside it
//! (`ARCHIVE.rekey-journal`): the journal is made durable first, then
//! the old end records are overwritten with zeros (from then on no reader
//! takes the file for a whole archive), then the new tail but its end
//! records, then the end records, each step synced; the journal is
//! removed last. Run again after a crash, `rekey --in-place` finds the
//! journal and finishes the job.
//!
//! `--new-data-key` is real removal: every record is read, checked and
//! sealed again under a new data key, for the slots given alone (the old
//! slots wrap the old key), as generation `s + 1` of the series (a key
//! epoch).

use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use legation_format::crypto::{self, Argon2Params, KeySlot};
use legation_format::keys;
use legation_format::v2::events;
use legation_format::v2::head::{self, Head};
use legation_format::v2::rekey::{self, NewTail, OldTail, SlotEdit};
use legation_format::v2::writer::update::{UpdateOptions, UpdateWriter};
use legation_format::v2::writer::{ArchiveWriter, Generation};
use legation_format::writer::WriterOptions;
use rand_core::OsRng;

use super::{open, unlock_required};
use crate::commands::share::QuorumArgs;
use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::output;
use crate::place::{place, temp_beside};

/// The arguments of `rekey`.
#[derive(clap::Args, Debug)]
pub struct RekeyArgs {
    /// The format 2.0 archive (a local, self-contained file).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// Write the re-keyed archive here (the archive is left as it is).
    #[arg(
        short,
        long,
        value_name = "NEW",
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    pub output: Option<PathBuf>,
    /// Rewrite only the archive's tail, in the file itself (through a
    /// journal beside it; run again to finish after a crash).
    #[arg(long)]
    pub in_place: bool,
    /// A new recipient (`NAME.pub`, X25519 or post-quantum); repeatable.
    #[arg(long = "add-recipient", value_name = "FILE.pub")]
    pub add_recipients: Vec<PathBuf>,
    /// A file whose first line is a new passphrase.
    #[arg(long = "add-passphrase-file", value_name = "FILE")]
    pub add_passphrase_file: Option<PathBuf>,
    /// Accept a new passphrase the strength check refuses.
    #[arg(long)]
    pub allow_weak_passphrase: bool,
    #[command(flatten)]
    pub quorum: QuorumArgs,
    /// Remove key slot N (as `info` numbers them, from 1); repeatable.
    #[arg(long = "remove-slot", value_name = "N")]
    pub remove_slots: Vec<usize>,
    /// Remove the slots this recipient's identity (`NAME.key`) opens: an
    /// X25519 slot does not say whose it is (SPEC §7.8), so a public key
    /// or fingerprint cannot name one. Repeatable.
    #[arg(long = "remove-recipient", value_name = "FILE.key")]
    pub remove_recipients: Vec<PathBuf>,
    /// Remove every old slot: only the slots added open the new archive.
    #[arg(long)]
    pub replace_slots: bool,
    /// The issuer's signing key (each of the archive's issuers); needed
    /// for a signed archive.
    #[arg(long, value_name = "ISSUER.key")]
    pub sign: Vec<PathBuf>,
    /// Seal every record again under a new data key (real removal of a
    /// holder who kept the old key); the slots added are the only ones.
    #[arg(
        long,
        conflicts_with_all = ["in_place", "remove_slots", "remove_recipients", "replace_slots"]
    )]
    pub new_data_key: bool,
    #[command(flatten)]
    pub keys: KeyOpts,
    /// Replace NEW if it exists.
    #[arg(long)]
    pub force: bool,
}

/// The journal of an in-place re-keying, beside the archive.
fn journal_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".rekey-journal");
    PathBuf::from(name)
}

/// The journal's first line.
const JOURNAL_MAGIC: &[u8] = b"legation-rekey-journal 1\n";

/// `rekey`.
pub fn rekey(a: &RekeyArgs) -> Result<u8> {
    let journal = journal_path(&a.archive);
    if a.in_place && journal.exists() {
        let n = resume(&a.archive, &journal)?;
        eprintln!(
            "{}: finished an interrupted re-keying from {} ({} written); run rekey again for \
             other changes",
            a.archive.display(),
            journal.display(),
            output::size(n)
        );
        return Ok(0);
    }
    if journal.exists() {
        bail!(
            "{}: a re-keying of it was interrupted ({} is there): `legation rekey {} \
             --in-place` finishes it first",
            a.archive.display(),
            journal.display(),
            a.archive.display()
        );
    }
    if let Some(o) = &a.output {
        if o.exists() && !a.force {
            bail!("{} exists (use --force to replace it)", o.display());
        }
    }
    let loc = Location::Local(a.archive.clone());
    let archive = open(&loc)?;
    if !archive.is_v2() {
        bail!(
            "{}: format {}; rekey changes the key slots of format 2.0 archives (`legation \
             convert` writes one)",
            a.archive.display(),
            archive.manifest().version
        );
    }
    if archive.manifest_recovered() {
        bail!(
            "{}: its public tail is damaged; `legation repair` first",
            a.archive.display()
        );
    }
    let signers = a
        .sign
        .iter()
        .map(|p| keyopts::read_issuer_secret(p))
        .collect::<Result<Vec<_>>>()?;
    let created = keyopts::creation_time()?;
    let (recipients, pq) = keyopts::read_all_recipients(&a.add_recipients)?;
    let passphrase = match &a.add_passphrase_file {
        Some(f) => keyopts::passphrase_from_file_or_env(Some(f))?,
        None => None,
    };
    if let (Some(p), false) = (&passphrase, a.allow_weak_passphrase) {
        keys::check_passphrase(p)?;
    }
    let policies = a.quorum.policies()?;
    let (head_bytes, sig_bytes) = archive.head_and_signatures().expect("a 2.0 archive");
    let old_head = Head::parse(head_bytes)?;
    let id = archive.manifest().archive_id;

    let mut file =
        fs::File::open(&a.archive).with_context(|| format!("opening {}", a.archive.display()))?;
    let tail_entries = archive.entries();
    let read = |file: &mut fs::File, name: &str| -> Result<Vec<u8>> {
        let e = archive.entry(name)?;
        let mut b = vec![0u8; e.size.min(64 << 20) as usize];
        file.seek(SeekFrom::Start(e.data_offset()))?;
        file.read_exact(&mut b)
            .with_context(|| format!("reading {name}"))?;
        Ok(b)
    };
    let table = read(&mut file, legation_format::v2::ENTRIES_ENTRY)?;
    let public = read(&mut file, legation_format::v2::PUBLIC_ENTRY)?;
    // A dependent file's catalog is read through its series (unlocking it
    // alone fails on its index): its re-keying is the series' next
    // generation (SPEC §35.4).
    if legation_format::v2::public::Public::parse(&public)?
        .series
        .is_some()
    {
        drop(file);
        drop(archive);
        return dependent(
            a,
            Fresh {
                signers,
                created,
                recipients,
                pq,
                passphrase,
                policies,
            },
        );
    }
    let u = unlock_required(&loc, &archive, &a.keys)?;
    if a.new_data_key {
        if !pq.is_empty() {
            bail!(
                "--new-data-key with a post-quantum recipient is not supported yet: re-key with \
                 --new-data-key for X25519 recipients, then add it with a plain rekey"
            );
        }
        let out = a.output.as_deref().expect("clap: -o or --in-place");
        return new_data_key(NewKey {
            archive: &archive,
            u: &u,
            out,
            old_head: &old_head,
            chain: head::chain_hash(head_bytes, sig_bytes),
            signers,
            opts_created: created,
            recipients,
            passphrase,
            policies,
            force: a.force,
        });
    }

    let slots = &archive.manifest().key_slots;
    let fresh = Fresh {
        signers: Vec::new(),
        created,
        recipients,
        pq,
        passphrase,
        policies,
    };
    let edit = slot_edit(a, &fresh, slots, &id, u.data_key())?;
    let started = Instant::now();
    let old_slots = slots.len();
    let removed = if a.replace_slots {
        old_slots
    } else {
        edit.remove.len()
    };
    let events = match archive.entry(events::EVENTS_ENTRY) {
        Err(_) => None,
        Ok(_) => {
            let entry = read(&mut file, events::EVENTS_ENTRY)?;
            let event = rekeying_event(
                &old_head,
                created,
                signers.first(),
                format!(
                    "key slots wrapped anew, the data key unchanged: {} kept, {} added, \
                     {removed} removed",
                    old_slots - removed,
                    edit.add.len()
                ),
                [
                    ("slots", (old_slots - removed + edit.add.len()) as u64),
                    ("slots added", edit.add.len() as u64),
                    ("slots removed", removed as u64),
                ],
            );
            Some(events::append_in_place(
                &entry,
                u.data_key(),
                &id,
                event,
                &mut OsRng,
            )?)
        }
    };
    let tail = rekey::rekey_tail(
        OldTail {
            entries: tail_entries,
            table: &table,
            public: &public,
            head: head_bytes,
            signatures: sig_bytes,
        },
        u.data_key(),
        &edit,
        created,
        &signers,
        events.as_deref(),
    )?;
    let kept = old_slots - removed;
    let old_len = archive.len();
    drop(u);
    drop(archive);
    let written = match &a.output {
        Some(out) => {
            let n = write_copy(&mut file, &tail, out, a.force)?;
            keep_push_record(&a.archive, out);
            n
        }
        None => {
            drop(file);
            in_place(&a.archive, &journal, &tail, old_len)?
        }
    };
    eprintln!(
        "re-keyed {} as generation {} of its series into {}: {} key slots ({kept} kept, {} \
         added, {} removed); records unchanged; {} written from offset {} in {:.3} s",
        a.archive.display(),
        tail.head.sequence,
        a.output.as_deref().unwrap_or(&a.archive).display(),
        tail.slots,
        edit.add.len(),
        old_slots - kept,
        output::size(written),
        tail.offset,
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "note: the data key is unchanged: a removed holder who kept an old copy, or the data \
         key, can still read these records; `rekey --new-data-key` seals them again"
    );
    Ok(0)
}

/// What a re-keying adds: its signers, time and the new holders.
struct Fresh {
    signers: Vec<keys::IssuerKey>,
    created: i64,
    recipients: Vec<[u8; 32]>,
    pq: Vec<legation_format::pq::PqRecipient>,
    passphrase: Option<zeroize::Zeroizing<String>>,
    policies: Vec<legation_format::quorum::Policy>,
}

/// The slots to add (made for `id` and `data_key`) and to remove from
/// `slots` (`--remove-slot`, `--remove-recipient`), as the arguments say.
fn slot_edit(
    a: &RekeyArgs,
    f: &Fresh,
    slots: &[KeySlot],
    id: &[u8; 16],
    data_key: &legation_format::crypto::DataKey,
) -> Result<SlotEdit> {
    let mut add: Vec<KeySlot> = Vec::new();
    for r in &f.recipients {
        add.push(crypto::x25519_slot(data_key, id, r, &mut OsRng)?);
    }
    for r in &f.pq {
        add.push(legation_format::pq::pq_slot(data_key, id, r, &mut OsRng));
    }
    if let Some(p) = &f.passphrase {
        add.push(crypto::passphrase_slot(
            data_key,
            id,
            p,
            Argon2Params::DEFAULT,
            &mut OsRng,
        )?);
    }
    for p in &f.policies {
        let slot = legation_format::quorum::quorum_slot(data_key, id, p, &mut OsRng)?;
        add.push(KeySlot::Quorum(Box::new(slot)));
    }
    let mut remove = Vec::new();
    for &n in &a.remove_slots {
        if n == 0 || n > slots.len() {
            bail!(
                "--remove-slot {n}: the archive has key slots 1 to {}",
                slots.len()
            );
        }
        remove.push(n - 1);
    }
    for p in &a.remove_recipients {
        let identity = keyopts::read_identity(p)?;
        let opens: Vec<usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| crypto::open_x25519_slot(s, id, identity.secret()).is_some())
            .map(|(i, _)| i)
            .collect();
        if opens.is_empty() {
            bail!(
                "--remove-recipient {}: that identity opens no key slot of the archive",
                p.display()
            );
        }
        remove.extend(opens);
    }
    remove.sort_unstable();
    remove.dedup();
    Ok(SlotEdit {
        remove,
        replace: a.replace_slots,
        add,
    })
}

/// `rekey` of a dependent generation `s` of a series (SPEC §35.4): the
/// next generation `s + 1`, a dependent file that carries `s`'s index
/// whole (its bundles and pages stay in the files that hold them, so it
/// stores no record and no page) under new key slots. Only `-o NEW`; a
/// key epoch (`--new-data-key`) starts from a self-contained generation.
fn dependent(a: &RekeyArgs, f: Fresh) -> Result<u8> {
    let name = a.archive.display();
    if a.in_place {
        bail!(
            "{name}: a dependent generation file cannot be re-keyed in place (its index names \
             its own generation, SPEC §35.4): `legation rekey {name} -o NEXT` writes the next \
             generation of the series, storing no record again"
        );
    }
    if a.new_data_key {
        bail!(
            "{name}: a dependent generation's records lie in earlier files: `legation compact` \
             it into a self-contained generation, then `rekey --new-data-key` that (a key \
             epoch, SPEC §35.3)"
        );
    }
    let out = a.output.as_deref().expect("clap: -o or --in-place");
    if f.signers.len() > 1 {
        bail!("a series is signed by one issuer key: give one --sign");
    }
    let s = super::generations::find(&[Location::Local(a.archive.clone())])?;
    let g = s.files[0].sequence();
    if let Some(n) = s.newest().filter(|n| n.sequence() > g) {
        bail!(
            "{} holds generation {}, after {name} (generation {g}): re-key the newest \
             generation, never an old one (its next generation would fork the series)",
            n.path.display(),
            n.sequence()
        );
    }
    let u = super::generations::unlock(&s, g, &a.keys)?;
    let own = s.file(g).expect("found among the files");
    let old_slots = own.public().key_slots.len();
    let edit = slot_edit(a, &f, &own.public().key_slots, &s.archive_id, u.data_key())?;
    let index = u
        .series_index()
        .ok_or_else(|| anyhow!("{name}: not a dependent generation"))?;
    let removed = if a.replace_slots {
        old_slots
    } else {
        edit.remove.len()
    };
    let added = edit.add.len();
    let prev = u.previous();
    let old_head = prev.head.clone();
    let created = f.created.max(old_head.created);
    let mut signers = f.signers;
    let issuer = signers.pop();
    let event = rekeying_event(
        &old_head,
        created,
        issuer.as_ref(),
        format!(
            "key slots wrapped anew, the data key unchanged, no record stored again: {} kept, \
             {added} added, {removed} removed",
            old_slots - removed
        ),
        [
            ("slots", (old_slots - removed + added) as u64),
            ("slots added", added as u64),
            ("slots removed", removed as u64),
        ],
    );
    let started = Instant::now();
    let (tmp, file) = temp_beside(out)?;
    let mut slots = 0;
    let result = (|| -> Result<fs::File> {
        let w = BufWriter::with_capacity(1 << 20, file);
        let opts = UpdateOptions {
            created,
            issuer,
            rebase: false,
        };
        let mut w = UpdateWriter::new(w, prev, u.data_key().clone(), opts, OsRng)?;
        slots = w.edit_key_slots(&edit)?;
        let log = super::premis::previous_log(&s, g, u.data_key())?;
        w.log_events(&tool(), log, Vec::new())?;
        let f = w
            .finish_unchanged(index, event)?
            .into_inner()
            .map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!(
            "re-keying generation {g} into {} (nothing written)",
            out.display()
        )));
    }
    place(&tmp, out, a.force)?;
    let len = fs::metadata(out)?.len();
    eprintln!(
        "re-keyed {name} as generation {} of its series into {}: {slots} key slots ({} kept, \
         {added} added, {removed} removed); no record stored again; {} written in {:.3} s",
        g + 1,
        out.display(),
        old_slots - removed,
        output::size(len),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "note: the earlier generation files this one reads keep their key slots, which wrap \
         the same data key: a removed holder with a key to any of them, or the data key, can \
         still read this generation (SPEC §35.4); only a key epoch (compact, then rekey \
         --new-data-key) shuts them out of what follows"
    );
    Ok(0)
}

/// The re-keying event of the archive's log (format 2.1, PREMIS
/// `encryption`): generation `s + 1`, at `created`, by the signer.
fn rekeying_event<const N: usize>(
    old_head: &Head,
    created: i64,
    signer: Option<&keys::IssuerKey>,
    detail: String,
    counts: [(&str, u64); N],
) -> events::Event {
    let common = events::Common {
        generation: old_head.sequence + 1,
        time: created.max(old_head.created),
        issuer: signer.map(|k| k.public()),
        tool: tool(),
    };
    events::rekeying(
        &common,
        detail,
        counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    )
}

/// This program and its version, as events name it.
fn tool() -> String {
    format!("legation {}", env!("CARGO_PKG_VERSION"))
}

/// `-o NEW`: the old prefix copied, the new tail after it, placed when
/// whole. Returns the bytes written.
fn write_copy(src: &mut fs::File, tail: &NewTail, out: &Path, force: bool) -> Result<u64> {
    let (tmp, mut file) = temp_beside(out)?;
    let result = (|| -> Result<()> {
        src.seek(SeekFrom::Start(0))?;
        // `io::copy` between files uses copy_file_range where it can.
        let n = std::io::copy(&mut src.take(tail.offset), &mut file)?;
        if n != tail.offset {
            bail!("the archive is shorter than its central directory says");
        }
        file.write_all(&tail.bytes)?;
        if let Some((at, bytes)) = &tail.events {
            file.seek(SeekFrom::Start(*at))?;
            file.write_all(bytes)?;
        }
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!("writing {}", out.display())));
    }
    place(&tmp, out, force)?;
    Ok(tail.offset + tail.bytes.len() as u64)
}

/// Gives `out` a copy of the record of what pushes of `archive` left on
/// object stores (`ARCHIVE.pushed.json`): `out` holds the same bytes but
/// its tail and event log, so `push --replace` of it to those URLs sends
/// only what changed (best effort: without it everything is sent).
fn keep_push_record(archive: &Path, out: &Path) {
    let from = legation_remote::record_path(archive);
    if from.exists() {
        let _ = fs::copy(&from, legation_remote::record_path(out));
    }
}

/// Syncs the folder holding `p`, so that a name made or removed there
/// survives a power cut (best effort, as [`place`]).
fn sync_folder(p: &Path) {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// `--in-place`: the journal made durable, then the splice. Returns the
/// bytes written to the archive.
fn in_place(archive: &Path, journal: &Path, tail: &NewTail, old_len: u64) -> Result<u64> {
    // Writable, before a journal says a splice is under way.
    fs::OpenOptions::new()
        .write(true)
        .open(archive)
        .with_context(|| format!("opening {} for writing", archive.display()))?;
    let patch = tail
        .events
        .as_ref()
        .map_or((0, &[][..]), |(at, b)| (*at, b.as_slice()));
    let mut j = JOURNAL_MAGIC.to_vec();
    j.extend_from_slice(
        format!(
            "offset {}\nend-records {}\nold-length {old_len}\npatch-offset {}\npatch-length {}\n\
             blake3 {}\n",
            tail.offset,
            tail.end_records,
            patch.0,
            patch.1.len(),
            {
                let mut h = blake3::Hasher::new();
                h.update(patch.1).update(&tail.bytes);
                h.finalize().to_hex()
            }
        )
        .as_bytes(),
    );
    j.extend_from_slice(patch.1);
    j.extend_from_slice(&tail.bytes);
    let (tmp, mut f) = temp_beside(journal)?;
    let made = f.write_all(&j).and_then(|()| f.sync_all());
    if let Err(e) = made {
        let _ = fs::remove_file(&tmp);
        return Err(anyhow!(e).context(format!("writing {}", journal.display())));
    }
    drop(f);
    place(&tmp, journal, false)?;
    sync_folder(journal);
    stop_after("journal");
    splice(archive, journal)
}

/// For the tests of a crash between two steps: with
/// `LEGATION_REKEY_STOP_AFTER` set to a step's name (`journal`, `zeroed`,
/// `body`), the process ends there with exit code 9, as a crash would
/// leave it.
fn stop_after(step: &str) {
    if std::env::var_os("LEGATION_REKEY_STOP_AFTER").is_some_and(|v| v == step) {
        eprintln!("stopped after the {step} step (LEGATION_REKEY_STOP_AFTER)");
        std::process::exit(9);
    }
}

/// A journal read back: where the tail goes, how long the end records
/// are, the old file's length, the rewritten `events` entry (its offset
/// and bytes, none when empty) and the tail's bytes (checked against the
/// BLAKE3 the journal names).
struct Journal {
    offset: u64,
    end_records: usize,
    old_length: u64,
    patch_offset: u64,
    patch: Vec<u8>,
    tail: Vec<u8>,
}

fn read_journal(journal: &Path) -> Result<Journal> {
    let b = fs::read(journal).with_context(|| format!("reading {}", journal.display()))?;
    let bad = || anyhow!("{}: not a whole re-keying journal", journal.display());
    let mut rest = b.strip_prefix(JOURNAL_MAGIC).ok_or_else(bad)?;
    let mut field = |name: &str| -> Result<String> {
        let nl = rest.iter().position(|&c| c == b'\n').ok_or_else(bad)?;
        let line = std::str::from_utf8(&rest[..nl]).map_err(|_| bad())?;
        let v = line
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .ok_or_else(bad)?;
        let v = v.to_owned();
        rest = &rest[nl + 1..];
        Ok(v)
    };
    let offset = field("offset")?.parse().map_err(|_| bad())?;
    let end_records = field("end-records")?.parse().map_err(|_| bad())?;
    let old_length = field("old-length")?.parse().map_err(|_| bad())?;
    let patch_offset: u64 = field("patch-offset")?.parse().map_err(|_| bad())?;
    let patch_len: usize = field("patch-length")?.parse().map_err(|_| bad())?;
    let hash = field("blake3")?;
    if blake3::hash(rest).to_hex().as_str() != hash
        || patch_len > rest.len()
        || end_records > rest.len() - patch_len
        || patch_offset.saturating_add(patch_len as u64) > offset
    {
        return Err(bad());
    }
    Ok(Journal {
        offset,
        end_records,
        old_length,
        patch_offset,
        patch: rest[..patch_len].to_vec(),
        tail: rest[patch_len..].to_vec(),
    })
}

/// Writes a journal's tail into the archive: the old end records zeroed,
/// the tail but its end records, the end records, each step synced, then
/// the journal removed. Idempotent, so a crash at any point is finished
/// by running it again. Returns the bytes written to the archive.
fn splice(archive: &Path, journal: &Path) -> Result<u64> {
    let j = read_journal(journal)?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(archive)
        .with_context(|| format!("opening {} for writing", archive.display()))?;
    let len = f.metadata()?.len();
    if len < j.offset {
        bail!(
            "{}: shorter ({len} bytes) than where its journal's tail starts ({}): not the file \
             the journal was made for",
            archive.display(),
            j.offset
        );
    }
    let mut written = 0u64;
    // 1. No end records at the file's end: from here until step 3 no
    // reader takes the file for a whole archive.
    let old_end = (legation_format::container::TAIL_LEN as u64)
        .min(len - j.offset)
        .min(j.old_length.saturating_sub(j.offset));
    let end_at = len - old_end;
    f.seek(SeekFrom::Start(end_at))?;
    f.write_all(&vec![0u8; old_end as usize])?;
    f.sync_data()?;
    written += old_end;
    stop_after("zeroed");
    // 2. The rewritten event log where it stands, the tail but its end
    // records, and the file cut to end there.
    if !j.patch.is_empty() {
        f.seek(SeekFrom::Start(j.patch_offset))?;
        f.write_all(&j.patch)?;
        written += j.patch.len() as u64;
    }
    let body = j.tail.len() - j.end_records;
    f.seek(SeekFrom::Start(j.offset))?;
    f.write_all(&j.tail[..body])?;
    f.set_len(j.offset + body as u64)?;
    f.sync_data()?;
    written += body as u64;
    stop_after("body");
    // 3. The end records: the archive is whole again.
    f.seek(SeekFrom::Start(j.offset + body as u64))?;
    f.write_all(&j.tail[body..])?;
    f.sync_all()?;
    written += j.end_records as u64;
    drop(f);
    fs::remove_file(journal).with_context(|| format!("removing {}", journal.display()))?;
    sync_folder(journal);
    Ok(written)
}

/// An interrupted `--in-place` finished from its journal.
fn resume(archive: &Path, journal: &Path) -> Result<u64> {
    splice(archive, journal).with_context(|| {
        format!(
            "finishing the re-keying of {} from {}",
            archive.display(),
            journal.display()
        )
    })
}

/// What `--new-data-key` needs.
struct NewKey<'a> {
    archive: &'a legation_reader::Archive,
    u: &'a legation_reader::Unlocked,
    out: &'a Path,
    old_head: &'a Head,
    chain: [u8; 32],
    signers: Vec<keys::IssuerKey>,
    opts_created: i64,
    recipients: Vec<[u8; 32]>,
    passphrase: Option<zeroize::Zeroizing<String>>,
    policies: Vec<legation_format::quorum::Policy>,
    force: bool,
}

/// `--new-data-key`: every record sealed again under a new data key, as
/// generation `s + 1` of the series, for the slots given.
fn new_data_key(k: NewKey<'_>) -> Result<u8> {
    let NewKey {
        archive,
        u,
        out,
        old_head,
        chain,
        mut signers,
        opts_created,
        recipients,
        passphrase,
        policies,
        force,
    } = k;
    if recipients.is_empty() && passphrase.is_none() && policies.is_empty() {
        bail!(
            "--new-data-key: give the new archive's keys (--add-recipient, \
             --add-passphrase-file, --quorum): the old slots wrap the old data key"
        );
    }
    let issuers: Vec<[u8; 32]> = archive
        .manifest()
        .issuer
        .iter()
        .map(|i| i.public_key)
        .collect();
    let given: Vec<[u8; 32]> = signers.iter().map(|s| s.public()).collect();
    if issuers != given {
        bail!(
            "--new-data-key: sign with exactly the archive's issuer ({}): a generation keeps \
             its series' issuers",
            if issuers.is_empty() {
                "none: give no --sign".to_string()
            } else {
                crypto::fingerprint(&issuers[0])
            }
        );
    }
    let viewer = match archive.entry(legation_format::VIEWER_ENTRY) {
        Ok(_) => Some(archive.read_entry(
            legation_format::VIEWER_ENTRY,
            legation_format::VIEWER_MAX as u64,
        )?),
        Err(_) => None,
    };
    let issuer = signers.pop();
    let slots = recipients.len() + usize::from(passphrase.is_some()) + policies.len();
    let opts = WriterOptions {
        created: opts_created.max(old_head.created),
        issuer: issuer
            .as_ref()
            .map(|k| keys::IssuerKey::from_bytes(*k.secret())),
        recipients,
        passphrases: passphrase
            .into_iter()
            .map(|p| (p, Argon2Params::DEFAULT))
            .collect(),
        embed_spec: archive.entry(legation_format::SPEC_ENTRY).is_ok(),
        viewer,
    };
    let started = Instant::now();
    let (tmp, file) = temp_beside(out)?;
    let mut carried = super::convert::Carried::default();
    let result = (|| -> Result<u64> {
        let w = BufWriter::with_capacity(1 << 20, file);
        let mut w = ArchiveWriter::new_with_quorum(
            w,
            opts,
            OsRng,
            Some(Generation {
                archive_id: archive.manifest().archive_id,
                sequence: old_head.sequence + 1,
                previous: chain,
            }),
            &policies,
        )?;
        // The event log goes on, with this re-keying in it (format 2.1).
        let id = archive.manifest().archive_id;
        let previous = match archive.entry(events::EVENTS_ENTRY) {
            Ok(e) => {
                let entry = archive.read_entry(events::EVENTS_ENTRY, e.size)?;
                events::Log::open(&entry, u.data_key(), &id)?
            }
            Err(_) => events::Log::default(),
        };
        let event = rekeying_event(
            old_head,
            opts_created,
            issuer.as_ref(),
            "every record sealed again under a new data key, for new key slots only".into(),
            [("slots", slots as u64)],
        );
        w.log_events(&tool(), previous, vec![event])?;
        super::convert::copy_archive(u, &mut w, &mut carried)?;
        let f = w.finish()?.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f.metadata()?.len())
    })();
    let len = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.context(format!(
                "re-keying into {} (nothing written)",
                out.display()
            )));
        }
    };
    place(&tmp, out, force)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "sealed {} records ({}) again under a new data key into {}: generation {} of the \
         series, {} in {secs:.2} s ({:.0} MB/s of records)",
        carried.records,
        output::size(carried.bytes),
        out.display(),
        old_head.sequence + 1,
        output::size(len),
        carried.bytes as f64 / 1e6 / secs.max(1e-9)
    );
    Ok(0)
}

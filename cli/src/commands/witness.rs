//! Witnesses and freshness (SPEC §34): `keygen witness`, `witness`
//! (a host cosigns the generation it holds after its keyless audit
//! passes), `heartbeat` (the issuer's "generation N is the newest, until
//! T+D") and what `verify --witness/--max-age` adds: the newest published
//! generation, and every copy older than it named stale.
//!
//! Cosignatures and the heartbeat sit beside the archive: for
//! `FOLDER/NAME.lgn`, in `FOLDER/witness/` and `FOLDER/heartbeat`; for
//! `s3://BUCKET/PREFIX/NAME.lgn`, as the objects `PREFIX/witness/…` and
//! `PREFIX/heartbeat` of the same bucket.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::crypto::fingerprint;
use legation_format::hex;
use legation_format::keys::IssuerKey;
use legation_format::time::{format_rfc3339, parse_rfc3339};
use legation_format::v2::head::Head;
use legation_format::v2::witness::{
    self, cosign_all, Cosignatures, Heartbeat, Held, Refusal, WitnessKey, WitnessPublic,
    WitnessState, MAX_COSIGNATURE_FILE, MAX_HEARTBEAT, WITNESS_HYBRID_PUBLIC, WITNESS_PUBLIC,
};
use legation_reader::{Archive, Signer};
use legation_remote::Url;
use rand_core::OsRng;
use serde_json::json;

use super::{open, worst_code};
use crate::keyopts::{read_issuer_public, read_issuer_secret, read_key_text, KeyOpts};
use crate::location::Location;
use crate::output;
use crate::place::{self, write_new_file};

/// The exit code of a stale copy, or of freshness not established.
pub const STALE: u8 = 4;

/// The arguments of `witness`.
#[derive(Debug, clap::Args)]
pub struct WitnessArgs {
    /// The generation this host holds: a format 2.0 file or s3://BUCKET/KEY.
    pub archive: Location,
    /// The witness's secret key (`keygen witness`).
    #[arg(long, value_name = "HOST.key")]
    pub key: PathBuf,
    /// The issuer of the series this witness watches: the generation must
    /// be signed by it.
    #[arg(long, value_name = "ISSUER.pub")]
    pub issuer: PathBuf,
    /// The witness's state (per series, the last generation it cosigned);
    /// default `$XDG_STATE_HOME/legation/witness-<key>.state`.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Forget what the state says of this series and cosign what the copy
    /// holds as a first sight (after a lost history, say).
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub succession: super::issuer::SuccessionOpts,
    /// Write the cosignature file here instead of beside the archive.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The time to take as now (RFC 3339, UTC), for tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// The arguments of `heartbeat`.
#[derive(Debug, clap::Args)]
pub struct HeartbeatArgs {
    /// The newest generation: a format 2.0 file or s3://BUCKET/KEY.
    pub archive: Location,
    /// The issuer's secret key; it must be one that signed the generation.
    #[arg(long, alias = "key", value_name = "ISSUER.key")]
    pub sign: PathBuf,
    /// How long the statement holds: seconds, or a number with s, m, h or d.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_age)]
    pub valid: i64,
    /// Write the heartbeat here instead of beside the archive.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The time to take as now (RFC 3339, UTC), for tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// The options `verify` takes for freshness.
#[derive(Debug, Default, clap::Args)]
pub struct FreshnessOpts {
    /// A witness public key whose cosignatures count, optionally tied to
    /// the copy its host serves (`iceland.pub=s3://iceland/register.lgn`),
    /// so that a copy older than its own witness cosigned is named; repeatable.
    #[arg(long = "witness", value_name = "KEY.pub[=COPY]")]
    pub witnesses: Vec<String>,
    /// A generation counts as published once this many of the witnesses
    /// cosigned it.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub min_witnesses: usize,
    /// Freshness must be established within this long: by a heartbeat of
    /// the issuer, else by the witnesses' cosignatures.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub max_age: Option<i64>,
    /// The issuer's heartbeat (default: the one beside each copy).
    #[arg(long, value_name = "FILE")]
    pub heartbeat: Option<PathBuf>,
    /// A folder of more cosignature files (`*.cosig`).
    #[arg(long, value_name = "DIR")]
    pub cosignatures: Option<PathBuf>,
    /// The time to take as now (RFC 3339, UTC), for tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

impl FreshnessOpts {
    /// Whether any freshness option was given.
    pub fn asked(&self) -> bool {
        !self.witnesses.is_empty() || self.max_age.is_some() || self.heartbeat.is_some()
    }
}

/// `--valid`, `--max-age`: seconds, or a number with s, m, h or d.
pub fn parse_age(s: &str) -> Result<i64, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s}: not a duration such as 3600, 90m, 12h or 7d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s}: the unit must be s, m, h or d")),
    };
    match n.checked_mul(unit) {
        Some(v) if v > 0 && v <= 100 * 365 * 86_400 => Ok(v),
        _ => Err(format!("{s}: between 1 second and 100 years")),
    }
}

/// Now: `--now`, else the clock.
pub(crate) fn now(given: Option<&str>) -> Result<i64> {
    match given {
        Some(t) => parse_rfc3339(t).ok_or_else(|| anyhow!("--now {t}: not YYYY-MM-DDTHH:MM:SSZ")),
        None => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs() as i64),
    }
}

/// `keygen witness -o NAME [--pq]`: NAME.key (secret, owner-only) and
/// NAME.pub; with `pq`, a hybrid witness (Ed25519 and ML-DSA-65, format
/// 2.3, SPEC §34.1) whose cosignatures carry both lines.
pub fn keygen(name: &Path, comment: Option<&str>, force: bool, pq: bool) -> Result<u8> {
    let key = if pq {
        WitnessKey::generate_hybrid(&mut OsRng)
    } else {
        WitnessKey::generate(&mut OsRng)
    };
    let public = key.public_key();
    let kind = if pq { "Ed25519 + ML-DSA-65" } else { "Ed25519" };
    let fp = fingerprint(&key.public());
    let about = comment.map(|c| format!(": {c}")).unwrap_or_default();
    let suffixed = |ext: &str| {
        let mut s = name.as_os_str().to_owned();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    let (secret_path, public_path) = (suffixed("key"), suffixed("pub"));
    let text = key.to_key_file(&format!(
        "Legation witness ({kind}) secret key {fp}{about}. Keep it secret."
    ));
    write_new_file(&secret_path, text.as_bytes(), true, force)?;
    let text = public.to_key_file(&format!("Legation witness ({kind}) public key {fp}{about}"));
    write_new_file(&public_path, text.as_bytes(), false, force)?;
    if pq {
        // The whole key is 3968 hex digits: the file holds it; the
        // Ed25519 half names the witness (its short id, fingerprint).
        println!(
            "{WITNESS_HYBRID_PUBLIC} (Ed25519 half {})",
            hex::encode(&key.public())
        );
    } else {
        println!("{WITNESS_PUBLIC} {}", hex::encode(&key.public()));
    }
    eprintln!(
        "wrote {} (secret) and {}; fingerprint {fp}",
        secret_path.display(),
        public_path.display()
    );
    Ok(0)
}

fn read_witness_secret(p: &Path) -> Result<WitnessKey> {
    let text = read_key_text(p, "witness key", true)?;
    Ok(WitnessKey::from_key_file(&text, &p.display().to_string())?)
}

fn read_witness_public(p: &Path) -> Result<WitnessPublic> {
    let text = read_key_text(p, "witness key", false)?;
    Ok(WitnessPublic::from_key_file(
        &text,
        &p.display().to_string(),
    )?)
}

/// Where the files beside an archive go: its folder, or its prefix.
pub(crate) enum Beside {
    Dir(PathBuf),
    Prefix { bucket: String, prefix: String },
}

impl Beside {
    pub(crate) fn of(loc: &Location) -> Beside {
        match loc {
            Location::Local(p) => Beside::Dir(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
            ),
            Location::Remote(u) => Beside::Prefix {
                bucket: u.bucket.clone(),
                prefix: u.key.rsplit_once('/').map_or("", |(d, _)| d).to_owned(),
            },
        }
    }

    /// The name of `rel` (`witness/…`, `heartbeat`) here, for messages.
    pub(crate) fn show(&self, rel: &str) -> String {
        match self {
            Beside::Dir(d) => d.join(rel).display().to_string(),
            Beside::Prefix { .. } => self.url(rel).to_string(),
        }
    }

    fn url(&self, rel: &str) -> Url {
        let Beside::Prefix { bucket, prefix } = self else {
            unreachable!("only prefixes have URLs")
        };
        Url {
            bucket: bucket.clone(),
            key: if prefix.is_empty() {
                rel.to_owned()
            } else {
                format!("{prefix}/{rel}")
            },
        }
    }

    /// Writes `rel` whole (replacing it).
    pub(crate) fn write(&self, rel: &str, bytes: &[u8]) -> Result<String> {
        match self {
            Beside::Dir(d) => {
                let target = d.join(rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                write_replacing(&target, bytes)?;
            }
            Beside::Prefix { .. } => {
                let url = self.url(rel);
                legation_remote::connect(&url)?.put(&url, bytes.to_vec())?;
            }
        }
        Ok(self.show(rel))
    }

    /// Reads `rel` if it is there, refusing more than `limit` bytes.
    fn read(&self, rel: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        match self {
            Beside::Dir(d) => read_small(&d.join(rel), limit),
            Beside::Prefix { .. } => {
                let url = self.url(rel);
                Ok(legation_remote::connect(&url)?.get_small(&url, limit)?)
            }
        }
    }

    /// The cosignature files in `witness/`: (name shown, bytes).
    fn cosignatures(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.files("witness", "cosig", MAX_COSIGNATURE_FILE as u64)
    }

    /// The files `folder/*.ext` here, each at most `limit` bytes: (name
    /// shown, bytes), sorted by name; none when the folder is not there.
    pub(crate) fn files(
        &self,
        folder: &str,
        ext: &str,
        limit: u64,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        match self {
            Beside::Dir(d) => out = files_in(&d.join(folder), ext, limit)?,
            Beside::Prefix { bucket, .. } => {
                let folder = self.url(folder);
                let store = legation_remote::connect(&folder)?;
                let dot = format!(".{ext}");
                for u in store.list(bucket, &folder.key)? {
                    if !u.key.ends_with(&dot) {
                        continue;
                    }
                    if let Some(b) = store.get_small(&u, limit)? {
                        out.push((u.to_string(), b));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A file whole, `None` if it does not exist, refused above `limit` bytes.
fn read_small(p: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let f = match std::fs::File::open(p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!(e).context(format!("reading {}", p.display()))),
    };
    let mut b = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut b)
        .with_context(|| format!("reading {}", p.display()))?;
    if b.len() as u64 > limit {
        bail!("{}: more than the {limit} bytes it may have", p.display());
    }
    Ok(Some(b))
}

/// Writes a file whole under a temporary name, synced, then renamed over
/// `target`: a crash leaves the old file or the new one.
fn write_replacing(target: &Path, bytes: &[u8]) -> Result<()> {
    let (tmp, ()) = place::write_beside(target, |w| Ok(w.write_all(bytes)?))?;
    place::place(&tmp, target, true)
}

/// The state file's default place.
fn default_state(key: &WitnessKey) -> Result<PathBuf> {
    let base =
        match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(std::env::var_os("HOME").ok_or_else(|| {
                anyhow!("neither XDG_STATE_HOME nor HOME is set: pass --state FILE")
            })?)
            .join(".local/state"),
        };
    Ok(base
        .join("legation")
        .join(format!("witness-{}.state", key.short_id())))
}

/// Writes a witness's state whole, creating its folder.
fn write_state(path: &Path, state: &WitnessState) -> Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    write_replacing(path, &state.to_bytes())
}

/// A 2.0 archive's head and signatures, or a message that 1.x has none.
fn head_of(loc: &Location, a: &Archive) -> Result<(Vec<u8>, Vec<u8>)> {
    let (h, s) = a.head_and_signatures().ok_or_else(|| {
        anyhow!("{loc}: a format 1.x archive has no generations (witnesses and heartbeats are for format 2.0; `legation convert` rewrites it)")
    })?;
    Ok((h.to_vec(), s.to_vec()))
}

/// `witness ARCHIVE --key HOST.key --issuer GOV.pub`.
pub fn witness(args: &WitnessArgs) -> Result<u8> {
    let now = now(args.now.as_deref())?;
    let key = read_witness_secret(&args.key)?;
    let pinned = read_issuer_public(&args.issuer)?;
    let a = open(&args.archive)?;
    let (head_bytes, sigs) = head_of(&args.archive, &a)?;
    // The issuer's handovers and revocations (SPEC §37.5): the key that
    // holds this generation is the one the audit pins.
    let judged = super::issuer::Judged::of(&args.archive, &a, pinned, &args.succession)?;
    let pinned = judged.pin(pinned);
    let bar = output::bar(a.len(), "auditing");
    let report = a.verify_fixity(Some(&pinned), &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        true
    });
    bar.finish_and_clear();
    if !report.ok() {
        for p in &report.problems {
            println!("FAILED  {}", crate::view::sanitize(&p.message));
        }
        println!(
            "NOT COSIGNED: the keyless audit of {} failed; repair it from another copy first",
            args.archive
        );
        return Ok(1);
    }
    let mut file = Cosignatures::new(&head_bytes, &sigs)?;
    let chain = file.chain();
    let head = file.head.clone();
    let series = hex::encode(&head.archive_id);
    let state_path = match &args.state {
        Some(p) => p.clone(),
        None => default_state(&key)?,
    };
    let mut state = match read_small(&state_path, 64 << 20)? {
        Some(b) => WitnessState::parse(&b)
            .with_context(|| format!("reading the witness state {}", state_path.display()))?,
        None => WitnessState::default(),
    };
    if args.reset && state.remove(&head.archive_id) {
        eprintln!(
            "witness: --reset: forgot what {} said of series {series}",
            state_path.display()
        );
    }
    if let Err(why) = judged.remember(&args.archive, &head, &mut state, now) {
        // Remember what was revoked, even when cosigning nothing.
        write_state(&state_path, &state)?;
        println!("NOT COSIGNED: {}: {why}", args.archive);
        return Ok(1);
    }
    let mut siblings: Option<SiblingHeads> = None;
    let admitted = state.admit(&head, &chain, now, |s| {
        siblings
            .get_or_insert_with(|| sibling_heads(&args.archive, &head.archive_id, &pinned))
            .get(&s)
            .copied()
    });
    if let Err(refusal) = admitted {
        println!("NOT COSIGNED: {}: {refusal}", args.archive);
        if let Refusal::Fork { .. } = refusal {
            // Keep the evidence: the head held now; the state has the
            // chain hash of the one cosigned before.
            let evidence =
                state_path.with_file_name(format!("fork-{series}-{}.evidence", head.sequence));
            write_replacing(&evidence, &file.to_bytes())?;
            println!("evidence: {}", evidence.display());
        }
        return Ok(match refusal {
            Refusal::Unlinked { .. } => 2,
            _ => 1,
        });
    }
    state.set(Held {
        archive_id: head.archive_id,
        sequence: head.sequence,
        chain,
        created: head.created,
        time: now,
    });
    // The state first: a cosignature the state does not remember would
    // let a rolled-back copy be cosigned after a crash.
    write_state(&state_path, &state)?;
    let time = u64::try_from(now).map_err(|_| anyhow!("the clock is before 1970"))?;
    for line in cosign_all(&key, &head_bytes, time)? {
        file.add(line);
    }
    let bytes = file.to_bytes();
    let written = match &args.output {
        Some(p) => {
            write_replacing(p, &bytes)?;
            vec![p.display().to_string()]
        }
        None => {
            let beside = Beside::of(&args.archive);
            let id = key.short_id();
            vec![
                beside.write(
                    &format!("witness/{:016x}-{id}.cosig", head.sequence),
                    &bytes,
                )?,
                beside.write(&format!("witness/latest-{id}.cosig"), &bytes)?,
            ]
        }
    };
    println!(
        "cosigned generation {} of series {series} (chain {}) as witness {} at {}: {}",
        head.sequence,
        hex::encode(&chain),
        fingerprint(&key.public()),
        format_rfc3339(now),
        written.join(", ")
    );
    Ok(0)
}

/// Sequence -> (previous, chain hash) of a series' generations.
type SiblingHeads = BTreeMap<u64, ([u8; 32], [u8; 32])>;

/// The generations of the series present beside a local archive, signed
/// by the issuer. Files that do not open, or belong to another series,
/// are passed over.
fn sibling_heads(loc: &Location, archive_id: &[u8; 16], pinned: &[u8; 32]) -> SiblingHeads {
    let mut out = BTreeMap::new();
    let Location::Local(path) = loc else {
        return out;
    };
    let Beside::Dir(dir) = Beside::of(loc) else {
        return out;
    };
    let Ok(listing) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in listing.flatten() {
        let p = e.path();
        if p == *path || p.extension().is_none_or(|x| x != "lgn") {
            continue;
        }
        let Ok(a) = Location::Local(p)
            .source()
            .and_then(|s| Ok(Archive::open(s)?))
        else {
            continue;
        };
        if a.check_signature(Some(pinned)).is_err() {
            continue;
        }
        let Some((h, s)) = a.head_and_signatures() else {
            continue;
        };
        if let Ok(head) = Head::parse(h) {
            if &head.archive_id == archive_id {
                out.insert(
                    head.sequence,
                    (head.previous, legation_format::v2::head::chain_hash(h, s)),
                );
            }
        }
    }
    out
}

/// The pin of a generation's issuer from its `signatures` (already
/// verified): a hybrid pair's id when the lines are one `ed25519` and one
/// `ml-dsa-65` line, else `None` (the Ed25519 key is the pin).
fn copy_pin(signatures: &[u8]) -> Option<[u8; 32]> {
    let lines = legation_format::v2::head::parse_signatures(signatures).ok()?;
    let of = |a: &str| -> Vec<Vec<u8>> {
        lines
            .iter()
            .filter(|l| l.algorithm == a)
            .map(|l| l.public_key.clone())
            .collect()
    };
    let ed: Vec<[u8; 32]> = of(legation_format::v2::head::ED25519)
        .into_iter()
        .filter_map(|k| k.try_into().ok())
        .collect();
    let ml = of(legation_format::pqsig::ML_DSA_65);
    match (&ed[..], &ml[..]) {
        ([e], [m]) => Some(legation_format::pqsig::hybrid_id(e, m)),
        _ => None,
    }
}

/// `heartbeat ARCHIVE --sign GOV.key --valid D`.
pub fn heartbeat(args: &HeartbeatArgs) -> Result<u8> {
    let now = now(args.now.as_deref())?;
    let issuer: IssuerKey = read_issuer_secret(&args.sign)?;
    let a = open(&args.archive)?;
    let (head_bytes, sigs) = head_of(&args.archive, &a)?;
    // A usage error (exit 2), not a forgery: the issuer gave another key.
    if let Err(e) = a.check_signature(Some(&issuer.public_key().pin())) {
        bail!(
            "{}: the generation is not signed by {}: an issuer vouches only for its own series \
             ({e})",
            args.archive,
            args.sign.display()
        );
    }
    let head = Head::parse(&head_bytes)?;
    let mut hb = Heartbeat {
        archive_id: head.archive_id,
        sequence: head.sequence,
        chain: legation_format::v2::head::chain_hash(&head_bytes, &sigs),
        time: now,
        expires: now + args.valid,
        signatures: Vec::new(),
    };
    hb.sign(&issuer)?;
    let bytes = hb.to_bytes();
    let at = match &args.output {
        Some(p) => {
            write_replacing(p, &bytes)?;
            p.display().to_string()
        }
        None => Beside::of(&args.archive).write("heartbeat", &bytes)?,
    };
    println!(
        "heartbeat: generation {} of series {} is the newest as of {}, until {}: {at}",
        hb.sequence,
        hex::encode(&hb.archive_id),
        format_rfc3339(hb.time),
        format_rfc3339(hb.expires)
    );
    Ok(0)
}

/// A witness key given to `verify`.
struct Witness {
    /// Its Ed25519 key (the witness's identity).
    key: [u8; 32],
    /// The whole key: a hybrid witness's lines count only with both.
    public: WitnessPublic,
    name: String,
    /// The copy its host serves, as given.
    tied: Option<String>,
}

/// One generation's head as seen somewhere, and who cosigned it.
#[derive(Default)]
struct Seen {
    created: i64,
    /// Witness key -> its newest cosignature time on this head.
    cosigners: BTreeMap<[u8; 32], i64>,
}

/// A copy given to `verify`, as far as freshness needs.
struct Copy {
    name: String,
    archive_id: [u8; 16],
    sequence: u64,
    created: i64,
}

/// `loc` itself, or, for a local folder holding a series' generation
/// files, the newest of them (the folder's copy of the series); a folder
/// that holds none stays as given, and opening it fails as `verify` said.
pub(crate) fn newest_in_folder(loc: &Location) -> Location {
    match loc.local().filter(|d| d.is_dir()) {
        Some(dir) => legation_reader::series::Series::find(&[dir.to_path_buf()])
            .ok()
            .and_then(|s| s.files.into_iter().max_by_key(|f| f.sequence()))
            .map_or_else(|| loc.clone(), |f| Location::Local(f.path)),
        None => loc.clone(),
    }
}

/// What `verify` adds with `--witness`, `--max-age` or `--heartbeat`:
/// prints the freshness of the copies, and returns `code` made worse by
/// what it found (1 for a forged statement, a fork or an equivocation,
/// [`STALE`] for a stale copy or freshness not established; 1 wins).
pub fn freshness(
    archives: &[Location],
    keys: &KeyOpts,
    f: &FreshnessOpts,
    code: u8,
    json: bool,
) -> Result<u8> {
    let now = now(f.now.as_deref())?;
    let mut witnesses = Vec::new();
    for w in &f.witnesses {
        let (file, tied) = match w.split_once('=') {
            Some((file, copy)) => (file, Some(copy.to_owned())),
            None => (w.as_str(), None),
        };
        let public = read_witness_public(Path::new(file))?;
        let key = public.ed25519;
        if let Some(c) = &tied {
            if !archives.iter().any(|a| a.to_string() == *c) {
                bail!("--witness {w}: {c} is not one of the archives given");
            }
        }
        let name = Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned());
        witnesses.push(Witness {
            key,
            public,
            name,
            tied,
        });
    }
    if !witnesses.is_empty() && (f.min_witnesses == 0 || f.min_witnesses > witnesses.len()) {
        bail!(
            "--min-witnesses {}: between 1 and the {} witness key(s) given",
            f.min_witnesses,
            witnesses.len()
        );
    }
    let pinned = keys.issuer.as_deref().map(read_issuer_public).transpose()?;
    let mut lines: Vec<String> = Vec::new();
    let mut found = 0u8;
    let mut note = |line: String, c: u8, lines: &mut Vec<String>| {
        lines.push(line);
        found = if found == 1 || c == 1 {
            1
        } else {
            found.max(c)
        };
    };
    // The copies' heads, and who signed them.
    let mut copies = Vec::new();
    let mut issuers: Vec<[u8; 32]> = pinned.into_iter().collect();
    let mut heads: BTreeMap<([u8; 16], u64), BTreeMap<[u8; 32], Seen>> = BTreeMap::new();
    for given in archives {
        // A copy given as a folder stands for its newest generation's
        // file (cosignatures sit beside it, in the same folder).
        let loc = &newest_in_folder(given);
        let Ok(a) = open(loc) else { continue }; // verify said why
        let Some((h, s)) = a.head_and_signatures() else {
            lines.push(format!("{loc}: format 1.x, no generations: not compared"));
            continue;
        };
        match a.check_signature(pinned.as_ref()) {
            Ok(Signer::Valid { public_key, .. }) => {
                // Trusted as its pin (SPEC §27.4): a hybrid issuer's id,
                // so that its statements need both halves (2.3); with a
                // pin given, that pin alone.
                let pin = copy_pin(s).unwrap_or(public_key);
                if pinned.is_none() && !issuers.contains(&pin) {
                    issuers.push(pin);
                }
            }
            _ => continue, // verify reported it
        }
        let head = Head::parse(h)?;
        let chain = legation_format::v2::head::chain_hash(h, s);
        heads
            .entry((head.archive_id, head.sequence))
            .or_default()
            .entry(chain)
            .or_default()
            .created = head.created;
        copies.push((
            loc.clone(),
            Copy {
                name: given.to_string(),
                archive_id: head.archive_id,
                sequence: head.sequence,
                created: head.created,
            },
        ));
    }
    if copies.is_empty() {
        bail!("no format 2.0 copy opened with a valid issuer signature: nothing to compare");
    }
    if pinned.is_none() && issuers.len() > 1 {
        bail!("the copies are signed by different issuers: pass --issuer ISSUER.pub");
    }
    let series: Vec<[u8; 16]> = {
        let mut s: Vec<_> = copies.iter().map(|c| c.1.archive_id).collect();
        s.sort();
        s.dedup();
        s
    };
    // Cosignatures beside every copy, and --cosignatures.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (loc, _) in &copies {
        files.extend(Beside::of(loc).cosignatures()?);
    }
    if let Some(dir) = &f.cosignatures {
        if !dir.is_dir() {
            bail!("--cosignatures {}: not a folder", dir.display());
        }
        files.extend(files_in(dir, "cosig", MAX_COSIGNATURE_FILE as u64)?);
    }
    files.sort();
    files.dedup();
    let keys: Vec<WitnessPublic> = witnesses.iter().map(|w| w.public.clone()).collect();
    for (name, bytes) in &files {
        let c = match Cosignatures::parse(bytes, name) {
            Ok(c) => c,
            Err(e) => {
                note(format!("REFUSED cosignature {e}"), 1, &mut lines);
                continue;
            }
        };
        if !series.contains(&c.head.archive_id) {
            continue; // another series shares the folder
        }
        match c.check_keys(&issuers, &keys, now, name) {
            Ok(cosigned) => {
                let seen = heads
                    .entry((c.head.archive_id, c.head.sequence))
                    .or_default()
                    .entry(c.chain())
                    .or_default();
                seen.created = c.head.created;
                for k in cosigned {
                    let t = seen.cosigners.entry(k.witness).or_insert(k.time);
                    *t = (*t).max(k.time);
                }
            }
            Err(e) => note(format!("REFUSED cosignature {e}"), 1, &mut lines),
        }
    }
    // The heartbeat: given, else the newest valid one beside a copy.
    let mut beats: Vec<(String, Vec<u8>)> = Vec::new();
    match &f.heartbeat {
        Some(p) => beats.push((
            p.display().to_string(),
            read_small(p, MAX_HEARTBEAT as u64)?
                .ok_or_else(|| anyhow!("{}: no such file", p.display()))?,
        )),
        None => {
            for (loc, _) in &copies {
                let b = Beside::of(loc);
                if let Some(bytes) = b.read("heartbeat", MAX_HEARTBEAT as u64)? {
                    beats.push((b.show("heartbeat"), bytes));
                }
            }
        }
    }
    let mut beat: Option<Heartbeat> = None;
    let mut expired: Option<String> = None;
    for (name, bytes) in beats {
        let hb = match Heartbeat::parse(&bytes) {
            Ok(h) => h,
            Err(e) => {
                note(format!("REFUSED {name}: {e}"), 1, &mut lines);
                continue;
            }
        };
        if !series.contains(&hb.archive_id) {
            continue;
        }
        match hb.check(&issuers, now) {
            Ok(()) => {
                heads
                    .entry((hb.archive_id, hb.sequence))
                    .or_default()
                    .entry(hb.chain)
                    .or_default();
                if beat
                    .as_ref()
                    .is_none_or(|b| (b.sequence, b.time) < (hb.sequence, hb.time))
                {
                    beat = Some(hb);
                }
            }
            Err(e @ witness::WitnessError::Expired { .. }) => {
                expired = Some(format!("{name}: {e}"));
            }
            Err(e) => note(format!("REFUSED {name}: {e}"), 1, &mut lines),
        }
    }
    // Forks: one sequence, two chain hashes, each vouched for by the issuer.
    for ((id, s), chains) in &heads {
        if chains.len() > 1 {
            let list: Vec<String> = chains.keys().map(|c| hex::encode(c)).collect();
            note(
                format!(
                    "FORK: series {} has {} different generations {s} signed by its issuer (chain hashes {})",
                    hex::encode(id),
                    chains.len(),
                    list.join(", ")
                ),
                1,
                &mut lines,
            );
        }
    }
    let name_of = |k: &[u8; 32]| {
        witnesses
            .iter()
            .find(|w| &w.key == k)
            .map_or_else(|| fingerprint(k), |w| w.name.clone())
    };
    let mut report = Vec::new();
    for id in &series {
        // The published generation: the highest cosigned by K witnesses.
        let mut published: Option<(u64, &Seen)> = None;
        for ((sid, s), chains) in heads.range((*id, 0)..=(*id, u64::MAX)) {
            debug_assert_eq!(sid, id);
            for seen in chains.values() {
                if !witnesses.is_empty() && seen.cosigners.len() >= f.min_witnesses {
                    published = Some((*s, seen));
                }
            }
        }
        let beat_here = beat.as_ref().filter(|b| &b.archive_id == id);
        let by_beat = beat_here.filter(|b| published.is_none_or(|(s, _)| b.sequence > s));
        let newest: Option<u64> = match (published, by_beat) {
            (_, Some(b)) => Some(b.sequence),
            (Some((s, _)), None) => Some(s),
            (None, None) => None,
        };
        let describe = |s: u64| -> String {
            let seen = heads.get(&(*id, s)).and_then(|c| c.values().next());
            let created = seen
                .filter(|x| x.created != 0)
                .map(|x| format!(" ({})", format_rfc3339(x.created)))
                .unwrap_or_default();
            let mut vouched = Vec::new();
            let mut who: Vec<String> = seen
                .map(|x| {
                    x.cosigners
                        .iter()
                        .map(|(k, t)| format!("{} ({})", name_of(k), format_rfc3339(*t)))
                        .collect()
                })
                .unwrap_or_default();
            who.sort();
            if !who.is_empty() {
                vouched.push(format!("cosigned by {}", who.join(", ")));
            }
            if let Some(b) = beat_here.filter(|b| b.sequence == s) {
                vouched.push(format!(
                    "named by the issuer's heartbeat ({})",
                    format_rfc3339(b.time)
                ));
            }
            format!(
                "generation {s}{created} is published: {}",
                vouched.join("; ")
            )
        };
        match newest {
            Some(s) => lines.push(format!("series {}: {}", hex::encode(id), describe(s))),
            None => lines.push(format!(
                "series {}: no generation is published (cosigned by {} of the witnesses given, or named by a valid heartbeat)",
                hex::encode(id),
                f.min_witnesses
            )),
        }
        for (_, c) in copies.iter().filter(|c| &c.1.archive_id == id) {
            let held = format!(
                "{} holds generation {} ({})",
                c.name,
                c.sequence,
                format_rfc3339(c.created)
            );
            let status = match newest {
                Some(s) if c.sequence < s => {
                    // Its own witness cosigned something newer?
                    let own = witnesses
                        .iter()
                        .filter(|w| w.tied.as_deref() == Some(&c.name));
                    let mut caught = None;
                    for w in own {
                        for ((_, gs), chains) in
                            heads.range((*id, c.sequence + 1)..=(*id, u64::MAX))
                        {
                            for seen in chains.values() {
                                if let Some(t) = seen.cosigners.get(&w.key) {
                                    caught = Some((w.name.clone(), *gs, *t));
                                }
                            }
                        }
                    }
                    match caught {
                        Some((who, gs, t)) => {
                            note(
                                format!(
                                    "EQUIVOCATION: {held}, but its own witness {who} cosigned generation {gs} at {}",
                                    format_rfc3339(t)
                                ),
                                1,
                                &mut lines,
                            );
                            "equivocation"
                        }
                        None => {
                            note(format!("STALE: {held}; {}", describe(s)), STALE, &mut lines);
                            "stale"
                        }
                    }
                }
                Some(s) if c.sequence > s => {
                    lines.push(format!(
                        "{held}: newer than the published generation {s} (not yet cosigned by {} witness(es))",
                        f.min_witnesses
                    ));
                    "not yet published"
                }
                Some(_) => {
                    lines.push(format!("current: {held}"));
                    "current"
                }
                None => {
                    lines.push(format!("{held}: nothing to compare it with"));
                    "unknown"
                }
            };
            report.push(json!({"archive": c.name, "generation": c.sequence, "status": status}));
        }
        if let Some(max_age) = f.max_age {
            // The freshness time: the heartbeat's, when it names the
            // newest; else the K-th newest witness cosignature on it.
            let t = match (newest, beat_here) {
                (Some(s), Some(b)) if b.sequence == s => Some(b.time),
                (Some(s), _) => heads.get(&(*id, s)).and_then(|c| {
                    let mut times: Vec<i64> = c
                        .values()
                        .flat_map(|seen| seen.cosigners.values().copied())
                        .collect();
                    times.sort_unstable_by(|a, b| b.cmp(a));
                    times.get(f.min_witnesses.max(1) - 1).copied()
                }),
                (None, _) => None,
            };
            // An expired heartbeat and no valid one: the issuer has stopped
            // vouching, whatever the witnesses say (SPEC §34.6 rule 7).
            let lapsed = expired.as_ref().filter(|_| beat_here.is_none());
            match (newest, t) {
                _ if lapsed.is_some() => note(
                    format!(
                        "NOT FRESH: the issuer's heartbeat has expired ({})",
                        lapsed.map_or("", |e| e.as_str())
                    ),
                    STALE,
                    &mut lines,
                ),
                (Some(s), Some(t)) if now - t <= max_age => lines.push(format!(
                    "fresh: the newest statement that generation {s} is current is {} old (--max-age {})",
                    age(now - t),
                    age(max_age)
                )),
                (Some(s), Some(t)) => note(
                    format!(
                        "NOT FRESH: the newest statement that generation {s} is current is {} old (--max-age {})",
                        age(now - t),
                        age(max_age)
                    ),
                    STALE,
                    &mut lines,
                ),
                _ => note(
                    format!(
                        "NOT FRESH: no statement that a generation is current within --max-age {}{}",
                        age(max_age),
                        expired.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
                    ),
                    STALE,
                    &mut lines,
                ),
            }
        }
    }
    if let Some(e) = expired.filter(|_| f.max_age.is_none()) {
        lines.push(format!("note: {e}"));
    }
    if json {
        let j = json!({"freshness": {"copies": report, "findings": lines, "exit": found}});
        println!("{}", output::json(&j, false));
    } else {
        println!();
        println!("== freshness");
        for l in &lines {
            println!("{l}");
        }
    }
    Ok(match (code, found) {
        (1, _) | (_, 1) => 1,
        (_, STALE) => STALE,
        (c, f) => worst_code(c, f),
    })
}

/// A duration in the largest unit that fits: `9d 2h`, `5h 3m`, `40s`.
fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s / 60 % 60),
        _ => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

/// The `*.ext` files of a folder, sorted by name, each at most `limit`
/// bytes; none when the folder does not exist.
fn files_in(dir: &Path, ext: &str, limit: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow!(e).context(format!("listing {}", dir.display()))),
    };
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if let Some(b) = read_small(&p, limit)? {
            out.push((p.display().to_string(), b));
        }
    }
    Ok(out)
}

//! Generations of a series (SPEC §33): `pack SRC --update PREVIOUS -o
//! NEXT`, `log SERIES`, `diff SERIES A B`, `compact SERIES -o ONE`, and
//! `--generation S` on `ls`, `cat` and `info` (which also read a dependent
//! generation file given alone, through its series).
//!
//! A series is given as files or a folder; beside a file, the other
//! `*.lgn` files of its folder are candidates for the generations it
//! needs. Local files only.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::pack::{self, PackOptions};
use legation_format::v2::index::Changes;
use legation_format::v2::writer::update::{self, UpdateOptions, UpdateWriter};
use legation_format::writer::{RecordMeta, RecordSource};
use legation_format::{crypto, hex, time};
use legation_reader::series::{GenerationFile, Placed, Series, UpdateSink};
use legation_remote::Url;
use rand_core::OsRng;
use serde_json::json;

use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::place::{place, temp_beside};
use crate::{decoders, output, view};

/// Finds a series given as local files or folders, or as `s3://` URLs
/// (beside each, the other `*.lgn` objects of its folder), and says what
/// was left out.
pub fn find(given: &[Location]) -> Result<Series> {
    let first = given.first().ok_or_else(|| anyhow!("no series given"))?;
    let s = match given
        .iter()
        .map(Location::local)
        .collect::<Option<Vec<_>>>()
    {
        Some(paths) => {
            let paths: Vec<PathBuf> = paths.into_iter().map(Path::to_path_buf).collect();
            Series::find(&paths)
        }
        None => find_remote(given),
    }
    .with_context(|| format!("opening the series {first}"))?;
    // A change of issuers stands when the handovers in `issuer/` beside
    // the series account for it (SPEC §37.6).
    let s = match s.errors().iter().any(|e| e.kind() == "issuers-changed") {
        true => {
            let st = super::issuer::Statements::gather(given, &Default::default())?;
            let handovers = st.handovers(s.archive_id);
            s.with_handovers(&handovers)
        }
        false => s,
    };
    for n in &s.notes {
        eprintln!("note: {}", view::sanitize(n));
    }
    Ok(s)
}

/// A generation object on a store, opened by ranges.
fn open_object(url: &Url) -> legation_reader::Result<GenerationFile> {
    let source =
        Location::Remote(url.clone())
            .source()
            .map_err(|e| legation_reader::Error::Source {
                what: "the generation object".into(),
                source_name: url.to_string(),
                source: std::io::Error::other(format!("{e:#}")),
            })?;
    GenerationFile::of(
        PathBuf::from(url.to_string()),
        legation_reader::Archive::open(source)?,
    )
}

/// [`find`] on a store: the objects given, then the other `*.lgn`
/// objects of each one's folder.
fn find_remote(given: &[Location]) -> legation_reader::Result<Series> {
    let mut urls: Vec<Url> = Vec::new();
    for l in given {
        match l {
            Location::Remote(u) if !urls.contains(u) => urls.push(u.clone()),
            Location::Remote(_) => {}
            Location::Local(p) => {
                return Err(legation_reader::Error::Source {
                    what: "the series".into(),
                    source_name: p.display().to_string(),
                    source: std::io::Error::other(
                        "a series is given as local files or as s3:// URLs, not both",
                    ),
                })
            }
        }
    }
    let mut files = Vec::new();
    for u in &urls {
        files.push(open_object(u)?);
    }
    let mut listed: Vec<Url> = Vec::new();
    for u in &urls {
        let store = legation_remote::connect(u).map_err(|e| legation_reader::Error::Source {
            what: "the store".into(),
            source_name: u.to_string(),
            source: std::io::Error::other(e),
        })?;
        let folder = u.key.rsplit_once('/').map_or("", |(d, _)| d);
        let objects =
            store
                .list(&u.bucket, folder)
                .map_err(|e| legation_reader::Error::Source {
                    what: "the series folder".into(),
                    source_name: format!("s3://{}/{folder}", u.bucket),
                    source: std::io::Error::other(e),
                })?;
        for o in objects {
            if o.key.ends_with(".lgn") && !urls.contains(&o) && !listed.contains(&o) {
                listed.push(o);
            }
        }
    }
    let found = listed
        .iter()
        .map(|u| (PathBuf::from(u.to_string()), open_object(u)))
        .collect();
    Series::gather(files, found)
}

/// Prints each splice error; whether there were any.
fn report_errors(s: &Series) -> bool {
    for e in s.errors() {
        eprintln!("SERIES: {}", view::sanitize(&e.to_string()));
    }
    !s.errors().is_empty()
}

/// The generation to open: `given`, else the first file's (a file or
/// an object given) or the newest present (a folder).
fn pick(s: &Series, given: Option<u64>, at: &[Location]) -> Result<u64> {
    if let Some(g) = given {
        return s
            .file(g)
            .map(|_| g)
            .ok_or_else(|| anyhow!("generation {g} is not among the files found"));
    }
    let names_one = |l: &Location| l.local().is_none_or(Path::is_file);
    if at.first().is_some_and(names_one) {
        return Ok(s.files[0].sequence());
    }
    Ok(s.newest()
        .ok_or_else(|| anyhow!("no generation found"))?
        .sequence())
}

/// The archive to read through its series: with `--generation`, when it
/// is a folder, or when it is a dependent generation (a file or an
/// object); `None` to read it as one archive.
pub fn route(loc: &Location, generation: Option<u64>) -> Option<Location> {
    (generation.is_some() || is_series(loc)).then(|| loc.clone())
}

/// Whether a location is read as a series: a folder, or a dependent
/// generation file or object.
pub fn is_series(loc: &Location) -> bool {
    match loc {
        Location::Local(p) => p.is_dir() || is_dependent(p),
        Location::Remote(u) => open_object(u).is_ok_and(|f| f.public().series.is_some()),
    }
}

/// Whether a local file is a dependent generation (read through its
/// series).
pub fn is_dependent(path: &Path) -> bool {
    path.is_file() && GenerationFile::open(path).is_ok_and(|f| f.public().series.is_some())
}

/// Unlocks generation `g`, after the splice rules and the signature (with
/// `--issuer`, pinned).
pub(super) fn unlock<'s>(
    s: &'s Series,
    g: u64,
    keys: &KeyOpts,
) -> Result<legation_reader::series::Unlocked<'s>> {
    if report_errors(s) {
        bail!("the series' files do not chain (see above); refusing to read it");
    }
    let f = s.file(g).expect("picked among the files");
    let pinned = keys
        .issuer
        .as_deref()
        .map(keyopts::read_issuer_public)
        .transpose()?;
    let signer = f.archive.check_signature(pinned.as_ref())?;
    if let legation_reader::Signer::Valid { fingerprint, .. } = &signer {
        eprintln!(
            "{}: generation {g}, signed by issuer {fingerprint}{}",
            f.path.display(),
            if pinned.is_some() {
                " (pinned)"
            } else {
                " (NOT pinned)"
            }
        );
    }
    let k = keys.keys(true)?;
    if k.is_empty() {
        return Err(anyhow!(legation_reader::Error::KeyNeeded));
    }
    Ok(s.unlock(g, &k)?)
}

/// `ls SERIES --generation S`: the records of a generation.
pub fn ls(
    paths: &[Location],
    generation: Option<u64>,
    keys: &KeyOpts,
    as_json: bool,
) -> Result<u8> {
    let s = find(paths)?;
    let g = pick(&s, generation, paths)?;
    let u = unlock(&s, g, keys)?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    for r in u.records() {
        let (rec, _) = r?;
        let line = if as_json {
            json!({"path": rec.path, "size": rec.size, "media_type": rec.media_type,
                   "blake3": hex::encode(&rec.blake3),
                   "modified": rec.modified.map(time::format_rfc3339)})
            .to_string()
        } else {
            format!(
                "{:>10}  {}  {}",
                rec.size,
                rec.media_type,
                view::sanitize(&rec.path)
            )
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(141);
        }
    }
    out.flush().ok();
    Ok(0)
}

/// `cat SERIES RECORD --generation S`.
pub fn cat(
    paths: &[Location],
    record: &str,
    generation: Option<u64>,
    keys: &KeyOpts,
) -> Result<u8> {
    let s = find(paths)?;
    let g = pick(&s, generation, paths)?;
    let u = unlock(&s, g, keys)?;
    let (rec, place) = u.find(record)?.ok_or_else(|| {
        anyhow!(legation_reader::Error::NoSuchRecord {
            path: record.into()
        })
    })?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    u.copy_record(&rec, place, &mut out)?;
    out.flush()?;
    Ok(0)
}

/// `extract SERIES -o DIR --generation S`: every record (or those
/// named) into a folder, each checked.
pub fn extract(
    paths: &[Location],
    out: &Path,
    records: &[String],
    generation: Option<u64>,
    keys: &KeyOpts,
    force: bool,
) -> Result<u8> {
    let s = find(paths)?;
    let g = pick(&s, generation, paths)?;
    let u = unlock(&s, g, keys)?;
    let write = |rec: &legation_format::v2::page::Record, place| -> Result<()> {
        let target = out.join(&rec.path);
        if target.exists() && !force {
            bail!("{} exists (use --force to replace it)", target.display());
        }
        if let Some(d) = target.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mut bytes = Vec::new();
        u.copy_record(rec, place, &mut bytes)?;
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))
    };
    let mut n = 0u64;
    if records.is_empty() {
        for r in u.records() {
            let (rec, place) = r?;
            write(&rec, place)?;
            n += 1;
        }
        for d in &u.empty_dirs {
            std::fs::create_dir_all(out.join(d))?;
        }
    } else {
        for p in records {
            let (rec, place) = u
                .find(p)?
                .ok_or_else(|| anyhow!(legation_reader::Error::NoSuchRecord { path: p.clone() }))?;
            write(&rec, place)?;
            n += 1;
        }
    }
    eprintln!(
        "extracted {n} records of generation {g} into {}",
        out.display()
    );
    Ok(0)
}

/// `info SERIES --generation S`: which generation a file is, what it
/// inherits and, with a key, what changed (from its sealed index), its
/// event log and its records' formats (PRONOM PUIDs, SPEC §11.6).
pub fn info(paths: &[Location], generation: Option<u64>, keys: &KeyOpts) -> Result<u8> {
    let s = find(paths)?;
    let g = pick(&s, generation, paths)?;
    let f = s.file(g).expect("picked");
    let h = &f.generation.head;
    println!("series {}", hex::encode(&h.archive_id));
    println!(
        "generation {g} of {}: created {}, {} records, {}",
        s.newest().map_or(g, |n| n.sequence()),
        time::format_rfc3339(h.created),
        h.records,
        output::size(h.bytes)
    );
    println!("chain hash {}", hex::encode(&f.generation.chain));
    match &f.public().series {
        None => println!("self-contained (needs no other file)"),
        Some(m) => {
            let list: Vec<String> = m
                .inherits
                .iter()
                .map(|i| format!("{} ({})", i.sequence, view::sanitize(&i.file)))
                .collect();
            println!("dependent: uses generations {}", list.join(", "));
        }
    }
    println!(
        "file {} ({})",
        f.path.display(),
        output::size(f.archive.len())
    );
    if keys.keys(false)?.is_empty() {
        println!("what changed: sealed in its index (`legation log` or `info` with a key)");
        return Ok(if report_errors(&s) { 1 } else { 0 });
    }
    let u = unlock(&s, g, keys)?;
    match u.changes {
        Some(c) => println!(
            "what changed: +{} added, ~{} changed, -{} removed against generation {}",
            c.added,
            c.changed,
            c.removed,
            g.saturating_sub(1)
        ),
        None => println!("what changed: self-contained (no earlier generation read)"),
    }
    println!();
    super::premis::print_log(
        legation_reader::events::read_from(&f.archive, u.data_key())?.as_ref(),
    );
    super::info::print_series_formats(&u)?;
    Ok(0)
}

/// The arguments of `log`.
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// The series: generation files or a folder.
    #[arg(required = true, value_name = "SERIES")]
    pub series: Vec<Location>,
    #[command(flatten)]
    pub keys: KeyOpts,
    /// One JSON object a generation, then one for the series.
    #[arg(long)]
    pub json: bool,
    /// Then verify the newest generation: the keyless audit of every file
    /// it uses (with the splice rules), and with a key its content.
    #[arg(long)]
    pub verify: bool,
}

/// `log SERIES`: the generations present, oldest first.
pub fn log(a: &LogArgs) -> Result<u8> {
    let s = find(&a.series)?;
    let k = a.keys.keys(false)?;
    let mut gens: Vec<&legation_reader::series::GenerationFile> = s.files.iter().collect();
    gens.sort_by_key(|f| f.sequence());
    let signer = |f: &legation_reader::series::GenerationFile| {
        f.generation
            .signers
            .first()
            .map(crypto::fingerprint)
            .unwrap_or_else(|| "unsigned".into())
    };
    if !a.json {
        println!("series {}", hex::encode(&s.archive_id));
        println!(
            "{:>4}  {:20}  {:>10}  {:>10}  {:>7}  {:>7}  {:>7}  {:>10}  {:14}  signer / file",
            "gen",
            "created",
            "records",
            "bytes",
            "added",
            "changed",
            "removed",
            "file bytes",
            "kind"
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in gens {
        let g = f.sequence();
        if !seen.insert((g, f.generation.chain)) {
            continue;
        }
        let changes: Option<Changes> = if k.is_empty() {
            None
        } else {
            s.unlock(g, &k).ok().and_then(|u| u.changes)
        };
        let kind = match &f.public().series {
            None if g == 0 => "first".to_string(),
            None => "self-contained".to_string(),
            Some(m) => {
                let used: Vec<String> = m.inherits.iter().map(|i| i.sequence.to_string()).collect();
                format!("reads {}", used.join(","))
            }
        };
        let h = &f.generation.head;
        if a.json {
            println!(
                "{}",
                json!({"sequence": g, "created": time::format_rfc3339(h.created),
                    "chain": hex::encode(&f.generation.chain), "signers": f.generation.signers.iter().map(crypto::fingerprint).collect::<Vec<_>>(),
                    "records": h.records, "bytes": h.bytes,
                    "added": changes.map(|c| c.added), "changed": changes.map(|c| c.changed), "removed": changes.map(|c| c.removed),
                    "file": f.path.display().to_string(), "file_bytes": f.archive.len(), "kind": kind})
            );
        } else {
            let c = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
            println!(
                "{g:>4}  {:20}  {:>10}  {:>10}  {:>7}  {:>7}  {:>7}  {:>10}  {:14}  {} {}",
                time::format_rfc3339(h.created),
                h.records,
                output::size(h.bytes),
                c(changes.map(|c| c.added)),
                c(changes.map(|c| c.changed)),
                c(changes.map(|c| c.removed)),
                output::size(f.archive.len()),
                kind,
                signer(f),
                f.path.display()
            );
        }
    }
    let bad = report_errors(&s);
    if a.json {
        println!(
            "{}",
            json!({"series": hex::encode(&s.archive_id), "newest": s.newest().map(|f| f.sequence()),
                   "errors": s.errors().iter().map(|e| json!({"kind": e.kind(), "message": e.to_string()})).collect::<Vec<_>>()})
        );
    } else if let (Some(o), Some(n)) = (s.files.iter().map(|f| f.sequence()).min(), s.newest()) {
        println!(
            "newest: {}; generations {o}-{} present{}",
            n.sequence(),
            n.sequence(),
            if bad { " with errors (above)" } else { "" }
        );
    }
    if !a.verify || bad {
        return Ok(if bad { 1 } else { 0 });
    }
    let n = s.newest().expect("found one").sequence();
    let pinned = a
        .keys
        .issuer
        .as_deref()
        .map(keyopts::read_issuer_public)
        .transpose()?;
    let mut problems = s.audit(n, pinned.as_ref(), &mut |_, _| true);
    let files = s.files_of(n).map(|f| f.len()).unwrap_or(0);
    if problems.is_empty() {
        eprintln!(
            "fixity:   OK: generation {n} and the {} earlier file(s) it uses; the series chains",
            files.saturating_sub(1)
        );
    }
    if !k.is_empty() && problems.is_empty() {
        let u = s.unlock(n, &k)?;
        problems = u.verify_content(&mut |_, _| {});
        if problems.is_empty() {
            eprintln!(
                "content:  OK: {} records of generation {n}, their tree and the head's root",
                u.head.records
            );
        }
    }
    for p in &problems {
        eprintln!("PROBLEM: {}", view::sanitize(p));
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}

/// The arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The series: a generation file, a folder or an s3:// URL.
    pub series: Location,
    /// The earlier generation (default: the one before the newest).
    pub a: Option<u64>,
    /// The later generation (default: the newest).
    pub b: Option<u64>,
    #[command(flatten)]
    pub keys: KeyOpts,
    /// One JSON object a record.
    #[arg(long)]
    pub json: bool,
}

/// `diff SERIES A B`: the records that differ, streaming both catalogs.
pub fn diff(a: &DiffArgs) -> Result<u8> {
    let s = find(std::slice::from_ref(&a.series))?;
    let newest = s
        .newest()
        .ok_or_else(|| anyhow!("no generation found"))?
        .sequence();
    let gb = a.b.unwrap_or(newest);
    let ga = a.a.unwrap_or(gb.saturating_sub(1));
    let ua = unlock(&s, pick(&s, Some(ga), &[])?, &a.keys)?;
    let ub = unlock(&s, pick(&s, Some(gb), &[])?, &a.keys)?;
    let mut ia = ua.records().peekable();
    let mut ib = ub.records().peekable();
    let (mut added, mut removed, mut changed, mut retouched) = (0u64, 0u64, 0u64, 0u64);
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut say = |sign: &str,
                   path: &str,
                   what: String,
                   before: Option<&Placed>,
                   after: Option<&Placed>|
     -> Result<()> {
        if a.json {
            let facts = |p: Option<&Placed>| {
                p.map(|(r, _)| json!({"size": r.size, "blake3": hex::encode(&r.blake3), "modified": r.modified}))
            };
            writeln!(
                out,
                "{}",
                json!({"path": path, "change": sign, "before": facts(before), "after": facts(after)})
            )?;
        } else {
            writeln!(out, "{sign} {}  {what}", view::sanitize(path))?;
        }
        Ok(())
    };
    loop {
        let pa = match ia.peek() {
            Some(Err(_)) => {
                return Err(ia
                    .next()
                    .expect("peeked")
                    .expect_err("peeked an error")
                    .into())
            }
            Some(Ok((r, _))) => Some(r.path.clone()),
            None => None,
        };
        let pb = match ib.peek() {
            Some(Err(_)) => {
                return Err(ib
                    .next()
                    .expect("peeked")
                    .expect_err("peeked an error")
                    .into())
            }
            Some(Ok((r, _))) => Some(r.path.clone()),
            None => None,
        };
        match (pa, pb) {
            (None, None) => break,
            (Some(x), y) if y.as_ref().is_none_or(|y| x < *y) => {
                let before = ia.next().expect("peeked")?;
                removed += 1;
                say("-", &x, format!("{} B", before.0.size), Some(&before), None)?;
            }
            (x, Some(y)) if x.as_ref().is_none_or(|x| y < *x) => {
                let after = ib.next().expect("peeked")?;
                added += 1;
                say("+", &y, format!("{} B", after.0.size), None, Some(&after))?;
            }
            (Some(x), Some(_)) => {
                let before = ia.next().expect("peeked")?;
                let after = ib.next().expect("peeked")?;
                let (r0, r1) = (&before.0, &after.0);
                if r0.blake3 != r1.blake3 || r0.size != r1.size {
                    changed += 1;
                    say(
                        "~",
                        &x,
                        format!("{} B -> {} B", r0.size, r1.size),
                        Some(&before),
                        Some(&after),
                    )?;
                } else {
                    let mut fields = Vec::new();
                    if r0.modified != r1.modified {
                        let t = |m: Option<i64>| m.map_or("none".into(), time::format_rfc3339);
                        fields.push(format!("modified {} -> {}", t(r0.modified), t(r1.modified)));
                    }
                    for (name, differs) in [
                        ("title", r0.title != r1.title),
                        ("media type", r0.media_type != r1.media_type),
                        ("metadata", r0.metadata != r1.metadata),
                        ("decoder", r0.decoder != r1.decoder),
                        ("render", r0.render != r1.render),
                    ] {
                        if differs {
                            fields.push(name.to_string());
                        }
                    }
                    if !fields.is_empty() {
                        retouched += 1;
                        say("m", &x, fields.join(", "), Some(&before), Some(&after))?;
                    }
                }
            }
            _ => unreachable!("one of the two is the least"),
        }
    }
    out.flush()?;
    drop(out);
    eprintln!("{added} added, {removed} removed, {changed} changed, {retouched} retouched between generations {ga} and {gb}");
    Ok(0)
}

/// The arguments of `compact`.
#[derive(clap::Args, Debug)]
pub struct CompactArgs {
    /// The series: generation files or a folder, in any order (its newest
    /// generation present is compacted).
    #[arg(required = true, value_name = "SERIES")]
    pub series: Vec<Location>,
    /// The self-contained file to write.
    #[arg(short, long, value_name = "ONE.lgn")]
    pub output: PathBuf,
    /// The generation expected to be compacted: refused unless it is the
    /// newest present (compacting an older one would fork the series).
    #[arg(long)]
    pub generation: Option<u64>,
    /// The issuer's signing key (one of the series' issuers).
    #[arg(long, value_name = "ISSUER.key")]
    pub sign: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeyOpts,
    /// Replace ONE.lgn if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `compact SERIES -o ONE.lgn`: one self-contained file holding the
/// generation's live records, as generation `s + 1` of the series (its
/// records root equal to generation `s`'s).
pub fn compact(a: &CompactArgs) -> Result<u8> {
    if a.output.exists() && !a.force {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let s = find(&a.series)?;
    // The newest generation present, in whatever order the files were
    // given: compaction writes the generation after it, and after an older
    // one it would write a second, different generation of a sequence
    // already taken (a fork, SPEC §33.6).
    let newest = s.newest().ok_or_else(|| anyhow!("no generation found"))?;
    let g = match a.generation {
        Some(g) => pick(&s, Some(g), &a.series)?,
        None => newest.sequence(),
    };
    if newest.sequence() > g {
        bail!(
            "{} holds generation {}, after generation {g}: compaction writes the generation \
             after the newest, never after an old one (no branch)",
            newest.path.display(),
            newest.sequence()
        );
    }
    eprintln!(
        "compacting generation {g}, the newest of the {} file(s) found",
        s.files.len()
    );
    let u = unlock(&s, g, &a.keys)?;
    let issuer = a
        .sign
        .as_deref()
        .map(keyopts::read_issuer_secret)
        .transpose()?;
    let created = keyopts::creation_time()?;
    let prev = u.previous();
    let (tmp, file) = temp_beside(&a.output)?;
    let result = (|| -> Result<std::fs::File> {
        let out = BufWriter::with_capacity(1 << 20, file);
        let mut w = update::compacted(out, &prev, u.data_key().clone(), created, issuer, OsRng)?;
        let log = super::premis::previous_log(&s, g, u.data_key())?;
        w.log_events(&super::pack_bag::agent(), log, Vec::new())?;
        // The decoders the generation's records name, from the file that
        // stores each (its own, or an earlier one: 2.1).
        for (d, file) in u.decoders() {
            let module = file.archive.read_entry(&d.entry, 64 << 20)?;
            w.add_decoder(&module, d, false)?;
        }
        for d in &u.empty_dirs {
            w.add_empty_dir(d)?;
        }
        for r in u.records() {
            let (rec, place) = r?;
            let bytes = u.read_record(&rec, place, u64::MAX)?;
            let meta = RecordMeta {
                path: rec.path.clone(),
                title: rec.title.clone().unwrap_or_default(),
                media_type: rec.media_type.clone(),
                modified: rec.modified,
                decoder: rec.decoder.clone(),
                render: rec.render.clone(),
                metadata: rec.metadata.clone(),
            };
            w.add_record(meta, RecordSource::Bytes(&bytes))?;
        }
        let f = w.finish()?.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!(
            "compacting generation {g} into {}",
            a.output.display()
        )));
    }
    place(&tmp, &a.output, a.force)?;
    let len = std::fs::metadata(&a.output)?.len();
    eprintln!(
        "compacted generation {g} into {}: {}, self-contained (generation {} of the series)",
        a.output.display(),
        output::size(len),
        g + 1
    );
    Ok(0)
}

/// What `pack --update` needs besides what `pack` takes.
pub struct UpdateArgs {
    /// The folder.
    pub src: PathBuf,
    /// The newest generation file of the series.
    pub previous: PathBuf,
    /// The file to write.
    pub output: PathBuf,
    /// Keys that open the previous generation.
    pub keys: KeyOpts,
    /// The issuer's signing key.
    pub sign: Option<PathBuf>,
    /// Write a new base run (`None`: the writer's rule).
    pub rebase: Option<bool>,
    /// Extra decoders and limits, as `pack`.
    pub decoders: Vec<String>,
    /// `--decoder-fuel`, `--decoder-memory`, `--decoder-depth`.
    pub limits: (u64, u32, u32),
    /// Skip what cannot be packed.
    pub skip_unsupported: bool,
    /// Replace the output.
    pub force: bool,
    /// Handovers of the issuer's key (`--handover`), besides those in
    /// `issuer/` beside PREVIOUS (SPEC §37.6).
    pub handovers: Vec<PathBuf>,
}

/// `pack SRC --update PREVIOUS -o NEXT`: the next generation of the
/// series as a delta file. Every file of SRC is read and hashed (no
/// state file: a change is never missed, at the cost of reading every
/// file once); a record whose bytes hash as the previous generation's
/// keeps its place, key and stream.
pub fn pack_update(a: UpdateArgs) -> Result<u8> {
    if a.output.exists() && !a.force {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let s = find(&[Location::Local(a.previous.clone())])?;
    let g = s.files[0].sequence();
    if let Some(n) = s.newest().filter(|n| n.sequence() > g) {
        bail!(
            "{} holds generation {}, after {} (generation {g}): an update starts from the newest \
             generation, never from an old one (no branch)",
            n.path.display(),
            n.sequence(),
            a.previous.display()
        );
    }
    let u = unlock(&s, g, &a.keys)?;
    let issuer = a
        .sign
        .as_deref()
        .map(keyopts::read_issuer_secret)
        .transpose()?;
    let prev = u.previous();
    // Signing with a key that is not one of the series' issuers takes a
    // handover to it (given, or in `issuer/` beside PREVIOUS; SPEC §37.6):
    // the one to this key from the generation written, if there is one.
    // Keys compared by their pins (2.3: a hybrid key's id, even when its
    // Ed25519 half is the old key's).
    let pin = issuer.as_ref().map(|k| k.public_key().pin());
    let series_pins = {
        let ed: Vec<[u8; 32]> = prev.public.issuers.iter().map(|i| i.public_key).collect();
        legation_format::v2::series::issuer_pins(&ed, &prev.public.issuers.ml_dsa_65)
    };
    let handover = match (&issuer, pin) {
        (Some(_), Some(pin)) if !series_pins.as_ref().is_some_and(|p| p.contains(&pin)) => {
            let opts = super::issuer::SuccessionOpts {
                handovers: a.handovers.clone(),
                revocations: Vec::new(),
            };
            let place = [Location::Local(a.previous.clone())];
            let mut hs =
                super::issuer::Statements::gather(&place, &opts)?.handovers(prev.public.archive_id);
            hs.sort_by_key(|(h, _)| (h.new != pin, h.from != g + 1));
            hs.into_iter().next()
        }
        _ => None,
    };
    if let Some((h, file)) = &handover {
        eprintln!(
            "issuer {} signs generation {} in the place of {}, by handover ({file})",
            crypto::fingerprint(&h.new),
            g + 1,
            crypto::fingerprint(&h.old)
        );
    }
    let rebase = a.rebase.unwrap_or_else(|| prev.wants_rebase());
    let created = keyopts::creation_time()?;
    let extra = a
        .decoders
        .iter()
        .map(|d| decoders::parse_decoder_arg(d))
        .collect::<Result<Vec<_>>>()?;
    let mut renderer = decoders::PackRenderer::new(&extra, decoders::limits(a.limits)?)?;
    let (tmp, file) = temp_beside(&a.output)?;
    let mut summary = (Changes::default(), 0u64);
    // With the first pass: the records found and how many were read again.
    let mut scanned: Option<(u64, u64)> = None;
    let result = (|| -> Result<std::fs::File> {
        let out = BufWriter::with_capacity(1 << 20, file);
        let opts = UpdateOptions {
            created,
            issuer,
            rebase,
        };
        let h = handover.as_ref().map(|(h, _)| h);
        let w = UpdateWriter::new_handed(out, prev, u.data_key().clone(), opts, h, OsRng);
        let mut w = match &handover {
            Some((_, file)) => w.with_context(|| format!("the issuer's handover {file}"))?,
            None => w?,
        };
        // The event log (format 2.1): the previous generation's, then this one's.
        let log = super::premis::previous_log(&s, g, u.data_key())?;
        w.log_events(&super::pack_bag::agent(), log, Vec::new())?;
        for (module, desc, _) in renderer.modules() {
            w.add_decoder(module, desc.clone())?;
        }
        let mut sink = UpdateSink::new(&u, w, rebase);
        let walk_opts = || PackOptions {
            skip_unsupported: a.skip_unsupported,
            ..PackOptions::default()
        };
        // SPEC §33.5: a first pass finds the unchanged records (size,
        // modification time, then BLAKE3); only the others are read again,
        // rendered and stored.
        let scan = match a.decoders.is_empty() {
            true => scan_changes(
                &u,
                pack::Walk::new(&a.src, walk_opts())?.excluding(&tmp)?,
                &renderer,
            )?,
            false => None,
        };
        let walk = pack::Walk::new(&a.src, walk_opts())?.excluding(&tmp)?;
        let walk: Box<dyn Iterator<Item = legation_format::Result<pack::Found>> + Send> = match scan
        {
            Some(sc) => {
                sink.keep_unlisted(sc.removed);
                scanned = Some((sc.found, sc.read.len() as u64));
                let read = sc.read;
                Box::new(walk.filter(move |f| match f {
                    Ok(pack::Found::Record(r)) => read.contains(&r.path),
                    _ => true,
                }))
            }
            None => Box::new(walk),
        };
        // Records over the render cap are identified from their files.
        let (large, cap) = (renderer.large.clone(), pack::Renderer::cap(&renderer));
        let packed = pack::pack_found(
            large.identifying(cap, walk),
            &mut sink,
            Some(&mut renderer),
            |_, _| {},
            |p, why| eprintln!("skipped {}: {}", view::sanitize(p), view::sanitize(why)),
        )?;
        if let Some(why) = renderer.host_failure.take() {
            bail!("{why}; no generation is written");
        }
        let (w, changes) = sink.finish()?;
        summary = (changes, scanned.map_or(packed.records, |(found, _)| found));
        let f = w
            .finish(changes)?
            .into_inner()
            .map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!(
            "writing generation {} into {}",
            g + 1,
            a.output.display()
        )));
    }
    place(&tmp, &a.output, a.force)?;
    let len = std::fs::metadata(&a.output)?.len();
    let (c, records) = summary;
    if let Some((found, read)) = scanned {
        eprintln!(
            "read {found} records once to find what changed (size, modification time, BLAKE3); \
             {read} read again to store"
        );
    }
    eprintln!(
        "generation {} of {}: {records} records (+{} added, ~{} changed, -{} removed), {} in {}{}",
        g + 1,
        hex::encode(&s.archive_id),
        c.added,
        c.changed,
        c.removed,
        output::size(len),
        a.output.display(),
        if rebase {
            " (rebased: a new base run)"
        } else {
            ""
        }
    );
    Ok(0)
}

/// What `verify` asks of a series.
pub struct VerifySeries<'a> {
    /// The issuer every generation must be signed by.
    pub pinned: Option<&'a [u8; 32]>,
    /// The key pinned and the issuer's statements, when there are any:
    /// each generation is then pinned to the key the succession admits
    /// for it (SPEC §37.3), and the splice rules take the handovers.
    pub succession: Option<(&'a [u8; 32], &'a super::issuer::Statements)>,
    /// Keys for the content and render levels (none: the keyless audit
    /// only).
    pub keys: &'a KeyOpts,
    /// The level asked for (`None`: as high as the keys allow, as for one
    /// archive).
    pub level: Option<legation_reader::Level>,
    /// `--sample N` with its seed: N pieces drawn in each file.
    pub sample: Option<(u64, u64)>,
    /// One JSON object.
    pub json: bool,
}

/// `verify SERIES`: the keyless audit of every generation present (each
/// file's §30.3 check once, every generation's inherited files present,
/// the splice rules), then with a key the content of every generation
/// present that the key opens (SPEC §33.7: each record's stored bytes
/// read once, in the newest generation holding them) and, at the render
/// level (the default with a key, as for one archive), their views
/// re-rendered with the decoders each generation names, in whichever
/// file stores them. 0 when all pass, 1 otherwise.
pub fn verify(at: &[Location], v: &VerifySeries<'_>) -> Result<u8> {
    use legation_reader::Level;
    let mut s = find(at)?;
    let succession = match v.succession {
        Some((p, st)) => {
            let handovers = st.handovers(s.archive_id);
            s = s.with_handovers(&handovers);
            Some(st.succession(s.archive_id, *p)?)
        }
        None => None,
    };
    // One file: its generation; several or a folder: the newest.
    let g = match at.len() {
        1 => pick(&s, None, at)?,
        _ => pick(&s, None, &[])?,
    };
    let k = v.keys.keys(false)?;
    let keyed = !k.is_empty() && v.level != Some(Level::Fixity) && v.sample.is_none();
    if k.is_empty() && matches!(v.level, Some(Level::Content | Level::Render)) {
        return Err(anyhow!(legation_reader::Error::KeyNeeded));
    }
    let render = keyed && v.level != Some(Level::Content);
    // Asked before the long audit: a host that cannot run is said at once.
    let host = match render {
        true => Some(decoders::host()?),
        false => None,
    };
    let mut files: Vec<&GenerationFile> = s.files.iter().collect();
    files.sort_by_key(|f| f.sequence());
    let total: u64 = files.iter().map(|f| f.archive.len()).sum();
    let bar = output::bar(total, "verifying the series");
    let mut done = 0u64;
    let mut problems: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut signers = std::collections::BTreeSet::new();
    let (mut entries, mut hashed) = (0u64, 0u64);
    for f in &files {
        let mut progress = |d: u64, _: u64| {
            bar.set_position(done + d);
            true
        };
        // Through a handover, the key the succession admits for this
        // generation; a refusal (revoked, superseded) is a problem.
        let pin = match &succession {
            Some(c) => match c.admit(f.sequence(), &super::issuer::signers(&f.archive)) {
                Ok(k) => Some(k),
                Err(e) => {
                    problems.push(format!("{}: {e}", f.path.display()));
                    Some(c.holder(f.sequence()).key)
                }
            },
            None => v.pinned.copied(),
        };
        let r = match v.sample {
            Some((n, seed)) => f
                .archive
                .verify_fixity_sample(pin.as_ref(), n, seed, &mut progress),
            None => f.archive.verify_fixity(pin.as_ref(), &mut progress),
        };
        done += f.archive.len();
        entries += r.entries_checked;
        hashed += r.bytes_checked;
        signers.extend(r.signer.clone());
        for p in &r.problems {
            problems.push(format!("{}: {}", f.path.display(), p.message));
        }
        rows.push((f, r));
    }
    bar.finish_and_clear();
    let links = s.links();
    let fixity_ok = problems.is_empty() && links.is_empty();
    problems.extend(links.iter().cloned());
    let checks = match keyed {
        true => {
            let records: u64 = files.iter().map(|f| f.generation.head.records).sum();
            let bar = output::bar(records, "checking the records");
            let mut before = 0u64;
            // The generation being checked and its records.
            let mut last: Option<(u64, u64)> = None;
            let checks = s.check_generations(&k, host.as_ref(), &mut |seq, d, t| {
                if last.map(|l| l.0) != Some(seq) {
                    before += last.map_or(0, |l| l.1);
                    last = Some((seq, t));
                }
                bar.set_position(before + d);
            });
            bar.finish_and_clear();
            // No generation opened: the key is wrong, as for one archive.
            if checks.iter().all(|c| c.not_checked.is_some()) {
                if let Err(e) = s.unlock(g, &k) {
                    return Err(anyhow!(e));
                }
            }
            for c in &checks {
                problems.extend(
                    c.problems
                        .iter()
                        .map(|p| format!("generation {}: {p}", c.sequence)),
                );
            }
            Some(checks)
        }
        false => None,
    };
    let ok = problems.is_empty();
    let seqs: Vec<u64> = files.iter().map(|f| f.sequence()).collect();
    if v.json {
        let file_rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(f, r)| {
                json!({"file": f.path.display().to_string(), "sequence": f.sequence(),
                       "chain": hex::encode(&f.generation.chain), "ok": r.ok(), "signer": r.signer,
                       "entries_checked": r.entries_checked, "bytes_checked": r.bytes_checked,
                       "sample": r.sample,
                       "problems": r.problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>()})
            })
            .collect();
        let content = checks.as_ref().map(|cs| {
            let read = cs.iter().find(|c| c.sequence == g);
            json!({"ok": cs.iter().all(|c| c.problems.is_empty()),
                "records": read.map(|c| c.records), "bytes": read.map(|c| c.bytes),
                "render": render,
                "generations": cs.iter().map(|c| json!({
                    "sequence": c.sequence, "checked": c.not_checked.is_none(),
                    "not_checked": c.not_checked, "ok": c.problems.is_empty(),
                    "records": c.records, "bytes": c.bytes, "records_read": c.records_read,
                    "rendered": c.rendered, "rendered_before": c.rendered_before,
                    "not_rendered": c.not_rendered_count, "problems": c.problems,
                })).collect::<Vec<_>>()})
        });
        let j = json!({"archive": at.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
            "series": hex::encode(&s.archive_id), "generation": g, "generations": seqs,
            "files": file_rows, "links": links, "content": content, "ok": ok});
        println!("{}", output::json(&j, false));
        return Ok(if ok { 0 } else { 1 });
    }
    println!(
        "series:   {}: generation {g} read; generations {} present in {} file(s)",
        hex::encode(&s.archive_id),
        list(&seqs),
        files.len()
    );
    for (f, r) in &rows {
        println!(
            "  gen {:>4}  {}  {}  fixity {}{}",
            f.sequence(),
            view::sanitize(&f.path.display().to_string()),
            output::size(f.archive.len()),
            if r.ok() {
                "OK".to_string()
            } else {
                format!("FAILED ({} problem(s))", r.problems.len())
            },
            match (&r.sample, r.sample.as_ref().map(|s| s.pieces_sampled)) {
                (Some(smp), Some(p)) if smp.piece_size > 0 => {
                    format!(", {p} of {} pieces sampled", smp.pieces_total)
                }
                _ => String::new(),
            }
        );
    }
    for c in checks.iter().flatten() {
        print_check(c, g);
    }
    for p in &problems {
        println!("FAILED  {}", view::sanitize(p));
    }
    if rows.iter().any(|(_, r)| !r.ok()) {
        println!(
            "repair:   `legation repair FILE --from ANOTHER_COPY -o REPAIRED` rebuilds a damaged \
             generation file from another embassy's copy of that file"
        );
    }
    match (signers.len(), v.pinned.is_some()) {
        (0, _) => println!("signer:   none verified"),
        (_, true) => println!(
            "signer:   {} (pinned)",
            signers.into_iter().collect::<Vec<_>>().join(", ")
        ),
        (_, false) => println!(
            "signer:   {} (NOT pinned: pass --issuer ISSUER.pub to require this issuer)",
            signers.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
    println!(
        "fixity:   {}: every generation present ({} file(s), {entries} entries, {} hashed{}); \
         {}",
        if fixity_ok { "OK" } else { "FAILED" },
        files.len(),
        output::size(hashed),
        match v.sample {
            Some((n, seed)) => format!(", {n} pieces drawn in each file, seed {seed}"),
            None => String::new(),
        },
        if links.is_empty() {
            "the series chains and every generation's inherited files are present"
        } else {
            "the series does NOT chain (above)"
        }
    );
    let not_keyed = |level: &str| match () {
        _ if v.sample.is_some() => println!("{level}not checked (--sample audits fixity)"),
        _ if v.level == Some(Level::Fixity) => println!("{level}not checked (--level fixity)"),
        _ => println!(
            "{level}not checked (needs a key: --identity, --passphrase-file or {})",
            keyopts::PASSPHRASE_ENV
        ),
    };
    let Some(checks) = &checks else {
        not_keyed("content:  ");
        not_keyed("render:   ");
        return Ok(if ok { 0 } else { 1 });
    };
    let sequences = |keep: &dyn Fn(&legation_reader::series::GenerationCheck) -> bool| {
        let mut v: Vec<u64> = checks
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.sequence)
            .collect();
        v.sort_unstable();
        v
    };
    let checked = sequences(&|c| c.opened);
    let unchecked = sequences(&|c| c.not_checked.is_some());
    let unopened = sequences(&|c| !c.opened && c.not_checked.is_none());
    let content_ok = checks.iter().all(|c| c.problems.is_empty());
    let read: u64 = checks.iter().map(|c| c.records_read).sum();
    println!(
        "content:  {}: generation(s) {} of {} checked{}: every page, count and root, each record's \
         stored bytes read once ({read} read in all, in the newest generation holding them)",
        if content_ok { "OK" } else { "FAILED" },
        match checked.is_empty() {
            true => "none".to_owned(),
            false => list(&checked),
        },
        list(&seqs),
        [
            (&unchecked, "no key given opens them"),
            (&unopened, "not opened, above")
        ]
        .iter()
        .filter(|(l, _)| !l.is_empty())
        .map(|(l, why)| format!(" (NOT generation(s) {}: {why})", list(l)))
        .collect::<String>()
    );
    match render {
        false => println!("render:   not checked (--level content)"),
        true => {
            let failed: u64 = checks.iter().map(|c| c.render_failed).sum();
            println!(
                "render:   {}: {} views re-rendered and identical to packing ({} shared with a \
                 newer generation not re-rendered again), {} records packed without a view",
                match (failed, unopened.is_empty()) {
                    (0, true) => "OK".to_string(),
                    (0, false) => format!("FAILED (generation(s) {} not opened)", list(&unopened)),
                    _ => format!("FAILED ({failed} view(s))"),
                },
                checks.iter().map(|c| c.rendered).sum::<u64>(),
                checks.iter().map(|c| c.rendered_before).sum::<u64>(),
                checks
                    .iter()
                    .find(|c| c.sequence == g)
                    .map_or(0, |c| c.not_rendered_count)
            );
            if let Some(c) = checks.iter().find(|c| c.sequence == g) {
                super::verify::print_not_rendered(&c.not_rendered);
            }
        }
    }
    Ok(if ok { 0 } else { 1 })
}

/// Sequences as `0, 1, 2`.
fn list(seqs: &[u64]) -> String {
    seqs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One generation's line of `verify`'s content and render check.
fn print_check(c: &legation_reader::series::GenerationCheck, read: u64) {
    let mark = if c.sequence == read { "*" } else { " " };
    if let Some(why) = &c.not_checked {
        println!(
            "  gen {:>4}{mark} content NOT CHECKED: {}",
            c.sequence,
            view::sanitize(why)
        );
        return;
    }
    if !c.opened {
        println!(
            "  gen {:>4}{mark} content FAILED: not opened (below)",
            c.sequence
        );
        return;
    }
    println!(
        "  gen {:>4}{mark} content {}: {} records ({}), {} read here{}",
        c.sequence,
        if c.problems.is_empty() {
            "OK".to_string()
        } else {
            format!("FAILED ({} problem(s))", c.problems.len())
        },
        c.records,
        output::size(c.bytes),
        c.records_read,
        match c.render {
            true => format!(
                "; {} views re-rendered here, {} in a newer generation",
                c.rendered, c.rendered_before
            ),
            false => String::new(),
        }
    );
}

/// The folder part of an object key (`""` at the bucket's top).
fn folder_of(url: &Url) -> &str {
    url.key.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The object named `name` in the folder of `url`.
fn beside(url: &Url, name: &str) -> Url {
    Url {
        bucket: url.bucket.clone(),
        key: match folder_of(url) {
            "" => name.to_owned(),
            d => format!("{d}/{name}"),
        },
    }
}

/// Before a dependent generation file is pushed to `url`: the earlier
/// generation files it reads that the store lacks beside `url` (each as
/// the local file and the object to push it to, named as `series.inherits`
/// names it), oldest first. A different generation already at such a name
/// is refused (it is never replaced).
pub fn to_push_first(local: &Path, url: &Url) -> Result<Vec<(PathBuf, Url)>> {
    let s = find(&[Location::Local(local.to_owned())])?;
    let g = s.files[0].sequence();
    let Some(member) = s.files[0].public().series.clone() else {
        return Ok(Vec::new());
    };
    let files = s.files_of(g).map_err(|e| {
        anyhow!(
            "{}: {e}: every generation it reads must be beside it to push it",
            local.display()
        )
    })?;
    let store = legation_remote::connect(url)?;
    let mut out = Vec::new();
    for item in &member.inherits {
        let target = beside(url, &item.file);
        if store.size(&target)?.is_some() {
            let there = open_object(&target)?;
            if there.generation.chain != item.chain {
                bail!(
                    "{target} holds another generation {} (chain {}), not generation {} (chain {}) \
                     that {} reads: it is never replaced; push the series to another folder",
                    there.sequence(),
                    hex::encode(&there.generation.chain),
                    item.sequence,
                    hex::encode(&item.chain),
                    local.display()
                );
            }
            continue;
        }
        out.push((files[&item.sequence].path.clone(), target));
    }
    Ok(out)
}

/// After a push or pull of a dependent generation: the keyless audit of
/// the generation (its file and every file it reads, where it now is)
/// and the splice rules over the series found there. 0 when all pass.
pub fn audit_series_at(at: &Location, pinned: Option<&[u8; 32]>) -> Result<u8> {
    let s = find(std::slice::from_ref(at))?;
    let g = s.files[0].sequence();
    let problems = s.audit(g, pinned, &mut |_, _| true);
    let used = s.files_of(g).map(|f| f.len()).unwrap_or(0);
    for p in &problems {
        println!("FAILED   {}", view::sanitize(p));
    }
    println!(
        "series:   {} at {at}: generation {g} and the {} earlier file(s) it reads audited; {}",
        if problems.is_empty() { "OK" } else { "FAILED" },
        used.saturating_sub(1),
        if problems.is_empty() {
            "the series chains"
        } else {
            "see above"
        }
    );
    Ok(if problems.is_empty() { 0 } else { 1 })
}

/// Before a dependent generation object is pulled to `local`: the earlier
/// generation objects it reads that are not beside `local` yet (each as
/// the object and the local file to write), oldest first. A different
/// generation already at such a name is refused.
pub fn to_pull_first(url: &Url, local: &Path) -> Result<Vec<(Url, PathBuf)>> {
    let s = find(&[Location::Remote(url.clone())])?;
    let g = s.files[0].sequence();
    let Some(member) = s.files[0].public().series.clone() else {
        return Ok(Vec::new());
    };
    let files = s
        .files_of(g)
        .map_err(|e| anyhow!("{url}: {e}: the store lacks a generation it reads"))?;
    let dir = local
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for item in &member.inherits {
        let target = dir.join(&item.file);
        if target.exists() {
            let here = GenerationFile::open(&target)
                .with_context(|| format!("opening {}", target.display()))?;
            if here.generation.chain != item.chain {
                bail!(
                    "{} holds another generation {}, not generation {} that {url} reads: \
                     it is never replaced; pull into another folder",
                    target.display(),
                    here.sequence(),
                    item.sequence
                );
            }
            continue;
        }
        let from: Url = files[&item.sequence]
            .path
            .to_string_lossy()
            .parse()
            .map_err(|e| anyhow!("{e}"))?;
        out.push((from, target));
    }
    Ok(out)
}

/// What the first pass of an update found (SPEC §33.5).
struct Scan {
    /// Records found in the folder.
    found: u64,
    /// The paths to read, render and store: new, or changed in bytes or
    /// facts (or not known to be unchanged).
    read: std::collections::HashSet<String>,
    /// The previous generation's paths no longer in the folder.
    removed: std::collections::HashSet<String>,
}

/// Most paths the first pass keeps in memory; past it the update reads
/// every record as a full pack does.
const SCAN_MAX: usize = 1 << 18;

/// The first pass of an update (SPEC §33.5): the folder's records merged
/// with the previous generation's catalog in path order. A record is
/// unchanged when it has no sidecar (nor had one), its size and
/// modification time are the previous record's, and its bytes, read once
/// here, hash as the previous record's. `None` when the shortcut does not
/// apply: the decoders differ from the previous generation's (their
/// choice and views could differ), or more than [`SCAN_MAX`] paths
/// changed.
fn scan_changes(
    u: &legation_reader::series::Unlocked<'_>,
    walk: pack::Walk,
    renderer: &decoders::PackRenderer,
) -> Result<Option<Scan>> {
    let now: std::collections::BTreeSet<String> = renderer
        .modules()
        .map(|(m, _, _)| legation_format::manifest::decoder_entry(blake3::hash(m).as_bytes()))
        .collect();
    let before: std::collections::BTreeSet<String> =
        u.decoders().into_iter().map(|(d, _)| d.entry).collect();
    if now != before {
        return Ok(None);
    }
    let mut scan = Scan {
        found: 0,
        read: Default::default(),
        removed: Default::default(),
    };
    let mut prev = u.records().peekable();
    for f in walk {
        let pack::Found::Record(r) = f? else {
            continue;
        };
        scan.found += 1;
        let mut old = None;
        while let Some(p) = prev.next_if(|p| p.as_ref().map_or(true, |(o, _)| o.path <= r.path)) {
            let (rec, _) = p?;
            if rec.path == r.path {
                old = Some(rec);
            } else {
                scan.removed.insert(rec.path);
            }
        }
        if !old.is_some_and(|o| unchanged(&r, &o).unwrap_or(false)) {
            scan.read.insert(r.path);
        }
        if scan.read.len() + scan.removed.len() > SCAN_MAX {
            return Ok(None);
        }
    }
    for p in prev {
        scan.removed.insert(p?.0.path);
        if scan.read.len() + scan.removed.len() > SCAN_MAX {
            return Ok(None);
        }
    }
    Ok(Some(scan))
}

/// Whether a found file is the previous record unchanged: no sidecar now
/// or then (its facts other than the format identified from its bytes
/// came from none), the same size and modification time, and bytes whose
/// BLAKE3 is the record's (read once, here).
fn unchanged(r: &pack::FoundRecord, old: &legation_format::v2::page::Record) -> Result<bool> {
    if r.sidecar.is_some()
        || old.title.is_some()
        || old.metadata.keys().any(|k| k != crate::identify::KEY)
        || r.size != old.size
        || r.modified != old.modified
    {
        return Ok(false);
    }
    let mut f = std::fs::File::open(&r.file)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = std::io::Read::read(&mut f, &mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok(n == old.size && *h.finalize().as_bytes() == old.blake3)
}

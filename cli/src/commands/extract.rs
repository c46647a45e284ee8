//! `extract ARCHIVE -o DIR [RECORD...]`: records written into a folder,
//! each checked as it is written and given its name only once a batch of
//! them is durable; one record that fails does not stop the others.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_reader::Unlocked;

use super::{open, unlock_required, worst_code};
use crate::keyopts::KeyOpts;
use crate::location::Location;
use crate::output;
use crate::place::{temp_beside, Pending};

/// `extract ARCHIVE -o DIR [RECORD...]`.
pub fn extract(
    path: &Location,
    dir: &Path,
    wanted: &[String],
    keys: &KeyOpts,
    force: bool,
) -> Result<u8> {
    let a = open(path)?;
    let u = unlock_required(path, &a, keys)?;
    // The whole archive is extracted page by page, so that memory holds
    // two catalog pages at most, never the whole catalog.
    let pages = u.index().pages.len();
    let found = wanted
        .iter()
        .map(|w| u.find(w))
        .collect::<legation_reader::Result<Vec<_>>>()?;
    let mut total = found.iter().map(|r| r.size).sum::<u64>();
    if wanted.is_empty() {
        let mut failed = None;
        u.for_each_page(0..pages, &mut |_, p| match p {
            Ok(p) => {
                total += p.records.iter().map(|r| r.size).sum::<u64>();
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bar = output::bar(total, "extracting");
    let (mut failures, mut count) = (0u64, 0u64);
    let mut done = 0u64;
    let mut stop = None;
    // One record that cannot be read or written (damaged, its name taken
    // or too long) is reported and the others are still extracted; the
    // exit code is the worst of theirs.
    let mut worst = 0;
    let mut pending = Pending::default();
    let mut one = |rec: &legation_format::catalog::CatalogRecord| -> bool {
        count += 1;
        match extract_one(&u, rec, dir, force, &mut |n| bar.set_position(done + n)) {
            Ok((tmp, target)) => {
                pending.files.push((tmp, target, rec.path.clone()));
                pending.bytes += rec.size;
            }
            Err(e) => {
                failures += 1;
                worst = worst_code(worst, crate::exit_code(&e));
                if no_room(&e) {
                    // No other record can be written either: stop here.
                    stop = Some(e.context(format!("extracting {}", rec.path)));
                    return false;
                }
                bar.suspend(|| eprintln!("legation: error: {}: {e:#}", rec.path));
            }
        }
        done += rec.size;
        if pending.full() {
            match pending.place_all(dir, force) {
                Ok(failed) => {
                    for (path, e) in failed {
                        failures += 1;
                        worst = worst_code(worst, crate::exit_code(&e));
                        bar.suspend(|| eprintln!("legation: error: {path}: {e:#}"));
                    }
                }
                Err(e) => {
                    stop = Some(e);
                    return false;
                }
            }
        }
        true
    };
    if wanted.is_empty() {
        let mut failed = None;
        u.for_each_page(0..pages, &mut |_, p| match p {
            Ok(p) => p.records.iter().all(&mut one),
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        if let Some(e) = failed {
            bar.finish_and_clear();
            return Err(e.into());
        }
    } else {
        found.iter().all(&mut one);
    }
    if stop.is_none() {
        match pending.place_all(dir, force) {
            Ok(failed) => {
                for (path, e) in failed {
                    failures += 1;
                    worst = worst_code(worst, crate::exit_code(&e));
                    eprintln!("legation: error: {path}: {e:#}");
                }
            }
            Err(e) => stop = Some(e),
        }
    } else {
        for (tmp, _, _) in pending.files.drain(..) {
            let _ = fs::remove_file(tmp);
        }
    }
    if let Some(e) = stop {
        bar.finish_and_clear();
        return Err(e);
    }
    if wanted.is_empty() {
        for d in &u.index().empty_dirs {
            let made = safe_target(dir, d).and_then(|target| {
                fs::create_dir_all(&target)
                    .with_context(|| format!("creating {}", target.display()))
            });
            if let Err(e) = made {
                eprintln!("legation: error: {d}/: {e:#}");
                worst = worst_code(worst, 2);
            }
        }
    }
    bar.finish_and_clear();
    eprintln!(
        "extracted {} of {count} records into {}",
        count - failures,
        dir.display()
    );
    Ok(worst)
}

/// The bag's tag file of record formats (PUID, basis, name, version,
/// path; tab-separated, a header line first).
const FORMATS_TAG_FILE: &str = "legation-formats.txt";
/// The tag file of what `pack --from-bag` validated (its
/// `.legation/bag-validation.txt`).
const VALIDATION_TAG_FILE: &str = "legation-bag-validation.txt";
/// Largest `.legation/bag-info.txt` taken back into `bag-info.txt`.
const BAG_INFO_MAX: u64 = 1 << 20;

/// What `extract --to-bag` does with a record of `pack --from-bag`'s
/// reserved folder: the original `bag-info.txt` read back into the new
/// one, the validation record kept as a tag file.
fn reserved_to_bag(
    u: &Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    bag: &mut legation_interchange::bagit::BagWriter,
    original_info: &mut Vec<(String, String)>,
) -> Result<bool> {
    use super::pack_bag::{BAG_INFO_RECORD, VALIDATION_RECORD};
    if rec.path == BAG_INFO_RECORD {
        if rec.size > BAG_INFO_MAX {
            bail!("{}: {} bytes, over {BAG_INFO_MAX}", rec.path, rec.size);
        }
        let mut bytes = Vec::new();
        u.copy_record(rec, &mut bytes, &mut |_| {})?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow!("{}: not UTF-8", rec.path))?;
        *original_info = legation_interchange::bagit::parse_bag_info(&text)
            .map_err(|e| anyhow!("{}: {e}", rec.path))?;
        return Ok(true);
    }
    if rec.path == VALIDATION_RECORD {
        let mut out = bag
            .tag_file(VALIDATION_TAG_FILE)
            .map_err(|e| anyhow!("{VALIDATION_TAG_FILE}: {e}"))?;
        u.copy_record(rec, &mut out, &mut |_| {})?;
        out.flush()
            .with_context(|| format!("writing {VALIDATION_TAG_FILE}"))?;
        return Ok(true);
    }
    Ok(false)
}

/// The labels of a packed bag's `bag-info.txt` that the new bag keeps:
/// all but those the new bag states afresh.
fn kept_label(label: &str) -> bool {
    ![
        "Payload-Oxum",
        "Bag-Software-Agent",
        "Bag-Size",
        "Bag-Count",
    ]
    .iter()
    .any(|l| l.eq_ignore_ascii_case(label))
}

/// `extract ARCHIVE --to-bag DIR`: every record into a new BagIt bag,
/// streamed (each record checked as it is read, one page of the catalog
/// held at a time), with the archive's public facts in `bag-info.txt`.
pub fn to_bag(path: &Location, dir: &Path, keys: &KeyOpts) -> Result<u8> {
    use legation_interchange::bagit::BagWriter;
    let a = open(path)?;
    let facts = super::info::public_facts(&a)?;
    let u = unlock_required(path, &a, keys)?;
    let mut bag = BagWriter::create(dir).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    // Each record's PRONOM format, identified from the file just written
    // (its first and last 64 KiB), in a tag file the tag manifests cover.
    let reg = legation_interchange::pronom::registry();
    let mut formats = bag
        .tag_file(FORMATS_TAG_FILE)
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    writeln!(formats, "puid\tbasis\tformat\tversion\tpath")?;
    let pages = u.index().pages.len();
    let mut failed: Option<anyhow::Error> = None;
    let mut records = 0u64;
    let mut original_info = Vec::new();
    u.for_each_page(0..pages, &mut |_, p| {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                failed = Some(e.into());
                return false;
            }
        };
        for rec in &p.records {
            match reserved_to_bag(&u, rec, &mut bag, &mut original_info) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            let mut read_error = None;
            let r = bag.add_writing(&rec.path, |out| {
                u.copy_record(rec, out, &mut |_| {}).map_err(|e| {
                    let io = std::io::Error::other(e.to_string());
                    read_error = Some(e);
                    io
                })
            });
            if let Err(e) = r {
                failed = Some(match read_error {
                    Some(e) => anyhow::Error::from(e).context(format!("reading {}", rec.path)),
                    None => anyhow!("{}: {e}", dir.display()),
                });
                return false;
            }
            records += 1;
            let written = dir.join("data").join(&rec.path);
            let line = fs::File::open(&written)
                .and_then(|f| legation_interchange::pronom::identify_reader(&rec.path, f))
                .and_then(|id| {
                    let (name, version) = id
                        .format
                        .map_or(("", ""), |f| (f.name.as_str(), f.version.as_str()));
                    writeln!(
                        formats,
                        "{}\t{}\t{name}\t{version}\t{}",
                        id.puid(),
                        id.basis_text(),
                        rec.path
                    )
                });
            if let Err(e) = line {
                failed = Some(anyhow!("{}: {e}", written.display()));
                return false;
            }
        }
        true
    });
    if let Some(e) = failed {
        return Err(e.context(format!("the bag in {} is incomplete", dir.display())));
    }
    formats
        .flush()
        .with_context(|| format!("writing {FORMATS_TAG_FILE}"))?;
    drop(formats);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut info = vec![("Bag-Software-Agent".to_string(), super::pack_bag::agent())];
    // A bag packed with --from-bag: its own bag-info.txt first (less what
    // is stated afresh), then the archive's facts.
    info.extend(original_info.into_iter().filter(|(k, _)| kept_label(k)));
    if let Some(id) = text(&facts["archive_id"]) {
        info.push(("External-Identifier".into(), id.clone()));
        info.push(("Legation-Archive-Id".into(), id));
    }
    if let Some(f) = text(&facts["issuer"]["fingerprint"]) {
        info.push(("Legation-Issuer-Fingerprint".into(), f));
    }
    // Format 2.0's generation (the signed head's sequence); 1.x archives
    // have one generation.
    let generation = text(&facts["sequence"]).unwrap_or_else(|| "1".into());
    info.push(("Legation-Generation".into(), generation));
    info.push(("Legation-Record-Count".into(), records.to_string()));
    if let Some(v) = text(&facts["format_version"]) {
        info.push(("Legation-Format-Version".into(), v));
    }
    info.push((
        "Legation-Formats".into(),
        format!(
            "{FORMATS_TAG_FILE}: each record's PRONOM PUID (signatures of PRONOM release {})",
            reg.release
        ),
    ));
    let written = bag
        .finish(&info)
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    eprintln!(
        "legation: wrote a bag of {} records ({} bytes) to {}",
        written.files,
        written.octets,
        dir.display()
    );
    Ok(0)
}

/// Whether `e` says the output has no room left (a full disk, a quota, a
/// read-only file system), where no further record could be written.
fn no_room(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind as K;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                K::StorageFull | K::QuotaExceeded | K::ReadOnlyFilesystem
            )
        })
    })
}

/// The path for a record under `dir`, refusing anything that could lead
/// outside it: the record path was checked when the catalog was read, and
/// no existing component below `dir` may be a symbolic link.
fn safe_target(dir: &Path, record: &str) -> Result<PathBuf> {
    legation_format::catalog::check_record_path(record).map_err(|e| anyhow!(e))?;
    let mut p = dir.to_path_buf();
    for seg in record.split('/') {
        p.push(seg);
        if let Ok(m) = fs::symlink_metadata(&p) {
            if m.file_type().is_symlink() {
                bail!(
                    "{} is a symbolic link; refusing to write through it",
                    p.display()
                );
            }
        }
    }
    Ok(p)
}

/// Writes a record to a temporary file beside its name, checked as it is
/// written; returns the temporary file and the name (given by [`Pending`]).
fn extract_one(
    u: &Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<(PathBuf, PathBuf)> {
    let target = safe_target(dir, &rec.path)?;
    if !force && fs::symlink_metadata(&target).is_ok() {
        bail!("{} exists (use --force to replace it)", target.display());
    }
    let parent = target.parent().unwrap_or(dir); // target is below dir
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let (tmp, file) = temp_beside(&target)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let r = u
        .copy_record(rec, &mut w, progress)
        .map_err(anyhow::Error::from)
        .and_then(|()| {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            if let Some(t) = rec
                .modified
                .as_deref()
                .and_then(legation_format::time::parse_rfc3339)
            {
                if let Some(st) = std::time::UNIX_EPOCH
                    .checked_add(std::time::Duration::from_secs(t.max(0) as u64))
                {
                    let _ = f.set_modified(st);
                }
            }
            Ok(())
        });
    match r {
        Ok(()) => Ok((tmp, target)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

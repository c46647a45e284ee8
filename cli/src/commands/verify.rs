//! `verify ARCHIVE...`: each archive checked in turn at the fixity level
//! without a key (all of it, or `--sample N` entries drawn at random),
//! at the content and render levels with one; the report of each, and
//! the worst exit code.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use legation_reader::{Archive, ErrorKind, Level, Report, Unlocked};
use rand_core::{OsRng, RngCore};
use serde_json::json;

use super::{open, worst_code};
use crate::keyopts::{self, read_issuer_public, KeyOpts};
use crate::location::Location;
use crate::{output, view};

/// What `verify` is asked to do.
pub struct VerifyArgs<'a> {
    /// The archives.
    pub archives: &'a [Location],
    /// The issuer to pin.
    pub issuer: Option<&'a Path>,
    /// Keys for the content and render levels.
    pub keys: &'a KeyOpts,
    /// The level asked for.
    pub level: Option<Level>,
    /// Check this many entries, drawn at random, instead of all.
    pub sample: Option<u64>,
    /// The seed of the draw (default: from the operating system).
    pub seed: Option<u64>,
    /// One JSON object a line.
    pub json: bool,
    /// Handovers and revocations of the issuer's key (SPEC §37).
    pub succession: &'a super::issuer::SuccessionOpts,
}

/// `verify ARCHIVE...`: each archive in turn; the exit code is the worst.
pub fn verify(v: &VerifyArgs<'_>) -> Result<u8> {
    let pinned = v
        .issuer
        .or(v.keys.issuer.as_deref())
        .map(read_issuer_public)
        .transpose()?;
    if v.sample.is_some() && matches!(v.level, Some(Level::Content | Level::Render)) {
        bail!("--sample audits fixity only (a keyless check of some entries); drop --level or --sample");
    }
    let mut worst = 0;
    // The issuer's statements of succession, given and beside every copy
    // (so a revocation beside one copy reaches them all).
    let statements = match pinned {
        Some(_) => super::issuer::Statements::gather(v.archives, v.succession)?,
        None => Default::default(),
    };
    let units = units(v.archives);
    for (i, (unit, series)) in units.iter().enumerate() {
        let loc = unit
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        if !v.json && v.archives.len() > 1 {
            if i > 0 {
                println!();
            }
            println!("== {loc}");
        }
        let pin = |p: [u8; 32]| {
            // A series given as a folder: its newest generation's file.
            // (Found without printing the series' notes: the series
            // check prints them once.)
            let newest = super::witness::newest_in_folder(&unit[0]);
            if newest.local().is_some_and(|d| d.is_dir()) {
                bail!("no generation found in {}", unit[0]);
            }
            let a = open(&newest)?;
            super::issuer::pin_for(&unit[0], &a, p, &statements)
        };
        let first_pin = pinned;
        let result = pinned.map(pin).transpose().and_then(|pinned| match series {
            true => super::generations::verify(
                unit,
                &super::generations::VerifySeries {
                    pinned: pinned.as_ref(),
                    succession: first_pin
                        .as_ref()
                        .filter(|_| !statements.is_empty())
                        .map(|p| (p, &statements)),
                    keys: v.keys,
                    level: v.level,
                    sample: v
                        .sample
                        .map(|n| (n, v.seed.unwrap_or_else(|| OsRng.next_u64()))),
                    json: v.json,
                },
            ),
            false => verify_one(&unit[0], pinned.as_ref(), v),
        });
        let code = match result {
            Ok(c) => c,
            // One archive that cannot be read does not stop the others.
            Err(e) if v.archives.len() > 1 => {
                let code = crate::exit_code(&e);
                if v.json {
                    let j =
                        json!({"archive": loc.to_string(), "ok": false, "error": format!("{e:#}")});
                    println!("{}", output::json(&j, false));
                } else {
                    println!("FAILED  {loc}: {e:#}");
                }
                code
            }
            Err(e) => return Err(e),
        };
        worst = worst_code(worst, code);
    }
    if !v.json && v.archives.len() > 1 {
        println!();
        // Files of one series given together are checked as one.
        let series = units.iter().filter(|(_, s)| *s).count();
        println!(
            "{} archive(s) and {series} series checked: {}",
            units.len() - series,
            if worst == 0 { "all OK" } else { "NOT all OK" }
        );
    }
    Ok(worst)
}

/// The archives to check, each once: a folder or a dependent generation
/// is checked as a series (SPEC §33.7), and local files given together
/// that are generations of that series in its folder are checked with it;
/// any other archive alone (`false`).
fn units(archives: &[Location]) -> Vec<(Vec<Location>, bool)> {
    use legation_reader::series::GenerationFile;
    let key = |l: &Location| {
        let p = l.local().filter(|p| p.is_file())?;
        let f = GenerationFile::open(p).ok()?;
        let dir = std::fs::canonicalize(p).ok()?.parent()?.to_path_buf();
        Some((
            dir,
            f.generation.head.archive_id,
            f.public().series.is_some(),
        ))
    };
    let keys: Vec<_> = archives.iter().map(key).collect();
    let mut out: Vec<(Vec<Location>, bool)> = Vec::new();
    let mut placed = vec![false; archives.len()];
    for (i, loc) in archives.iter().enumerate() {
        if placed[i] {
            continue;
        }
        placed[i] = true;
        let Some((dir, id, _)) = &keys[i] else {
            out.push((vec![loc.clone()], super::generations::is_series(loc)));
            continue;
        };
        let same = |k: &Option<(std::path::PathBuf, [u8; 16], bool)>| {
            k.as_ref().is_some_and(|(d, x, _)| d == dir && x == id)
        };
        if !keys
            .iter()
            .any(|k| same(k) && k.as_ref().is_some_and(|k| k.2))
        {
            out.push((vec![loc.clone()], false));
            continue;
        }
        let mut unit = vec![loc.clone()];
        for j in i + 1..archives.len() {
            if !placed[j] && same(&keys[j]) {
                placed[j] = true;
                unit.push(archives[j].clone());
            }
        }
        out.push((unit, true));
    }
    out
}

fn verify_one(path: &Location, pinned: Option<&[u8; 32]>, v: &VerifyArgs<'_>) -> Result<u8> {
    let a = open(path)?;
    let u = match (v.level, v.sample) {
        (Some(Level::Fixity), _) | (_, Some(_)) => None,
        _ => unlock(&a, v.keys, false)?,
    };
    if u.is_none() && matches!(v.level, Some(Level::Content | Level::Render)) {
        return Err(anyhow!(legation_reader::Error::KeyNeeded));
    }
    let bar = output::bar(a.len(), "verifying");
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
        true
    };
    let report = match (&u, v.sample) {
        (_, Some(n)) => {
            let seed = v.seed.unwrap_or_else(|| OsRng.next_u64());
            a.verify_fixity_sample(pinned, n, seed, &mut progress)
        }
        (Some(u), None) if v.level == Some(Level::Content) => {
            u.verify_content(pinned, &mut progress)
        }
        (Some(u), None) => {
            let host = crate::decoders::host()?;
            u.verify_render(&host, pinned, &mut progress)
        }
        (None, None) => a.verify_fixity(pinned, &mut progress),
    };
    bar.finish_and_clear();
    if v.json {
        let mut j = serde_json::to_value(&report)?;
        j["archive"] = path.to_string().into();
        j["ok"] = report.ok().into();
        println!("{}", output::json(&j, false));
    } else {
        // The entries a sample is drawn from: all but the manifest and its
        // signature (1.x), or but the last four (2.0), whose last three are
        // always checked (the table by the rows the draw needs).
        let drawn_from = match a.is_v2() {
            true => a.entries().len().saturating_sub(4),
            false => a.manifest().entries.len(),
        };
        print_report(&report, u.is_none(), drawn_from as u64);
        if let Some(line) = generation_line(&a) {
            println!("{line}");
        }
    }
    Ok(match report.worst() {
        None => 0,
        Some(legation_reader::ErrorKind::Forged | legation_reader::ErrorKind::Damaged) => 1,
        Some(_) => 2,
    })
}

/// Which generation a self-contained 2.0 file holds when it is not the
/// first of its series (a compacted or re-keyed generation checked alone,
/// SPEC §33.5): said, so that a reader knows the file is not generation 0
/// and that the earlier generations are not part of this check.
fn generation_line(a: &Archive) -> Option<String> {
    let (head, _) = a.head_and_signatures()?;
    let h = legation_format::v2::head::Head::parse(head).ok()?;
    (h.sequence > 0).then(|| {
        format!(
            "generation: {} of its series, created {}, self-contained (the {} earlier \
             generation(s) are not in this file and were not checked)",
            h.sequence,
            legation_format::time::format_rfc3339(h.created),
            h.sequence
        )
    })
}

/// Unlocks for `verify`, which reports the signature rather than
/// refusing it; a passphrase slot costlier than the default is derived
/// only as `--allow-costly-kdf` allows (SPEC §7.7).
fn unlock(a: &Archive, keys: &KeyOpts, prompt: bool) -> Result<Option<Unlocked>> {
    let k = keys.keys(prompt)?;
    if k.is_empty() {
        return Ok(None);
    }
    let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
    Ok(Some(a.unlock_with(&k, &mut consent)?))
}

/// The sample line of `verify --sample`: what was checked, and what the
/// draw can tell about the entries it was drawn from (nothing, for a
/// sample of none).
fn print_sample(s: &legation_reader::verify::Sample, drawn_from: u64) {
    if s.piece_size > 0 {
        // 2.0: drawn by pieces, each checked against the outboard values.
        let kib = s.piece_size / 1024;
        if s.pieces_sampled == 0 {
            println!(
                "sample:   none of {} pieces of {kib} KiB drawn (seed {}), only the last three \
                 entries and two rows of the entry table checked: damage to the pieces is found with a chance of 0.0 %, however \
                 much there is",
                s.pieces_total, s.seed
            );
            return;
        }
        let damage = if s.detects_95 >= s.pieces_total {
            format!("damage to all {} of them", s.pieces_total)
        } else {
            format!(
                "damage to {} or more of them ({:.1} %)",
                s.detects_95,
                100.0 * s.detects_95 as f64 / s.pieces_total.max(1) as f64
            )
        };
        println!(
            "sample:   {} of {} pieces of {kib} KiB drawn at random (seed {}), in {} of {} \
             entries with the last three: one damaged piece is found with a chance of {:.1} %, \
             {damage} with 95 % or more",
            s.pieces_sampled,
            s.pieces_total,
            s.seed,
            s.entries_sampled,
            s.entries_total,
            100.0 * s.p_detect_one
        );
        return;
    }
    let always = s.entries_total.saturating_sub(drawn_from);
    let drawn = s.entries_sampled.saturating_sub(always);
    let fixed = if always >= 2 {
        "the manifest and the signature"
    } else {
        "the manifest"
    };
    if drawn == 0 {
        println!(
            "sample:   {} of {} entries checked: {fixed}; none of the other {drawn_from} drawn, \
             so damage to them is found with a chance of 0.0 %, however much \
             there is",
            s.entries_sampled, s.entries_total
        );
        return;
    }
    let damage = if s.detects_95 >= drawn_from {
        format!("damage to all {drawn_from} of them")
    } else {
        format!(
            "damage to {} or more of them ({:.1} %)",
            s.detects_95,
            100.0 * s.detects_95 as f64 / drawn_from as f64
        )
    };
    println!(
        "sample:   {} of {} entries checked: {fixed}, and {drawn} of the other {drawn_from} \
         drawn at random (seed {}): one damaged entry among those {drawn_from} is found with a \
         chance of {:.1} %, {damage} with 95 % or more",
        s.entries_sampled,
        s.entries_total,
        s.seed,
        100.0 * s.p_detect_one
    );
}

/// `drawn_from`: the entries a sample is drawn from (all but the
/// manifest and the signature, which are always checked).
fn print_report(r: &Report, keyless: bool, drawn_from: u64) {
    for p in &r.problems {
        println!(
            "FAILED  {:<8} {}",
            p.level.as_str(),
            view::sanitize(&p.message)
        );
    }
    if r.problems
        .iter()
        .any(|p| p.level == Level::Fixity && p.kind == ErrorKind::Damaged)
    {
        println!(
            "repair:   `legation repair ARCHIVE -o REPAIRED` puts right the public metadata \
             (the manifest; in 2.0 the head, entry table and public.json), the catalog, headers \
             and the directory from the archive's own recovery data; other entries need \
             --from ANOTHER_COPY"
        );
    }
    match &r.signer {
        Some(f) if r.pinned => println!("signer:   {f} (pinned)"),
        Some(f) => {
            println!("signer:   {f} (NOT pinned: pass --issuer ISSUER.pub to require this issuer)")
        }
        None if r.problems.iter().any(|p| {
            p.subject == legation_format::SIGNATURE_ENTRY
                || p.subject == legation_format::v2::SIGNATURES_ENTRY
        }) =>
        {
            println!("signer:   signature check failed")
        }
        None => {
            println!("signer:   none (unsigned archive: fixity shows consistency, not authorship)")
        }
    }
    let count = |level| r.problems.iter().filter(|p| p.level == level).count();
    let verdict = |n: usize| {
        if n == 0 {
            "OK".to_owned()
        } else {
            format!("FAILED ({n} problem(s))")
        }
    };
    println!(
        "fixity:   {}: {} entries, {} hashed",
        verdict(count(Level::Fixity)),
        r.entries_checked,
        output::size(r.bytes_checked)
    );
    if let Some(s) = &r.sample {
        print_sample(s, drawn_from);
    }
    if keyless {
        println!(
            "content:  not checked (needs a key: --identity, --passphrase-file or {})",
            keyopts::PASSPHRASE_ENV
        );
    } else {
        println!(
            "content:  {}: {} records, {} decrypted and hashed",
            verdict(count(Level::Content)),
            r.records_checked,
            output::size(r.record_bytes_checked)
        );
    }
    if keyless {
        println!("render:   not checked (needs a key)");
    } else if r.level == Level::Content {
        println!("render:   not checked (--level content)");
    } else {
        println!(
            "render:   {}: {} views re-rendered and identical to packing, {} records packed without a view",
            verdict(count(legation_reader::Level::Render)),
            r.records_rendered,
            r.not_rendered.len()
        );
        print_not_rendered(&r.not_rendered);
    }
    if r.cancelled {
        println!("cancelled before the end");
    }
}

/// The records packed without a view, one line each with packing's
/// reason.
pub(super) fn print_not_rendered(list: &[(String, String)]) {
    for (path, why) in list {
        // The reason usually names the record already.
        let why = why.strip_prefix(&format!("{path}: ")).unwrap_or(why);
        println!(
            "          not rendered: {}: {}",
            view::sanitize(path),
            view::sanitize(why)
        );
    }
}

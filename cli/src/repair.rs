//! `repair DAMAGED [--from OTHER] -o REPAIRED`: a damaged copy rebuilt,
//! without a key, from its own recovery data and, if given, another copy
//! (the work is `legation_reader::repair`).

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_reader::repair::{self, Options, Report, Side};
use legation_reader::source::FileSource;
use legation_reader::Archive;

use crate::keyopts::read_issuer_public;
use crate::location::Location;
use crate::output;
use crate::place::{place, temp_beside};

/// The arguments of `repair`.
#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// The damaged copy: a file or s3://BUCKET/KEY.
    pub damaged: Location,
    /// Another copy of the same archive (without it, only what the
    /// archive's own recovery data covers can be put right: the manifest,
    /// the catalog, headers and the central directory).
    /// A file or s3://BUCKET/KEY (another embassy's copy).
    #[arg(long, value_name = "OTHER_COPY")]
    pub from: Option<Location>,
    /// The repaired archive to write.
    #[arg(short, long, value_name = "REPAIRED")]
    pub output: PathBuf,
    /// The issuer public key the manifest must be signed by.
    #[arg(long, value_name = "ISSUER.pub")]
    pub issuer: Option<PathBuf>,
    /// When the copies hold different valid manifests, repair to the
    /// one of OTHER_COPY (otherwise refused).
    #[arg(long, conflicts_with = "prefer_damaged")]
    pub prefer_from: bool,
    /// When the copies hold different valid manifests, repair to the
    /// one of the damaged copy (otherwise refused).
    #[arg(long)]
    pub prefer_damaged: bool,
    /// Replace REPAIRED if it exists.
    #[arg(long)]
    pub force: bool,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
}

/// Whether two paths name the same file: the same path once resolved, or
/// (where both exist) the same file on disk.
fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(p: &Path) -> Option<PathBuf> {
        if let Ok(c) = fs::canonicalize(p) {
            return Some(c);
        }
        // Not there yet: resolve the folder and keep the name.
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = fs::canonicalize(dir.unwrap_or(Path::new("."))).ok()?;
        Some(dir.join(p.file_name()?))
    }
    if resolved(a).is_some_and(|x| Some(x) == resolved(b)) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

/// `repair DAMAGED --from OTHER -o REPAIRED`.
pub fn repair(a: &RepairArgs) -> Result<u8> {
    let pinned = a.issuer.as_deref().map(read_issuer_public).transpose()?;
    let local = |l: &Location| l.local().map(Path::to_path_buf);
    for input in std::iter::once(&a.damaged).chain(&a.from).filter_map(local) {
        if same_file(&input, &a.output) {
            bail!(
                "the output {} is the input {}: write the repaired copy to a new file",
                a.output.display(),
                input.display()
            );
        }
    }
    let same_copy = match (&a.damaged, &a.from) {
        (Location::Local(d), Some(Location::Local(f))) => same_file(d, f),
        (Location::Remote(d), Some(Location::Remote(f))) => d == f,
        _ => false,
    };
    if same_copy {
        bail!(
            "{} and {} are the same copy: give another copy with --from, or none",
            a.damaged,
            a.from.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
    if !a.force && fs::symlink_metadata(&a.output).is_ok() {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let damaged = a.damaged.source()?;
    let other = a.from.as_ref().map(Location::source).transpose()?;
    let opts = Options {
        pinned,
        prefer: match (a.prefer_from, a.prefer_damaged) {
            (true, _) => Some(Side::Other),
            (_, true) => Some(Side::Damaged),
            _ => None,
        },
    };
    let bar = output::bar(0, "repairing");
    let (tmp, file) = temp_beside(&a.output)?;
    let result = (|| -> Result<(Report, legation_reader::Report)> {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let report = repair::repair(damaged, other, &opts, &mut w, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()
            .with_context(|| format!("writing {}", tmp.display()))?;
        drop(f);
        // Read the result back as any reader would before it takes a name.
        let src = FileSource::open(&tmp).with_context(|| format!("opening {}", tmp.display()))?;
        let fixity = Archive::open(src)
            .map_err(|e| anyhow!("the repaired archive does not open: {e}"))
            .and_then(|r| {
                let id = legation_format::hex::encode(&r.manifest().archive_id);
                if id != report.archive_id || r.len() != report.len {
                    bail!("the repaired archive is not the one written");
                }
                Ok(r.verify_fixity(pinned.as_ref(), &mut |_, _| true))
            })?;
        if !fixity.ok() {
            let first = fixity
                .problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_default();
            bail!("the repaired archive fails its fixity check: {first}");
        }
        Ok((report, fixity))
    })();
    bar.finish_and_clear();
    let (report, fixity) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            if let Some(legation_reader::Error::CopiesDisagree { .. }) =
                e.downcast_ref::<legation_reader::Error>()
            {
                eprintln!("hint: give --prefer-from or --prefer-damaged to choose; the other copy then gives only the entries that match the chosen manifest");
            }
            if let Some(legation_reader::Error::ManifestUnsupported { other, .. }) =
                e.downcast_ref::<legation_reader::Error>()
            {
                eprintln!("hint: compare the copies with legation info; {other} is not the archive the damaged copy holds, so ask for another copy");
            }
            return Err(e.context(match &a.from {
                Some(f) => format!("repairing {} from {f}", a.damaged),
                None => format!("repairing {} from its own recovery data", a.damaged),
            }));
        }
    };
    place(&tmp, &a.output, a.force)?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["output"] = a.output.display().to_string().into();
        v["fixity"] = serde_json::to_value(&fixity)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_summary(a, &report, &fixity);
    }
    Ok(0)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_summary(a: &RepairArgs, r: &Report, fixity: &legation_reader::Report) {
    let d = a.damaged.to_string();
    let o = a.from.as_ref().map(ToString::to_string);
    println!(
        "repaired:  {} ({} entries, {} bytes)",
        a.output.display(),
        r.entries,
        r.len
    );
    println!("archive:   {}, created {}", r.archive_id, r.created);
    let (from, s) = match r.manifest_from {
        Side::Damaged => (d.clone(), r.other.as_ref()),
        Side::Other => (o.clone().unwrap_or_default(), Some(&r.damaged)),
    };
    let chosen = match r.manifest_from {
        Side::Damaged => &r.damaged,
        Side::Other => r.other.as_ref().unwrap_or(&r.damaged),
    };
    let why = if r.preferred {
        " (chosen with --prefer-*: the copies' manifests differ)".to_owned()
    } else {
        match s {
            None => String::new(),
            Some(s) if s.usable => " (both copies agree)".to_owned(),
            Some(s) => format!(
                " ({}'s manifest: {})",
                s.copy,
                s.problem.as_deref().unwrap_or("not usable")
            ),
        }
    };
    let recovered = if chosen.recovered {
        ", its damaged bytes put right from its own recovery data"
    } else {
        ""
    };
    // A 2.0 archive is laid out from its signed head and entry table.
    let what = if r.version.starts_with("2.") {
        "head:     "
    } else {
        "manifest: "
    };
    println!("{what} from {from}{why}{recovered}");
    if let Some(s) = &r.support {
        // Taken from the other copy: what the damaged copy's own bytes
        // confirmed of it (SPEC.md §16.5).
        println!(
            "confirmed by {d}: {} of {} listed entries intact where the manifest puts them \
             ({} of them the archive's own records, catalog and parity); {} intact in {d} \
             by their own headers, none contradicting it; {} not confirmed by {d}",
            s.confirmed, s.listed, s.confirmed_own, s.surviving, s.unconfirmed
        );
        if s.confirmed == 0 {
            println!(
                "WARNING:   nothing of {d} survives to confirm it: the result is {from}'s copy, \
                 on its signature alone"
            );
        } else if s.confirmed_own == 0 {
            println!(
                "WARNING:   {d} confirms none of the archive's own entries, only ones any archive \
                 may hold: the archive id, generation and signer above are {from}'s word alone"
            );
        }
        if !s.signed {
            println!(
                "           unsigned: {d}'s own manifest header (size, CRC-32) and layout match it"
            );
        }
    }
    match &r.signer {
        Some(f) if r.pinned => println!("signer:    {f} (pinned)"),
        Some(f) => {
            println!("signer:    {f} (NOT pinned: pass --issuer ISSUER.pub to require this issuer)")
        }
        None => {
            println!("signer:    none (unsigned archive: the copies' consistency, not authorship)")
        }
    }
    let mut sources = vec![(d.clone(), r.from_damaged)];
    if let Some(o) = &o {
        sources.push((o.clone(), r.from_other));
    }
    if r.from_parity.entries > 0 {
        sources.push(("the catalog's parity".into(), r.from_parity));
    }
    if r.from_recovery.entries > 0 {
        sources.push((
            "the archive's recovery entry and CRC-32s".into(),
            r.from_recovery,
        ));
    }
    for (name, t) in sources {
        println!(
            "taken from {name}: {}, {}",
            plural(t.entries as usize, "entry", "entries"),
            output::size(t.bytes)
        );
    }
    if r.damaged_entries.is_empty() && r.damaged_structure.is_empty() {
        println!("damaged in {d}: nothing (the repaired file equals it)");
    } else {
        println!(
            "damaged in {d}: {} (taken from {}), {} (regenerated)",
            plural(r.damaged_entries.len(), "entry", "entries"),
            o.as_deref().unwrap_or("the archive's recovery data"),
            plural(
                r.damaged_structure.len(),
                "header or structure",
                "headers or structures"
            ),
        );
        for x in r.damaged_entries.iter().chain(&r.damaged_structure) {
            println!("  {}: {}", x.entry, x.problem);
        }
    }
    if !r.damaged_in_other.is_empty() {
        let o = o.as_deref().unwrap_or_default();
        println!("damaged in {o} too (where it was looked at; run legation verify on it):");
        for x in &r.damaged_in_other {
            println!("  {}: {}", x.entry, x.problem);
        }
    }
    println!(
        "fixity:    OK: {} entries, {} hashed (the repaired file, before it took its name)",
        fixity.entries_checked,
        output::size(fixity.bytes_checked)
    );
}

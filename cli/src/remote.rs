//! `push`, `pull` and `presign`: archives to and from an object store
//! (the work is `legation_remote`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use legation_reader::Archive;
use legation_remote::{PushOptions, S3Source, Url};

use crate::commands::generations;
use crate::keyopts::read_issuer_public;
use crate::location::Location;
use crate::output;
use crate::place::{place, temp_beside};

/// The arguments of `push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The local archive.
    pub archive: PathBuf,
    /// Where to: s3://BUCKET/KEY.
    pub url: Url,
    /// Part size in MiB (at least 5).
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub part_size: u64,
    /// Parts sent at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub parallel: usize,
    /// Replace an object already at the URL.
    #[arg(long)]
    pub replace: bool,
    /// Send at most this many MiB a second.
    #[arg(long, value_name = "MIB")]
    pub max_rate: Option<f64>,
    /// Where to keep the state of an unfinished push (default:
    /// ARCHIVE.push.json beside the archive).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The issuer public key the remote copy's signature must come from.
    #[arg(long, value_name = "ISSUER.pub")]
    pub issuer: Option<PathBuf>,
}

/// The arguments of `pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The remote archive: s3://BUCKET/KEY.
    pub url: Url,
    /// The local file to write.
    #[arg(short, long, value_name = "ARCHIVE")]
    pub output: PathBuf,
    /// Replace ARCHIVE if it exists.
    #[arg(long)]
    pub force: bool,
    /// The issuer public key the signature must come from.
    #[arg(long, value_name = "ISSUER.pub")]
    pub issuer: Option<PathBuf>,
}

/// The arguments of `presign`.
#[derive(Debug, clap::Args)]
pub struct PresignArgs {
    /// The remote archive: s3://BUCKET/KEY.
    pub url: Url,
    /// How long the URL works: seconds, or a number with s, m, h or d
    /// (at most 7d, the S3 limit).
    #[arg(long, default_value = "1d", value_parser = parse_duration)]
    pub expires: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s}: not a duration such as 3600, 90m, 12h or 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("{s}: the unit must be s, m, h or d")),
    };
    if secs == 0 || secs > 7 * 86400 {
        return Err(format!("{s}: between 1 second and 7 days"));
    }
    Ok(Duration::from_secs(secs))
}

/// `push ARCHIVE s3://BUCKET/KEY`. A dependent generation (SPEC §33)
/// goes up after the earlier generation files it reads that the store
/// lacks beside the URL, and the series there is audited.
pub fn push(a: &PushArgs) -> Result<u8> {
    let pinned = a.issuer.as_deref().map(read_issuer_public).transpose()?;
    if !generations::is_dependent(&a.archive) {
        return push_file(a, &a.archive, &a.url, a.state.clone(), pinned.as_ref());
    }
    for (file, url) in generations::to_push_first(&a.archive, &a.url)? {
        println!(
            "series:   {} reads {}, which is not at {url}: pushing it first",
            a.archive.display(),
            file.display()
        );
        let code = push_file(a, &file, &url, None, pinned.as_ref())?;
        if code != 0 {
            return Ok(code);
        }
    }
    let code = push_file(a, &a.archive, &a.url, a.state.clone(), pinned.as_ref())?;
    if code != 0 {
        return Ok(code);
    }
    generations::audit_series_at(&Location::Remote(a.url.clone()), pinned.as_ref())
}

/// Pushes one archive file to `url` and audits the copy there.
fn push_file(
    a: &PushArgs,
    archive: &Path,
    url: &Url,
    state: Option<PathBuf>,
    pinned: Option<&[u8; 32]>,
) -> Result<u8> {
    // Only archives go up: one that does not open is refused here.
    let local = Archive::open(
        legation_reader::source::FileSource::open(archive)
            .with_context(|| format!("opening {}", archive.display()))?,
    )
    .with_context(|| format!("opening archive {}", archive.display()))?;
    let opts = PushOptions {
        part_size: a
            .part_size
            .checked_mul(1 << 20)
            .ok_or_else(|| anyhow!("--part-size is too large"))?,
        parallel: a.parallel,
        replace: a.replace,
        state,
        max_rate: a.max_rate.map(|r| (r * (1 << 20) as f64) as u64),
    };
    let bar = output::bar(local.len(), "pushing");
    let report = legation_remote::push(archive, url, &opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| format!("pushing {} to {url}", archive.display()))?;
    bar.finish_and_clear();
    println!(
        "pushed:   {} ({}) to {} in {} part(s){}",
        archive.display(),
        output::size(report.size),
        url,
        report.parts,
        match (report.parts_resumed, report.restarted) {
            (0, false) => String::new(),
            (0, true) => ", started over (the archive changed since the unfinished push)".into(),
            (n, _) => format!(", {n} of them sent by an earlier, interrupted push"),
        }
    );
    println!("sent:     {} this time", output::size(report.bytes_sent));
    if report.bytes_copied > 0 {
        println!(
            "copied:   {} on the store from the copy pushed before (unchanged since)",
            output::size(report.bytes_copied)
        );
    }
    if crate::location::stats_enabled() {
        eprintln!(
            "stats: push {url}: sent {} bytes, copied {} bytes on the store, of {} in {} parts",
            report.bytes_sent, report.bytes_copied, report.size, report.parts
        );
    }
    if let Some(why) = &report.copy_refused {
        println!("note:     the store did not copy the unchanged ranges ({why}): sent them all");
    }
    audit_remote(url, pinned, Some(&local))
}

/// The keyless audit of the copy just pushed, and that it is the archive
/// that was pushed (the same signed manifest, the same size).
fn audit_remote(url: &Url, pinned: Option<&[u8; 32]>, local: Option<&Archive>) -> Result<u8> {
    let remote =
        Archive::open(S3Source::open(url)?).with_context(|| format!("opening archive {url}"))?;
    if let Some(l) = local {
        if remote.manifest_bytes() != l.manifest_bytes() || remote.len() != l.len() {
            bail!("{url} is not the archive pushed (its manifest or size differs)");
        }
    }
    let bar = output::bar(remote.len(), "auditing");
    let report = remote.verify_fixity(pinned, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        true
    });
    bar.finish_and_clear();
    for p in &report.problems {
        println!("FAILED   {}", p.message);
    }
    println!(
        "audit:    {} of the remote copy: {} entries, {} fetched and hashed{}",
        if report.ok() { "OK" } else { "FAILED" },
        report.entries_checked,
        output::size(report.bytes_checked),
        match &report.signer {
            Some(f) if report.pinned => format!(", signed by {f} (pinned)"),
            Some(f) => format!(", signed by {f}"),
            None => String::new(),
        }
    );
    Ok(if report.ok() { 0 } else { 1 })
}

/// `pull s3://BUCKET/KEY -o ARCHIVE`. A dependent generation (SPEC §33)
/// comes down after the earlier generation files it reads that are not
/// beside ARCHIVE yet, and the series there is audited.
pub fn pull(a: &PullArgs) -> Result<u8> {
    let pinned = a.issuer.as_deref().map(read_issuer_public).transpose()?;
    if !a.force && fs::symlink_metadata(&a.output).is_ok() {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let loc = Location::Remote(a.url.clone());
    if !generations::is_series(&loc) {
        return pull_file(a, &a.url, &a.output, pinned.as_ref());
    }
    for (url, file) in generations::to_pull_first(&a.url, &a.output)? {
        println!(
            "series:   {} reads {url}, which is not at {}: pulling it first",
            a.url,
            file.display()
        );
        let code = pull_file(a, &url, &file, pinned.as_ref())?;
        if code != 0 {
            return Ok(code);
        }
    }
    let code = pull_file(a, &a.url, &a.output, pinned.as_ref())?;
    if code != 0 {
        return Ok(code);
    }
    generations::audit_series_at(&Location::Local(a.output.clone()), pinned.as_ref())
}

/// Pulls one object to `output` and audits it before it takes the name.
fn pull_file(a: &PullArgs, url: &Url, dest: &Path, pinned: Option<&[u8; 32]>) -> Result<u8> {
    let (tmp, file) = temp_beside(dest)?;
    let result = (|| -> Result<legation_reader::Report> {
        let bar = output::bar(0, "pulling");
        let size = legation_remote::pull(url, &file, &tmp, &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        bar.finish_and_clear();
        drop(file);
        eprintln!("fetched {} from {}; auditing it", output::size(size), url);
        let src = legation_reader::source::FileSource::open(&tmp)
            .with_context(|| format!("opening {}", tmp.display()))?;
        let archive = Archive::open(src).map_err(|e| anyhow!("{}: {e}", url))?;
        Ok(archive.verify_fixity(pinned, &mut |_, _| true))
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e.context(format!("pulling {}", url)));
        }
    };
    if !report.ok() {
        // A damaged copy does not take the name of a good one.
        let _ = fs::remove_file(&tmp);
        for p in &report.problems {
            println!("FAILED   {}", p.message);
        }
        println!(
            "{} is damaged; nothing written. `legation repair {} --from ANOTHER_COPY -o {}` \
             rebuilds it from another embassy's copy",
            url,
            url,
            dest.display()
        );
        return Ok(1);
    }
    place(&tmp, dest, a.force)?;
    println!(
        "pulled:   {} to {}; audit OK: {} entries hashed{}",
        url,
        dest.display(),
        report.entries_checked,
        match &report.signer {
            Some(f) if report.pinned => format!(", signed by {f} (pinned)"),
            Some(f) => format!(", signed by {f}"),
            None => String::new(),
        }
    );
    Ok(0)
}

/// `presign s3://BUCKET/KEY`.
pub fn presign(a: &PresignArgs) -> Result<u8> {
    let url = legation_remote::presign(&a.url, a.expires)?;
    println!("{url}");
    Ok(0)
}

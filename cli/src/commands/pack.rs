//! `pack SRC -o ARCHIVE`: a folder packed into an encrypted, signed
//! archive, each record rendered by its decoder at packing.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use legation_format::crypto::{self, Argon2Params};
use legation_format::keys;
use legation_format::pack::{self, PackOptions};
use legation_format::v2;
use legation_format::writer::{ArchiveWriter, WriterOptions};
use rand_core::OsRng;

use super::pack_bag::{self, FromBag};
use crate::keyopts::{self, KeyOpts};
use crate::place::{place, temp_beside};
use crate::{decoders, output, view};

/// The arguments of `pack`.
pub struct PackArgs {
    pub src: PathBuf,
    pub output: PathBuf,
    pub recipients: Vec<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
    pub sign: Option<PathBuf>,
    /// `--update PREVIOUS`: write the next generation of its series.
    pub update: Option<PathBuf>,
    /// `--handover FILE` (with `--update`): handovers of the issuer's key.
    pub handovers: Vec<PathBuf>,
    /// `-i` with `--update`: keys that open PREVIOUS.
    pub update_identities: Vec<PathBuf>,
    /// `--rebase` with `--update`.
    pub rebase: bool,
    pub skip_unsupported: bool,
    pub allow_weak_passphrase: bool,
    pub decoders: Vec<String>,
    /// `--decoder-fuel`, `--decoder-memory` (MiB), `--decoder-depth`.
    pub limits: (u64, u32, u32),
    pub force: bool,
    pub embed_viewer: Option<PathBuf>,
    /// Write format 2.0 (the default) rather than 1.3 (`--format 1.3`).
    pub v2: bool,
    /// Quorum slots (`--quorum`, `--holder`, `--quorum-policy`; format 2.0).
    pub quorum: crate::commands::share::QuorumArgs,
    /// `--from-bag`: `src` is a BagIt bag, validated and its payload packed.
    pub from_bag: bool,
    /// `--not-a-bag`: pack a folder that looks like a bag as a folder.
    pub not_a_bag: bool,
}

/// Reads the one-file browser viewer to embed, refusing what is plainly
/// not it (the file `web/build.sh` writes as `legation-viewer.html`).
fn read_viewer(p: &Path) -> Result<Vec<u8>> {
    let meta = fs::metadata(p).with_context(|| format!("reading the viewer {}", p.display()))?;
    if meta.len() > legation_format::VIEWER_MAX as u64 {
        bail!(
            "{}: {} bytes, over the {} byte limit for an embedded viewer",
            p.display(),
            meta.len(),
            legation_format::VIEWER_MAX
        );
    }
    let bytes = fs::read(p).with_context(|| format!("reading the viewer {}", p.display()))?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if !head.trim_start().starts_with("<!doctype html") || !head.contains("legation") {
        bail!(
            "{}: not the Legation one-file viewer (build it with web/build.sh: target/web/legation-viewer.html)",
            p.display()
        );
    }
    Ok(bytes)
}

/// Walks the folder (or the bag's payload) and packs what it finds into a
/// writer of either format as it goes, refusing to go on when rendering
/// failed for a reason of this machine.
fn fill(
    src: &Path,
    bag: Option<&FromBag>,
    opts: PackOptions,
    tmp: &Path,
    w: &mut impl pack::RecordSink,
    renderer: &mut decoders::PackRenderer,
    bar: &indicatif::ProgressBar,
) -> Result<pack::Packed> {
    let mut done = 0;
    let progress = |_: &str, size| {
        done += size;
        bar.set_position(done);
    };
    let skipped = |path: &str, why: &str| bar.suspend(|| eprintln!("skipped {path}: {why}"));
    let large = renderer.large.clone();
    let cap = pack::Renderer::cap(renderer);
    let packed = match bag {
        // The archive being written may be inside the folder.
        None => pack::pack_found(
            large.identifying(
                cap,
                pack_bag::merge_reserved(Vec::new(), pack::Walk::new(src, opts)?.excluding(tmp)?),
            ),
            w,
            Some(&mut *renderer),
            progress,
            skipped,
        )?,
        Some(bag) => {
            let walk = pack::Walk::new(&bag.payload(), opts)?.excluding(tmp)?;
            let mut checked = bag.cross_check(w);
            let packed = pack::pack_found(
                large.identifying(cap, bag.merge(walk)),
                &mut checked,
                Some(&mut *renderer),
                progress,
                skipped,
            )?;
            checked.finish()?;
            packed
        }
    };
    if let Some(why) = renderer.host_failure.take() {
        bail!(
            "{why}; no archive is written, since its records would be signed as not \
             rendered for a reason of this machine (see `ulimit -v`)"
        );
    }
    Ok(packed)
}

/// The progress of packing: bytes packed so far (the folder is walked as
/// it is packed, so its total is not known in advance).
fn progress() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg:12} {spinner} {bytes} {bytes_per_sec}")
            .unwrap(), // fixed, valid template
    );
    pb.set_message("packing");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb
}

/// `pack SRC -o ARCHIVE`.
pub fn pack(a: PackArgs) -> Result<u8> {
    if let Some(previous) = a.update {
        return super::generations::pack_update(super::generations::UpdateArgs {
            src: a.src,
            previous,
            output: a.output,
            keys: KeyOpts {
                identities: a.update_identities,
                passphrase_file: a.passphrase_file,
                ..KeyOpts::default()
            },
            sign: a.sign,
            rebase: a.rebase.then_some(true),
            decoders: a.decoders,
            limits: a.limits,
            skip_unsupported: a.skip_unsupported,
            force: a.force,
            handovers: a.handovers,
        });
    }
    if a.output.exists() && !a.force {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let (recipients, pq) = keyopts::read_all_recipients(&a.recipients)?;
    let mut passphrase = keyopts::passphrase_from_file_or_env(a.passphrase_file.as_deref())?;
    let quorum = a.quorum.policies()?;
    if !quorum.is_empty() && !a.v2 {
        bail!("quorum slots are a format 2.0 feature (SPEC §7.9): pack with --format 2.0");
    }
    if !pq.is_empty() && !a.v2 {
        bail!(
            "post-quantum recipients are a format 2.1 feature (SPEC §7.11): pack with --format 2.0"
        );
    }
    if passphrase.is_none() && recipients.is_empty() && quorum.is_empty() && pq.is_empty() {
        let p = keyopts::ask("Passphrase for the archive: ")?;
        if *keyopts::ask("Same passphrase again: ")? != *p {
            bail!("the two passphrases differ");
        }
        passphrase = Some(p);
    }
    if let Some(p) = &passphrase {
        if !a.allow_weak_passphrase {
            keys::check_passphrase(p)?;
        }
    }
    let issuer = match &a.sign {
        Some(p) => Some(keyopts::read_issuer_secret(p)?),
        None => None,
    };
    if !a.from_bag && !a.not_a_bag && pack_bag::looks_like_bag(&a.src) {
        bail!(
            "{} looks like a BagIt bag (bagit.txt beside data/): give --from-bag to validate it \
             and pack its payload, or --not-a-bag to pack the folder, tag files and all",
            a.src.display()
        );
    }
    let walk = PackOptions {
        skip_unsupported: a.skip_unsupported,
        // A bag's payload is packed as it is: a `.dc.json` there is a record.
        no_sidecars: a.from_bag,
    };
    let viewer = match &a.embed_viewer {
        Some(p) => Some(read_viewer(p)?),
        None => None,
    };
    let created = keyopts::creation_time()?;
    // The archive's event log (format 2.1): the bag's validation, then
    // what the writer adds (ingestion, identification, rendering).
    let mut logged = Vec::new();
    let bag = match a.from_bag {
        true => {
            let mut scratch = a.output.clone().into_os_string();
            scratch.push(".bag-validation.tmp");
            let scratch = PathBuf::from(scratch);
            let bag = FromBag::prepare(&a.src, scratch.clone(), created)?;
            let common = super::premis::pack_common(created, issuer.as_ref());
            let text = fs::read_to_string(&scratch)?;
            logged.push(super::premis::bag_validation_event(&text, &common)?);
            Some(bag)
        }
        false => None,
    };
    let opts = WriterOptions {
        created,
        issuer,
        recipients,
        passphrases: passphrase
            .into_iter()
            .map(|p| (p, Argon2Params::DEFAULT))
            .collect(),
        embed_spec: true,
        viewer,
    };
    let fingerprint = opts
        .issuer
        .as_ref()
        .map(|k| crypto::fingerprint(&k.public()));
    let extra = a
        .decoders
        .iter()
        .map(|d| decoders::parse_decoder_arg(d))
        .collect::<Result<Vec<_>>>()?;
    let mut renderer = decoders::PackRenderer::new(&extra, decoders::limits(a.limits)?)?;
    let bar = progress();
    let (tmp, file) = temp_beside(&a.output)?;
    let mut packed = pack::Packed::default();
    let result = (|| -> Result<fs::File> {
        let out = BufWriter::with_capacity(1 << 20, file);
        let out = if a.v2 {
            let mut w =
                v2::writer::ArchiveWriter::new_with_slots(out, opts, OsRng, None, &quorum, &pq)?;
            w.log_events(&pack_bag::agent(), Default::default(), logged)?;
            for (module, desc, vectors) in renderer.modules() {
                w.add_decoder(module, desc.clone(), vectors)?;
            }
            packed = fill(
                &a.src,
                bag.as_ref(),
                walk,
                &tmp,
                &mut w,
                &mut renderer,
                &bar,
            )?;
            w.finish()?
        } else {
            let mut w = ArchiveWriter::new(out, opts, OsRng)?;
            for (module, desc, vectors) in renderer.modules() {
                w.add_decoder(module, desc.clone(), vectors)?;
            }
            packed = fill(
                &a.src,
                bag.as_ref(),
                walk,
                &tmp,
                &mut w,
                &mut renderer,
                &bar,
            )?;
            w.finish()?
        };
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(f)
    })();
    bar.finish_and_clear();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!(
            "packing {} into {}",
            a.src.display(),
            a.output.display()
        )));
    }
    place(&tmp, &a.output, a.force)?;
    for (_, why) in &renderer.not_rendered {
        eprintln!("not rendered: {}", view::sanitize(why));
    }
    eprintln!(
        "rendered {} records at packing; {} not rendered (their raw bytes stay readable)",
        renderer.rendered,
        renderer.not_rendered.len()
    );
    eprintln!(
        "packed {} records ({}) and {} empty folders into {}{}",
        packed.records,
        output::size(packed.bytes),
        packed.empty_dirs,
        a.output.display(),
        fingerprint
            .map(|f| format!(", signed by {f}"))
            .unwrap_or_else(|| ", unsigned".into())
    );
    Ok(0)
}

//! The commands. Each returns its exit code, or an error that `main`
//! prints and maps to one.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::crypto::{self, Argon2Params};
use legation_format::keys::{self, Identity, IssuerKey};
use legation_format::pack::{self, PackOptions};
use legation_format::writer::{ArchiveWriter, WriterOptions};
use legation_reader::{Archive, ErrorKind, Report, Signer, Unlocked};
use rand_core::{OsRng, RngCore};
use serde_json::json;

use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::{decoders, output, view};

/// `keygen recipient|issuer -o NAME`.
pub fn keygen(name: &Path, issuer: bool, force: bool) -> Result<u8> {
    let secret_path = with_suffix(name, "key");
    let public_path = with_suffix(name, "pub");
    // The secret stays in the key's own zeroizing array: only borrowed.
    let (issuer_key, identity);
    let (secret, public, stag, ptag, kind) = if issuer {
        issuer_key = IssuerKey::generate(&mut OsRng);
        (
            issuer_key.secret(),
            issuer_key.public(),
            keys::ISSUER_SECRET,
            keys::ISSUER_PUBLIC,
            "issuer (Ed25519)",
        )
    } else {
        identity = Identity::generate(&mut OsRng);
        (
            identity.secret(),
            identity.public(),
            keys::RECIPIENT_SECRET,
            keys::RECIPIENT_PUBLIC,
            "recipient (X25519)",
        )
    };
    let fp = crypto::fingerprint(&public);
    let text = keys::format_key_file(
        stag,
        secret,
        &format!("Legation {kind} secret key {fp}. Keep it secret."),
    );
    write_new_file(&secret_path, text.as_bytes(), true, force)?;
    let text = keys::format_key_file(ptag, &public, &format!("Legation {kind} public key {fp}"));
    write_new_file(&public_path, text.as_bytes(), false, force)?;
    println!("{ptag} {}", legation_format::hex::encode(&public));
    eprintln!(
        "wrote {} (secret) and {}; fingerprint {fp}",
        secret_path.display(),
        public_path.display()
    );
    Ok(0)
}

/// `keygen passphrase`.
pub fn keygen_passphrase() -> Result<u8> {
    println!("{}", &*keys::generate_passphrase(&mut OsRng));
    Ok(0)
}

fn with_suffix(name: &Path, ext: &str) -> PathBuf {
    let mut s = name.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Writes a file that must not exist yet (unless `force`), owner-only when
/// `secret`.
///
/// The file is always a new one, created with mode 0600 when `secret` (on
/// Unix), so it is never readable by others, not even empty. With `force`
/// the new file is written beside `path` under a fresh name and renamed
/// over it: an existing file's looser mode, a descriptor someone already
/// holds open on it, or a symbolic link in its place never see the key.
fn write_new_file(path: &Path, data: &[u8], secret: bool, force: bool) -> Result<()> {
    if !force {
        let f = create_new_file(path, secret).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow!("{} exists (use --force to replace it)", path.display())
            } else {
                anyhow!(e).context(format!("creating {}", path.display()))
            }
        })?;
        return write_and_sync(f, data, path);
    }
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{:016x}.tmp", OsRng.next_u64()));
    let tmp = path.with_file_name(tmp_name);
    let f = create_new_file(&tmp, secret).with_context(|| format!("creating {}", tmp.display()))?;
    let written = write_and_sync(f, data, path).and_then(|()| {
        fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates a file that must not exist, with mode 0600 from the start
/// when `secret` (on Unix; the umask can only remove bits).
fn create_new_file(path: &Path, secret: bool) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    o.open(path)
}

fn write_and_sync(mut f: fs::File, data: &[u8], path: &Path) -> Result<()> {
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("writing {}", path.display()))
}

/// The arguments of `pack`.
pub struct PackArgs {
    pub src: PathBuf,
    pub output: PathBuf,
    pub recipients: Vec<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
    pub sign: Option<PathBuf>,
    pub skip_unsupported: bool,
    pub allow_weak_passphrase: bool,
    pub decoders: Vec<String>,
    /// `--decoder-fuel`, `--decoder-memory` (MiB), `--decoder-depth`.
    pub limits: (u64, u32, u32),
    pub force: bool,
    pub embed_viewer: Option<PathBuf>,
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

/// `pack SRC -o ARCHIVE`.
pub fn pack(a: PackArgs) -> Result<u8> {
    if a.output.exists() && !a.force {
        bail!("{} exists (use --force to replace it)", a.output.display());
    }
    let mut recipients = Vec::new();
    for r in &a.recipients {
        let text = keyopts::read_key_text(r, "recipient", false)?;
        recipients.push(*keys::parse_key_file(
            &text,
            keys::RECIPIENT_PUBLIC,
            &r.display().to_string(),
        )?);
    }
    let mut passphrase = keyopts::passphrase_from_file_or_env(a.passphrase_file.as_deref())?;
    if passphrase.is_none() && recipients.is_empty() {
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
        Some(p) => {
            let text = keyopts::read_key_text(p, "issuer key", true)?;
            Some(IssuerKey::from(keys::parse_key_file(
                &text,
                keys::ISSUER_SECRET,
                &p.display().to_string(),
            )?))
        }
        None => None,
    };
    let mut plan = pack::plan(
        &a.src,
        PackOptions {
            skip_unsupported: a.skip_unsupported,
        },
    )?;
    for (path, why) in &plan.skipped {
        eprintln!("skipped {path}: {why}");
    }
    let viewer = match &a.embed_viewer {
        Some(p) => Some(read_viewer(p)?),
        None => None,
    };
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s
            .parse()
            .context("SOURCE_DATE_EPOCH is not a number of seconds")?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
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
    let total = plan.total_bytes();
    let count = plan.records.len();
    let extra = a
        .decoders
        .iter()
        .map(|d| decoders::parse_decoder_arg(d))
        .collect::<Result<Vec<_>>>()?;
    let mut renderer = decoders::PackRenderer::new(&extra, decoders::limits(a.limits)?)?;
    let bar = output::bar(total, "packing");
    let (tmp, file) = temp_beside(&a.output)?;
    let result = (|| -> Result<fs::File> {
        let mut w = ArchiveWriter::new(BufWriter::with_capacity(1 << 20, file), opts, OsRng)?;
        for (module, desc, vectors) in renderer.modules() {
            w.add_decoder(module, desc.clone(), vectors)?;
        }
        let mut done = 0;
        pack::pack_plan(&mut plan, &mut w, Some(&mut renderer), |_, size| {
            done += size;
            bar.set_position(done);
        })?;
        if let Some(why) = renderer.host_failure.take() {
            bail!(
                "{why}; no archive is written, since its records would be signed as not \
                 rendered for a reason of this machine (see `ulimit -v`)"
            );
        }
        let out = w.finish()?;
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
        count,
        output::size(total),
        plan.empty_dirs.len(),
        a.output.display(),
        fingerprint
            .map(|f| format!(", signed by {f}"))
            .unwrap_or_else(|| ", unsigned".into())
    );
    Ok(0)
}

/// A new temporary file next to `target`, with a name that says it is
/// incomplete: `.lgn.partial-` and 16 random hex digits, 30 bytes
/// whatever `target` is called, so that it fits wherever the final name
/// fits (a name of 230 to 255 bytes with a suffix would not).
pub(crate) fn temp_beside(target: &Path) -> Result<(PathBuf, fs::File)> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if target.file_name().is_none() {
        bail!("{} is not a file name", target.display());
    }
    for _ in 0..16 {
        let p = dir.join(format!(".lgn.partial-{:016x}", OsRng.next_u64()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(
                    anyhow!(e).context(format!("creating a temporary file in {}", dir.display()))
                )
            }
        }
    }
    bail!("could not create a temporary file in {}", dir.display())
}

/// Moves a finished temporary file to its name; without `force`, never
/// replaces an existing file (a hard link fails if the name exists).
pub(crate) fn place(tmp: &Path, target: &Path, force: bool) -> Result<()> {
    rename_into_place(tmp, target, force)?;
    // The new name must survive a power cut too, not only a killed
    // process: make the folder's entry durable (best effort; not every
    // system can open a folder for syncing).
    if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// [`place`] without making the name durable (the caller syncs a batch).
fn rename_into_place(tmp: &Path, target: &Path, force: bool) -> Result<()> {
    let r = if force {
        fs::rename(tmp, target)
    } else {
        fs::hard_link(tmp, target).and_then(|()| fs::remove_file(tmp))
    };
    if let Err(e) = r {
        let _ = fs::remove_file(tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            bail!("{} exists (use --force to replace it)", target.display());
        }
        return Err(anyhow!(e).context(format!("moving the finished file to {}", target.display())));
    }
    Ok(())
}

fn open(path: &Location) -> Result<Archive> {
    let a = Archive::open(path.source()?).with_context(|| format!("opening archive {path}"))?;
    if a.manifest_recovered() {
        eprintln!(
            "warning: {}: manifest.json is damaged and was put right in memory from its own \
             recovery data; `legation repair {} -o REPAIRED` writes a whole copy",
            path, path
        );
    }
    Ok(a)
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

/// Unlocks for a command that shows content: says who signed and checks
/// the signature (and `--issuer`) before any key is asked for or
/// derived ([`signer`]).
fn unlock_required(path: &Location, a: &Archive, keys: &KeyOpts) -> Result<Unlocked> {
    let pinned = signer(path, a, keys)?;
    let k = keys.keys(true)?;
    if k.is_empty() {
        return Err(anyhow!(legation_reader::Error::KeyNeeded));
    }
    let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
    Ok(a.unlock_signed(&k, pinned.as_ref(), &mut consent)?)
}

/// Checks who signed `a` and says so in one line on standard error:
/// the issuer's fingerprint, pinned (`--issuer`) or not, or that nobody
/// did (SPEC §17.6). A signature that fails, and with `--issuer` any
/// other signer or none, is refused; a damaged `manifest.sig` is said
/// loudly and passes as unsigned. Returns the pinned key.
fn signer(path: &Location, a: &Archive, keys: &KeyOpts) -> Result<Option<[u8; 32]>> {
    let pinned = keys.issuer.as_deref().map(read_issuer_public).transpose()?;
    match a.check_signature(pinned.as_ref()) {
        Ok(Signer::Valid { fingerprint, .. }) if pinned.is_some() => {
            eprintln!("{path}: signed by issuer {fingerprint} (pinned)")
        }
        Ok(Signer::Valid { fingerprint, .. }) => eprintln!(
            "{path}: signed by issuer {fingerprint} (NOT pinned: pass --issuer ISSUER.pub to \
             require this issuer)"
        ),
        Ok(Signer::Unsigned) => eprintln!(
            "{path}: NOT SIGNED: anyone with a recipient's public key could have made this archive"
        ),
        Err(legation_reader::Error::SignatureDamaged { what }) if pinned.is_none() => eprintln!(
            "{path}: SIGNATURE DAMAGED ({}): who made this archive cannot be checked from this \
             copy; anyone could have made it",
            view::sanitize(&what)
        ),
        Err(e) => {
            return Err(anyhow!(e).context(format!("{path}: refusing to read the archive")));
        }
    }
    Ok(pinned)
}

/// Public facts as JSON.
fn public_facts(a: &Archive) -> Result<serde_json::Value> {
    let m = a.manifest();
    let signer = match a.check_signature(None) {
        Ok(Signer::Valid {
            fingerprint,
            public_key,
        }) => {
            json!({"fingerprint": fingerprint, "public_key": legation_format::hex::encode(&public_key)})
        }
        Ok(Signer::Unsigned) => serde_json::Value::Null,
        // Shown, not fatal: the records can still be listed and read.
        Err(e) => json!({"problem": e.to_string()}),
    };
    let records = m
        .entries
        .iter()
        .filter(|e| e.name.starts_with(legation_format::RECORD_PREFIX));
    let (count, bytes) = records.fold((0u64, 0u64), |(c, b), e| (c + 1, b + e.size));
    let slots: Vec<_> = m
        .key_slots
        .iter()
        .map(|s| match s {
            crypto::KeySlot::X25519 { .. } => json!({"type": "x25519"}),
            crypto::KeySlot::Passphrase { params, .. } => json!({"type": "argon2id", "memory_kib": params.memory_kib, "iterations": params.iterations, "parallelism": params.parallelism}),
            crypto::KeySlot::Unknown => json!({"type": "unknown"}),
        })
        .collect();
    let viewer = m
        .entries
        .iter()
        .find(|e| e.name == legation_format::VIEWER_ENTRY)
        .map(|e| json!({"entry": e.name, "bytes": e.size, "blake3": legation_format::hex::encode(&e.blake3)}));
    Ok(json!({
        "archive": a.name(),
        "format_version": m.version,
        "archive_id": legation_format::hex::encode(&m.archive_id),
        "created": m.created,
        "issuer": signer,
        "size": a.len(),
        "entries": a.entries().len(),
        "record_entries": count,
        "record_bytes": bytes,
        "catalog_pages": m.catalog.pages,
        "key_slots": slots,
        "viewer": viewer,
    }))
}

fn print_public(v: &serde_json::Value) {
    println!("archive:        {}", v["archive"].as_str().unwrap_or(""));
    println!(
        "format:         legation {}",
        v["format_version"].as_str().unwrap_or("")
    );
    println!("archive id:     {}", v["archive_id"].as_str().unwrap_or(""));
    println!("created:        {}", v["created"].as_str().unwrap_or(""));
    match (
        v["issuer"]["fingerprint"].as_str(),
        v["issuer"]["problem"].as_str(),
    ) {
        (Some(f), _) => {
            println!("issuer:         {f} (signature valid; pin it with verify --issuer)")
        }
        (None, Some(p)) => println!("issuer:         SIGNATURE NOT CHECKED: {p}"),
        (None, None) => println!("issuer:         none (unsigned archive)"),
    }
    println!(
        "size:           {} ({} bytes)",
        output::size(v["size"].as_u64().unwrap_or(0)),
        v["size"]
    );
    println!(
        "records:        {} encrypted entries, {}",
        v["record_entries"],
        output::size(v["record_bytes"].as_u64().unwrap_or(0))
    );
    println!(
        "container:      {} entries, {} catalog pages",
        v["entries"], v["catalog_pages"]
    );
    if let Some(b) = v["viewer"]["blake3"].as_str() {
        println!(
            "viewer:         {} ({} bytes), BLAKE3 {b} (pinned by the manifest; check a copy before using it)",
            v["viewer"]["entry"].as_str().unwrap_or(""),
            v["viewer"]["bytes"]
        );
    }
    let slots: Vec<String> = v["key_slots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["type"].as_str().unwrap_or("?").to_owned())
        .collect();
    println!("key slots:      {}", slots.join(", "));
}

/// `info ARCHIVE`.
pub fn info(path: &Location) -> Result<u8> {
    let a = open(path)?;
    print_public(&public_facts(&a)?);
    println!();
    println!("{:<22} {:>14}  blake3", "entry", "bytes");
    for (e, m) in a.entries().iter().zip(&a.manifest().entries) {
        println!(
            "{:<22} {:>14}  {}",
            e.name,
            e.size,
            legation_format::hex::encode(&m.blake3)
        );
    }
    // The decoders and the limits recorded in each (SPEC §13.2): what
    // every reader enforces on them.
    println!();
    println!(
        "{:<24} {:<22} {:>14} {:>6} {:>9}  media types",
        "decoder", "name and version", "fuel", "depth", "memory"
    );
    for d in &a.manifest().decoders {
        let memory = format!("{} MiB", u64::from(d.limits.max_memory_pages) * 64 / 1024);
        println!(
            "{:<24} {:<22} {:>14} {:>6} {:>9}  {}",
            d.entry,
            view::sanitize(&format!("{} {}", d.name, d.version)),
            d.limits.fuel,
            d.limits.max_depth,
            memory,
            view::sanitize(&d.media_types.join(", "))
        );
    }
    Ok(0)
}

/// A catalog page as the reader hands it over.
type PageResult = legation_reader::Result<std::sync::Arc<legation_format::catalog::Page>>;

/// `ls ARCHIVE`.
pub fn ls(path: &Location, keys: &KeyOpts, as_json: bool) -> Result<u8> {
    let a = open(path)?;
    let k = keys.keys(false)?;
    // With a key, or an issuer to pin, the signature is checked (and
    // said) before any key is derived; without, the public facts say it.
    let u = if !k.is_empty() || keys.issuer.is_some() {
        let pinned = signer(path, &a, keys)?;
        let mut consent = keyopts::costly_kdf_consent(keys.allow_costly_kdf);
        (!k.is_empty())
            .then(|| a.unlock_signed(&k, pinned.as_ref(), &mut consent))
            .transpose()?
    } else {
        None
    };
    let Some(u) = u else {
        let facts = public_facts(&a)?;
        if as_json {
            println!("{}", output::json(&facts, true));
        } else {
            print_public(&facts);
            eprintln!(
                "(give --identity, --passphrase-file, {} or -p to list the records)",
                keyopts::PASSPHRASE_ENV
            );
        }
        return Ok(0);
    };
    let mut out = BufWriter::new(crate::output::stdout());
    if as_json {
        writeln!(out, "[")?;
    }
    let mut first = true;
    let pages = u.index().pages.len();
    let mut failed = None;
    let mut list_page = |page: PageResult| -> Result<()> {
        for r in &page?.records {
            if as_json {
                let v = json!({
                    "path": r.path, "title": r.title, "media_type": r.media_type, "size": r.size,
                    "blake3": legation_format::hex::encode(&r.blake3), "modified": r.modified, "metadata": r.metadata,
                });
                let v = output::json(&v, false);
                writeln!(out, "{}{v}", if first { "  " } else { ", " })?;
            } else {
                // Every field comes from the catalog: all of it cleaned.
                let line = format!(
                    "{:>12}  {:<26}  {:<20}  {}",
                    r.size,
                    r.media_type,
                    r.modified.as_deref().unwrap_or("-"),
                    r.path
                );
                writeln!(out, "{}", view::sanitize(&line))?;
            }
            first = false;
        }
        Ok(())
    };
    // Pages are listed as they are decoded: memory holds two at most.
    u.for_each_page(0..pages, &mut |_, page| match list_page(page) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if as_json {
        writeln!(out, "]")?;
    } else {
        for d in &u.index().empty_dirs {
            writeln!(
                out,
                "{:>12}  {:<26}  {:<20}  {}/",
                "-",
                "folder (empty)",
                "-",
                view::sanitize(d)
            )?;
        }
    }
    out.flush()?;
    Ok(0)
}

/// What `verify` is asked to do.
pub struct VerifyArgs<'a> {
    /// The archives.
    pub archives: &'a [Location],
    /// The issuer to pin.
    pub issuer: Option<&'a Path>,
    /// Keys for the content and render levels.
    pub keys: &'a KeyOpts,
    /// The level asked for.
    pub level: Option<&'a str>,
    /// Check this many entries, drawn at random, instead of all.
    pub sample: Option<u64>,
    /// The seed of the draw (default: from the operating system).
    pub seed: Option<u64>,
    /// One JSON object a line.
    pub json: bool,
}

/// `verify ARCHIVE...`: each archive in turn; the exit code is the worst.
pub fn verify(v: &VerifyArgs<'_>) -> Result<u8> {
    let pinned = v
        .issuer
        .or(v.keys.issuer.as_deref())
        .map(read_issuer_public)
        .transpose()?;
    if v.sample.is_some() && matches!(v.level, Some("content" | "render")) {
        bail!("--sample audits fixity only (a keyless check of some entries); drop --level or --sample");
    }
    let mut worst = 0;
    for (i, loc) in v.archives.iter().enumerate() {
        if !v.json && v.archives.len() > 1 {
            if i > 0 {
                println!();
            }
            println!("== {loc}");
        }
        let code = match verify_one(loc, pinned.as_ref(), v) {
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
        println!(
            "{} archive(s) checked: {}",
            v.archives.len(),
            if worst == 0 { "all OK" } else { "NOT all OK" }
        );
    }
    Ok(worst)
}

/// The more serious of two exit codes: damage or forgery (1) before a
/// key problem (3) before an input or I/O error (2).
fn worst_code(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        1 => 3,
        3 => 2,
        2 => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn verify_one(path: &Location, pinned: Option<&[u8; 32]>, v: &VerifyArgs<'_>) -> Result<u8> {
    let a = open(path)?;
    let u = match (v.level, v.sample) {
        (Some("fixity"), _) | (_, Some(_)) => None,
        _ => unlock(&a, v.keys, false)?,
    };
    if u.is_none() && matches!(v.level, Some("content" | "render")) {
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
        (Some(u), None) if v.level == Some("content") => u.verify_content(pinned, &mut progress),
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
        print_report(&report, u.is_none(), a.manifest().entries.len() as u64);
    }
    Ok(match report.worst() {
        None => 0,
        Some(legation_reader::ErrorKind::Forged | legation_reader::ErrorKind::Damaged) => 1,
        Some(_) => 2,
    })
}

/// Reads an issuer public key file (`NAME.pub`) to pin.
pub(crate) fn read_issuer_public(p: &Path) -> Result<[u8; 32]> {
    let text = keyopts::read_key_text(p, "issuer", false)?;
    Ok(*keys::parse_key_file(
        &text,
        keys::ISSUER_PUBLIC,
        &p.display().to_string(),
    )?)
}

/// The sample line of `verify --sample`: what was checked, and what the
/// draw can tell about the entries it was drawn from (nothing, for a
/// sample of none).
fn print_sample(s: &legation_reader::verify::Sample, drawn_from: u64) {
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
            format!("{:?}", p.level).to_lowercase(),
            view::sanitize(&p.message)
        );
    }
    if r.problems
        .iter()
        .any(|p| p.level == legation_reader::Level::Fixity && p.kind == ErrorKind::Damaged)
    {
        println!(
            "repair:   `legation repair ARCHIVE -o REPAIRED` puts right the manifest, the catalog, \
             headers and the directory from the archive's own recovery data; other entries need \
             --from ANOTHER_COPY"
        );
    }
    match &r.signer {
        Some(f) if r.pinned => println!("signer:   {f} (pinned)"),
        Some(f) => {
            println!("signer:   {f} (NOT pinned: pass --issuer ISSUER.pub to require this issuer)")
        }
        None if r
            .problems
            .iter()
            .any(|p| p.subject == legation_format::SIGNATURE_ENTRY) =>
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
        verdict(count(legation_reader::Level::Fixity)),
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
            verdict(count(legation_reader::Level::Content)),
            r.records_checked,
            output::size(r.record_bytes_checked)
        );
    }
    if keyless {
        println!("render:   not checked (needs a key)");
    } else if r.level == legation_reader::Level::Content {
        println!("render:   not checked (--level content)");
    } else {
        println!(
            "render:   {}: {} views re-rendered and identical to packing, {} records packed without a view",
            verdict(count(legation_reader::Level::Render)),
            r.records_rendered,
            r.not_rendered.len()
        );
        for (path, why) in &r.not_rendered {
            // The reason usually names the record already.
            let why = why.strip_prefix(&format!("{path}: ")).unwrap_or(why);
            println!(
                "          not rendered: {}: {}",
                view::sanitize(path),
                view::sanitize(why)
            );
        }
    }
    if r.cancelled {
        println!("cancelled before the end");
    }
}

/// `cat ARCHIVE RECORD`.
pub fn cat(path: &Location, record: &str, keys: &KeyOpts) -> Result<u8> {
    let a = open(path)?;
    let u = unlock_required(path, &a, keys)?;
    let rec = u.find(record)?;
    let mut stdout = crate::output::stdout();
    if rec.size <= CAT_WHOLE_MAX {
        let bytes = u.read_record(&rec, CAT_WHOLE_MAX)?;
        stdout.write_all(&bytes)?;
        stdout.flush()?;
        return Ok(0);
    }
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    if let Err(e) = u.copy_record(&rec, &mut out, &mut |_| {}) {
        // What is still buffered is dropped, not written.
        let _ = out.into_parts();
        return Err(e.into());
    }
    out.flush()?;
    Ok(0)
}

/// Records up to this size are read whole and checked (every chunk's
/// tag, the size, the BLAKE3) by `cat` before a byte of them is written.
/// Larger ones are streamed, each chunk written once its tag is checked,
/// and the record's BLAKE3 checked at the end: a non-zero exit then means
/// the output must be discarded.
const CAT_WHOLE_MAX: u64 = 16 << 20;

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

/// Records written to temporary files and waiting for their names. The
/// batch's data is made durable by one sync before any of them takes its
/// name, and the names by one more after, so that a name never points at
/// data a power cut could lose, at two syncs a batch instead of two a
/// record (which cost about 4 ms a record on a disk).
#[derive(Default)]
struct Pending {
    /// Temporary file, final name, record path.
    files: Vec<(PathBuf, PathBuf, String)>,
    bytes: u64,
}

/// Records, or bytes, a batch of [`Pending`] holds at most.
const PENDING_FILES: usize = 4096;
const PENDING_BYTES: u64 = 256 << 20;

impl Pending {
    fn full(&self) -> bool {
        self.files.len() >= PENDING_FILES || self.bytes >= PENDING_BYTES
    }

    /// Syncs the batch's data, gives each file its name, and syncs the
    /// names. A sync that fails fails the whole batch (its files are
    /// removed); a name that cannot be given fails its record alone.
    fn place_all(&mut self, dir: &Path, force: bool) -> Result<Vec<(String, anyhow::Error)>> {
        let files = std::mem::take(&mut self.files);
        self.bytes = 0;
        if files.is_empty() {
            return Ok(Vec::new());
        }
        if let Err(e) = sync_files(dir, files.iter().map(|(t, _, _)| t.as_path())) {
            for (tmp, _, _) in &files {
                let _ = fs::remove_file(tmp);
            }
            return Err(e.context(format!(
                "making the extracted files durable in {}",
                dir.display()
            )));
        }
        let mut failed = Vec::new();
        let mut placed = Vec::new();
        for (tmp, target, record) in files {
            match rename_into_place(&tmp, &target, force) {
                Ok(()) => placed.push(target),
                Err(e) => failed.push((record, e)),
            }
        }
        let folders: std::collections::BTreeSet<&Path> =
            placed.iter().filter_map(|t| t.parent()).collect();
        sync_folders(dir, folders.into_iter());
        Ok(failed)
    }
}

/// Syncs the whole file system holding `dir` in one call (`syncfs`),
/// where the system has it; false where it has not or the call failed.
fn sync_file_system(dir: &Path) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(d) = fs::File::open(dir) {
        return rustix::fs::syncfs(&d).is_ok();
    }
    let _ = dir;
    false
}

/// Makes the data of `files`, all below `dir`, durable: one sync of the
/// file system holding `dir` where the system has it, else each file.
fn sync_files<'a>(dir: &Path, files: impl Iterator<Item = &'a Path>) -> Result<()> {
    if sync_file_system(dir) {
        return Ok(());
    }
    for f in files {
        fs::File::open(f)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("syncing {}", f.display()))?;
    }
    Ok(())
}

/// Makes the names in `folders`, all below `dir`, durable (best effort
/// where a folder cannot be opened for syncing).
fn sync_folders<'a>(dir: &Path, folders: impl Iterator<Item = &'a Path>) {
    if sync_file_system(dir) {
        return;
    }
    for f in folders {
        if let Ok(d) = fs::File::open(f) {
            let _ = d.sync_all();
        }
    }
}

/// `spec [ARCHIVE]`: an archive's copy only after its signature (and
/// `--issuer`) is checked and said, and its entry against the manifest.
pub fn spec(archive: Option<&Location>, issuer: Option<&Path>) -> Result<u8> {
    let text = match archive {
        Some(p) => {
            let a = open(p)?;
            let keys = KeyOpts {
                issuer: issuer.map(Path::to_path_buf),
                ..KeyOpts::default()
            };
            signer(p, &a, &keys)?;
            let bytes = a.read_entry(legation_format::SPEC_ENTRY, 16 << 20)?;
            String::from_utf8(bytes).map_err(|_| anyhow!("{p}: SPEC.md is not UTF-8"))?
        }
        None if issuer.is_some() => bail!("--issuer needs an archive"),
        None => legation_format::SPEC_MD.to_owned(),
    };
    print!("{text}");
    Ok(0)
}

/// The record to render, unlocked, with a decoder host.
fn to_render(
    path: &Location,
    record: &str,
    keys: &KeyOpts,
) -> Result<(
    Unlocked,
    legation_format::catalog::CatalogRecord,
    legation_reader::decode::Host,
)> {
    let a = open(path)?;
    let u = unlock_required(path, &a, keys)?;
    let rec = u.find(record)?;
    let host = crate::decoders::host()?;
    Ok((u, rec, host))
}

/// Says on standard error how a view compares with the one recorded at
/// packing; `Ok(1)` if it differs.
fn compare_with_packing(rec: &legation_format::catalog::CatalogRecord, hash: &[u8; 32]) -> u8 {
    let record = view::sanitize(&rec.path);
    match &rec.render {
        Some(legation_format::catalog::Render::Rendered { blake3, .. }) if blake3 != hash => {
            eprintln!("warning: {record}: this view differs from the one recorded at packing (run legation verify)");
            1
        }
        Some(legation_format::catalog::Render::Rendered { .. }) => {
            eprintln!("{record}: view identical to the one recorded at packing");
            0
        }
        _ => {
            eprintln!("{record}: no view was recorded at packing");
            0
        }
    }
}

/// `view ARCHIVE RECORD`: the record's view, printed a page at a time as
/// each is decoded. A record its decoder cannot show is shown by its
/// facts and first bytes instead; exit 1 if it was rendered at packing
/// (its view then differs from the recorded one), else 0.
pub fn view(path: &Location, record: &str, keys: &KeyOpts) -> Result<u8> {
    let (u, rec, host) = to_render(path, record, keys)?;
    let limits = host.limits().view.clone();
    let mut out = output::stdout();
    let mut pages = 0usize;
    let mut failed: Option<anyhow::Error> = None;
    let rendered = u.render_record_with(&host, &rec, &mut |n, cbor| {
        if failed.is_some() {
            return;
        }
        let shown = legation_view::Document::from_cbor(cbor, &limits)
            .map_err(|e| anyhow!("{}: {e}", rec.path))
            .and_then(|doc| {
                if n == 0 {
                    pages = legation_reader::decode::page_count(cbor, &limits) as usize;
                }
                out.write_all(view::document_text(n as usize, pages, &doc).as_bytes())?;
                Ok(())
            });
        if let Err(e) = shown {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    match rendered {
        Ok(r) => Ok(compare_with_packing(&rec, &r.hash())),
        Err(legation_reader::decode::RenderError::Archive(e)) => Err(e.into()),
        // The machine could not run the decoder: not concluded (exit 2),
        // never shown as a record its decoder cannot show.
        Err(legation_reader::decode::RenderError::Decode(d)) if d.is_host_failure() => {
            Err(anyhow!(view::sanitize(&d.to_string())))
        }
        Err(e) => {
            show_unrendered(path, &u, &rec, &e.to_string(), &mut out)?;
            Ok(u8::from(matches!(
                rec.render,
                Some(legation_format::catalog::Render::Rendered { .. })
            )))
        }
    }
}

/// Bytes of a record shown when its decoder cannot show it.
const RAW_PREVIEW: u64 = 256;

/// A record that cannot be rendered, shown by its facts, the reason and
/// its first bytes: the document `render` writes as HTML, in the terminal.
fn show_unrendered(
    path: &Location,
    u: &Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    why: &str,
    out: &mut dyn Write,
) -> Result<()> {
    let first = u.read_range(rec, 0, RAW_PREVIEW.min(rec.size))?;
    let mut doc = legation_viewer::html::unrendered_document(rec, why, &first);
    let facts = legation_viewer::html::record_facts(&path.to_string(), u, rec);
    doc.blocks
        .insert(0, legation_view::Block::Fields { items: facts });
    out.write_all(view::document_text(0, 0, &doc).as_bytes())?;
    Ok(())
}

/// `render ARCHIVE RECORD -o FILE.html`: written a page of the record at
/// a time, as each is decoded.
pub fn render(
    path: &Location,
    record: &str,
    out: &Path,
    keys: &KeyOpts,
    force: bool,
) -> Result<u8> {
    if !force && fs::symlink_metadata(out).is_ok() {
        bail!("{} exists (use --force to replace it)", out.display());
    }
    let (u, rec, host) = to_render(path, record, keys)?;
    let facts = legation_viewer::html::record_facts(&path.to_string(), &u, &rec);
    let mut unrendered = None;
    let rendered = write_beside(out, |w| {
        match legation_viewer::html::write_record_html(&u, &host, &rec, &facts, w) {
            Ok(r) => Ok(r),
            Err(legation_viewer::html::HtmlError::NotRendered(why)) => {
                unrendered = Some(why);
                Err(anyhow!("not rendered"))
            }
            Err(e) => Err(anyhow!(view::sanitize(&e.to_string()))),
        }
    });
    let (tmp, (hash, n)) = match (rendered, unrendered) {
        (Ok(done), _) => done,
        // A record its decoder cannot show is written by its facts, the
        // reason and its first bytes, as `view` shows it.
        (Err(_), Some(why)) => {
            let first = u.read_range(&rec, 0, RAW_PREVIEW.min(rec.size))?;
            let html = legation_viewer::html::unrendered_html(&rec, &why, &first, &facts);
            let (tmp, n) = write_beside(out, |w| {
                w.write_all(html.as_bytes())?;
                Ok(html.len())
            })?;
            place(&tmp, out, force)?;
            eprintln!(
                "{}: not rendered: {}; wrote its facts and first bytes to {} ({n} bytes)",
                view::sanitize(&rec.path),
                view::sanitize(&why),
                out.display()
            );
            return Ok(u8::from(matches!(
                rec.render,
                Some(legation_format::catalog::Render::Rendered { .. })
            )));
        }
        (Err(e), None) => return Err(e),
    };
    place(&tmp, out, force)?;
    eprintln!("wrote {} ({n} bytes)", out.display());
    Ok(compare_with_packing(&rec, &hash))
}

/// Writes a temporary file beside `out` with `what` and syncs it; returns
/// its path for [`place`], or removes it if anything failed.
fn write_beside<T>(
    out: &Path,
    what: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<(PathBuf, T)> {
    let (tmp, f) = temp_beside(out)?;
    let mut w = BufWriter::new(f);
    let written = what(&mut w).and_then(|r| {
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(r)
    });
    match written {
        Ok(r) => Ok((tmp, r)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e.context(format!("writing {}", out.display())))
        }
    }
}

/// `open [ARCHIVE]`: the desktop viewer.
pub fn open_viewer(archive: Option<PathBuf>, keys: &KeyOpts) -> Result<u8> {
    if keys.issuer.is_some() {
        // The window checks and shows the signer; a pinned issuer is
        // checked here, before it opens.
        let Some(p) = &archive else {
            bail!("--issuer needs an archive");
        };
        let loc: Location = p
            .to_str()
            .ok_or_else(|| anyhow!("{}: not a UTF-8 path", p.display()))?
            .parse()
            .map_err(|e: String| anyhow!(e))?;
        signer(&loc, &open(&loc)?, keys)?;
    }
    let keys = keys.keys(false)?;
    legation_viewer::run_native(archive, keys, Some(crate::location::open_for_viewer))
        .map_err(|e| anyhow!(e))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "legation-cmd-{name}-{}-{:x}",
            std::process::id(),
            OsRng.next_u64()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn secret_files_are_owner_only_from_the_start_even_when_forced() {
        let d = tmp("keyfile");
        let k = d.join("k.key");
        write_new_file(&k, b"secret one", true, false).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&k), 0o600);
        assert!(write_new_file(&k, b"x", true, false)
            .unwrap_err()
            .to_string()
            .contains("exists"));
        #[cfg(unix)]
        {
            use std::io::Read;
            use std::os::unix::fs::PermissionsExt;
            // An existing world-readable file that someone holds open.
            fs::set_permissions(&k, fs::Permissions::from_mode(0o644)).unwrap();
            let mut held = fs::File::open(&k).unwrap();
            write_new_file(&k, b"secret two", true, true).unwrap();
            assert_eq!(mode(&k), 0o600);
            assert_eq!(fs::read(&k).unwrap(), b"secret two");
            let mut seen = Vec::new();
            held.read_to_end(&mut seen).unwrap();
            assert_eq!(seen, b"secret one", "the old descriptor sees the old file");
            // A symbolic link in its place is replaced, its target untouched.
            let target = d.join("elsewhere");
            fs::write(&target, b"not a key").unwrap();
            fs::remove_file(&k).unwrap();
            std::os::unix::fs::symlink(&target, &k).unwrap();
            write_new_file(&k, b"secret three", true, true).unwrap();
            assert_eq!(fs::read(&target).unwrap(), b"not a key");
            assert_eq!(mode(&k), 0o600);
            assert_eq!(fs::read(&k).unwrap(), b"secret three");
        }
        // Nothing but the files written is left behind.
        let mut names: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        fs::remove_dir_all(&d).unwrap();
    }
}

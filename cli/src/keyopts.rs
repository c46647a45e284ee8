//! The key options every command that opens an archive shares.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use legation_format::keys::{self, Identity};
use legation_reader::Key;
use zeroize::Zeroizing;

/// Environment variable holding a passphrase.
pub const PASSPHRASE_ENV: &str = "LEGATION_PASSPHRASE";

/// Ways to give a key.
#[derive(clap::Args, Debug, Default)]
pub struct KeyOpts {
    /// Recipient secret key file (`NAME.key`); repeatable.
    #[arg(long = "identity", short = 'i', value_name = "FILE.key")]
    pub identities: Vec<PathBuf>,
    /// A quorum holder's share (`legation share`, SPEC §7.9); repeatable:
    /// K shares open a quorum slot.
    #[arg(long = "share", value_name = "FILE.share")]
    pub shares: Vec<PathBuf>,
    /// File whose first line is the passphrase.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Ask for a passphrase on the terminal even where a key is optional.
    #[arg(long, short = 'p')]
    pub ask_passphrase: bool,
    /// The issuer public key the archive's signature must come from;
    /// anything else (another signer, no signature) is refused.
    #[arg(long, value_name = "ISSUER.pub")]
    pub issuer: Option<PathBuf>,
    /// Derive more than one passphrase slot that costs more than the
    /// default Argon2id (256 MiB, 3 passes) without asking (SPEC §7.7).
    #[arg(long)]
    pub allow_costly_kdf: bool,
}

impl KeyOpts {
    /// Collects the keys given. With `prompt`, asks on the terminal when
    /// nothing else was given.
    pub fn keys(&self, prompt: bool) -> Result<Vec<Key>> {
        let mut out = Vec::new();
        for p in &self.identities {
            out.push(read_identity_key(p)?);
        }
        for p in &self.shares {
            let text = read_key_text(p, "share", true)?;
            let share = legation_format::quorum::Share::from_file(&text, &p.display().to_string())?;
            out.push(Key::Share(share));
        }
        if let Some(p) = passphrase_from_file_or_env(self.passphrase_file.as_deref())? {
            out.push(Key::Passphrase(p));
        }
        if self.ask_passphrase || (prompt && out.is_empty() && std::io::stdin().is_terminal()) {
            out.push(Key::Passphrase(ask("Passphrase: ")?));
        }
        Ok(out)
    }
}

/// Whether to derive another passphrase slot above the default cost
/// (`slot`, `params`): yes with `--allow-costly-kdf`, else asked on the
/// terminal, else no.
pub fn costly_kdf_consent(
    allow: bool,
) -> impl FnMut(usize, &legation_format::crypto::Argon2Params) -> bool {
    move |slot, p| {
        if allow {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            return false;
        }
        eprint!(
            "Key slot {slot} asks for Argon2id of {} MiB x {} passes, more than the default, \
             and one such slot was tried already. Derive it? [y/N] ",
            p.memory_kib / 1024,
            p.iterations
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes")
    }
}

/// Reads an identity file.
pub fn read_identity(p: &Path) -> Result<Identity> {
    let text = read_key_text(p, "identity", true)?;
    let k = keys::parse_key_file(&text, keys::RECIPIENT_SECRET, &p.display().to_string())?;
    Ok(Identity::from(k))
}

/// Reads an identity file of either kind: an X25519 one, or a
/// post-quantum one (`keygen recipient --pq`, SPEC §7.11).
pub fn read_identity_key(p: &Path) -> Result<Key> {
    let text = read_key_text(p, "identity", true)?;
    let name = p.display().to_string();
    if keys::key_file_tag(&text) == Some(legation_format::pq::RECIPIENT_SECRET) {
        return Ok(Key::PqIdentity(
            legation_format::pq::PqIdentity::from_key_file(&text, &name)?,
        ));
    }
    let k = keys::parse_key_file(&text, keys::RECIPIENT_SECRET, &name)?;
    Ok(Key::Identity(Identity::from(k)))
}

/// Reads an issuer public key file (`NAME.pub`) to pin: the 32 bytes the
/// reader compares, an Ed25519 key or a hybrid key's id (SPEC §27.4: its
/// pin needs both signatures).
pub fn read_issuer_public(p: &Path) -> Result<[u8; 32]> {
    let text = read_key_text(p, "issuer", false)?;
    let key = legation_format::pqsig::IssuerPublic::from_key_file(&text, &p.display().to_string())?;
    Ok(key.pin())
}

/// The most a key or passphrase file may hold: a key file is a few
/// hundred bytes, a passphrase a line.
pub const KEY_FILE_MAX: u64 = 64 * 1024;

/// Reads the X25519 public keys of a new archive's recipients.
pub fn read_recipients(files: &[PathBuf]) -> Result<Vec<[u8; 32]>> {
    let mut recipients = Vec::new();
    for r in files {
        let text = read_key_text(r, "recipient", false)?;
        recipients.push(*keys::parse_key_file(
            &text,
            keys::RECIPIENT_PUBLIC,
            &r.display().to_string(),
        )?);
    }
    Ok(recipients)
}

/// Reads a new archive's recipients of either kind: X25519 public keys,
/// and post-quantum ones (`keygen recipient --pq`, SPEC §7.11), each
/// known by its key file's tag.
pub fn read_all_recipients(
    files: &[PathBuf],
) -> Result<(Vec<[u8; 32]>, Vec<legation_format::pq::PqRecipient>)> {
    let (mut x25519, mut pq) = (Vec::new(), Vec::new());
    for r in files {
        let text = read_key_text(r, "recipient", false)?;
        let name = r.display().to_string();
        if keys::key_file_tag(&text) == Some(legation_format::pq::RECIPIENT_PUBLIC) {
            pq.push(legation_format::pq::PqRecipient::from_key_file(
                &text, &name,
            )?);
        } else {
            x25519.push(*keys::parse_key_file(&text, keys::RECIPIENT_PUBLIC, &name)?);
        }
    }
    Ok((x25519, pq))
}

/// Reads the issuer's signing key for a new archive.
pub fn read_issuer_secret(p: &Path) -> Result<keys::IssuerKey> {
    let text = read_key_text(p, "issuer key", true)?;
    Ok(keys::IssuerKey::from_key_file(
        &text,
        &p.display().to_string(),
    )?)
}

/// A new archive's creation time: `SOURCE_DATE_EPOCH` when set (for
/// reproducible archives), else now.
pub fn creation_time() -> Result<i64> {
    Ok(match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s
            .parse()
            .context("SOURCE_DATE_EPOCH is not a number of seconds")?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    })
}

/// Reads a key or passphrase file (`what` names its kind in errors) as
/// UTF-8 text, without one leading UTF-8 byte order mark (Windows
/// editors write one; it is no part of a key or passphrase). At most
/// [`KEY_FILE_MAX`] bytes are read, so a larger file, or a device that
/// never ends, is refused at once; UTF-16 and anything else that is not
/// UTF-8 is refused naming the file. A `secret` file that others may
/// read is used with a warning (on Unix).
pub fn read_key_text(p: &Path, what: &str, secret: bool) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let f = std::fs::File::open(p).with_context(|| format!("reading {what} {}", p.display()))?;
    if secret {
        warn_if_others_can_read(&f, p, what);
    }
    // Sized up front so that reading never reallocates and leaves no
    // unwiped copy of a secret behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_FILE_MAX as usize + 1));
    f.take(KEY_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what} {}", p.display()))?;
    if bytes.len() as u64 > KEY_FILE_MAX {
        bail!(
            "{what} {}: larger than 64 KiB, so not a key or passphrase file",
            p.display()
        );
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        bail!(
            "{what} {}: UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8",
            p.display()
        );
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes[..]);
    let text = std::str::from_utf8(body).map_err(|e| {
        anyhow::anyhow!(
            "{what} {}: not UTF-8 text (byte {} is not UTF-8); save it as UTF-8",
            p.display(),
            e.valid_up_to() + bytes.len() - body.len()
        )
    })?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(text);
    Ok(out)
}

/// Warns on standard error when a secret file may be read (or changed)
/// by its group or by others, as ssh and age do. Only warns: whoever
/// runs the command may be root, or the file on a disk without modes.
#[cfg(unix)]
fn warn_if_others_can_read(f: &std::fs::File, p: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = f.metadata() {
        let mode = m.permissions().mode() & 0o777;
        if m.is_file() && mode & 0o077 != 0 {
            eprintln!(
                "legation: warning: {what} {} is open to others (mode {mode:03o}); keep it \
                 owner-only: chmod 600 {}",
                p.display(),
                p.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_: &std::fs::File, _: &Path, _: &str) {}

/// The passphrase from `--passphrase-file` or `LEGATION_PASSPHRASE`.
pub fn passphrase_from_file_or_env(file: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    if let Some(f) = file {
        let text = read_key_text(f, "passphrase file", true)?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            bail!("passphrase file {} is empty", f.display());
        }
        return Ok(Some(Zeroizing::new(line.to_owned())));
    }
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => Ok(Some(Zeroizing::new(p))),
        _ => Ok(None),
    }
}

/// Asks for a passphrase without echo.
pub fn ask(prompt: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("a passphrase is needed but standard input is not a terminal (use --passphrase-file or {PASSPHRASE_ENV})");
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password(prompt).context("reading the passphrase")?,
    ))
}

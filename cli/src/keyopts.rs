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
            out.push(Key::Identity(read_identity(p)?));
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
    let text = Zeroizing::new(
        std::fs::read_to_string(p).with_context(|| format!("reading identity {}", p.display()))?,
    );
    let k = keys::parse_key_file(&text, keys::RECIPIENT_SECRET, &p.display().to_string())?;
    Ok(Identity::from(k))
}

/// The passphrase from `--passphrase-file` or `LEGATION_PASSPHRASE`.
pub fn passphrase_from_file_or_env(file: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    if let Some(f) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading passphrase file {}", f.display()))?,
        );
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

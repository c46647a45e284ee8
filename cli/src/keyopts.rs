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

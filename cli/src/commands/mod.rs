//! The commands, one module each. Each returns its exit code, or an
//! error that `main` prints and maps to one. What several of them share
//! is here: opening an archive, saying who signed it, unlocking it to show
//! its content, and ranking exit codes.

pub mod cat;
pub mod check_proof;
pub mod convert;
pub mod decoder;
pub mod extract;
pub mod generations;
pub mod info;
pub mod issuer;
pub mod keygen;
pub mod ls;
#[cfg(feature = "gui")]
pub mod open;
pub mod pack;
pub mod pack_bag;
pub mod premis;
pub mod prove;
pub mod rekey;
pub mod render;
pub mod share;
pub mod spec;
pub mod verify;
pub mod view;
pub mod witness;

use anyhow::{anyhow, Context, Result};
use legation_reader::{Archive, Signer, Unlocked};

use crate::keyopts::{self, read_issuer_public, KeyOpts};
use crate::location::Location;

/// Opens an archive, warning when its public facts (1.x: the manifest;
/// 2.0: the head, entry table or public.json) had to be put right in
/// memory from its own recovery data.
fn open(path: &Location) -> Result<Archive> {
    let a = Archive::open(path.source()?).with_context(|| format!("opening archive {path}"))?;
    if a.manifest_recovered() {
        let what = if a.is_v2() {
            "its signed head, entry table or public.json is damaged"
        } else {
            "manifest.json is damaged"
        };
        eprintln!(
            "warning: {path}: {what} and was put right in memory from its own recovery data; \
             `legation repair {path} -o REPAIRED` writes a whole copy"
        );
    }
    Ok(a)
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
        Err(
            legation_reader::Error::SignatureDamaged { what }
            | legation_reader::Error::SignaturesDamaged { what },
        ) if pinned.is_none() => eprintln!(
            "{path}: SIGNATURE DAMAGED ({}): who made this archive cannot be checked from this \
             copy; anyone could have made it",
            crate::view::sanitize(&what)
        ),
        Err(e) => {
            return Err(anyhow!(e).context(format!("{path}: refusing to read the archive")));
        }
    }
    Ok(pinned)
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

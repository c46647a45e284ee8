//! `keygen recipient|issuer -o NAME` writes a key pair (the secret key
//! owner-only; `recipient --pq` and `issuer --pq` post-quantum ones);
//! `keygen passphrase` prints a random passphrase.

use std::path::{Path, PathBuf};

use anyhow::Result;
use legation_format::crypto;
use legation_format::keys::{self, Identity, IssuerKey};
use rand_core::OsRng;

use crate::place::write_new_file;

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

/// Writes NAME.key (owner-only) and NAME.pub from their key files'
/// texts, each made from its comment line, and says where, with `note`
/// after the fingerprint.
fn write_pair(
    name: &Path,
    force: bool,
    kind: &str,
    fp: &str,
    secret: impl FnOnce(&str) -> zeroize::Zeroizing<String>,
    public: impl FnOnce(&str) -> String,
    note: &str,
) -> Result<()> {
    let secret_path = with_suffix(name, "key");
    let public_path = with_suffix(name, "pub");
    let text = secret(&format!("Legation {kind} secret key {fp}. Keep it secret."));
    write_new_file(&secret_path, text.as_bytes(), true, force)?;
    let text = public(&format!("Legation {kind} public key {fp}"));
    write_new_file(&public_path, text.as_bytes(), false, force)?;
    eprintln!(
        "wrote {} (secret) and {}; fingerprint {fp}{note}",
        secret_path.display(),
        public_path.display()
    );
    Ok(())
}

/// `keygen recipient --pq -o NAME`: an X-Wing (ML-KEM-768 + X25519) key
/// pair (SPEC §7.11, format 2.1): NAME.key holds the 32-byte seed,
/// NAME.pub the 1216-byte public key.
pub fn keygen_pq(name: &Path, force: bool) -> Result<u8> {
    let identity = legation_format::pq::PqIdentity::generate(&mut OsRng);
    let public = identity.public();
    write_pair(
        name,
        force,
        "post-quantum recipient (ML-KEM-768 + X25519, X-Wing)",
        &public.fingerprint(),
        |c| identity.to_key_file(c),
        |c| public.to_key_file(c),
        "",
    )?;
    println!(
        "{} {}",
        legation_format::pq::RECIPIENT_PUBLIC,
        legation_format::hex::encode(public.as_bytes())
    );
    Ok(0)
}

/// `keygen issuer --pq -o NAME`: a hybrid issuer key pair, Ed25519 and
/// ML-DSA-65 (SPEC §27.4, format 2.2): NAME.key holds both 32-byte seeds,
/// NAME.pub both public keys (32 + 1952 bytes). The fingerprint covers
/// both halves.
pub fn keygen_issuer_pq(name: &Path, force: bool) -> Result<u8> {
    let key = IssuerKey::generate_hybrid(&mut OsRng);
    let public = key.public_key();
    write_pair(
        name,
        force,
        "hybrid issuer (Ed25519 + ML-DSA-65)",
        &public.fingerprint(),
        |c| key.to_key_file(c),
        |c| public.to_key_file(c),
        &format!(" (Ed25519 half {})", crypto::fingerprint(&key.public())),
    )?;
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

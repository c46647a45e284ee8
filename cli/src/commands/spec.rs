//! `spec [ARCHIVE]`: the format specification, the archive's own copy
//! (once its signature is checked) or the one built in.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use super::{open, signer};
use crate::keyopts::KeyOpts;
use crate::location::Location;

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

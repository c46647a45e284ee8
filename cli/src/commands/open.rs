//! `open [ARCHIVE]`: the desktop viewer window (`legation_viewer`), with
//! any keys given tried at once. Nothing else depends on this module, so
//! that the window can be left out of a build.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

use super::{open, signer};
use crate::keyopts::KeyOpts;
use crate::location::Location;

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

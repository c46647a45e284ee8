//! Putting files at their names: a file is written whole under a
//! temporary name beside its final one, made durable, and only then given
//! its name, so that a name never points at a partial file, not after a
//! killed process nor after a power cut; without `--force`, an existing
//! file is never replaced. Used by the commands that write files (pack,
//! extract, render, keygen, repair, pull).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use rand_core::{OsRng, RngCore};

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

/// Writes a temporary file beside `out` with `what` and syncs it; returns
/// its path for [`place`], or removes it if anything failed.
pub(crate) fn write_beside<T>(
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

/// Records written to temporary files and waiting for their names. The
/// batch's data is made durable by one sync before any of them takes its
/// name, and the names by one more after, so that a name never points at
/// data a power cut could lose, at two syncs a batch instead of two a
/// record (which cost about 4 ms a record on a disk).
#[derive(Default)]
pub(crate) struct Pending {
    /// Temporary file, final name, record path.
    pub(crate) files: Vec<(PathBuf, PathBuf, String)>,
    /// Bytes of the records held.
    pub(crate) bytes: u64,
}

/// Records, or bytes, a batch of [`Pending`] holds at most.
const PENDING_FILES: usize = 4096;
const PENDING_BYTES: u64 = 256 << 20;

impl Pending {
    /// Whether the batch holds as much as it may: time to place it.
    pub(crate) fn full(&self) -> bool {
        self.files.len() >= PENDING_FILES || self.bytes >= PENDING_BYTES
    }

    /// Syncs the batch's data, gives each file its name, and syncs the
    /// names. A sync that fails fails the whole batch (its files are
    /// removed); a name that cannot be given fails its record alone.
    pub(crate) fn place_all(
        &mut self,
        dir: &Path,
        force: bool,
    ) -> Result<Vec<(String, anyhow::Error)>> {
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

/// Writes a file that must not exist yet (unless `force`), owner-only when
/// `secret`.
///
/// The file is always a new one, created with mode 0600 when `secret` (on
/// Unix), so it is never readable by others, not even empty. With `force`
/// the new file is written beside `path` under a fresh name and renamed
/// over it: an existing file's looser mode, a descriptor someone already
/// holds open on it, or a symbolic link in its place never see the key.
pub(crate) fn write_new_file(path: &Path, data: &[u8], secret: bool, force: bool) -> Result<()> {
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

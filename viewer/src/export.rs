//! Writing exports: into a temporary file beside the target, renamed into
//! place only when complete, and never replacing a file unless the user
//! said so.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes what `fill` produces to `target`. Without `replace`, an existing
/// `target` is left alone and the export fails. Returns bytes written; on
/// any error nothing is left behind.
pub fn write_new(
    target: &Path,
    replace: bool,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
) -> Result<u64, String> {
    if !replace && std::fs::symlink_metadata(target).is_ok() {
        return Err("the file exists".into());
    }
    let (tmp, file) = temp_beside(target)?;
    let mut out = Counting {
        inner: std::io::BufWriter::new(file),
        n: 0,
    };
    let written = fill(&mut out)
        .and_then(|()| out.inner.flush().map_err(|e| e.to_string()))
        .and_then(|()| out.inner.get_ref().sync_all().map_err(|e| e.to_string()));
    drop(out.inner);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let placed = if replace {
        std::fs::rename(&tmp, target).map_err(|e| e.to_string())
    } else {
        // A hard link fails if the target appeared meanwhile.
        match std::fs::hard_link(&tmp, target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err("the file exists".to_owned())
            }
            Err(_) if std::fs::symlink_metadata(target).is_err() => {
                std::fs::rename(&tmp, target).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    };
    let _ = std::fs::remove_file(&tmp);
    placed.map(|()| out.n)
}

/// Writes `what` of `rec` to `out`: the original bytes (with `progress`
/// told the bytes copied), the one-record proof, or the view as HTML
/// (decoded by the host `host` gives, asked for only then). What the
/// desktop's export job and the browser's reader worker both run.
pub fn write_export<'h>(
    u: &legation_reader::Unlocked,
    rec: &legation_format::catalog::CatalogRecord,
    what: &crate::platform::ExportOf,
    host: impl FnOnce() -> &'h legation_reader::decode::Host,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<(), String> {
    use crate::platform::ExportOf;
    match what {
        ExportOf::Original => u.copy_record(rec, out, progress).map_err(|e| e.to_string()),
        ExportOf::Proof => {
            let proof = u.prove(&rec.path).map_err(|e| e.to_string())?;
            out.write_all(&proof.to_bytes()).map_err(|e| e.to_string())
        }
        ExportOf::Html(facts) => legation_html::write_record_html(u, host(), rec, facts, out)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn temp_beside(target: &Path) -> Result<(PathBuf, std::fs::File), String> {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    for i in 0..100u32 {
        let tmp = dir.join(format!(".{name}.partial-{}-{i}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot write in {}: {e}", dir.display())),
        }
    }
    Err(format!("cannot make a temporary file in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "legation-viewer-export-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn never_replaces_without_being_asked() {
        let d = dir("replace");
        let t = d.join("out.txt");
        std::fs::write(&t, b"old").unwrap();
        let r = write_new(&t, false, &mut |w| {
            w.write_all(b"new").map_err(|e| e.to_string())
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&t).unwrap(), b"old");
        assert_eq!(
            write_new(&t, true, &mut |w| w
                .write_all(b"new")
                .map_err(|e| e.to_string())),
            Ok(3)
        );
        assert_eq!(std::fs::read(&t).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary file left"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_failed_export_leaves_nothing() {
        let d = dir("fail");
        let t = d.join("out.bin");
        let r = write_new(&t, false, &mut |w| {
            w.write_all(b"partial").map_err(|e| e.to_string())?;
            Err("damaged record".into())
        });
        assert_eq!(r, Err("damaged record".into()));
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&d);
    }
}

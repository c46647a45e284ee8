//! Where an archive is read from: a local path or `s3://BUCKET/KEY` on an
//! object store (read by byte ranges, never downloaded whole).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use legation_reader::source::{FileSource, ReadAt};
use legation_remote::{S3Source, Url};

/// An archive's place.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file.
    Local(PathBuf),
    /// An object.
    Remote(Url),
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if Url::is_remote(s) {
            s.parse().map(Location::Remote).map_err(|e| e.to_string())
        } else {
            Ok(Location::Local(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Remote(u) => write!(f, "{u}"),
        }
    }
}

/// Whether to print what remote reads fetched (`--stats`).
static STATS: AtomicBool = AtomicBool::new(false);
/// The remote sources opened, for `--stats`.
static OPENED: Mutex<Vec<Arc<S3Source>>> = Mutex::new(Vec::new());

/// Turns on the traffic report printed by [`print_stats`].
pub fn enable_stats() {
    STATS.store(true, Ordering::Relaxed);
}

/// Whether `--stats` was given.
pub fn stats_enabled() -> bool {
    STATS.load(Ordering::Relaxed)
}

/// Prints, to standard error, the bytes and requests each remote archive
/// took (with `--stats`), and how much of it was fetched a second time:
/// `stats: URL: fetched B bytes of SIZE in R requests; T bytes fetched
/// twice in Q requests`.
pub fn print_stats() {
    if !STATS.load(Ordering::Relaxed) {
        return;
    }
    for s in OPENED.lock().unwrap().iter() {
        let t = s.traffic();
        eprintln!(
            "stats: {}: fetched {} bytes of {} in {} requests; {} bytes fetched twice in {} requests",
            s.name(),
            t.bytes,
            s.len(),
            t.requests,
            t.bytes_twice,
            t.requests_twice
        );
    }
}

impl Location {
    /// The local path, if this is one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            Location::Remote(_) => None,
        }
    }

    /// Opens the archive's bytes for reading.
    pub fn source(&self) -> Result<Arc<dyn ReadAt>> {
        Ok(match self {
            Location::Local(p) => {
                Arc::new(FileSource::open(p).with_context(|| format!("opening {}", p.display()))?)
            }
            Location::Remote(u) => {
                let s = Arc::new(S3Source::open(u)?);
                OPENED.lock().unwrap().push(s.clone());
                s
            }
        })
    }
}

/// Opens a path given to the desktop viewer: `s3://` URLs on the object
/// store, anything else as a file.
#[cfg(feature = "gui")]
pub fn open_for_viewer(path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
    let s = path.to_string_lossy();
    if Url::is_remote(&s) {
        let url: Url = s.parse().map_err(std::io::Error::other)?;
        Ok(Box::new(
            S3Source::open(&url).map_err(std::io::Error::other)?,
        ))
    } else {
        Ok(Box::new(FileSource::open(path)?))
    }
}

//! Whole archives to and from the store: a resumable push, a pull, and a
//! presigned URL for a browser.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use object_store::multipart::{MultipartStore, PartId};
use object_store::signer::Signer;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::{connect, runtime, Error, Result, S3Source, Store, Url};

/// How a push goes.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Bytes per part (S3 wants at least 5 MiB for all but the last).
    pub part_size: u64,
    /// Parts sent at once.
    pub parallel: usize,
    /// Replace an object already at the URL.
    pub replace: bool,
    /// Where the state of an unfinished push is kept (default: beside
    /// the archive, `ARCHIVE.push.json`).
    pub state: Option<PathBuf>,
    /// At most this many bytes a second (a shared or metered link);
    /// `None`: as fast as the link goes.
    pub max_rate: Option<u64>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            part_size: 16 << 20,
            parallel: 4,
            replace: false,
            state: None,
            max_rate: None,
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// The archive's size.
    pub size: u64,
    /// BLAKE3 of the whole file, hex.
    pub blake3: String,
    /// Parts in all.
    pub parts: usize,
    /// Parts an earlier, interrupted push had already sent.
    pub parts_resumed: usize,
    /// Bytes sent by this run.
    pub bytes_sent: u64,
    /// Whether an unfinished push of a different file was abandoned.
    pub restarted: bool,
}

/// The saved state of an unfinished push.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    url: String,
    size: u64,
    blake3: String,
    part_size: u64,
    upload_id: String,
    /// Part number (from 0) -> the store's id for it (ETag).
    done: std::collections::BTreeMap<usize, String>,
}

impl State {
    fn load(path: &Path) -> Result<Option<State>> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                Error::State(format!(
                    "{}: not a push state file ({e}); remove it to start the push over",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path, e)),
        }
    }

    /// Written whole to a temporary file, then renamed over the old one:
    /// a push killed at any moment leaves the old state or the new.
    fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("json.tmp");
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("state serializes"))
            .and_then(|()| f.sync_all())
            .map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn state_path(local: &Path, opts: &PushOptions) -> PathBuf {
    opts.state.clone().unwrap_or_else(|| {
        let mut name = local.file_name().unwrap_or_default().to_owned();
        name.push(".push.json");
        local.with_file_name(name)
    })
}

/// Uploads `local` to `url` by a multipart upload. The state of the
/// upload (its id and the parts sent) is saved after every part, so a run
/// after an interruption sends only what is missing; the object appears
/// on the store only when every part is there. An object already at the
/// URL is replaced only with `opts.replace`.
pub fn push(
    local: &Path,
    url: &Url,
    opts: &PushOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<PushReport> {
    if opts.part_size < 5 << 20 {
        return Err(Error::State("the part size must be at least 5 MiB".into()));
    }
    let store = connect(url)?;
    let file = File::open(local).map_err(|e| io(local, e))?;
    let size = file.metadata().map_err(|e| io(local, e))?.len();
    // SAFETY: read-only and private; the file is hashed first so that a
    // file changed during the push is caught by the audit that follows.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(local, e))?;
    let bytes: &[u8] = &map;
    let mut hasher = blake3::Hasher::new();
    hasher.update_rayon(bytes);
    let blake3 = hasher.finalize().to_hex().to_string();
    let parts = (size.div_ceil(opts.part_size) as usize).max(1);
    let state_file = state_path(local, opts);
    let mut restarted = false;
    let mut state = match State::load(&state_file)? {
        Some(s) if s.url != url.to_string() => {
            return Err(Error::State(format!(
                "{} holds an unfinished push of {} to {}; finish it, or give another --state file",
                state_file.display(),
                local.display(),
                s.url
            )))
        }
        Some(s) if s.size == size && s.blake3 == blake3 && s.part_size == opts.part_size => Some(s),
        Some(s) => {
            // The file changed since the interrupted push: its parts are
            // of no use. Abandon that upload (best effort) and start over.
            let _ = runtime().block_on(store.s3.abort_multipart(&url.path(), &s.upload_id));
            restarted = true;
            None
        }
        None => None,
    };
    if state.is_none() && !opts.replace && store.size(url)?.is_some() {
        return Err(Error::Exists {
            url: url.to_string(),
        });
    }
    let mut resumed = state.as_ref().map_or(0, |s| s.done.len());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let s = match state.take() {
            Some(s) => s,
            None => {
                let id = runtime()
                    .block_on(store.s3.create_multipart(&url.path()))
                    .map_err(|e| Store::err(url, e))?;
                let s = State {
                    url: url.to_string(),
                    size,
                    blake3: blake3.clone(),
                    part_size: opts.part_size,
                    upload_id: id,
                    done: Default::default(),
                };
                s.save(&state_file)?;
                s
            }
        };
        match send_parts(&store, url, bytes, s, parts, opts, &state_file, progress) {
            Ok((s, sent)) => {
                finish(&store, url, &s, parts, size)?;
                let _ = std::fs::remove_file(&state_file);
                return Ok(PushReport {
                    size,
                    blake3,
                    parts,
                    parts_resumed: resumed,
                    bytes_sent: sent,
                    restarted,
                });
            }
            // The store no longer knows the saved upload (it was aborted
            // or expired): start a new one, once.
            Err(Error::Store {
                source: object_store::Error::NotFound { .. },
                ..
            }) if attempt == 1 && resumed > 0 => {
                restarted = true;
                resumed = 0;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends the parts not yet sent, `opts.parallel` at once, saving the state
/// after each.
#[allow(clippy::too_many_arguments)]
fn send_parts(
    store: &Store,
    url: &Url,
    bytes: &[u8],
    state: State,
    parts: usize,
    opts: &PushOptions,
    state_file: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(State, u64)> {
    let size = bytes.len() as u64;
    let todo: Vec<usize> = (0..parts).filter(|p| !state.done.contains_key(p)).collect();
    let part = |p: usize| {
        let start = p as u64 * opts.part_size;
        let end = (start + opts.part_size).min(size);
        &bytes[start as usize..end as usize]
    };
    let done_bytes: u64 = state.done.keys().map(|&p| part(p).len() as u64).sum();
    let upload_id = state.upload_id.clone();
    let state = Mutex::new(state);
    let sent = AtomicU64::new(0);
    let started = std::time::Instant::now();
    // Bytes let through so far, for --max-rate: a part waits until the
    // bytes before it fit the rate.
    let admitted = AtomicU64::new(0);
    progress(done_bytes, size);
    in_parallel(todo.len(), opts.parallel.clamp(1, 16), |k| {
        let p = todo[k];
        let data = part(p);
        if let Some(rate) = opts.max_rate.filter(|&r| r > 0) {
            let before = admitted.fetch_add(data.len() as u64, Ordering::Relaxed);
            let due = Duration::from_secs_f64(before as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let id = runtime()
            .block_on(
                store
                    .s3
                    .put_part(&url.path(), &upload_id, p, data.to_vec().into()),
            )
            .map_err(|e| Store::err(url, e))?;
        {
            let mut s = state.lock().unwrap();
            s.done.insert(p, id.content_id);
            s.save(state_file)?;
        }
        let n = sent.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
        progress(done_bytes + n, size);
        Ok(())
    })?;
    Ok((state.into_inner().unwrap(), sent.into_inner()))
}

/// Completes the upload. A push killed after completing but before
/// removing its state finds the upload gone and the object there.
fn finish(store: &Store, url: &Url, s: &State, parts: usize, size: u64) -> Result<()> {
    let ids: Vec<PartId> = (0..parts)
        .map(|p| PartId {
            content_id: s.done[&p].clone(),
        })
        .collect();
    match runtime().block_on(store.s3.complete_multipart(&url.path(), &s.upload_id, ids)) {
        Ok(_) => Ok(()),
        Err(object_store::Error::NotFound { .. }) if store.size(url)? == Some(size) => Ok(()),
        Err(e) => Err(Store::err(url, e)),
    }
}

/// Runs `job(0..jobs)` on `threads` threads, each job once; after the
/// first error no job starts, and that error is returned.
fn in_parallel(
    jobs: usize,
    threads: usize,
    job: impl Fn(usize) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(jobs) {
            scope.spawn(|| loop {
                if failed.lock().unwrap().is_some() {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    return;
                }
                if let Err(e) = job(i) {
                    failed.lock().unwrap().get_or_insert(e);
                    return;
                }
            });
        }
    });
    match failed.into_inner().unwrap() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Bytes fetched per request by [`pull`].
const PULL_PIECE: u64 = 16 << 20;

/// Downloads the object into `out` (which must be empty), by ranged GETs
/// pinned to the object's ETag, four at once. Returns the size.
pub fn pull(
    url: &Url,
    out: &File,
    out_name: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<u64> {
    use std::os::unix::fs::FileExt;
    let src = S3Source::open_bare(connect(url)?.s3.clone(), url)?;
    let size = legation_reader::source::ReadAt::len(&src);
    out.set_len(size).map_err(|e| io(out_name, e))?;
    let pieces = size.div_ceil(PULL_PIECE) as usize;
    let done = AtomicU64::new(0);
    in_parallel(pieces, 4, |i| {
        let at = i as u64 * PULL_PIECE;
        let len = PULL_PIECE.min(size - at);
        let b = src.get(at, len)?;
        out.write_all_at(&b, at).map_err(|e| io(out_name, e))?;
        progress(done.fetch_add(len, Ordering::Relaxed) + len, size);
        Ok(())
    })?;
    out.sync_all().map_err(|e| io(out_name, e))?;
    Ok(size)
}

/// A URL that lets whoever holds it GET the object (with range requests)
/// until it expires, signed with the configured credentials: what a
/// browser viewer opens.
pub fn presign(url: &Url, expires: Duration) -> Result<String> {
    let store = connect(url)?;
    // Only for an object that exists (the store's own error otherwise).
    runtime()
        .block_on(store.s3.head(&url.path()))
        .map_err(|e| Store::err(url, e))?;
    runtime()
        .block_on(store.s3.signed_url(http::Method::GET, &url.path(), expires))
        .map(|u| u.to_string())
        .map_err(|e| Store::err(url, e))
}

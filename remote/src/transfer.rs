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

use crate::delta::{self, Piece};
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
    /// Bytes this run had the store copy from the object pushed before
    /// (ranges that did not change since, `ARCHIVE.pushed.json`).
    pub bytes_copied: u64,
    /// Why copying on the store was given up for sending everything (a
    /// store without `UploadPartCopy`, the object replaced meanwhile).
    pub copy_refused: Option<String>,
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
    /// The parts (none in a state file of an older `legation`: parts of
    /// `part_size`, all sent).
    #[serde(default)]
    plan: Vec<Piece>,
    /// The ETag of the object the copied parts come from.
    #[serde(default)]
    source_etag: Option<String>,
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
/// URL is replaced only with `opts.replace`; when it is the object an
/// earlier push of this file left there (`ARCHIVE.pushed.json` beside
/// it, with the object's ETag), only the ranges that changed since are
/// sent and the rest is copied on the store (`UploadPartCopy`).
pub fn push(
    local: &Path,
    url: &Url,
    opts: &PushOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<PushReport> {
    if opts.part_size < delta::MIN_PART {
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
    let blocks = delta::block_hashes(bytes);
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
    let head = match state {
        Some(_) => None,
        None => match runtime().block_on(store.s3.head(&url.path())) {
            Ok(m) => Some(m),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(Store::err(url, e)),
        },
    };
    if state.is_none() && !opts.replace && head.is_some() {
        return Err(Error::Exists {
            url: url.to_string(),
        });
    }
    // The object an earlier push of this file left, if it is still there.
    let before = head.and_then(|m| {
        let p = delta::recorded(local, url)?;
        (m.size == p.size && m.e_tag.as_deref() == Some(&p.etag)).then_some(p)
    });
    let mut resumed = state.as_ref().map_or(0, |s| s.done.len());
    let mut copy_refused = None;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let s = match state.take() {
            Some(mut s) => {
                if s.plan.is_empty() {
                    s.plan = delta::plan(size, &[], s.part_size);
                }
                s
            }
            None => {
                let (plan, source_etag) = match (&before, &copy_refused) {
                    (Some(p), None) => (
                        delta::plan(size, &delta::same_blocks(size, &blocks, p), opts.part_size),
                        Some(p.etag.clone()),
                    ),
                    _ => (delta::plan(size, &[], opts.part_size), None),
                };
                if plan.len() > delta::MAX_PARTS {
                    return Err(Error::State(format!(
                        "{} parts, more than the {} a store takes: give a larger part size",
                        plan.len(),
                        delta::MAX_PARTS
                    )));
                }
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
                    plan,
                    source_etag,
                };
                s.save(&state_file)?;
                s
            }
        };
        let upload_id = s.upload_id.clone();
        match send_parts(&store, url, bytes, s, opts, &state_file, progress) {
            Ok((s, sent, copied)) => {
                let etag = finish(&store, url, &s, size)?;
                let _ = std::fs::remove_file(&state_file);
                if let Some(etag) = etag {
                    delta::save(
                        local,
                        delta::Pushed {
                            url: url.to_string(),
                            size,
                            etag,
                            block: delta::BLOCK,
                            hashes: blocks,
                        },
                    )?;
                }
                return Ok(PushReport {
                    size,
                    blake3,
                    parts: s.plan.len(),
                    parts_resumed: resumed,
                    bytes_sent: sent,
                    bytes_copied: copied,
                    restarted,
                    copy_refused,
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
            // The store would not copy (no UploadPartCopy, or the object
            // was replaced meanwhile): send everything, once.
            Err(Error::Copy { message, .. }) if copy_refused.is_none() => {
                let _ = runtime().block_on(store.s3.abort_multipart(&url.path(), &upload_id));
                copy_refused = Some(message);
                restarted = true;
                resumed = 0;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends (or copies on the store) the parts not yet done,
/// `opts.parallel` at once, saving the state after each. Returns the
/// state, the bytes sent and the bytes copied.
fn send_parts(
    store: &Store,
    url: &Url,
    bytes: &[u8],
    state: State,
    opts: &PushOptions,
    state_file: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(State, u64, u64)> {
    let size = bytes.len() as u64;
    let plan = state.plan.clone();
    let todo: Vec<usize> = (0..plan.len())
        .filter(|p| !state.done.contains_key(p))
        .collect();
    let done_bytes: u64 = state.done.keys().map(|&p| plan[p].len()).sum();
    let upload_id = state.upload_id.clone();
    let source_etag = state.source_etag.clone();
    let state = Mutex::new(state);
    let sent = AtomicU64::new(0);
    let copied = AtomicU64::new(0);
    let started = std::time::Instant::now();
    // Bytes let through so far, for --max-rate: a part waits until the
    // bytes before it fit the rate.
    let admitted = AtomicU64::new(0);
    progress(done_bytes, size);
    in_parallel(todo.len(), opts.parallel.clamp(1, 16), |k| {
        let p = todo[k];
        let piece = plan[p];
        let id = if piece.copy {
            let etag = source_etag.as_deref().ok_or_else(|| {
                Error::State(format!(
                    "{}: a copied part but no source ETag",
                    state_file.display()
                ))
            })?;
            let id = delta::copy_part(store, url, &upload_id, p, piece, etag)?;
            copied.fetch_add(piece.len(), Ordering::Relaxed);
            id
        } else {
            let data = &bytes[piece.start as usize..piece.end as usize];
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
            sent.fetch_add(data.len() as u64, Ordering::Relaxed);
            id.content_id
        };
        let n = {
            let mut s = state.lock().unwrap();
            s.done.insert(p, id);
            s.save(state_file)?;
            s.done.keys().map(|&p| plan[p].len()).sum::<u64>()
        };
        progress(n, size);
        Ok(())
    })?;
    Ok((
        state.into_inner().unwrap(),
        sent.into_inner(),
        copied.into_inner(),
    ))
}

/// Completes the upload; returns the new object's ETag when the store
/// gives it. A push killed after completing but before removing its
/// state finds the upload gone and the object there.
fn finish(store: &Store, url: &Url, s: &State, size: u64) -> Result<Option<String>> {
    let ids: Vec<PartId> = (0..s.plan.len())
        .map(|p| PartId {
            content_id: s.done[&p].clone(),
        })
        .collect();
    match runtime().block_on(store.s3.complete_multipart(&url.path(), &s.upload_id, ids)) {
        Ok(r) => Ok(r.e_tag),
        Err(object_store::Error::NotFound { .. }) if store.size(url)? == Some(size) => {
            Ok(runtime()
                .block_on(store.s3.head(&url.path()))
                .ok()
                .and_then(|m| m.e_tag))
        }
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

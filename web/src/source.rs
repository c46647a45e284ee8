//! Archives as random-access sources in a browser: a local file the user
//! chose or dropped, or a URL on any server that answers HTTP range
//! requests. Only the byte ranges the reader asks for are read, never the
//! whole file.
//!
//! Reads are synchronous, as the reader wants. In a worker a local file
//! is read through `FileReaderSync` on a slice of the `File`; the page
//! reads from the blocks the workers hand it (see `crate::offload`), and
//! only what they did not through synchronous XHR range requests on the
//! file's `blob:` URL. URLs use
//! synchronous XHR range requests in both.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;

use js_sys::{Array, Uint8Array};
use legation_reader::source::{fill_exact, read_end, ReadAt};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{File, XmlHttpRequest, XmlHttpRequestResponseType};

use crate::blocks::{Blocks, BEFORE_DIRECTORY, BLOCK, BYPASS, END, TAIL};

/// Where an archive's bytes come from.
#[derive(Clone)]
pub enum Origin {
    /// A local file.
    File {
        /// The file the user chose or dropped.
        file: File,
        /// Its `blob:` URL on the page (unused in workers).
        url: String,
    },
    /// A remote archive read by range requests.
    Url(String),
}

thread_local! {
    /// What each registered source reads from, by key. JavaScript values
    /// cannot leave their thread, so sources hold only a key.
    static ORIGINS: RefCell<HashMap<u32, Origin>> = RefCell::new(HashMap::new());
    /// The cached blocks of each registered source, by key.
    static CACHES: RefCell<HashMap<u32, Blocks>> = RefCell::new(HashMap::new());
}

/// Stores `bytes` at `start` (a block boundary) in source `key`'s cache.
pub fn seed(key: u32, start: u64, bytes: &[u8]) {
    CACHES.with(|c| {
        if let Some(b) = c.borrow_mut().get_mut(&key) {
            b.put(start, bytes, false);
        }
    });
}

/// The blocks of source `key` that every worker needs (the first cached,
/// at most [`crate::blocks::KEPT_MAX`] bytes), as `[offset, bytes, ...]`.
pub fn export_blocks(key: u32) -> Array {
    let out = Array::new();
    CACHES.with(|c| {
        if let Some(b) = c.borrow().get(&key) {
            for (at, bytes) in b.kept() {
                out.push(&JsValue::from_f64(at as f64));
                out.push(&Uint8Array::from(bytes));
            }
        }
    });
    out
}

/// The blocks of source `key` fetched in this thread since the last call
/// (see [`Blocks::take_fresh`]), as `[offset, bytes, ...]`: what the page
/// and the reader's worker hand each other with each message.
pub fn export_fresh(key: u32) -> Array {
    let out = Array::new();
    CACHES.with(|c| {
        if let Some(b) = c.borrow_mut().get_mut(&key) {
            for (at, bytes) in b.take_fresh() {
                out.push(&JsValue::from_f64(at as f64));
                out.push(&Uint8Array::from(bytes));
            }
        }
    });
    out
}

/// Stores blocks of source `key` another thread sent (see
/// [`export_blocks`]); anything else is ignored.
pub fn import_blocks(key: u32, blocks: &JsValue) {
    let Some(a) = blocks.dyn_ref::<Array>() else {
        return;
    };
    for i in (0..a.length()).step_by(2) {
        if let (Some(at), Ok(bytes)) = (a.get(i).as_f64(), a.get(i + 1).dyn_into::<Uint8Array>()) {
            seed(key, at as u64, &bytes.to_vec());
        }
    }
}

/// An archive source registered in this thread.
#[derive(Debug, Clone)]
pub struct WebSource {
    key: u32,
    len: u64,
    name: String,
}

impl WebSource {
    /// Fetches the end of the archive once, in two requests: the last
    /// [`END`] bytes, then from [`BEFORE_DIRECTORY`] before the central
    /// directory to them (the directory and the public entries before it).
    /// Anything amiss is left to the reader, which reads through the cache.
    fn fetch_end(&self, url: &str) {
        let held = |k| CACHES.with(|c| c.borrow().get(&k).is_some_and(Blocks::has_end));
        if held(self.key) {
            return;
        }
        let put = |start: u64, got: &[u8]| {
            CACHES.with(|c| {
                if let Some(b) = c.borrow_mut().get_mut(&self.key) {
                    b.put(start, got, true);
                }
            })
        };
        let start = Blocks::align(self.len.saturating_sub(END));
        let Ok(end) = read_range(url, start, self.len) else {
            return;
        };
        if end.len() as u64 != self.len - start {
            return;
        }
        put(start, &end);
        let last = &end[end
            .len()
            .saturating_sub(legation_format::container::TAIL_LEN)..];
        let Ok(dir) = legation_format::container::parse_end(last, self.len) else {
            return;
        };
        let from = Blocks::align(dir.offset.saturating_sub(BEFORE_DIRECTORY));
        if from < start {
            if let Ok(got) = read_range(url, from, start) {
                if got.len() as u64 == start - from {
                    put(from, &got);
                }
            }
        }
    }

    /// Registers `origin` as source `key` of `len` bytes, named `name`.
    /// Its cache starts empty.
    pub fn register(key: u32, origin: Origin, len: u64, name: String) -> Self {
        ORIGINS.with(|o| o.borrow_mut().insert(key, origin));
        CACHES.with(|c| c.borrow_mut().insert(key, Blocks::new(len)));
        WebSource { key, len, name }
    }

    /// The origin of source `key`, if registered here.
    pub fn origin(key: u32) -> Option<Origin> {
        ORIGINS.with(|o| o.borrow().get(&key).cloned())
    }
}

impl ReadAt for WebSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = read_end(self.len, offset, buf.len()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: read past the end of the archive", self.name),
            )
        })?;
        let origin = Self::origin(self.key).ok_or_else(|| {
            io::Error::other(format!("{}: the archive is no longer open", self.name))
        })?;
        let local = matches!(origin, Origin::File { .. }) && in_worker();
        if !local && buf.len() < BYPASS {
            return self.read_cached(&origin, offset, buf);
        }
        // Large reads (the fixity check asks for 32 MiB at a time) go in
        // pieces, each copied straight into `buf`: JavaScript buffers are
        // freed only when its garbage collector runs, and a few large
        // ones waiting for it are most of a tab's memory.
        if buf.len() > PIECE {
            for (i, part) in buf.chunks_mut(PIECE).enumerate() {
                self.read_exact_at(offset + (i * PIECE) as u64, part)?;
            }
            return Ok(());
        }
        let got = match origin {
            Origin::File { file, url } => {
                if in_worker() {
                    return read_file_slice(&file, offset, buf)
                        .map_err(|e| io::Error::other(format!("{}: {e}", self.name)));
                }
                read_range(&url, offset, end)
            }
            Origin::Url(url) => read_range(&url, offset, end),
        }
        .map_err(|e| io::Error::other(format!("{}: {e}", self.name)))?;
        fill_exact(&self.name, offset, buf, &got)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl WebSource {
    /// Reads through the block cache: each miss is one range request.
    fn read_cached(&self, origin: &Origin, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let url = match origin {
            Origin::File { url, .. } => url,
            Origin::Url(url) => url,
        };
        if offset + buf.len() as u64 + TAIL > self.len && matches!(origin, Origin::Url(_)) {
            self.fetch_end(url);
        }
        let miss = CACHES.with(|c| {
            let mut c = c.borrow_mut();
            let b = c.entry(self.key).or_insert_with(|| Blocks::new(self.len));
            if b.get(offset, buf) {
                None
            } else {
                b.fetch_for(offset, buf.len())
            }
        });
        let Some(r) = miss else { return Ok(()) };
        let got = read_range(url, r.start, r.end)
            .map_err(|e| io::Error::other(format!("{}: {e}", self.name)))?;
        if got.len() as u64 != r.end - r.start {
            return fill_exact(
                &self.name,
                r.start,
                &mut vec![0; (r.end - r.start) as usize],
                &got,
            );
        }
        let served = CACHES.with(|c| {
            let mut c = c.borrow_mut();
            let b = c.entry(self.key).or_insert_with(|| Blocks::new(self.len));
            b.put(r.start, &got, true);
            b.get(offset, buf)
        });
        if served {
            return Ok(());
        }
        // Not kept (cannot happen with the cache's sizes): from the fetch.
        let from = (offset - r.start) as usize;
        fill_exact(
            &self.name,
            offset,
            buf,
            got.get(from..from + buf.len()).unwrap_or(&[]),
        )
    }
}

/// Whether this code runs in a worker (no `window`).
pub fn in_worker() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok()
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Largest piece read at once.
const PIECE: usize = 4 << 20;

/// Fills `buf` from a local file at `start`, in a worker.
fn read_file_slice(file: &File, start: u64, buf: &mut [u8]) -> Result<(), String> {
    let end = start + buf.len() as u64;
    let blob = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(js_err)?;
    let reader = web_sys::FileReaderSync::new().map_err(js_err)?;
    let got = Uint8Array::new(&reader.read_as_array_buffer(&blob).map_err(js_err)?.into());
    if got.length() as usize != buf.len() {
        return Err(format!(
            "asked for {} bytes at {start}, got {} (the file changed?)",
            buf.len(),
            got.length()
        ));
    }
    got.copy_to(buf);
    Ok(())
}

/// Bytes `start..end` of `url` by a synchronous range request. The page's
/// main thread may not ask for an `ArrayBuffer` synchronously, so there
/// the body comes as text with each byte as one character (the
/// `x-user-defined` charset maps bytes 0x80-0xFF to U+F780-U+F7FF).
pub fn read_range(url: &str, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open_with_async("GET", url, false).map_err(js_err)?;
    xhr.set_request_header("Range", &format!("bytes={start}-{}", end - 1))
        .map_err(js_err)?;
    let worker = in_worker();
    if worker {
        xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
    } else {
        xhr.override_mime_type("text/plain; charset=x-user-defined")
            .map_err(js_err)?;
    }
    xhr.send()
        .map_err(|e| format!("cannot read {url}: {}", js_err(e)))?;
    let status = xhr.status().map_err(js_err)?;
    let want = (end - start) as usize;
    let bytes = if worker {
        let body = xhr.response().map_err(js_err)?;
        Uint8Array::new(&body).to_vec()
    } else {
        let text = xhr.response_text().map_err(js_err)?.unwrap_or_default();
        text.encode_utf16().map(|c| c as u8).collect()
    };
    match status {
        206 => Ok(bytes),
        // A server that ignores ranges sends everything: usable only when
        // everything is what was asked for.
        200 if start == 0 && bytes.len() == want => Ok(bytes),
        200 => Err(format!(
            "{url}: the server does not answer range requests (it sent the whole file)"
        )),
        0 => Err(format!(
            "cannot read {url} (network error or blocked by CORS)"
        )),
        s => Err(format!("{url}: the server answered HTTP {s}")),
    }
}

/// The length of a remote archive, from the `Content-Range` of a range
/// request for its first block, with the block's bytes (the whole archive
/// when shorter).
pub fn remote_start(url: &str) -> Result<(u64, Vec<u8>), String> {
    let xhr = XmlHttpRequest::new().map_err(js_err)?;
    xhr.open_with_async("GET", url, false).map_err(js_err)?;
    xhr.set_request_header("Range", &format!("bytes=0-{}", BLOCK - 1))
        .map_err(js_err)?;
    let worker = in_worker();
    if worker {
        xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
    } else {
        xhr.override_mime_type("text/plain; charset=x-user-defined")
            .map_err(js_err)?;
    }
    xhr.send()
        .map_err(|e| format!("cannot read {url}: {}", js_err(e)))?;
    match xhr.status().map_err(js_err)? {
        206 => {
            let len = xhr
                .get_response_header("Content-Range")
                .map_err(js_err)?
                .and_then(|r| r.rsplit('/').next().and_then(|n| n.trim().parse().ok()))
                .ok_or_else(|| format!("{url}: the server gave no usable Content-Range"))?;
            let bytes = if worker {
                Uint8Array::new(&xhr.response().map_err(js_err)?).to_vec()
            } else {
                let text = xhr.response_text().map_err(js_err)?.unwrap_or_default();
                text.encode_utf16().map(|c| c as u8).collect()
            };
            Ok((len, bytes))
        }
        200 => Err(format!(
            "{url}: the server does not answer range requests; download the archive and open the file instead"
        )),
        0 => Err(format!("cannot read {url} (network error or blocked by CORS)")),
        s => Err(format!("{url}: the server answered HTTP {s}")),
    }
}

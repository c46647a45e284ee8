//! Work that must never run on the page's main thread: reading the
//! archive, decoders, key derivation and verification run in Web Workers,
//! each a second instance of this same WebAssembly module (with its own
//! memory: a decoder bug there cannot reach the page's). The page talks to
//! them by messages.
//!
//! Four lanes, each one worker: `verify` (whole-archive checks, which may
//! take minutes), `keys` (deriving the data key from a passphrase or an
//! identity; retired once it answers, with Argon2id's memory), `read` (the
//! reader: it holds the archive, reads what opening it reads (a local
//! file, posted to it, through `FileReaderSync`; a URL's end by range),
//! reads and decrypts catalog pages for the list, looks a record up (by
//! path, or by the 1.x entry holding it), decrypts a record to show and
//! reads its first bytes for the raw view, makes an export's bytes: the
//! original or a proof; a view as HTML with pages is made in the verify
//! worker, which runs decoders beside the key already)
//! and `decode` (running a record's decoder). The page only renders: what
//! it still reads itself (opening, unlocking with the key it is given)
//! comes from memory the workers filled. The decode worker never
//! receives a key: it gets the record's bytes from the page, which got them
//! from the reader, and reads only public entries (the decoder module)
//! itself, so an engine bug there reaches the record shown, not the keys.
//! Render-level verification, which decodes every record after decrypting
//! it, runs decoders in the verify worker, beside the data key. Cancelling
//! a verification, a decoder that does not answer within the watchdog, or
//! a worker that crashes terminates that worker; the lane starts a fresh
//! one for the next request.
//!
//! Messages (plain JavaScript objects):
//! - page to worker: `{id, kind, source: {key, len, name, blocks, fresh?,
//!   file | url}, key?, level?, pinned?, record?, passphrase?, identity?,
//!   page?, path?, max?}` with `kind` one of `verify`, `render`, `unlock`,
//!   `open` (a local file, or a URL: `source` without `len`), `page`, `search` (one window
//!   of pages: `query`, `folder`, `start`, `kept`), `survey`, `find`,
//!   `read`, `raw`, `export` (`record`, `what`: `original`, `proof` or
//!   `html` with `facts`), `entry` (`entry`: the record a 1.x entry holds),
//!   `decode`;
//! - worker to page: `{id, progress: [done, total]}`, then one of
//!   `{id, report}` (JSON), `{id, docs}` (canonical CBOR documents),
//!   `{id, bytes}` (a record, its first bytes or an export), `{id, rows}` (JSON),
//!   `{id, rows, matched, first, pages, next?}` (a search's window),
//!   `{id, folders}` (JSON, a batch of the survey, then `{id, complete}`),
//!   `{id, record}` (JSON), `{id, path}` (the record in an entry), `{id, len, blocks}` (an opened archive),
//!   `{id, key, source, blocks}` (the data key, with what unlocking read)
//!   or `{id, error}`. `blocks` are cached bytes of the archive
//!   (`[offset, bytes, ...]`, see `crate::source`), so that no thread
//!   fetches what another already has; the page and the reader also hand
//!   each other, as `fresh`, the blocks each fetched since its last message.
//!   `kind` `read` (read lane) and `decode` (decode lane, with `bytes`)
//!   are the two halves of showing a record.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use legation_format::catalog::CatalogRecord;
use legation_format::crypto::DataKey;
use legation_format::keys::Identity;
use legation_reader::decode::{DecodeError, Facts, Host, HostLimits, RenderError, Rendered};
use legation_reader::{Archive, Key, Level, Report, Unlocked};
use legation_viewer::catalog::{Folders, Found, Question, Row};
use legation_viewer::jobs::{Completer, Job};
use legation_viewer::platform::RenderedRecord;
use legation_viewer::platform::{ExportOf, Offload, Wake};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

use crate::source::{Origin, WebSource};

fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    // Setting a property of a fresh plain object cannot fail.
    let _ = Reflect::set(o, &JsValue::from_str(k), &v.into());
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn bytes(o: &JsValue, k: &str) -> Option<Vec<u8>> {
    get(o, k).dyn_into::<Uint8Array>().ok().map(|a| a.to_vec())
}

/// Names of the members that carry secret bytes (a data key, an identity).
/// Passphrases travel as JavaScript strings, which cannot be wiped.
const SECRET_MEMBERS: [&str; 3] = ["key", "identity", "pq_identity"];

/// A secret byte array of a received message, copied into memory wiped on
/// drop; the message's own copy is overwritten with zeros.
fn secret_bytes(o: &JsValue, k: &str) -> Option<Zeroizing<Vec<u8>>> {
    let a = get(o, k).dyn_into::<Uint8Array>().ok()?;
    let mut v = Zeroizing::new(vec![0u8; a.length() as usize]);
    a.copy_to(&mut v[..]);
    a.fill(0, 0, a.length());
    Some(v)
}

/// Zeros the secret byte arrays of a message once posted: postMessage has
/// cloned them, and this copy would otherwise wait for the collector.
fn wipe_secrets(o: &JsValue) {
    for k in SECRET_MEMBERS {
        if let Ok(a) = get(o, k).dyn_into::<Uint8Array>() {
            a.fill(0, 0, a.length());
        }
    }
    // Quorum shares, a list of byte arrays.
    if let Ok(list) = get(o, "shares").dyn_into::<Array>() {
        for a in list.iter().filter_map(|a| a.dyn_into::<Uint8Array>().ok()) {
            a.fill(0, 0, a.length());
        }
    }
}

/// The report of a verification that did not run to its end.
fn stopped_report(level: Level, pinned: bool, why: Option<String>) -> Report {
    Report {
        level,
        signer: None,
        pinned,
        entries_checked: 0,
        records_checked: 0,
        bytes_checked: 0,
        record_bytes_checked: 0,
        problems: why
            .map(|message| legation_reader::Problem {
                level,
                subject: "verification".into(),
                message,
                kind: legation_reader::ErrorKind::Io,
            })
            .into_iter()
            .collect(),
        records_rendered: 0,
        not_rendered: Vec::new(),
        cancelled: true,
        sample: None,
    }
}

// ---------------------------------------------------------------------
// The page's side.

enum Pending {
    Verify(Completer<Report>, Level, bool),
    /// The record is being decrypted; then it goes to be decoded.
    Read(Reply, std::path::PathBuf, String),
    Render(Reply),
    Unlock(Completer<Result<DataKey, String>>),
    /// What opening the archive at the path reads, read by the reader.
    Open(Completer<Result<(), String>>, std::path::PathBuf),
    /// A catalog page's rows.
    Rows(Completer<Result<Vec<Row>, String>>),
    /// A catalog record looked up by path.
    Found(Completer<Result<CatalogRecord, String>>),
    /// Bytes a worker made: a record's first bytes, or an export.
    Raw(Completer<Result<Vec<u8>, String>>),
    /// The path of the record a 1.x archive stores in an entry.
    Entry(Completer<Result<String, String>>),
    /// The folder survey; the folders go to the sender as they come.
    Survey(
        Completer<Result<bool, String>>,
        std::sync::mpsc::Sender<Folders>,
    ),
    /// A search, one window of pages a request; the rows go to the sender.
    Search(
        Completer<Result<bool, String>>,
        std::sync::mpsc::Sender<Found>,
        Box<Searching>,
    ),
}

/// Where a search stands between two windows.
struct Searching {
    archive: std::path::PathBuf,
    key: Zeroizing<[u8; 32]>,
    question: Question,
    /// Rows kept so far (at most `catalog::RESULTS_MAX` are).
    kept: usize,
}

impl Searching {
    /// Asks the reader for the window from page `start` (`None`: the
    /// first the question may need).
    fn ask(
        self: Box<Self>,
        done: Completer<Result<bool, String>>,
        tx: std::sync::mpsc::Sender<Found>,
        start: Option<usize>,
    ) {
        match request("search", &self.archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&self.key[..]));
                set(&req, "query", self.question.query.as_str());
                set(&req, "folder", self.question.folder.as_str());
                set(&req, "kept", self.kept as f64);
                if let Some(s) = start {
                    set(&req, "start", s as f64);
                }
                send(READ, req, Pending::Search(done, tx, self));
            }
            Err(e) => done.finish(Err(e)),
        }
    }

    /// Takes the reader's answer for one window: its rows to the list,
    /// then the next window, unless the search was cancelled or ended.
    fn answer(
        mut self: Box<Self>,
        done: Completer<Result<bool, String>>,
        tx: std::sync::mpsc::Sender<Found>,
        msg: &JsValue,
        error: Option<String>,
    ) {
        if let Some(e) = error {
            return done.finish(Err(e));
        }
        let rows = match get(msg, "rows").as_string().map(|j| rows_from_json(&j)) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return done.finish(Err(e)),
            None => return done.finish(Err("the reader sent no rows".into())),
        };
        self.kept += rows.len();
        let matched = get(msg, "matched").as_f64().unwrap_or(0.0) as u64;
        if tx.send(Found { rows, matched }).is_err() || done.progress().is_cancelled() {
            return done.finish(Ok(false));
        }
        let first = get(msg, "first").as_f64().unwrap_or(0.0) as u64;
        let pages = get(msg, "pages").as_f64().unwrap_or(0.0) as u64;
        match get(msg, "next").as_f64() {
            Some(n) => {
                done.progress().set(
                    (n as u64).saturating_sub(first),
                    pages.saturating_sub(first),
                );
                self.ask(done, tx, Some(n as usize));
            }
            None => {
                done.progress().set(1, 1);
                done.finish(Ok(true));
            }
        }
    }
}

/// Who waits for a decoding: the record's first view, or one page.
enum Reply {
    Record(Completer<Result<RenderedRecord, String>>),
    /// Page (0-based) of pages.
    Page(Completer<Result<Vec<u8>, String>>, u32, u32),
}

impl Reply {
    fn progress(&self) -> &legation_viewer::jobs::Progress {
        match self {
            Reply::Record(c) => c.progress(),
            Reply::Page(c, ..) => c.progress(),
        }
    }

    fn fail(self, why: String) {
        match self {
            Reply::Record(c) => c.finish(Err(why)),
            Reply::Page(c, ..) => c.finish(Err(why)),
        }
    }

    /// Ends with the decoder worker's answer: documents in `docs` (the
    /// main one and the first page, or the page asked for), with the page
    /// count and render hash for a record.
    fn answer(self, msg: &JsValue, error: Option<String>) {
        if let Some(e) = error {
            return self.fail(e);
        }
        let Ok(docs) = get(msg, "docs").dyn_into::<Array>() else {
            return self.fail("the decoder worker sent no documents".into());
        };
        let mut docs = docs.iter().map(|d| Uint8Array::new(&d).to_vec());
        match self {
            Reply::Record(c) => {
                let hash: Option<[u8; 32]> = bytes(msg, "hash").and_then(|h| h.try_into().ok());
                let pages = get(msg, "pages").as_f64();
                c.finish(match (docs.next(), hash, pages) {
                    (Some(main), Some(hash), Some(pages)) => Ok(RenderedRecord {
                        rendered: Rendered {
                            main,
                            pages: pages as u32,
                            hash,
                        },
                        first_page: docs.next(),
                    }),
                    _ => Err("the decoder worker sent an incomplete answer".into()),
                })
            }
            Reply::Page(c, ..) => c.finish(
                docs.next()
                    .ok_or_else(|| "the decoder worker sent no page".into()),
            ),
        }
    }
}

impl Pending {
    fn progress(&self) -> &legation_viewer::jobs::Progress {
        match self {
            Pending::Verify(c, ..) => c.progress(),
            Pending::Read(c, ..) | Pending::Render(c) => c.progress(),
            Pending::Unlock(c) => c.progress(),
            Pending::Open(c, _) => c.progress(),
            Pending::Rows(c) => c.progress(),
            Pending::Found(c) => c.progress(),
            Pending::Raw(c) => c.progress(),
            Pending::Entry(c) => c.progress(),
            Pending::Search(c, ..) => c.progress(),
            Pending::Survey(c, _) => c.progress(),
        }
    }

    /// Ends the job without an answer from the worker.
    fn stop(self, why: String, cancelled: bool) {
        match self {
            Pending::Verify(c, level, pinned) => {
                c.finish(stopped_report(level, pinned, (!cancelled).then_some(why)))
            }
            Pending::Read(c, ..) | Pending::Render(c) => c.fail(why),
            Pending::Unlock(c) => c.finish(Err(why)),
            Pending::Open(c, _) => c.finish(Err(why)),
            Pending::Rows(c) => c.finish(Err(why)),
            Pending::Found(c) => c.finish(Err(why)),
            Pending::Raw(c) => c.finish(Err(why)),
            Pending::Entry(c) => c.finish(Err(why)),
            Pending::Search(c, ..) | Pending::Survey(c, _) => {
                c.finish(if cancelled { Ok(false) } else { Err(why) })
            }
        }
    }

    /// Ends the job with the worker's answer `msg`.
    fn answer(self, msg: &JsValue) {
        let error = get(msg, "error").as_string();
        match self {
            Pending::Verify(c, level, pinned) => {
                let report = get(msg, "report")
                    .as_string()
                    .and_then(|j| serde_json::from_str::<Report>(&j).ok());
                c.finish(report.unwrap_or_else(|| {
                    stopped_report(
                        level,
                        pinned,
                        Some(error.unwrap_or_else(|| "the worker sent no report".into())),
                    )
                }))
            }
            Pending::Read(c, archive, record) => match (error, get(msg, "bytes")) {
                (Some(e), _) => c.fail(e),
                (None, bytes) if bytes.is_instance_of::<Uint8Array>() => {
                    match request("decode", &archive) {
                        Ok(req) => {
                            set(&req, "record", record);
                            set(&req, "bytes", bytes);
                            if let Reply::Page(_, page, pages) = &c {
                                set(&req, "page", *page);
                                set(&req, "pages", *pages);
                            }
                            send(DECODE, req, Pending::Render(c));
                        }
                        Err(e) => c.fail(e),
                    }
                }
                _ => c.fail("the worker sent no record".into()),
            },
            Pending::Render(c) => c.answer(msg, error),
            Pending::Unlock(c) => {
                if let Some(k) = get(msg, "source").as_f64() {
                    // What the worker read to unlock (the index), which
                    // the page reads next with the key.
                    crate::source::import_blocks(k as u32, &get(msg, "blocks"));
                }
                c.finish(match (error, secret_bytes(msg, "key")) {
                    (Some(e), _) => Err(e),
                    (None, Some(k)) if k.len() == 32 => {
                        let mut b = Zeroizing::new([0u8; 32]);
                        b.copy_from_slice(&k);
                        Ok(DataKey::from(b))
                    }
                    _ => Err("the worker sent no key".into()),
                })
            }
            Pending::Open(c, path) => c.finish(match (error, get(msg, "len").as_f64()) {
                (Some(e), _) => Err(e),
                (None, Some(len)) => {
                    crate::platform::prepared(&path, len as u64, get(msg, "blocks"))
                }
                _ => Err("the reader sent no length".into()),
            }),
            Pending::Rows(c) => c.finish(match (error, get(msg, "rows").as_string()) {
                (Some(e), _) => Err(e),
                (None, Some(json)) => rows_from_json(&json),
                _ => Err("the reader sent no rows".into()),
            }),
            Pending::Found(c) => c.finish(match (error, get(msg, "record").as_string()) {
                (Some(e), _) => Err(e),
                (None, Some(json)) => serde_json::from_str(&json)
                    .map_err(|e| format!("the reader sent a bad record: {e}")),
                _ => Err("the reader sent no record".into()),
            }),
            Pending::Raw(c) => c.finish(match (error, bytes(msg, "bytes")) {
                (Some(e), _) => Err(e),
                (None, Some(b)) => Ok(b),
                _ => Err("the reader sent no bytes".into()),
            }),
            Pending::Entry(c) => c.finish(match (error, get(msg, "path").as_string()) {
                (Some(e), _) => Err(e),
                (None, Some(p)) => Ok(p),
                _ => Err("the reader sent no path".into()),
            }),
            Pending::Search(c, tx, at) => at.answer(c, tx, msg, error),
            Pending::Survey(c, _) => c.finish(match (error, get(msg, "complete").as_bool()) {
                (Some(e), _) => Err(e),
                (None, Some(complete)) => Ok(complete),
                _ => Err("the reader sent no answer".into()),
            }),
        }
    }
}

/// Rows as JSON, `[[path, title, media type, date or null, size, dated,
/// why or null], ...]`:
/// what the reader sends for a catalog page.
fn rows_to_json(rows: &[Row]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r.path,
                r.title,
                &*r.media_type,
                r.date.as_deref(),
                r.size,
                r.dated,
                r.why.as_deref()
            ])
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The rows [`rows_to_json`] wrote, or why they are not rows.
fn rows_from_json(json: &str) -> Result<Vec<Row>, String> {
    type Wire = (
        String,
        String,
        String,
        Option<String>,
        u64,
        bool,
        Option<String>,
    );
    let list: Vec<Wire> =
        serde_json::from_str(json).map_err(|e| format!("the reader sent bad rows: {e}"))?;
    Ok(list
        .into_iter()
        .map(|(path, title, media_type, date, size, dated, why)| Row {
            path,
            title,
            media_type: media_type.into(),
            date: date.map(Into::into),
            dated,
            size,
            why: why.map(Into::into),
        })
        .collect())
}

/// One worker and the requests it has not answered yet.
#[derive(Default)]
struct Lane {
    worker: Option<web_sys::Worker>,
    pending: HashMap<u32, (Pending, f64)>,
    closures: Vec<Closure<dyn FnMut(JsValue)>>,
}

const VERIFY: usize = 0;
const KEYS: usize = 1;
const DECODE: usize = 2;
const READ: usize = 3;

thread_local! {
    static LANES: RefCell<[Lane; 4]> = RefCell::new(Default::default());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
    static TICKER: RefCell<Option<Closure<dyn FnMut()>>> = const { RefCell::new(None) };
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// Starts the worker of `lane` from the page's own glue code and compiled
/// module (set by `index.html` as `LEGATION_GLUE` and `LEGATION_MODULE`).
fn start_worker(lane: usize) -> Result<web_sys::Worker, String> {
    let global = js_sys::global();
    let glue = get(&global, "LEGATION_GLUE")
        .as_string()
        .ok_or("the page did not keep its glue code (LEGATION_GLUE)")?;
    let module = get(&global, "LEGATION_MODULE");
    if module.is_undefined() {
        return Err("the page did not keep its module (LEGATION_MODULE)".into());
    }
    let script = format!("{glue}\n{BOOT}");
    let parts = Array::of1(&JsValue::from_str(&script));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let worker = web_sys::Worker::new(&url).map_err(|e| format!("cannot start a worker: {e:?}"))?;
    let _ = web_sys::Url::revoke_object_url(&url);
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        let msg = get(&e, "data");
        on_answer(lane, &msg)
    });
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        let why = get(&e, "message")
            .as_string()
            .unwrap_or_else(|| "it crashed".into());
        if let Some(e) = e.dyn_ref::<web_sys::Event>() {
            e.prevent_default();
        }
        stop_lane(lane, format!("the worker stopped: {why}"), false);
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    worker
        .post_message(&module)
        .map_err(|e| format!("cannot start a worker: {e:?}"))?;
    LANES.with(|l| {
        let mut l = l.borrow_mut();
        l[lane].closures = vec![on_message, on_error];
    });
    Ok(worker)
}

/// The worker's first lines after the glue: instantiate the module sent
/// first, then hand every message to Rust, those that came meanwhile too.
const BOOT: &str = r#"
(function () {
  const early = [];
  self.onmessage = (e) => {
    self.onmessage = (e) => early.push(e.data);
    wasm_bindgen({ module_or_path: e.data }).then(() => {
      self.onmessage = (e) => wasm_bindgen.worker_handle(e.data);
      for (const m of early) wasm_bindgen.worker_handle(m);
    });
  };
})();
"#;

fn on_answer(lane: usize, msg: &JsValue) {
    let Some(id) = get(msg, "id").as_f64().map(|i| i as u32) else {
        return;
    };
    let done = LANES.with(|l| {
        let mut l = l.borrow_mut();
        if let Ok(p) = get(msg, "progress").dyn_into::<Array>() {
            if let Some((job, _)) = l[lane].pending.get(&id) {
                let d = p.get(0).as_f64().unwrap_or(0.0) as u64;
                let t = p.get(1).as_f64().unwrap_or(0.0) as u64;
                job.progress().set(d, t);
            }
            return None;
        }
        if let Some(f) = get(msg, "folders").as_string() {
            // A batch of the survey: the job goes on.
            if let Some((Pending::Survey(_, tx), _)) = l[lane].pending.get(&id) {
                if let Ok(b) = serde_json::from_str::<Folders>(&f) {
                    let _ = tx.send(b);
                }
            }
            return None;
        }
        l[lane].pending.remove(&id)
    });
    if lane == READ {
        // What the reader fetched: the page's own reads need not fetch it.
        if let Some(k) = get(msg, "source").as_f64() {
            crate::source::import_blocks(k as u32, &get(msg, "fresh"));
        }
    }
    // Finished outside the borrow: finishing wakes the window.
    if let Some((job, _)) = done {
        let unlocked = matches!(job, Pending::Unlock(_));
        job.answer(msg);
        if unlocked {
            retire_idle(lane);
        }
    }
}

/// Ends the lane's worker if it has nothing to do: after deriving a key,
/// the keys worker holds Argon2id's memory (a WebAssembly memory never
/// shrinks; 256 MiB with the default parameters) and the key; a fresh one
/// starts for the next request.
fn retire_idle(lane: usize) {
    LANES.with(|l| {
        let mut l = l.borrow_mut();
        if l[lane].pending.is_empty() {
            if let Some(w) = l[lane].worker.take() {
                w.terminate();
            }
        }
    });
}

/// Terminates the lane's worker and ends all its jobs.
fn stop_lane(lane: usize, why: String, cancelled: bool) {
    let jobs: Vec<_> = LANES.with(|l| {
        let mut l = l.borrow_mut();
        if let Some(w) = l[lane].worker.take() {
            w.terminate();
        }
        l[lane].pending.drain().map(|(_, (j, _))| j).collect()
    });
    for j in jobs {
        j.stop(why.clone(), cancelled);
    }
}

/// Every quarter second: cancelled jobs and workers past the watchdog
/// are stopped (a worker busy in a decoder cannot read a message).
fn tick() {
    let watchdog = HostLimits::default().watchdog.as_millis() as f64;
    for lane in [VERIFY, KEYS, DECODE, READ] {
        let (cancelled, late) = LANES.with(|l| {
            let l = l.borrow();
            let p = &l[lane].pending;
            (
                // The reader is stopped only for the survey, which reads
                // the whole catalog in one request; its other requests are
                // short (a search stops between two windows of pages).
                p.values().any(|(j, _)| {
                    j.progress().is_cancelled()
                        && (lane != READ || matches!(j, Pending::Survey(..)))
                }),
                lane == DECODE && p.values().any(|(_, t)| now() - t > watchdog),
            )
        });
        if cancelled {
            stop_lane(lane, "cancelled".into(), true);
        } else if late {
            stop_lane(
                lane,
                format!(
                    "the decoder did not finish within the {} s watchdog; its worker was stopped",
                    watchdog / 1000.0
                ),
                false,
            );
        }
    }
}

fn ensure_ticker() {
    TICKER.with(|t| {
        if t.borrow().is_some() {
            return;
        }
        let c = Closure::<dyn FnMut()>::new(tick);
        if let Some(w) = web_sys::window() {
            let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
                c.as_ref().unchecked_ref(),
                250,
            );
        }
        *t.borrow_mut() = Some(c);
    });
}

/// Sends a request to a lane, starting its worker where needed.
fn send(lane: usize, req: Object, job: Pending) {
    ensure_ticker();
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    });
    set(&req, "id", id);
    if lane == READ {
        // What the page fetched since: the reader need not fetch it.
        let src = get(&req, "source");
        if let Some(k) = get(&src, "key").as_f64() {
            if let Some(o) = src.dyn_ref::<Object>() {
                set(o, "fresh", crate::source::export_fresh(k as u32));
            }
        }
    }
    let worker = LANES.with(|l| l.borrow()[lane].worker.clone());
    let worker = match worker {
        Some(w) => w,
        None => match start_worker(lane) {
            Ok(w) => {
                LANES.with(|l| l.borrow_mut()[lane].worker = Some(w.clone()));
                w
            }
            Err(e) => return job.stop(e, false),
        },
    };
    let posted = worker.post_message(&req);
    wipe_secrets(&req);
    if let Err(e) = posted {
        return job.stop(format!("cannot reach the worker: {e:?}"), false);
    }
    LANES.with(|l| l.borrow_mut()[lane].pending.insert(id, (job, now())));
}

/// The request's `source` for the archive at `path`, or why there is none.
fn source_of(path: &Path) -> Result<Object, String> {
    let (src, origin) = crate::platform::source_for(path)
        .ok_or_else(|| format!("{}: the archive is no longer open", path.display()))?;
    let o = Object::new();
    set(&o, "key", src.0);
    set(&o, "len", src.1 as f64);
    set(&o, "name", src.2.as_str());
    // What the page has read of the archive: the worker need not fetch it.
    set(&o, "blocks", crate::source::export_blocks(src.0));
    match origin {
        Origin::File { file, .. } => set(&o, "file", file),
        Origin::Url(u) => set(&o, "url", u.as_str()),
    }
    Ok(o)
}

fn request(kind: &str, path: &Path) -> Result<Object, String> {
    let o = Object::new();
    set(&o, "kind", kind);
    set(&o, "source", source_of(path)?);
    Ok(o)
}

/// The browser's [`Offload`]: workers.
#[derive(Debug, Default)]
pub struct Workers;

impl Workers {
    /// Has the keys' worker decrypt the record, then the decoders' worker
    /// decode it for `reply`.
    fn read_then_decode(
        &self,
        archive: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        reply: Reply,
    ) {
        let rec = match serde_json::to_string(record) {
            Ok(r) => r,
            Err(e) => return reply.fail(e.to_string()),
        };
        let pending = Pending::Read(reply, archive.to_owned(), rec.clone());
        match request("read", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "record", rec);
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
    }
}

impl Offload for Workers {
    fn verify(
        &self,
        archive: &Path,
        key: Option<&DataKey>,
        level: Level,
        pinned: Option<[u8; 32]>,
        wake: Wake,
    ) -> Job<Report> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Verify(done, level, pinned.is_some());
        match request("verify", archive) {
            Ok(req) => {
                set(&req, "level", level.as_str());
                if let Some(k) = key {
                    set(&req, "key", Uint8Array::from(&k.as_bytes()[..]));
                }
                if let Some(p) = pinned {
                    set(&req, "pinned", Uint8Array::from(&p[..]));
                }
                send(VERIFY, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn render(
        &self,
        archive: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        wake: Wake,
    ) -> Job<Result<RenderedRecord, String>> {
        let (job, done) = Job::pending(wake);
        self.read_then_decode(archive, key, record, Reply::Record(done));
        job
    }

    fn render_page(
        &self,
        archive: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        page: u32,
        pages: u32,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        let (job, done) = Job::pending(wake);
        self.read_then_decode(archive, key, record, Reply::Page(done, page, pages));
        job
    }

    fn unlock(&self, archive: &Path, keys: Vec<Key>, wake: Wake) -> Job<Result<DataKey, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Unlock(done);
        match request("unlock", archive) {
            Ok(req) => {
                let shares = Array::new();
                for k in &keys {
                    match k {
                        Key::Passphrase(p) => set(&req, "passphrase", p.as_str()),
                        Key::Identity(i) => {
                            set(&req, "identity", Uint8Array::from(&i.secret()[..]))
                        }
                        // A post-quantum identity's 32-byte seed (SPEC §7.11).
                        Key::PqIdentity(i) => {
                            set(&req, "pq_identity", Uint8Array::from(&i.secret()[..]))
                        }
                        // Quorum shares (SPEC §7.9) in their binary form.
                        Key::Share(s) => {
                            shares.push(&Uint8Array::from(&s.to_bytes()[..]));
                        }
                    }
                }
                if shares.length() > 0 {
                    set(&req, "shares", shares);
                }
                send(KEYS, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn prepare_open(&self, path: &Path, wake: Wake) -> Option<Job<Result<(), String>>> {
        // A local file: the reader's worker reads it (the File is posted
        // to it), so that the page reads none of it.
        if matches!(
            crate::platform::source_for(path),
            Some((_, Origin::File { .. }))
        ) {
            let (job, done) = Job::pending(wake);
            let pending = Pending::Open(done, path.to_owned());
            match request("open", path) {
                Ok(req) => send(READ, req, pending),
                Err(e) => pending.stop(e, false),
            }
            return Some(job);
        }
        // Not an http(s) URL: opening says why.
        let (key, url) = crate::platform::register_url(path)?;
        let (job, done) = Job::pending(wake);
        let req = Object::new();
        set(&req, "kind", "open");
        let src = Object::new();
        set(&src, "key", key);
        set(&src, "name", url.as_str());
        set(&src, "url", url.as_str());
        set(&req, "source", src);
        send(READ, req, Pending::Open(done, path.to_owned()));
        Some(job)
    }

    fn read_page(
        &self,
        archive: &Path,
        key: &DataKey,
        n: usize,
        wake: Wake,
    ) -> Job<Result<Vec<Row>, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Rows(done);
        match request("page", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "page", n as f64);
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn search(
        &self,
        archive: &Path,
        key: &DataKey,
        question: &Question,
        wake: Wake,
    ) -> (Job<Result<bool, String>>, std::sync::mpsc::Receiver<Found>) {
        let (job, done) = Job::pending(wake);
        let (tx, rx) = std::sync::mpsc::channel();
        let at = Box::new(Searching {
            archive: archive.to_owned(),
            key: Zeroizing::new(*key.as_bytes()),
            question: question.clone(),
            kept: 0,
        });
        at.ask(done, tx, None);
        (job, rx)
    }

    fn survey(
        &self,
        archive: &Path,
        key: &DataKey,
        wake: Wake,
    ) -> (
        Job<Result<bool, String>>,
        std::sync::mpsc::Receiver<Folders>,
    ) {
        let (job, done) = Job::pending(wake);
        let (tx, rx) = std::sync::mpsc::channel();
        let pending = Pending::Survey(done, tx);
        match request("survey", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        (job, rx)
    }

    fn find(
        &self,
        archive: &Path,
        key: &DataKey,
        path: &str,
        wake: Wake,
    ) -> Job<Result<CatalogRecord, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Found(done);
        match request("find", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "path", path);
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn read_raw(
        &self,
        archive: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        max: u64,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Raw(done);
        let rec = match serde_json::to_string(record) {
            Ok(r) => r,
            Err(e) => {
                pending.stop(e.to_string(), false);
                return job;
            }
        };
        match request("raw", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "record", rec);
                set(&req, "max", max as f64);
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn export(
        &self,
        archive: &Path,
        key: &DataKey,
        record: &CatalogRecord,
        what: &ExportOf,
        wake: Wake,
    ) -> Job<Result<Vec<u8>, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Raw(done);
        let (rec, facts) = match (
            serde_json::to_string(record),
            match what {
                ExportOf::Html(f) => serde_json::to_string(f).map(Some),
                _ => Ok(None),
            },
        ) {
            (Ok(r), Ok(f)) => (r, f),
            (Err(e), _) | (_, Err(e)) => {
                pending.stop(e.to_string(), false);
                return job;
            }
        };
        match request("export", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "record", rec);
                let kind = match what {
                    ExportOf::Original => "original",
                    ExportOf::Proof => "proof",
                    ExportOf::Html(_) => "html",
                };
                set(&req, "what", kind);
                match facts {
                    // A view with pages runs the decoder on each: in the
                    // verify worker, where render-level verification
                    // already runs decoders beside the key.
                    Some(f) => {
                        set(&req, "facts", f);
                        send(VERIFY, req, pending);
                    }
                    None => send(READ, req, pending),
                }
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }

    fn entry_record(
        &self,
        archive: &Path,
        key: &DataKey,
        entry: &str,
        wake: Wake,
    ) -> Job<Result<String, String>> {
        let (job, done) = Job::pending(wake);
        let pending = Pending::Entry(done);
        match request("entry", archive) {
            Ok(req) => {
                set(&req, "key", Uint8Array::from(&key.as_bytes()[..]));
                set(&req, "entry", entry);
                send(READ, req, pending);
            }
            Err(e) => pending.stop(e, false),
        }
        job
    }
}

// ---------------------------------------------------------------------
// The worker's side.

/// What a worker keeps between requests: archives by source key, and the
/// last unlocked one.
struct Kept {
    archives: HashMap<u32, Archive>,
    unlocked: Option<(u32, [u8; 32], Arc<Unlocked>)>,
    host: Host,
}

thread_local! {
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

fn post(msg: &Object) {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = scope.post_message(msg);
}

fn answer(id: u32, k: &str, v: impl Into<JsValue>) {
    let o = Object::new();
    set(&o, "id", id);
    set(&o, k, v);
    post(&o);
}

/// Handles one request in a worker (called by the worker's boot script).
#[wasm_bindgen]
pub fn worker_handle(msg: JsValue) {
    let id = get(&msg, "id").as_f64().unwrap_or(0.0) as u32;
    let kind = get(&msg, "kind").as_string().unwrap_or_default();
    let r = KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let kept = k.get_or_insert_with(|| Kept {
            archives: HashMap::new(),
            unlocked: None,
            host: crate::browser_host(),
        });
        handle(kept, id, &kind, &msg)
    });
    if let Err(e) = r {
        answer(id, "error", e);
    }
}

fn record_of(msg: &JsValue) -> Result<CatalogRecord, String> {
    serde_json::from_str(&get(msg, "record").as_string().ok_or("no record")?)
        .map_err(|e| format!("bad record: {e}"))
}

/// Opens the archive of a local file or at a URL in the reader's worker
/// (a URL's length from its first block), then reads what opening and
/// its public facts read. Answers with the length and every block read.
fn open_archive(kept: &mut Kept, id: u32, src: &JsValue) -> Result<(), String> {
    let key = get(src, "key").as_f64().ok_or("no source")? as u32;
    let name = get(src, "name").as_string().unwrap_or_default();
    let (s, len) = match get(src, "file").dyn_into::<web_sys::File>() {
        Ok(file) => {
            let len = get(src, "len").as_f64().ok_or("no length")? as u64;
            let url = String::new();
            (
                WebSource::register(key, Origin::File { file, url }, len, name),
                len,
            )
        }
        Err(_) => {
            let url = get(src, "url").as_string().ok_or("no URL")?;
            let (len, first) = crate::source::remote_start(&url)?;
            let s = WebSource::register(key, Origin::Url(url), len, name);
            crate::source::seed(key, 0, &first);
            (s, len)
        }
    };
    let a = Archive::open(s).map_err(|e| e.to_string())?;
    // The public facts check the signature: its entries are read here too.
    let _ = a.check_signature(None);
    kept.archives.insert(key, a);
    let o = Object::new();
    set(&o, "id", id);
    set(&o, "len", len as f64);
    // Everything read so far (the first block was handed in, not fetched).
    set(&o, "blocks", crate::source::export_blocks(key));
    let _ = crate::source::export_fresh(key);
    post(&o);
    Ok(())
}

/// Posts the reader's answer `o` to request `id` on source `key`, with
/// the blocks it fetched since its last answer.
fn reply(id: u32, key: u32, o: Object) {
    set(&o, "id", id);
    set(&o, "source", key);
    set(&o, "fresh", crate::source::export_fresh(key));
    post(&o);
}

fn handle(kept: &mut Kept, id: u32, kind: &str, msg: &JsValue) -> Result<(), String> {
    let src = get(msg, "source");
    if kind == "open" {
        return open_archive(kept, id, &src);
    }
    let key = get(&src, "key").as_f64().ok_or("no source")? as u32;
    let archive = match kept.archives.get(&key) {
        Some(a) => {
            crate::source::import_blocks(key, &get(&src, "blocks"));
            crate::source::import_blocks(key, &get(&src, "fresh"));
            a.clone()
        }
        None => {
            let len = get(&src, "len").as_f64().ok_or("no length")? as u64;
            let name = get(&src, "name").as_string().unwrap_or_default();
            let origin = match (
                get(&src, "file").dyn_into::<web_sys::File>(),
                get(&src, "url").as_string(),
            ) {
                (Ok(file), _) => Origin::File {
                    file,
                    url: String::new(),
                },
                (_, Some(u)) => Origin::Url(u),
                _ => return Err("the request names no file or URL".into()),
            };
            let s = WebSource::register(key, origin, len, name);
            crate::source::import_blocks(key, &get(&src, "blocks"));
            crate::source::import_blocks(key, &get(&src, "fresh"));
            let a = Archive::open(s).map_err(|e| e.to_string())?;
            kept.archives.insert(key, a.clone());
            a
        }
    };
    let unlocked = |kept: &mut Kept| -> Result<Arc<Unlocked>, String> {
        let k = secret_bytes(msg, "key")
            .filter(|k| k.len() == 32)
            .ok_or("no data key")?;
        let mut kb = Zeroizing::new([0u8; 32]);
        kb.copy_from_slice(&k);
        let tag = *blake3::hash(&*kb).as_bytes();
        if let Some((s, t, u)) = &kept.unlocked {
            if *s == key && *t == tag {
                return Ok(u.clone());
            }
        }
        let u = Arc::new(
            archive
                .unlock_with_data_key(DataKey::from(kb))
                .map_err(|e| e.to_string())?,
        );
        kept.unlocked = Some((key, tag, u.clone()));
        Ok(u)
    };
    match kind {
        "verify" => {
            let level = get(msg, "level")
                .as_string()
                .and_then(|l| l.parse().ok())
                .unwrap_or(Level::Fixity);
            let pinned: Option<[u8; 32]> = bytes(msg, "pinned").and_then(|p| p.try_into().ok());
            let mut last = -1i64;
            let mut progress = |d: u64, t: u64| {
                let pct = (d.saturating_mul(1000)).checked_div(t).unwrap_or(0) as i64;
                if pct != last {
                    last = pct;
                    let o = Object::new();
                    set(&o, "id", id);
                    set(
                        &o,
                        "progress",
                        Array::of2(&(d as f64).into(), &(t as f64).into()),
                    );
                    post(&o);
                }
                true
            };
            let report = match level {
                Level::Fixity => archive.verify_fixity(pinned.as_ref(), &mut progress),
                Level::Content => unlocked(kept)?.verify_content(pinned.as_ref(), &mut progress),
                Level::Render => {
                    let u = unlocked(kept)?;
                    u.verify_render(&kept.host, pinned.as_ref(), &mut progress)
                }
            };
            let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
            answer(id, "report", json);
        }
        "read" => {
            let rec = record_of(msg)?;
            // The checks rendering makes before reading, with its words.
            if rec.decoder.is_none() {
                return Err(RenderError::NoDecoder(rec.path).to_string());
            }
            let cap = kept.host.limits().record_cap;
            if rec.size > cap {
                return Err(RenderError::from(DecodeError::TooLarge {
                    record: rec.path,
                    size: rec.size,
                    cap,
                })
                .to_string());
            }
            let bytes = unlocked(kept)?
                .read_record(&rec, cap)
                .map_err(|e| e.to_string())?;
            let o = Object::new();
            set(&o, "bytes", Uint8Array::from(&bytes[..]));
            reply(id, key, o);
        }
        "page" => {
            let n = get(msg, "page").as_f64().ok_or("no page number")? as usize;
            let rows = legation_viewer::catalog::read_page(&*unlocked(kept)?, n)?;
            let o = Object::new();
            set(&o, "rows", rows_to_json(&rows));
            reply(id, key, o);
        }
        "search" => {
            let q = Question {
                query: get(msg, "query").as_string().unwrap_or_default(),
                folder: get(msg, "folder").as_string().unwrap_or_default(),
            };
            let u = unlocked(kept)?;
            let first = legation_viewer::catalog::first_page(&u, &q);
            let start = get(msg, "start").as_f64().map_or(first, |s| s as usize);
            let held = get(msg, "kept").as_f64().unwrap_or(0.0) as usize;
            let (found, next) = legation_viewer::catalog::search_window(&u, &q, start, held)?;
            let o = Object::new();
            set(&o, "rows", rows_to_json(&found.rows));
            set(&o, "matched", found.matched as f64);
            set(&o, "first", first as f64);
            set(&o, "pages", u.index().pages.len() as f64);
            if let Some(n) = next {
                set(&o, "next", n as f64);
            }
            reply(id, key, o);
        }
        "survey" => {
            let u = unlocked(kept)?;
            let progress = legation_viewer::jobs::Progress::default();
            let complete = legation_viewer::catalog::survey(&u, &progress, &mut |b| {
                let o = Object::new();
                set(&o, "id", id);
                set(&o, "folders", serde_json::to_string(&b).unwrap_or_default());
                post(&o);
                true
            })?;
            let o = Object::new();
            set(&o, "complete", complete);
            reply(id, key, o);
        }
        "find" => {
            let path = get(msg, "path").as_string().ok_or("no path")?;
            let rec = unlocked(kept)?.find(&path).map_err(|e| e.to_string())?;
            let o = Object::new();
            set(
                &o,
                "record",
                serde_json::to_string(&rec).map_err(|e| e.to_string())?,
            );
            reply(id, key, o);
        }
        "raw" => {
            let rec = record_of(msg)?;
            let max = get(msg, "max").as_f64().ok_or("no length")? as u64;
            let bytes = unlocked(kept)?
                .read_range(&rec, 0, max)
                .map_err(|e| e.to_string())?;
            let o = Object::new();
            set(&o, "bytes", Uint8Array::from(&bytes[..]));
            reply(id, key, o);
        }
        "export" => {
            let rec = record_of(msg)?;
            let what = match get(msg, "what").as_string().as_deref() {
                Some("original") => ExportOf::Original,
                Some("proof") => ExportOf::Proof,
                Some("html") => {
                    let facts = get(msg, "facts").as_string().ok_or("no facts")?;
                    ExportOf::Html(
                        serde_json::from_str(&facts).map_err(|e| format!("bad facts: {e}"))?,
                    )
                }
                _ => return Err("no kind of export".into()),
            };
            let u = unlocked(kept)?;
            let host = &kept.host;
            let mut out = Vec::new();
            legation_viewer::export::write_export(&u, &rec, &what, || host, &mut out, &mut |_| {})?;
            let o = Object::new();
            set(&o, "bytes", Uint8Array::from(&out[..]));
            reply(id, key, o);
        }
        "entry" => {
            let entry = get(msg, "entry").as_string().ok_or("no entry")?;
            let progress = legation_viewer::jobs::Progress::default();
            let path =
                legation_viewer::catalog::record_in_entry(&*unlocked(kept)?, &entry, &progress)?;
            let o = Object::new();
            set(&o, "path", path);
            reply(id, key, o);
        }
        "decode" => {
            let rec = record_of(msg)?;
            let bytes = bytes(msg, "bytes").ok_or("no record bytes")?;
            let decoder = archive
                .decoder_for(&kept.host, &rec)
                .map_err(|e| e.to_string())?;
            let failed = |e: DecodeError| RenderError::from(e).to_string();
            let docs = Array::new();
            let o = Object::new();
            match (get(msg, "page").as_f64(), get(msg, "pages").as_f64()) {
                // One page, when the reader turns to it.
                (Some(page), Some(pages)) => {
                    let doc = kept
                        .host
                        .page(&decoder, Facts::of(&rec), &bytes, page as u32, pages as u32)
                        .map_err(failed)?;
                    docs.push(&Uint8Array::from(&doc[..]));
                }
                // The record: every page decoded for the hash, one at a
                // time; the first kept to be shown.
                _ => {
                    let mut first = None;
                    let r = kept
                        .host
                        .render_with(&decoder, Facts::of(&rec), &bytes, &mut |n, cbor| {
                            if n == 1 {
                                first = Some(Uint8Array::from(cbor));
                            }
                        })
                        .map_err(failed)?;
                    docs.push(&Uint8Array::from(&r.main[..]));
                    if let Some(f) = first {
                        docs.push(&f);
                    }
                    set(&o, "hash", Uint8Array::from(&r.hash()[..]));
                    set(&o, "pages", r.pages);
                }
            }
            set(&o, "id", id);
            set(&o, "docs", docs);
            post(&o);
        }
        "unlock" => {
            let mut keys = Vec::new();
            if let Some(b) = secret_bytes(msg, "identity") {
                if b.len() != 32 {
                    return Err("bad identity".into());
                }
                let mut s = Zeroizing::new([0u8; 32]);
                s.copy_from_slice(&b);
                keys.push(Key::Identity(Identity::from(s)));
            }
            if let Some(b) = secret_bytes(msg, "pq_identity") {
                if b.len() != legation_format::pq::SECRET_LEN {
                    return Err("bad post-quantum identity".into());
                }
                let mut s = Zeroizing::new([0u8; legation_format::pq::SECRET_LEN]);
                s.copy_from_slice(&b);
                keys.push(Key::PqIdentity(legation_format::pq::PqIdentity::from(s)));
            }
            if let Some(p) = get(msg, "passphrase").as_string() {
                keys.push(Key::Passphrase(Zeroizing::new(p)));
            }
            if let Ok(list) = get(msg, "shares").dyn_into::<Array>() {
                for item in list.iter() {
                    let a = item.dyn_into::<Uint8Array>().map_err(|_| "bad share")?;
                    let b = Zeroizing::new(a.to_vec());
                    a.fill(0, 0, a.length());
                    let s = legation_format::quorum::Share::from_bytes(&b, 0)
                        .map_err(|e| e.to_string())?;
                    keys.push(Key::Share(s));
                }
            }
            // A dependent generation of a series (SPEC §33.3) has no
            // catalog of its own: the page reads it through its series.
            let dependent =
                legation_reader::series::GenerationFile::of(Default::default(), archive.clone())
                    .is_ok_and(|g| g.public().series.is_some());
            let data_key = if dependent {
                archive.data_key_with(&keys, &mut |_, _| false)
            } else {
                archive.unlock(&keys).map(|u| u.data_key().clone())
            }
            .map_err(|e| legation_viewer::unlock_error(&e))?;
            let k = Uint8Array::from(&data_key.as_bytes()[..]);
            let o = Object::new();
            set(&o, "id", id);
            set(&o, "key", k.clone());
            set(&o, "source", key);
            set(&o, "blocks", crate::source::export_blocks(key));
            post(&o);
            k.fill(0, 0, k.length());
        }
        other => return Err(format!("unknown request {other:?}")),
    }
    Ok(())
}

//! The browser as a [`Platform`]: archives from a file picker, a drop on
//! the page or a URL; key files read from a picker; exports as downloads;
//! jobs deferred on the page's thread, and the heavy ones in workers
//! ([`crate::offload`]).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use legation_reader::source::ReadAt;
use legation_viewer::jobs::Spawner;
use legation_viewer::platform::{ExportWriter, KeyFile, Offload, Picked, Platform};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

use crate::offload::Workers;
use crate::source::{Origin, WebSource};

/// Largest local archive whose keyless fixity check starts on opening.
const CHECK_ON_OPEN_MAX: u64 = 512 << 20;

/// A registered archive: the source key, its length and name.
pub type SourceInfo = (u32, u64, String);

#[derive(Default)]
struct State {
    next: u32,
    /// Archives by the path the app knows them by.
    archives: HashMap<PathBuf, (SourceInfo, Origin)>,
    /// Key files read from the picker, by path (wiped when dropped).
    key_files: HashMap<PathBuf, Zeroizing<Vec<u8>>>,
    picked: VecDeque<Picked>,
    /// The key file kind the open picker is for.
    asking: Option<KeyFile>,
    ctx: Option<egui::Context>,
    /// What the reader's worker read while preparing to open a URL, by
    /// source key: stored in the page's cache when the app opens it.
    prepared: HashMap<u32, JsValue>,
    closures: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    /// The issuer's statements of succession given by URL (`&issuer=URL`),
    /// absolute, read when a series opens.
    issuers: Vec<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The source registered for `path`, with where it reads from.
pub fn source_for(path: &Path) -> Option<(SourceInfo, Origin)> {
    STATE.with(|s| s.borrow().archives.get(path).cloned())
}

fn wake() {
    if let Some(c) = STATE.with(|s| s.borrow().ctx.clone()) {
        c.request_repaint();
    }
}

/// Registers an archive and returns the path the app opens it by: `at`
/// (what the user typed, for a URL), or `local/N/NAME` for a file (its
/// name shows in the window).
fn register(at: Option<PathBuf>, origin: Origin, len: u64, name: String) -> PathBuf {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.next += 1;
        let key = s.next;
        let path = at.unwrap_or_else(|| PathBuf::from(format!("local/{key}/{name}")));
        s.archives.insert(path.clone(), ((key, len, name), origin));
        path
    })
}

/// Opens a local file (from a picker or a drop) in the app.
pub fn open_file(file: web_sys::File) {
    let url = match web_sys::Url::create_object_url_with_blob(&file) {
        Ok(u) => u,
        Err(e) => return web_sys::console::error_1(&e),
    };
    let len = file.size() as u64;
    let name = file.name();
    let path = register(None, Origin::File { file, url }, len, name);
    STATE.with(|s| s.borrow_mut().picked.push_back(Picked::Archive(path)));
    wake();
}

/// The path the app opens `url` by: made absolute against the page's
/// address when it is an http(s) URL.
pub fn url_path(url: &str) -> PathBuf {
    PathBuf::from(absolute(url).unwrap_or_else(|| url.to_owned()))
}

/// `url` made absolute against the page's address, if it is an http(s) URL.
fn absolute(url: &str) -> Option<String> {
    let base = web_sys::window()?.location().href().ok()?;
    let u = web_sys::Url::new_with_base(url.trim(), &base).ok()?;
    matches!(u.protocol().as_str(), "http:" | "https:").then(|| u.href())
}

/// Registers the http(s) URL `path` names, to be opened by the reader's
/// worker (which learns its length): its source key and absolute URL.
pub fn register_url(path: &Path) -> Option<(u32, String)> {
    let url = absolute(&path.to_string_lossy())?;
    register(
        Some(path.to_owned()),
        Origin::Url(url.clone()),
        0,
        url.clone(),
    );
    let ((key, ..), _) = source_for(path)?;
    Some((key, url))
}

/// Records what the reader's worker learnt preparing to open `path`: its
/// length and the blocks it read (`[offset, bytes, ...]`).
pub fn prepared(path: &Path, len: u64, blocks: JsValue) -> Result<(), String> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let State {
            archives, prepared, ..
        } = &mut *s;
        let ((key, l, _), _) = archives
            .get_mut(path)
            .ok_or_else(|| format!("{}: no longer open", path.display()))?;
        *l = len;
        prepared.insert(*key, blocks);
        Ok(())
    })
}

/// Opens a remote archive by URL (read with range requests).
pub fn open_url(url: &str) {
    let path = url_path(url);
    // The length is learned when the app opens it (see `open_source`).
    STATE.with(|s| s.borrow_mut().picked.push_back(Picked::Archive(path)));
    wake();
}

/// Takes the URLs of the issuer's statements of succession (SPEC §37:
/// handovers and revocations, `&issuer=URL` repeated) that every series
/// opened from now on is read with.
pub fn set_issuers(urls: &[String]) {
    let urls = urls
        .iter()
        .map(|u| absolute(u).unwrap_or_else(|| u.clone()))
        .collect();
    STATE.with(|s| s.borrow_mut().issuers = urls);
}

/// A small text file by URL, whole: asked for by a range of its first
/// `limit + 1` bytes and refused above `limit` (a server that ignores the
/// range sends it all, and it is refused then too). Synchronous: the
/// issuer's statements are a few kilobytes.
fn fetch_small(url: &str, limit: usize) -> Result<Vec<u8>, String> {
    use web_sys::XmlHttpRequest;
    let js = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let xhr = XmlHttpRequest::new().map_err(js)?;
    xhr.open_with_async("GET", url, false).map_err(js)?;
    xhr.set_request_header("Range", &format!("bytes=0-{limit}"))
        .map_err(js)?;
    xhr.override_mime_type("text/plain; charset=x-user-defined")
        .map_err(js)?;
    xhr.send()
        .map_err(|e| format!("cannot read {url}: {}", js(e)))?;
    match xhr.status().map_err(js)? {
        200 | 206 => {}
        0 => {
            return Err(format!(
                "cannot read {url} (network error or blocked by CORS)"
            ))
        }
        s => return Err(format!("{url}: the server answered HTTP {s}")),
    }
    let text = xhr.response_text().map_err(js)?.unwrap_or_default();
    let bytes: Vec<u8> = text.encode_utf16().map(|c| c as u8).collect();
    if bytes.len() > limit {
        return Err(format!(
            "{url}: more than the {limit} bytes a statement may have"
        ));
    }
    Ok(bytes)
}

/// Opens generation `generation` (the newest when `None`) of the series
/// whose files are at `urls`, its history listing every generation among
/// them.
pub fn open_series(urls: &[String], generation: Option<u64>) {
    let files = urls.iter().map(|u| url_path(u)).collect();
    STATE.with(|s| {
        s.borrow_mut()
            .picked
            .push_back(Picked::Series(files, generation))
    });
    wake();
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// A hidden file input, created once, that calls `on_file` with each file
/// chosen.
fn file_input(
    id: &str,
    accept: &str,
    on_file: fn(web_sys::File),
) -> Option<web_sys::HtmlInputElement> {
    let doc = document()?;
    if let Some(e) = doc.get_element_by_id(id) {
        return e.dyn_into().ok();
    }
    let input: web_sys::HtmlInputElement = doc.create_element("input").ok()?.dyn_into().ok()?;
    input.set_type("file");
    input.set_id(id);
    input.set_accept(accept);
    let _ = input.style().set_property("display", "none");
    let i2 = input.clone();
    let c = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(f) = i2.files().and_then(|f| f.get(0)) {
            on_file(f);
        }
        // The same file chosen again must fire again.
        i2.set_value("");
    });
    input.set_onchange(Some(c.as_ref().unchecked_ref()));
    STATE.with(|s| s.borrow_mut().closures.push(c));
    doc.body()?.append_child(&input).ok()?;
    Some(input)
}

/// The picker inputs (the browser tests set files on them), and drops of
/// files anywhere on the page (handled before egui's own, which would read
/// a whole archive into memory).
pub fn install(ctx: &egui::Context) {
    STATE.with(|s| s.borrow_mut().ctx = Some(ctx.clone()));
    file_input("legation-open", ".lgn,application/zip,*/*", open_file);
    file_input("legation-key", ".key,.pub,.share", key_file_chosen);
    let Some(w) = web_sys::window() else { return };
    let over = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| e.prevent_default());
    let drop = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        e.prevent_default();
        e.stop_propagation();
        let file = e
            .dyn_ref::<web_sys::DragEvent>()
            .and_then(|d| d.data_transfer())
            .and_then(|t| t.files())
            .and_then(|f| f.get(0));
        if let Some(f) = file {
            open_file(f);
        }
    });
    let opts = web_sys::AddEventListenerOptions::new();
    opts.set_capture(true);
    let _ = w.add_event_listener_with_callback_and_add_event_listener_options(
        "dragover",
        over.as_ref().unchecked_ref(),
        &opts,
    );
    let _ = w.add_event_listener_with_callback_and_add_event_listener_options(
        "drop",
        drop.as_ref().unchecked_ref(),
        &opts,
    );
    STATE.with(|s| s.borrow_mut().closures.extend([over, drop]));
}

fn key_file_chosen(file: web_sys::File) {
    let Some(kind) = STATE.with(|s| s.borrow_mut().asking.take()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let path = PathBuf::from(format!("key/{}", file.name()));
        let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(b) => {
                // Copied into wiped memory; the JavaScript buffer is zeroed.
                let a = js_sys::Uint8Array::new(&b);
                let mut v = Zeroizing::new(vec![0u8; a.length() as usize]);
                a.copy_to(&mut v[..]);
                a.fill(0, 0, a.length());
                v
            }
            Err(e) => return web_sys::console::error_1(&e),
        };
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.key_files.insert(path.clone(), bytes);
            s.picked.push_back(Picked::KeyFile(kind, path));
        });
        wake();
    });
}

/// Jobs on the page's thread, each after the current frame (so the
/// window shows that it started). Only short ones run here: the heavy
/// ones go to workers through [`Workers`].
#[derive(Debug, Default)]
pub struct Deferred;

impl Spawner for Deferred {
    fn spawn(&self, work: Box<dyn FnOnce() + Send>) {
        let f = Closure::once_into_js(work);
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), 0);
        }
    }
}

/// The browser platform.
#[derive(Debug, Default)]
pub struct Web {
    spawner: Deferred,
    workers: Workers,
}

impl Platform for Web {
    fn spawner(&self) -> &dyn Spawner {
        &self.spawner
    }
    /// The statements given by URL (`&issuer=URL`), whatever the archive:
    /// a page has no folder to list beside an archive's URL.
    fn issuer_statements(&self, _path: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
        use legation_format::v2::succession::{MAX_STATEMENT, MAX_STATEMENTS};
        let urls = STATE.with(|s| s.borrow().issuers.clone());
        if urls.len() > MAX_STATEMENTS {
            return Err(format!(
                "{} statements given, more than the {MAX_STATEMENTS} a reader takes",
                urls.len()
            ));
        }
        urls.into_iter()
            .map(|u| fetch_small(&u, MAX_STATEMENT).map(|b| (u, b)))
            .collect()
    }
    fn decoder_host(&self) -> fn() -> legation_reader::decode::Host {
        crate::browser_host
    }
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
        if let Some(((key, len, name), origin)) = source_for(path) {
            let source = WebSource::register(key, origin, len, name);
            // What the reader's worker read to open it: not fetched again.
            if let Some(b) = STATE.with(|s| s.borrow_mut().prepared.remove(&key)) {
                crate::source::import_blocks(key, &b);
            }
            return Ok(Box::new(source));
        }
        // A URL, relative to the page or absolute.
        let Some(url) = absolute(&path.to_string_lossy()) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "this page opens files chosen or dropped here, and http(s) URLs",
            ));
        };
        let (len, first) = crate::source::remote_start(&url).map_err(std::io::Error::other)?;
        register(Some(path.to_owned()), Origin::Url(url.clone()), len, url);
        let ((key, len, name), origin) =
            source_for(path).ok_or_else(|| std::io::Error::other("the archive was not kept"))?;
        let source = WebSource::register(key, origin, len, name);
        // The first block came with the length: cached, not fetched again.
        crate::source::seed(key, 0, &first);
        Ok(Box::new(source))
    }
    fn pick_archive(&self) -> Option<PathBuf> {
        if let Some(i) = document().and_then(|d| d.get_element_by_id("legation-open")) {
            if let Some(i) = i.dyn_ref::<web_sys::HtmlElement>() {
                i.click();
            }
        }
        None
    }
    fn pick_key_file(&self, kind: KeyFile) -> Option<PathBuf> {
        STATE.with(|s| s.borrow_mut().asking = Some(kind));
        if let Some(i) = document().and_then(|d| d.get_element_by_id("legation-key")) {
            if let Some(i) = i.dyn_ref::<web_sys::HtmlElement>() {
                i.click();
            }
        }
        None
    }
    fn pick_save(&self, suggested: &str) -> Option<PathBuf> {
        // The browser asks where downloads go (or uses its folder).
        Some(PathBuf::from(suggested))
    }
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        STATE
            .with(|s| s.borrow().key_files.get(path).map(|b| b.to_vec()))
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not chosen here"))
    }
    fn load_recent(&self) -> Vec<PathBuf> {
        // Local files cannot be reopened by name in a browser.
        Vec::new()
    }
    fn save_recent(&self, _recent: &[PathBuf]) {}
    fn opens_urls(&self) -> bool {
        true
    }
    fn checks_on_open(&self, path: &Path, len: u64) -> bool {
        len <= CHECK_ON_OPEN_MAX && !matches!(source_for(path), Some((_, Origin::Url(_))))
    }
    fn poll_picked(&self) -> Option<Picked> {
        STATE.with(|s| s.borrow_mut().picked.pop_front())
    }
    fn offload(&self) -> Option<&dyn Offload> {
        Some(&self.workers)
    }
    fn export_writer(&self) -> ExportWriter {
        download
    }
}

/// Exports as a download named after `target`'s file name. The browser
/// writes it (to a temporary name until complete); `replace` is moot.
fn download(
    target: &Path,
    _replace: bool,
    fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), String>,
) -> Result<u64, String> {
    let mut buf = Vec::new();
    fill(&mut buf)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&buf[..]));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let doc = document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(&name);
    a.click();
    // The download has taken its copy once the click is handled.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(buf.len() as u64)
}

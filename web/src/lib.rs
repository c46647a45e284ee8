//! The Legation viewer in a browser: the same egui application as the
//! desktop (`legation_viewer::App`) on the page, with archives read by
//! byte ranges from a chosen file or a URL, and the reader (opening a URL,
//! catalog pages, records), decoders, key derivation and verification in
//! Web Workers (see `offload`). Built by
//! `web/build.sh` into a static folder and one self-contained HTML file.

#![cfg(target_arch = "wasm32")]

pub mod blocks;
mod offload;
mod platform;
pub mod source;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use legation_reader::decode::{Host, HostLimits};
use legation_viewer::App;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub use offload::worker_handle;

/// The decoder host of the browser build: wasmi, an interpreter, run in a
/// worker. Decoders are metered at packing, so the limits and verdicts are
/// those of every other engine.
pub fn browser_host() -> Host {
    Host::new(
        Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
        HostLimits::default(),
    )
}

thread_local! {
    static APP: RefCell<Option<Rc<RefCell<App>>>> = const { RefCell::new(None) };
    /// Whether the tests asked for the accessibility tree.
    static TESTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The last frame's widgets, as JSON, when testing.
    static WIDGETS: RefCell<String> = RefCell::new("[]".into());
}

struct Shell(Rc<RefCell<App>>);

impl eframe::App for Shell {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let testing = TESTING.with(|t| t.get());
        if testing {
            ui.ctx().enable_accesskit();
        }
        self.0.borrow_mut().ui(ui);
        if testing {
            let json = ui.ctx().viewport(|v| {
                v.this_pass
                    .accesskit_state
                    .as_ref()
                    .map(|s| widgets_json(s.nodes.values()))
            });
            WIDGETS.with(|w| *w.borrow_mut() = json.unwrap_or_else(|| "[]".into()));
        }
    }
}

/// The widgets egui described for assistive technology this frame: role,
/// label, value, whether enabled, and bounds in CSS pixels.
fn widgets_json<'a>(nodes: impl Iterator<Item = &'a egui::accesskit::Node>) -> String {
    let list: Vec<serde_json::Value> = nodes
        .filter_map(|n| {
            let b = n.bounds()?;
            Some(serde_json::json!({
                "role": format!("{:?}", n.role()),
                "label": n.label(),
                "value": n.value(),
                "disabled": n.is_disabled(),
                "rect": [b.x0, b.y0, b.x1, b.y1],
            }))
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Turns on what the browser tests read: egui's accessibility tree,
/// exposed by [`widgets`] from the next frame on.
#[wasm_bindgen]
pub fn enable_test_hooks() {
    TESTING.with(|t| t.set(true));
    APP.with(|a| {
        if let Some(app) = a.borrow().as_ref() {
            if let Ok(app) = app.try_borrow() {
                app.request_repaint();
            }
        }
    });
}

/// The last frame's widgets (see [`enable_test_hooks`]), as JSON.
#[wasm_bindgen]
pub fn widgets() -> String {
    WIDGETS.with(|w| w.borrow().clone())
}

/// Starts the viewer in the canvas with id `canvas_id`; opens the archive
/// at `?archive=URL` when the page's address names one, or with several
/// (`?archive=URL&archive=URL2…`, the files of a series) the newest
/// generation among them, or generation N with `&generation=N`; with
/// `&issuer=URL` (repeatable), the issuer's statements of succession
/// (SPEC §37) the series is read with.
#[wasm_bindgen]
pub async fn start(canvas_id: String) -> Result<(), JsValue> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let canvas: web_sys::HtmlCanvasElement = doc
        .get_element_by_id(&canvas_id)
        .ok_or_else(|| format!("no element #{canvas_id}"))?
        .dyn_into()?;
    let app = Rc::new(RefCell::new(App::new(
        Box::new(platform::Web::default()),
        None,
    )));
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    let runner = eframe::WebRunner::new();
    runner
        .start(
            canvas,
            eframe::WebOptions::default(),
            Box::new(move |cc| {
                platform::install(&cc.egui_ctx);
                Ok(Box::new(Shell(app)))
            }),
        )
        .await?;
    if let Some(params) = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
    {
        // `?archive=URL`, repeated for the files of a series (SPEC §33),
        // and `&generation=N` to show generation N of them.
        let urls: Vec<String> = params
            .get_all("archive")
            .iter()
            .filter_map(|v| v.as_string())
            .collect();
        let generation = params.get("generation").and_then(|g| g.trim().parse().ok());
        // `&issuer=URL`, repeated: the issuer's handovers and revocations
        // (SPEC §37) the series is read with.
        let issuers: Vec<String> = params
            .get_all("issuer")
            .iter()
            .filter_map(|v| v.as_string())
            .collect();
        platform::set_issuers(&issuers);
        if urls.len() == 1 && generation.is_none() {
            platform::open_url(&urls[0]);
        } else if !urls.is_empty() {
            platform::open_series(&urls, generation);
        }
    }
    // The runner lives as long as the page.
    std::mem::forget(runner);
    Ok(())
}

/// Opens an archive by URL (any server answering range requests).
#[wasm_bindgen]
pub fn open_url(url: String) {
    platform::open_url(&url);
}

/// What the window shows, as JSON (`App::summary`): the browser tests'
/// view of the page.
#[wasm_bindgen]
pub fn summary() -> String {
    APP.with(|a| {
        a.borrow()
            .as_ref()
            .and_then(|app| {
                app.try_borrow_mut()
                    .ok()
                    .map(|mut app| app.summary().to_string())
            })
            .unwrap_or_else(|| "null".into())
    })
}

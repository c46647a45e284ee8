//! The record tab: a record's view from its decoder, page by page, or
//! its first bytes raw when the decoder cannot show it.

use std::sync::Arc;

use egui::{RichText, Ui};
use legation_format::catalog::CatalogRecord;
use legation_html::hex_dump;
use legation_reader::decode::Host;
use legation_reader::Unlocked;

use super::export::ExportWhat;
use super::records::Browser;
use super::Env;
use crate::catalog::human_size;

/// Why a format 1.x record has no proof to export.
const NO_PROOF: &str = "No proof for this record: a format 1.x archive carries no records tree \
     for a proof to follow. legation convert rewrites it as format 2.0, whose records can be proved.";
use crate::document::DocumentView;
use crate::jobs::Job;
use crate::reading::{check_view_with, render_first, Failed, RAW_PREVIEW};

/// The record shown in the record tab.
pub(super) struct OpenRecord {
    pub(super) rec: CatalogRecord,
    pub(super) state: RecordState,
}

/// Where the open record's view stands.
pub(super) enum RecordState {
    Rendering(Job<Result<Box<Rendered>, Failed>>),
    /// The decoder runs where the platform offloads work; its documents
    /// are checked and laid out here (`usize`: the largest texture side).
    /// With a reason, the record's own decoder did not show it (why) and
    /// this is the archive's raw decoder in its place.
    Away(
        Job<Result<crate::platform::RenderedRecord, String>>,
        usize,
        Option<String>,
    ),
    /// The decoder could not show it (why); its first bytes are being
    /// read where the platform offloads reading.
    Raw(String, Job<Result<Vec<u8>, String>>),
    Shown(Box<Rendered>),
    Failed(Failed),
}

/// A record's view, shown.
pub(super) struct Rendered {
    pub(super) view: DocumentView,
    /// Whether the view hashes to the one recorded at packing.
    pub(super) matches_recorded: Option<bool>,
    /// Why the record's own decoder did not show it, when this is the
    /// view of the archive's raw decoder in its place (SPEC §15.4).
    pub(super) refused: Option<String>,
    /// The largest texture side, for the images of pages decoded later.
    pub(super) max_side: usize,
    /// The page being decoded (1-based) and its canonical CBOR to come.
    pub(super) page_job: Option<(usize, PageJob)>,
}

/// A page's canonical CBOR, or why it cannot be decoded.
pub(super) type PageJob = Job<Result<Vec<u8>, String>>;

impl Browser {
    pub(super) fn record_ui(&mut self, ui: &mut Ui, env: &Env<'_>, archive_name: &str) {
        let Some(o) = &mut self.open else {
            ui.label("Choose a record in the list (arrows and Enter work too).");
            return;
        };
        heading_ui(ui, &o.rec);
        let shown = matches!(o.state, RecordState::Shown(_));
        let busy = self.export.job.is_some() || self.export.away.is_some();
        let mut export = None;
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Export original…"))
                .on_hover_text("Save the record's bytes, checked against its BLAKE3")
                .clicked()
            {
                export = Some(ExportWhat::Original);
            }
            if ui
                .add_enabled(!busy && shown, egui::Button::new("Export view as HTML…"))
                .on_hover_text("Save the view as one self-contained HTML file")
                .clicked()
            {
                export = Some(ExportWhat::Html);
            }
            // A proof needs the records tree of format 2.0.
            let tree = self.unlocked.archive().is_v2();
            let proof = ui
                .add_enabled(!busy && tree, egui::Button::new("Export proof…"))
                .on_hover_text(
                    "Save a one-record proof: that this record, with these bytes, is in the \
                     archive the issuer signed; legation check-proof checks it without the archive",
                )
                .on_disabled_hover_text(NO_PROOF);
            if proof.clicked() {
                export = Some(ExportWhat::Proof);
            }
            if busy {
                super::live::spinner(ui);
            }
        });
        if !self.unlocked.archive().is_v2() {
            ui.label(RichText::new(NO_PROOF).small().weak());
        }
        if let Some(m) = &self.export.message {
            ui.label(m);
        }
        ui.separator();
        o.view_ui(ui);
        if let Some(what) = export {
            let suggested = match what {
                ExportWhat::Original => {
                    o.rec.path.rsplit('/').next().unwrap_or("record").to_owned()
                }
                ExportWhat::Html => {
                    format!("{}.html", o.rec.path.rsplit('/').next().unwrap_or("record"))
                }
                ExportWhat::Proof => {
                    format!(
                        "{}.proof",
                        o.rec.path.rsplit('/').next().unwrap_or("record")
                    )
                }
            };
            if let Some(p) = env.pick_save(&suggested, what) {
                self.export.chosen = Some((p, what));
            }
        }
        if let Some((p, what)) = self.export.chosen.take() {
            if p.exists() {
                self.export.confirm = Some((p, what));
            } else {
                self.start_export(env, p, what, false, archive_name);
            }
        }
    }
}

/// The record's title in full, then where it lies and what it is.
pub(super) fn heading_ui(ui: &mut Ui, rec: &CatalogRecord) {
    if !rec.title.is_empty() {
        ui.label(RichText::new(&rec.title).strong().size(16.0));
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(&rec.path).strong().monospace());
        ui.label(RichText::new(format!("{}, {}", rec.media_type, human_size(rec.size))).weak());
        if let Some(d) = crate::catalog::dc_date(rec) {
            ui.label(RichText::new(format!("dated {d}")).weak())
                .on_hover_text("The record's own date (Dublin Core date)");
        }
    });
}

impl OpenRecord {
    /// Takes the decoder's finished job into the state shown.
    pub(super) fn poll_rendering(&mut self) {
        if let RecordState::Rendering(j) = &mut self.state {
            if j.is_done() {
                self.state = match j.take() {
                    Some(Ok(r)) => RecordState::Shown(r),
                    Some(Err(f)) => RecordState::Failed(f),
                    None => RecordState::Failed(Failed {
                        error: "The decoder's job stopped unexpectedly.".into(),
                        raw: Err("not read".into()),
                        as_hex: true,
                    }),
                };
            }
        }
    }

    /// The record's view as it stands: decoding, the decoder's view (under
    /// why its own decoder did not show it, if it did not), or why it
    /// cannot be shown with its first bytes raw.
    pub(super) fn view_ui(&mut self, ui: &mut Ui) {
        match &mut self.state {
            RecordState::Rendering(_) | RecordState::Away(..) => {
                ui.horizontal(|ui| {
                    super::live::spinner(ui);
                    ui.label("Decoding…");
                });
            }
            RecordState::Raw(..) => {
                ui.horizontal(|ui| {
                    super::live::spinner(ui);
                    ui.label("Reading its first bytes…");
                });
            }
            RecordState::Shown(r) => {
                if let Some(reason) = &r.refused {
                    refused_ui(ui, reason);
                }
                r.view.pane_ui(ui, ("record view", &self.rec.path))
            }
            RecordState::Failed(f) => failed_ui(ui, f),
        }
    }
}

/// Above the raw decoder's view of a record its own decoder did not
/// show: why not.
fn refused_ui(ui: &mut Ui, reason: &str) {
    ui.colored_label(
        ui.visuals().warn_fg_color,
        format!("Its decoder does not show this record: {reason}"),
    );
    ui.label(
        RichText::new(
            "Shown below through the archive's raw decoder: its size, byte statistics and \
             first bytes. The record's bytes are intact and can be exported.",
        )
        .weak(),
    );
    ui.separator();
}

/// A record its decoder cannot show: why, and its first bytes.
fn failed_ui(ui: &mut Ui, f: &mut Failed) {
    ui.colored_label(
        ui.visuals().error_fg_color,
        format!("This record cannot be shown: {}", f.error),
    );
    match &f.raw {
        Err(e) => {
            ui.label(format!("Its bytes cannot be read either: {e}"));
        }
        Ok(bytes) => {
            ui.horizontal(|ui| {
                ui.label(format!("Its first {} bytes, raw:", bytes.len()));
                ui.selectable_value(&mut f.as_hex, true, "Hex");
                ui.selectable_value(&mut f.as_hex, false, "Text");
            });
            let text = if f.as_hex {
                hex_dump(bytes)
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            };
            egui::ScrollArea::both()
                .id_salt("raw bytes")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    ui.add(
                        egui::Label::new(RichText::new(text).monospace())
                            .wrap_mode(egui::TextWrapMode::Extend),
                    );
                });
        }
    }
}

/// Renders a record for the record tab; where its decoder does not show
/// it, through the archive's raw decoder with the reason; where that
/// fails too, says why and keeps its first bytes for the raw view.
pub(super) fn render(
    u: &Unlocked,
    host: &Host,
    rec: &CatalogRecord,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let limits = &host.limits().view;
    match render_first(u, host, rec) {
        Err(reason) => {
            let raw = through_raw(u, rec).map(|raw| render_first(u, host, &raw));
            finish_raw(u, rec, reason, raw, limits, max_texture_side)
        }
        r => finish(u, rec, r, limits, max_texture_side),
    }
}

/// The record as the archive's raw decoder would take it (the last
/// decoder for `*/*`), when it has a decoder of its own that is not that
/// one: what shows a record its decoder refuses or fails on.
pub(super) fn through_raw(u: &Unlocked, rec: &CatalogRecord) -> Option<CatalogRecord> {
    let raw = u.archive().raw_decoder()?;
    match rec.decoder.as_deref() {
        Some(own) if own != raw => Some(CatalogRecord {
            decoder: Some(raw.to_owned()),
            ..rec.clone()
        }),
        _ => None,
    }
}

/// The raw decoder's view `raw` of a record its decoder did not show
/// (why: `reason`), with the reason above it; if there is none or it
/// fails too, the record's first bytes under the reason.
pub(super) fn finish_raw(
    u: &Unlocked,
    rec: &CatalogRecord,
    reason: String,
    raw: Option<Result<crate::platform::RenderedRecord, String>>,
    limits: &legation_document::Limits,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let first = || u.read_range(rec, 0, RAW_PREVIEW).map_err(|e| e.to_string());
    finish_raw_with(&first, rec, reason, raw, limits, max_texture_side)
}

/// [`finish_raw`] for a record whose first bytes `first` reads,
/// wherever it is stored.
pub(super) fn finish_raw_with(
    first: &dyn Fn() -> Result<Vec<u8>, String>,
    rec: &CatalogRecord,
    reason: String,
    raw: Option<Result<crate::platform::RenderedRecord, String>>,
    limits: &legation_document::Limits,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let shown = match raw {
        Some(Ok(r)) => finish_with(first, rec, Ok(r), limits, max_texture_side).ok(),
        _ => None,
    };
    match shown {
        Some(shown) => Ok(Rendered {
            matches_recorded: None,
            refused: Some(reason),
            ..shown
        }),
        None => finish_with(first, rec, Err(reason), limits, max_texture_side),
    }
}

/// Checks and lays out a decoder's documents, or says why the record
/// shows raw (with its first bytes).
pub(super) fn finish(
    u: &Unlocked,
    rec: &CatalogRecord,
    r: Result<crate::platform::RenderedRecord, String>,
    limits: &legation_document::Limits,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let first = || u.read_range(rec, 0, RAW_PREVIEW).map_err(|e| e.to_string());
    finish_with(&first, rec, r, limits, max_texture_side)
}

/// [`finish`] for a record whose first bytes `first` reads, wherever it
/// is stored.
pub(super) fn finish_with(
    first: &dyn Fn() -> Result<Vec<u8>, String>,
    rec: &CatalogRecord,
    r: Result<crate::platform::RenderedRecord, String>,
    limits: &legation_document::Limits,
    max_texture_side: usize,
) -> Result<Rendered, Failed> {
    let checked = check_view_with(first, rec, r, limits)?;
    let mut view = DocumentView::new(checked.main, checked.first_page);
    view.prepare_images(max_texture_side);
    Ok(Rendered {
        view,
        matches_recorded: checked.matches_recorded,
        refused: None,
        max_side: max_texture_side,
        page_job: None,
    })
}

impl Rendered {
    /// Shows a page decoded since the last frame, and starts decoding the
    /// page the reader turned to (one at a time; where the platform
    /// offloads decoders, there).
    pub(super) fn pages(&mut self, env: &Env<'_>, u: &Arc<Unlocked>, rec: &CatalogRecord) {
        self.pages_with(|index, count| match env.platform.offload() {
            Some(away) => {
                away.render_page(env.archive, u.data_key(), rec, index, count, env.waker())
            }
            None => {
                let (u, rec, host) = (u.clone(), rec.clone(), env.host.clone());
                let make_host = env.platform.decoder_host();
                env.spawn(move |_| {
                    u.render_page(host.get_or_init(make_host), &rec, index, count)
                        .map_err(|e| e.to_string())
                })
            }
        });
    }

    /// [`Rendered::pages`], the page the reader turned to (0-based of
    /// `count`) decoded by the job `start` gives.
    pub(super) fn pages_with(&mut self, start: impl FnOnce(u32, u32) -> PageJob) {
        if let Some((page, j)) = &mut self.page_job {
            if !j.is_done() {
                return;
            }
            let page = *page;
            let limits = legation_reader::decode::HostLimits::default().view;
            let doc = j
                .take()
                .unwrap_or_else(|| Err("the decoder's job stopped unexpectedly".into()))
                .and_then(|cbor| {
                    legation_document::Document::from_cbor(&cbor, &limits)
                        .map_err(|e| format!("the decoder's view is invalid: {e}"))
                });
            self.page_job = None;
            match doc {
                Ok(doc) => self.view.show_page(page, doc, self.max_side),
                Err(e) => self.view.page_failed(page, e),
            }
        }
        let Some(page) = self.view.wanted_page() else {
            return;
        };
        let (index, count) = ((page - 1) as u32, self.view.pages() as u32);
        self.page_job = Some((page, start(index, count)));
    }
}

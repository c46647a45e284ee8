//! The record browser: the folder tree, the virtual record list with
//! search and sort, keyboard navigation, and the tabs beside it (the
//! record, its details, the archive's verification).

use std::sync::Arc;

use egui::{Align, Key, Modifiers, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use legation_reader::{Archive, Unlocked};

use super::export::Export;
use super::record::{finish, render, OpenRecord, RecordState};
use super::verify::VerifyPanel;
use super::Env;
use crate::catalog::{human_size, Catalog, SortKey};
use crate::jobs::Job;
use crate::reading::Failed;

/// Lists up to this long are searched and sorted within the frame;
/// longer ones beside it (a million rows take a quarter of a second).
const SELECT_IN_FRAME: usize = 100_000;

/// An unlocked archive: its record list and the tabs beside it.
pub(super) struct Browser {
    pub(super) unlocked: Arc<Unlocked>,
    /// The job reading the catalog, and the rows it sends as it goes.
    pub(super) loading: Option<Job<Result<bool, String>>>,
    pub(super) batches: std::sync::mpsc::Receiver<crate::catalog::Batch>,
    /// A search or sort of a large list, running beside the window.
    pub(super) selecting: Option<Job<Vec<u32>>>,
    /// The search for the record stored in a container entry.
    pub(super) finding: Option<Job<Result<String, String>>>,
    pub(super) catalog: Arc<Catalog>,
    pub(super) load_error: Option<String>,
    pub(super) query: String,
    pub(super) folder: String,
    pub(super) sort: SortKey,
    pub(super) descending: bool,
    pub(super) visible: Vec<u32>,
    pub(super) stale: bool,
    pub(super) cursor: Option<usize>,
    pub(super) scroll_to_cursor: bool,
    pub(super) open: Option<OpenRecord>,
    pub(super) tab: Tab,
    pub(super) export: Export,
}

/// The tab beside the record list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Record,
    Details,
    Verify,
}

impl Browser {
    fn poll(&mut self, env: &Env<'_>) {
        if let Some(j) = &mut self.finding {
            if j.is_done() {
                match j.take() {
                    Some(Ok(path)) => {
                        if let Some(i) = self.catalog.position(&path) {
                            self.cursor = self.visible.iter().position(|&v| v as usize == i);
                        }
                        self.open_record(env, &path);
                    }
                    Some(Err(e)) => self.load_error = Some(e),
                    None => self.load_error = Some("The search stopped unexpectedly.".into()),
                }
                self.finding = None;
            }
        }
        if let Some(j) = &mut self.selecting {
            if j.is_done() {
                if let Some(v) = j.take() {
                    self.visible = v;
                    self.cursor = self.cursor.filter(|&c| c < self.visible.len());
                }
                self.selecting = None;
            }
        }
        // Rows arrive a few pages at a time: the list grows while the
        // rest of the catalog is read. They wait while a search holds the
        // catalog, so that adding them never copies it.
        let drain = |b: &mut Browser| {
            while b.selecting.is_none() {
                let Ok(batch) = b.batches.try_recv() else {
                    break;
                };
                Arc::make_mut(&mut b.catalog).append(batch);
                b.stale = true;
            }
        };
        drain(self);
        if let Some(j) = self.loading.as_mut().filter(|_| self.selecting.is_none()) {
            if j.is_done() {
                let r = j.take();
                drain(self);
                match r {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        self.load_error = Some(format!("The catalog cannot be read: {e}"))
                    }
                    None => {
                        self.load_error = Some("Loading the catalog stopped unexpectedly.".into())
                    }
                }
                self.loading = None;
                self.stale = true;
            }
        }
        // A large list is searched and sorted beside the window, one
        // question at a time: one asked meanwhile waits for the running
        // one (whose answer shows until then), then starts.
        // The catalog's own order needs no search: it is always answered
        // within the frame.
        let trivial =
            self.query.trim().is_empty() && self.folder.is_empty() && self.sort == SortKey::Path;
        let in_frame = trivial || self.catalog.rows.len() <= SELECT_IN_FRAME;
        if self.stale && (in_frame || self.selecting.is_none()) {
            self.stale = false;
            let (q, f, s, d) = (
                self.query.clone(),
                self.folder.clone(),
                self.sort,
                self.descending,
            );
            if in_frame {
                self.visible = self.catalog.select(&q, &f, s, d);
                self.cursor = self.cursor.filter(|&c| c < self.visible.len());
            } else {
                let catalog = self.catalog.clone();
                self.selecting = Some(env.spawn(move |_| catalog.select(&q, &f, s, d)));
            }
        }
        if let Some(o) = &mut self.open {
            if let RecordState::Away(j, max_side) = &mut o.state {
                if j.is_done() {
                    let r = j
                        .take()
                        .unwrap_or_else(|| Err("the decoder's job stopped unexpectedly".into()));
                    let limits = legation_reader::decode::HostLimits::default().view;
                    o.state = match finish(&self.unlocked, &o.rec, r, &limits, *max_side) {
                        Ok(r) => RecordState::Shown(Box::new(r)),
                        Err(f) => RecordState::Failed(f),
                    };
                }
            }
            if let RecordState::Rendering(j) = &mut o.state {
                if j.is_done() {
                    o.state = match j.take() {
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
            if let RecordState::Shown(r) = &mut o.state {
                r.pages(env, &self.unlocked, &o.rec);
            }
        }
        if let Some(j) = &mut self.export.job {
            if j.is_done() {
                self.export.message = Some(match j.take() {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => e,
                    None => "The export stopped unexpectedly; nothing was written.".into(),
                });
                self.export.job = None;
            }
        }
    }

    /// Looks for the record stored in container entry `entry` (the catalog
    /// is read page by page, beside the window), then opens it.
    fn find_entry(&mut self, env: &Env<'_>, entry: String) {
        let u = self.unlocked.clone();
        self.finding = Some(env.spawn(move |p| {
            let pages = u.index().pages.len();
            for n in 0..pages {
                if !p.set(n as u64, pages as u64) {
                    break;
                }
                let page = u.page(n).map_err(|e| e.to_string())?;
                if let Some(r) = page.records.iter().find(|r| r.entry == entry) {
                    return Ok(r.path.clone());
                }
            }
            Err(format!("{entry}: no record of the catalog is stored there"))
        }));
    }

    fn open_record(&mut self, env: &Env<'_>, path: &str) {
        let rec = match self.unlocked.find(path) {
            Ok(r) => r,
            Err(e) => {
                self.load_error = Some(e.to_string());
                return;
            }
        };
        let u = self.unlocked.clone();
        let host = env.host.clone();
        let r2 = rec.clone();
        let make_host = env.platform.decoder_host();
        let max_side = env.ctx.map_or(2048, |c| c.input(|i| i.max_texture_side));
        let state = match env.platform.offload() {
            Some(away) => RecordState::Away(
                away.render(env.archive, u.data_key(), &rec, env.waker()),
                max_side,
            ),
            None => RecordState::Rendering(env.spawn(move |_| {
                render(&u, host.get_or_init(make_host), &r2, max_side).map(Box::new)
            })),
        };
        self.export.message = None;
        self.open = Some(OpenRecord { rec, state });
        if self.tab == Tab::Verify {
            self.tab = Tab::Record;
        }
    }

    pub(super) fn ui(
        &mut self,
        ui: &mut Ui,
        env: &Env<'_>,
        archive: &Archive,
        verify: &mut VerifyPanel,
        name: &str,
    ) {
        self.poll(env);
        let search_id = egui::Id::unique("record search");
        let mut open_path: Option<String> = None;
        // Keyboard: Ctrl+F searches; arrows move in the list; Enter opens.
        let (find, down, up, enter) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::F),
                i.num_presses(Key::ArrowDown),
                i.num_presses(Key::ArrowUp),
                i.key_pressed(Key::Enter),
            )
        });
        let focus = ui.memory(|m| m.focused());
        let list_keys = focus.is_none() || focus == Some(search_id);
        if find {
            ui.memory_mut(|m| m.request_focus(search_id));
        }
        if list_keys && !self.visible.is_empty() {
            let last = self.visible.len() - 1;
            // Several presses may arrive in one frame (key repeat).
            if down > 0 {
                let c = self.cursor.map_or(down - 1, |c| c + down);
                self.cursor = Some(c.min(last));
                self.scroll_to_cursor = true;
            }
            if up > 0 {
                self.cursor = Some(self.cursor.map_or(0, |c| c.saturating_sub(up)));
                self.scroll_to_cursor = true;
            }
            if enter {
                if let Some(c) = self.cursor {
                    open_path = Some(self.catalog.rows[self.visible[c] as usize].path.clone());
                }
            }
        }

        egui::Panel::left("folders")
            .resizable(true)
            .default_size(170.0)
            .show(ui, |ui| {
                ui.strong("Folders");
                egui::ScrollArea::vertical()
                    .id_salt("folder tree")
                    .show(ui, |ui| {
                        if ui
                            .selectable_label(self.folder.is_empty(), "All records")
                            .clicked()
                        {
                            self.folder.clear();
                            self.stale = true;
                        }
                        let catalog = self.catalog.clone();
                        folder_tree(ui, &catalog, "", &mut self.folder, &mut self.stale);
                    });
            });

        egui::Panel::left("records")
            .resizable(true)
            .default_size(560.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let l = ui.label("Search");
                    let r = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.query)
                                .id(search_id)
                                .hint_text("title, path or metadata (Ctrl+F)")
                                .desired_width(280.0),
                        )
                        .labelled_by(l.id);
                    if r.changed() {
                        self.stale = true;
                        self.cursor = None;
                    }
                });
                if let Some(j) = &self.loading {
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::ProgressBar::new(j.fraction())
                                .text("Reading the catalog…")
                                .desired_width(300.0),
                        );
                    });
                }
                if let Some(e) = &self.load_error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "{} of {} records",
                            self.visible.len(),
                            self.catalog.rows.len()
                        ))
                        .small(),
                    );
                    if self.selecting.is_some() {
                        ui.spinner();
                        ui.label(RichText::new("searching…").small());
                    }
                });
                if let Some(p) = self.record_table(ui) {
                    open_path = Some(p);
                }
            });

        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Record, "Record");
                ui.selectable_value(&mut self.tab, Tab::Details, "Details");
                ui.selectable_value(&mut self.tab, Tab::Verify, "Verify archive");
            });
            ui.separator();
            match self.tab {
                Tab::Verify => {
                    egui::ScrollArea::vertical()
                        .id_salt("verify")
                        .show(ui, |ui| {
                            let mut sel = None;
                            verify.ui(ui, env, archive, Some(&self.unlocked), Some(&mut sel));
                            match sel {
                                Some(s) if s.starts_with(legation_format::RECORD_PREFIX) => {
                                    self.find_entry(env, s)
                                }
                                Some(s) => open_path = Some(s),
                                None => {}
                            }
                        });
                }
                Tab::Details => {
                    egui::ScrollArea::vertical()
                        .id_salt("details")
                        .show(ui, |ui| {
                            self.details_ui(ui, archive, verify.report.as_ref());
                        });
                }
                Tab::Record => self.record_ui(ui, env, name),
            }
        });
        self.export_confirm(ui, env, name);

        if let Some(p) = open_path {
            if let Some(i) = self.catalog.position(&p) {
                self.cursor = self.visible.iter().position(|&v| v as usize == i);
            }
            self.open_record(env, &p);
        }
    }

    /// The record list; returns a record path the user opened.
    fn record_table(&mut self, ui: &mut Ui) -> Option<String> {
        let mut opened = None;
        let mut sort_by = None;
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let catalog = self.catalog.clone();
        let mut tb = TableBuilder::new(ui)
            .id_salt("record list")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(Align::Center))
            .column(Column::initial(220.0).at_least(80.0).clip(true))
            .column(Column::initial(110.0).at_least(40.0).clip(true))
            .column(Column::initial(90.0).at_least(40.0).clip(true))
            .column(Column::remainder().at_least(60.0).clip(true));
        if self.scroll_to_cursor {
            if let Some(c) = self.cursor {
                tb = tb.scroll_to_row(c, None);
            }
            self.scroll_to_cursor = false;
        }
        let sort = self.sort;
        let desc = self.descending;
        tb.header(row_h, |mut h| {
            for (key, name) in [
                (SortKey::Title, "Title"),
                (SortKey::Type, "Type"),
                (SortKey::Date, "Date"),
                (SortKey::Size, "Size"),
            ] {
                h.col(|ui| {
                    let mark = if sort == key {
                        if desc {
                            " ▼"
                        } else {
                            " ▲"
                        }
                    } else {
                        ""
                    };
                    if ui
                        .button(RichText::new(format!("{name}{mark}")).strong())
                        .on_hover_text(format!("Sort by {}", name.to_lowercase()))
                        .clicked()
                    {
                        sort_by = Some(key);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_h, self.visible.len(), |mut row| {
                let i = row.index();
                let r = &catalog.rows[self.visible[i] as usize];
                row.set_selected(self.cursor == Some(i));
                let mut clicked = false;
                row.col(|ui| {
                    clicked |= ui
                        .selectable_label(self.cursor == Some(i), &r.title)
                        .on_hover_text(&r.path)
                        .clicked();
                });
                row.col(|ui| {
                    ui.label(catalog.media_type(r));
                });
                row.col(|ui| {
                    ui.label(r.date.as_deref().unwrap_or("–"));
                });
                row.col(|ui| {
                    ui.with_layout(egui::Layout::right_to_left(Align::Center), |ui| {
                        ui.label(human_size(r.size));
                    });
                });
                if clicked || row.response().clicked() {
                    self.cursor = Some(i);
                    opened = Some(r.path.clone());
                }
            });
        });
        if let Some(k) = sort_by {
            if self.sort == k {
                self.descending = !self.descending;
            } else {
                self.sort = k;
                self.descending = false;
            }
            self.stale = true;
        }
        opened
    }
}

fn folder_tree(
    ui: &mut Ui,
    catalog: &Catalog,
    parent: &str,
    selected: &mut String,
    stale: &mut bool,
) {
    for f in catalog.subfolders(parent) {
        let name = f.rsplit('/').next().unwrap_or(f);
        let has_children = catalog.subfolders(f).next().is_some();
        if has_children {
            let id = ui.make_persistent_id(("folder", f));
            egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, false)
                .show_header(ui, |ui| {
                    if ui.selectable_label(selected == f, name).clicked() {
                        *selected = f.to_owned();
                        *stale = true;
                    }
                })
                .body(|ui| folder_tree(ui, catalog, f, selected, stale));
        } else if ui.selectable_label(selected == f, name).clicked() {
            *selected = f.to_owned();
            *stale = true;
        }
    }
}

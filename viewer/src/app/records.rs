//! The record browser: the folder tree, the virtual record list with
//! search and sort, keyboard navigation, and the tabs beside it (the
//! record, its details, the archive's verification).

use std::sync::mpsc::Receiver;
use std::sync::Arc;

use egui::{Align, Key, Modifiers, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use legation_reader::{Archive, Level, Unlocked};

use super::export::Export;
use super::record::{finish, finish_raw, render, through_raw, OpenRecord, RecordState};
use super::verify::VerifyPanel;
use super::Env;
use crate::catalog::{
    self, human_size, Folders, Found, PageCache, Positions, Question, Row, SortKey, RESULTS_MAX,
};
use crate::document::thousands;
use crate::jobs::Job;
use crate::reading::{Failed, RAW_PREVIEW};
use legation_format::catalog::CatalogRecord;

/// Rows the list in path order spans at once. egui places rows in `f32`
/// points, exact to a point up to 2^24: 500,000 rows of about 24 points
/// stay within it. A larger archive is listed a window at a time, moved
/// by the slider above the list.
pub(super) const LIST_WINDOW: u64 = 500_000;

/// Reading one catalog page's rows for the list.
pub(super) type PageJob = Job<Result<Vec<Row>, String>>;

/// An unlocked archive: its record list and the tabs beside it.
pub(super) struct Browser {
    pub(super) unlocked: Arc<Unlocked>,
    /// Where each page's records start (from the index: no page read).
    pub(super) positions: Positions,
    /// The last pages of rows read for the list in path order.
    pub(super) cache: PageCache,
    /// The page being read for the list, and its job.
    pub(super) fetching: Option<(usize, PageJob)>,
    /// A page the list showed and does not hold (set while drawing).
    pub(super) want: Option<usize>,
    /// The pass gathering the folder tree, and the folders it sends.
    pub(super) surveying: Option<Job<Result<bool, String>>>,
    pub(super) folder_batches: Receiver<Folders>,
    /// The folders seen so far, sorted.
    pub(super) folders: Vec<String>,
    /// Whether the folder tree stopped at [`catalog::FOLDERS_MAX`].
    pub(super) folders_cut: bool,
    /// Whether a pass gathered the folder tree to its end.
    pub(super) folders_gathered: bool,
    /// What the pass reads: every catalog page's stored bytes.
    pub(super) catalog_bytes: u64,
    /// A search or a folder (or a small archive sorted by a column): the
    /// rows it keeps. `None` lists the archive in path order.
    pub(super) results: Option<Results>,
    /// The search for the record stored in a container entry.
    pub(super) finding: Option<Job<Result<String, String>>>,
    /// The catalog record being looked up to open, where the platform
    /// reads away from the window.
    pub(super) locating: Option<Job<Result<CatalogRecord, String>>>,
    /// A verification problem's subject looked up as a record path (where
    /// the platform reads away from the window): a record opens; if
    /// there is none, the subject is an entry, found as one.
    pub(super) placing: Option<(String, Job<Result<CatalogRecord, String>>)>,
    /// What a 2.0 entry a problem named holds (from the index).
    pub(super) entry_note: Option<String>,
    pub(super) load_error: Option<String>,
    /// Why the list is not sorted as asked.
    pub(super) sort_note: Option<String>,
    pub(super) query: String,
    pub(super) folder: String,
    pub(super) sort: SortKey,
    pub(super) descending: bool,
    /// The first record of the list's window (path order).
    pub(super) base: u64,
    pub(super) stale: bool,
    pub(super) cursor: Option<usize>,
    pub(super) scroll_to_cursor: bool,
    pub(super) open: Option<OpenRecord>,
    pub(super) tab: Tab,
    pub(super) export: Export,
}

/// The rows of a search or folder, streamed in beside the window.
pub(super) struct Results {
    pub(super) question: Question,
    /// At most [`RESULTS_MAX`] matching rows, in path order.
    pub(super) rows: Vec<Row>,
    /// The order shown: positions into `rows`.
    pub(super) order: Vec<u32>,
    /// Matches so far, kept or not.
    pub(super) matched: u64,
    /// The sort `order` follows.
    pub(super) sorted: (SortKey, bool),
    pub(super) job: Option<Job<Result<bool, String>>>,
    batches: Receiver<Found>,
}

/// The tab beside the record list.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Record,
    Details,
    Verify,
}

impl Browser {
    /// The browser of a freshly unlocked archive: the list's length comes
    /// from the index and its first page is read at once. The folder
    /// survey (every page) starts at once for an archive of at most
    /// [`catalog::SURVEY_PAGES_MAX`] pages; a larger one offers it.
    pub(super) fn new(env: &Env<'_>, unlocked: Arc<Unlocked>) -> Browser {
        let positions = Positions::of(&unlocked);
        let mut b = Browser {
            want: (positions.total() > 0).then_some(0),
            positions,
            cache: PageCache::default(),
            fetching: None,
            surveying: None,
            folder_batches: std::sync::mpsc::channel().1,
            folders: Vec::new(),
            folders_cut: false,
            folders_gathered: false,
            catalog_bytes: catalog::catalog_bytes(&unlocked),
            unlocked,
            results: None,
            finding: None,
            locating: None,
            placing: None,
            entry_note: None,
            load_error: None,
            sort_note: None,
            query: String::new(),
            folder: String::new(),
            sort: SortKey::Path,
            descending: false,
            base: 0,
            stale: false,
            cursor: None,
            scroll_to_cursor: false,
            open: None,
            tab: Tab::Record,
            export: Export::default(),
        };
        b.fetch(env);
        if catalog::survey_at_unlock(&b.unlocked) {
            b.survey(env);
        }
        b
    }

    /// Starts the pass gathering the folder tree (it reads every page).
    fn survey(&mut self, env: &Env<'_>) {
        if self.surveying.is_some() {
            return;
        }
        let (job, folder_batches) = match env.platform.offload() {
            Some(away) => away.survey(env.archive, self.unlocked.data_key(), env.waker()),
            None => {
                let u = self.unlocked.clone();
                let (tx, folder_batches) = std::sync::mpsc::channel();
                let job = env.spawn(move |p| catalog::survey(&u, p, &mut |b| tx.send(b).is_ok()));
                (job, folder_batches)
            }
        };
        self.folders.clear();
        self.folders_cut = false;
        self.folder_batches = folder_batches;
        self.surveying = Some(job);
    }

    /// The number of records in the archive.
    pub(super) fn total(&self) -> u64 {
        self.positions.total()
    }

    /// How many rows the list shows.
    pub(super) fn shown(&self) -> usize {
        match &self.results {
            Some(r) => r.order.len(),
            None => (self.total() - self.base.min(self.total())).min(LIST_WINDOW) as usize,
        }
    }

    /// Row `i` of the list, if read.
    pub(super) fn row(&self, i: usize) -> Option<&Row> {
        match &self.results {
            Some(r) => r.rows.get(*r.order.get(i)? as usize),
            None => {
                let (page, at) = self.positions.locate(self.base + i as u64)?;
                self.cache.get(page)?.get(at)
            }
        }
    }

    /// Whether the list shows its first rows (or knows it has none) and
    /// no search runs.
    pub(super) fn listed(&self) -> bool {
        !self.stale
            && match &self.results {
                Some(r) => r.job.is_none(),
                None => self.shown() == 0 || self.row(0).is_some(),
            }
    }

    /// Whether a job of the list runs or is about to start.
    pub(super) fn list_busy(&self) -> bool {
        // A question asked this frame is answered from the next.
        self.stale
            || self.fetching.is_some()
            || self.surveying.is_some()
            || self.results.as_ref().is_some_and(|r| r.job.is_some())
    }

    /// Starts reading the page the list wants, one at a time.
    fn fetch(&mut self, env: &Env<'_>) {
        if self.fetching.is_some() {
            return;
        }
        let Some(n) = self.want.take() else { return };
        if self.cache.get(n).is_some() {
            return;
        }
        let job = match env.platform.offload() {
            Some(away) => away.read_page(env.archive, self.unlocked.data_key(), n, env.waker()),
            None => {
                let u = self.unlocked.clone();
                env.spawn(move |_| catalog::read_page(&u, n))
            }
        };
        self.fetching = Some((n, job));
    }

    /// Starts answering the question the search field and the folder ask,
    /// or goes back to the archive's own order.
    fn ask(&mut self, env: &Env<'_>) {
        self.sort_note = None;
        let q = Question {
            query: self.query.trim().to_owned(),
            folder: self.folder.clone(),
        };
        let too_many = |n: u64, sort: SortKey| {
            format!(
                "Not sorted by {}: sorting needs every record of the list held, and this \
                 viewer holds at most {RESULTS_MAX} ({n} here). Search or choose a folder to \
                 narrow the list; it is in path order, the archive's own.",
                match sort {
                    SortKey::Path => "path",
                    SortKey::Title => "title",
                    SortKey::Type => "type",
                    SortKey::Date => "date",
                    SortKey::Size => "size",
                }
            )
        };
        if q.is_everything() && (self.sort == SortKey::Path || self.total() > RESULTS_MAX as u64) {
            if self.sort != SortKey::Path {
                self.sort_note = Some(too_many(self.total(), self.sort));
                self.sort = SortKey::Path;
                self.descending = false;
            }
            if let Some(j) = self.results.take().and_then(|r| r.job) {
                j.cancel();
            }
            self.want = Some(self.positions.locate(self.base).map_or(0, |(p, _)| p));
            return;
        }
        if let Some(r) = &mut self.results {
            if r.question == q {
                // Only the order changed: sorted once every match is in.
                if r.job.is_none() {
                    if self.sort != SortKey::Path && r.matched > r.rows.len() as u64 {
                        self.sort_note = Some(too_many(r.matched, self.sort));
                        self.sort = SortKey::Path;
                        self.descending = false;
                    }
                    let want = (self.sort, self.descending);
                    if r.sorted != want {
                        r.order = catalog::order(&r.rows, want.0, want.1);
                        r.sorted = want;
                    }
                }
                return;
            }
        }
        if let Some(j) = self.results.take().and_then(|r| r.job) {
            j.cancel();
        }
        let (job, batches) = match env.platform.offload() {
            Some(away) => away.search(env.archive, self.unlocked.data_key(), &q, env.waker()),
            None => {
                let u = self.unlocked.clone();
                let (tx, batches) = std::sync::mpsc::channel();
                let q2 = q.clone();
                let job =
                    env.spawn(move |p| catalog::search(&u, &q2, p, &mut |f| tx.send(f).is_ok()));
                (job, batches)
            }
        };
        self.results = Some(Results {
            question: q,
            rows: Vec::new(),
            order: Vec::new(),
            matched: 0,
            sorted: (SortKey::Path, false),
            job: Some(job),
            batches,
        });
    }

    fn poll(&mut self, env: &Env<'_>) {
        if let Some(j) = &mut self.locating {
            if j.is_done() {
                match j.take() {
                    Some(Ok(rec)) => self.show_record(env, rec),
                    Some(Err(e)) => self.load_error = Some(e),
                    None => {
                        self.load_error = Some("Finding the record stopped unexpectedly.".into())
                    }
                }
                self.locating = None;
            }
        }
        if let Some((_, j)) = &mut self.placing {
            if j.is_done() {
                if let Some((subject, mut j)) = self.placing.take() {
                    match j.take() {
                        Some(Ok(rec)) => self.show_record(env, rec),
                        _ => self.find_entry(env, subject),
                    }
                }
            }
        }
        if let Some(j) = &mut self.finding {
            if j.is_done() {
                match j.take() {
                    Some(Ok(path)) => self.open_record(env, &path),
                    Some(Err(e)) => self.load_error = Some(e),
                    None => self.load_error = Some("The search stopped unexpectedly.".into()),
                }
                self.finding = None;
            }
        }
        if let Some((n, j)) = &mut self.fetching {
            if j.is_done() {
                match j.take() {
                    Some(Ok(rows)) => self.cache.put(*n, rows),
                    Some(Err(e)) => {
                        self.load_error = Some(format!("The catalog cannot be read: {e}"))
                    }
                    None => {
                        self.load_error = Some("Reading the catalog stopped unexpectedly.".into())
                    }
                }
                self.fetching = None;
            }
        }
        // A page that failed is not asked for again and again.
        if self.load_error.is_none() {
            self.fetch(env);
        }
        while let Ok(b) = self.folder_batches.try_recv() {
            catalog::merge_folders(&mut self.folders, b);
        }
        if let Some(j) = &mut self.surveying {
            if j.is_done() {
                let cancelled = j.is_cancelled();
                match j.take() {
                    // Cancelled: a part of the tree would look like all of it.
                    Some(Ok(_)) if cancelled => self.folders.clear(),
                    Some(Ok(complete)) => {
                        self.folders_cut = !complete;
                        self.folders_gathered = true;
                    }
                    Some(Err(e)) => {
                        self.load_error = Some(format!("The catalog cannot be read: {e}"))
                    }
                    None => {
                        self.load_error = Some("Reading the catalog stopped unexpectedly.".into())
                    }
                }
                if !cancelled {
                    while let Ok(b) = self.folder_batches.try_recv() {
                        catalog::merge_folders(&mut self.folders, b);
                    }
                }
                self.surveying = None;
            }
        }
        if let Some(r) = &mut self.results {
            let drain = |r: &mut Results| {
                while let Ok(f) = r.batches.try_recv() {
                    r.matched += f.matched;
                    let from = r.rows.len() as u32;
                    r.rows.extend(f.rows);
                    r.order.extend(from..r.rows.len() as u32);
                }
            };
            drain(r);
            if let Some(j) = &mut r.job {
                if j.is_done() {
                    let out = j.take();
                    drain(r);
                    r.job = None;
                    match out {
                        Some(Ok(_)) => self.stale = true,
                        Some(Err(e)) => {
                            self.load_error = Some(format!("The catalog cannot be read: {e}"))
                        }
                        None => self.load_error = Some("The search stopped unexpectedly.".into()),
                    }
                }
            }
        }
        if self.stale {
            self.stale = false;
            self.ask(env);
            self.cursor = self.cursor.filter(|&c| c < self.shown());
        }
        if let Some(o) = &mut self.open {
            if let RecordState::Away(j, max_side, refused) = &mut o.state {
                if j.is_done() {
                    let r = j
                        .take()
                        .unwrap_or_else(|| Err("the decoder's job stopped unexpectedly".into()));
                    let limits = legation_reader::decode::HostLimits::default().view;
                    let (max_side, refused) = (*max_side, refused.take());
                    let raw = through_raw(&self.unlocked, &o.rec).filter(|_| refused.is_none());
                    o.state = match (r, env.platform.offload(), refused) {
                        // The record's decoder did not show it: the
                        // archive's raw decoder shows it in its place,
                        // away too.
                        (Err(e), Some(away), None) if raw.is_some() => RecordState::Away(
                            away.render(
                                env.archive,
                                self.unlocked.data_key(),
                                raw.as_ref().expect("checked"),
                                env.waker(),
                            ),
                            max_side,
                            Some(e),
                        ),
                        // The raw decoder's view, under the reason.
                        (Ok(r), _, Some(reason)) => {
                            match finish_raw(
                                &self.unlocked,
                                &o.rec,
                                reason,
                                Some(Ok(r)),
                                &limits,
                                max_side,
                            ) {
                                Ok(r) => RecordState::Shown(Box::new(r)),
                                Err(f) => RecordState::Failed(f),
                            }
                        }
                        // The first bytes for the raw view are read away
                        // too (under the first reason, if the raw decoder
                        // failed as well).
                        (Err(e), Some(away), refused) => RecordState::Raw(
                            refused.unwrap_or(e),
                            away.read_raw(
                                env.archive,
                                self.unlocked.data_key(),
                                &o.rec,
                                RAW_PREVIEW,
                                env.waker(),
                            ),
                        ),
                        (r, _, refused) => {
                            let r = match refused {
                                Some(reason) => Err(reason),
                                None => r,
                            };
                            match finish(&self.unlocked, &o.rec, r, &limits, max_side) {
                                Ok(r) => RecordState::Shown(Box::new(r)),
                                Err(f) => RecordState::Failed(f),
                            }
                        }
                    };
                }
            }
            if let RecordState::Raw(error, j) = &mut o.state {
                if j.is_done() {
                    let raw = j
                        .take()
                        .unwrap_or_else(|| Err("the reading job stopped unexpectedly".into()));
                    o.state = RecordState::Failed(Failed {
                        error: std::mem::take(error),
                        raw,
                        as_hex: true,
                    });
                }
            }
            o.poll_rendering();
            if let RecordState::Shown(r) = &mut o.state {
                r.pages(env, &self.unlocked, &o.rec);
            }
        }
        self.poll_export(env);
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

    /// Shows what container entry `entry` holds. In a 2.0 archive an
    /// entry holds many records (a bundle) or none of its own (a page
    /// lists them; parity, the index): the index says which, without
    /// reading a page, and the list moves to the first of them. In a 1.x
    /// archive it holds one record, looked for page by page beside the
    /// window, then opened.
    fn find_entry(&mut self, env: &Env<'_>, entry: String) {
        if let Some(held) = catalog::entry_records(&self.unlocked, &entry) {
            self.entry_note = Some(held.message);
            if let Some(k) = held.first {
                self.show_record_number(k);
            }
            return;
        }
        if let Some(away) = env.platform.offload() {
            let key = self.unlocked.data_key();
            self.finding = Some(away.entry_record(env.archive, key, &entry, env.waker()));
            return;
        }
        let u = self.unlocked.clone();
        self.finding = Some(env.spawn(move |p| catalog::record_in_entry(&u, &entry, p)));
    }

    /// Lists the archive in path order with the cursor on record `k`.
    fn show_record_number(&mut self, k: u64) {
        if let Some(j) = self.results.take().and_then(|r| r.job) {
            j.cancel();
        }
        self.query.clear();
        self.folder.clear();
        self.sort = SortKey::Path;
        self.descending = false;
        if k < self.base || k >= self.base + LIST_WINDOW {
            self.base = k;
        }
        self.cursor = Some((k - self.base) as usize);
        self.scroll_to_cursor = true;
        self.stale = true;
    }

    /// Opens the record at `path` in the record tab (looked up where the
    /// platform reads away from the window).
    fn open_record(&mut self, env: &Env<'_>, path: &str) {
        if let Some(away) = env.platform.offload() {
            // A lookup still running for another record is dropped: its
            // answer goes nowhere.
            self.locating =
                Some(away.find(env.archive, self.unlocked.data_key(), path, env.waker()));
            return;
        }
        match self.unlocked.find(path) {
            Ok(rec) => self.show_record(env, rec),
            Err(e) => self.load_error = Some(e.to_string()),
        }
    }

    /// Starts rendering `rec` for the record tab.
    fn show_record(&mut self, env: &Env<'_>, rec: CatalogRecord) {
        let u = self.unlocked.clone();
        let host = env.host.clone();
        let r2 = rec.clone();
        let make_host = env.platform.decoder_host();
        let max_side = env.ctx.map_or(2048, |c| c.input(|i| i.max_texture_side));
        let state = match env.platform.offload() {
            Some(away) => RecordState::Away(
                away.render(env.archive, u.data_key(), &rec, env.waker()),
                max_side,
                None,
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

    /// Shows what a verification problem at `level` about `subject`
    /// names: a container entry (fixity problems always; in a 2.0
    /// archive a content problem naming a bundle, unless a record has
    /// that path) or a record. The lookup is made where the platform
    /// reads away from the window.
    fn show_subject(&mut self, env: &Env<'_>, level: Level, subject: String) {
        if level == Level::Fixity {
            return self.find_entry(env, subject);
        }
        if !(self.unlocked.v2_index().is_some() && catalog::holds_records_v2(&subject)) {
            return self.open_record(env, &subject);
        }
        if let Some(away) = env.platform.offload() {
            let key = self.unlocked.data_key();
            let job = away.find(env.archive, key, &subject, env.waker());
            self.placing = Some((subject, job));
            return;
        }
        match self.unlocked.find(&subject) {
            Ok(rec) => self.show_record(env, rec),
            Err(_) => self.find_entry(env, subject),
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
        if list_keys && self.shown() > 0 {
            let last = self.shown() - 1;
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
                if let Some(r) = self.cursor.and_then(|c| self.row(c)) {
                    open_path = Some(r.path.clone());
                }
            }
        }

        // A narrow window keeps room for the record beside the list.
        let wide = ui.available_width();
        egui::Panel::left("folders")
            .resizable(true)
            .default_size((wide * 0.14).clamp(120.0, 170.0))
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
                        folder_tree(ui, &self.folders, "", &mut self.folder, &mut self.stale);
                        if let Some(j) = &self.surveying {
                            ui.horizontal(|ui| {
                                super::live::spinner(ui);
                                let (done, pages) = j.counts();
                                ui.label(
                                    RichText::new(format!(
                                        "gathering folders: catalog page {} of {}…",
                                        thousands(done),
                                        thousands(pages)
                                    ))
                                    .small(),
                                );
                                if !j.is_cancelled() && ui.small_button("Cancel").clicked() {
                                    j.cancel();
                                }
                            });
                        } else if !self.folders_gathered {
                            self.offer_survey(ui, env);
                        }
                        if self.folders_cut {
                            ui.label(
                                RichText::new(format!(
                                    "The first {} folders; search finds the others.",
                                    catalog::FOLDERS_MAX
                                ))
                                .small(),
                            );
                        }
                    });
            });

        egui::Panel::left("records")
            .resizable(true)
            .default_size((wide * 0.38).clamp(300.0, 560.0))
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
                if let Some(e) = &self.load_error {
                    ui.colored_label(ui.visuals().error_fg_color, e);
                }
                let mut dismiss = false;
                if let Some(n) = &self.entry_note {
                    ui.horizontal_wrapped(|ui| {
                        ui.colored_label(ui.visuals().warn_fg_color, n);
                        dismiss = ui.small_button("Dismiss").clicked();
                    });
                }
                if dismiss {
                    self.entry_note = None;
                }
                if let Some(n) = &self.sort_note {
                    ui.label(RichText::new(n).small());
                }
                self.count_ui(ui);
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
                            if let Some((level, s)) = sel {
                                self.show_subject(env, level, s);
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
            self.open_record(env, &p);
        }
    }

    /// The folder survey on demand, for an archive too large to read
    /// every page of at unlocking: what it costs, and the way around it.
    fn offer_survey(&mut self, ui: &mut Ui, env: &Env<'_>) {
        let pages = self.unlocked.index().pages.len();
        ui.label(
            RichText::new(format!(
                "The folders are known only by reading every catalog page: {pages} pages, {} \
                 for {} records. A search by path (a folder's name and /) lists one folder \
                 without it.",
                human_size(self.catalog_bytes),
                self.total()
            ))
            .small(),
        );
        if ui
            .button("List folders (reads the whole catalog)")
            .clicked()
        {
            self.survey(env);
        }
    }

    /// How many records the list shows, what a search is doing, and for
    /// an archive longer than [`LIST_WINDOW`] the slider that moves the
    /// list's window.
    fn count_ui(&mut self, ui: &mut Ui) {
        let total = self.total();
        let all = thousands(total);
        ui.horizontal_wrapped(|ui| {
            let text = match &self.results {
                // Still searching: what is found so far, and what is left.
                Some(r) if r.job.is_some() => {
                    let (done, pages) = r.job.as_ref().map_or((0, 0), |j| j.counts());
                    let found =
                        format!("{} found so far among {all} records", thousands(r.matched));
                    if pages == 0 {
                        format!("{found}…")
                    } else {
                        format!(
                            "{found}; catalog page {} of {} ({} left)",
                            thousands(done),
                            thousands(pages),
                            thousands(pages.saturating_sub(done))
                        )
                    }
                }
                Some(r) if r.matched > r.rows.len() as u64 => format!(
                    "{} of {all} records (the first {} shown)",
                    thousands(r.matched),
                    thousands(r.rows.len() as u64)
                ),
                Some(r) => format!("{} of {all} records", thousands(r.matched)),
                None if total > 0 && self.row(0).is_none() => {
                    format!("{all} records; reading the first rows…")
                }
                None => format!("{all} of {all} records"),
            };
            if self.results.as_ref().is_some_and(|r| r.job.is_some()) {
                super::live::spinner(ui);
            }
            ui.label(RichText::new(text).small());
        });
        if self.results.is_none() && total > LIST_WINDOW {
            ui.horizontal(|ui| {
                let mut first = self.base + 1;
                let l = ui.label(RichText::new("From record").small());
                let r = ui
                    .add(egui::Slider::new(&mut first, 1..=total).logarithmic(false))
                    .labelled_by(l.id);
                if r.changed() {
                    self.base = first - 1;
                    self.cursor = Some(0);
                    self.scroll_to_cursor = true;
                }
                ui.label(
                    RichText::new(format!(
                        "to {} of {all}",
                        thousands((self.base + LIST_WINDOW).min(total))
                    ))
                    .small(),
                );
            });
        }
    }

    /// The record list; returns a record path the user opened.
    fn record_table(&mut self, ui: &mut Ui) -> Option<String> {
        let mut opened = None;
        let mut sort_by = None;
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let mut want = None;
        let mut cursor = None;
        // The title takes what the other columns leave of the panel.
        let title_w = (ui.available_width() - 110.0 - 90.0 - 80.0 - 24.0).clamp(100.0, 220.0);
        // Room for the scroll bar beside the last column's text.
        let bar = ui.spacing().scroll.bar_width + ui.spacing().scroll.bar_outer_margin + 4.0;
        let mut tb = TableBuilder::new(ui)
            .id_salt("record list")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .auto_shrink([false, false])
            .cell_layout(egui::Layout::left_to_right(Align::Center))
            .column(Column::initial(title_w).at_least(80.0).clip(true))
            .column(Column::initial(110.0).at_least(40.0).clip(true))
            .column(Column::initial(90.0).at_least(40.0).clip(true))
            .column(Column::initial(80.0).at_least(60.0).clip(true));
        // A search says where each record matched.
        let searching = self
            .results
            .as_ref()
            .is_some_and(|r| !r.question.query.is_empty());
        if searching {
            tb = tb.column(Column::remainder().at_least(80.0).clip(true));
        }
        if self.scroll_to_cursor {
            if let Some(c) = self.cursor {
                tb = tb.scroll_to_row(c, None);
            }
            self.scroll_to_cursor = false;
        }
        let sort = self.sort;
        let desc = self.descending;
        tb.header(row_h, |mut h| {
            for (key, name, why) in [
                (SortKey::Title, "Title", "Sort by title"),
                (SortKey::Type, "Type", "Sort by media type"),
                (
                    SortKey::Date,
                    "Date",
                    "The record's own date (Dublin Core date); where it has none, in grey, \
                     the date its file was last modified. Click to sort by it.",
                ),
                (SortKey::Size, "Size", "Sort by size"),
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
                        .on_hover_text(why)
                        .clicked()
                    {
                        sort_by = Some(key);
                    }
                });
            }
            if searching {
                h.col(|ui| {
                    ui.strong("Matched in")
                        .on_hover_text("Where the search found the words");
                });
            }
        })
        .body(|body| {
            body.rows(row_h, self.shown(), |mut row| {
                let i = row.index();
                let Some(r) = self.row(i) else {
                    // Not read yet: its page is asked for.
                    if want.is_none() {
                        want = self.positions.locate(self.base + i as u64).map(|(p, _)| p);
                    }
                    row.col(|ui| {
                        ui.label(RichText::new("…").weak());
                    });
                    return;
                };
                row.set_selected(self.cursor == Some(i));
                let mut clicked = false;
                row.col(|ui| {
                    clicked |= ui
                        .selectable_label(self.cursor == Some(i), &r.title)
                        .on_hover_ui(|ui| {
                            ui.strong(&r.title);
                            ui.monospace(&r.path);
                            if let Some(w) = &r.why {
                                ui.label(format!("Matched in {w}"));
                            }
                        })
                        .clicked();
                });
                row.col(|ui| {
                    ui.label(&*r.media_type);
                });
                row.col(|ui| match (&r.date, r.dated) {
                    (Some(d), true) => {
                        ui.label(&**d)
                            .on_hover_text("The record's own date (Dublin Core)");
                    }
                    (Some(d), false) => {
                        ui.label(RichText::new(&**d).weak())
                            .on_hover_text("No date of its own: its file's modification date");
                    }
                    (None, _) => {
                        ui.label("–");
                    }
                });
                row.col(|ui| {
                    ui.with_layout(egui::Layout::right_to_left(Align::Center), |ui| {
                        if !searching {
                            ui.add_space(bar);
                        }
                        ui.label(human_size(r.size));
                    });
                });
                if searching {
                    row.col(|ui| {
                        let w = r.why.as_deref().unwrap_or("");
                        ui.add(egui::Label::new(w).truncate());
                    });
                }
                if clicked || row.response().clicked() {
                    cursor = Some(i);
                    opened = Some(r.path.clone());
                }
            });
        });
        if cursor.is_some() {
            self.cursor = cursor;
        }
        // The page in view now, not one scrolled past meanwhile.
        if want.is_some() {
            self.want = want;
        }
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

pub(super) fn folder_tree(
    ui: &mut Ui,
    folders: &[String],
    parent: &str,
    selected: &mut String,
    stale: &mut bool,
) {
    for f in catalog::subfolders(folders, parent) {
        let name = f.rsplit('/').next().unwrap_or(f);
        let has_children = catalog::subfolders(folders, f).next().is_some();
        if has_children {
            let id = ui.make_persistent_id(("folder", f));
            egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, false)
                .show_header(ui, |ui| {
                    if ui.selectable_label(selected == f, name).clicked() {
                        *selected = f.to_owned();
                        *stale = true;
                    }
                })
                .body(|ui| folder_tree(ui, folders, f, selected, stale));
        } else if ui.selectable_label(selected == f, name).clicked() {
            *selected = f.to_owned();
            *stale = true;
        }
    }
}

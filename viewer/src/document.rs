//! Showing view documents: headings, paragraphs with their emphasis,
//! fields as a grid, tables with sorting and virtual scrolling, images
//! with fit, zoom and pan, preformatted text, and pages one at a time.

use std::collections::HashMap;

use egui::text::LayoutJob;
use egui::{Align, FontId, RichText, TextFormat, TextStyle, Ui};
use egui_extras::{Column, TableBuilder};
use legation_document::{Block, ColumnType, Document, PixelFormat};
use legation_html::repeats_title;

/// Tallest a table is drawn before it scrolls on its own.
const TABLE_HEIGHT: f32 = 360.0;
/// Blocks of one document drawn at a time; longer documents are read in
/// parts of this many, so a frame never lays out a whole long text.
pub const BLOCK_WINDOW: usize = 300;
/// Lines of preformatted text above which only visible lines are laid out.
const CODE_VIRTUAL_LINES: usize = 400;

/// A rendered record being read: its main document, the page shown, and
/// the reader's place in them (table order, image zoom). Pages are decoded
/// one at a time when the reader turns to them (SPEC §15.2): the view
/// asks for a page through [`DocumentView::wanted_page`], and the host
/// that renders gives it with [`DocumentView::show_page`].
pub struct DocumentView {
    /// The main document, then the page shown once it is decoded.
    pub docs: Vec<Document>,
    /// The page shown or being decoded (1-based; 0 when the record has no
    /// pages).
    pub page: usize,
    /// Pages the main document announces.
    page_count: usize,
    /// A page the reader turned to, not yet asked for.
    wanted: Option<usize>,
    /// Why the page could not be shown.
    page_error: Option<String>,
    tables: HashMap<(usize, usize), TableOrder>,
    images: HashMap<(usize, usize), ImageState>,
    code_lines: HashMap<(usize, usize), Vec<(usize, usize)>>,
    /// The first block shown of each document (long documents).
    first_block: HashMap<usize, usize>,
    /// Where pictures are fitted (the pane's size below its bars), when
    /// the view has a pane of its own.
    fit_box: Option<egui::Vec2>,
    /// Thumbnails of the pages seen, by page (1-based), at most
    /// [`THUMBS_MAX`].
    thumbs: HashMap<usize, Thumb>,
}

/// Which blocks of a document to draw.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    /// Images only (a scan's pictures).
    Pictures,
    /// All but images and the pages block (a scan's facts).
    Facts,
}

impl Part {
    fn has(self, b: &Block) -> bool {
        match self {
            Part::All => true,
            Part::Pictures => matches!(b, Block::Image { .. }),
            Part::Facts => !matches!(b, Block::Image { .. } | Block::Pages { .. }),
        }
    }
}

/// Largest side of a page's thumbnail, in points.
const THUMB: f32 = 56.0;
/// Page thumbnails kept (about 12 KiB each).
const THUMBS_MAX: usize = 256;

/// A page's thumbnail: its pixels until first drawn, then its texture.
struct Thumb {
    pixels: Option<egui::ColorImage>,
    texture: Option<egui::TextureHandle>,
    size: egui::Vec2,
}

impl Thumb {
    /// A thumbnail of a page's first image, if it has one.
    fn of(doc: &Document) -> Option<Thumb> {
        doc.blocks.iter().find_map(|b| match b {
            Block::Image {
                width,
                height,
                format,
                pixels,
            } => {
                let step = reduction(*width, *height, THUMB as usize);
                let image = to_rgba(*width, *height, *format, pixels, step);
                let size = egui::vec2(image.size[0] as f32, image.size[1] as f32);
                Some(Thumb {
                    pixels: Some(image),
                    texture: None,
                    size,
                })
            }
            _ => None,
        })
    }

    fn texture(&mut self, ctx: &egui::Context, page: usize) -> &egui::TextureHandle {
        let pixels = self.pixels.take();
        self.texture.get_or_insert_with(|| {
            ctx.load_texture(
                format!("page thumbnail {page}"),
                pixels.unwrap_or_else(|| egui::ColorImage::filled([1, 1], egui::Color32::GRAY)),
                egui::TextureOptions::LINEAR,
            )
        })
    }
}

/// How one table is sorted.
#[derive(Default)]
struct TableOrder {
    column: Option<usize>,
    descending: bool,
    order: Vec<u32>,
    /// Columns the reader hid.
    hidden: Vec<bool>,
}

/// One image's texture and zoom (`None`: fit the width).
struct ImageState {
    texture: Option<egui::TextureHandle>,
    /// Pixels converted for the texture ahead of time (off the frame).
    prepared: Option<egui::ColorImage>,
    zoom: Option<f32>,
    /// The height of the image's bar when last drawn.
    bar: f32,
}

impl DocumentView {
    /// A view of a record's main document and, if it has pages, its first
    /// page (`None` asks for it, see [`DocumentView::wanted_page`]).
    pub fn new(main: Document, first_page: Option<Document>) -> Self {
        let page_count = main
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Pages { count } => Some(*count as usize),
                _ => None,
            })
            .unwrap_or(0);
        let page = usize::from(page_count > 0);
        let wanted = (page_count > 0 && first_page.is_none()).then_some(1);
        let mut docs = vec![main];
        docs.extend(first_page.filter(|_| page_count > 0));
        DocumentView {
            docs,
            page,
            page_count,
            wanted,
            page_error: None,
            tables: HashMap::new(),
            images: HashMap::new(),
            code_lines: HashMap::new(),
            first_block: HashMap::new(),
            fit_box: None,
            thumbs: HashMap::new(),
        }
    }

    /// The page (1-based) the reader turned to and that must now be
    /// decoded, once: the caller decodes it and calls
    /// [`DocumentView::show_page`] or [`DocumentView::page_failed`].
    pub fn wanted_page(&mut self) -> Option<usize> {
        self.wanted.take()
    }

    /// Shows page `page` (1-based), decoded, in place of the one shown;
    /// images are converted for textures of at most `max_side` pixels.
    pub fn show_page(&mut self, page: usize, doc: Document, max_side: usize) {
        if page != self.page {
            return; // the reader has turned on since
        }
        self.docs.truncate(1);
        self.docs.push(doc);
        self.page_error = None;
        self.tables.retain(|k, _| k.0 == 0);
        self.images.retain(|k, _| k.0 == 0);
        self.code_lines.retain(|k, _| k.0 == 0);
        self.first_block.retain(|k, _| *k == 0);
        self.prepare_doc_images(1, max_side);
        self.keep_thumb();
    }

    /// Keeps a thumbnail of the page shown, while fewer than
    /// [`THUMBS_MAX`] are kept.
    fn keep_thumb(&mut self) {
        if self.page == 0 || self.thumbs.contains_key(&self.page) || self.thumbs.len() >= THUMBS_MAX
        {
            return;
        }
        if let Some(t) = self.docs.get(1).and_then(Thumb::of) {
            self.thumbs.insert(self.page, t);
        }
    }

    /// Says why page `page` cannot be shown.
    pub fn page_failed(&mut self, page: usize, error: String) {
        if page == self.page {
            self.docs.truncate(1);
            self.page_error = Some(error);
        }
    }

    /// Turns to page `page` (1-based): asks for it to be decoded.
    fn turn_to(&mut self, page: usize) {
        self.page = page;
        self.docs.truncate(1);
        self.page_error = None;
        self.wanted = Some(page);
    }

    /// Converts every image's pixels for its texture now, so that the
    /// frame that first shows an image only uploads it (call this where
    /// the record is rendered, beside the window). `max_side` is the
    /// GPU's largest texture side.
    pub fn prepare_images(&mut self, max_side: usize) {
        for d in 0..self.docs.len() {
            self.prepare_doc_images(d, max_side);
        }
        self.keep_thumb();
    }

    fn prepare_doc_images(&mut self, d: usize, max_side: usize) {
        let Some(doc) = self.docs.get(d) else { return };
        for (b, block) in doc.blocks.iter().enumerate() {
            if let Block::Image {
                width,
                height,
                format,
                pixels,
            } = block
            {
                let step = reduction(*width, *height, max_side);
                self.images.insert(
                    (d, b),
                    ImageState {
                        texture: None,
                        prepared: Some(to_rgba(*width, *height, *format, pixels, step)),
                        zoom: None,
                        bar: IMAGE_BAR,
                    },
                );
            }
        }
    }

    /// Number of pages (0 for a record without pages).
    pub fn pages(&self) -> usize {
        self.page_count
    }

    /// Shows the main document and the current page in one column (the
    /// caller scrolls it): for a scan, the picture first, fitted to the
    /// window's height and the column's width, its facts folded below.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.fit_box = None;
        self.turn_by_keys(ui);
        if self.pages() > 0 && !self.is_scan() {
            self.content_ui(ui, false);
            return;
        }
        if self.pages() > 0 {
            self.page_bar(ui);
        }
        self.content_ui(ui, true);
    }

    /// Shows the view in a pane of its own: the page buttons (and, for
    /// several pages, a strip of them) stay at the top, the rest scrolls
    /// below; a picture is fitted to what the pane shows of it, width and
    /// height. PageUp and PageDown turn the pages.
    pub fn pane_ui(&mut self, ui: &mut Ui, salt: impl std::hash::Hash + std::fmt::Debug) {
        self.turn_by_keys(ui);
        if self.pages() > 0 {
            self.page_bar(ui);
            if self.pages() > 1 {
                self.strip_ui(ui);
            }
            ui.separator();
        }
        self.fit_box = Some(ui.available_size());
        egui::ScrollArea::vertical()
            .id_salt(salt)
            .auto_shrink([false, false])
            .show(ui, |ui| self.content_ui(ui, true));
    }

    /// Whether the view is a picture first: it has pages or an image.
    pub fn is_scan(&self) -> bool {
        self.page_count > 0
            || self
                .docs
                .iter()
                .any(|d| d.blocks.iter().any(|b| matches!(b, Block::Image { .. })))
    }

    /// PageUp and PageDown turn the page (when no text field has the keys).
    fn turn_by_keys(&mut self, ui: &mut Ui) {
        let n = self.pages();
        if n < 2 || ui.ctx().egui_wants_keyboard_input() {
            return;
        }
        let (up, down) = ui.input_mut(|i| {
            (
                i.consume_key(egui::Modifiers::NONE, egui::Key::PageUp),
                i.consume_key(egui::Modifiers::NONE, egui::Key::PageDown),
            )
        });
        if up && self.page > 1 {
            self.turn_to(self.page - 1);
        } else if down && self.page < n {
            self.turn_to(self.page + 1);
        }
    }

    /// The documents: a scan's pictures first and its facts folded
    /// below; any other view in its own order, under its title unless its
    /// first block is the same heading. `bar_drawn`: the page bar is
    /// already shown above.
    fn content_ui(&mut self, ui: &mut Ui, bar_drawn: bool) {
        let Some(main) = self.docs.first() else {
            ui.label("The decoder returned no document.");
            return;
        };
        if !self.is_scan() {
            if !repeats_title(main) {
                ui.heading(&main.title);
            }
            self.blocks_ui(ui, 0, Part::All);
            if self.pages() > 0 {
                ui.separator();
                if !bar_drawn {
                    self.page_bar(ui);
                }
                self.page_ui(ui, Part::All);
            }
            return;
        }
        ui.label(RichText::new(&main.title).strong().size(16.0));
        if self.pages() > 0 {
            self.page_ui(ui, Part::Pictures);
        } else {
            self.blocks_ui(ui, 0, Part::Pictures);
        }
        let id = ui.make_persistent_id("facts");
        egui::CollapsingHeader::new("Facts about this record")
            .id_salt(id)
            .default_open(false)
            .show(ui, |ui| {
                if self.pages() > 0 && self.page_error.is_none() {
                    if let Some(d) = self.docs.get(1) {
                        if !d.title.is_empty() {
                            ui.label(RichText::new(&d.title).strong());
                        }
                        self.blocks_ui(ui, 1, Part::Facts);
                        ui.separator();
                    }
                }
                self.blocks_ui(ui, 0, Part::Facts);
            });
    }

    /// The page shown (its `part`), or why not, or that it is decoded.
    fn page_ui(&mut self, ui: &mut Ui, part: Part) {
        if let Some(e) = &self.page_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Page {} cannot be shown: {e}", self.page),
            );
        } else if let Some(d) = self.docs.get(1) {
            if part == Part::All && !d.title.is_empty() {
                ui.label(RichText::new(&d.title).strong().size(18.0));
            }
            self.blocks_ui(ui, 1, part);
        } else {
            ui.horizontal(|ui| {
                crate::app::spinner(ui);
                ui.label(format!("Decoding page {}…", self.page));
            });
        }
    }

    /// Previous/next buttons and the page number.
    fn page_bar(&mut self, ui: &mut Ui) {
        let n = self.pages();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(self.page > 1, egui::Button::new("◀ Previous page"))
                .on_hover_text("PageUp")
                .clicked()
            {
                self.turn_to(self.page - 1);
            }
            ui.label(format!("Page {} of {n}", self.page));
            if ui
                .add_enabled(self.page < n, egui::Button::new("Next page ▶"))
                .on_hover_text("PageDown")
                .clicked()
            {
                self.turn_to(self.page + 1);
            }
        });
    }

    /// A strip of the pages: a thumbnail of each page seen so far, its
    /// number for the others; the page shown is selected. Only the part
    /// in view is laid out, however many pages there are.
    fn strip_ui(&mut self, ui: &mut Ui) {
        let n = self.pages();
        let step = THUMB + 6.0;
        let mut turn = None;
        let DocumentView { thumbs, page, .. } = self;
        egui::ScrollArea::horizontal()
            .id_salt("page strip")
            .auto_shrink([false, true])
            .show_viewport(ui, |ui, view| {
                ui.set_height(THUMB + 8.0);
                ui.set_width(step * n as f32);
                let first = (view.min.x / step).floor().max(0.0) as usize;
                let last = ((view.max.x / step).ceil() as usize).min(n);
                let top = ui.min_rect().top();
                let left = ui.min_rect().left();
                for p in first..last {
                    let k = p + 1;
                    let rect = egui::Rect::from_min_size(
                        egui::pos2(left + p as f32 * step, top),
                        egui::vec2(THUMB + 2.0, THUMB + 4.0),
                    );
                    let selected = k == *page;
                    let r = match thumbs.get_mut(&k) {
                        Some(t) => {
                            // Enlarged or reduced to the strip's size.
                            let shown = t.size * (THUMB / t.size.x.max(t.size.y).max(1.0));
                            let tex = t.texture(ui.ctx(), k).id();
                            let img = egui::Image::from_texture((tex, shown));
                            ui.put(rect, egui::Button::image(img).selected(selected))
                        }
                        None => ui.put(rect, egui::Button::new(k.to_string()).selected(selected)),
                    };
                    if r.on_hover_text(format!("Page {k}")).clicked() && !selected {
                        turn = Some(k);
                    }
                }
            });
        if let Some(k) = turn {
            self.turn_to(k);
        }
    }

    /// "Blocks a–b of n" with previous and next, for long documents.
    fn block_bar(&mut self, ui: &mut Ui, doc: usize, n: usize) {
        let first = self.first_block.entry(doc).or_insert(0);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(*first > 0, egui::Button::new("◀ Previous part"))
                .clicked()
            {
                *first = first.saturating_sub(BLOCK_WINDOW);
            }
            ui.label(format!(
                "Blocks {}–{} of {n}",
                *first + 1,
                (*first + BLOCK_WINDOW).min(n)
            ));
            if ui
                .add_enabled(*first + BLOCK_WINDOW < n, egui::Button::new("Next part ▶"))
                .clicked()
            {
                *first += BLOCK_WINDOW;
            }
        });
    }

    fn blocks_ui(&mut self, ui: &mut Ui, doc: usize, part: Part) {
        let n = self.docs[doc].blocks.len();
        let fit_box = self.fit_box;
        let range = if n > BLOCK_WINDOW {
            self.block_bar(ui, doc, n);
            let first = self.first_block.get(&doc).copied().unwrap_or(0).min(n);
            first..(first + BLOCK_WINDOW).min(n)
        } else {
            0..n
        };
        let long = n > BLOCK_WINDOW;
        for b in range {
            if !part.has(&self.docs[doc].blocks[b]) {
                continue;
            }
            ui.add_space(4.0);
            // Split the borrow: the block is read, the per-block state written.
            let DocumentView {
                docs,
                tables,
                images,
                code_lines,
                ..
            } = self;
            match &docs[doc].blocks[b] {
                Block::Heading { level, text } => {
                    let size = match level {
                        1 => 24.0,
                        2 => 20.0,
                        3 => 17.0,
                        _ => 15.0,
                    };
                    ui.add_space(6.0);
                    ui.label(RichText::new(text).size(size).strong());
                }
                Block::Paragraph { spans } => {
                    let mut job = LayoutJob::default();
                    let body = TextStyle::Body.resolve(ui.style());
                    let mono = TextStyle::Monospace.resolve(ui.style());
                    let color = ui.visuals().text_color();
                    let strong = ui.visuals().strong_text_color();
                    for s in spans {
                        let fmt = TextFormat {
                            font_id: if s.code {
                                mono.clone()
                            } else {
                                FontId::new(body.size, body.family.clone())
                            },
                            color: if s.strong { strong } else { color },
                            italics: s.emphasis,
                            background: if s.code {
                                ui.visuals().code_bg_color
                            } else {
                                egui::Color32::TRANSPARENT
                            },
                            ..Default::default()
                        };
                        job.append(&s.text, 0.0, fmt);
                    }
                    job.wrap.max_width = ui.available_width();
                    ui.label(job);
                }
                Block::Fields { items } => {
                    egui::Grid::new(("fields", doc, b))
                        .num_columns(2)
                        .striped(true)
                        .spacing([16.0, 4.0])
                        .show(ui, |ui| {
                            for (l, v) in items {
                                ui.label(RichText::new(l).strong());
                                ui.label(v);
                                ui.end_row();
                            }
                        });
                }
                Block::Table {
                    columns,
                    types,
                    rows,
                } => {
                    let state = tables.entry((doc, b)).or_default();
                    table_ui(ui, (doc, b), columns, types.as_deref(), rows, state);
                }
                Block::Image {
                    width,
                    height,
                    format,
                    pixels,
                } => {
                    let state = images.entry((doc, b)).or_insert(ImageState {
                        texture: None,
                        prepared: None,
                        zoom: None,
                        bar: IMAGE_BAR,
                    });
                    image_ui(
                        ui,
                        (doc, b),
                        (*width, *height, *format, pixels),
                        fit_box,
                        state,
                    );
                }
                Block::Code { text } => {
                    let lines = code_lines
                        .entry((doc, b))
                        .or_insert_with(|| line_spans(text));
                    code_ui(ui, (doc, b), text, lines);
                }
                Block::Pages { count } => {
                    ui.label(RichText::new(format!("This record has {count} pages.")).italics());
                }
            }
        }
        if long {
            ui.separator();
            ui.push_id("bottom", |ui| self.block_bar(ui, doc, n));
        }
    }
}

fn line_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            out.push((start, i));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

fn code_ui(ui: &mut Ui, id: (usize, usize), text: &str, lines: &[(usize, usize)]) {
    let frame = egui::Frame::new()
        .fill(ui.visuals().code_bg_color)
        .inner_margin(6.0)
        .corner_radius(4.0);
    frame.show(ui, |ui| {
        if lines.len() <= CODE_VIRTUAL_LINES {
            ui.add(
                egui::Label::new(RichText::new(text).monospace())
                    .wrap_mode(egui::TextWrapMode::Extend),
            );
            return;
        }
        let h = ui.text_style_height(&TextStyle::Monospace);
        egui::ScrollArea::both()
            .id_salt(("code", id))
            .max_height(TABLE_HEIGHT * 1.5)
            .auto_shrink([false, true])
            .show_rows(ui, h, lines.len(), |ui, range| {
                for &(a, z) in &lines[range] {
                    ui.add(
                        egui::Label::new(RichText::new(&text[a..z]).monospace())
                            .wrap_mode(egui::TextWrapMode::Extend),
                    );
                }
            });
    });
}

fn numeric(t: Option<ColumnType>) -> bool {
    matches!(t, Some(ColumnType::Integer | ColumnType::Decimal))
}

/// The order of a table's rows sorted by column `col`: as numbers for
/// integer and decimal columns (unreadable cells first), as text
/// otherwise; equal cells keep their order.
pub fn sort_rows(
    rows: &[Vec<String>],
    col: usize,
    ty: Option<ColumnType>,
    descending: bool,
) -> Vec<u32> {
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    if numeric(ty) {
        // Parsed once per row, not once per comparison.
        let keys: Vec<f64> = rows
            .iter()
            .map(|r| {
                r[col]
                    .trim()
                    .replace([',', ' '], "")
                    .parse::<f64>()
                    .unwrap_or(f64::NEG_INFINITY)
            })
            .collect();
        order.sort_by(|a, b| keys[*a as usize].total_cmp(&keys[*b as usize]));
    } else {
        order.sort_by(|a, b| rows[*a as usize][col].cmp(&rows[*b as usize][col]));
    }
    if descending {
        order.reverse();
    }
    order
}

/// "1 row", "2 rows": a count with its noun, thousands separated.
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

/// `n` with a thin comma every three digits: 1,048,576.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Widest a table column starts (a longer cell is cut with "…"; its full
/// text shows on hover and can be selected; the column can be widened).
const COLUMN_MAX: f32 = 320.0;

fn table_ui(
    ui: &mut Ui,
    id: (usize, usize),
    columns: &[String],
    types: Option<&[ColumnType]>,
    rows: &[Vec<String>],
    state: &mut TableOrder,
) {
    state.hidden.resize(columns.len(), false);
    let hidden = state.hidden.iter().filter(|h| **h).count();
    ui.horizontal(|ui| {
        let mut text = format!(
            "{} × {}",
            count_of(rows.len(), "row", "rows"),
            count_of(columns.len(), "column", "columns")
        );
        if hidden > 0 {
            text.push_str(&format!(" ({hidden} hidden)"));
        }
        ui.label(RichText::new(text).small().weak());
        ui.menu_button(RichText::new("Columns…").small(), |ui| {
            ui.label(RichText::new("Shown columns").strong());
            if ui.button("Show all").clicked() {
                state.hidden.iter_mut().for_each(|h| *h = false);
            }
            egui::ScrollArea::vertical()
                .max_height(TABLE_HEIGHT)
                .show(ui, |ui| {
                    for (c, name) in columns.iter().enumerate() {
                        let mut shown = !state.hidden[c];
                        // The last column shown stays.
                        let last = shown && state.hidden.iter().filter(|h| !**h).count() == 1;
                        if ui
                            .add_enabled(!last, egui::Checkbox::new(&mut shown, name))
                            .changed()
                        {
                            state.hidden[c] = !shown;
                        }
                    }
                });
        })
        .response
        .on_hover_text("Hide or show columns");
        if columns.len() > 1 {
            ui.label(
                RichText::new(
                    "Shift+wheel or the bar below scrolls sideways; drag a header's edge to resize",
                )
                .small()
                .weak(),
            );
        }
    });
    let shown: Vec<usize> = (0..columns.len()).filter(|c| !state.hidden[*c]).collect();
    // Widths are kept per set of shown columns.
    let layout = ("table", id, state.hidden.clone());
    let row_h = ui.text_style_height(&TextStyle::Body) + 4.0;
    let mut clicked = None;
    let ty = |c: usize| types.and_then(|t| t.get(c).copied());
    // Wider than the pane: the whole table scrolls sideways, its header
    // with it; the rows scroll up and down under the header.
    egui::ScrollArea::horizontal()
        .id_salt(("table across", id))
        .auto_shrink([false, true])
        .show(ui, |ui| {
            ui.push_id(layout, |ui| {
                let mut tb = TableBuilder::new(ui)
                    .striped(true)
                    .resizable(true)
                    .vscroll(true)
                    .max_scroll_height(TABLE_HEIGHT)
                    .auto_shrink([true, true])
                    .cell_layout(egui::Layout::left_to_right(Align::Center));
                for _ in &shown {
                    tb = tb.column(Column::auto().at_least(40.0).at_most(COLUMN_MAX).clip(true));
                }
                tb.header(row_h + 2.0, |mut header| {
                    for &c in &shown {
                        let name = &columns[c];
                        header.col(|ui| {
                            let mark = match state.column {
                                Some(s) if s == c && state.descending => " ▼",
                                Some(s) if s == c => " ▲",
                                _ => "",
                            };
                            if ui
                                .button(RichText::new(format!("{name}{mark}")).strong())
                                .on_hover_text(format!("Sort by {name}"))
                                .clicked()
                            {
                                clicked = Some(c);
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_h, rows.len(), |mut row| {
                        let i = row.index();
                        let r = state.order.get(i).map_or(i, |&o| o as usize);
                        for &c in &shown {
                            let cell = rows[r].get(c).map_or("", String::as_str);
                            row.col(|ui| {
                                // Cut with "…" when too wide: the full text
                                // on hover, and selectable to copy.
                                let label = egui::Label::new(cell).truncate();
                                if numeric(ty(c)) {
                                    ui.with_layout(
                                        egui::Layout::right_to_left(Align::Center),
                                        |ui| ui.add(label),
                                    );
                                } else {
                                    ui.add(label);
                                }
                            });
                        }
                    });
                });
            });
        });
    if let Some(c) = clicked {
        let descending = state.column == Some(c) && !state.descending;
        state.order = sort_rows(rows, c, ty(c), descending);
        state.column = Some(c);
        state.descending = descending;
    }
}

/// How many source pixels make one texture pixel, so that neither side
/// exceeds what the GPU takes (`max_side`).
fn reduction(width: u32, height: u32, max_side: usize) -> usize {
    (width.max(height) as usize)
        .div_ceil(max_side.max(1))
        .max(1)
}

/// The image as an egui texture image, every `step`-th pixel of every
/// `step`-th row when it must be reduced.
fn to_rgba(
    width: u32,
    height: u32,
    format: PixelFormat,
    pixels: &[u8],
    step: usize,
) -> egui::ColorImage {
    let bpp = format.bytes_per_pixel();
    let (w, h) = (width as usize, height as usize);
    let reduced;
    let (size, pixels) = if step > 1 {
        let (rw, rh) = (w.div_ceil(step), h.div_ceil(step));
        let mut v = Vec::with_capacity(rw * rh * bpp);
        for y in (0..h).step_by(step) {
            let row = &pixels[y * w * bpp..(y + 1) * w * bpp];
            for x in (0..w).step_by(step) {
                v.extend_from_slice(&row[x * bpp..(x + 1) * bpp]);
            }
        }
        reduced = v;
        ([rw, rh], reduced.as_slice())
    } else {
        ([w, h], pixels)
    };
    match format {
        PixelFormat::Rgba8 => egui::ColorImage::from_rgba_unmultiplied(size, pixels),
        PixelFormat::Gray8 => egui::ColorImage::from_gray(size, pixels),
        PixelFormat::Rgb8 => egui::ColorImage::from_rgb(size, pixels),
        PixelFormat::GrayAlpha8 => {
            let rgba: Vec<u8> = pixels
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect();
            egui::ColorImage::from_rgba_unmultiplied(size, &rgba)
        }
    }
}

/// An image block's size, pixel format and pixels.
type Picture<'a> = (u32, u32, PixelFormat, &'a [u8]);

/// Height of the bar above an image (its size, fit and zoom) before it
/// is first drawn, in points.
const IMAGE_BAR: f32 = 24.0;
/// Height of a scan's title line above its picture, in points.
const TITLE_LINE: f32 = 28.0;

/// An image with its bar; "Fit" fits it to the width available and to
/// `fit_box`'s height (the pane below its bars), else to the window's.
fn image_ui(
    ui: &mut Ui,
    id: (usize, usize),
    (width, height, format, pixels): Picture<'_>,
    fit_box: Option<egui::Vec2>,
    state: &mut ImageState,
) {
    // Larger than the GPU takes: shown reduced (the record is intact).
    let step = reduction(width, height, ui.input(|i| i.max_texture_side));
    if state.texture.is_none() {
        let image = match state.prepared.take() {
            Some(i)
                if i.size
                    == [
                        (width as usize).div_ceil(step),
                        (height as usize).div_ceil(step),
                    ] =>
            {
                i
            }
            _ => to_rgba(width, height, format, pixels, step),
        };
        state.texture = Some(ui.ctx().load_texture(
            format!("view image {id:?}"),
            image,
            // Enlarged, pixels stay sharp squares; reduced, smooth.
            egui::TextureOptions {
                magnification: egui::TextureFilter::Nearest,
                minification: egui::TextureFilter::Linear,
                ..Default::default()
            },
        ));
    }
    let Some(tex) = state.texture.clone() else {
        return;
    };
    let natural = egui::vec2(width as f32, height as f32);
    // Fit: the whole picture, width and height, in what the pane shows
    // below the title and the bar (small scans enlarged up to eight times).
    let tall = match fit_box {
        Some(b) => b.y - TITLE_LINE - state.bar - 12.0,
        None => ui.ctx().content_rect().height() * 0.75,
    };
    let fit = (ui.available_width().max(50.0) / natural.x)
        .min(tall.max(50.0) / natural.y)
        .min(8.0);
    // The bar wraps in a narrow pane; its height is kept for the fit.
    state.bar = ui
        .horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(if step > 1 {
                    format!(
                        "Image {width} × {height}, {}, shown at 1/{step} of its resolution",
                        format.name()
                    )
                } else {
                    format!("Image {width} × {height}, {}", format.name())
                })
                .small()
                .weak(),
            );
            if ui
                .selectable_label(state.zoom.is_none(), "Fit")
                .on_hover_text("Fit the whole image in the pane")
                .clicked()
            {
                state.zoom = None;
            }
            if ui
                .selectable_label(state.zoom == Some(1.0), "Actual size")
                .clicked()
            {
                state.zoom = Some(1.0);
            }
            let current = state.zoom.unwrap_or(fit);
            if ui.button("−").on_hover_text("Zoom out").clicked() {
                state.zoom = Some((current / 1.25).max(0.05));
            }
            ui.label(format!("Zoom {:.0}%", current * 100.0));
            if ui.button("+").on_hover_text("Zoom in").clicked() {
                state.zoom = Some((current * 1.25).min(16.0));
            }
        })
        .response
        .rect
        .height();
    match state.zoom {
        None => {
            let size = natural * fit;
            ui.add(egui::Image::from_texture((tex.id(), size)))
                .on_hover_text(format!("image {width}×{height}"));
        }
        Some(z) => {
            let size = natural * z;
            egui::ScrollArea::both()
                .id_salt(("image", id))
                .max_height(TABLE_HEIGHT * 1.5)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    let r = ui.add(
                        egui::Image::from_texture((tex.id(), size)).sense(egui::Sense::drag()),
                    );
                    // Drag to pan.
                    if r.dragged() {
                        ui.scroll_with_delta(r.drag_delta());
                    }
                    // Ctrl + wheel zooms.
                    if r.hovered() {
                        let zoom = ui.input(|i| i.zoom_delta());
                        if zoom != 1.0 {
                            state.zoom = Some((z * zoom).clamp(0.05, 16.0));
                        }
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_columns_sort_as_numbers() {
        let rows: Vec<Vec<String>> = ["10", "9", "100", "x"]
            .iter()
            .map(|s| vec![s.to_string()])
            .collect();
        assert_eq!(
            sort_rows(&rows, 0, Some(ColumnType::Integer), false),
            vec![3, 1, 0, 2]
        );
        assert_eq!(
            sort_rows(&rows, 0, Some(ColumnType::Text), false),
            vec![0, 2, 1, 3]
        );
        assert_eq!(
            sort_rows(&rows, 0, Some(ColumnType::Integer), true),
            vec![2, 0, 1, 3]
        );
    }

    #[test]
    fn images_larger_than_the_gpu_takes_are_reduced() {
        assert_eq!(reduction(512, 512, 8192), 1);
        assert_eq!(reduction(10_000, 300, 8192), 2);
        // 5 × 3 grey, every second pixel of every second row.
        let px: Vec<u8> = (0..15).collect();
        let img = to_rgba(5, 3, PixelFormat::Gray8, &px, 2);
        assert_eq!(img.size, [3, 2]);
        let grey: Vec<u8> = img.pixels.iter().map(|c| c.r()).collect();
        assert_eq!(grey, vec![0, 2, 4, 10, 12, 14]);
    }

    #[test]
    fn lines_of_preformatted_text() {
        let t = "a\nbc\n\nd";
        let l = line_spans(t);
        let s: Vec<&str> = l.iter().map(|&(a, z)| &t[a..z]).collect();
        assert_eq!(s, vec!["a", "bc", "", "d"]);
    }
}

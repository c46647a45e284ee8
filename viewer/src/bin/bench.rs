//! `viewer-bench [RECORDS]`: the viewer with a large archive, headless.
//!
//! Builds (once, in `$BENCH_DIR`, default `/dev/shm/legation-viewer-bench`)
//! a format 2.0 archive of RECORDS small records (default 1,000,000) in
//! 1,000 folders, then times the pieces (a page, every page, a search, the
//! folder survey, the keyless fixity check) and drives the real [`App`]
//! through egui frames without a window: from opening and unlocking to the
//! first rows (the keyless fixity check running beside), frames while the
//! list scrolls (pages read as they come into view) and while a
//! 100,000-row table scrolls (egui pass and tessellation: the CPU side of
//! a frame; the GPU's share is not measured), a search typed into the app,
//! and peak memory after scrolling and after searching. Prints a Markdown
//! table.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{Event, MouseWheelUnit, Pos2, RawInput, Rect, TouchPhase, Vec2};
use legation_document::{Block, ColumnType, Document};
use legation_format::keys::Identity;
use legation_format::v2::writer::ArchiveWriter;
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use legation_reader::source::ReadAt;
use legation_reader::Key;
use legation_viewer::catalog::{search, survey, Question};
use legation_viewer::document::DocumentView;
use legation_viewer::jobs::{Progress, Spawner, ThreadSpawner};
use legation_viewer::platform::Platform;
use legation_viewer::App;
use rand_core::SeedableRng;

const SCREEN: Vec2 = Vec2::new(1280.0, 800.0);
const FRAMES: usize = 300;

fn identity() -> Identity {
    Identity::from_bytes([0x5a; 32])
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/shm/legation-viewer-bench"));
    std::fs::create_dir_all(&dir).expect("bench folder");
    let path = dir.join(format!("records-{n}.lgn"));
    if !path.exists() {
        let t = Instant::now();
        build(&path, n);
        eprintln!(
            "built {} in {:.1} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());

    // The pieces, one after another.
    let t = Instant::now();
    let archive = legation_reader::Archive::open(
        legation_reader::source::FileSource::open(&path).expect("archive"),
    )
    .expect("opens");
    let t_open = t.elapsed();
    let t = Instant::now();
    let u = archive
        .unlock(&[Key::Identity(identity())])
        .expect("unlocks");
    let t_unlock = t.elapsed();
    let t = Instant::now();
    let first = legation_viewer::catalog::read_page(&u, 0).expect("page 0");
    let t_page = t.elapsed();
    assert_eq!(first.len() as u64, u.index().pages[0].count);
    let t = Instant::now();
    let pages = u.index().pages.len();
    let mut seen = 0usize;
    u.for_each_page(0..pages, &mut |_, p| {
        seen += p.expect("page").records.len();
        true
    });
    assert_eq!(seen as u64, n);
    let t_pages = t.elapsed();
    let t = Instant::now();
    let mut hits = 0;
    let question = Question {
        query: "person 4242".into(),
        folder: String::new(),
    };
    search(&u, &question, &Progress::default(), &mut |f| {
        hits += f.matched;
        true
    })
    .expect("search");
    let t_search = t.elapsed();
    let t = Instant::now();
    let complete = survey(&u, &Progress::default(), &mut |_| true).expect("survey");
    let t_survey = t.elapsed();
    let t = Instant::now();
    let report = archive.verify_fixity(None, &mut |_, _| true);
    assert!(report.problems.is_empty(), "fixity: {:?}", report.problems);
    let t_fixity = t.elapsed();
    drop((first, u, archive));

    // The app as a person sees it: opening (the keyless fixity check
    // starts beside it), unlocking with an identity, the first rows.
    let ctx = egui::Context::default();
    let mut app =
        App::new(Box::new(Bench), Some(path.clone())).with_keys(vec![Key::Identity(identity())]);
    let t = Instant::now();
    let mut frame = 0u64;
    let mut t_unlocked = None;
    let mut t_first = None;
    while t_first.is_none() {
        match app.records_listed() {
            Some(0) if t_unlocked.is_none() => t_unlocked = Some(Instant::now()),
            Some(k) if k > 0 => {
                t_unlocked.get_or_insert_with(Instant::now);
                t_first = Some(Instant::now());
            }
            _ => {}
        }
        run(&ctx, &mut app, frame, Vec::new());
        frame += 1;
        std::thread::sleep(Duration::from_millis(2));
        assert!(t.elapsed() < Duration::from_secs(600), "never usable");
    }
    let t_open_to_rows = t.elapsed();
    let unlocked_to_rows = t_first
        .zip(t_unlocked)
        .map_or(Duration::ZERO, |(f, u)| f - u);

    // Scrolling the record list: the pointer over it, 100 rows a frame,
    // pages read as they come into view.
    let list_frames = frames(&ctx, &mut app, &mut frame, Pos2::new(400.0, 400.0), -2400.0);
    let (_, hwm_scroll) = memory();

    // Searching in the app: Ctrl+F, typed words, until every page is read.
    run(
        &ctx,
        &mut app,
        frame,
        vec![Event::Key {
            key: egui::Key::F,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::COMMAND,
        }],
    );
    frame += 1;
    let t = Instant::now();
    run(
        &ctx,
        &mut app,
        frame,
        vec![Event::Text("person 4242".into())],
    );
    frame += 1;
    while !app.is_browsing() {
        run(&ctx, &mut app, frame, Vec::new());
        frame += 1;
        std::thread::sleep(Duration::from_millis(5));
        assert!(t.elapsed() < Duration::from_secs(600), "search never ended");
    }
    let t_app_search = t.elapsed();
    let search_rows = app.records_listed().unwrap_or(0);
    let (_, hwm_search) = memory();

    // A 100,000-row table in a record view.
    let table = big_table(100_000);
    let rows = match &table.blocks[0] {
        Block::Table { rows, .. } => rows.clone(),
        _ => unreachable!("big_table makes one table"),
    };
    let t = Instant::now();
    let _ = legation_viewer::document::sort_rows(&rows, 4, Some(ColumnType::Integer), false);
    let t_table_sort = t.elapsed();
    drop(rows);
    let mut view = DocumentView::new(table, None);
    let tctx = egui::Context::default();
    let mut tframe = 0;
    let mut draw = |ctx: &egui::Context, input: RawInput| {
        let mut out = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| view.ui(ui));
        });
        ctx.tessellate(out.shapes, out.pixels_per_point);
        // No GPU takes the font atlas: drop it as a renderer would after upload.
        out.textures_delta.clear();
    };
    for _ in 0..3 {
        draw(&tctx, input(tframe, Vec::new()));
        tframe += 1;
    }
    let mut table_frames = Vec::new();
    for _ in 0..FRAMES {
        let events = wheel(Pos2::new(300.0, 400.0), -120.0);
        let t = Instant::now();
        draw(&tctx, input(tframe, events));
        table_frames.push(t.elapsed());
        tframe += 1;
    }

    let (rss, hwm) = memory();
    println!("## The viewer with {n} records\n");
    println!(
        "Written by `cargo run --release -p legation-viewer --no-default-features --features bench --bin viewer-bench {n}`."
    );
    println!(
        "Format 2.0 archive of {n} small records in 1,000 folders ({:.0} MB, on tmpfs), unlocked with an identity (no Argon2id). \
         The list reads a catalog page (4,096 records) when its rows come into view and keeps {} pages; \
         a search streams the pages beside the window and keeps at most {} rows. \
         Frame times are the CPU side of a 1280×800 frame (egui pass and tessellation, no GPU), over {FRAMES} frames \
         scrolled by 100 rows each.\n",
        size as f64 / 1e6,
        legation_viewer::catalog::CACHE_PAGES,
        legation_viewer::catalog::RESULTS_MAX,
    );
    println!("| step | time |");
    println!("|---|---|");
    println!("| open (public facts) | {} |", ms(t_open));
    println!("| unlock (identity; catalog index) | {} |", ms(t_unlock));
    println!("| read one catalog page into rows | {} |", ms(t_page));
    println!(
        "| decrypt and parse every catalog page (the reader alone) | {} |",
        ms(t_pages)
    );
    println!(
        "| search every page for \"person 4242\" ({hits} matches) | {} |",
        ms(t_search)
    );
    println!(
        "| gather the folder tree (every page{}) | {} |",
        if complete { "" } else { ", cut" },
        ms(t_survey)
    );
    println!(
        "| keyless fixity check, alone ({:.0} MB) | {} |",
        size as f64 / 1e6,
        ms(t_fixity)
    );
    println!(
        "| app: opening to the first rows (fixity check running beside) | {} |",
        ms(t_open_to_rows)
    );
    println!(
        "| app: unlocked to the first rows | {} |",
        ms(unlocked_to_rows)
    );
    println!(
        "| app: the search typed to every page read ({search_rows} rows kept) | {} |",
        ms(t_app_search)
    );
    println!(
        "| frame while scrolling the list: median / 95th percentile / worst | {} |",
        stats(list_frames)
    );
    println!(
        "| frame while scrolling a 100,000-row table: median / 95th percentile / worst | {} |",
        stats(table_frames)
    );
    println!(
        "| sort the 100,000-row table by a number column | {} |",
        ms(t_table_sort)
    );
    println!(
        "| memory: peak after scrolling / after searching | {:.0} MB / {:.0} MB |",
        hwm_scroll as f64 / 1e6,
        hwm_search as f64 / 1e6
    );
    println!(
        "| memory: resident at the end / peak (the 100,000-row table included) | {:.0} MB / {:.0} MB |",
        rss as f64 / 1e6,
        hwm as f64 / 1e6
    );
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    format!(
        "{} / {} / {}",
        ms(at(0.5)),
        ms(at(0.95)),
        ms(*v.last().unwrap_or(&Duration::ZERO))
    )
}

fn input(frame: u64, events: Vec<Event>) -> RawInput {
    RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, SCREEN)),
        time: Some(frame as f64 / 60.0),
        predicted_dt: 1.0 / 60.0,
        events,
        ..Default::default()
    }
}

fn wheel(at: Pos2, dy: f32) -> Vec<Event> {
    vec![
        Event::PointerMoved(at),
        Event::MouseWheel {
            unit: MouseWheelUnit::Point,
            delta: Vec2::new(0.0, dy),
            phase: TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        },
    ]
}

fn run(ctx: &egui::Context, app: &mut App, frame: u64, events: Vec<Event>) {
    let mut out = ctx.run_ui(input(frame, events), |ui| app.ui(ui));
    ctx.tessellate(out.shapes, out.pixels_per_point);
    out.textures_delta.clear();
}

fn frames(ctx: &egui::Context, app: &mut App, frame: &mut u64, at: Pos2, dy: f32) -> Vec<Duration> {
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let t = Instant::now();
        run(ctx, app, *frame, wheel(at, dy));
        times.push(t.elapsed());
        *frame += 1;
    }
    times
}

fn big_table(rows: usize) -> Document {
    Document {
        title: "Register".into(),
        blocks: vec![Block::Table {
            columns: vec![
                "id".into(),
                "name".into(),
                "born".into(),
                "parish".into(),
                "folio".into(),
            ],
            types: Some(vec![
                ColumnType::Integer,
                ColumnType::Text,
                ColumnType::Date,
                ColumnType::Text,
                ColumnType::Integer,
            ]),
            rows: (0..rows)
                .map(|i| {
                    vec![
                        i.to_string(),
                        format!("Person {i}"),
                        format!("19{:02}-0{}-1{}", i % 100, 1 + i % 9, i % 10),
                        format!("Parish {}", i % 300),
                        (i * 7 % 1000).to_string(),
                    ]
                })
                .collect(),
        }],
    }
}

fn build(path: &Path, n: u64) {
    let opts = WriterOptions {
        created: 1_795_775_512,
        issuer: Some(legation_format::keys::IssuerKey::from_bytes([0x22; 32])),
        recipients: vec![identity().public()],
        passphrases: Vec::new(),
        embed_spec: false,
        viewer: None,
    };
    let tmp = path.with_extension("partial");
    let file = std::fs::File::create(&tmp).expect("bench archive");
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut w = ArchiveWriter::new(std::io::BufWriter::new(file), opts, rng).expect("writer");
    for i in 0..n {
        let text = format!("Record {i} of the civil register.\n");
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert("creator".to_owned(), vec![format!("Parish {}", i % 300)]);
        let meta = RecordMeta {
            // Added in path order, as the writer requires.
            path: format!("registers/f{:03}/p{i:07}.txt", i * 1000 / n),
            title: format!("Person {i}"),
            media_type: "text/plain".into(),
            modified: Some(1_700_000_000 + (i as i64 * 7919) % 90_000_000),
            metadata,
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(text.as_bytes()))
            .expect("record");
    }
    w.finish().expect("finish");
    std::fs::rename(&tmp, path).expect("rename");
}

fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// Files, threads, no dialogs.
struct Bench;

impl Platform for Bench {
    fn spawner(&self) -> &dyn Spawner {
        &ThreadSpawner
    }
    fn decoder_host(&self) -> fn() -> legation_reader::decode::Host {
        legation_reader::decode::Host::native
    }
    fn open_source(&self, path: &Path) -> std::io::Result<Box<dyn ReadAt>> {
        Ok(Box::new(legation_reader::source::FileSource::open(path)?))
    }
    fn pick_archive(&self) -> Option<PathBuf> {
        None
    }
    fn pick_key_file(&self, _kind: legation_viewer::platform::KeyFile) -> Option<PathBuf> {
        None
    }
    fn pick_save(&self, _suggested: &str) -> Option<PathBuf> {
        None
    }
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn load_recent(&self) -> Vec<PathBuf> {
        Vec::new()
    }
    fn save_recent(&self, _recent: &[PathBuf]) {}
}

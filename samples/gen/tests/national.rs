//! The checked-in sample set (`samples/national/`): it must be exactly
//! what the generator writes (set `UPDATE_SAMPLES=1` to rewrite it after
//! a deliberate change), and every record in it must pack and render,
//! the mainframe files with the EBCDIC decoder.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use legation_format::catalog::Render;
use legation_format::keys::{Identity, IssuerKey};
use legation_format::pack::{PackOptions, Renderer};
use legation_format::writer::{ArchiveWriter, RecordMeta, WriterOptions};
use legation_reader::decode::{Host, Loaded};
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use legation_samples::{generate, Options};
use rand_core::SeedableRng;

/// Held by the tests that read `samples/national`, which
/// `UPDATE_SAMPLES=1` rewrites.
static CHECKED_IN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The options of the checked-in set (also in samples/README.md).
fn checked_in_options() -> Options {
    Options {
        seed: 2026,
        people: 240,
        scan_share: 8,
        scan_width: 480,
        plan_width: 640,
        sheet_parcels: 12,
    }
}

fn checked_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../national")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every file under `root`, by relative path, with its bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_checked_in_set_matches_the_generator() {
    let _lock = CHECKED_IN.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = scratch("national");
    generate(&checked_in_options(), &fresh).unwrap();
    if std::env::var_os("UPDATE_SAMPLES").is_some() {
        let _ = std::fs::remove_dir_all(checked_in());
        generate(&checked_in_options(), &checked_in()).unwrap();
    }
    let (want, have) = (files(&fresh), files(&checked_in()));
    let missing: Vec<&String> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let changed: Vec<&String> = want
        .iter()
        .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "samples/national drifted from the generator (rerun with UPDATE_SAMPLES=1 if intended): \
         missing {missing:?}, extra {extra:?}, changed {changed:?}"
    );
    let bytes: usize = have.values().map(Vec::len).sum();
    assert!(bytes < 3_000_000, "the checked-in set is {bytes} bytes");
    std::fs::remove_dir_all(&fresh).unwrap();
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let opts = Options {
        people: 80,
        scan_share: 20,
        scan_width: 200,
        sheet_parcels: 5,
        ..Options::default()
    };
    let (a, b, c) = (scratch("det-a"), scratch("det-b"), scratch("det-c"));
    let sa = generate(&opts, &a).unwrap();
    let sb = generate(&opts, &b).unwrap();
    generate(
        &Options {
            seed: 2,
            ..opts.clone()
        },
        &c,
    )
    .unwrap();
    assert_eq!(sa, sb);
    assert_eq!(files(&a), files(&b));
    assert_ne!(files(&a), files(&c));
    assert_eq!(sa.people, 80);
    assert_eq!(sa.files, files(&a).len() as u64);
    assert_eq!(
        sa.bytes,
        files(&a).values().map(|v| v.len() as u64).sum::<u64>()
    );
    // Every record has a sidecar that the packer accepts.
    for (path, _) in files(&a).iter().filter(|(p, _)| !p.ends_with(".dc.json")) {
        let sidecar = a.join(format!("{path}.dc.json"));
        let dc = legation_format::pack::read_sidecar(&sidecar).unwrap();
        assert!(
            !dc["title"].is_empty() && !dc["identifier"].is_empty(),
            "{path}"
        );
    }
    // A folder that is not empty is refused, not overwritten.
    assert!(generate(&opts, &a).is_err());
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// Chooses decoders as `legation pack --decoder .ebc=ebcdic.wasm` does:
/// EBCDIC for `.ebc`, otherwise the built-in decoder of the media type.
struct Packer {
    host: Host,
    decoders: Vec<(String, Arc<Loaded>)>,
    failures: Vec<(String, String)>,
    rendered: usize,
}

impl Renderer for Packer {
    fn cap(&self) -> u64 {
        self.host.limits().record_cap
    }

    fn render(&mut self, meta: &mut RecordMeta, bytes: Option<&[u8]>, _size: u64) {
        let found = if meta.path.ends_with(".ebc") {
            self.decoders.first()
        } else {
            self.decoders[1..]
                .iter()
                .find(|(_, l)| l.info.media_types.contains(&meta.media_type))
        };
        let Some((entry, loaded)) = found else {
            self.failures.push((
                meta.path.clone(),
                format!("no decoder for {}", meta.media_type),
            ));
            return;
        };
        meta.decoder = Some(entry.clone());
        match self.host.render(loaded, &meta.path, bytes.unwrap()) {
            Ok(r) => {
                self.rendered += 1;
                meta.render = Some(Render::Rendered {
                    blake3: r.hash(),
                    pages: r.pages,
                });
            }
            Err(e) => self.failures.push((meta.path.clone(), e.to_string())),
        }
    }
}

#[test]
fn the_checked_in_set_packs_and_every_record_renders() {
    let _lock = CHECKED_IN.lock().unwrap_or_else(|e| e.into_inner());
    let identity = Identity::from_bytes([0x44; 32]);
    let issuer = || IssuerKey::from_bytes([0x55; 32]);
    let opts = WriterOptions {
        created: 1_795_775_512,
        issuer: Some(issuer()),
        recipients: vec![identity.public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut writer = ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng).unwrap();
    let host = Host::native();
    let mut decoders = Vec::new();
    let b = &legation_builtin_decoders::ALL;
    for wasm in [legation_builtin_decoders::EBCDIC].iter().chain(b.iter()) {
        let metered = legation_meter::meter(wasm, &legation_meter::MeterConfig::default()).unwrap();
        let loaded = host.load(&metered, "sample").unwrap();
        let entry = writer
            .add_decoder(&metered, loaded.decoder_ref(), loaded.uses_vectors())
            .unwrap();
        decoders.push((entry, loaded));
    }
    // The raw fallback is for unknown bytes; every sample has a real decoder.
    decoders.pop();
    let mut packer = Packer {
        host: Host::native(),
        decoders,
        failures: Vec::new(),
        rendered: 0,
    };
    let mut plan = legation_format::pack::plan(&checked_in(), PackOptions::default()).unwrap();
    let records = plan.records.len();
    assert!(records > 300, "{records} records");
    legation_format::pack::pack_plan(&mut plan, &mut writer, Some(&mut packer), |_, _| {}).unwrap();
    assert_eq!(packer.failures, Vec::<(String, String)>::new());
    assert_eq!(packer.rendered, records);
    let bytes = writer.finish().unwrap().into_inner();

    let archive = Archive::open(MemSource::new(bytes, "national")).unwrap();
    let unlocked = archive.unlock(&[Key::Identity(identity)]).unwrap();
    let report = unlocked.verify_render(&host, Some(&issuer().public()), &mut |_, _| true);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.not_rendered.is_empty(), "{:?}", report.not_rendered);
    assert_eq!(report.records_rendered, records as u64);
}

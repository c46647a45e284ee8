//! Test support shared by the end-to-end tests: a deterministic sample
//! archive, raw container surgery for hostile variants, the format's test
//! vectors (generated here, checked in under `format/testdata/`), and the
//! hostile decoders every host's tests run.

pub mod hostile;
pub mod raw;
pub mod vectors;

use std::collections::BTreeMap;
use std::io::Cursor;

use legation_format::crypto::Argon2Params;
use legation_format::keys::{Identity, IssuerKey};
use legation_format::writer::{ArchiveWriter, RecordMeta, RecordSource, WriterOptions};
use rand_core::SeedableRng;
use zeroize::Zeroizing;

/// Passphrase of the sample archives.
pub const PASSPHRASE: &str = "vector passphrase: correct horse battery staple";
/// Cheap Argon2id parameters, so vectors open fast (readers accept them).
pub const CHEAP_KDF: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};
/// Creation time of the sample archives (2026-11-27T10:31:52Z).
pub const CREATED: i64 = 1_795_775_512;

/// The recipient identity of the sample archives.
pub fn identity() -> Identity {
    Identity::from_bytes([0x11; 32])
}
/// The issuer key of the sample archives.
pub fn issuer() -> IssuerKey {
    IssuerKey::from_bytes([0x22; 32])
}
/// Another issuer, for forgeries.
pub fn other_issuer() -> IssuerKey {
    IssuerKey::from_bytes([0x33; 32])
}

/// A sample record: path, media type, bytes.
pub struct SampleRecord {
    /// Path.
    pub path: &'static str,
    /// Media type.
    pub media_type: &'static str,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// The records of the sample archive: a compressible act, a register, a
/// three-chunk incompressible scan and an empty file.
pub fn sample_records() -> Vec<SampleRecord> {
    let mut act = String::from("# Act on Digital Continuity\n\n");
    for i in 1..=40 {
        act.push_str(&format!("## Section {i}\n\nThe registers of the State shall be kept in safe copies abroad. §{i}\n\n"));
    }
    let mut people = String::from("id,name,born\n");
    for (i, n) in ["Ана Петрова", "Jānis Bērziņš", "Ελένη Παππά", "Zoë Ñúñez"]
        .iter()
        .enumerate()
    {
        people.push_str(&format!("{i},{n},19{}0-01-0{}\n", 5 + i, 1 + i));
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    let mut scan = vec![0u8; 150_000];
    rand_core::RngCore::fill_bytes(&mut rng, &mut scan);
    vec![
        SampleRecord {
            path: "empty.txt",
            media_type: "text/plain",
            bytes: Vec::new(),
        },
        SampleRecord {
            path: "legal/act-1.md",
            media_type: "text/markdown",
            bytes: act.into_bytes(),
        },
        SampleRecord {
            path: "registers/people.csv",
            media_type: "text/csv",
            bytes: people.into_bytes(),
        },
        SampleRecord {
            path: "scans/page-1.bin",
            media_type: "application/octet-stream",
            bytes: scan,
        },
    ]
}

/// Options for [`sample_archive`].
pub struct Sample {
    /// Seed of the writer's random numbers.
    pub seed: u64,
    /// Sign with [`issuer`].
    pub signed: bool,
    /// Add a slot for [`identity`].
    pub recipient: bool,
    /// Add a slot for [`PASSPHRASE`].
    pub passphrase: bool,
    /// Include the three-chunk scan (150 kB; only the vectors about chunks need it).
    pub large: bool,
    /// Carry [`tiny_decoder`] and record every record's view.
    pub decoder: bool,
    /// Carry [`SAMPLE_VIEWER`] as the embedded viewer (format 1.1).
    pub viewer: bool,
}

/// A small stand-in for the one-file browser viewer, embedded by the
/// vectors about `viewer.html`.
pub const SAMPLE_VIEWER: &str =
    "<!doctype html>\n<html lang=\"en\"><title>Legation viewer</title><p>A stand-in.</p></html>\n";

impl Default for Sample {
    fn default() -> Self {
        Sample {
            seed: 1,
            signed: true,
            recipient: true,
            passphrase: true,
            large: false,
            decoder: false,
            viewer: false,
        }
    }
}

/// Writes the sample archive deterministically.
pub fn sample_archive(s: Sample) -> Vec<u8> {
    let opts = WriterOptions {
        created: CREATED,
        issuer: s.signed.then(issuer),
        recipients: if s.recipient {
            vec![identity().public()]
        } else {
            vec![]
        },
        passphrases: if s.passphrase {
            vec![(Zeroizing::new(PASSPHRASE.to_owned()), CHEAP_KDF)]
        } else {
            vec![]
        },
        embed_spec: false,
        viewer: s.viewer.then(|| SAMPLE_VIEWER.as_bytes().to_vec()),
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(s.seed);
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng).unwrap();
    let tiny = s.decoder.then(tiny_decoder);
    let host = pack_host();
    let decoder = tiny.as_ref().map(|m| {
        let loaded = host.load(m, "tiny").unwrap();
        let entry = w
            .add_decoder(m, loaded.decoder_ref(), loaded.uses_vectors())
            .unwrap();
        (entry, loaded)
    });
    w.add_empty_dir("boxes/empty").unwrap();
    for r in sample_records()
        .into_iter()
        .filter(|r| s.large || !r.path.starts_with("scans/"))
    {
        let mut metadata = BTreeMap::new();
        metadata.insert(
            "identifier".to_owned(),
            vec![format!("urn:sample:{}", r.path)],
        );
        let meta = RecordMeta {
            path: r.path.into(),
            title: String::new(),
            media_type: r.media_type.into(),
            modified: Some(CREATED - 86_400),
            decoder: decoder.as_ref().map(|(e, _)| e.clone()),
            render: decoder.as_ref().map(|(_, l)| {
                let r = host.render(l, r.path, &r.bytes).unwrap();
                legation_format::catalog::Render::Rendered {
                    blake3: r.hash(),
                    pages: 0,
                }
            }),
            metadata,
        };
        w.add_record(meta, RecordSource::Bytes(&r.bytes)).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A tiny metered decoder (a few hundred bytes, hand-written in WAT) that
/// answers every record with the same document: enough to test rendering
/// in test vectors without carrying the built-in decoders in each.
pub fn tiny_decoder() -> Vec<u8> {
    use legation_document::{Block, Document};
    let doc = Document {
        title: "tiny".into(),
        blocks: vec![Block::Code {
            text: "fixed view".into(),
        }],
    }
    .to_cbor();
    let mut out = vec![0u8];
    out.extend(doc);
    let data: String = out.iter().map(|b| format!("\\{b:02x}")).collect();
    let text = format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "legation_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "legation_decode") (param i32 i32) (result i64) (i64.const {packed}))
  (data (i32.const 16) "{data}")
  (@custom "legation.decoder" "{{\"abi\":1,\"name\":\"tiny\",\"version\":\"1.0.0\",\"media_types\":[\"*/*\"],\"pages\":false}}"))"#,
        packed = (16u64 << 32) | out.len() as u64
    );
    metered_wat(&text)
}

/// A module written in WAT, metered with a million units of fuel.
fn metered_wat(text: &str) -> Vec<u8> {
    let wasm = wat::parse_str(text).unwrap();
    legation_meter::meter(
        &wasm,
        &legation_meter::MeterConfig {
            fuel: 1_000_000,
            ..Default::default()
        },
    )
    .unwrap()
}

/// A tiny metered decoder of ABI 2 (format 2.1, SPEC §12.3), hand-written
/// in WAT: it reads the title from the facts block before the record and
/// answers a document with that title and no blocks, so that a host that
/// gives it no facts, or other facts, gets another view.
pub fn facts_decoder() -> Vec<u8> {
    let text = r#"(module
  (memory (export "memory") 1)
  (func (export "legation_alloc") (param $n i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $n) (i32.const 30000))
      (then (i32.const 0)) (else (i32.const 1024))))
  (func (export "legation_decode") (param $p i32) (param $n i32) (result i64)
    (local $t i32) (local $len i32) (local $at i32)
    ;; Past the path and the media type to the title's length.
    (local.set $t (i32.add (i32.add (local.get $p) (i32.const 4)) (i32.load (local.get $p))))
    (local.set $t (i32.add (i32.add (local.get $t) (i32.const 4)) (i32.load (local.get $t))))
    (local.set $len (i32.load (local.get $t)))
    (local.set $t (i32.add (local.get $t) (i32.const 4)))
    ;; The title as a CBOR text string after the prefix at 32768.
    (local.set $at (i32.const 32779))
    (if (i32.lt_u (local.get $len) (i32.const 24))
      (then
        (i32.store8 (local.get $at) (i32.or (i32.const 0x60) (local.get $len)))
        (local.set $at (i32.add (local.get $at) (i32.const 1))))
      (else
        (if (i32.lt_u (local.get $len) (i32.const 256))
          (then
            (i32.store8 (local.get $at) (i32.const 0x78))
            (i32.store8 offset=1 (local.get $at) (local.get $len))
            (local.set $at (i32.add (local.get $at) (i32.const 2))))
          (else
            (i32.store8 (local.get $at) (i32.const 0x79))
            (i32.store8 offset=1 (local.get $at) (i32.shr_u (local.get $len) (i32.const 8)))
            (i32.store8 offset=2 (local.get $at) (local.get $len))
            (local.set $at (i32.add (local.get $at) (i32.const 3)))))))
    (memory.copy (local.get $at) (local.get $t) (local.get $len))
    (local.set $at (i32.add (local.get $at) (local.get $len)))
    ;; "blocks": [].
    (memory.copy (local.get $at) (i32.const 0) (i32.const 8))
    (i64.or
      (i64.shl (i64.const 32768) (i64.const 32))
      (i64.extend_i32_u (i32.sub (i32.add (local.get $at) (i32.const 8)) (i32.const 32768)))))
  (data (i32.const 0) "\66blocks\80")
  (data (i32.const 32768) "\00\a3\61v\01\65title")
  (@custom "legation.decoder" "{\"abi\":2,\"name\":\"title\",\"version\":\"1.0.0\",\"media_types\":[],\"pages\":false}"))"#;
    metered_wat(text)
}

/// The decoder host that renders records when packing samples: wasmtime
/// natively, wasmi in a browser (the same documents either way).
pub fn pack_host() -> legation_reader::decode::Host {
    #[cfg(not(target_arch = "wasm32"))]
    {
        legation_reader::decode::Host::native()
    }
    #[cfg(target_arch = "wasm32")]
    {
        legation_reader::decode::Host::new(
            std::sync::Arc::new(legation_reader::wasmi_engine::Wasmi::default()),
            legation_reader::decode::HostLimits::default(),
        )
    }
}

/// A format 2.0 archive signed by [`issuer`] whose records (`paths`, in
/// order, each `a register line`) open through a quorum slot for each of
/// `policies` (SPEC §7.9) and, with `passphrase`, by [`PASSPHRASE`] too
/// (the sealed envelope beside them); its randomness from `seed`, so two
/// seeds give two archives with the same holders. What the viewers' tests
/// of quorum shares open.
pub fn quorum_archive(
    policies: &[legation_format::quorum::Policy],
    passphrase: bool,
    seed: u64,
    paths: &[&str],
) -> Vec<u8> {
    let opts = WriterOptions {
        created: CREATED,
        issuer: Some(issuer()),
        recipients: vec![],
        passphrases: if passphrase {
            vec![(Zeroizing::new(PASSPHRASE.to_owned()), CHEAP_KDF)]
        } else {
            vec![]
        },
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let mut w = legation_format::v2::writer::ArchiveWriter::new_with_quorum(
        Cursor::new(Vec::new()),
        opts,
        rng,
        None,
        policies,
    )
    .unwrap();
    register_lines(&mut w, paths);
    w.finish().unwrap().into_inner()
}

/// Adds a text record at each of `paths` (in order) holding `a register
/// line`: the records of the test archives for key slots.
pub fn register_lines<W, R>(
    w: &mut legation_format::v2::writer::ArchiveWriter<W, R>,
    paths: &[&str],
) where
    W: std::io::Write + std::io::Seek,
    R: rand_core::CryptoRngCore,
{
    for p in paths {
        let meta = RecordMeta {
            path: (*p).into(),
            media_type: "text/plain".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(b"a register line\n"))
            .unwrap();
    }
}

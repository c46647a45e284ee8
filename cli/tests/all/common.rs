//! Helpers shared by the command's end-to-end suites: running the built
//! binary, temporary folders, and a packed sample archive.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `legation`, without a passphrase in its environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legation"));
    c.env_remove("LEGATION_PASSPHRASE");
    c
}

/// Runs `legation ARGS` in `dir`.
pub fn run(args: &[&str], dir: &Path) -> Output {
    bin().args(args).current_dir(dir).output().unwrap()
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A temporary folder, removed when dropped.
pub struct Tmp(pub PathBuf);
impl Tmp {
    pub fn new(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("legation-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A folder of records (`src/`), keys (`alice` recipient, `gov` issuer),
/// and `a.lgn` packed from them for alice and signed by gov, as format 1.3
/// ([`keys_and_pack`]).
pub fn packed(name: &str) -> Tmp {
    let t = Tmp::new(name);
    let d = &t.0;
    let src = d.join("src");
    fs::create_dir_all(src.join("legal")).unwrap();
    fs::create_dir_all(src.join("empty/inner")).unwrap();
    fs::create_dir_all(src.join("registers")).unwrap();
    fs::write(src.join("legal/act.md"), "# Act\n\n".repeat(500)).unwrap();
    fs::write(
        src.join("legal/act.md.dc.json"),
        r#"{"title": "The Act", "creator": ["Parliament"], "date": "2026"}"#,
    )
    .unwrap();
    fs::write(src.join("registers/Ελλάδα.csv"), "id,name\n1,Ελένη\n").unwrap();
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(src.join("registers/scan.bin"), &big).unwrap();
    fs::write(src.join("zero"), "").unwrap();
    let o = keys_and_pack(d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    t
}

/// In `d`: keys for the `alice` recipient and the `gov` issuer, and
/// `src/` packed into `a.lgn` for alice, signed by gov, as format 1.3
/// (the tests that use it look into 1.x's manifest, catalog and record
/// entries; [`pack_v2`] gives the same folder as 2.0, pack's default);
/// pack's output.
pub fn keys_and_pack(d: &Path) -> Output {
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    run(
        &[
            "pack",
            "src",
            "-o",
            "a.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
            "--format",
            "1.3",
        ],
        d,
    )
}

/// `src/` of [`packed`]'s folder packed again, as format 2.0, into `out`
/// (each packing seals the records afresh: another generation).
pub fn pack_v2(d: &Path, out: &str) {
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            out,
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
            "--format",
            "2.0",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Generations 1 and 2 of series `archive_id` (after a generation 0 that
/// is not kept), each self-contained and written with the library so that
/// a test chooses each one's signer: generation `s` created `s - 1` days
/// after 1_800_000_000, signed by `signers[s - 1]`, its one record
/// `register/people.csv` reading "generation {s}{suffix}", its keys drawn
/// from `seed(s)`. Returns the files' bytes.
pub fn library_series(
    archive_id: [u8; 16],
    signers: [legation_format::keys::IssuerKey; 2],
    seed: impl Fn(u64) -> u64,
    suffix: &str,
) -> Vec<Vec<u8>> {
    use legation_format::v2::writer::{ArchiveWriter, Generation};
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_chacha::rand_core::SeedableRng;
    let mut previous = [0x11; 32];
    let mut out = Vec::new();
    for (s, signer) in (1..=2u64).zip(signers) {
        let opts = WriterOptions {
            created: 1_800_000_000 + (s as i64 - 1) * 86_400,
            issuer: Some(signer),
            recipients: vec![[9; 32]],
            passphrases: Vec::new(),
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new_generation(
            std::io::Cursor::new(Vec::new()),
            opts,
            rand_chacha::ChaCha20Rng::seed_from_u64(seed(s)),
            Some(Generation {
                archive_id,
                sequence: s,
                previous,
            }),
        )
        .unwrap();
        let body = format!("generation {s}{suffix}\n");
        w.add_record(
            RecordMeta {
                path: "register/people.csv".into(),
                media_type: "text/csv".into(),
                ..RecordMeta::default()
            },
            RecordSource::Bytes(body.as_bytes()),
        )
        .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let a = legation_reader::Archive::open(std::sync::Arc::new(
            legation_reader::source::MemSource::new(bytes.clone(), "g"),
        ))
        .unwrap();
        let (h, sigs) = a.head_and_signatures().unwrap();
        previous = legation_format::v2::head::chain_hash(h, sigs);
        out.push(bytes);
    }
    out
}

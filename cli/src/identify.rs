//! Format identification at packing (SPEC §11.6): each record's PRONOM
//! PUID and what it rests on, stored in the record's `metadata` under
//! [`KEY`], and the type its decoder is chosen by (SPEC §11.5).
//!
//! Records read whole are identified from their bytes on the renderer's
//! thread; a record too large to be read whole is identified on the
//! reading thread from its file (64 KiB at each end) and handed over
//! through [`Large`], keyed by path.
//!
//! `LEGATION_NO_IDENTIFY=1` in the environment turns identification off
//! (records get no [`KEY`], as before format identification existed): a
//! switch for measuring what identification costs, not for users, whose
//! archives should carry their records' formats.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use legation_format::pack::Found;
use legation_format::writer::RecordMeta;
use legation_interchange::pronom::{self, Basis, Identification};

/// The `metadata` key of a record's format: `[PUID, basis, release]`
/// with basis `signature`, `extension` or `container: ENTRIES` (the
/// entries a container signature named, `container: [Content_Types].xml`),
/// or `["unidentified", release]`; the release names PRONOM's signatures
/// (`PRONOM 109`, and `PRONOM 109, container 20200121` for a container
/// match).
pub const KEY: &str = "legation:puid";

/// What `KEY` holds for an identification.
pub fn value(id: &Identification) -> Vec<String> {
    match id.format {
        Some(f) if id.basis == Basis::Container => vec![
            f.puid.clone(),
            id.basis_text(),
            container_release().to_owned(),
        ],
        Some(f) => vec![
            f.puid.clone(),
            id.basis.as_str().to_owned(),
            release().to_owned(),
        ],
        None => unidentified(),
    }
}

/// The release the signatures come from (`PRONOM 109`), made once.
fn release() -> &'static str {
    static RELEASE: OnceLock<String> = OnceLock::new();
    RELEASE.get_or_init(|| format!("PRONOM {}", pronom::registry().release))
}

/// The release of a container match (`PRONOM 109, container 20200121`),
/// made once.
fn container_release() -> &'static str {
    static RELEASE: OnceLock<String> = OnceLock::new();
    RELEASE.get_or_init(|| format!("PRONOM {}", pronom::release_of(Basis::Container)))
}

/// Whether identification is turned off (`LEGATION_NO_IDENTIFY=1`).
fn off() -> bool {
    static OFF: OnceLock<bool> = OnceLock::new();
    *OFF.get_or_init(|| std::env::var_os("LEGATION_NO_IDENTIFY").is_some_and(|v| v == "1"))
}

/// What `KEY` holds for a record that could not be looked at.
fn unidentified() -> Vec<String> {
    vec![
        Basis::Unidentified.as_str().to_owned(),
        release().to_owned(),
    ]
}

/// The identifications of records too large to be read whole, made
/// where their files are known and taken where they are packed.
#[derive(Clone, Default)]
pub struct Large(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Large {
    /// The walk `found` with each record over `cap` bytes identified from
    /// its file as it passes (memory: the few records between the reading
    /// thread and the renderer).
    pub fn identifying<'a>(
        &self,
        cap: u64,
        found: impl Iterator<Item = legation_format::Result<Found>> + Send + 'a,
    ) -> impl Iterator<Item = legation_format::Result<Found>> + Send + 'a {
        let large = self.clone();
        found.inspect(move |f| {
            if let Ok(Found::Record(r)) = f {
                if r.size > cap && !off() {
                    large.put(&r.path, &r.file);
                }
            }
        })
    }

    fn put(&self, path: &str, file: &Path) {
        // A file that cannot be read now fails packing when it is read
        // for storing; until then it is simply not identified.
        let v = match std::fs::File::open(file).and_then(|f| pronom::identify_reader(path, f)) {
            Ok(id) => value(&id),
            Err(_) => unidentified(),
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), v);
    }

    fn take(&self, path: &str) -> Option<Vec<String>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(path)
    }
}

/// Sets a record's [`KEY`] from its bytes, or, for a record not read
/// whole, from what [`Large`] found.
pub fn identify(meta: &mut RecordMeta, bytes: Option<&[u8]>, large: &Large) {
    if off() {
        return;
    }
    let v = match bytes {
        Some(b) => value(&pronom::identify_bytes(&meta.path, b)),
        None => large.take(&meta.path).unwrap_or_else(unidentified),
    };
    meta.metadata.insert(KEY.to_owned(), v);
}

/// The type a record's decoder is chosen by (SPEC §11.5): the first media
/// type PRONOM gives the format identified from the record's bytes
/// (basis `signature` or `container: …`), else the record's `media_type`
/// (§11.4).
pub fn decoder_type(meta: &RecordMeta) -> &str {
    let by_signature = meta
        .metadata
        .get(KEY)
        .filter(|v| {
            v.len() == 3
                && (v[1] == Basis::Signature.as_str()
                    || v[1].starts_with(Basis::Container.as_str()))
        })
        .and_then(|v| pronom::registry().format(&v[0]))
        .and_then(|f| f.mime.split(',').map(str::trim).find(|m| m.contains('/')));
    by_signature.unwrap_or(&meta.media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str, media_type: &str) -> RecordMeta {
        RecordMeta {
            path: path.into(),
            title: String::new(),
            media_type: media_type.into(),
            modified: None,
            decoder: None,
            render: None,
            metadata: Default::default(),
        }
    }

    #[test]
    fn records_get_their_puid_and_basis() {
        let large = Large::default();
        let png = {
            let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            b.extend([0; 13]);
            b.extend(b"\0\0\0\0IEND\xaeB`\x82");
            b
        };
        for (path, bytes, want) in [
            (
                "a.csv",
                &b"a,b\n1,2\n"[..],
                vec!["x-fmt/18", "extension", "PRONOM 109"],
            ),
            (
                "notes.md",
                b"# t\n",
                vec!["fmt/1149", "extension", "PRONOM 109"],
            ),
            (
                "x.bin",
                b"\0\x01\x02",
                vec!["fmt/208", "extension", "PRONOM 109"],
            ),
            ("zero", b"", vec!["unidentified", "PRONOM 109"]),
        ] {
            let mut m = meta(path, "text/plain");
            identify(&mut m, Some(bytes), &large);
            assert_eq!(m.metadata[KEY], want, "{path}");
        }
        let mut m = meta("scan.dat", "image/png");
        identify(&mut m, Some(&png), &large);
        assert_eq!(m.metadata[KEY][1], "signature", "{:?}", m.metadata[KEY]);
        assert!(
            m.metadata[KEY][0].starts_with("fmt/1"),
            "{:?}",
            m.metadata[KEY]
        );
        // Not read whole and not identified beforehand: unidentified.
        let mut m = meta("big", "application/octet-stream");
        identify(&mut m, None, &large);
        assert_eq!(m.metadata[KEY], ["unidentified", "PRONOM 109"]);
    }

    #[test]
    fn the_decoder_type_is_pronoms_when_identified_by_signature() {
        let large = Large::default();
        // XML named .dat: §11.4 says octet-stream; PRONOM's signature
        // says XML, whose first media type chooses the decoder.
        let mut m = meta("outline.dat", "application/octet-stream");
        identify(
            &mut m,
            Some(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a/>\n"),
            &large,
        );
        assert_eq!(m.metadata[KEY], ["fmt/101", "signature", "PRONOM 109"]);
        assert!(decoder_type(&m).ends_with("/xml"), "{}", decoder_type(&m));
        // By extension only: the media type of §11.4 stands.
        let mut m = meta("a.csv", "text/csv");
        identify(&mut m, Some(b"a,b\n"), &large);
        assert_eq!(decoder_type(&m), "text/csv");
    }

    #[test]
    fn large_records_are_identified_from_their_files() {
        let f = std::env::temp_dir().join(format!("legation-identify-{}.tif", std::process::id()));
        let mut bytes = b"II*\0\x08\0\0\0".to_vec();
        bytes.resize(300_000, 0);
        std::fs::write(&f, &bytes).unwrap();
        let kept = f.clone();
        let large = Large::default();
        let found = vec![Ok(Found::Record(legation_format::pack::FoundRecord {
            path: "big.tif".into(),
            file: f.clone(),
            size: bytes.len() as u64,
            modified: None,
            sidecar: None,
        }))];
        assert_eq!(large.identifying(1000, found.into_iter()).count(), 1);
        let mut m = meta("big.tif", "image/tiff");
        identify(&mut m, None, &large);
        assert_eq!(m.metadata[KEY][1], "signature", "{:?}", m.metadata[KEY]);
        // Taken once.
        assert!(large.take("big.tif").is_none());
        let _ = std::fs::remove_file(&kept);
    }
}

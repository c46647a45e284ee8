//! The public facts `public.json` (`docs/design/format-2.0.md` §3.2, §11):
//! what opening a 2.0 archive reads besides the head. 1.x's manifest
//! members minus `entries`, `issuer` replaced by `issuers`, the catalog's
//! index stream id and page size, and the bundle count, in this order:
//! `format`, `version`, `archive_id`, `created`, `issuers`,
//! `key_commitment`, `key_slots`, `chunk_size`, `catalog`, `decoders`,
//! `bundles` (SPEC §26).
//!
//! Reading is strict where 1.x is lenient: every member is required and
//! `null` is refused anywhere in the document, unknown members included
//! (SPEC §26: one document, one meaning). Unknown members are ignored,
//! as in 1.x, so that a later 2.x can add members (recovery data, say);
//! key slots of an unknown `type` are kept as [`KeySlot::Unknown`] and
//! issuers of an unknown algorithm are skipped, so that new slot kinds and
//! signature algorithms are minor versions.

use serde::{Deserialize, Deserializer, Serialize};

use crate::crypto::KeySlot;
use crate::manifest::{DecoderRef, Issuer};
use crate::v2::{INDEX_ENTRY, PAGE_RECORDS, PUBLIC_ENTRY};
use crate::{Error, Result};

/// Largest `public.json` a reader accepts (4 MiB, SPEC §26: about 20,000
/// key slots).
pub const MAX_PUBLIC_BYTES: usize = 4 << 20;
/// The major version this code reads.
pub const MAJOR: u32 = 2;

/// The public facts document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Public {
    /// Always `"legation"`.
    pub format: String,
    /// Format version, `2.MINOR` ([`crate::v2::VERSION`] when written).
    pub version: String,
    /// Random archive id.
    #[serde(with = "crate::hex::array")]
    pub archive_id: [u8; 16],
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// The issuers' public keys (possibly none: an unsigned archive):
    /// Ed25519 keys, and (2.2) the ML-DSA-65 halves of hybrid issuers.
    pub issuers: Issuers,
    /// Commitment to the data key ([`crate::crypto::DataKey::commitment`]).
    #[serde(with = "crate::hex::array")]
    pub key_commitment: [u8; 32],
    /// Key slots; any one opens the archive.
    pub key_slots: Vec<KeySlot>,
    /// Plaintext bytes per chunk of every sealed stream.
    pub chunk_size: u64,
    /// Where the sealed catalog is.
    pub catalog: Catalog,
    /// The decoders the archive carries (an empty array when none).
    pub decoders: Vec<DecoderRef>,
    /// Number of bundles (`b/00000000` onwards).
    pub bundles: u64,
    /// A dependent generation's earlier generations (SPEC §33.2); absent
    /// in a self-contained file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<crate::v2::series::SeriesMember>,
}

/// Where the sealed catalog is and how it is cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Entry name of the index: always `c/index`.
    pub index: String,
    /// The index stream's random id (its key derives from it).
    #[serde(with = "crate::hex::array")]
    pub index_stream: [u8; 16],
    /// Number of catalog pages.
    pub pages: u64,
    /// Records per full page: always [`PAGE_RECORDS`].
    pub page_records: u64,
}

/// The `issuers` member: the `ed25519` items (reached as a
/// `Vec<Issuer>` through `Deref`, as 2.0 code reads them) and the
/// `ml-dsa-65` items of hybrid issuers (SPEC §27.4, format 2.2). Items of
/// other algorithms are skipped when read and so not written again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issuers {
    /// The Ed25519 issuers, in the document's order.
    pub ed25519: Vec<Issuer>,
    /// The ML-DSA-65 public keys, in the document's order, each
    /// [`crate::pqsig::PUBLIC_LEN`] bytes.
    pub ml_dsa_65: Vec<Vec<u8>>,
}

impl std::ops::Deref for Issuers {
    type Target = Vec<Issuer>;
    fn deref(&self) -> &Vec<Issuer> {
        &self.ed25519
    }
}

impl std::ops::DerefMut for Issuers {
    fn deref_mut(&mut self) -> &mut Vec<Issuer> {
        &mut self.ed25519
    }
}

impl From<Vec<Issuer>> for Issuers {
    fn from(ed25519: Vec<Issuer>) -> Self {
        Issuers {
            ed25519,
            ml_dsa_65: Vec::new(),
        }
    }
}

impl Issuers {
    /// The items for these signing keys: each key's Ed25519 half, then the
    /// ML-DSA-65 halves of the hybrid ones.
    pub fn of_keys<'a>(keys: impl IntoIterator<Item = &'a crate::keys::IssuerKey>) -> Self {
        let mut out = Issuers::default();
        for k in keys {
            out.ed25519.push(Issuer {
                algorithm: crate::v2::head::ED25519.into(),
                public_key: k.public(),
            });
            if let Some(seed) = k.ml_dsa_seed() {
                out.ml_dsa_65.push(crate::pqsig::public_of(seed).to_vec());
            }
        }
        out
    }

    /// Whether nobody signs: no item of an algorithm this code knows.
    pub fn none(&self) -> bool {
        self.ed25519.is_empty() && self.ml_dsa_65.is_empty()
    }

    /// Every (algorithm, key) pair, Ed25519 first.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &[u8])> + Clone {
        self.ed25519
            .iter()
            .map(|i| (crate::v2::head::ED25519, &i.public_key[..]))
            .chain(
                self.ml_dsa_65
                    .iter()
                    .map(|k| (crate::pqsig::ML_DSA_65, &k[..])),
            )
    }
}

/// An issuer item as written: an algorithm and a key.
#[derive(Serialize, Deserialize)]
struct AnyIssuer {
    algorithm: String,
    public_key: String,
}

impl Serialize for Issuers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let items: Vec<AnyIssuer> = self
            .all()
            .map(|(algorithm, key)| AnyIssuer {
                algorithm: algorithm.into(),
                public_key: crate::hex::encode(key),
            })
            .collect();
        items.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Issuers {
    /// Keeps the `ed25519` issuers (whose keys must be 64 lowercase hex
    /// digits) and the `ml-dsa-65` ones (3904), and skips those of
    /// algorithms this reader does not know.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let all = Vec::<AnyIssuer>::deserialize(d)?;
        let mut out = Issuers::default();
        for i in all {
            if i.algorithm == crate::v2::head::ED25519 {
                let public_key = crate::hex::decode_array(&i.public_key).ok_or_else(|| {
                    D::Error::custom("an ed25519 issuer key is not 64 lowercase hex digits")
                })?;
                out.ed25519.push(Issuer {
                    algorithm: i.algorithm,
                    public_key,
                });
            } else if i.algorithm == crate::pqsig::ML_DSA_65 {
                let key = crate::hex::decode(&i.public_key)
                    .filter(|k| k.len() == crate::pqsig::PUBLIC_LEN)
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "an ml-dsa-65 issuer key is not {} lowercase hex digits",
                            2 * crate::pqsig::PUBLIC_LEN
                        ))
                    })?;
                out.ml_dsa_65.push(key);
            }
        }
        Ok(out)
    }
}

/// A version part in its one spelling: `0`, or 1-9 then digits.
fn number(s: &str) -> Option<u32> {
    let shape =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    shape.then(|| s.parse().ok()).flatten()
}

impl Public {
    /// The document's bytes: compact JSON, members in order, a final line feed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("plain data serializes");
        v.push(b'\n');
        v
    }

    /// Parses and checks `public.json`: at most [`MAX_PUBLIC_BYTES`], no
    /// `null` anywhere, format `legation`, version `2.MINOR` (each part `0`
    /// or 1-9 then digits), every member present and well-formed, the
    /// chunk size, catalog index and page size of 2.0, RFC 3339 UTC
    /// `created`, no issuer twice, decoder entries under `d/`, each listed
    /// once.
    pub fn parse(bytes: &[u8]) -> Result<Public> {
        let bad = |what: String| Error::invalid(PUBLIC_ENTRY, what);
        let json = |e: serde_json::Error| Error::Json {
            entry: PUBLIC_ENTRY.into(),
            reason: e.to_string(),
        };
        if bytes.len() > MAX_PUBLIC_BYTES {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_PUBLIC_BYTES} allowed",
                bytes.len()
            )));
        }
        // First format and version, so that a later major gets a clear
        // error even if its members changed.
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(json)?;
        if v.get("format").and_then(|f| f.as_str()) != Some("legation") {
            return Err(bad("\"format\" is not \"legation\"".into()));
        }
        let version = v
            .get("version")
            .and_then(|f| f.as_str())
            .unwrap_or_default();
        let major = version
            .split_once('.')
            .and_then(|(m, n)| number(n).and(number(m)));
        if major != Some(MAJOR) {
            return Err(bad(format!(
                "format version {version:?} is not supported (this reader reads {MAJOR}.x)"
            )));
        }
        if let Some(at) = null_in(&v) {
            return Err(bad(format!(
                "{at} is null (2.0 refuses null anywhere, SPEC §26)"
            )));
        }
        drop(v);
        let p: Public = serde_json::from_slice(bytes).map_err(json)?;
        if p.chunk_size != crate::crypto::CHUNK_SIZE as u64 {
            return Err(bad(format!(
                "chunk size {} is not {}",
                p.chunk_size,
                crate::crypto::CHUNK_SIZE
            )));
        }
        if p.catalog.index != INDEX_ENTRY {
            return Err(bad(format!(
                "catalog index {:?} is not {INDEX_ENTRY:?}",
                p.catalog.index
            )));
        }
        if p.catalog.page_records != PAGE_RECORDS as u64 {
            return Err(bad(format!(
                "page size {} is not {PAGE_RECORDS}",
                p.catalog.page_records
            )));
        }
        if crate::time::parse_rfc3339(&p.created).is_none() {
            return Err(bad(format!(
                "created time {:?} is not RFC 3339 UTC",
                p.created
            )));
        }
        let mut keys = std::collections::HashSet::new();
        if !p.issuers.all().all(|k| keys.insert(k)) {
            return Err(bad("an issuer is listed twice".into()));
        }
        let mut entries = std::collections::HashSet::new();
        for d in &p.decoders {
            crate::v2::page::check_decoder_name(&d.entry).map_err(bad)?;
            // One item a `d/` entry (SPEC §5.2, §20.2): two items for one
            // module would give it two names, limits or media types.
            if !entries.insert(d.entry.as_str()) {
                return Err(bad(format!("decoder {} is listed twice", d.entry)));
            }
        }
        Ok(p)
    }
}

/// Where `v` holds a `null`, as a JSON pointer to it (`/` for the whole
/// document); `None` when it holds none. Walked with a stack of its own,
/// so that nesting costs no recursion here (serde_json's parser already
/// bounds it).
fn null_in(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let mut stack: Vec<(&Value, String)> = vec![(v, String::new())];
    while let Some((v, at)) = stack.pop() {
        match v {
            Value::Null => return Some(if at.is_empty() { "/".into() } else { at }),
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    stack.push((x, format!("{at}/{i}")));
                }
            }
            Value::Object(members) => {
                for (k, x) in members {
                    stack.push((x, format!("{at}/{k}")));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Argon2Params;
    use crate::manifest::DecoderLimits;

    fn public() -> Public {
        Public {
            format: "legation".into(),
            version: crate::v2::VERSION.into(),
            archive_id: [0x11; 16],
            created: "2026-12-08T10:00:00Z".into(),
            issuers: vec![Issuer {
                algorithm: "ed25519".into(),
                public_key: [0x22; 32],
            }]
            .into(),
            key_commitment: [0x33; 32],
            key_slots: vec![
                KeySlot::X25519 {
                    ephemeral: [1; 32],
                    wrapped: [2; 48],
                    commitment: [3; 32],
                },
                KeySlot::Passphrase {
                    salt: [4; 16],
                    params: Argon2Params::DEFAULT,
                    wrapped: [5; 48],
                    commitment: [6; 32],
                },
            ],
            chunk_size: crate::crypto::CHUNK_SIZE as u64,
            catalog: Catalog {
                index: INDEX_ENTRY.into(),
                index_stream: [0x44; 16],
                pages: 2442,
                page_records: PAGE_RECORDS as u64,
            },
            bundles: 4,
            series: None,
            decoders: vec![DecoderRef {
                entry: "d/0123456789abcdef.wasm".into(),
                name: "csv".into(),
                version: "1.0.0".into(),
                abi: 1,
                media_types: vec!["text/csv".into()],
                limits: DecoderLimits {
                    fuel: 1 << 30,
                    max_depth: 256,
                    max_memory_pages: 512,
                },
            }],
        }
    }

    fn text() -> String {
        String::from_utf8(public().to_bytes()).unwrap()
    }

    fn refused(doc: &str, what: &str) {
        let e = Public::parse(doc.as_bytes()).expect_err(what).to_string();
        assert!(e.starts_with("public.json: "), "{what}: {e}");
    }

    #[test]
    fn round_trip_in_member_order() {
        let p = public();
        let b = p.to_bytes();
        assert_eq!(Public::parse(&b).unwrap(), p);
        let t = text();
        assert!(t.ends_with("}\n"));
        let at = |m: &str| {
            t.find(&format!("\"{m}\":"))
                .unwrap_or_else(|| panic!("{m}"))
        };
        let order = [
            "format",
            "version",
            "archive_id",
            "created",
            "issuers",
            "key_commitment",
            "key_slots",
            "chunk_size",
            "catalog",
            "decoders",
            "bundles",
        ];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{t}");
        assert!(t.starts_with(r#"{"format":"legation","version":"2.0","archive_id":"11111111111111111111111111111111","created":"2026-12-08T10:00:00Z","issuers":[{"algorithm":"ed25519","public_key":"#));
        assert!(t.contains(r#""catalog":{"index":"c/index","index_stream":"44444444444444444444444444444444","pages":2442,"page_records":4096},"decoders":["#));
        // An unsigned archive with no decoder: empty arrays, written.
        let mut u = public();
        u.issuers.clear();
        u.decoders.clear();
        let ut = String::from_utf8(u.to_bytes()).unwrap();
        assert!(ut.contains(r#""issuers":[]"#) && ut.contains(r#""decoders":[]"#));
        assert_eq!(Public::parse(ut.as_bytes()).unwrap(), u);
    }

    #[test]
    fn later_minors_extend_it() {
        let t = text();
        // A later minor version, an unknown member, an unknown slot type
        // and an issuer of an unknown algorithm are all read.
        let later = t
            .replace(r#""version":"2.0""#, r#""version":"2.13""#)
            .replace(
                r#""bundles":4"#,
                r#""bundles":4,"recovery":{"x":[1,2],"y":false}"#,
            )
            .replace(
                r#""key_slots":["#,
                r#""key_slots":[{"type":"ml-kem","k":"00"},"#,
            )
            .replace(
                r#""issuers":["#,
                r#""issuers":[{"algorithm":"slh-dsa-sha2-128s","public_key":"abcd"},"#,
            );
        let p = Public::parse(later.as_bytes()).unwrap();
        assert_eq!(p.version, "2.13");
        assert_eq!(p.issuers, public().issuers);
        assert_eq!(p.key_slots.len(), 3);
        assert_eq!(p.key_slots[0], KeySlot::Unknown);
    }

    #[test]
    fn other_documents_are_refused() {
        let t = text();
        let with = |from: &str, to: &str| {
            assert!(t.contains(from), "{from}");
            t.replacen(from, to, 1)
        };
        refused(
            &with(r#""bundles":4"#, r#""bundles":null"#),
            "a null member",
        );
        refused(
            &with(r#""type":"argon2id""#, r#""type":null"#),
            "a null slot type",
        );
        refused(
            &with(r#""memory_kib":262144"#, r#""memory_kib":null"#),
            "a null slot field",
        );
        refused(
            &with(r#""fuel":1073741824"#, r#""fuel":null"#),
            "a null decoder limit",
        );
        refused(
            &with(
                r#""issuers":["#,
                r#""issuers":[{"algorithm":"ml-dsa-65","public_key":null},"#,
            ),
            "a null issuer key",
        );
        refused(
            &with(r#""pages":2442"#, r#""pages":null"#),
            "a null catalog member",
        );
        // SPEC §26: null is refused anywhere, in unknown members and in
        // the items of unknown slot types and issuer algorithms too.
        for (from, to, at) in [
            (
                r#""bundles":4"#,
                r#""bundles":4,"recovery":{"x":[1,2],"y":null}"#,
                "/recovery/y",
            ),
            (r#""bundles":4"#, r#""bundles":4,"later":null"#, "/later"),
            (
                r#""key_slots":["#,
                r#""key_slots":[{"type":"ml-kem","k":null},"#,
                "/key_slots/0/k",
            ),
            (
                r#""issuers":["#,
                r#""issuers":[{"algorithm":"ml-dsa-65","public_key":"ab","x":[null]},"#,
                "/issuers/0/x/0",
            ),
        ] {
            let e = Public::parse(with(from, to).as_bytes())
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{at} is null")), "{to}: {e}");
        }
        // A decoder listed twice (SPEC §5.2: one item a d/ entry).
        let doubled = {
            let mut p = public();
            p.decoders.push(p.decoders[0].clone());
            p.decoders[1].version = "2.0.0".into();
            String::from_utf8(p.to_bytes()).unwrap()
        };
        let e = Public::parse(doubled.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("d/0123456789abcdef.wasm is listed twice"), "{e}");
        refused(&with(r#","bundles":4"#, ""), "bundles missing");
        refused(
            &with(r#","decoders":["#, r#","decoders":[],"decoders":["#),
            "decoders twice",
        );
        refused(
            &with(r#""bundles":4"#, r#""bundles":4,"bundles":5"#),
            "a member twice",
        );
        refused(&with(r#""legation""#, r#""legation2""#), "another format");
        for v in [
            "1.3",
            "3.0",
            "02.0",
            "2.01",
            "2",
            "2.",
            ".0",
            "2.0.1",
            "2.x",
            "+2.0",
            "2.4294967296",
        ] {
            refused(
                &with(r#""version":"2.0""#, &format!(r#""version":"{v}""#)),
                v,
            );
        }
        refused(
            &with(r#""chunk_size":65536"#, r#""chunk_size":4096"#),
            "another chunk size",
        );
        refused(
            &with(r#""index":"c/index""#, r#""index":"c/other""#),
            "another index entry",
        );
        refused(
            &with(r#""page_records":4096"#, r#""page_records":512"#),
            "another page size",
        );
        refused(
            &with("2026-12-08T10:00:00Z", "2026-12-08 10:00:00"),
            "created not RFC 3339",
        );
        refused(
            &with(&"44".repeat(16), &"4".repeat(31)),
            "index stream of 31 digits",
        );
        refused(
            &with(&"11".repeat(16), &"AA".repeat(16)),
            "uppercase archive id",
        );
        refused(
            &with(&"22".repeat(32), &"22".repeat(31)),
            "an ed25519 key too short",
        );
        refused(
            &with(
                r#""issuers":["#,
                &format!(
                    r#""issuers":[{{"algorithm":"ed25519","public_key":"{}"}},"#,
                    "22".repeat(32)
                ),
            ),
            "an issuer twice",
        );
        refused(
            &with("d/0123456789abcdef.wasm", "r/0123456789abcdef"),
            "a decoder outside d/",
        );
        refused(&with(r#""abi":1"#, r#""abi":-1"#), "a negative ABI");
        refused("[]", "not an object");
        refused(&t[..t.len() / 2], "truncated");
        // SPEC §26: over 4 MiB is refused, at 4 MiB read.
        assert_eq!(MAX_PUBLIC_BYTES, 4_194_304);
        let padded = |n: usize| {
            // `,"pad":""` is 9 bytes before the padding.
            let pad = "x".repeat(n - t.len() - 9);
            with(r#""bundles":4"#, &format!(r#""bundles":4,"pad":"{pad}""#))
        };
        assert_eq!(padded(4_194_304).len(), 4_194_304);
        Public::parse(padded(4_194_304).as_bytes()).unwrap();
        let e = Public::parse(padded(4_194_305).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("4194305 bytes, more than the 4194304"), "{e}");
    }
}

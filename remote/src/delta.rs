//! Pushing only what changed: the record of what a finished push left on
//! the store, and the plan of a push that copies the unchanged ranges of
//! that object on the store (S3's `UploadPartCopy`) and uploads the rest.
//!
//! S3 has no partial overwrite: an object is replaced whole. A
//! multipart upload, though, may take any of its parts from an object
//! already on the store by a byte range, so a push after `rekey
//! --in-place` (which changes the archive's tail and, when it has one,
//! its event log) sends the changed ranges and copies everything else on
//! the store. Which ranges changed is told by the BLAKE3 of every MiB of
//! the file, kept beside the archive after each finished push
//! (`ARCHIVE.pushed.json`) with the object's ETag: the copy is made only
//! from the very object that record describes (`x-amz-copy-source-if-match`),
//! and the keyless audit that follows a push checks the result whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use object_store::aws::AwsAuthorizer;
use object_store::client::{HttpRequest, HttpRequestBody};
use serde::{Deserialize, Serialize};

use crate::{runtime, Error, Result, Store, Url};

/// Bytes per block of the record of a push.
pub(crate) const BLOCK: u64 = 1 << 20;
/// S3's least part, but for the last.
pub(crate) const MIN_PART: u64 = 5 << 20;
/// S3's greatest part.
const MAX_PART: u64 = 5 << 30;
/// S3's most parts in one upload.
pub(crate) const MAX_PARTS: usize = 10_000;
/// Bytes of a block's hash kept in the record (a change detector: the
/// audit after the push checks the result).
const HASH_LEN: usize = 16;

/// One part of a push: the bytes `start..end` of the file, sent
/// (`copy == false`) or copied on the store from the same range of the
/// object pushed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Piece {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Copied on the store rather than sent.
    pub copy: bool,
}

impl Piece {
    pub(crate) fn len(&self) -> u64 {
        self.end - self.start
    }
}

/// What a finished push left at one URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pushed {
    /// The object's URL.
    pub url: String,
    /// Its size.
    pub size: u64,
    /// Its ETag as the store gave it.
    pub etag: String,
    /// Bytes per block.
    pub block: u64,
    /// The first 16 bytes of BLAKE3 of each block, hex, one after another.
    pub hashes: String,
}

/// The record file: one entry per URL the archive was pushed to.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    pushed: BTreeMap<String, Pushed>,
}

/// `ARCHIVE.pushed.json`, beside the archive.
pub fn record_path(archive: &Path) -> PathBuf {
    let mut name = archive.file_name().unwrap_or_default().to_owned();
    name.push(".pushed.json");
    archive.with_file_name(name)
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the record says of `url`; none when there is no record or it is
/// unreadable (then the push sends everything, as a first one does).
pub(crate) fn recorded(archive: &Path, url: &Url) -> Option<Pushed> {
    let b = std::fs::read(record_path(archive)).ok()?;
    let r: Record = serde_json::from_slice(&b).ok()?;
    let p = r.pushed.get(&url.to_string())?.clone();
    let blocks = p.size.div_ceil(BLOCK.max(1));
    (p.block == BLOCK && p.hashes.len() as u64 == blocks * 2 * HASH_LEN as u64).then_some(p)
}

/// Saves what a finished push left at its URL (written whole, then
/// renamed over the old record).
pub(crate) fn save(archive: &Path, p: Pushed) -> Result<()> {
    use std::io::Write;
    let path = record_path(archive);
    let mut r: Record = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    r.pushed.insert(p.url.clone(), p);
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(&serde_json::to_vec_pretty(&r).expect("the record serializes"))
        .and_then(|()| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
}

/// The hex of the first [`HASH_LEN`] bytes of BLAKE3 of every block of
/// `bytes`, on two threads.
pub(crate) fn block_hashes(bytes: &[u8]) -> String {
    let blocks: Vec<&[u8]> = bytes.chunks(BLOCK as usize).collect();
    let half = blocks.len().div_ceil(2);
    let hash = |bs: &[&[u8]]| {
        let mut s = String::with_capacity(bs.len() * 2 * HASH_LEN);
        for b in bs {
            let h = blake3::hash(b);
            for x in &h.as_bytes()[..HASH_LEN] {
                s.push_str(&format!("{x:02x}"));
            }
        }
        s
    };
    let (a, b) = blocks.split_at(half);
    std::thread::scope(|scope| {
        let second = scope.spawn(|| hash(b));
        let mut s = hash(a);
        s.push_str(&second.join().expect("hashing does not panic"));
        s
    })
}

/// For each block of the new file, whether the object of `old` holds the
/// same bytes at the same place (a whole block of the same length).
pub(crate) fn same_blocks(new_size: u64, new_hashes: &str, old: &Pushed) -> Vec<bool> {
    let w = 2 * HASH_LEN;
    let blocks = new_size.div_ceil(BLOCK) as usize;
    (0..blocks)
        .map(|i| {
            let start = i as u64 * BLOCK;
            let len_new = BLOCK.min(new_size - start);
            let len_old = BLOCK.min(old.size.saturating_sub(start));
            len_new == len_old
                && old.hashes.get(i * w..(i + 1) * w) == new_hashes.get(i * w..(i + 1) * w)
        })
        .collect()
}

/// The parts of a push of `size` bytes whose blocks are `same` (see
/// [`same_blocks`]; empty: nothing to copy). Every part but the last
/// holds at least [`MIN_PART`] bytes; a copied part at most 5 GiB; sent
/// ranges go in parts of `part_size` (the last of a range up to
/// [`MIN_PART`] longer). Runs of unchanged blocks shorter than
/// [`MIN_PART`] are sent, and a changed range shorter than that takes
/// the bytes it lacks from the unchanged range beside it. Linear in the
/// blocks.
pub(crate) fn plan(size: u64, same: &[bool], part_size: u64) -> Vec<Piece> {
    // Runs of blocks, copied or sent.
    let mut runs: Vec<Piece> = Vec::new();
    for (i, &s) in same.iter().enumerate() {
        let start = i as u64 * BLOCK;
        let end = (start + BLOCK).min(size);
        if start >= size {
            break;
        }
        push_run(
            &mut runs,
            Piece {
                start,
                end,
                copy: s,
            },
        );
    }
    if runs.is_empty() || runs.last().unwrap().end < size {
        let start = runs.last().map_or(0, |r| r.end);
        push_run(
            &mut runs,
            Piece {
                start,
                end: size,
                copy: false,
            },
        );
    }
    // Copied runs too short for a part are sent.
    let mut merged: Vec<Piece> = Vec::new();
    for mut r in runs {
        if r.copy && r.len() < MIN_PART {
            r.copy = false;
        }
        push_run(&mut merged, r);
    }
    // Sent runs too short for a part (but the last) borrow from a copied
    // neighbour, or swallow it.
    let mut out: Vec<Piece> = Vec::new();
    for mut r in merged {
        let short = |p: &Piece| !p.copy && p.len() < MIN_PART;
        if r.copy && out.last().is_some_and(short) {
            let need = MIN_PART - out.last().unwrap().len();
            let n = out.len();
            if n >= 2 && out[n - 2].len() >= MIN_PART + need {
                out[n - 2].end -= need;
                out[n - 1].start -= need;
            } else if r.len() >= MIN_PART + need {
                out[n - 1].end += need;
                r.start += need;
            } else if n >= 2 {
                // The copied run before it is sent with it.
                let u = out.pop().unwrap();
                let c = out.pop().unwrap();
                push_run(&mut out, Piece { copy: false, ..c });
                push_run(&mut out, u);
            } else {
                // The first run: it takes this copied run whole.
                out[0].end = r.end;
                continue;
            }
        }
        push_run(&mut out, r);
    }
    // Parts.
    let last_end = out.last().map_or(0, |r| r.end);
    let mut parts = Vec::new();
    for r in out {
        if r.copy {
            let n = r.len().div_ceil(MAX_PART);
            cut(&mut parts, r, r.len().div_ceil(n));
        } else {
            let first = parts.len();
            cut(&mut parts, r, part_size);
            // A short remainder within the file joins the part before it.
            if r.end < last_end && parts.len() > first + 1 && parts.last().unwrap().len() < MIN_PART
            {
                let tail = parts.pop().unwrap();
                parts.last_mut().unwrap().end = tail.end;
            }
        }
    }
    if parts.is_empty() {
        parts.push(Piece {
            start: 0,
            end: 0,
            copy: false,
        });
    }
    parts
}

/// Appends `r` to `parts` cut in pieces of `each` bytes (the last
/// shorter).
fn cut(parts: &mut Vec<Piece>, r: Piece, each: u64) {
    let mut at = r.start;
    while at < r.end {
        let end = (at + each).min(r.end);
        parts.push(Piece {
            start: at,
            end,
            ..r
        });
        at = end;
    }
}

/// Appends `r` to `runs`, joined to the last run when of the same kind.
fn push_run(runs: &mut Vec<Piece>, r: Piece) {
    if r.start == r.end {
        return;
    }
    match runs.last_mut() {
        Some(l) if l.copy == r.copy && l.end == r.start => l.end = r.end,
        _ => runs.push(r),
    }
}

/// An S3 object key, percent-encoded by segment for a request line or
/// `x-amz-copy-source`.
fn encode_key(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

/// Copies `piece` of the object at `url` whose ETag is `etag` into part
/// `part` (from 0) of the upload `upload_id` to the same URL
/// (`UploadPartCopy`); returns the new part's ETag. object_store has no
/// ranged part copy, so the request is signed here with its SigV4
/// signer and sent with reqwest.
pub(crate) fn copy_part(
    store: &Store,
    url: &Url,
    upload_id: &str,
    part: usize,
    piece: Piece,
    etag: &str,
) -> Result<String> {
    let fail = |message: String| Error::Copy {
        url: url.to_string(),
        message,
    };
    let settings = crate::config::settings(url)?;
    let region = settings
        .get("region")
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let endpoint = settings
        .get("endpoint")
        .cloned()
        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let target = format!(
        "{}/{}/{}?partNumber={}&uploadId={}",
        endpoint.trim_end_matches('/'),
        encode_key(&url.bucket),
        encode_key(&url.key),
        part + 1,
        encode_key(upload_id).replace('/', "%2F")
    );
    let source = format!("/{}/{}", encode_key(&url.bucket), encode_key(&url.key));
    let range = format!("bytes={}-{}", piece.start, piece.end - 1);
    runtime().block_on(async {
        let cred = store
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|e| Store::err(url, e))?;
        let mut req: HttpRequest = http::Request::builder()
            .method(http::Method::PUT)
            .uri(&target)
            .header("x-amz-copy-source", &source)
            .header("x-amz-copy-source-range", &range)
            .header("x-amz-copy-source-if-match", etag)
            .body(HttpRequestBody::empty())
            .map_err(|e| fail(format!("building the request: {e}")))?;
        AwsAuthorizer::new(&cred, "s3", &region)
            .try_authorize(&mut req, None)
            .map_err(|e| Store::err(url, e))?;
        let mut b = client()
            .map_err(|e| fail(format!("the HTTP client: {e}")))?
            .put(&target);
        for (k, v) in req.headers() {
            b = b.header(k, v);
        }
        let resp = b
            .send()
            .await
            .map_err(|e| fail(format!("copying part {}: {e}", part + 1)))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| fail(format!("copying part {}: {e}", part + 1)))?;
        // S3 may answer 200 with an error in the body.
        match (status.is_success(), tag(&body, "ETag")) {
            (true, Some(e)) if body.contains("CopyPartResult") => Ok(e.replace("&quot;", "\"")),
            _ => Err(fail(format!(
                "copying bytes {}..{} into part {}: {status}: {}",
                piece.start,
                piece.end,
                part + 1,
                body.chars().take(300).collect::<String>()
            ))),
        }
    })
}

/// The text of the first `<name>…</name>` in `xml`.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + len])
}

/// One HTTP client for the copies.
fn client() -> std::result::Result<&'static reqwest::Client, String> {
    static C: std::sync::OnceLock<std::result::Result<reqwest::Client, String>> =
        std::sync::OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(600))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 1 << 20;

    /// Every byte once, in order; every part but the last at least 5 MiB.
    fn check(size: u64, parts: &[Piece]) {
        let mut at = 0;
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.start, at, "{parts:?}");
            assert!(p.end > p.start || size == 0, "{parts:?}");
            if i + 1 < parts.len() {
                assert!(p.len() >= MIN_PART, "part {i} short: {parts:?}");
            }
            assert!(p.len() <= MAX_PART);
            at = p.end;
        }
        assert_eq!(at, size);
    }

    fn sent(parts: &[Piece]) -> u64 {
        parts.iter().filter(|p| !p.copy).map(Piece::len).sum()
    }

    #[test]
    fn nothing_recorded_is_uniform_parts() {
        let size = 23 * M + 5;
        let p = plan(size, &[], 5 * M);
        check(size, &p);
        assert_eq!(p.len(), 5);
        assert!(p.iter().all(|p| !p.copy));
        assert_eq!(p[4].len(), 3 * M + 5);
        let p = plan(0, &[], 5 * M);
        assert_eq!(
            p,
            vec![Piece {
                start: 0,
                end: 0,
                copy: false
            }]
        );
    }

    #[test]
    fn a_new_tail_is_sent_alone() {
        // 100 MiB unchanged but the last block, then 600 KiB of new tail.
        let size = 100 * M + 600 * 1024;
        let mut same = vec![true; 101];
        same[99] = false;
        same[100] = false;
        let p = plan(size, &same, 16 * M);
        check(size, &p);
        assert_eq!(sent(&p), M + 600 * 1024);
        assert!(p[0].copy && p[0].len() == 99 * M);
    }

    #[test]
    fn a_change_inside_borrows_from_its_neighbours() {
        // An event log block changed at 40 MiB, the tail at the end.
        let size = 100 * M + 10;
        let mut same = vec![true; 101];
        same[40] = false;
        same[100] = false;
        let p = plan(size, &same, 16 * M);
        check(size, &p);
        assert_eq!(sent(&p), 5 * M + 10);
        // Near the start: the copied run after it gives the bytes.
        same[40] = true;
        same[2] = false;
        let p = plan(size, &same, 16 * M);
        check(size, &p);
        assert_eq!(sent(&p), 5 * M + 10);
        // Short unchanged runs between changes are sent.
        let mut same = vec![true; 101];
        for i in (10..30).step_by(3) {
            same[i] = false;
        }
        let p = plan(size, &same, 16 * M);
        check(size, &p);
        assert!(sent(&p) >= 19 * M && sent(&p) < 25 * M, "{}", sent(&p));
    }

    #[test]
    fn small_files_and_every_pattern_give_valid_parts() {
        // All patterns of 9 blocks at several sizes.
        for size in [M, 6 * M + 1, 9 * M, 9 * M - 3] {
            let blocks = size.div_ceil(M) as usize;
            for bits in 0u32..(1 << blocks) {
                let same: Vec<bool> = (0..blocks).map(|i| bits >> i & 1 == 1).collect();
                let p = plan(size, &same, 5 * M);
                check(size, &p);
                for part in &p {
                    if part.copy {
                        let (a, b) = ((part.start / M) as usize, (part.end.div_ceil(M)) as usize);
                        assert!(same[a..b].iter().all(|&s| s), "{same:?} {p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn same_blocks_compares_hash_and_length() {
        let a = vec![7u8; (2 * M + 3) as usize];
        let mut b = a.clone();
        b[(M + 1) as usize] = 0;
        b.extend_from_slice(&[1; 10]);
        let old = Pushed {
            url: "s3://b/k".into(),
            size: a.len() as u64,
            etag: "\"e\"".into(),
            block: BLOCK,
            hashes: block_hashes(&a),
        };
        let s = same_blocks(b.len() as u64, &block_hashes(&b), &old);
        // Block 2 is 3 bytes in the old object, 13 in the new.
        assert_eq!(s, vec![true, false, false]);
        assert_eq!(encode_key("a b/ç.lgn"), "a%20b/%C3%A7.lgn");
        assert_eq!(
            tag("<R><ETag>&quot;x&quot;</ETag></R>", "ETag"),
            Some("&quot;x&quot;")
        );
    }
}

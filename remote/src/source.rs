//! An archive on the object store, read by byte ranges.
//!
//! Opening is one ranged GET of the object's last 256 KiB (which also
//! tells its length and ETag, so no HEAD is needed); if the central
//! directory, and the small entries just before it (a 2.0 archive's
//! `signatures`, `head`, `public.json`, and `entries` and `c/index` when
//! they are small), are not all in it, one more GET brings them. Every
//! range fetched is held (16 MiB at most, the oldest let go first), so
//! the reader's own reads of those bytes, and any later read of a byte
//! still held, cost no request; reads that follow one another read
//! ahead (see [`crate::cache`]). Every range fetched is remembered, so
//! [`S3Source::traffic`] tells how many bytes were fetched twice.

use std::io;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use legation_format::container;
use legation_reader::source::{read_end, ReadAt};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::cache::{assemble, Cache, Traffic};
use crate::{runtime, Error, Result, Store, Url};

/// The first read of an object: its last bytes. Enough for the central
/// directory and the small entries before it of a 2.0 archive of about
/// 15,000,000 records (10,000,000 take 148 KB: 2,609 entries), so that
/// opening one is one request; a smaller archive fetches up to 256 KiB
/// where it needs less, bytes that cost less than a second round trip.
pub(crate) const TAIL_FIRST: u64 = 256 << 10;
/// Bytes before the central directory fetched with it when the first read
/// did not reach it (room for `public.json`, `head` and `signatures`).
pub(crate) const BEFORE_DIRECTORY: u64 = 32 << 10;
/// A central directory larger than this is left to the reader's own read.
pub(crate) const DIRECTORY_MAX: u64 = 8 << 20;
/// At most this many entries before the central directory are fetched
/// with it, each at most [`SMALL_ENTRY`] bytes, together at most
/// [`TAIL_ENTRIES_MAX`].
pub(crate) const TAIL_ENTRIES: usize = 5;
/// See [`TAIL_ENTRIES`].
pub(crate) const SMALL_ENTRY: u64 = 64 << 10;
/// See [`TAIL_ENTRIES`].
pub(crate) const TAIL_ENTRIES_MAX: u64 = 256 << 10;

/// An object read by ranged GETs, each after the first pinned to the ETag
/// that first one saw (`If-Match`), so that an object replaced while it
/// is read fails the read instead of mixing two objects' bytes.
pub struct S3Source {
    store: Arc<dyn ObjectStore>,
    url: Url,
    name: String,
    len: u64,
    etag: Option<String>,
    cache: Mutex<Cache>,
    /// Told when a planned fetch ends.
    fetched: Condvar,
}

impl S3Source {
    /// Opens the object: its last 256 KiB in one GET, and, when its central
    /// directory and last small entries lie further back, one more.
    pub fn open(url: &Url) -> Result<Self> {
        let store = crate::connect(url)?;
        Self::open_in(store, url)
    }

    /// Opens the object in a bucket already connected.
    pub fn open_in(store: Store, url: &Url) -> Result<Self> {
        Self::open_with(store.s3.clone(), url)
    }

    /// Opens the object on any store (tests use an in-memory one).
    pub(crate) fn open_with(store: Arc<dyn ObjectStore>, url: &Url) -> Result<Self> {
        Self::open_tail(store, url, TAIL_FIRST)
    }

    /// Opens the object with a first read of its last `first` bytes.
    fn open_tail(store: Arc<dyn ObjectStore>, url: &Url, first: u64) -> Result<Self> {
        let opts = GetOptions {
            range: Some(GetRange::Suffix(first)),
            ..Default::default()
        };
        let got = runtime().block_on(async {
            let r = store.get_opts(&url.path(), opts).await?;
            let (meta, range) = (r.meta.clone(), r.range.clone());
            Ok::<_, object_store::Error>((meta, range, r.bytes().await?))
        });
        let (meta, range, tail) = match got {
            Ok(g) => g,
            Err(e @ object_store::Error::NotFound { .. }) => return Err(Store::err(url, e)),
            // An empty object has no last bytes to give: ask its length
            // (the failed GET and the HEAD counted).
            Err(_) => {
                let s = Self::open_bare(store, url)?;
                s.cache.lock().unwrap().count_bodiless(2);
                return Ok(s);
            }
        };
        let source = S3Source {
            store,
            url: url.clone(),
            name: url.to_string(),
            len: meta.size,
            etag: meta.e_tag,
            cache: Mutex::new(Cache::new(meta.size)),
            fetched: Condvar::new(),
        };
        source
            .cache
            .lock()
            .unwrap()
            .insert(range.start, tail.clone());
        if range.end == meta.size && tail.len() as u64 == range.end - range.start {
            source.fetch_tail(range.start, &tail);
        }
        Ok(source)
    }

    /// Opens the object with one HEAD request and fetches nothing (for a
    /// pull, which reads every byte anyway). The HEAD is not counted.
    pub(crate) fn open_bare(store: Arc<dyn ObjectStore>, url: &Url) -> Result<Self> {
        let meta = runtime()
            .block_on(store.head(&url.path()))
            .map_err(|e| Store::err(url, e))?;
        Ok(S3Source {
            store,
            url: url.clone(),
            name: url.to_string(),
            len: meta.size,
            etag: meta.e_tag,
            cache: Mutex::new(Cache::new(meta.size)),
            fetched: Condvar::new(),
        })
    }

    /// After the first read (the last bytes, from `start`): the central
    /// directory if it was not among them, and the small entries just
    /// before it. Whatever goes wrong here is left for the reader's own
    /// reads to find and name.
    fn fetch_tail(&self, start: u64, tail: &[u8]) {
        let end = &tail[tail.len().saturating_sub(container::TAIL_LEN)..];
        let Ok(dir) = container::parse_end(end, self.len) else {
            return;
        };
        if dir.size > DIRECTORY_MAX {
            return;
        }
        let mut have = start;
        if dir.offset < have {
            let from = dir.offset.saturating_sub(BEFORE_DIRECTORY);
            if self.fetch(from..have).is_err() {
                return;
            }
            have = from;
        }
        let mut cd = vec![0u8; dir.size as usize];
        let held = self
            .cache
            .lock()
            .unwrap()
            .overlapping(&(dir.offset..dir.offset + dir.size));
        if !assemble(dir.offset, &mut cd, &held) {
            return;
        }
        let Ok(entries) = container::parse_directory(&cd, &dir) else {
            return;
        };
        let mut want = dir.offset;
        for e in entries.iter().rev().take(TAIL_ENTRIES) {
            let near = dir
                .offset
                .checked_sub(e.data_offset())
                .is_some_and(|d| d <= TAIL_ENTRIES_MAX);
            if e.size > SMALL_ENTRY || !near {
                break;
            }
            want = e.data_offset();
        }
        if want < have {
            let _ = self.fetch(want..have);
        }
    }

    /// What was fetched so far: requests, bytes, and bytes fetched twice.
    pub fn traffic(&self) -> Traffic {
        self.cache.lock().unwrap().traffic()
    }

    /// Bytes fetched so far (bodies of GETs).
    pub fn bytes_fetched(&self) -> u64 {
        self.traffic().bytes
    }

    /// Requests made so far (opening's included).
    pub fn requests(&self) -> u64 {
        self.traffic().requests
    }

    /// The object's ETag when opened.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// Bytes `offset..offset + len`, in one request (counted, and held
    /// when small).
    pub fn get(&self, offset: u64, len: u64) -> Result<Bytes> {
        self.fetch(offset..offset.saturating_add(len))
    }

    /// Fetches `r` and holds what comes.
    fn fetch(&self, r: Range<u64>) -> Result<Bytes> {
        let got = self.request(&r);
        let held = got.as_ref().ok().cloned().unwrap_or_default();
        self.cache.lock().unwrap().insert(r.start, held);
        got
    }

    /// One ranged GET of `r`, pinned to the ETag.
    fn request(&self, r: &Range<u64>) -> Result<Bytes> {
        let opts = GetOptions {
            if_match: self.etag.clone(),
            range: Some(GetRange::Bounded(r.clone())),
            ..Default::default()
        };
        runtime()
            .block_on(async {
                let g = self.store.get_opts(&self.url.path(), opts).await?;
                g.bytes().await
            })
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => Error::Changed {
                    url: self.name.clone(),
                },
                e => Store::err(&self.url, e),
            })
    }
}

impl ReadAt for S3Source {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = read_end(self.len, offset, buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?;
        let plan = {
            let mut c = self.cache.lock().unwrap();
            loop {
                match c.plan(offset..end) {
                    Some(p) => break p,
                    None => c = self.fetched.wait(c).unwrap(),
                }
            }
        };
        let mut pieces = plan.have;
        let mut failed = None;
        // Every planned fetch is told done, made or not, so that no
        // other thread waits for it forever.
        for r in plan.fetch {
            if failed.is_some() {
                self.cache.lock().unwrap().forget(&r);
            } else {
                let got = self.request(&r);
                let mut c = self.cache.lock().unwrap();
                match got {
                    Ok(b) => {
                        pieces.push((r.start, b.clone()));
                        c.done(&r, Some(b));
                    }
                    Err(e) => {
                        c.done(&r, None);
                        failed = Some(e);
                    }
                }
            }
            self.fetched.notify_all();
        }
        if let Some(e) = failed {
            return Err(match e {
                Error::Store {
                    source: object_store::Error::NotFound { .. },
                    ..
                } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
                e => io::Error::other(e.to_string()),
            });
        }
        if assemble(offset, buf, &pieces) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: asked for {} bytes at {offset}, the store gave fewer",
                    self.name,
                    buf.len()
                ),
            ))
        }
    }
    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use legation_format::keys::{Identity, IssuerKey};
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use legation_reader::{Archive, Key};
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;
    use rand_chacha::rand_core::SeedableRng;

    /// A signed 2.0 archive of `n` records `r/NNNNNN` of a few hundred
    /// bytes, one of 150 KB (three chunks), and its identity.
    fn archive(n: usize) -> (Vec<u8>, Identity) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(20);
        let identity = Identity::generate(&mut rng);
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(IssuerKey::generate(&mut rng)),
            recipients: vec![identity.public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
        for i in 0..n {
            let b = bytes(i);
            let meta = RecordMeta {
                path: format!("r/{i:06}"),
                media_type: "application/octet-stream".into(),
                ..Default::default()
            };
            w.add_record(meta, RecordSource::Bytes(&b)).unwrap();
        }
        (w.finish().unwrap().into_inner(), identity)
    }

    fn bytes(i: usize) -> Vec<u8> {
        let n = if i == 12_345 { 150_000 } else { 100 + i % 400 };
        (0..n)
            .map(|k| (k * 31 + i * 7) as u8 ^ (k >> 8) as u8)
            .collect()
    }

    fn put(bytes: &[u8]) -> (Arc<dyn ObjectStore>, Url) {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let url: Url = "s3://embassy/a/archive.lgn".parse().unwrap();
        runtime()
            .block_on(store.put(&url.path(), bytes.to_vec().into()))
            .unwrap();
        (store, url)
    }

    fn log(s: &S3Source) -> Vec<Range<u64>> {
        s.cache.lock().unwrap().log.clone()
    }

    #[test]
    fn one_record_of_a_five_page_archive_in_few_requests() {
        let (bytes_, identity) = archive(20_000);
        let (store, url) = put(&bytes_);
        let src = Arc::new(S3Source::open_with(store, &url).unwrap());
        // The end records, central directory and last small entries of
        // this archive are all in its last 256 KiB: one request.
        assert_eq!(src.requests(), 1);
        let a = Archive::open(src.clone()).unwrap();
        // Opening adds only the mimetype at the front.
        assert_eq!(src.requests(), 2, "{:?}", log(&src));
        let u = a
            .unlock(&[Key::Identity(Identity::from_bytes(*identity.secret()))])
            .unwrap();
        // At most c/index.
        assert!(src.requests() <= 3, "{:?}", log(&src));
        // A record in a page not read yet: the page and one range of
        // chunks; another in the same page: at most its chunks.
        for (i, more) in [(12_345, 2), (12_346, 1), (3, 2)] {
            let before = src.requests();
            let rec = u.find(&format!("r/{i:06}")).unwrap();
            assert_eq!(u.read_record(&rec, 1 << 20).unwrap(), bytes(i), "{i}");
            assert!(
                src.requests() <= before + more,
                "record {i}: {:?}",
                log(&src)
            );
        }
        let t = src.traffic();
        assert_eq!((t.bytes_twice, t.requests_twice), (0, 0), "{:?}", log(&src));
        assert!(
            t.bytes < bytes_.len() as u64 / 4,
            "{t:?} of {}",
            bytes_.len()
        );
    }

    #[test]
    fn a_directory_beyond_the_first_read_takes_one_more_request() {
        let (bytes_, identity) = archive(20_000);
        let (store, url) = put(&bytes_);
        // As a larger archive's directory and last entries would be:
        // beyond the first read, and fetched by one more.
        let src = Arc::new(S3Source::open_tail(store, &url, 1024).unwrap());
        assert_eq!(src.requests(), 2);
        let a = Archive::open(src.clone()).unwrap();
        assert_eq!(src.requests(), 3, "{:?}", log(&src));
        let u = a
            .unlock(&[Key::Identity(Identity::from_bytes(*identity.secret()))])
            .unwrap();
        assert!(src.requests() <= 4, "{:?}", log(&src));
        let before = src.requests();
        let rec = u.find("r/019999").unwrap();
        assert_eq!(u.read_record(&rec, 1 << 20).unwrap(), bytes(19_999));
        assert!(src.requests() <= before + 2, "{:?}", log(&src));
        let t = src.traffic();
        assert_eq!((t.bytes_twice, t.requests_twice), (0, 0), "{t:?}");
    }

    #[test]
    fn small_empty_and_missing_objects() {
        // Smaller than the first read: one request, every byte held.
        let (store, url) = put(b"not an archive at all");
        let s = S3Source::open_with(store, &url).unwrap();
        assert_eq!(s.len(), 21);
        let mut b = [0u8; 6];
        s.read_exact_at(4, &mut b).unwrap();
        assert_eq!(&b, b"an arc");
        assert_eq!((s.requests(), s.bytes_fetched()), (1, 21));
        assert!(s.read_exact_at(20, &mut b).is_err());
        // Empty: its length from a HEAD.
        let (store, url) = put(b"");
        let s = S3Source::open_with(store, &url).unwrap();
        assert_eq!(s.len(), 0);
        // Missing: the store's error, naming the URL.
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let e = S3Source::open_with(store, &url).err().unwrap();
        assert!(
            e.to_string().starts_with("s3://embassy/a/archive.lgn"),
            "{e}"
        );
    }

    #[test]
    fn an_object_replaced_while_read_fails_the_read() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (store, url) = put(&data);
        let s = S3Source::open_with(store.clone(), &url).unwrap();
        let mut b = vec![0u8; 1000];
        s.read_exact_at(0, &mut b).unwrap();
        assert_eq!(b, data[..1000]);
        runtime()
            .block_on(store.put(&url.path(), vec![1u8; 300_000].into()))
            .unwrap();
        // Held bytes are still served; a fetch (below the tail read at
        // opening) fails on the ETag.
        s.read_exact_at(200, &mut b[..800]).unwrap();
        assert_eq!(b[..800], data[200..1000]);
        let e = s.read_exact_at(10_000, &mut b).unwrap_err();
        assert!(e.to_string().contains("changed while it was read"), "{e}");
    }
}

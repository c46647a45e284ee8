//! An archive on the object store, read by byte ranges.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use legation_reader::source::{fill_exact, read_end, ReadAt};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::{runtime, Error, Result, Store, Url};

/// An object read by ranged GETs, each pinned to the ETag seen on opening
/// (`If-Match`), so that an object replaced while it is read fails the
/// read instead of mixing two objects' bytes.
pub struct S3Source {
    store: Store,
    url: Url,
    name: String,
    len: u64,
    etag: Option<String>,
    bytes: AtomicU64,
    requests: AtomicU64,
}

impl S3Source {
    /// Opens the object (one HEAD request).
    pub fn open(url: &Url) -> Result<Self> {
        let store = crate::connect(url)?;
        Self::open_in(store, url)
    }

    /// Opens the object in a bucket already connected.
    pub fn open_in(store: Store, url: &Url) -> Result<Self> {
        let meta = runtime()
            .block_on(store.s3.head(&url.path()))
            .map_err(|e| Store::err(url, e))?;
        Ok(S3Source {
            store,
            url: url.clone(),
            name: url.to_string(),
            len: meta.size,
            etag: meta.e_tag,
            bytes: 0.into(),
            requests: 1.into(),
        })
    }

    /// Bytes fetched so far (bodies of GETs).
    pub fn bytes_fetched(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Requests made so far (the HEAD of opening included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The object's ETag when opened.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// Bytes `offset..offset + len`, in one request.
    pub fn get(&self, offset: u64, len: u64) -> Result<bytes::Bytes> {
        let opts = GetOptions {
            if_match: self.etag.clone(),
            range: Some(GetRange::Bounded(offset..offset + len)),
            ..Default::default()
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let got = runtime()
            .block_on(async {
                let r = self.store.s3.get_opts(&self.url.path(), opts).await?;
                r.bytes().await
            })
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => Error::Changed {
                    url: self.name.clone(),
                },
                e => Store::err(&self.url, e),
            })?;
        self.bytes.fetch_add(got.len() as u64, Ordering::Relaxed);
        Ok(got)
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
        let got = self.get(offset, end - offset).map_err(|e| match e {
            Error::Store {
                source: object_store::Error::NotFound { .. },
                ..
            } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
            e => io::Error::other(e.to_string()),
        })?;
        fill_exact(&self.name, offset, buf, &got)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

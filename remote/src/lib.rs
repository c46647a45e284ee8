//! Legation archives on an S3-compatible object store (Garage, MinIO,
//! AWS S3 and the like): an archive named `s3://BUCKET/KEY` is read by
//! byte ranges like a local file ([`S3Source`]), pushed by a multipart
//! upload that resumes after an interruption ([`push`]), pulled to a local
//! file ([`pull`]) and shared with a browser by a presigned URL
//! ([`presign`]).
//!
//! The endpoint and credentials come from the usual variables
//! (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`) or, for whatever they leave unset, from a profile
//! (`AWS_PROFILE`, default `default`) in `~/.aws/credentials` and
//! `~/.aws/config`. Requests are signed by the `object_store` crate.

mod cache;
mod config;
mod delta;
mod source;
mod transfer;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

pub use cache::Traffic;
pub use config::connect;
pub use delta::record_path;
pub use source::S3Source;
pub use transfer::{presign, pull, push, PushOptions, PushReport};

/// What can go wrong on the object store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not an `s3://BUCKET/KEY` URL.
    #[error("{url}: not an s3://BUCKET/KEY address: {why}")]
    Url {
        /// What was given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The client could not be set up (endpoint, credentials, region).
    #[error("{url}: {message}")]
    Config {
        /// The object's URL.
        url: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The store answered with an error or could not be reached.
    #[error("{url}: {source}")]
    Store {
        /// The object's URL.
        url: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// The object changed while it was being read.
    #[error("{url}: the object changed while it was read (it was replaced on the store)")]
    Changed {
        /// The object's URL.
        url: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A range of the object pushed before could not be copied into the
    /// new upload on the store.
    #[error("{url}: {message}")]
    Copy {
        /// The object's URL.
        url: String,
        /// What the store answered.
        message: String,
    },
    /// The push's saved state does not fit this push.
    #[error("{0}")]
    State(String),
    /// The object exists and replacing it was not asked for.
    #[error("{url} exists (use --replace to replace it)")]
    Exists {
        /// The object's URL.
        url: String,
    },
    /// A small object ([`Store::get_small`]) is larger than its kind may be.
    #[error("{url}: {size} bytes, more than the {limit} this object may have")]
    TooLarge {
        /// The object's URL.
        url: String,
        /// Its size.
        size: u64,
        /// The most allowed.
        limit: u64,
    },
}

/// A `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// An object's address: `s3://BUCKET/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The bucket.
    pub bucket: String,
    /// The object key within it.
    pub key: String,
}

impl Url {
    /// Whether `s` is meant as an object URL rather than a local path.
    pub fn is_remote(s: &str) -> bool {
        s.starts_with("s3://")
    }

    pub(crate) fn path(&self) -> object_store::path::Path {
        // Keys are taken as given (object_store would percent-encode
        // characters such as spaces on the wire, not in the key).
        object_store::path::Path::from(self.key.as_str())
    }
}

impl FromStr for Url {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why| Error::Url {
            url: s.to_owned(),
            why,
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must begin with s3://"))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| bad("no object key after the bucket"))?;
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        if key.is_empty() || key.ends_with('/') {
            return Err(bad("no object key after the bucket"));
        }
        if key
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(bad("the key has an empty, `.` or `..` segment"));
        }
        if s.chars().any(char::is_control) {
            return Err(bad("it contains control characters"));
        }
        Ok(Url {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// The runtime the async client runs on; callers of this crate are
/// synchronous and block on it.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("legation-s3")
            .enable_all()
            .build()
            .expect("a tokio runtime (threads and a timer) can be created")
    })
}

/// A connected bucket.
#[derive(Clone)]
pub struct Store {
    pub(crate) s3: Arc<object_store::aws::AmazonS3>,
}

impl Store {
    pub(crate) fn err(url: &Url, source: object_store::Error) -> Error {
        Error::Store {
            url: url.to_string(),
            source,
        }
    }

    /// Stores `bytes` as the object (for tests and tools: archives go up
    /// with [`push`]).
    pub fn put(&self, url: &Url, bytes: Vec<u8>) -> Result<()> {
        use object_store::ObjectStoreExt;
        runtime()
            .block_on(self.s3.put(&url.path(), bytes.into()))
            .map(drop)
            .map_err(|e| Self::err(url, e))
    }

    /// Deletes the object.
    pub fn delete(&self, url: &Url) -> Result<()> {
        use object_store::ObjectStoreExt;
        runtime()
            .block_on(self.s3.delete(&url.path()))
            .map_err(|e| Self::err(url, e))
    }

    /// A small object whole (a cosignature, a heartbeat): `None` if there
    /// is no such object, an error if it is larger than `limit` bytes.
    pub fn get_small(&self, url: &Url, limit: u64) -> Result<Option<Vec<u8>>> {
        use object_store::ObjectStoreExt;
        let Some(size) = self.size(url)? else {
            return Ok(None);
        };
        if size > limit {
            return Err(Error::TooLarge {
                url: url.to_string(),
                size,
                limit,
            });
        }
        let got = runtime().block_on(async {
            let r = self.s3.get(&url.path()).await?;
            r.bytes().await
        });
        match got {
            // Replaced by a larger object between the two requests.
            Ok(b) if b.len() as u64 > limit => Err(Error::TooLarge {
                url: url.to_string(),
                size: b.len() as u64,
                limit,
            }),
            Ok(b) => Ok(Some(b.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::err(url, e)),
        }
    }

    /// The objects directly under the folder `prefix` of `bucket` (keys
    /// `prefix/NAME`), sorted by key, as URLs.
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Url>> {
        use object_store::ObjectStore;
        let at = Url {
            bucket: bucket.to_owned(),
            key: prefix.to_owned(),
        };
        let listed = runtime()
            .block_on(self.s3.list_with_delimiter(Some(&at.path())))
            .map_err(|e| Self::err(&at, e))?;
        let mut out: Vec<Url> = listed
            .objects
            .into_iter()
            .map(|m| Url {
                bucket: bucket.to_owned(),
                key: m.location.to_string(),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The object's size, or `None` if there is no such object.
    pub fn size(&self, url: &Url) -> Result<Option<u64>> {
        use object_store::ObjectStoreExt;
        match runtime().block_on(self.s3.head(&url.path())) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::err(url, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u: Url = "s3://embassy/2026/register.lgn".parse().unwrap();
        assert_eq!(u.bucket, "embassy");
        assert_eq!(u.key, "2026/register.lgn");
        assert_eq!(u.to_string(), "s3://embassy/2026/register.lgn");
        for bad in [
            "embassy/a.lgn",
            "s3://",
            "s3://embassy",
            "s3://embassy/",
            "s3:///a.lgn",
            "s3://embassy/dir/",
            "s3://embassy/a//b.lgn",
            "s3://embassy/../b.lgn",
            "s3://embassy/a\nb",
        ] {
            let e = bad.parse::<Url>().unwrap_err();
            assert!(e.to_string().starts_with(bad), "{e}");
        }
        assert!(Url::is_remote("s3://x/y"));
        assert!(!Url::is_remote("./s3://x"));
    }
}

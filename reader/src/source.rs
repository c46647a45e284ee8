//! Random-access sources an archive is read from.
//!
//! Reads are synchronous. In a browser that means a Web Worker, where
//! `FileReaderSync` and synchronous XHR range requests are allowed; the
//! page's main thread hands the work to such a worker.

use std::io;
use std::sync::Arc;

/// Bytes that can be read at any offset, from any thread.
pub trait ReadAt: Send + Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` with the bytes at `offset`; a short source is an error.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// A name for messages (a path or URL).
    fn name(&self) -> &str;
    /// The bytes at `offset..offset + len` mapped into memory, where the
    /// source can do that (local files); `None` where it cannot, and the
    /// caller reads instead. Lets the fixity audit hash without copying.
    fn map(&self, _offset: u64, _len: usize) -> Option<io::Result<Mapped>> {
        None
    }
}

/// A read-only view of some bytes of a source.
pub type Mapped = Box<dyn AsRef<[u8]> + Send + Sync>;

/// The end of a read of `count` bytes at `offset` from a source of `len`
/// bytes, or `None` when the read would pass the source's end.
pub fn read_end(len: u64, offset: u64, count: usize) -> Option<u64> {
    offset.checked_add(count as u64).filter(|&end| end <= len)
}

/// Copies `got`, what a source fetched for `buf` at `offset`, into `buf`.
/// Another length than asked for (a server that cut its answer, an object
/// replaced meanwhile) is an `UnexpectedEof` naming the source `name`, for
/// sources that fetch a copy of the bytes (HTTP, object stores).
pub fn fill_exact(name: &str, offset: u64, buf: &mut [u8], got: &[u8]) -> io::Result<()> {
    if got.len() != buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "{name}: asked for {} bytes at {offset}, got {}",
                buf.len(),
                got.len()
            ),
        ));
    }
    buf.copy_from_slice(got);
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
struct Mapping(memmap2::Mmap);

#[cfg(not(target_arch = "wasm32"))]
impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A local file.
pub struct FileSource {
    file: std::fs::File,
    len: u64,
    name: String,
    #[cfg(not(unix))]
    lock: std::sync::Mutex<()>,
}

impl FileSource {
    /// Opens a file for reading.
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource {
            file,
            len,
            name: path.display().to_string(),
            #[cfg(not(unix))]
            lock: std::sync::Mutex::new(()),
        })
    }
}

impl ReadAt for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek};
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut f = &self.file;
            f.seek(io::SeekFrom::Start(offset))?;
            f.read_exact(buf)
        }
    }
    fn name(&self) -> &str {
        &self.name
    }
    #[cfg(not(target_arch = "wasm32"))]
    #[allow(unsafe_code)]
    fn map(&self, offset: u64, len: usize) -> Option<io::Result<Mapped>> {
        if len == 0 || read_end(self.len, offset, len).is_none() {
            return None;
        }
        // SAFETY: the map is read-only and private to this process. If
        // another process truncates the file while it is mapped, touching
        // the lost pages raises SIGBUS (the audit stops; nothing is
        // written); SPEC.md's threat model notes this. Rust-level aliasing
        // is not at stake: the bytes are only read through `&[u8]`.
        let m = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(&self.file)
        };
        Some(m.map(|m| Box::new(Mapping(m)) as Mapped))
    }
}

/// Bytes in memory.
pub struct MemSource {
    bytes: Arc<[u8]>,
    name: String,
}

impl MemSource {
    /// Wraps bytes, with a name for messages.
    pub fn new(bytes: impl Into<Arc<[u8]>>, name: impl Into<String>) -> Self {
        MemSource {
            bytes: bytes.into(),
            name: name.into(),
        }
    }
}

impl ReadAt for MemSource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.bytes.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// Counts the bytes and reads that pass through a source, so tests and
/// benchmarks can show how little of an archive an operation touches.
pub struct CountingSource<S> {
    inner: S,
    bytes: std::sync::atomic::AtomicU64,
    reads: std::sync::atomic::AtomicU64,
}

impl<S: ReadAt> CountingSource<S> {
    /// Wraps a source.
    pub fn new(inner: S) -> Self {
        CountingSource {
            inner,
            bytes: 0.into(),
            reads: 0.into(),
        }
    }
    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Read calls so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl<S: ReadAt> ReadAt for CountingSource<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.bytes
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.read_exact_at(offset, buf)
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}

impl<S: ReadAt + ?Sized> ReadAt for Arc<S> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_exact_at(offset, buf)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn map(&self, offset: u64, len: usize) -> Option<io::Result<Mapped>> {
        (**self).map(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_end_refuses_reads_past_the_end() {
        assert_eq!(read_end(10, 4, 6), Some(10));
        assert_eq!(read_end(10, 10, 0), Some(10));
        assert_eq!(read_end(10, 5, 6), None);
        assert_eq!(read_end(10, u64::MAX, 1), None);
    }

    #[test]
    fn fill_exact_copies_only_what_was_asked_for() {
        let mut buf = [0; 3];
        fill_exact("a.lgn", 7, &mut buf, b"abc").unwrap();
        assert_eq!(&buf, b"abc");
        let short = fill_exact("s3://b/a.lgn", 7, &mut buf, b"xy").unwrap_err();
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            short.to_string(),
            "s3://b/a.lgn: asked for 3 bytes at 7, got 2"
        );
        assert_eq!(&buf, b"abc", "a short answer leaves the buffer alone");
    }
}

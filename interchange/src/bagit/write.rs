//! Writing a bag from a stream of records.

use super::{check_relative_path, nfc, Algorithm, BagError, Hasher};
use std::collections::HashSet;
use std::fs;
use std::hash::{Hash, Hasher as _};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The payload manifests every bag written here has (RFC 8493 §2.4 asks
/// for SHA-256 or SHA-512; both, as bagit-python writes by default).
const PAYLOAD_ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

/// Writes a bag into a new folder, one payload file at a time: each file
/// is streamed to disk through both checksums and its manifest lines are
/// appended at once, so memory does not grow with payload sizes (only a
/// 64-bit key per name is kept, to refuse names that differ only in
/// Unicode normalization).
pub struct BagWriter {
    root: PathBuf,
    manifests: Vec<(Algorithm, BufWriter<fs::File>)>,
    names: HashSet<u64>,
    octets: u64,
    files: u64,
    buf: Vec<u8>,
    /// Tag files added by [`BagWriter::add_tag_file`], listed in the tag
    /// manifests.
    extra_tags: Vec<String>,
}

/// What [`BagWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBag {
    /// Payload files.
    pub files: u64,
    /// Their total size in bytes.
    pub octets: u64,
}

impl BagWriter {
    /// Starts a bag in `root`, which must not exist or be an empty folder.
    pub fn create(root: impl AsRef<Path>) -> Result<BagWriter, BagError> {
        let root = root.as_ref().to_path_buf();
        match fs::read_dir(&root) {
            Ok(mut rd) => {
                if rd.next().is_some() {
                    return Err(BagError::invalid(
                        root.display().to_string(),
                        "the folder for the bag is not empty",
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&root).map_err(|e| BagError::io(".", e))?;
            }
            Err(e) => return Err(BagError::io(".", e)),
        }
        fs::create_dir(root.join("data")).map_err(|e| BagError::io("data", e))?;
        let mut manifests = Vec::new();
        for alg in PAYLOAD_ALGORITHMS {
            let name = format!("manifest-{alg}.txt");
            let file =
                fs::File::create_new(root.join(&name)).map_err(|e| BagError::io(&name, e))?;
            manifests.push((alg, BufWriter::new(file)));
        }
        Ok(BagWriter {
            root,
            manifests,
            names: HashSet::new(),
            extra_tags: Vec::new(),
            octets: 0,
            files: 0,
            buf: vec![0u8; 256 * 1024],
        })
    }

    /// Adds a payload file at `path` (relative to `data/`, `/`-separated)
    /// with the bytes `reader` gives. Refuses a name with a line break
    /// (CR or LF: a bag could encode it, but archives' tools split such
    /// names, so Legation keeps them out), an escaping or empty segment,
    /// a name already added, one equal to an added name in Unicode NFC,
    /// or one with `%` and two hexadecimal digits (RFC 8493 readers
    /// decode `%25`, `%0A`, `%0D` in manifests, bagit-python 1.9 does not,
    /// so such a name would be read two ways; a lone `%` is written as it
    /// is and reads the same in both).
    pub fn add(&mut self, path: &str, mut reader: impl Read) -> Result<u64, BagError> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.add_writing(path, |out| loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..n])?;
        });
        self.buf = buf;
        r
    }

    /// Adds a payload file at `path` whose bytes `write` writes (for
    /// sources that push bytes, like an archive's record reader); the
    /// same names are refused as by [`BagWriter::add`]. An error from
    /// `write` leaves the bag unfinished.
    pub fn add_writing(
        &mut self,
        path: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<u64, BagError> {
        if path.contains(['\r', '\n']) {
            return Err(BagError::invalid(
                path,
                "the name has a line break (CR or LF), which bags written here refuse",
            ));
        }
        if let Some(i) = path
            .as_bytes()
            .windows(3)
            .position(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
        {
            return Err(BagError::invalid(
                path,
                format!(
                    "the name has {:?}, which RFC 8493 readers decode and bagit-python 1.9 does not: the bag would read differently in each",
                    &path[i..i + 3]
                ),
            ));
        }
        let rel = format!("data/{path}");
        check_relative_path(&rel).map_err(|why| BagError::invalid(path, why))?;
        if path.chars().any(|c| c.is_control()) {
            return Err(BagError::invalid(path, "the name has a control character"));
        }
        let mut key = std::collections::hash_map::DefaultHasher::new();
        nfc(path).hash(&mut key);
        if !self.names.insert(key.finish()) {
            return Err(BagError::invalid(
                path,
                "a payload file of this name (or the same name in another Unicode normalization) was already added",
            ));
        }
        let full = self.root.join(&rel);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).map_err(|e| BagError::io(&rel, e))?;
        }
        let file = fs::File::create_new(&full).map_err(|e| BagError::io(&rel, e))?;
        let mut out = Hashing {
            out: BufWriter::with_capacity(1 << 20, file),
            hashers: PAYLOAD_ALGORITHMS.iter().map(|a| a.hasher()).collect(),
            size: 0,
        };
        write(&mut out).map_err(|e| BagError::io(&rel, e))?;
        out.out.flush().map_err(|e| BagError::io(&rel, e))?;
        let size = out.size;
        // RFC 8493 asks for '%' as %25, but bagit-python (1.9) neither
        // writes nor reads that: a '%' not followed by two hex digits
        // (the only kind `add` lets in) reads the same either way, so it
        // is written as it is.
        let encoded = rel.as_str();
        for ((alg, manifest), h) in self.manifests.iter_mut().zip(out.hashers) {
            writeln!(manifest, "{}  {encoded}", h.finish_hex())
                .map_err(|e| BagError::io(format!("manifest-{alg}.txt"), e))?;
        }
        self.files += 1;
        self.octets += size;
        Ok(size)
    }

    /// Starts a tag file of the bag's own (beside `bag-info.txt`, outside
    /// `data/`), which the tag manifests will list: the caller writes it,
    /// while adding payload if it likes, and flushes it before
    /// [`BagWriter::finish`]. The name is one segment of letters, digits,
    /// `-`, `_` and `.`, none of the names BagIt reserves, not taken.
    pub fn tag_file(&mut self, name: &str) -> Result<BufWriter<fs::File>, BagError> {
        let reserved = ["bagit.txt", "bag-info.txt", "fetch.txt", "data"];
        if name.is_empty()
            || name.starts_with('.')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || reserved.contains(&name)
            || name.starts_with("manifest-")
            || name.starts_with("tagmanifest-")
            || self.extra_tags.iter().any(|t| t == name)
        {
            return Err(BagError::invalid(
                name,
                "not a name for a tag file of our own (one plain segment, not a BagIt name, not taken)",
            ));
        }
        let file = fs::File::create_new(self.root.join(name)).map_err(|e| BagError::io(name, e))?;
        self.extra_tags.push(name.to_string());
        Ok(BufWriter::new(file))
    }

    /// Ends the bag: writes `bagit.txt` (1.0, UTF-8), `bag-info.txt` with
    /// `info` (labels and values as given, in order; a value with line
    /// breaks is folded onto continuation lines) followed by
    /// `Payload-Oxum`, and `tagmanifest-sha256.txt` and
    /// `tagmanifest-sha512.txt` over every other tag file.
    pub fn finish(mut self, info: &[(String, String)]) -> Result<WrittenBag, BagError> {
        for (alg, manifest) in &mut self.manifests {
            manifest
                .flush()
                .map_err(|e| BagError::io(format!("manifest-{alg}.txt"), e))?;
        }
        let mut text = String::new();
        for (label, value) in info {
            if label.is_empty()
                || label.contains([':', '\r', '\n'])
                || label.starts_with([' ', '\t'])
                || label.eq_ignore_ascii_case("Payload-Oxum")
            {
                return Err(BagError::invalid(
                    "bag-info.txt",
                    format!("label {label:?} is empty, has a colon or line break, or is Payload-Oxum (written here)"),
                ));
            }
            text.push_str(label);
            text.push(':');
            let mut first = true;
            for part in value.split(['\r', '\n']) {
                let part = part.trim();
                if part.is_empty() && !first {
                    continue;
                }
                text.push_str(if first { " " } else { "\n  " });
                text.push_str(part);
                first = false;
            }
            text.push('\n');
        }
        text.push_str(&format!("Payload-Oxum: {}.{}\n", self.octets, self.files));
        let tag_files = [
            (
                "bagit.txt",
                "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_string(),
            ),
            ("bag-info.txt", text),
        ];
        for (name, body) in &tag_files {
            fs::write(self.root.join(name), body).map_err(|e| BagError::io(*name, e))?;
        }
        let mut listed: Vec<String> = tag_files.iter().map(|(n, _)| n.to_string()).collect();
        listed.extend(self.extra_tags.iter().cloned());
        listed.extend(
            PAYLOAD_ALGORITHMS
                .iter()
                .map(|a| format!("manifest-{a}.txt")),
        );
        for alg in PAYLOAD_ALGORITHMS {
            let mut body = String::new();
            for name in &listed {
                let mut file =
                    fs::File::open(self.root.join(name)).map_err(|e| BagError::io(name, e))?;
                let mut h = alg.hasher();
                loop {
                    let n = match file.read(&mut self.buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(BagError::io(name, e)),
                    };
                    h.update(&self.buf[..n]);
                }
                body.push_str(&format!("{}  {name}\n", h.finish_hex()));
            }
            let name = format!("tagmanifest-{alg}.txt");
            fs::write(self.root.join(&name), body).map_err(|e| BagError::io(&name, e))?;
        }
        Ok(WrittenBag {
            files: self.files,
            octets: self.octets,
        })
    }
}

/// A payload file being written, through both checksums.
struct Hashing {
    out: BufWriter<fs::File>,
    hashers: Vec<Hasher>,
    size: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        for h in &mut self.hashers {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

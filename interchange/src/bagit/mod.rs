//! BagIt bags (RFC 8493): reading and validating a bag in a folder
//! ([`Bag`]), and writing one from a stream of records ([`BagWriter`]).
//!
//! What this module takes from the RFC, and the choices it makes where
//! the RFC leaves room:
//!
//! - Tag files are UTF-8 (`Tag-File-Character-Encoding` other than UTF-8
//!   is refused, naming it); lines end in LF, CR LF or CR.
//! - Manifest lines are `CHECKSUM<whitespace>PATH`; in a path, `%0D`,
//!   `%0A` and `%25` (either case) stand for CR, LF and `%` (§2.1.3), and
//!   no other `%` sequence is decoded; a file not found by the decoded
//!   name is looked for by the name as written, since bagit-python (and,
//!   as the BagIt spec's issue 46 notes, most implementations) writes `%`
//!   as it is. Bags written here hold no name with `%` and two hex digits
//!   (so both readings agree) and no line breaks. Paths are `/`-separated and
//!   relative; a path with an empty, `.` or `..` segment, an absolute
//!   path or a payload path outside `data/` is refused (it would escape
//!   the bag or its payload).
//! - `fetch.txt` with any entry is refused: this implementation fetches
//!   nothing, so a bag that needs fetching is not complete here.
//! - A payload file is found by its exact name first, then by its name in
//!   Unicode NFC, so a bag written on a system that stores names in NFD
//!   (or the reverse) validates; two names that differ only in
//!   normalization are refused when writing.
//! - Validation reads each payload file once, feeding every manifest's
//!   algorithm, and reports every problem, each naming its file.

mod read;
mod write;

pub use read::{parse_bag_info, Bag, Problem, Report};
pub use write::{BagWriter, WrittenBag};

use std::fmt;

/// Longest line read from a tag file (a manifest line with a long path).
pub const MAX_LINE: usize = 64 * 1024;
/// Largest `bagit.txt` or `bag-info.txt` read.
pub const MAX_SMALL_TAG_FILE: u64 = 1 << 20;

/// A checksum algorithm of a BagIt manifest (`manifest-ALG.txt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// MD5 (`md5`), allowed by RFC 8493 for older bags.
    Md5,
    /// SHA-1 (`sha1`).
    Sha1,
    /// SHA-256 (`sha256`).
    Sha256,
    /// SHA-512 (`sha512`).
    Sha512,
}

impl Algorithm {
    /// Every algorithm supported, weakest first.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
    ];

    /// The name in a manifest's file name (`manifest-sha256.txt`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm a manifest's file name names, if supported.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of its checksum in hexadecimal digits.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        use sha2::Digest;
        match self {
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A running checksum of one [`Algorithm`].
#[derive(Clone)]
pub enum Hasher {
    /// MD5.
    Md5(md5::Md5),
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The checksum in lower-case hexadecimal.
    pub fn finish_hex(self) -> String {
        use sha2::Digest;
        match self {
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Sha1(h) => hex(&h.finalize()),
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Encodes a path for a manifest line (RFC 8493 §2.1.3): `%` as `%25`,
/// CR as `%0D`, LF as `%0A`; nothing else changes.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes a manifest line's path: `%25`, `%0D` and `%0A` (either case)
/// only; any other `%` stays as it is, as bagit-python reads it.
pub fn decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let code = [
                bytes[i + 1].to_ascii_uppercase(),
                bytes[i + 2].to_ascii_uppercase(),
            ];
            let decoded = match &code {
                b"25" => Some('%'),
                b"0D" => Some('\r'),
                b"0A" => Some('\n'),
                _ => None,
            };
            if let Some(c) = decoded {
                out.push_str(&path[start..i]);
                out.push(c);
                i += 3;
                start = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&path[start..]);
    out
}

/// Checks a bag-relative path: not empty, relative, `/`-separated with no
/// empty, `.` or `..` segment, no NUL. Returns why not.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.len() > 4096 {
        return Err(format!("the path {path:?} is longer than 4096 bytes"));
    }
    if path.starts_with('/') {
        return Err(format!("the path {path:?} is absolute"));
    }
    if path.contains('\0') {
        return Err(format!("the path {path:?} has a NUL character"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!(
            "the path {path:?} has an empty, '.' or '..' segment (it could escape the bag)"
        ));
    }
    if path
        .split('/')
        .next()
        .is_some_and(|s| s.len() == 2 && s.ends_with(':'))
    {
        return Err(format!("the path {path:?} starts with a drive prefix"));
    }
    Ok(())
}

/// The key a name is matched by when its exact bytes are not found: its
/// Unicode NFC form.
pub fn nfc(path: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    path.nfc().collect()
}

/// An error that stops reading or writing a bag (as opposed to the
/// [`Problem`]s validation lists).
#[derive(Debug)]
pub enum BagError {
    /// Reading or writing a file failed.
    Io {
        /// The file, relative to the bag's folder.
        file: String,
        /// What failed.
        error: std::io::Error,
    },
    /// A tag file or a name does not follow RFC 8493 (or what this
    /// implementation supports).
    Invalid {
        /// The file (or name) at fault.
        file: String,
        /// Why.
        reason: String,
    },
}

impl BagError {
    pub(crate) fn io(file: impl Into<String>, error: std::io::Error) -> BagError {
        BagError::Io {
            file: file.into(),
            error,
        }
    }
    pub(crate) fn invalid(file: impl Into<String>, reason: impl Into<String>) -> BagError {
        BagError::Invalid {
            file: file.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for BagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BagError::Io { file, error } => write!(f, "{file}: {error}"),
            BagError::Invalid { file, reason } => write!(f, "{file}: {reason}"),
        }
    }
}

impl std::error::Error for BagError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_and_decode_only_cr_lf_and_percent() {
        let name = "data/a%b\r\nc%41 d";
        let enc = encode_path(name);
        assert_eq!(enc, "data/a%25b%0D%0Ac%2541 d");
        assert_eq!(decode_path(&enc), name);
        // Lower case decodes; other escapes and a trailing '%' stay.
        assert_eq!(decode_path("data/x%0d%0a%25"), "data/x\r\n%");
        assert_eq!(decode_path("data/%41%2"), "data/%41%2");
        assert_eq!(decode_path("data/%"), "data/%");
        assert_eq!(decode_path("data/é%25"), "data/é%");
    }

    #[test]
    fn relative_paths_that_escape_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "data/../x",
            "data/./x",
            "data//x",
            "data/x/",
            "..",
            "C:/x",
            "data/a\0b",
        ] {
            assert!(check_relative_path(bad).is_err(), "{bad:?}");
        }
        for good in ["data/a", "data/é é/%", "bag-info.txt", "data/..a/b.."] {
            assert!(check_relative_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn known_answer_checksums() {
        let want = [
            (Algorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (Algorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Algorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (alg, hex) in want {
            let mut h = alg.hasher();
            h.update(b"a");
            h.update(b"bc");
            let got = h.finish_hex();
            assert_eq!(got, hex, "{alg}");
            assert_eq!(got.len(), alg.hex_len());
        }
        let mut h = Algorithm::Sha512.hasher();
        h.update(b"abc");
        assert!(h.finish_hex().starts_with("ddaf35a193617aba"));
        assert_eq!(Algorithm::from_name("sha256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("sha3"), None);
    }
}

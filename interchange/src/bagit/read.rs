//! Reading and validating a bag in a folder.

use super::{
    check_relative_path, decode_path, nfc, Algorithm, BagError, MAX_LINE, MAX_SMALL_TAG_FILE,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A bag's tag files, parsed: what [`Bag::validate`] checks the payload
/// against.
#[derive(Debug)]
pub struct Bag {
    root: PathBuf,
    /// `BagIt-Version` of `bagit.txt` (`1.0`, `0.97`, ...).
    pub version: String,
    /// The metadata of `bag-info.txt`, in order, labels as written;
    /// continuation lines joined to their element with one space.
    pub info: Vec<(String, String)>,
    /// The payload manifests' algorithms, in the order of [`Algorithm::ALL`].
    pub algorithms: Vec<Algorithm>,
    /// The tag manifests' algorithms.
    pub tag_algorithms: Vec<Algorithm>,
    /// Payload path (decoded, as in the manifest) -> one checksum per
    /// entry of `algorithms` (lower case; empty where that manifest does
    /// not list the path).
    payload: BTreeMap<String, Vec<String>>,
    /// Tag file path -> one checksum per entry of `tag_algorithms`.
    tags: BTreeMap<String, Vec<String>>,
    /// Manifest paths as written (undecoded) -> decoded, where they
    /// differ: bagit-python 1.9 writes `%` as it is, so a file named
    /// `50%25.txt` is found under its undecoded name too.
    raw: HashMap<String, String>,
    /// Problems found while reading manifests (a path listed twice with
    /// two checksums, ...), reported by `validate`.
    early: Vec<Problem>,
}

/// Something wrong with a bag, naming the file at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A file a manifest lists is not in the bag.
    Missing {
        /// The path, as the manifest gives it (decoded).
        path: String,
        /// The manifest (`manifest-sha256.txt`).
        manifest: String,
    },
    /// A payload file no manifest of this algorithm lists.
    NotInManifest {
        /// The file, relative to the bag.
        path: String,
        /// The manifest that lacks it.
        manifest: String,
    },
    /// A file's checksum differs from its manifest's.
    Checksum {
        /// The file, relative to the bag.
        path: String,
        /// The algorithm.
        algorithm: Algorithm,
        /// The manifest's checksum.
        expected: String,
        /// The file's.
        actual: String,
    },
    /// `Payload-Oxum` differs from the payload found.
    Oxum {
        /// As `bag-info.txt` gives it.
        expected: String,
        /// `OCTETS.FILES` of the payload found.
        actual: String,
    },
    /// A file that cannot be read, is not a regular file, or whose name
    /// is not UTF-8.
    Unreadable {
        /// The file, relative to the bag.
        path: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { path, manifest } => {
                write!(f, "{path:?}: listed in {manifest} but not in the bag")
            }
            Problem::NotInManifest { path, manifest } => {
                write!(f, "{path:?}: in the payload but not listed in {manifest}")
            }
            Problem::Checksum {
                path,
                algorithm,
                expected,
                actual,
            } => write!(
                f,
                "{path:?}: {algorithm} checksum is {actual}, the manifest says {expected}"
            ),
            Problem::Oxum { expected, actual } => write!(
                f,
                "bag-info.txt: Payload-Oxum is {expected} but the payload has {actual} (octets.files)"
            ),
            Problem::Unreadable { path, reason } => write!(f, "{path:?}: {reason}"),
        }
    }
}

/// What [`Bag::validate`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every problem, each naming its file; empty for a valid bag.
    pub problems: Vec<Problem>,
    /// Payload files found and read.
    pub files: u64,
    /// Their total size in bytes.
    pub octets: u64,
}

impl Report {
    /// Whether the bag is valid (no problem).
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Bag {
    /// Reads a bag's tag files: `bagit.txt`, `bag-info.txt` (if any),
    /// every `manifest-ALG.txt` and `tagmanifest-ALG.txt`. Refuses a bag
    /// with a `fetch.txt` that lists anything, a manifest of an
    /// unsupported algorithm, and a manifest line with a path that
    /// escapes the bag (a payload path outside `data/`).
    pub fn open(root: impl AsRef<Path>) -> Result<Bag, BagError> {
        let root = root.as_ref().to_path_buf();
        let declaration = read_small(&root, "bagit.txt")?;
        if declaration.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return Err(BagError::invalid(
                "bagit.txt",
                "starts with a byte-order mark, which RFC 8493 §2.1.1 forbids",
            ));
        }
        let declaration = String::from_utf8(declaration)
            .map_err(|_| BagError::invalid("bagit.txt", "is not UTF-8"))?;
        let fields = parse_info("bagit.txt", &declaration)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| BagError::invalid("bagit.txt", format!("has no {name} line")))
        };
        let version = field("BagIt-Version")?;
        let encoding = field("Tag-File-Character-Encoding")?;
        if !encoding.eq_ignore_ascii_case("UTF-8") {
            return Err(BagError::invalid(
                "bagit.txt",
                format!("Tag-File-Character-Encoding {encoding:?} is not supported (only UTF-8)"),
            ));
        }
        let mut parts = version.split('.');
        let (major, minor) = (parts.next(), parts.next());
        let numeric = |s: Option<&str>| {
            s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        if !numeric(major) || !numeric(minor) || parts.next().is_some() {
            return Err(BagError::invalid(
                "bagit.txt",
                format!("BagIt-Version {version:?} is not MAJOR.MINOR"),
            ));
        }
        if major != Some("0") && major != Some("1") {
            return Err(BagError::invalid(
                "bagit.txt",
                format!("BagIt-Version {version} is not supported (0.x and 1.x are)"),
            ));
        }

        let info = match fs::metadata(root.join("bag-info.txt")) {
            Ok(_) => {
                let bytes = read_small(&root, "bag-info.txt")?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| BagError::invalid("bag-info.txt", "is not UTF-8"))?;
                parse_info("bag-info.txt", strip_bom(&text))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(BagError::io("bag-info.txt", e)),
        };

        if let Ok(meta) = fs::metadata(root.join("fetch.txt")) {
            if meta.len() > 0 {
                let bytes = read_small(&root, "fetch.txt")?;
                if bytes.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(BagError::invalid(
                        "fetch.txt",
                        "lists files to fetch: fetching is not supported, so the bag is not complete here",
                    ));
                }
            }
        }

        // Manifests, by algorithm, in a stable order.
        let mut payload_manifests = Vec::new();
        let mut tag_manifests = Vec::new();
        let entries = fs::read_dir(&root).map_err(|e| BagError::io(".", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BagError::io(".", e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            for (prefix, into) in [
                ("manifest-", &mut payload_manifests),
                ("tagmanifest-", &mut tag_manifests),
            ] {
                if let Some(alg) = name
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(".txt"))
                {
                    let algorithm = Algorithm::from_name(alg).ok_or_else(|| {
                        BagError::invalid(
                            &name,
                            format!("algorithm {alg:?} is not supported (md5, sha1, sha256, sha512 are)"),
                        )
                    })?;
                    into.push(algorithm);
                }
            }
        }
        payload_manifests.sort();
        tag_manifests.sort();
        if payload_manifests.is_empty() {
            return Err(BagError::invalid(
                "manifest-ALG.txt",
                "the bag has no payload manifest (RFC 8493 §2.1.3 requires one)",
            ));
        }
        let mut early = Vec::new();
        let mut raw = HashMap::new();
        let payload = read_manifests(
            &root,
            "manifest",
            &payload_manifests,
            true,
            &mut early,
            &mut raw,
        )?;
        let tags = read_manifests(
            &root,
            "tagmanifest",
            &tag_manifests,
            false,
            &mut early,
            &mut HashMap::new(),
        )?;
        Ok(Bag {
            root,
            version,
            info,
            algorithms: payload_manifests,
            tag_algorithms: tag_manifests,
            payload,
            tags,
            raw,
            early,
        })
    }

    /// The folder the bag is in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The first value of a `bag-info.txt` label (labels compared
    /// without regard to ASCII case).
    pub fn info_value(&self, label: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.as_str())
    }

    /// Payload paths the manifests list (decoded), sorted.
    pub fn payload_paths(&self) -> impl Iterator<Item = &str> {
        self.payload.keys().map(String::as_str)
    }

    /// The manifest's checksum of a payload path for an algorithm.
    pub fn checksum(&self, path: &str, algorithm: Algorithm) -> Option<&str> {
        let i = self.algorithms.iter().position(|a| *a == algorithm)?;
        self.payload
            .get(path)
            .map(|sums| sums[i].as_str())
            .filter(|s| !s.is_empty())
    }

    /// Manifest paths as written where they differ from their decoded
    /// form (`(as written, decoded)`): a file named `50%25.txt` that
    /// bagit-python lists undecoded is found under the first.
    pub fn undecoded_paths(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw.iter().map(|(r, d)| (r.as_str(), d.as_str()))
    }

    /// Validates the bag: every payload file under `data/` against every
    /// payload manifest (present in each, checksum equal), every path
    /// each manifest lists present, `Payload-Oxum` if given, and every
    /// tag file the tag manifests list. Reads each file once; returns
    /// every problem found. `Err` only when the payload folder cannot be
    /// listed at all.
    pub fn validate(&self) -> Result<Report, BagError> {
        let mut report = Report {
            problems: self.early.clone(),
            ..Report::default()
        };
        // NFC name -> manifest name, for names not found byte for byte.
        let mut by_nfc: HashMap<String, &str> = HashMap::new();
        for path in self.payload.keys() {
            let key = nfc(path);
            if key != *path {
                by_nfc.insert(key, path);
            }
        }
        let mut seen = vec![false; self.payload.len()];
        let index: HashMap<&str, usize> = self
            .payload
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let sums_of: Vec<&Vec<String>> = self.payload.values().collect();
        let data = self.root.join("data");
        match fs::symlink_metadata(&data) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(BagError::invalid("data", "is not a folder"));
            }
            Err(e) => return Err(BagError::io("data", e)),
        }
        let mut stack = vec![(data, String::from("data"))];
        while let Some((dir, rel)) = stack.pop() {
            let mut entries: Vec<_> = match fs::read_dir(&dir) {
                Ok(rd) => rd.filter_map(Result::ok).collect(),
                Err(e) => {
                    report.problems.push(Problem::Unreadable {
                        path: rel,
                        reason: format!("cannot list the folder: {e}"),
                    });
                    continue;
                }
            };
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    report.problems.push(Problem::Unreadable {
                        path: format!("{rel}/{}", entry.file_name().to_string_lossy()),
                        reason: "the name is not UTF-8".into(),
                    });
                    continue;
                };
                let path = format!("{rel}/{name}");
                let kind = match entry.file_type() {
                    Ok(t) => t,
                    Err(e) => {
                        report.problems.push(Problem::Unreadable {
                            path,
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                if kind.is_dir() {
                    stack.push((entry.path(), path));
                    continue;
                }
                if !kind.is_file() {
                    report.problems.push(Problem::Unreadable {
                        path,
                        reason: "is not a regular file (a symbolic link or a device)".into(),
                    });
                    continue;
                }
                self.check_payload_file(
                    &entry.path(),
                    &path,
                    (&index, &by_nfc, &sums_of),
                    &mut seen,
                    &mut report,
                );
            }
        }
        for ((path, sums), seen) in self.payload.iter().zip(&seen) {
            if !seen {
                for (alg, sum) in self.algorithms.iter().zip(sums) {
                    if !sum.is_empty() {
                        report.problems.push(Problem::Missing {
                            path: path.clone(),
                            manifest: format!("manifest-{alg}.txt"),
                        });
                    }
                }
            }
        }
        if let Some(oxum) = self.info_value("Payload-Oxum") {
            let actual = format!("{}.{}", report.octets, report.files);
            let parsed = oxum.split_once('.').and_then(|(o, f)| {
                Some((o.trim().parse::<u64>().ok()?, f.trim().parse::<u64>().ok()?))
            });
            if parsed != Some((report.octets, report.files)) {
                report.problems.push(Problem::Oxum {
                    expected: oxum.to_string(),
                    actual,
                });
            }
        }
        for (path, sums) in &self.tags {
            let full = self.root.join(path);
            match hash_file(&full, &self.tag_algorithms) {
                Ok((_, actual)) => {
                    for ((alg, want), got) in self.tag_algorithms.iter().zip(sums).zip(actual) {
                        if !want.is_empty() && *want != got {
                            report.problems.push(Problem::Checksum {
                                path: path.clone(),
                                algorithm: *alg,
                                expected: want.clone(),
                                actual: got,
                            });
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    for (alg, want) in self.tag_algorithms.iter().zip(sums) {
                        if !want.is_empty() {
                            report.problems.push(Problem::Missing {
                                path: path.clone(),
                                manifest: format!("tagmanifest-{alg}.txt"),
                            });
                        }
                    }
                }
                Err(e) => report.problems.push(Problem::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        Ok(report)
    }

    fn check_payload_file(
        &self,
        full: &Path,
        path: &str,
        (index, by_nfc, sums_of): Lookup<'_>,
        seen: &mut [bool],
        report: &mut Report,
    ) {
        let listed = match index.get(path) {
            Some(&i) => Some(i),
            None => by_nfc
                .get(&nfc(path))
                .and_then(|name| index.get(name).copied())
                .or_else(|| {
                    let decoded = self.raw.get(path)?;
                    index.get(decoded.as_str()).copied()
                }),
        };
        let (size, sums) = match hash_file(full, &self.algorithms) {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(Problem::Unreadable {
                    path: path.to_string(),
                    reason: e.to_string(),
                });
                if let Some(i) = listed {
                    seen[i] = true;
                }
                return;
            }
        };
        report.files += 1;
        report.octets += size;
        let Some(i) = listed else {
            for alg in &self.algorithms {
                report.problems.push(Problem::NotInManifest {
                    path: path.to_string(),
                    manifest: format!("manifest-{alg}.txt"),
                });
            }
            return;
        };
        seen[i] = true;
        let want = sums_of[i];
        for ((alg, want), got) in self.algorithms.iter().zip(want).zip(sums) {
            if want.is_empty() {
                report.problems.push(Problem::NotInManifest {
                    path: path.to_string(),
                    manifest: format!("manifest-{alg}.txt"),
                });
            } else if *want != got {
                report.problems.push(Problem::Checksum {
                    path: path.to_string(),
                    algorithm: *alg,
                    expected: want.clone(),
                    actual: got,
                });
            }
        }
    }
}

/// How a payload file finds its manifest entry: by name, by NFC name,
/// and the checksums of each entry.
type Lookup<'a> = (
    &'a HashMap<&'a str, usize>,
    &'a HashMap<String, &'a str>,
    &'a [&'a Vec<String>],
);

/// Reads a file once through every algorithm's hasher.
fn hash_file(path: &Path, algorithms: &[Algorithm]) -> std::io::Result<(u64, Vec<String>)> {
    let mut file = fs::File::open(path)?;
    let mut hashers: Vec<_> = algorithms.iter().map(|a| a.hasher()).collect();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        for h in &mut hashers {
            h.update(&buf[..n]);
        }
    }
    Ok((size, hashers.into_iter().map(|h| h.finish_hex()).collect()))
}

fn read_small(root: &Path, name: &str) -> Result<Vec<u8>, BagError> {
    let file = fs::File::open(root.join(name)).map_err(|e| BagError::io(name, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_SMALL_TAG_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BagError::io(name, e))?;
    if bytes.len() as u64 > MAX_SMALL_TAG_FILE {
        return Err(BagError::invalid(
            name,
            format!("is larger than {MAX_SMALL_TAG_FILE} bytes"),
        ));
    }
    Ok(bytes)
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{FEFF}').unwrap_or(text)
}

/// Splits text into lines at LF, CR LF or CR.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\r', '\n']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// Parses the text of a `bag-info.txt` (`LABEL: VALUE` lines, a line
/// starting with a space or tab continuing the element before, joined
/// with one space), labels as written and in order.
pub fn parse_bag_info(text: &str) -> Result<Vec<(String, String)>, BagError> {
    parse_info("bag-info.txt", text)
}

/// Parses `LABEL: VALUE` lines with continuation lines (starting with a
/// space or tab) joined to the element before with one space.
fn parse_info(file: &str, text: &str) -> Result<Vec<(String, String)>, BagError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, line) in lines(text).enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = out.last_mut() else {
                return Err(BagError::invalid(
                    file,
                    format!(
                        "line {}: a continuation line with no element before it",
                        n + 1
                    ),
                ));
            };
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(line.trim());
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            return Err(BagError::invalid(
                file,
                format!("line {}: {line:?} is not LABEL: VALUE", n + 1),
            ));
        };
        let label = label.trim();
        if label.is_empty() {
            return Err(BagError::invalid(
                file,
                format!("line {}: empty label", n + 1),
            ));
        }
        out.push((label.to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// Reads each manifest of a kind into path -> checksums (one slot per
/// algorithm). Lines are read one by one, each at most [`MAX_LINE`].
fn read_manifests(
    root: &Path,
    kind: &str,
    algorithms: &[Algorithm],
    payload: bool,
    early: &mut Vec<Problem>,
    aliases: &mut HashMap<String, String>,
) -> Result<BTreeMap<String, Vec<String>>, BagError> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (slot, alg) in algorithms.iter().enumerate() {
        let name = format!("{kind}-{alg}.txt");
        let file = fs::File::open(root.join(&name)).map_err(|e| BagError::io(&name, e))?;
        let mut reader = BufReader::new(file);
        let mut raw = Vec::new();
        let mut n = 0usize;
        loop {
            raw.clear();
            let got = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut raw)
                .map_err(|e| BagError::io(&name, e))?;
            if got == 0 {
                break;
            }
            n += 1;
            if raw.len() > MAX_LINE {
                return Err(BagError::invalid(
                    &name,
                    format!("line {n} is longer than {MAX_LINE} bytes"),
                ));
            }
            let text = std::str::from_utf8(&raw)
                .map_err(|_| BagError::invalid(&name, format!("line {n} is not UTF-8")))?;
            let text = if n == 1 { strip_bom(text) } else { text };
            // A lone CR also ends a line: split what read_until gave.
            for line in lines(text) {
                if line.trim().is_empty() {
                    continue;
                }
                let (sum, path) = split_manifest_line(line).ok_or_else(|| {
                    BagError::invalid(&name, format!("line {n}: {line:?} is not CHECKSUM PATH"))
                })?;
                if sum.len() != alg.hex_len() || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(BagError::invalid(
                        &name,
                        format!("line {n}: {sum:?} is not a {alg} checksum"),
                    ));
                }
                let decoded = decode_path(path);
                if decoded != path && aliases.len() < 1 << 20 {
                    aliases.insert(path.to_string(), decoded.clone());
                }
                let path = decoded;
                check_relative_path(&path)
                    .map_err(|why| BagError::invalid(&name, format!("line {n}: {why}")))?;
                let in_data = path.starts_with("data/");
                if payload && !in_data {
                    return Err(BagError::invalid(
                        &name,
                        format!("line {n}: {path:?} is outside data/, where every payload file is"),
                    ));
                }
                if !payload && in_data {
                    return Err(BagError::invalid(
                        &name,
                        format!("line {n}: {path:?} is a payload file; a tag manifest lists tag files only"),
                    ));
                }
                let sums = map
                    .entry(path.clone())
                    .or_insert_with(|| vec![String::new(); algorithms.len()]);
                let sum = sum.to_ascii_lowercase();
                if !sums[slot].is_empty() && sums[slot] != sum {
                    early.push(Problem::Checksum {
                        path: path.clone(),
                        algorithm: *alg,
                        expected: sums[slot].clone(),
                        actual: format!("{sum} (listed twice in {name})"),
                    });
                }
                sums[slot] = sum;
            }
        }
    }
    Ok(map)
}

/// `CHECKSUM<one or more spaces or tabs>PATH`.
fn split_manifest_line(line: &str) -> Option<(&str, &str)> {
    let i = line.find([' ', '\t'])?;
    let sum = &line[..i];
    let path = line[i..].trim_start_matches([' ', '\t']);
    if sum.is_empty() || path.is_empty() {
        return None;
    }
    Some((sum, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_continue_and_end_three_ways() {
        let text = "Source-Organization: Velmora\r\n  National Archives\rContact-Name: A. B\n\tC\nEmpty:\n";
        let info = parse_info("bag-info.txt", text).unwrap();
        assert_eq!(
            info,
            vec![
                (
                    "Source-Organization".into(),
                    "Velmora National Archives".into()
                ),
                ("Contact-Name".into(), "A. B C".into()),
                ("Empty".into(), "".into()),
            ]
        );
        let e = parse_info("bag-info.txt", " starts with a continuation").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = parse_info("bag-info.txt", "A: b\nno colon here\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn manifest_lines_split_at_the_first_whitespace_run() {
        assert_eq!(
            split_manifest_line("abc  data/a b"),
            Some(("abc", "data/a b"))
        );
        assert_eq!(split_manifest_line("abc\tdata/x"), Some(("abc", "data/x")));
        assert_eq!(split_manifest_line("abc"), None);
        assert_eq!(split_manifest_line("abc   "), None);
    }
}

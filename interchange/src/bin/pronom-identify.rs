//! `pronom-identify [--time] PATH...`: identifies every file under the
//! paths given (folders walked, sorted) and prints one line a file:
//! `path TAB puid TAB basis TAB name TAB version TAB warning`. With
//! `--time`, prints only the count and the mean microseconds a file
//! spent identifying it from its bytes in memory (reading the file is
//! not counted: a packer holds the bytes already; the files are passed
//! over until half a second has gone), for the cost per record.
//!
//! `pronom-identify --bench [N]`: the cost per record on N (default
//! 200,000) records made here of each of three kinds, as the national
//! benchmark's folders hold them: random bytes of 20-200 (`.bin`, the
//! worst case: no first byte rules a signature out), text lines of
//! 20-200 bytes (`.txt`) and small PNG images (`.png`); and on N/10
//! ZIP records of two kinds, each looked into for container signatures:
//! a DOCX (four entries, about 1.2 KB, identified by its
//! `[Content_Types].xml`) and a plain ZIP of four text entries (no
//! container signature matches).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--bench") {
        let n = args.nth(1).map_or(200_000, |a| {
            a.parse().unwrap_or_else(|_| {
                eprintln!("pronom-identify: --bench takes a number of records, not {a:?}");
                std::process::exit(2)
            })
        });
        bench(n);
        return;
    }
    let mut time = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--time" {
            time = true;
        } else if let Err(e) = walk(Path::new(&arg), &mut files) {
            eprintln!("pronom-identify: {arg}: {e}");
            std::process::exit(1);
        }
    }
    // Parse the signatures before timing.
    let reg = legation_interchange::pronom::registry();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if time {
        // The records' bytes as a packer holds them; only identification
        // is timed, in wall time and in this thread's CPU time (the
        // machine may be shared).
        let data: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|f| {
                let bytes = std::fs::read(f).unwrap_or_else(|e| {
                    eprintln!("pronom-identify: {}: {e}", f.display());
                    std::process::exit(1)
                });
                (f.to_string_lossy().to_string(), bytes)
            })
            .collect();
        // Passes over the files until half a second has gone, so that a
        // small folder is timed as well as a large one.
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        let mut identified = 0usize;
        let mut passes = 0usize;
        while passes == 0 || start.elapsed().as_secs_f64() < 0.5 {
            identified = 0;
            for (name, bytes) in &data {
                identified += legation_interchange::pronom::identify_bytes(name, bytes)
                    .format
                    .is_some() as usize;
            }
            passes += 1;
        }
        let per = (data.len() * passes).max(1) as f64;
        let wall = start.elapsed().as_secs_f64() * 1e6 / per;
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.1}", (b - a) as f64 / 1e3 / per),
            _ => "?".into(),
        };
        let _ = writeln!(
            out,
            "{} files ({identified} identified), {wall:.1} µs a file in wall time, {cpu} µs of CPU (PRONOM {}, {} signatures)",
            data.len(),
            reg.release,
            reg.signature_count()
        );
        return;
    }
    for f in &files {
        let name = f.to_string_lossy();
        let id = match std::fs::File::open(f)
            .and_then(|file| legation_interchange::pronom::identify_reader(&name, file))
        {
            Ok(id) => id,
            Err(e) => {
                eprintln!("pronom-identify: {name}: {e}");
                std::process::exit(1);
            }
        };
        let (n, v) = id
            .format
            .map_or(("", ""), |f| (f.name.as_str(), f.version.as_str()));
        let _ = writeln!(
            out,
            "{name}\t{}\t{}\t{n}\t{v}\t{}",
            id.puid(),
            id.basis_text(),
            id.warning.as_deref().unwrap_or("")
        );
    }
}

/// A record: its name and bytes.
type Named = (String, Vec<u8>);

/// Times identification per record on `n` made records of each kind.
fn bench(n: usize) {
    let reg = legation_interchange::pronom::registry();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let png = |w: u8| {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0".to_vec();
        b.extend([w, 0, 0, 0, w, 8, 2, 0, 0, 0, 1, 2, 3, 4]);
        b.extend(b"\0\0\0\x0cIDAT");
        b.extend(std::iter::repeat_n(0x78, 12 + w as usize));
        b.extend(b"\0\0\0\0\0\0\0\0IEND\xaeB`\x82");
        b
    };
    let docx = |i: usize| {
        stored_zip(&[
            (
                "[Content_Types].xml",
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>".to_vec(),
            ),
            ("_rels/.rels", b"<?xml version=\"1.0\"?><Relationships/>".to_vec()),
            (
                "word/document.xml",
                format!("<?xml version=\"1.0\"?><w:document><w:t>Decision {i}</w:t></w:document>")
                    .into_bytes(),
            ),
            ("docProps/core.xml", b"<?xml version=\"1.0\"?><cp:coreProperties/>".to_vec()),
        ])
    };
    let plain = |i: usize| {
        stored_zip(&[
            ("a.txt", format!("entry {i}\n").into_bytes()),
            ("b.txt", b"second\n".to_vec()),
            ("c/d.csv", b"a,b\n1,2\n".to_vec()),
            ("e.txt", b"last\n".to_vec()),
        ])
    };
    let kinds: [(&str, Vec<Named>); 5] = [
        (
            "random bytes, 20-200",
            (0..n)
                .map(|i| {
                    let len = 20 + (next() % 181) as usize;
                    let bytes = (0..len).map(|_| next() as u8).collect();
                    (format!("r{:04}/p{i:010}.bin", i / 10_000), bytes)
                })
                .collect(),
        ),
        (
            "text lines, 20-200",
            (0..n)
                .map(|i| {
                    let len = 20 + (next() % 181) as usize;
                    let line = format!("person {i:010}, born {}, register entry ", 1900 + i % 120)
                        .repeat(6);
                    let mut bytes = line.as_bytes()[..len - 1].to_vec();
                    bytes.push(b'\n');
                    (format!("r{:04}/p{i:010}.txt", i / 10_000), bytes)
                })
                .collect(),
        ),
        (
            "PNG images",
            (0..n)
                .map(|i| {
                    (
                        format!("r{:04}/p{i:010}.png", i / 10_000),
                        png(next() as u8 % 64),
                    )
                })
                .collect(),
        ),
        (
            "DOCX (container)",
            (0..n / 10)
                .map(|i| (format!("r{:04}/d{i:010}.docx", i / 10_000), docx(i)))
                .collect(),
        ),
        (
            "plain ZIP",
            (0..n / 10)
                .map(|i| (format!("r{:04}/z{i:010}.zip", i / 10_000), plain(i)))
                .collect(),
        ),
    ];
    for (kind, data) in &kinds {
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        let mut identified = 0usize;
        for (name, bytes) in data {
            identified += legation_interchange::pronom::identify_bytes(name, bytes)
                .format
                .is_some() as usize;
        }
        let wall = start.elapsed().as_secs_f64() * 1e6 / data.len().max(1) as f64;
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.2}", (b - a) as f64 / 1e3 / data.len().max(1) as f64),
            _ => "?".into(),
        };
        println!(
            "{kind}: {} records ({identified} identified), {wall:.2} µs a record in wall time, {cpu} µs of CPU (PRONOM {})",
            data.len(),
            reg.release
        );
    }
}

/// A ZIP of stored entries (CRCs left zero: identification does not
/// check them), local headers, central directory and end record.
fn stored_zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    fn header(out: &mut Vec<u8>, sig: &[u8], name: &str, size: u32, local: Option<u32>) {
        out.extend(sig);
        let version: &[u8] = if local.is_some() {
            &[20, 0, 20, 0]
        } else {
            &[20, 0]
        };
        out.extend(version);
        out.extend([0u8; 4]); // flags, method: stored
        out.extend([0u8; 8]); // time, date, CRC
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend([0u8; 2]); // extra
        if let Some(at) = local {
            out.extend([0u8; 6]); // comment length, disk, internal attributes
            out.extend([0u8; 4]); // external attributes
            out.extend(at.to_le_bytes());
        }
        out.extend(name.as_bytes());
    }
    let mut out = Vec::new();
    let mut places = Vec::new();
    for (name, data) in entries {
        places.push(out.len() as u32);
        header(&mut out, b"PK\x03\x04", name, data.len() as u32, None);
        out.extend(data);
    }
    let cd = out.len() as u32;
    for ((name, data), at) in entries.iter().zip(places) {
        header(&mut out, b"PK\x01\x02", name, data.len() as u32, Some(at));
    }
    let size = out.len() as u32 - cd;
    out.extend(b"PK\x05\x06\0\0\0\0");
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend(size.to_le_bytes());
    out.extend(cd.to_le_bytes());
    out.extend([0u8; 2]);
    out
}

/// This thread's CPU time in nanoseconds (Linux), to time on a busy
/// machine.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

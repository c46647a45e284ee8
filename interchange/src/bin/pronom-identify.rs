//! `pronom-identify [--time] PATH...`: identifies every file under the
//! paths given (folders walked, sorted) and prints one line a file:
//! `path TAB puid TAB basis TAB name TAB version TAB warning`. With
//! `--time`, prints only the count and the mean microseconds a file
//! (reading its windows and matching), for measuring the cost per record.

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
    let start = Instant::now();
    for f in &files {
        let name = f.to_string_lossy();
        let result = std::fs::File::open(f)
            .and_then(|file| legation_interchange::pronom::identify_reader(&name, file));
        let id = match result {
            Ok(id) => id,
            Err(e) => {
                eprintln!("pronom-identify: {name}: {e}");
                std::process::exit(1);
            }
        };
        if !time {
            let (n, v) = id
                .format
                .map_or(("", ""), |f| (f.name.as_str(), f.version.as_str()));
            let _ = writeln!(
                out,
                "{name}\t{}\t{}\t{n}\t{v}\t{}",
                id.puid(),
                id.basis.as_str(),
                id.warning.as_deref().unwrap_or("")
            );
        }
    }
    if time {
        let us = start.elapsed().as_secs_f64() * 1e6 / files.len().max(1) as f64;
        let _ = writeln!(
            out,
            "{} files, {us:.1} µs a file (PRONOM {}, {} signatures)",
            files.len(),
            reg.release,
            reg.signature_count()
        );
    }
}

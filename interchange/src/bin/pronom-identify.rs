//! `pronom-identify [--time] PATH...`: identifies every file under the
//! paths given (folders walked, sorted) and prints one line a file:
//! `path TAB puid TAB basis TAB name TAB version TAB warning`. With
//! `--time`, prints only the count and the mean microseconds a file
//! spent identifying it from its bytes in memory (reading the file is
//! not counted: a packer holds the bytes already), for the cost per
//! record.

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
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        let mut identified = 0usize;
        for (name, bytes) in &data {
            identified += legation_interchange::pronom::identify_bytes(name, bytes)
                .format
                .is_some() as usize;
        }
        let wall = start.elapsed().as_secs_f64() * 1e6 / data.len().max(1) as f64;
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.1}", (b - a) as f64 / 1e3 / data.len().max(1) as f64),
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
            id.basis.as_str(),
            id.warning.as_deref().unwrap_or("")
        );
    }
}

/// This thread's CPU time in nanoseconds (Linux), to time on a busy
/// machine.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

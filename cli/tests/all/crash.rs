//! Killed at any moment, `pack` and `extract` leave the previous state or
//! complete files, never a file under its final name that is not complete.
//!
//! Each trial starts the command and sends it SIGKILL after a delay drawn
//! from a seeded generator across the command's whole run time (measured
//! first), then checks what is on disk. `LEGATION_CRASH_TRIALS` sets the
//! number of trials per command (default 12); RELIABILITY.md records a
//! long run.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use common::Tmp;

const PASS: &str = "crash-test passphrase that is long enough";

fn bin() -> Command {
    let mut c = common::bin();
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn trials() -> usize {
    std::env::var("LEGATION_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// Records large enough that packing and extracting take a while: a few
/// incompressible files and many small ones.
fn records(dir: &Path) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..6 {
        let mut big = vec![0u8; 3 << 20];
        rng.fill_bytes(&mut big);
        fs::create_dir_all(dir.join("scans")).unwrap();
        fs::write(dir.join(format!("scans/scan-{i}.bin")), big).unwrap();
    }
    fs::create_dir_all(dir.join("registers")).unwrap();
    for i in 0..300 {
        fs::write(
            dir.join(format!("registers/person-{i:04}.csv")),
            format!("id,name,born\n{i},Person {i},19{:02}-01-01\n", i % 100),
        )
        .unwrap();
    }
}

/// Runs a command to the end and returns how long it took.
fn timed(mut c: Command) -> Duration {
    let started = Instant::now();
    let status = c.status().unwrap();
    assert!(status.success(), "{c:?}: {status}");
    started.elapsed()
}

/// Starts a command and kills it after `delay` (if it is still running).
/// Returns whether it finished before the kill.
fn kill_after(mut c: Command, delay: Duration) -> bool {
    let mut child = c.spawn().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{c:?} failed on its own: {status}");
            return true;
        }
        if started.elapsed() >= delay {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return false;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn delays(rng: &mut ChaCha8Rng, full: Duration) -> Vec<Duration> {
    // Up to 110% of a full run, so some trials let it finish.
    (0..trials())
        .map(|_| full.mul_f64((rng.next_u32() % 1100) as f64 / 1000.0))
        .collect()
}

/// Files in `dir` (recursively) whose names are not temporary.
fn finished_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if !e.file_name().to_string_lossy().contains(".partial-") {
                out.push(p);
            }
        }
    }
    out
}

fn pack(src: &Path, out: &Path, pass: &Path, force: bool) -> Command {
    let mut c = bin();
    c.arg("pack")
        .arg(src)
        .arg("-o")
        .arg(out)
        .arg("--passphrase-file")
        .arg(pass);
    if force {
        c.arg("--force");
    }
    c
}

fn verify_ok(archive: &Path, pass: &Path) -> bool {
    bin()
        .arg("verify")
        .arg(archive)
        .arg("--level")
        .arg("content")
        .arg("--passphrase-file")
        .arg(pass)
        .status()
        .unwrap()
        .success()
}

#[test]
fn pack_killed_at_any_moment_leaves_no_incomplete_archive() {
    let t = Tmp::new("pack");
    let src = t.0.join("src");
    records(&src);
    let pass = t.0.join("pass");
    fs::write(&pass, PASS).unwrap();
    let full = timed(pack(&src, &t.0.join("first.lgn"), &pass, false));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut finished, mut killed) = (0, 0);
    for (i, delay) in delays(&mut rng, full).into_iter().enumerate() {
        let out = t.0.join(format!("trial-{i}.lgn"));
        if kill_after(pack(&src, &out, &pass, false), delay) {
            finished += 1;
        } else {
            killed += 1;
        }
        // Either no archive under its name, or a complete, intact one.
        if out.exists() {
            assert!(
                verify_ok(&out, &pass),
                "trial {i}: {delay:?}: incomplete archive"
            );
        }
    }
    eprintln!("pack: {killed} killed, {finished} finished, 0 incomplete");
    assert!(killed > 0, "no trial was killed ({finished} finished)");
}

#[test]
fn pack_force_killed_keeps_the_old_archive_or_the_new_one() {
    let t = Tmp::new("force");
    let src = t.0.join("src");
    records(&src);
    let pass = t.0.join("pass");
    fs::write(&pass, PASS).unwrap();
    let out = t.0.join("a.lgn");
    let full = timed(pack(&src, &out, &pass, false));
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut killed = 0;
    for (i, delay) in delays(&mut rng, full).into_iter().enumerate() {
        let done = kill_after(pack(&src, &out, &pass, true), delay);
        killed += usize::from(!done);
        // The old archive, or a complete new one: a kill can land after
        // the rename (while the command syncs the folder or prints).
        assert!(verify_ok(&out, &pass), "trial {i}: {delay:?}");
    }
    eprintln!("pack --force: {killed} killed, 0 incomplete");
    assert!(killed > 0, "no trial was killed");
}

#[test]
fn extract_killed_at_any_moment_leaves_only_complete_files() {
    let t = Tmp::new("extract");
    let src = t.0.join("src");
    records(&src);
    let pass = t.0.join("pass");
    fs::write(&pass, PASS).unwrap();
    let archive = t.0.join("a.lgn");
    timed(pack(&src, &archive, &pass, false));
    let extract = |out: &Path| {
        let mut c = bin();
        c.arg("extract")
            .arg(&archive)
            .arg("-o")
            .arg(out)
            .arg("--passphrase-file")
            .arg(&pass);
        c
    };
    let full = timed(extract(&t.0.join("first")));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (mut seen, mut killed) = (0, 0);
    for (i, delay) in delays(&mut rng, full).into_iter().enumerate() {
        let out = t.0.join(format!("trial-{i}"));
        killed += usize::from(!kill_after(extract(&out), delay));
        if !out.exists() {
            continue;
        }
        for file in finished_files(&out) {
            let rel = file.strip_prefix(&out).unwrap();
            let original = fs::read(src.join(rel))
                .unwrap_or_else(|e| panic!("trial {i}: {} is not a record: {e}", rel.display()));
            assert!(
                fs::read(&file).unwrap() == original,
                "trial {i}: {delay:?}: {} is incomplete",
                rel.display()
            );
            seen += 1;
        }
    }
    eprintln!("extract: {killed} killed, {seen} finished files checked, 0 incomplete");
    assert!(seen > 0, "no trial got as far as a finished file");
}

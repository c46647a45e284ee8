//! Embassies on a real object store: a three-node Garage cluster on
//! 127.0.0.1 (scripts/embassies.sh; one node a country, every object in
//! all three). The demo archive is pushed, listed, viewed and audited
//! through each node; one node is stopped (a country lost) and reading,
//! auditing and pulling go on; it comes back and gets its copy again; the
//! object is damaged and deleted behind the audit's back and the audit
//! names it; a push is killed and resumed; a damaged local copy is
//! repaired from the remote one. Listing and viewing one record fetch a
//! small fraction of the archive.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use legation_reader::source::MemSource;
use legation_reader::Archive;
use legation_remote::Url;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common;
use common::*;

const PASSPHRASE: &str = "correct-horse-battery-staple-embassy-2026";
const RECORD: &str = "national/population/register-ost.csv";

/// The three-node cluster, stopped when dropped.
pub(crate) struct Cluster {
    dir: PathBuf,
    port: &'static str,
    env: Vec<(String, String)>,
    endpoints: Vec<String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/embassies.sh")
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        Self::start_at(dir, "29300")
    }

    /// A cluster on ports from `port` (tests run at once use different
    /// ones).
    pub(crate) fn start_at(dir: &Path, port: &'static str) -> Cluster {
        let o = Command::new("bash")
            .arg(script())
            .args(["start", dir.to_str().unwrap()])
            .env("LEGATION_GARAGE_PORT", port)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "the Garage cluster did not start (scripts/test.sh installs Garage): {}{}",
            stdout(&o),
            stderr(&o)
        );
        let mut env = Vec::new();
        for line in fs::read_to_string(dir.join("env")).unwrap().lines() {
            let (k, v) = line.trim_start_matches("export ").split_once('=').unwrap();
            env.push((k.to_owned(), v.to_owned()));
        }
        let endpoints = (1..=3)
            .map(|i| {
                env.iter()
                    .find(|(k, _)| *k == format!("ENDPOINT_{i}"))
                    .unwrap()
                    .1
                    .clone()
            })
            .collect();
        Cluster {
            dir: dir.to_owned(),
            port,
            env,
            endpoints,
        }
    }

    fn node(&self, what: &str, n: usize) {
        let o = Command::new("bash")
            .arg(script())
            .args([what, self.dir.to_str().unwrap(), &n.to_string()])
            .env("LEGATION_GARAGE_PORT", self.port)
            .output()
            .unwrap();
        assert!(o.status.success(), "{what} {n}: {}", stderr(&o));
    }

    /// `legation ARGS` talking to node `n` (1..3).
    fn cmd(&self, n: usize, args: &[&str], dir: &Path) -> Command {
        let mut c = bin();
        c.args(args).current_dir(dir);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.env("AWS_ENDPOINT_URL", &self.endpoints[n - 1]);
        c
    }

    /// A bucket of its own for an embassy, owned by the cluster's key.
    pub(crate) fn bucket(&self, name: &str) {
        let garage = std::env::var("GARAGE").unwrap_or_else(|_| "garage".into());
        for args in [
            vec!["bucket", "create", name],
            vec![
                "bucket", "allow", "--read", "--write", "--owner", name, "--key", "legation",
            ],
        ] {
            let o = Command::new(&garage)
                .arg("-c")
                .arg(self.dir.join("node1/garage.toml"))
                .args(&args)
                .output()
                .unwrap();
            assert!(o.status.success(), "garage {args:?}: {}", stderr(&o));
        }
    }

    pub(crate) fn run(&self, n: usize, args: &[&str], dir: &Path) -> Output {
        self.cmd(n, args, dir).output().unwrap()
    }

    /// The object store as the test's own client (the host's hands).
    pub(crate) fn store(&self, url: &Url) -> legation_remote::Store {
        for (k, v) in &self.env {
            std::env::set_var(k, v);
        }
        legation_remote::connect(url).unwrap()
    }

    /// Bytes in node `n`'s data folder.
    fn data_bytes(&self, n: usize) -> u64 {
        fn walk(p: &Path) -> u64 {
            fs::read_dir(p).map_or(0, |rd| {
                rd.flatten()
                    .map(|e| match e.file_type() {
                        Ok(t) if t.is_dir() => walk(&e.path()),
                        _ => e.metadata().map_or(0, |m| m.len()),
                    })
                    .sum()
            })
        }
        walk(&self.dir.join(format!("node{n}/data")))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

/// The demo records (samples/national and samples/records, with the EBCDIC
/// decoder) and three 8 MiB scans, packed for a passphrase and signed.
fn demo_archive(d: &Path) -> PathBuf {
    let src = d.join("records");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for s in ["national", "records"] {
        copy_tree(&root.join("samples").join(s), &src.join(s));
    }
    fs::create_dir_all(src.join("scans")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    for i in 0..3 {
        let mut scan = vec![0u8; 8 << 20];
        rng.fill_bytes(&mut scan);
        fs::write(src.join(format!("scans/volume-{i}.bin")), scan).unwrap();
    }
    fs::write(d.join("pp"), format!("{PASSPHRASE}\n")).unwrap();
    fs::write(d.join("ebcdic.wasm"), legation_builtin_decoders::EBCDIC).unwrap();
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    let o = run(
        &[
            "pack",
            "records",
            "-o",
            "demo.lgn",
            "--passphrase-file",
            "pp",
            "--sign",
            "gov.key",
            "--decoder",
            ".ebc=ebcdic.wasm",
            // 1.x: a copy damaged in one record entry (`r/…`) is repaired
            // from another embassy's.
            "--format",
            "1.3",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    d.join("demo.lgn")
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The `--stats` line: (bytes fetched, object size, requests).
fn fetched(o: &Output) -> (u64, u64, u64) {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("stats: "))
        .unwrap_or_else(|| panic!("no stats line in {err}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1], n[2])
}

/// The name and data range of the first record entry.
fn a_record_entry(bytes: &[u8]) -> (String, usize) {
    let a = Archive::open(MemSource::new(bytes.to_vec(), "demo")).unwrap();
    let e = a
        .entries()
        .iter()
        .filter(|e| e.name.starts_with("r/"))
        .max_by_key(|e| e.size)
        .unwrap();
    (e.name.clone(), (e.data_offset() + e.size / 2) as usize)
}

#[test]
fn embassies_on_a_three_node_garage_cluster() {
    let t = Tmp::new("embassies");
    let d = &t.0;
    let cluster = Cluster::start(&d.join("cluster"));
    let archive = demo_archive(d);
    let original = fs::read(&archive).unwrap();
    let url = "s3://embassy/2026/demo.lgn";

    // Push, with the audit of the remote copy, pinned to the issuer.
    let o = cluster.run(1, &["push", "demo.lgn", url, "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("audit:    OK"), "{}", stdout(&o));
    assert!(stdout(&o).contains("(pinned)"), "{}", stdout(&o));
    assert!(
        !d.join("demo.lgn.push.json").exists(),
        "the push state is removed when done"
    );
    // A second push does not replace it silently.
    let o = cluster.run(1, &["push", "demo.lgn", url], d);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("exists (use --replace"),
        "{}",
        stderr(&o)
    );

    // List, view a record and audit through every country's node; listing
    // and viewing fetch a small part of the archive.
    for n in 1..=3 {
        let o = cluster.run(n, &["--stats", "ls", url, "--passphrase-file", "pp"], d);
        assert_eq!(code(&o), 0, "node {n}: {}", stderr(&o));
        assert!(stdout(&o).contains(RECORD), "node {n}: {}", stdout(&o));
        let (bytes, size, requests) = fetched(&o);
        assert_eq!(size, original.len() as u64);
        assert!(bytes * 50 < size, "listing fetched {bytes} of {size} bytes");
        eprintln!("node {n}: listing fetched {bytes} of {size} bytes in {requests} requests");

        let o = cluster.run(
            n,
            &["--stats", "view", url, RECORD, "--passphrase-file", "pp"],
            d,
        );
        assert_eq!(code(&o), 0, "node {n}: {}", stderr(&o));
        assert!(stdout(&o).contains("Ost"), "node {n}: {}", stdout(&o));
        let (bytes, size, requests) = fetched(&o);
        assert!(bytes * 20 < size, "viewing fetched {bytes} of {size} bytes");
        eprintln!(
            "node {n}: viewing {RECORD} fetched {bytes} of {size} bytes in {requests} requests"
        );

        let o = cluster.run(n, &["verify", url, "--issuer", "gov.pub"], d);
        assert_eq!(code(&o), 0, "node {n}: {}", stdout(&o));
        assert!(
            stdout(&o).contains("fixity:   OK"),
            "node {n}: {}",
            stdout(&o)
        );
    }

    // The other reading commands: public facts, a record's bytes, an
    // extract.
    let o = cluster.run(1, &["info", url], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("archive:        {url}")),
        "{}",
        stdout(&o)
    );
    let record = fs::read(d.join("records").join(RECORD)).unwrap();
    let o = cluster.run(2, &["cat", url, RECORD, "--passphrase-file", "pp"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout == record, "cat of a remote record gives its bytes");
    let o = cluster.run(
        3,
        &[
            "extract",
            url,
            "-o",
            "out",
            RECORD,
            "--passphrase-file",
            "pp",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read(d.join("out").join(RECORD)).unwrap() == record);

    // One country lost: Iceland's node stops. The others still read,
    // audit, pull, and take a new copy.
    let iceland_before = cluster.data_bytes(3);
    cluster.node("stop-node", 3);
    let o = cluster.run(1, &["ls", url, "--passphrase-file", "pp"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = cluster.run(2, &["verify", url, "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = cluster.run(
        1,
        &["pull", url, "-o", "pulled.lgn", "--issuer", "gov.pub"],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        fs::read(d.join("pulled.lgn")).unwrap() == original,
        "the pulled copy is the original"
    );
    // A new archive (packed again: other keys, other bytes) goes up
    // while Iceland is away.
    let o = run(
        &[
            "pack",
            "records",
            "-o",
            "second.lgn",
            "--passphrase-file",
            "pp",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let second_len = fs::metadata(d.join("second.lgn")).unwrap().len();
    let second = "s3://embassy/2026/second.lgn";
    let o = cluster.run(2, &["push", "second.lgn", second], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // The lost node's own endpoint fails with an error naming the archive.
    let o = cluster.run(3, &["ls", url], d);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(url), "{}", stderr(&o));

    // Iceland comes back and gets the copy it missed (start-node asks
    // Garage for the sync it would otherwise run within 10 minutes).
    cluster.node("start-node", 3);
    let until = Instant::now() + Duration::from_secs(180);
    while cluster.data_bytes(3) < iceland_before + second_len {
        assert!(
            Instant::now() < until,
            "node 3 did not get the blocks it missed: {} bytes, was {iceland_before}",
            cluster.data_bytes(3)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let o = cluster.run(3, &["verify", second, "--issuer", "gov.pub"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    // A damaged local copy is repaired from an embassy's copy.
    let (entry, at) = a_record_entry(&original);
    let mut damaged = original.clone();
    damaged[at] ^= 0x20;
    fs::write(d.join("damaged.lgn"), &damaged).unwrap();
    let o = cluster.run(
        3,
        &["repair", "damaged.lgn", "--from", url, "-o", "repaired.lgn"],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(fs::read(d.join("repaired.lgn")).unwrap() == original);

    // Behind the audit's back: the host damages one object and loses
    // another. One run audits them all, with a report line each.
    let store = cluster.store(&url.parse().unwrap());
    store.put(&url.parse().unwrap(), damaged.clone()).unwrap();
    store.delete(&second.parse().unwrap()).unwrap();
    let o = cluster.run(1, &["verify", "--json", url, second, "demo.lgn"], d);
    assert_eq!(code(&o), 1, "damage is the worst found: {}", stdout(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(lines[0]["archive"], url);
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(
        lines[0]["problems"][0]["subject"],
        entry.as_str(),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["archive"], second);
    assert_eq!(lines[1]["ok"], false);
    assert!(
        lines[1]["error"].as_str().unwrap().contains(second),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["ok"], true);
    // A sample of every entry finds the damage; a sample of none cannot,
    // and says so by its odds.
    let o = cluster.run(1, &["verify", url, "--sample", "100000"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains(&entry), "{}", stdout(&o));
    let o = cluster.run(1, &["verify", url, "--sample", "0", "--seed", "7"], d);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("chance of 0.0 %"), "{}", stdout(&o));
    // A damaged copy is not pulled under a good name.
    let o = cluster.run(1, &["pull", url, "-o", "bad.lgn"], d);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(!d.join("bad.lgn").exists());
    assert!(stdout(&o).contains(&entry), "{}", stdout(&o));

    // A push killed part way leaves no object, and the next run sends
    // only the parts that are missing.
    let resumed = "s3://embassy/2026/resumed.lgn";
    let state = d.join("demo.lgn.push.json");
    let mut child = cluster
        .cmd(
            1,
            &[
                "push",
                "demo.lgn",
                resumed,
                "--part-size",
                "5",
                "--parallel",
                "1",
                "--max-rate",
                "10",
            ],
            d,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let parts = fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map_or(0, |v| v["done"].as_object().map_or(0, |o| o.len()));
        if parts >= 2 {
            break;
        }
        assert!(Instant::now() < until, "the push sent no parts");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the push ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let store = cluster.store(&resumed.parse().unwrap());
    assert_eq!(
        store.size(&resumed.parse().unwrap()).unwrap(),
        None,
        "no object before the push ends"
    );
    let o = cluster.run(2, &["push", "demo.lgn", resumed, "--part-size", "5"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    // "…in 6 part(s), 2 of them sent by an earlier, interrupted push"
    let earlier: u64 = out
        .lines()
        .find(|l| l.contains("sent by an earlier, interrupted push"))
        .and_then(|l| l.split(", ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("the push did not resume: {out}"));
    assert!(earlier >= 2, "{out}");
    assert!(out.contains("audit:    OK"), "{out}");
    assert!(!state.exists());
    let o = cluster.run(3, &["pull", resumed, "-o", "resumed.lgn"], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        fs::read(d.join("resumed.lgn")).unwrap() == original,
        "the resumed push gives the original"
    );
}

/// The `--stats` line in full: bytes fetched, object size, requests,
/// bytes fetched twice, requests that fetched something twice.
fn traffic(o: &Output) -> [u64; 5] {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("stats: "))
        .unwrap_or_else(|| panic!("no stats line in {err}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    n.try_into()
        .unwrap_or_else(|n| panic!("not five numbers: {n:?} in {line}"))
}

/// A 2.0 archive of 20,000 records (five catalog pages, the shape of a
/// national one) on the cluster, read through `--stats`: opening and
/// showing one record takes at most six range requests and well under
/// 1 MiB, with no byte fetched twice; the public facts three requests;
/// a whole listing reads its pages ahead, again nothing twice.
#[test]
fn one_record_of_a_twenty_thousand_record_archive_in_six_requests() {
    let t = Tmp::new("embassies-2.0");
    let d = &t.0;
    let cluster = Cluster::start_at(&d.join("cluster"), "29400");
    let src = d.join("records");
    for i in 0..20_000 {
        let dir = src.join(format!("r{:02}", i / 1000));
        if i % 1000 == 0 {
            fs::create_dir_all(&dir).unwrap();
        }
        let text = format!("record {i}\n").repeat(1 + i % 37);
        fs::write(dir.join(format!("p{i:06}.txt")), text).unwrap();
    }
    fs::write(d.join("pp"), format!("{PASSPHRASE}\n")).unwrap();
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    let o = run(
        &[
            "pack",
            "records",
            "-o",
            "big.lgn",
            "--format",
            "2.0",
            "--passphrase-file",
            "pp",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let url = "s3://embassy/2026/big.lgn";
    let o = cluster.run(1, &["push", "big.lgn", url], d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let size = fs::metadata(d.join("big.lgn")).unwrap().len();

    let record = "r12/p012345.txt";
    let o = cluster.run(
        2,
        &["--stats", "cat", url, record, "--passphrase-file", "pp"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        o.stdout,
        "record 12345\n".repeat(1 + 12_345 % 37).as_bytes()
    );
    let [bytes, of, requests, twice, requests_twice] = traffic(&o);
    eprintln!("cat: {bytes} bytes of {of} in {requests} requests");
    assert_eq!(of, size);
    assert!(requests <= 6, "{}", stderr(&o));
    assert!(bytes < 1 << 20, "{}", stderr(&o));
    assert_eq!((twice, requests_twice), (0, 0), "{}", stderr(&o));

    let o = cluster.run(3, &["--stats", "info", url], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let [bytes, _, requests, twice, _] = traffic(&o);
    eprintln!("info: {bytes} bytes in {requests} requests");
    assert!(requests <= 3, "{}", stderr(&o));
    assert_eq!(twice, 0, "{}", stderr(&o));

    let o = cluster.run(1, &["--stats", "ls", url, "--passphrase-file", "pp"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.contains(".txt")).count(),
        20_000
    );
    let [bytes, _, requests, twice, _] = traffic(&o);
    eprintln!("ls: {bytes} bytes in {requests} requests");
    assert!(
        requests <= 8,
        "five pages and what opening reads: {}",
        stderr(&o)
    );
    assert_eq!(twice, 0, "{}", stderr(&o));
}

//! Witnesses, cosignatures, heartbeats and freshness (SPEC §34): three
//! embassies as three folders, each with its copy of a series and its
//! host's witness key. A copy older than the generation the witnesses
//! cosigned is named stale (exit 4); a host whose own witness cosigned a
//! newer generation than it serves is caught (exit 1); a forged
//! cosignature and a fork are refused (exit 1); `--max-age` needs a
//! recent cosignature or the issuer's heartbeat.

use std::fs;
use std::path::Path;

use legation_format::keys::{self, IssuerKey};
use legation_reader::Archive;

use crate::common::*;

/// 2027-01-15T08:00:00Z: generation 1 is written then, generation `s`
/// `s - 1` days later.
const DAY0: i64 = 1_800_000_000;

fn at(t: i64) -> String {
    legation_format::time::format_rfc3339(t)
}

fn gov() -> IssuerKey {
    IssuerKey::from_bytes([0x42; 32])
}

/// Writes `gov.key`, `gov.pub`, and the witness keys of the three hosts
/// (through `keygen witness`) into `d`.
fn keys(d: &Path) {
    let k = gov();
    let text = keys::format_key_file(keys::ISSUER_SECRET, k.secret(), "gov");
    fs::write(d.join("gov.key"), text.as_bytes()).unwrap();
    let text = keys::format_key_file(keys::ISSUER_PUBLIC, &k.public(), "gov");
    fs::write(d.join("gov.pub"), text.as_bytes()).unwrap();
    for host in ["luxembourg", "estonia", "iceland"] {
        let o = run(
            &[
                "keygen",
                "witness",
                "-o",
                host,
                "--comment",
                &format!("witness of the {host} embassy"),
            ],
            d,
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stdout(&o).starts_with("legation-witness-ed25519-public "));
    }
}

/// A series: generation 1 (self-contained, sequence 1, after a generation
/// 0 that is not kept) and generation 2, written with the library as a
/// self-contained generation each. Returns the files' bytes.
fn series(variant: u8) -> Vec<Vec<u8>> {
    library_series(
        [0x5a; 16],
        [gov(), gov()],
        |s| s * 10 + u64::from(variant),
        &format!(" variant {variant}"),
    )
}

/// Three embassies (`luxembourg/`, `estonia/`, `iceland/`), each holding
/// `register.lgn`: generation 2 in the first two, 1 in Iceland.
fn embassies(d: &Path) -> Vec<Vec<u8>> {
    keys(d);
    let g = series(0);
    for (host, s) in [("luxembourg", 2), ("estonia", 2), ("iceland", 1)] {
        fs::create_dir_all(d.join(host)).unwrap();
        fs::write(d.join(host).join("register.lgn"), &g[s - 1]).unwrap();
    }
    g
}

/// `legation witness COPY --key KEY --issuer ISSUER --state STATE EXTRA...`.
fn witness_as(
    d: &Path,
    copy: &str,
    key: &str,
    issuer: &str,
    state: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "witness", copy, "--key", key, "--issuer", issuer, "--state", state,
    ];
    args.extend_from_slice(extra);
    run(&args, d)
}

/// `legation witness` of a host's copy at `time`, with its own state.
fn witness(d: &Path, host: &str, time: i64) -> std::process::Output {
    witness_as(
        d,
        &format!("{host}/register.lgn"),
        &format!("{host}.key"),
        "gov.pub",
        &format!("{host}.state"),
        &["--now", &at(time)],
    )
}

/// `legation verify` of the three copies with the three witness keys and
/// the extra arguments.
fn verify(d: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "verify",
        "luxembourg/register.lgn",
        "estonia/register.lgn",
        "iceland/register.lgn",
        "--issuer",
        "gov.pub",
        "--witness",
        "luxembourg.pub",
        "--witness",
        "estonia.pub",
    ];
    args.extend_from_slice(extra);
    run(&args, d)
}

#[test]
fn a_copy_older_than_the_cosigned_generation_is_stale() {
    let t = Tmp::new("witness-stale");
    let d = &t.0;
    embassies(d);
    let noon = DAY0 + 86_400 + 4 * 3600;
    for host in ["luxembourg", "estonia", "iceland"] {
        let o = witness(d, host, noon);
        assert_eq!(code(&o), 0, "{host}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("cosigned generation"), "{}", stdout(&o));
    }
    // The cosignatures sit beside each copy, one name a generation and a
    // `latest-` name a witness.
    let names: Vec<String> = fs::read_dir(d.join("luxembourg/witness"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("0000000000000002-")));
    assert!(names.iter().any(|n| n.starts_with("latest-")));
    let o = verify(d, &["--min-witnesses", "2", "--now", &at(noon + 60)]);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(
        out.contains(
            "STALE: iceland/register.lgn holds generation 1 (2027-01-15T08:00:00Z); generation 2 \
             (2027-01-16T08:00:00Z) is published: cosigned by estonia (2027-01-16T12:00:00Z), \
             luxembourg (2027-01-16T12:00:00Z)"
        ),
        "{out}"
    );
    assert!(
        out.contains("current: luxembourg/register.lgn holds generation 2"),
        "{out}"
    );
    assert!(!out.contains("STALE: luxembourg"), "{out}");
    // The copies given as folders: each stands for its newest file.
    let mut by_folder = vec!["verify", "luxembourg", "estonia", "iceland"];
    by_folder.extend_from_slice(&[
        "--issuer",
        "gov.pub",
        "--witness",
        "luxembourg.pub",
        "--witness",
        "estonia.pub",
        "--min-witnesses",
        "2",
    ]);
    let later = at(noon + 60);
    by_folder.extend_from_slice(&["--now", &later]);
    let o = run(&by_folder, d);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(out.contains("STALE: iceland holds generation 1"), "{out}");
    assert!(
        out.contains("current: luxembourg holds generation 2"),
        "{out}"
    );
    // One witness's cosignature is not enough when two are asked for:
    // nothing is published, so nothing is stale.
    let o = run(
        &[
            "verify",
            "luxembourg/register.lgn",
            "iceland/register.lgn",
            "--issuer",
            "gov.pub",
            "--witness",
            "luxembourg.pub",
            "--witness",
            "iceland.pub",
            "--min-witnesses",
            "2",
            "--now",
            &at(noon + 60),
        ],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("no generation is published (cosigned by 2 of the witnesses given"),
        "{out}"
    );
    // Iceland receives generation 2, its witness cosigns it: all current.
    fs::copy(
        d.join("estonia/register.lgn"),
        d.join("iceland/register.lgn"),
    )
    .unwrap();
    let o = witness(d, "iceland", noon + 3600);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let o = verify(
        d,
        &[
            "--witness",
            "iceland.pub=iceland/register.lgn",
            "--min-witnesses",
            "3",
            "--now",
            &at(noon + 3700),
        ],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).matches("current: ").count(), 3, "{}", stdout(&o));
}

#[test]
fn a_host_serving_an_older_generation_than_it_cosigned_is_caught() {
    let t = Tmp::new("witness-rollback");
    let d = &t.0;
    let g = embassies(d);
    let noon = DAY0 + 86_400 + 4 * 3600;
    fs::write(d.join("iceland/register.lgn"), &g[1]).unwrap();
    for host in ["luxembourg", "iceland"] {
        assert_eq!(code(&witness(d, host, noon)), 0);
    }
    // Iceland's copy is rolled back to generation 1 behind its witness.
    fs::write(d.join("iceland/register.lgn"), &g[0]).unwrap();
    let o = witness(d, "iceland", noon + 86_400);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("this copy holds generation 1 of series 5a5a"),
        "{out}"
    );
    assert!(
        out.contains("cosigned generation 2 at 2027-01-16T12:00:00Z"),
        "{out}"
    );
    // Its own cosignature of generation 2 is still beside the copy: a
    // verifier that ties the witness to the copy names the equivocation.
    let o = run(
        &[
            "verify",
            "luxembourg/register.lgn",
            "iceland/register.lgn",
            "--issuer",
            "gov.pub",
            "--witness",
            "iceland.pub=iceland/register.lgn",
            "--now",
            &at(noon + 86_400),
        ],
        d,
    );
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}{}", stderr(&o));
    assert!(
        out.contains(
            "EQUIVOCATION: iceland/register.lgn holds generation 1 (2027-01-15T08:00:00Z), but its \
             own witness iceland cosigned generation 2 at 2027-01-16T12:00:00Z"
        ),
        "{out}"
    );
    // Untied, the same copy is merely stale (exit 4): the cosignature of
    // another host's witness suffices to name it.
    let o = verify(d, &["--now", &at(noon + 86_400)]);
    assert_eq!(code(&o), 4, "{}", stdout(&o));
    assert!(stdout(&o).contains("STALE: iceland/register.lgn"));
    // `--reset` makes the witness trust what it holds as a first sight.
    let o = witness_as(
        d,
        "iceland/register.lgn",
        "iceland.key",
        "gov.pub",
        "iceland.state",
        &["--reset", "--now", &at(noon + 86_400)],
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn forged_cosignatures_and_forks_are_refused() {
    let t = Tmp::new("witness-forged");
    let d = &t.0;
    embassies(d);
    let noon = DAY0 + 86_400 + 4 * 3600;
    assert_eq!(code(&witness(d, "luxembourg", noon)), 0);
    // Iceland's host writes a cosignature in Luxembourg's name for its own
    // generation 1: the signature does not verify.
    let lux: Vec<_> = fs::read_dir(d.join("luxembourg/witness"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let text = fs::read_to_string(&lux[0]).unwrap();
    let line = text.lines().last().unwrap().to_owned();
    let g1 = Archive::open(std::sync::Arc::new(
        legation_reader::source::FileSource::open(&d.join("iceland/register.lgn")).unwrap(),
    ))
    .unwrap();
    let (h, s) = g1.head_and_signatures().unwrap();
    let mut forged = h.to_vec();
    forged.push(b'\n');
    forged.extend_from_slice(s);
    forged.push(b'\n');
    forged.extend_from_slice(line.as_bytes());
    forged.push(b'\n');
    fs::create_dir_all(d.join("iceland/witness")).unwrap();
    fs::write(d.join("iceland/witness/forged.cosig"), &forged).unwrap();
    let o = verify(d, &["--now", &at(noon + 60)]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("REFUSED cosignature iceland/witness/forged.cosig: the signature of"),
        "{out}"
    );
    assert!(
        out.contains("does not verify (tampered with or forged)"),
        "{out}"
    );
    fs::remove_file(d.join("iceland/witness/forged.cosig")).unwrap();
    // A cosignature file cut short does not parse: refused too.
    fs::write(d.join("iceland/witness/cut.cosig"), &text.as_bytes()[..200]).unwrap();
    let o = verify(d, &["--now", &at(noon + 60)]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("REFUSED cosignature iceland/witness/cut.cosig"));
    fs::remove_file(d.join("iceland/witness/cut.cosig")).unwrap();
    // A second generation 2 signed by the same issuer: a fork.
    let other = series(1);
    fs::write(d.join("estonia/register.lgn"), &other[1]).unwrap();
    let o = verify(d, &["--now", &at(noon + 60)]);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("FORK: series 5a5a"), "{out}");
    assert!(
        out.contains("2 different generations 2 signed by its issuer"),
        "{out}"
    );
    // A witness shown the other generation 2 refuses, and keeps evidence.
    fs::write(d.join("luxembourg/register.lgn"), &other[1]).unwrap();
    let o = witness(d, "luxembourg", noon + 600);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("a fork"), "{}", stdout(&o));
    assert!(d
        .join("fork-5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a-2.evidence")
        .exists());
}

#[test]
fn freshness_needs_a_recent_statement() {
    let t = Tmp::new("witness-max-age");
    let d = &t.0;
    embassies(d);
    fs::copy(
        d.join("estonia/register.lgn"),
        d.join("iceland/register.lgn"),
    )
    .unwrap();
    let noon = DAY0 + 86_400 + 4 * 3600;
    for host in ["luxembourg", "estonia"] {
        assert_eq!(code(&witness(d, host, noon)), 0);
    }
    let week = 7 * 86_400;
    let o = verify(d, &["--max-age", "7d", "--now", &at(noon + 86_400)]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o)
        .contains("fresh: the newest statement that generation 2 is current is 1d 0h old"));
    // Eight days on with no new cosignature: not fresh.
    let o = verify(d, &["--max-age", "7d", "--now", &at(noon + week + 86_400)]);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}");
    assert!(
        out.contains("NOT FRESH: the newest statement that generation 2 is current is 8d 0h old (--max-age 7d 0h)"),
        "{out}"
    );
    // The issuer's heartbeat, made on day 7 and valid for a week, vouches.
    let o = run(
        &[
            "heartbeat",
            "luxembourg/register.lgn",
            "--sign",
            "gov.key",
            "--valid",
            "7d",
            "--now",
            &at(noon + week),
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(d.join("luxembourg/heartbeat").exists());
    let hb = fs::read_to_string(d.join("luxembourg/heartbeat")).unwrap();
    assert!(
        hb.starts_with(
            "legation-heartbeat 2.0\narchive 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\nsequence 2\n"
        ),
        "{hb}"
    );
    let o = verify(d, &["--max-age", "7d", "--now", &at(noon + week + 86_400)]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o)
        .contains("fresh: the newest statement that generation 2 is current is 1d 0h old"));
    // Past its expiry: not fresh, whatever the cosignatures say.
    let o = verify(d, &["--max-age", "30d", "--now", &at(noon + 3 * week)]);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}");
    assert!(out.contains("NOT FRESH"), "{out}");
    // A heartbeat signed by another key does not count, and is refused.
    let o = run(&["keygen", "issuer", "-o", "thief"], d);
    assert_eq!(code(&o), 0);
    let o = run(
        &[
            "heartbeat",
            "luxembourg/register.lgn",
            "--sign",
            "thief.key",
            "-o",
            "thief.heartbeat",
        ],
        d,
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not signed by thief.key"),
        "{}",
        stderr(&o)
    );
    // A heartbeat naming generation 3 (held nowhere yet) makes every copy
    // stale, even with no witness; unsigned, it is refused.
    let mut beat = legation_format::v2::witness::Heartbeat::parse(hb.as_bytes()).unwrap();
    beat.sequence = 3;
    beat.chain = [0x33; 32];
    beat.signatures.clear();
    fs::write(d.join("unsigned3"), beat.to_bytes()).unwrap();
    beat.sign(&gov()).unwrap();
    fs::write(d.join("beat3"), beat.to_bytes()).unwrap();
    let three = |file: &str| {
        run(
            &[
                "verify",
                "luxembourg/register.lgn",
                "--issuer",
                "gov.pub",
                "--heartbeat",
                file,
                "--now",
                &at(noon + week + 60),
            ],
            d,
        )
    };
    let o = three("beat3");
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}");
    assert!(
        out.contains(
            "STALE: luxembourg/register.lgn holds generation 2 (2027-01-16T08:00:00Z); \
             generation 3 is published: named by the issuer's heartbeat (2027-01-23T12:00:00Z)"
        ),
        "{out}"
    );
    let o = three("unsigned3");
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("REFUSED unsigned3: heartbeat: not signed by a trusted issuer"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn witness_keys_are_not_issuer_keys_and_a_damaged_copy_is_not_cosigned() {
    let t = Tmp::new("witness-keys");
    let d = &t.0;
    embassies(d);
    let pubkey = fs::read_to_string(d.join("iceland.pub")).unwrap();
    assert!(
        pubkey.starts_with("# Legation witness (Ed25519) public key "),
        "{pubkey}"
    );
    assert!(pubkey.contains(": witness of the iceland embassy\nlegation-witness-ed25519-public "));
    // An issuer key given as a witness key is refused by its tag.
    let o = witness_as(d, "iceland/register.lgn", "gov.key", "gov.pub", "s", &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("legation-ed25519-secret"),
        "{}",
        stderr(&o)
    );
    // A damaged copy: the audit fails and nothing is written.
    let mut bytes = fs::read(d.join("iceland/register.lgn")).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 1;
    fs::write(d.join("iceland/register.lgn"), &bytes).unwrap();
    let o = witness(d, "iceland", DAY0 + 3600);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("NOT COSIGNED: the keyless audit of iceland/register.lgn failed"));
    assert!(!d.join("iceland/witness").exists());
    assert!(!d.join("iceland.state").exists());
    // A witness that pins another issuer refuses the series.
    let o = run(&["keygen", "issuer", "-o", "other"], d);
    assert_eq!(code(&o), 0);
    let o = witness_as(
        d,
        "luxembourg/register.lgn",
        "luxembourg.key",
        "other.pub",
        "s",
        &[],
    );
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(!d.join("luxembourg/witness").exists());
}

/// Format 2.3 (SPEC §34.1, §34.2, §34.4): a hybrid issuer's heartbeat
/// and a hybrid witness's cosignature carry an Ed25519 and an ML-DSA-65
/// line each; a reader given the hybrid keys counts them only with both,
/// and refuses one stripped of its ML-DSA-65 line (exit 1).
#[test]
fn hybrid_witnesses_and_a_hybrid_issuers_heartbeat_need_both_halves() {
    let t = Tmp::new("witness-hybrid");
    let d = &t.0;
    let hk = || IssuerKey::from_seeds([0x43; 32], Some([0x44; 32]));
    let hybrid = hk();
    fs::write(d.join("hgov.key"), hybrid.to_key_file("hgov").as_bytes()).unwrap();
    fs::write(
        d.join("hgov.pub"),
        hybrid.public_key().to_key_file("hgov").as_bytes(),
    )
    .unwrap();
    let o = run(&["keygen", "witness", "--pq", "-o", "host"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("legation-witness-ed25519-mldsa65-public (Ed25519 half "),
        "{}",
        stdout(&o)
    );
    let public = fs::read_to_string(d.join("host.pub")).unwrap();
    assert!(
        public.contains("(Ed25519 + ML-DSA-65) public key"),
        "{public}"
    );
    let g = library_series([0x5b; 16], [hk(), hk()], |s| s, " hybrid");
    fs::create_dir_all(d.join("emb")).unwrap();
    fs::write(d.join("emb/register.lgn"), &g[1]).unwrap();
    let now = DAY0 + 86_400 + 3600;
    let o = witness_as(
        d,
        "emb/register.lgn",
        "host.key",
        "hgov.pub",
        "host.state",
        &["--now", &at(now)],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let cosigs: Vec<_> = fs::read_dir(d.join("emb/witness"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cosigs.len(), 2, "{cosigs:?}");
    let latest = cosigs
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("latest-")
        })
        .unwrap()
        .clone();
    let text = fs::read_to_string(&latest).unwrap();
    assert!(text.contains("\ncosignature-ed25519 ") && text.contains("\ncosignature-ml-dsa-65 "));
    let o = run(
        &[
            "heartbeat",
            "emb/register.lgn",
            "--sign",
            "hgov.key",
            "--valid",
            "7d",
            "--now",
            &at(now),
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let hb = fs::read_to_string(d.join("emb/heartbeat")).unwrap();
    assert!(
        hb.contains("\ned25519 ") && hb.contains("\nml-dsa-65 "),
        "{hb}"
    );
    let later = at(now + 60);
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "emb/register.lgn",
            "--issuer",
            "hgov.pub",
            "--witness",
            "host.pub",
            "--max-age",
            "2d",
            "--now",
            &later,
        ];
        args.extend_from_slice(extra);
        run(&args, d)
    };
    let o = verify(&[]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("fresh"), "{}", stdout(&o));
    // The heartbeat stripped of its ML-DSA-65 line: refused.
    let strip = |text: &str, prefix: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with(prefix))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    fs::write(d.join("emb/heartbeat"), strip(&hb, "ml-dsa-65 ")).unwrap();
    let o = verify(&[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("REFUSED emb/heartbeat: heartbeat: not signed by a trusted issuer"),
        "{}",
        stdout(&o)
    );
    fs::write(d.join("emb/heartbeat"), &hb).unwrap();
    // The cosignature stripped of its ML-DSA-65 line: refused by name.
    fs::write(&latest, strip(&text, "cosignature-ml-dsa-65 ")).unwrap();
    let o = verify(&[]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("lacks its ML-DSA-65 line (stripped or forged)"),
        "{}",
        stdout(&o)
    );
}

/// Design §11.2 with self-contained generations: three embassies as three
/// buckets of the one Garage cluster of `scripts/embassies.sh` (a bucket
/// is what an embassy holds; replication between zones plays no part),
/// each host's witness writing its cosignatures into its own bucket.
#[test]
fn three_embassies_on_garage_name_the_stale_one() {
    let t = Tmp::new("witness-garage");
    let d = &t.0;
    keys(d);
    let g = series(0);
    fs::write(d.join("g1.lgn"), &g[0]).unwrap();
    fs::write(d.join("g2.lgn"), &g[1]).unwrap();
    fs::write(d.join("fork2.lgn"), &series(1)[1]).unwrap();
    let dir = d.join("cluster");
    let cluster = crate::embassies::Cluster::start_at(&dir, "29500");
    let hosts = ["luxembourg", "estonia", "iceland"];
    for b in hosts {
        cluster.bucket(b);
    }
    let url = |b: &str| format!("s3://{b}/register.lgn");
    let push = |file: &str, b: &str| {
        let o = cluster.run(
            1,
            &["push", file, &url(b), "--replace", "--issuer", "gov.pub"],
            d,
        );
        assert_eq!(code(&o), 0, "push {file} {b}: {}{}", stdout(&o), stderr(&o));
    };
    let witness = |b: &str, time: i64| {
        cluster.run(
            1,
            &[
                "witness",
                &url(b),
                "--key",
                &format!("{b}.key"),
                "--issuer",
                "gov.pub",
                "--state",
                &format!("{b}.state"),
                "--now",
                &at(time),
            ],
            d,
        )
    };
    let verify = |time: i64| {
        cluster.run(
            1,
            &[
                "verify",
                &url("luxembourg"),
                &url("estonia"),
                &url("iceland"),
                "--issuer",
                "gov.pub",
                "--witness",
                "luxembourg.pub",
                "--witness",
                "estonia.pub",
                "--witness",
                &format!("iceland.pub={}", url("iceland")),
                "--min-witnesses",
                "2",
                "--now",
                &at(time),
            ],
            d,
        )
    };
    // Generation 1 everywhere, generation 2 to two embassies; every host
    // witnesses what it holds.
    for b in hosts {
        push("g1.lgn", b);
    }
    let noon = DAY0 + 86_400 + 4 * 3600;
    push("g2.lgn", "luxembourg");
    push("g2.lgn", "estonia");
    for b in hosts {
        let o = witness(b, noon);
        assert_eq!(code(&o), 0, "{b}: {}{}", stdout(&o), stderr(&o));
        assert!(
            stdout(&o).contains(&format!("s3://{b}/witness/latest-")),
            "{}",
            stdout(&o)
        );
    }
    let o = verify(noon + 60);
    let out = stdout(&o);
    assert_eq!(code(&o), 4, "{out}{}", stderr(&o));
    assert!(
        out.contains("STALE: s3://iceland/register.lgn holds generation 1 (2027-01-15T08:00:00Z); generation 2"),
        "{out}"
    );
    assert_eq!(out.matches("STALE").count(), 1, "{out}");
    // Iceland receives generation 2 and cosigns it: all three verify.
    push("g2.lgn", "iceland");
    assert_eq!(code(&witness("iceland", noon + 3600)), 0);
    let o = verify(noon + 3660);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).matches("current: ").count(), 3, "{}", stdout(&o));
    // Iceland's object replaced by generation 1 after its witness
    // cosigned generation 2: caught by its own cosignature.
    push("g1.lgn", "iceland");
    let o = verify(noon + 7200);
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("EQUIVOCATION: s3://iceland/register.lgn holds generation 1"),
        "{out}"
    );
    let o = witness("iceland", noon + 7200);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the copy was rolled back"),
        "{}",
        stdout(&o)
    );
    // A forked generation 2 pushed to Estonia is caught.
    push("g2.lgn", "iceland");
    push("fork2.lgn", "estonia");
    let o = verify(noon + 7300);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("FORK: series 5a5a"), "{}", stdout(&o));
    drop(cluster);
}

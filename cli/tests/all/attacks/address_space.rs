//! An address-space limit (`ulimit -v`): a machine that cannot run a decoder reports "not concluded" (exit 2), never damage, and pack refuses to sign.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::common::{code, packed, stderr, stdout, Tmp};

/// The issue's limit: far below the 69 GB the old pool of 16 memory slots
/// reserved, room for a pool sized to what runs at once.
const ROOMY: u64 = 16_000_000;
/// Below two memory slots (4 GiB and a guard each) but above one: the
/// in-process engine's pool of two cannot be reserved, and it allocates on
/// demand instead.
const ONE_SLOT: u64 = 6_000_000;
/// Below one memory slot: no decoder can run at all.
const TIGHT: u64 = 3_000_000;

/// `program ARGS` in `dir` under `ulimit -v KIB`.
fn limited(kib: u64, program: &Path, args: &[&str], dir: &Path) -> Output {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env_remove("LEGATION_PASSPHRASE");
    c.output().unwrap()
}

fn legation(kib: u64, args: &[&str], dir: &Path) -> Output {
    limited(kib, Path::new(env!("CARGO_BIN_EXE_legation")), args, dir)
}

const VERIFY: &[&str] = &["verify", "a.lgn", "--issuer", "gov.pub", "-i", "alice.key"];

#[test]
fn verify_under_an_address_space_limit_is_never_damage() {
    let t = packed("as-verify");
    let d = &t.0;
    // Room for the decoder workers' pool of one slot: the render check
    // concludes as without a limit.
    let o = legation(ROOMY, VERIFY, d);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("render:   OK: 2 views"),
        "{}",
        stdout(&o)
    );
    // No room for any decoder: every record with a view is not concluded,
    // exit 2, and nothing is called damage.
    let o = legation(TIGHT, VERIFY, d);
    let out = stdout(&o);
    assert_eq!(code(&o), 2, "{out}{}", stderr(&o));
    assert!(
        out.contains("fixity:   OK") && out.contains("content:  OK"),
        "{out}"
    );
    assert_eq!(out.matches("not concluded").count(), 2, "{out}");
    assert!(
        out.contains("this machine could not run the decoder"),
        "{out}"
    );
    assert!(!out.contains("trap") && !out.contains("panicked"), "{out}");
}

/// `view` and `render` of a record whose decoder this machine cannot run:
/// not concluded (exit 2, naming what the machine could not do), neither
/// a view nor a record shown as one its decoder cannot show, and no file.
#[test]
fn view_and_render_under_an_address_space_limit_conclude_nothing() {
    let t = packed("as-view");
    let d = &t.0;
    let view = ["view", "a.lgn", "legal/act.md", "-i", "alice.key"];
    let o = legation(ROOMY, &view, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = legation(TIGHT, &view, d);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("this machine could not run the decoder"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("not rendered"), "{}", stdout(&o));
    let render = [
        "render",
        "a.lgn",
        "legal/act.md",
        "-o",
        "act.html",
        "-i",
        "alice.key",
    ];
    let o = legation(TIGHT, &render, d);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("this machine could not run the decoder"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("act.html").exists());
    let o = legation(ROOMY, &render, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(d.join("act.html").exists());
}

#[test]
fn pack_under_an_address_space_limit_renders_or_refuses() {
    let t = packed("as-pack");
    let d = &t.0;
    let pack = |out: &str| {
        vec![
            "pack".to_owned(),
            "src".into(),
            "-o".into(),
            out.into(),
            "-r".into(),
            "alice.pub".into(),
            "--sign".into(),
            "gov.key".into(),
        ]
    };
    let args = pack("roomy.lgn");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = legation(ROOMY, &args, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rendered 2 records at packing; 0 not rendered"),
        "{}",
        stderr(&o)
    );
    // Without a limit, the archive packed under one checks out with both
    // views recorded.
    let o = crate::common::run(
        &[
            "verify",
            "roomy.lgn",
            "--issuer",
            "gov.pub",
            "-i",
            "alice.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("2 views re-rendered"), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 records packed without a view"));

    // No room for any decoder: pack refuses, writes nothing, exit 2.
    let args = pack("tight.lgn");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = legation(TIGHT, &args, d);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{err}");
    assert!(err.contains("not concluded"), "{err}");
    assert!(err.contains("no archive is written"), "{err}");
    assert!(!err.contains("packed "), "{err}");
    assert!(!d.join("tight.lgn").exists());
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Set in the child process in which the test below runs the engine.
const CHILD: &str = "LEGATION_ADDRESS_SPACE_CHILD";

/// The in-process engine (`Wasmtime::new`, as the viewer uses it) under a
/// limit, run in a child process of this test binary: a pool sized to
/// two slots, on-demand allocation below that, and "not concluded" below
/// one slot.
#[test]
fn in_process_engine_under_an_address_space_limit() {
    if std::env::var_os(CHILD).is_some() {
        in_process_engine_child();
        return;
    }
    let t = Tmp::new("as-inproc");
    let me = std::env::current_exe().unwrap();
    let child = |kib: u64| {
        let o = {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
                .arg(&me)
                .args([
                    "attacks::address_space::in_process_engine_under_an_address_space_limit",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, "1")
                .current_dir(&t.0);
            c.output().unwrap()
        };
        let out = stdout(&o);
        assert!(o.status.success(), "{kib}: {out}{}", stderr(&o));
        out.lines()
            .find_map(|l| l.split_once("OUTCOME ").map(|(_, o)| o))
            .unwrap_or_else(|| panic!("{kib}: {out}"))
            .to_owned()
    };
    assert_eq!(child(ROOMY), "Pooled(2) rendered 1 rendered 1");
    assert_eq!(child(ONE_SLOT), "OnDemand rendered 1 rendered 1");
    let tight = child(TIGHT);
    assert!(
        tight.starts_with("OnDemand host ")
            && tight.contains("not concluded: this machine could not run the decoder"),
        "{tight}"
    );
}

/// The child's part: renders two records at once on a fresh in-process
/// engine and prints what happened.
fn in_process_engine_child() {
    use legation_reader::decode::{DecodeError, Host, HostLimits};
    use legation_reader::wasmtime_engine::Wasmtime;
    let engine = Wasmtime::new();
    let allocation = format!("{:?}", engine.allocation());
    let host = Host::new(Arc::new(engine), HostLimits::default());
    let cfg = legation_meter::MeterConfig::default();
    let text = legation_builtin_decoders::ALL
        .iter()
        .map(|w| legation_meter::meter(w, &cfg).unwrap())
        .map(|w| host.load(&w, "built-in").unwrap())
        .find(|l| l.info.media_types.iter().any(|m| m == "text/plain"))
        .unwrap();
    // Two records at once, as a render check runs them.
    let run = || match host.render(&text, "a.txt", b"Some text.\n") {
        Ok(r) => format!("rendered {}", u32::from(!r.main.is_empty())),
        Err(e @ DecodeError::Host { .. }) => format!("host {e}"),
        Err(e) => format!("other {e}"),
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(run);
        let b = s.spawn(run);
        (a.join().unwrap(), b.join().unwrap())
    });
    let outcome = if a.starts_with("host") {
        a.clone()
    } else {
        format!("{a} {b}")
    };
    println!("OUTCOME {allocation} {outcome}");
}

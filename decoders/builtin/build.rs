//! Builds every built-in decoder for `wasm32-unknown-unknown` with the
//! `wasm-decoders` profile, in a target folder of its own (so the outer
//! build's lock is not contended), with source paths remapped so that the
//! same source and toolchain give byte-identical modules on any machine.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Decoder crates and the name of the constant each becomes. `EBCDIC` is
/// built here too but is not built in (not in `ALL`): `legation pack
/// --decoder .ebc=FILE` stores it, from the copy this leaves in
/// `target/wasm-decoders/wasm32-unknown-unknown/wasm-decoders/`.
const DECODERS: [(&str, &str); 7] = [
    ("legation-decoder-text", "TEXT"),
    ("legation-decoder-csv", "CSV"),
    ("legation-decoder-json", "JSON"),
    ("legation-decoder-png", "PNG"),
    ("legation-decoder-tiff", "TIFF"),
    ("legation-decoder-raw", "RAW"),
    ("legation-decoder-ebcdic", "EBCDIC"),
];

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = here.parent().and_then(Path::parent).unwrap().to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = workspace.join("target").join("wasm-decoders");
    for dir in [
        "decoders/sdk",
        "decoders/view",
        "decoders/text",
        "decoders/csv",
        "decoders/json",
        "decoders/png",
        "decoders/tiff",
        "decoders/raw",
        "decoders/ebcdic",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    let mut flags = vec![format!(
        "--remap-path-prefix={}=/legation",
        workspace.display()
    )];
    // A 128 KiB shadow stack instead of rustc's 1 MiB: every call starts
    // from a fresh instance, and the host pays for each byte of memory an
    // instance has (reset between calls), so a small initial memory keeps
    // the fixed cost per record low. The stack sits first in memory, so an
    // overflow runs below address 0 and traps, on every engine alike.
    flags.push("-Clink-arg=-zstack-size=131072".into());
    // WebAssembly's 128-bit vector instructions (allowed in decoders from
    // format 1.3, SPEC §12.2), so that the compiler vectorises what it
    // vectorises natively: PNG's filters, the inflater's Adler-32. The
    // standard library stays as shipped (built without them).
    flags.push("-Ctarget-feature=+simd128".into());
    if let Some(h) = cargo_home {
        flags.push(format!("--remap-path-prefix={h}=/cargo"));
    }
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "--quiet",
            "--profile",
            "wasm-decoders",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_PRIMARY_PACKAGE");
    // Variables cargo sets for this build script must not leak into the
    // nested build's own configuration.
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_FEATURE_")
            || k.starts_with("CARGO_CFG_")
            || k == "TARGET"
            || k == "HOST"
            || k == "PROFILE"
            || k == "OPT_LEVEL"
            || k == "DEBUG"
        {
            cmd.env_remove(k);
        }
    }
    for (krate, _) in DECODERS {
        cmd.args(["-p", krate]);
    }
    let status = cmd.status().expect("running cargo to build the decoders");
    if !status.success() {
        panic!(
            "building the built-in decoders for wasm32-unknown-unknown failed; \
             is the target installed? (rustup target add wasm32-unknown-unknown)"
        );
    }
    let mut consts = String::new();
    for (krate, name) in DECODERS {
        let file = format!("{}.wasm", krate.replace('-', "_"));
        let built = target_dir
            .join("wasm32-unknown-unknown")
            .join("wasm-decoders")
            .join(&file);
        std::fs::copy(&built, out.join(&file))
            .unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
        consts.push_str(&format!(
            "/// The `{krate}` module, unmetered, as built from source.\npub const {name}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"));\n"
        ));
    }
    std::fs::write(out.join("decoders.rs"), consts).unwrap();
}

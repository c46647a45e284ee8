//! The worked example of a third-party decoder in the decoder author's
//! guide (docs/decoder-guide.md, "Writing a decoder") works as written:
//! its `Cargo.toml` and `src/lib.rs`, taken from that file itself, make
//! a crate whose own test passes natively, which builds for
//! `wasm32-unknown-unknown`, and whose module `legation pack --decoder
//! application/xml=…` stores and runs, so that `legation view` shows an
//! XML record through it. If the guide and the SDK drift apart, this
//! fails.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{code, run, stderr, stdout, Tmp};

/// The file that holds the worked example, relative to the workspace.
const GUIDE: &str = "docs/decoder-guide.md";

/// The workspace: the guide and the SDK the example depends on.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The fenced block of `language` that follows the line `label` in `text`.
fn block_after<'a>(text: &'a str, label: &str, language: &str) -> &'a str {
    let after = &text[text
        .find(label)
        .unwrap_or_else(|| panic!("{GUIDE} has no {label}"))..];
    let fence = format!("```{language}\n");
    let start = after.find(&fence).expect("a fenced block") + fence.len();
    let end = start + after[start..].find("```").expect("the block's end");
    &after[start..end]
}

/// `cargo ARGS` in `dir` with the example's own target folder, clear of
/// what the outer `cargo test` set for this process.
fn cargo(dir: &Path, args: &[&str]) {
    let target = workspace().join("target").join("readme-example");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .expect("running cargo");
    assert!(
        status.status.success(),
        "cargo {args:?} in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn the_readme_decoder_example_builds_packs_and_shows_a_record() {
    let readme = fs::read_to_string(workspace().join(GUIDE)).unwrap();
    let manifest = block_after(&readme, "`xml-outline/Cargo.toml`:", "toml");
    let source = block_after(&readme, "`xml-outline/src/lib.rs`:", "rust");
    let wasm_path = "xml-outline/target/wasm32-unknown-unknown/release/xml_outline.wasm";
    assert!(
        readme.contains(&format!("--decoder application/xml={wasm_path}")),
        "the guide packs the module it builds"
    );

    // The crate beside a checkout, as the guide says: here the SDK is
    // this checkout's, named by its absolute path.
    let t = Tmp::new("readme-decoder");
    let d = &t.0;
    let krate = d.join("xml-outline");
    fs::create_dir_all(krate.join("src")).unwrap();
    let sdk = workspace().join("decoders/sdk");
    let relative = "path = \"../legation/decoders/sdk\"";
    assert!(manifest.contains(relative), "{manifest}");
    fs::write(
        krate.join("Cargo.toml"),
        manifest.replace(relative, &format!("path = {:?}", sdk.display().to_string())),
    )
    .unwrap();
    fs::write(krate.join("src/lib.rs"), source).unwrap();
    cargo(&krate, &["test", "--quiet"]);
    cargo(
        &krate,
        &[
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ],
    );
    let built =
        workspace().join("target/readme-example/wasm32-unknown-unknown/release/xml_outline.wasm");
    fs::create_dir_all(d.join("xml-outline/target/wasm32-unknown-unknown/release")).unwrap();
    fs::copy(&built, d.join(wasm_path)).unwrap();

    // The guide's commands.
    fs::create_dir_all(d.join("records/laws")).unwrap();
    fs::write(
        d.join("records/laws/act-1921.xml"),
        "<?xml version=\"1.0\"?>\n<act year=\"1921\"><title>Land act</title>\
         <section n=\"1\">Every parcel is registered.</section></act>\n",
    )
    .unwrap();
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "ministry"], d)), 0);
    assert_eq!(
        code(&run(&["keygen", "recipient", "-o", "archivist"], d)),
        0
    );
    let decoder = format!("application/xml={wasm_path}");
    let o = run(
        &[
            "pack",
            "records/",
            "-o",
            "registers.lgn",
            "--recipient",
            "archivist.pub",
            "--sign",
            "ministry.key",
            "--decoder",
            &decoder,
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("rendered 1 records"), "{}", stderr(&o));
    let o = run(
        &[
            "view",
            "registers.lgn",
            "laws/act-1921.xml",
            "--identity",
            "archivist.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let shown = stdout(&o);
    for part in [
        "<act>",
        "root element : act",
        "elements     : 3",
        "Land act",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    assert!(
        stderr(&o).contains("identical to the one recorded at packing"),
        "{}",
        stderr(&o)
    );
    let o = run(&["info", "registers.lgn"], d);
    assert!(stdout(&o).contains("xml-outline 0.1.0"), "{}", stdout(&o));
}

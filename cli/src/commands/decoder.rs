//! `decoder new NAME` and `decoder build [DIR]`: a third-party decoder
//! crate made from a template that builds anywhere (the SDK vendored into
//! it, or a given one), and built reproducibly: the same source, toolchain
//! and `Cargo.lock` give the same module bytes in any folder on any
//! machine, since the folder and Cargo's home are remapped in every path
//! the module could carry (panic locations).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

/// The SDK's and the view document's sources, vendored into a new
/// decoder crate: (path under `vendor/`, text).
const VENDORED: &[(&str, &str)] = &[
    (
        "legation-decoder-sdk/src/lib.rs",
        include_str!("../../../decoders/sdk/src/lib.rs"),
    ),
    (
        "legation-decoder-sdk/src/abi.rs",
        include_str!("../../../decoders/sdk/src/abi.rs"),
    ),
    (
        "legation-decoder-sdk/src/bump.rs",
        include_str!("../../../decoders/sdk/src/bump.rs"),
    ),
    (
        "legation-decoder-sdk/src/metadata.rs",
        include_str!("../../../decoders/sdk/src/metadata.rs"),
    ),
    (
        "legation-decoder-sdk/src/text.rs",
        include_str!("../../../decoders/sdk/src/text.rs"),
    ),
    (
        "legation-document/src/lib.rs",
        include_str!("../../../decoders/document/src/lib.rs"),
    ),
    (
        "legation-document/src/cbor.rs",
        include_str!("../../../decoders/document/src/cbor.rs"),
    ),
    (
        "legation-document/src/cbor/tests.rs",
        include_str!("../../../decoders/document/src/cbor/tests.rs"),
    ),
    (
        "legation-document/src/error.rs",
        include_str!("../../../decoders/document/src/error.rs"),
    ),
];

/// The toolchain the built-in decoders are built with, which a new crate
/// pins (`rust-toolchain.toml`): the same source gives the same bytes
/// only with the same compiler.
const TOOLCHAIN: &str = include_str!("../../../rust-toolchain.toml");

/// The profile of a decoder module: small (optimised for size, one
/// code generation unit, link-time optimisation, no debug information or
/// symbol names), `panic = "abort"` as the target has anyway, and nothing
/// that depends on the build folder.
const PROFILE: &str = r#"# Decoder modules: small and reproducible (`legation decoder build`).
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
debug = false
strip = true
incremental = false
"#;

/// Whether `name` can name a crate and a decoder: lowercase ASCII
/// letters, digits, `-` and `_`, starting with a letter, at most 64.
fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `decoder new NAME`: the crate `NAME/` in the current folder, with the
/// SDK vendored under `vendor/` (or `sdk`, a path to an SDK crate, used
/// instead), a template decoder and its test, the pinned toolchain and
/// the profile of decoder modules. Never overwrites.
pub fn new(name: &str, sdk: Option<&Path>) -> Result<u8> {
    if !valid_name(name) {
        bail!("decoder name {name:?}: lowercase letters, digits, - and _, starting with a letter");
    }
    let root = PathBuf::from(name);
    if root.exists() {
        bail!("{name} exists already; choose another name or remove it");
    }
    let dependency = match sdk {
        Some(p) => {
            let p = std::fs::canonicalize(p)
                .with_context(|| format!("--sdk {}: no such folder", p.display()))?;
            if !p.join("Cargo.toml").is_file() {
                bail!("--sdk {}: no Cargo.toml there", p.display());
            }
            format!("{{ path = {:?} }}", p.display().to_string())
        }
        None => "{ path = \"vendor/legation-decoder-sdk\" }".to_owned(),
    };
    let version = env!("CARGO_PKG_VERSION");
    let mut files: Vec<(PathBuf, String)> = vec![
        (
            "Cargo.toml".into(),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [lib]\n# cdylib: the .wasm module; rlib: the tests call decode natively.\n\
                 crate-type = [\"cdylib\", \"rlib\"]\n\n\
                 [dependencies]\nlegation-decoder-sdk = {dependency}\n\n\
                 # A crate of its own, also inside another workspace.\n[workspace]\n\n{PROFILE}"
            ),
        ),
        ("rust-toolchain.toml".into(), TOOLCHAIN.to_owned()),
        ("src/lib.rs".into(), template(name)),
        (".gitignore".into(), "/target\n/*.wasm\n".to_owned()),
    ];
    if sdk.is_none() {
        files.push((
            "vendor/legation-decoder-sdk/Cargo.toml".into(),
            format!(
                "[package]\nname = \"legation-decoder-sdk\"\nversion = \"{version}\"\nedition = \"2021\"\n\
                 license = \"Apache-2.0\"\ndescription = \"Write a Legation decoder as a plain Rust function (vendored by legation decoder new)\"\n\n\
                 [features]\ndefault = [\"bump-allocator\"]\nbump-allocator = []\n\n\
                 [dependencies]\nlegation-document = {{ path = \"../legation-document\" }}\n"
            ),
        ));
        files.push((
            "vendor/legation-document/Cargo.toml".into(),
            format!(
                "[package]\nname = \"legation-document\"\nversion = \"{version}\"\nedition = \"2021\"\n\
                 license = \"Apache-2.0\"\ndescription = \"The Legation view document (vendored by legation decoder new)\"\n"
            ),
        ));
        for (path, text) in VENDORED {
            files.push((Path::new("vendor").join(path), (*text).to_owned()));
        }
    }
    for (path, text) in &files {
        let at = root.join(path);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&at, text).with_context(|| format!("writing {}", at.display()))?;
    }
    eprintln!(
        "created {name}/: edit src/lib.rs, then `cd {name} && cargo test && legation decoder build`"
    );
    Ok(0)
}

/// The template decoder: the record as text, with a count of its lines,
/// and a test that runs it natively.
fn template(name: &str) -> String {
    format!(
        r#"//! {name}: a Legation decoder. `cargo test` runs it natively;
//! `legation decoder build` makes `{file}.wasm`, which
//! `legation pack FOLDER -o ARCHIVE.lgn --decoder .EXT={file}.wasm ...`
//! stores and runs for the records whose names end with `.EXT`.

use legation_decoder_sdk::{{decoder, Block, DecodeError, Document}};

decoder! {{
    // media_types: the records of these types are given to this decoder
    // when it is packed (SPEC §11.5), e.g. ["application/xml"].
    name: "{name}", version: "0.1.0", media_types: [],
    decode: decode,
}}

/// The record's bytes as a view document: its lines as text.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {{
    let text = std::str::from_utf8(input)
        .map_err(|e| DecodeError::new(format!("not UTF-8 (at byte {{}})", e.valid_up_to())))?;
    Ok(Document {{
        title: "{name}".into(),
        blocks: vec![
            Block::Fields {{
                items: vec![("lines".into(), text.lines().count().to_string())],
            }},
            Block::Code {{ text: text.into() }},
        ],
    }})
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn shows_the_lines() {{
        let document = decode(b"one\ntwo\n").unwrap();
        assert_eq!(document.title, "{name}");
        assert!(decode(&[0xff]).is_err());
    }}
}}
"#,
        file = name.replace('-', "_")
    )
}

/// `decoder build [DIR]`: the crate in `dir` built for
/// `wasm32-unknown-unknown` with its release profile and with `dir` and
/// Cargo's home remapped to `/decoder` and `/cargo` in every path the
/// compiler records; the module is copied to `DIR/NAME.wasm` and its
/// BLAKE3 printed.
pub fn build(dir: &Path) -> Result<u8> {
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("{}: no such folder", dir.display()))?;
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .with_context(|| format!("{}: no Cargo.toml (is it a decoder crate?)", dir.display()))?;
    let name = package_name(&manifest)
        .ok_or_else(|| anyhow!("{}/Cargo.toml: no [package] name", dir.display()))?;
    let file = name.replace('-', "_");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    // One flag a separator apart (CARGO_ENCODED_RUSTFLAGS), so that a
    // path may hold spaces.
    let mut flags = vec![format!("--remap-path-prefix={}=/decoder", dir.display())];
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    let target = dir.join("target");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .context("running cargo (is Rust installed? https://rustup.rs)")?;
    if !status.success() {
        bail!("cargo build failed in {}", dir.display());
    }
    let built = target.join(format!("wasm32-unknown-unknown/release/{file}.wasm"));
    let wasm = std::fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let out = dir.join(format!("{file}.wasm"));
    std::fs::write(&out, &wasm).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {} bytes, BLAKE3 {}",
        out.display(),
        wasm.len(),
        blake3::hash(&wasm).to_hex()
    );
    Ok(0)
}

/// The `name` of the `[package]` table of a Cargo.toml, read plainly.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("name").map(str::trim_start) {
                if let Some(v) = value.strip_prefix('=') {
                    return Some(v.trim().trim_matches('"').to_owned());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every source file of the SDK and the view document is vendored:
    /// a file added there and not here would break every new crate.
    #[test]
    fn every_sdk_source_is_vendored() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../decoders");
        let mut on_disk = Vec::new();
        for (krate, vendored) in [
            ("sdk", "legation-decoder-sdk"),
            ("document", "legation-document"),
        ] {
            let mut stack = vec![root.join(krate).join("src")];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        let rel = p.strip_prefix(root.join(krate)).unwrap();
                        on_disk.push(format!("{vendored}/{}", rel.display()));
                    }
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = VENDORED.iter().map(|(p, _)| (*p).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn names_and_manifests() {
        assert!(valid_name("tz-info_2"));
        for bad in ["", "Tz", "2tz", "a b", "a/b", "../x", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(
            package_name("[lib]\nname = \"x\"\n[package]\nname = \"tz-info\"\n").as_deref(),
            Some("tz-info")
        );
        assert_eq!(package_name("[workspace]\n"), None);
    }
}

//! Builds every decoder named in `decoders/decoders.txt` for
//! `wasm32-unknown-unknown` with the `wasm-decoders` profile, in a target
//! folder of its own (so the outer build's lock is not contended), with
//! source paths remapped so that the same source and toolchain give
//! byte-identical modules on any machine; then writes the constants and
//! `ALL` that `src/lib.rs` includes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The list of decoders, from the workspace root: the one place that
/// names them (its header says what each column means).
const LIST: &str = "decoders/decoders.txt";

/// What the list says a crate is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A constant, and a place in `ALL` in the list's order.
    BuiltIn,
    /// A constant, and the last place in `ALL`.
    Fallback,
    /// A constant, not in `ALL`.
    Separate,
    /// Not a decoder: a crate the decoders are compiled from.
    Shared,
}

/// One line of the list.
struct Entry {
    package: String,
    folder: String,
    constant: String,
    role: Role,
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = workspace_root(&cargo, &here);
    let list_path = workspace.join(LIST);
    let list = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| panic!("reading the list of decoders: {e}: {}", list_path.display()));
    let entries = parse(&list).unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
    for entry in &entries {
        check_folder(&workspace, entry).unwrap_or_else(|e| panic!("{}: {e}", list_path.display()));
    }
    let decoders: Vec<&Entry> = entries.iter().filter(|e| e.role != Role::Shared).collect();

    println!("cargo:rerun-if-changed={}", list_path.display());
    for entry in &entries {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(&entry.folder).display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );

    let target_dir = workspace.join("target").join("wasm-decoders");
    build_modules(&cargo, &workspace, &target_dir, &decoders);

    let mut code = String::new();
    for entry in &decoders {
        let file = format!("{}.wasm", entry.package.replace('-', "_"));
        let built = target_dir
            .join("wasm32-unknown-unknown")
            .join("wasm-decoders")
            .join(&file);
        std::fs::copy(&built, out.join(&file))
            .unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
        let note = match entry.role {
            Role::Separate => {
                " Not built in (not in [`ALL`]): `legation pack --decoder` stores it when asked."
            }
            _ => "",
        };
        code.push_str(&format!(
            "/// The `{}` module, unmetered, as built from source.{note}\n\
             pub const {}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"));\n",
            entry.package, entry.constant
        ));
    }
    // The list's order, but the fallback last whatever its line.
    let mut all: Vec<&Entry> = decoders
        .iter()
        .copied()
        .filter(|e| e.role == Role::BuiltIn)
        .collect();
    let fallback = decoders.iter().copied().find(|e| e.role == Role::Fallback);
    all.extend(fallback);
    let names: Vec<&str> = all.iter().map(|e| e.constant.as_str()).collect();
    code.push_str(&format!(
        "/// Every built-in module in the order of `{LIST}`, the fallback (`{}`) last.\n\
         pub const ALL: [&[u8]; {}] = [{}];\n",
        names.last().unwrap(),
        names.len(),
        names.join(", ")
    ));
    std::fs::write(out.join("decoders.rs"), code).unwrap();
}

/// The folder of the workspace this crate belongs to, as cargo sees it
/// (so the crate's own place in the tree does not matter).
fn workspace_root(cargo: &str, here: &Path) -> PathBuf {
    let output = Command::new(cargo)
        .current_dir(here)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .expect("running cargo locate-project");
    assert!(
        output.status.success(),
        "cargo locate-project --workspace failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    // A manifest path always has a parent folder.
    manifest.parent().unwrap().to_path_buf()
}

/// Reads the list: four columns a line, `#` comments, blank lines.
fn parse(list: &str) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in list.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("line {}", n + 1);
        let [package, folder, constant, role] = line
            .split_whitespace()
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| format!("{at}: not four columns (package, folder, constant, role)"))?;
        let role = match role {
            "built-in" => Role::BuiltIn,
            "fallback" => Role::Fallback,
            "separate" => Role::Separate,
            "shared" => Role::Shared,
            other => {
                return Err(format!(
                    "{at}: role {other:?} is not built-in, fallback, separate or shared"
                ))
            }
        };
        let is_constant = constant.starts_with(|c: char| c.is_ascii_uppercase())
            && constant
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        match role {
            Role::Shared if constant != "-" => {
                return Err(format!("{at}: a shared crate has no constant (write -)"))
            }
            Role::Shared => {}
            _ if !is_constant || constant == "ALL" => {
                return Err(format!(
                    "{at}: {constant:?} is not a constant's name (A-Z, 0-9, _; not ALL)"
                ))
            }
            _ => {}
        }
        if entries.iter().any(|e| e.package == package) {
            return Err(format!("{at}: {package} is listed twice"));
        }
        if role != Role::Shared && entries.iter().any(|e| e.constant == constant) {
            return Err(format!("{at}: the constant {constant} is named twice"));
        }
        entries.push(Entry {
            package: package.into(),
            folder: folder.into(),
            constant: constant.into(),
            role,
        });
    }
    let fallbacks = entries.iter().filter(|e| e.role == Role::Fallback).count();
    if fallbacks != 1 {
        return Err(format!(
            "{fallbacks} decoders are the fallback; exactly one must be"
        ));
    }
    Ok(entries)
}

/// Checks that an entry's folder holds the crate it names, so that a
/// mistyped folder is not watched in vain.
fn check_folder(workspace: &Path, entry: &Entry) -> Result<(), String> {
    let manifest = workspace.join(&entry.folder).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("{}: {e}: {}", entry.package, manifest.display()))?;
    let name = format!("name = \"{}\"", entry.package);
    if text.lines().any(|l| l.trim() == name) {
        Ok(())
    } else {
        Err(format!(
            "{} is not the package of {}",
            entry.package,
            manifest.display()
        ))
    }
}

/// Runs the nested cargo that compiles the decoders for wasm32.
fn build_modules(cargo: &str, workspace: &Path, target_dir: &Path, decoders: &[&Entry]) {
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
    cmd.current_dir(workspace)
        .args([
            "build",
            "--quiet",
            "--profile",
            "wasm-decoders",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
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
    for entry in decoders {
        cmd.args(["-p", &entry.package]);
    }
    let status = cmd.status().expect("running cargo to build the decoders");
    if !status.success() {
        panic!(
            "building the built-in decoders for wasm32-unknown-unknown failed; \
             is the target installed? (rustup target add wasm32-unknown-unknown)"
        );
    }
}

#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need when
# it is missing (today: rustfmt, clippy, the wasm32 target, Mesa's
# software Vulkan driver for the viewer's rendered UI snapshots, and
# cargo-fuzz with the nightly toolchain for the short fuzzing runs).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
# The viewer's egui_kittest tests render with wgpu; lavapipe (Mesa's CPU
# Vulkan driver) gives them a GPU-less adapter, the same on every machine.
if ! dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed'; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers >/dev/null
fi

echo "== format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# tests/HOSTILE.md lists every hostile case from the suites themselves.
python3 scripts/hostile_cases.py --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== format and reader build for wasm32"
cargo check --quiet -p legation-format -p legation-reader --target wasm32-unknown-unknown
# The viewer's UI library too (without the desktop window): the browser
# build will reuse it.
cargo check --quiet -p legation-viewer --no-default-features --target wasm32-unknown-unknown
echo "== the viewer's benchmark builds (it runs by hand: see BENCHMARKS.md)"
cargo clippy --quiet -p legation-viewer --no-default-features --features bench --bins -- -D warnings
echo "== tests"
cargo test --workspace
echo "== fuzzing, 10 s a target (installs cargo-fuzz where missing)"
bash scripts/fuzz.sh 10
echo "== the viewer in a real window (Xvfb)"
bash scripts/screenshot.sh target/screenshot/window.png

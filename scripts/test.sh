#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need when
# it is missing (today: rustfmt, clippy and the wasm32 target).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown

echo "== format"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== format and reader build for wasm32"
cargo check --quiet -p legation-format -p legation-reader --target wasm32-unknown-unknown
echo "== tests"
cargo test --workspace

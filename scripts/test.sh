#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need when
# it is missing: rustfmt, clippy, the wasm32 target, Mesa's software
# Vulkan driver for the viewer's rendered UI snapshots, Chromium and
# chromedriver for the browser tests, wasm-bindgen-cli at the version of
# the wasm-bindgen crate (web/build.sh), cargo-fuzz with the nightly
# toolchain for the short fuzzing runs, and Garage 2.5.0 (a separate
# program, run and never linked) with boto3 for the embassies' tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts, so a slow CI run shows where time went.
step() { printf '== %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }

rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
# The viewer's egui_kittest tests render with wgpu; lavapipe (Mesa's CPU
# Vulkan driver) gives them a GPU-less adapter, the same on every machine.
# The browser tests drive Debian's Chromium through its chromedriver.
missing=()
for p in mesa-vulkan-drivers chromium chromium-driver python3-boto3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# tests/HOSTILE.md lists every hostile case from the suites themselves.
python3 scripts/hostile_cases.py --check
step "clippy (the viewer's benchmark binary included: it runs by hand, see BENCHMARKS.md)"
cargo clippy --workspace --all-targets --features legation-viewer/bench --quiet -- -D warnings
step "the browser build (format, reader, viewer and web for wasm32)"
cargo clippy --quiet --release --target wasm32-unknown-unknown -p legation-web --all-targets -- -D warnings
bash web/build.sh
step "Garage 2.5.0 for the embassies' tests (built where missing)"
bash scripts/install-garage.sh
step "tests"
cargo test --workspace
step "the reader and the decoder host in headless Chromium (wasm-bindgen-test)"
CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --release --target wasm32-unknown-unknown -p legation-web
step "the browser viewer end to end in headless Chromium (screenshots in target/web/e2e)"
python3 web/tests/e2e.py target/debug/legation target/web/e2e --embassies target/web/e2e/cluster
step "fuzzing, 10 s a target (installs cargo-fuzz where missing)"
bash scripts/fuzz.sh 10
step "the viewer in a real window (Xvfb)"
bash scripts/screenshot.sh target/screenshot/window.png
step "all passed"

#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   bash scripts/test.sh           everything (what CI runs, .ci/run)
#   bash scripts/test.sh --quick   the developer's fast path: formatting,
#       clippy, the docs' links and `cargo test --workspace` but the test
#       that needs a Garage cluster; no wasm32 build, browser, fuzzing or
#       window (a few minutes on a warm machine)
# Installs what the tests need when it is missing: the toolchain of
# rust-toolchain.toml with rustfmt, clippy and the wasm32 target, Mesa's
# software Vulkan driver for the viewer's rendered UI snapshots, and for
# the whole suite Chromium and chromedriver for the browser tests,
# wasm-bindgen-cli at the version of the wasm-bindgen crate
# (web/build.sh), cargo-fuzz with the nightly toolchain for the short
# fuzzing runs, and Garage 2.5.0 (a separate program, run and never
# linked) with boto3 for the embassies' tests.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=
case "${1:-}" in
"") ;;
--quick) quick=1 ;;
*)
    echo "usage: bash scripts/test.sh [--quick]" >&2
    exit 2
    ;;
esac

# CI starts from an empty target folder, where incremental compilation
# only costs (its caches are written, never read, and the workspace's
# crates are cut into 256 pieces instead of 16).
[ -z "${CI:-}" ] || export CARGO_INCREMENTAL=0

# Each step says when it starts, so a slow CI run shows where time went.
step() { printf '== %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }

# rust-toolchain.toml pins the toolchain; rustup uses it in this folder.
toolchain=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
rustup toolchain list | grep -q "^$toolchain-" ||
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy --target wasm32-unknown-unknown
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
# The viewer's egui_kittest tests render with wgpu; lavapipe (Mesa's CPU
# Vulkan driver) gives them a GPU-less adapter, the same on every machine.
# The browser tests drive Debian's Chromium through its chromedriver.
packages=(mesa-vulkan-drivers)
[ -n "$quick" ] || packages+=(chromium chromium-driver python3-boto3)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# legation-interchange's tests run bagit-python and fido (PyPI) on the bags and files they check,
# and validate PREMIS exports against the PREMIS 3.0 schema with xmlschema.
python3 -c 'import bagit, fido, xmlschema; assert bagit.VERSION == "1.9.0" and xmlschema.__version__ == "4.3.2"' 2>/dev/null ||
    python3 -m pip install --quiet bagit==1.9.0 opf-fido==1.6.1 xmlschema==4.3.2

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
# tests/HOSTILE.md lists every hostile case from the suites themselves.
python3 scripts/hostile_cases.py --check
# The tools the whole suite installs where missing (Garage, a program of
# its own; wasm-bindgen-cli; cargo-fuzz and the fuzz targets, built with
# nightly) share nothing with the workspace's target folder: they build
# in the background at a lower priority, taking the core that clippy and
# the builds below leave idle whenever one large crate compiles alone,
# and are awaited before anything runs (some tests time what they do).
# Each in its own process group, stopped if this script ends first; its
# output in target/NAME.log.
jobs_started=()
in_background() {
    local name=$1
    shift
    mkdir -p target
    setsid -w nice -n 10 "$@" >"target/$name.log" 2>&1 &
    jobs_started+=("$name:$!")
}
stop_background() {
    local job
    for job in "${jobs_started[@]}"; do kill -- -"${job#*:}" 2>/dev/null || true; done
}
await_background() {
    local job
    for job in "${jobs_started[@]}"; do
        if ! wait "${job#*:}"; then
            cat "target/${job%%:*}.log" >&2
            echo "test.sh: ${job%%:*} failed (log above, in target/${job%%:*}.log)" >&2
            exit 1
        fi
    done
    jobs_started=()
}
trap stop_background EXIT
# The Rust tests: every crate but legation-benches, which holds no test
# and no doc example (its lib and synth are the benchmarks' helpers, and
# clippy checks them with the benchmarks), and whose criterion
# dev-dependency would otherwise be compiled for the tests alone (14
# units, regex among them).
tests=(--workspace --exclude legation-benches)
if [ -z "$quick" ]; then
    step "in the background: Garage 2.5.0 for the embassies' tests; wasm-bindgen-cli, then cargo-fuzz and the fuzz targets (each where missing)"
    in_background garage-install bash scripts/install-garage.sh
    in_background tools-install bash -c 'bash web/build.sh --install && bash scripts/fuzz.sh --build'
fi
step "clippy (the viewer's benchmark binary included: it runs by hand, see BENCHMARKS.md)"
cargo clippy --workspace --all-targets --features legation-viewer/bench --quiet -- -D warnings
# The host's build of the command, without the desktop window (`gui`).
cargo clippy -p legation --no-default-features --all-targets --quiet -- -D warnings
# Right after clippy: rustdoc reads the dependencies clippy just checked.
step "docs (no broken intra-doc links)"
RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links" cargo doc --workspace --no-deps --quiet
if [ -n "$quick" ]; then
    # The one test that needs Garage (cli/tests/all/embassies.rs) is left out
    # by name; the whole suite runs it. `--skip=NAME` in one word: the
    # harness of tests/tests/hostile_decoders.rs takes a bare word for a
    # filter and ignores options.
    step "tests (without the embassies' Garage cluster)"
    cargo test "${tests[@]}" -- --skip=embassies_on_a_three_node_garage_cluster
    step "all passed (quick: no wasm32, Garage, browser, fuzzing or window)"
    exit 0
fi
step "the browser build (format, reader, viewer and web for wasm32) and its tests' build"
cargo clippy --quiet --release --target wasm32-unknown-unknown -p legation-web --all-targets -- -D warnings
# The browser tests' build compiles everything web/build.sh's release
# build needs, with the same features (web/Cargo.toml), so that build
# (below, once wasm-bindgen-cli is there) only runs wasm-bindgen.
cargo test --quiet --release --target wasm32-unknown-unknown -p legation-web --no-run
step "the tests' build"
cargo test --quiet "${tests[@]}" --no-run
step "waiting for the background: Garage, wasm-bindgen-cli and the fuzz targets"
await_background
step "the browser viewer (web/build.sh: wasm-bindgen on the release build above)"
bash web/build.sh
step "tests"
cargo test "${tests[@]}"
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

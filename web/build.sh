#!/usr/bin/env bash
# Builds the browser viewer:
#   target/web/site/                 a static folder for any static file server
#   target/web/legation-viewer.html  one self-contained file (works offline, from file://)
# Installs what it needs where missing: the wasm32 target and wasm-bindgen-cli
# at exactly the version of the wasm-bindgen crate in Cargo.lock.
#   bash web/build.sh             installs where missing, then builds
#   bash web/build.sh --install   installs where missing, builds nothing
#                                 (scripts/test.sh, in the background)
set -euo pipefail
cd "$(dirname "$0")/.."

install_only=
case "${1:-}" in
"") ;;
--install) install_only=1 ;;
*)
    echo "usage: bash web/build.sh [--install]" >&2
    exit 2
    ;;
esac

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    echo "build.sh: installing wasm-bindgen-cli $version (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "$version"
fi
[ -z "$install_only" ] || exit 0

cargo build --release --target wasm32-unknown-unknown -p legation-web
rm -rf target/web/pkg
# Without the function names (1.9 MB) and the producers section: the
# module is 9.2 MB instead of 11.1 MB, and assemble.py inlines it
# gzip-compressed (2.9 MB) in the one-file viewer, which is 3.9 MB
# instead of 14.9 MB (BENCHMARKS.md, "The embedded viewer"). wasm-opt
# is not used: binaryen 132's -Oz takes 3 minutes and gains 1% once
# compressed.
wasm-bindgen --target no-modules --no-typescript --remove-name-section --remove-producers-section \
    --out-dir target/web/pkg target/wasm32-unknown-unknown/release/legation_web.wasm
python3 web/assemble.py target/web/pkg target/web
# The one-file viewer goes into every archive packed with --embed-viewer:
# it must stay within 5 MiB (issue 23; 14.9 MB before the names were
# dropped and the module compressed).
size=$(stat -c %s target/web/legation-viewer.html)
if [ "$size" -gt $((5 << 20)) ]; then
    echo "build.sh: target/web/legation-viewer.html is $size bytes, over its 5 MiB budget" >&2
    exit 1
fi

#!/usr/bin/env bash
# The main job on the bundled samples: make demo keys, pack samples/records
# into a signed, encrypted archive, audit it without a key, list it and
# verify its content with a key, and show a record.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PASSPHRASE="${DEMO_PASSPHRASE:-embassy-demo-tallinn-luxembourg-2026}"
out=target/demo
# The built-in decoders are compiled to WebAssembly as part of the build.
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
cargo build --release -p legation
L=target/release/legation

rm -rf "$out"
mkdir -p "$out"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$L" keygen issuer -o "$out/demo-issuer"
step "$L" keygen recipient -o "$out/demo-recipient"
printf '%s\n' "$DEMO_PASSPHRASE" > "$out/passphrase"
step "$L" pack samples/records -o "$out/demo.lgn" \
    --recipient "$out/demo-recipient.pub" --passphrase-file "$out/passphrase" --sign "$out/demo-issuer.key"
step "$L" info "$out/demo.lgn"
step "$L" verify "$out/demo.lgn" --issuer "$out/demo-issuer.pub"
step "$L" ls "$out/demo.lgn" --identity "$out/demo-recipient.key"
step "$L" verify "$out/demo.lgn" --issuer "$out/demo-issuer.pub" --passphrase-file "$out/passphrase"
step "$L" view "$out/demo.lgn" land/iowa-electricity.csv --identity "$out/demo-recipient.key"
step "$L" render "$out/demo.lgn" scans/camera.png --identity "$out/demo-recipient.key" -o "$out/camera.html"
printf '\n\033[1m$ %s\033[0m\n' "$L cat $out/demo.lgn legal/BSD.txt --identity $out/demo-recipient.key | head -12"
"$L" cat "$out/demo.lgn" legal/BSD.txt --identity "$out/demo-recipient.key" | head -12
printf '\nThe demo archive is %s; its passphrase is in %s.\n' "$out/demo.lgn" "$out/passphrase"

#!/usr/bin/env bash
# The main job on the bundled samples: make demo keys, pack the generated
# national records (samples/national) and the real files (samples/records)
# into one signed, encrypted archive of format 2.0 that also carries the decoder of the
# mainframe tax rolls, audit it without a key, verify it with a key down to
# the render level, and show a few records as a viewer would.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PASSPHRASE="${DEMO_PASSPHRASE:-embassy-demo-tallinn-luxembourg-2026}"
out=target/demo
# The decoders are compiled to WebAssembly as part of the build; the
# EBCDIC one (not built in) is left where --decoder can take it.
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
cargo build --release -p legation
L=target/release/legation
EBCDIC=target/wasm-decoders/wasm32-unknown-unknown/wasm-decoders/legation_decoder_ebcdic.wasm

rm -rf "$out"
mkdir -p "$out/records"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# Long outputs are cut: the whole of them is one command away.
head_of() {
    local n=$1
    shift
    printf '\n\033[1m$ %s | head -%s\033[0m\n' "$*" "$n"
    "$@" > "$out/step.txt"
    head -"$n" "$out/step.txt"
    local total
    total=$(wc -l < "$out/step.txt")
    if [ "$total" -gt "$n" ]; then printf '… (%s lines in all)\n' "$total"; fi
}

# One folder holds both sets, so record paths say where each came from.
cp -R samples/national samples/records "$out/records/"

step "$L" keygen issuer -o "$out/demo-issuer"
step "$L" keygen recipient -o "$out/demo-recipient"
printf '%s\n' "$DEMO_PASSPHRASE" > "$out/passphrase"
step "$L" pack "$out/records" -o "$out/demo.lgn" \
    --recipient "$out/demo-recipient.pub" --passphrase-file "$out/passphrase" --sign "$out/demo-issuer.key" \
    --decoder ".ebc=$EBCDIC" --format 2.0
head_of 20 "$L" info "$out/demo.lgn"
step "$L" verify "$out/demo.lgn" --issuer "$out/demo-issuer.pub"
head_of 15 "$L" ls "$out/demo.lgn" --identity "$out/demo-recipient.key"
step "$L" verify "$out/demo.lgn" --issuer "$out/demo-issuer.pub" --passphrase-file "$out/passphrase"
id=(--identity "$out/demo-recipient.key")
head_of 24 "$L" view "$out/demo.lgn" national/population/register-ost.csv "${id[@]}"
step "$L" view "$out/demo.lgn" national/civil/marriages/0000/M-0000047.json "${id[@]}"
head_of 40 "$L" view "$out/demo.lgn" national/legacy/land-tax-1991-zad.ebc "${id[@]}"
head_of 12 "$L" view "$out/demo.lgn" national/civil/marriages/0000/M-0000047.tif "${id[@]}"
step "$L" render "$out/demo.lgn" national/land/plans/zad/sheet-0001.png "${id[@]}" -o "$out/plan.html"
step "$L" render "$out/demo.lgn" records/scans/camera.png "${id[@]}" -o "$out/camera.html"
printf '\n\033[1m$ %s\033[0m\n' "$L cat $out/demo.lgn national/legal/1995-045-digital-continuity-act.md ${id[*]} | head -12"
"$L" cat "$out/demo.lgn" national/legal/1995-045-digital-continuity-act.md "${id[@]}" | head -12
# One record proven to someone who has neither the archive nor a key: the
# proof carries the record's facts, its path to the signed head and the
# signature; check-proof needs only the issuer's public key.
step "$L" prove "$out/demo.lgn" national/civil/marriages/0000/M-0000047.json "${id[@]}" -o "$out/one.proof"
step "$L" check-proof "$out/one.proof" --issuer "$out/demo-issuer.pub"
# A host's disk flips a byte of public.json (where the key slots are) in
# a copy: the audit names the damage, and the copy repairs itself from its
# own recovery data, without a key and without another copy.
cp "$out/demo.lgn" "$out/damaged.lgn"
python3 - "$out/damaged.lgn" <<'PY'
import sys, zipfile
path = sys.argv[1]
info = zipfile.ZipFile(path).getinfo("public.json")
with open(path, "r+b") as f:
    f.seek(info.header_offset + 26)
    name_len, extra_len = (int.from_bytes(f.read(2), "little") for _ in range(2))
    f.seek(info.header_offset + 30 + name_len + extra_len + min(200, info.file_size // 2))
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x10]))
PY
printf '\n\033[1m$ %s\033[0m\n' "$L verify $out/damaged.lgn --issuer $out/demo-issuer.pub   # exits 1"
"$L" verify "$out/damaged.lgn" --issuer "$out/demo-issuer.pub" && { echo "the damage went unnoticed" >&2; exit 1; }
step "$L" repair "$out/damaged.lgn" -o "$out/repaired.lgn" --issuer "$out/demo-issuer.pub"
step cmp "$out/repaired.lgn" "$out/demo.lgn"
printf 'the repaired copy is the original, byte for byte\n'
printf '\nThe demo archive is %s; its passphrase is in %s.\n' "$out/demo.lgn" "$out/passphrase"
# With a display, open the archive in the desktop viewer, unlocked with the
# demo passphrase; without one, the views above are what it would show.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${DEMO_NO_VIEWER:-}" ]; then
    step "$L" open "$out/demo.lgn" --passphrase-file "$out/passphrase"
fi

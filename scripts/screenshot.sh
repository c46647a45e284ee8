#!/usr/bin/env bash
# A screenshot of the real viewer window, as in the README: packs
# samples/records, opens the archive with `legation open` in a window on
# Xvfb, types the passphrase, opens the photograph with the keyboard,
# and writes PNG (default viewer/screenshots/window.png; scripts/test.sh
# writes under target/ to check that the window opens and draws).
# Installs what it needs (Xvfb, xdotool, xwd, ImageMagick, xkbcommon,
# Mesa's Vulkan) when missing. Usage: scripts/screenshot.sh [PNG]
set -euo pipefail
cd "$(dirname "$0")/.."
png="${1:-viewer/screenshots/window.png}"

need=()
for p in xvfb xdotool x11-apps imagemagick libxkbcommon-x11-0 mesa-vulkan-drivers; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --workspace: the features `cargo test --workspace` builds with, so that
# after the tests (scripts/test.sh) nothing is rebuilt.
cargo build -q --workspace --bin legation
L=target/debug/legation
out=target/screenshot
rm -rf "$out" && mkdir -p "$out/config"
printf 'embassy-demo-tallinn-luxembourg-2026\n' > "$out/passphrase"
SOURCE_DATE_EPOCH=1795775512 "$L" keygen issuer -o "$out/issuer" >/dev/null
SOURCE_DATE_EPOCH=1795775512 "$L" pack samples/records -o "$out/registers.lgn" \
    --passphrase-file "$out/passphrase" --sign "$out/issuer.key" >/dev/null

# A display number nobody uses.
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
display=:$n
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
viewer=
cleanup() {
    [ -n "$viewer" ] && kill "$viewer" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
sleep 1
export DISPLAY=$display
XDG_CONFIG_HOME="$out/config" "$L" open "$out/registers.lgn" >"$out/viewer.log" 2>&1 &
viewer=$!
wid=$(timeout 120 xdotool search --sync --name 'Legation viewer' | head -1) || true
if [ -z "$wid" ]; then
    echo "the viewer's window did not appear; its output:" >&2
    cat "$out/viewer.log" >&2
    exit 1
fi
sleep 3                       # the keyless fixity check runs
# No window manager gives the window the keyboard: give it ourselves.
xdotool windowfocus --sync "$wid"
# The passphrase field has the focus when the archive opens.
xdotool type --delay 20 "$(head -1 "$out/passphrase")"
xdotool key Return
sleep 8                       # Argon2id, then the catalog

xdotool key Down Down Down Down Down Down Down Return
xdotool mousemove 2 798       # no tooltip over the picture
sleep 4                       # the decoder runs
if ! kill -0 "$viewer" 2>/dev/null; then
    echo "the viewer stopped; its output:" >&2
    cat "$out/viewer.log" >&2
    exit 1
fi
mkdir -p "$(dirname "$png")"
# ImageMagick's own convert (a stand-in of that name may come first in PATH).
convert=/usr/bin/convert
[ -x "$convert" ] || convert=convert
xwd -root -silent | "$convert" xwd:- "$png"
echo "wrote $png"

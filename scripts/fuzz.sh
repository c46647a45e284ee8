#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time (default 20 s each):
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   bash scripts/fuzz.sh --build    installs and builds, runs nothing
#                                   (scripts/test.sh, ahead of the runs)
# Installs cargo-fuzz and the nightly toolchain where missing. Seeds the
# corpora from the test vectors (format/testdata). A crash stops the run
# and leaves its input in fuzz/artifacts/TARGET/; keep it in
# fuzz/regressions/TARGET/ once fixed (this script replays those first).
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=
if [ "${1:-}" = --build ]; then
    build_only=1
    shift
fi
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(archive manifest catalog chunks view write v2)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --version 0.13.2

# Seeds: the archives of the test vectors (the bytes after the header).
mkdir -p fuzz/corpus/archive
for v in format/testdata/*.vector; do
    python3 - "$v" "fuzz/corpus/archive/$(basename "$v" .vector)" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(data[data.index(b'\n\n') + 2:])
PY
done

# Seeds of the v2 target (one byte picking the parser, then its input):
# the public entries of the 2.0 vectors and the proofs they carry.
mkdir -p fuzz/corpus/v2
python3 - fuzz/corpus/v2 format/testdata/v2-*.vector <<'PY'
import io, sys, zipfile
out = sys.argv[1]
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    body = data[data.index(b'\n\n') + 2:]
    name = path.rsplit('/', 1)[-1][:-len('.vector')]
    if body.startswith(b'legation-proof'):
        open(f"{out}/{name}-proof", 'wb').write(b'\x07' + body)
        continue
    try:
        z = zipfile.ZipFile(io.BytesIO(body))
        for sel, entry in enumerate(['head', 'signatures', 'entries', 'public.json']):
            open(f"{out}/{name}-{sel}", 'wb').write(bytes([sel]) + z.read(entry))
    except Exception:
        pass  # a damaged vector: the archive target takes it
PY

# Rust is memory-safe here (unsafe code is denied but in a few audited
# places), so the short runs skip AddressSanitizer: they look for panics,
# failed round trips and runaway work. Long runs can add -s address.
cargo +nightly fuzz build -s none --release "${targets[@]/#/--}" 2>/dev/null || cargo +nightly fuzz build -s none --release
[ -z "$build_only" ] || exit 0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    if [ -d "fuzz/regressions/$t" ]; then
        cargo +nightly fuzz run -s none --release "$t" "fuzz/regressions/$t" -- -runs=0
    fi
    printf '\n== fuzz %s for %s s\n' "$t" "$seconds"
    cargo +nightly fuzz run -s none --release "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 2>&1 \
        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|INFO: seed corpus|.*(ERROR|panicked|deadly|crash))' || true
    # grep hides libFuzzer's chatter; the exit status of the run decides.
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then
        echo "fuzz target $t failed; see fuzz/artifacts/$t/" >&2
        exit 1
    fi
done

#!/usr/bin/env bash
# Runs the whole benchmark suite and rewrites BENCHMARKS.md: whole-process
# runs of legation against 7-Zip, age, b3sum and unzip on the same data,
# then the criterion benchmarks. Needs the Debian packages 7zip, age, b3sum,
# unzip and time (installed here when missing, as root), and ~15 GB of
# space in $BENCH_DIR (default: /dev/shm, i.e. memory, so that disk speed
# does not decide the figures). The 1,000 to 1,000,000-record runs pack
# records written by the sample generator (legation-samples; 1,000,000
# records and their sidecars are 2 million files, 1.5 GB, which tmpfs
# stores in 7.6 GB; generating them takes about 100 s) and plot their
# growth to benches/scaling.png. The viewer's benchmark (viewer-bench)
# adds its section. BENCH_QUICK=1 skips the 1,000,000-record run and
# criterion, and runs the viewer's with 100,000 records.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for t in 7zz:7zip age:age b3sum:b3sum unzip:unzip /usr/bin/time:time; do
    command -v "${t%%:*}" >/dev/null || need+=("${t##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
cargo build --release -q -p legation -p legation-samples
# The data lives in memory (tmpfs): remove it afterwards unless
# BENCH_KEEP=1 (a rerun then skips generating it).
if [ "${BENCH_KEEP:-}" != 1 ]; then
    trap 'rm -rf "${BENCH_DIR:-/dev/shm}/legation-bench"' EXIT
fi
python3 scripts/bench.py "$@"

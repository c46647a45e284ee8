#!/usr/bin/env bash
# Installs Garage 2.5.0 (S3-compatible, geo-distributed object storage;
# AGPL, so run as a separate program and never linked) into cargo's bin
# folder when it is not there: the three embassies of scripts/embassies.sh.
set -euo pipefail
want="2.5.0"
have=$( (garage --version 2>/dev/null || "$HOME/.cargo/bin/garage" --version 2>/dev/null || true) | head -1)
case "$have" in
*"$want"*) exit 0 ;;
esac
# Optimisation level 1 by default: the build takes about 8 minutes here
# instead of 14, and the tests do not notice. GARAGE_OPT_LEVEL=3 gives
# the full release build (benchmarks, real embassies).
CARGO_PROFILE_RELEASE_OPT_LEVEL="${GARAGE_OPT_LEVEL:-1}" \
    cargo install garage --version "$want" --no-default-features --features bundled-libs,lmdb,sqlite

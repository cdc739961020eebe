#!/usr/bin/env bash
# Usage: tests/tools/bench_size.sh
#
# Size report of the deployable artifact: builds the stripped arm64 `bootstrap` exactly as
# `make build` and `sam build` do (`cargo lambda build --release --arm64 --bin bootstrap`) and
# prints its size against the 8 MB target. Reports only: exits 0 when the target is missed, when
# cargo-lambda is not installed, or when the build runs over SIZE_TIMEOUT seconds (default 900).
# VENV (default .venv) must hold cargo-lambda and zig (`make tools-venv`).
set -euo pipefail

VENV="${VENV:-.venv}"
TIMEOUT="${SIZE_TIMEOUT:-900}"
TARGET_BYTES=8000000
ARTIFACT=target/lambda/bootstrap/bootstrap

if [ ! -x "$VENV/bin/cargo-lambda" ]; then
    echo "size: skipped: $VENV/bin/cargo-lambda not found (make tools-venv)"
    exit 0
fi
VENV_BIN="$(cd "$VENV/bin" && pwd)"

# zig is found through the venv's python; keep its bin first on PATH.
status=0
PATH="$VENV_BIN:$PATH" timeout "$TIMEOUT" \
    cargo lambda build --release --arm64 --bin bootstrap || status=$?
if [ "$status" -eq 124 ]; then
    echo "size: skipped: the arm64 build took over $TIMEOUT s (SIZE_TIMEOUT)"
    exit 0
elif [ "$status" -ne 0 ]; then
    echo "size: the arm64 build failed (exit $status)" >&2
    exit "$status"
fi

bytes="$(stat -c %s "$ARTIFACT")"
verdict=met
[ "$bytes" -lt "$TARGET_BYTES" ] || verdict=missed
awk -v b="$bytes" -v v="$verdict" \
    'BEGIN { printf "stripped arm64 bootstrap: %d bytes (%.2f MB; target < 8 MB: %s)\n", b, b / 1e6, v }'
if command -v file >/dev/null; then
    echo "  $(file -b "$ARTIFACT")"
fi

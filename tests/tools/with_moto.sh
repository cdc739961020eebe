#!/usr/bin/env bash
# Usage: tests/tools/with_moto.sh CMD [ARGS...]
#
# Starts a private moto_server (DynamoDB + Secrets Manager emulator) on a free
# 127.0.0.1 port, points the AWS SDK at it through the environment, runs CMD,
# stops moto on any exit and returns CMD's exit status.
# VENV (default .venv) must contain moto[server] (`make venv`).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

VENV="${VENV:-.venv}"
MOTO_SERVER="$VENV/bin/moto_server"
PYTHON="$VENV/bin/python"
if [ ! -x "$MOTO_SERVER" ]; then
    echo "with_moto: $MOTO_SERVER not found; run 'make venv' first" >&2
    exit 2
fi

mkdir -p target
LOG="target/moto.log"

# Ask the kernel for a free port. There is a small window before moto binds it;
# the readiness check below also confirms that it is *our* moto answering.
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
ENDPOINT="http://127.0.0.1:$PORT"

MOTO_PID=""
cleanup() {
    if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        # Give it a moment to exit cleanly, then force it.
        for _ in $(seq 1 50); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
# On a signal, run the EXIT trap (via exit) with the conventional status.
trap 'exit 130' INT
trap 'exit 143' TERM

# moto_server's own entry point handles requests concurrently without isolation; this launcher
# runs the same moto application one request at a time (see the script for why).
"$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/moto_serial.py" -H 127.0.0.1 -p "$PORT" > "$LOG" 2>&1 &
MOTO_PID=$!

# Bounded readiness poll: 100 x 0.1 s. Uses python (always in the venv) rather
# than curl, which a minimal CI image may lack.
ready=0
for _ in $(seq 1 100); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        echo "with_moto: moto_server exited during startup; log follows:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    if "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "$ENDPOINT/moto-api/" >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" -ne 1 ]; then
    echo "with_moto: moto_server not ready on $ENDPOINT after 10 s; log follows:" >&2
    cat "$LOG" >&2
    exit 1
fi

export AWS_ENDPOINT_URL="$ENDPOINT"
export SCIM_TEST_AWS_ENDPOINT="$ENDPOINT"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
# Without this the SDK credential chain may probe the EC2 metadata address (not loopback).
export AWS_EC2_METADATA_DISABLED=true
# Keep a developer's profile/config files from overriding the values above.
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

echo "with_moto: moto_server pid $MOTO_PID on $ENDPOINT (log: $LOG)" >&2

# Run the command in the foreground without `exec`, so the EXIT trap still stops moto and
# Ctrl-C reaches the command directly. (A TERM sent to this script alone is handled once the
# command returns, as bash defers traps during a foreground command; CI timeouts signal the
# whole process group, which stops both.)
status=0
"$@" || status=$?
exit "$status"

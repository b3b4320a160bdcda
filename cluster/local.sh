#!/usr/bin/env bash
# Run one reach job as N processes on this machine (loopback), to try
# cluster mode without a cluster.
#
#   cluster/local.sh N [reach run arguments...]
#   cluster/local.sh 2 --friendships data/f.csv --output out/x --workers 1
#
# Writes a hostfile of 127.0.0.1 ports, starts processes 0..N-1 in the
# background, waits for all of them, and exits with the first non-zero exit
# code (or 0). If one process fails, the others are stopped at once (they
# would stop by themselves too: within --connect-timeout if the failure came
# before connecting, at once if it came later; see docs/cluster.md).
#
# Environment: REACH (the binary, default target/release/reach, else `reach` on PATH), BASE_PORT
# (default 2101; process p listens on BASE_PORT+p), REACH_TIME_DIR (if set,
# each process runs under /usr/bin/time -v, writing DIR/process-P.time:
# benches/scaling.sh uses it for per-process peak memory).
set -euo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
    echo "usage: $0 N [reach run arguments...]" >&2
    exit 2
fi
processes=$1
shift
reach=${REACH:-"$(dirname "$0")/../target/release/reach"}
if [[ -z "${REACH:-}" && ! -x "$reach" ]] && command -v reach >/dev/null; then
    reach=$(command -v reach)   # installed with `cargo install --path .`
fi
if [[ ! -x "$reach" ]]; then
    echo "no reach binary at $reach: run 'cargo build --release' (or 'cargo install --path .') or set REACH=/path/to/reach" >&2
    exit 2
fi
base_port=${BASE_PORT:-2101}
hostfile=$(mktemp "${TMPDIR:-/tmp}/reach-hosts.XXXXXX")
trap 'rm -f "$hostfile"' EXIT
for ((p = 0; p < processes; p++)); do
    echo "127.0.0.1:$((base_port + p))" >>"$hostfile"
done

pids=()
for ((p = 0; p < processes; p++)); do
    if [[ -n "${REACH_TIME_DIR:-}" ]]; then
        /usr/bin/time -v -o "$REACH_TIME_DIR/process-$p.time" \
            "$reach" run "$@" --processes "$processes" --process "$p" --hostfile "$hostfile" &
    else
        "$reach" run "$@" --processes "$processes" --process "$p" --hostfile "$hostfile" &
    fi
    pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
    code=0
    wait "$pid" || code=$?
    if [[ $code -ne 0 && $status -eq 0 ]]; then
        status=$code
        # One process failed: stop the others now rather than when they notice.
        kill "${pids[@]}" 2>/dev/null || true
    fi
done
exit $status

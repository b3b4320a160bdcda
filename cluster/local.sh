#!/usr/bin/env bash
# Run one reach job as N processes on this machine (loopback), to try
# cluster mode without a cluster.
#
#   cluster/local.sh N [reach run arguments...]
#   cluster/local.sh 2 --friendships data/f.csv --output out/x --workers 1
#
# Writes a hostfile of 127.0.0.1 ports, starts processes 0..N-1 in the
# background, waits for all of them, and exits with the first non-zero exit
# code (or 0). If one process fails, the others are stopped: timely keeps
# retrying connections forever, so a launcher must not wait on them blindly.
set -euo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ || "$1" -lt 1 ]]; then
    echo "usage: $0 N [reach run arguments...]" >&2
    exit 2
fi
processes=$1
shift
reach=${REACH:-"$(dirname "$0")/../target/release/reach"}
if [[ ! -x "$reach" ]]; then
    echo "no reach binary at $reach: run 'cargo build --release' or set REACH=/path/to/reach" >&2
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
    "$reach" run "$@" --processes "$processes" --process "$p" --hostfile "$hostfile" &
    pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
    if ! wait "$pid"; then
        code=$?
        if [[ $status -eq 0 ]]; then
            status=$code
            # One process failed: its peers would wait for it forever.
            kill "${pids[@]}" 2>/dev/null || true
        fi
    fi
done
exit $status

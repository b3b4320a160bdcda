#!/usr/bin/env bash
# Scaling benchmark: one process against two, and the largest graph that fits.
#
# Usage:
#   benches/scaling.sh [USERS]                 # scaling mode, default USERS=1000000
#   benches/scaling.sh largest [USERS...]      # largest-graph mode, default 2M 4M 8M 16M
#
# Environment:
#   TABLES=all          also read adoptions (every table); default: friendships only
#   REPEAT=N            run each configuration N times (fastest time, largest peak RSS)
#   CARGO_TARGET_DIR, SKIP_BUILD=1, REACH_BIN=PATH, QUIET_WAIT=S: as in benches/batch.sh
#   MEM_LIMIT_GB=G      largest mode: skip a size whose predicted peak RSS (from
#                       the bytes per friendship of the previous size) exceeds G
#                       (default 22, leaving room below the machine's 24 GB)
#   BASE_PORT           first loopback port for the two-process runs (default 2101)
#
# Scaling mode, on the graph of `reach generate --users USERS --mean-degree 90
# --seed 7` (written once to target/bench-data/USERS/, as benches/batch.sh):
#   1x1  reach run --workers 1
#   1x2  reach run --workers 2
#   2x1  cluster/local.sh 2 --workers 1   (two processes on loopback)
# measured with /usr/bin/time -v (for 2x1: each process, peak RSS summed),
# bytes exchanged between the processes from run.json, the outputs checked
# byte-identical (run.json aside), and a table with the target 2x1 <= 1.2 x 1x2.
#
# Largest mode: for each USERS in turn, a generated job (in memory, no files;
# the generator always makes adoptions too, so every table is computed and
# TABLES does not apply) run as 1 process x 2 workers; prints peak RSS and
# bytes per friendship, and stops at the first size that fails or is
# predicted not to fit.
#
# Writes its report to target/bench-results/scaling-<date>-<time>.md.
# Needs: cargo, /usr/bin/time (the Debian package `time`, installed when missing).

set -euo pipefail

# One { ... } block: bash parses it all before running, so editing this file
# during a benchmark cannot derail the running copy.
{

MODE=scaling
if [[ "${1:-}" == largest ]]; then
    MODE=largest
    shift
    SIZES=("$@")
    ((${#SIZES[@]})) || SIZES=(2000000 4000000 8000000 16000000)
else
    SIZES=("${1:-1000000}")
fi
for size in "${SIZES[@]}"; do
    [[ "$size" =~ ^[0-9]+$ ]] || { echo "usage: $0 [USERS] | $0 largest [USERS...]" >&2; exit 2; }
done
REPEAT="${REPEAT:-1}"
TABLES="${TABLES:-friendships}"
MEM_LIMIT_GB="${MEM_LIMIT_GB:-22}"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "REPEAT must be a positive integer" >&2; exit 2; }
[[ "$TABLES" == friendships || "$TABLES" == all ]] || { echo "TABLES is friendships or all" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REACH="$TARGET/release/reach"
RESULTS="$ROOT/target/bench-results"
STAMP="$(date +%Y-%m-%d-%H%M%S)"
REPORT="$RESULTS/scaling-$STAMP.md"
TARGET_RATIO=1.2   # 2x1 within 1.2x of 1x2 (the issue's target)

# log, need_time, busy_seconds, busy_rivals, wait_quiet (idle machine), machine_line.
source "$ROOT/benches/lib.sh"

need_time

if [[ -n "${REACH_BIN:-}" ]]; then
    REACH="$REACH_BIN"
elif [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release (target: $TARGET)"
    cargo build --release --quiet || { log "build failed"; exit 1; }
fi
[[ -x "$REACH" ]] || { echo "no binary at $REACH" >&2; exit 1; }
WORK="$ROOT/target/bench-out/scaling"
mkdir -p "$WORK" "$RESULTS"
# Measure a private copy: another cargo build may replace the binary mid-run.
[[ "$REACH" -ef "$WORK/reach" ]] || cp -p "$REACH" "$WORK/reach"
REACH="$WORK/reach"

QUIET_WAIT="${QUIET_WAIT:-600}"

# Fields of `/usr/bin/time -v` files: wall seconds, CPU seconds, peak RSS kB.
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
                for (k = 1; k <= n; k++) s = s * 60 + p[k]; printf "%.2f", s }' "$1"; }
cpu_of() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$@"; }
rss_of() { awk -F': ' '/Maximum resident set size/ { s += $2 } END { print s }' "$@"; }

# measure NAME PROCESSES CMD...: REPEAT runs; WALL/CPU of the fastest, RSS_KB
# the largest (summed over processes); CMD writes its time files to $TIMES.
declare -A WALL CPU RSS_KB
measure() {
    local name="$1" processes="$2"; shift 2
    local i wall cpu rss start
    for ((i = 1; i <= REPEAT; i++)); do
        wait_quiet
        log "run $name ($i/$REPEAT): $*"
        TIMES="$WORK/$name.times.$i"; rm -rf "$TIMES"; mkdir -p "$TIMES"
        start=$(date +%s.%N)
        if ! "$@" > "$WORK/$name.stdout" 2> "$WORK/$name.stderr"; then
            log "$name failed; stderr:"; tail -20 "$WORK/$name.stderr" >&2
            return 1
        fi
        wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
        cpu=$(cpu_of "$TIMES"/*.time)
        rss=$(rss_of "$TIMES"/*.time)
        log "  $name: ${wall}s wall, ${cpu}s cpu, $((rss / 1024)) MB peak RSS ($processes process(es))"
        if [[ -z "${WALL[$name]:-}" ]] || awk -v a="$wall" -v b="${WALL[$name]}" 'BEGIN { exit !(a < b) }'; then
            WALL[$name]=$wall; CPU[$name]=$cpu
        fi
        if ((rss > ${RSS_KB[$name]:-0})); then RSS_KB[$name]=$rss; fi
    done
}
one_process() { /usr/bin/time -v -o "$TIMES/process-0.time" "$REACH" run "$@"; }
two_processes() {
    REACH="$REACH" REACH_TIME_DIR="$TIMES" BASE_PORT="${BASE_PORT:-2101}" \
        "$ROOT/cluster/local.sh" 2 "$@"
}
distinct_friendships() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["friendships"])' "$1/summary.json"
}
# Bytes process 0 sent to and received from process 1 (run.json).
exchanged() {
    python3 -c 'import json,sys; p = json.load(open(sys.argv[1]))["per_process"][0]
print(p["bytes_sent"] + p["bytes_received"])' "$1/run.json"
}

machine="$(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(free -g | awk '/Mem:/ { print $2 }') GB RAM"
GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || GIT_REV="$GIT_REV+uncommitted changes"

if [[ "$MODE" == scaling ]]; then
    USERS="${SIZES[0]}"
    DATA="$ROOT/target/bench-data/$USERS"
    if [[ ! -s "$DATA/friendships.csv" ]]; then
        log "generating $USERS users into $DATA"
        rm -rf "$DATA.tmp"
        "$REACH" generate --users "$USERS" --mean-degree 90 --seed 7 --out "$DATA.tmp" --quiet
        rm -rf "$DATA"; mv "$DATA.tmp" "$DATA"
    fi
    INPUTS=(--friendships "$DATA/friendships.csv")
    [[ "$TABLES" == all ]] && INPUTS+=(--adoptions "$DATA/adoptions.csv")
    cat "$DATA"/*.csv > /dev/null   # warm the page cache

    measure 1x1 1 one_process "${INPUTS[@]}" --output "$WORK/1x1" --workers 1 --quiet
    measure 1x2 1 one_process "${INPUTS[@]}" --output "$WORK/1x2" --workers 2 --quiet
    measure 2x1 2 two_processes "${INPUTS[@]}" --output "$WORK/2x1" --workers 1 --quiet

    FRIENDSHIPS=$(distinct_friendships "$WORK/1x2")
    CHECKS=()
    for run in 1x1 2x1; do
        if diff -rq -x run.json "$WORK/1x2" "$WORK/$run" > /dev/null; then
            CHECKS+=("$run output = 1x2 output, byte for byte (run.json aside)")
        else
            CHECKS+=("$run output differs from 1x2"); MISMATCH=1
        fi
    done
    RATIO=$(awk -v a="${WALL[2x1]}" -v b="${WALL[1x2]}" 'BEGIN { printf "%.2f", a / b }')
    row() {
        awk -v label="$1" -v wall="${WALL[$1]}" -v cpu="${CPU[$1]}" -v kb="${RSS_KB[$1]}" \
            -v fr="$FRIENDSHIPS" 'BEGIN { printf "| %s | %.2f | %.2f | %.0f | %.1f |\n",
                label, wall, cpu, kb / 1024, kb * 1024 / fr }'
    }
    {
        echo "# reach scaling benchmark, $STAMP"
        echo
        echo "- machine: $machine"
        echo "- reach: $GIT_REV, binary sha256 $(sha256sum "$REACH" | cut -c1-12)"
        echo "- input: \`reach generate --users $USERS --mean-degree 90 --seed 7\`, $TABLES ($FRIENDSHIPS distinct friendships)"
        echo "- 2x1: two processes on loopback (cluster/local.sh); peak RSS is the sum of both"
        echo
        echo "| processes x workers | wall s | CPU s | peak RSS MB | RSS bytes/friendship |"
        echo "|---|---:|---:|---:|---:|"
        row 1x1; row 1x2; row 2x1
        echo
        echo "- 2x1 time / 1x2 time: $RATIO (target <= $TARGET_RATIO: $(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t ? "met" : "NOT met") }'))"
        echo "- bytes exchanged between the two processes (run.json): $(exchanged "$WORK/2x1")"
        echo
        echo "Checks:"
        for c in "${CHECKS[@]}"; do echo "- $c"; done
    } | tee "$REPORT"
else
    {
        echo "# reach largest-graph benchmark, $STAMP"
        echo
        echo "- machine: $machine"
        echo "- reach: $GIT_REV; 1 process x 2 workers, generated in memory ([generate], seed 7, mean degree 90), all tables"
        echo
        echo "| users | distinct friendships | wall s | peak RSS MB | RSS bytes/friendship |"
        echo "|---:|---:|---:|---:|---:|"
    } | tee "$REPORT"
    per_friendship=""
    for USERS in "${SIZES[@]}"; do
        if [[ -n "$per_friendship" ]]; then
            predicted_gb=$(awk -v b="$per_friendship" -v u="$USERS" 'BEGIN { printf "%.1f", b * u * 45 / 1e9 }')
            if awk -v p="$predicted_gb" -v l="$MEM_LIMIT_GB" 'BEGIN { exit !(p > l) }'; then
                echo "- $USERS users: predicted ${predicted_gb} GB > MEM_LIMIT_GB=$MEM_LIMIT_GB, not run" | tee -a "$REPORT"
                break
            fi
        fi
        JOB="$WORK/largest-$USERS.toml"
        printf '[generate]\nusers = %s\nmean_degree = 90\nseed = 7\n\n[output]\ndir = "%s"\n' \
            "$USERS" "$WORK/largest-$USERS" > "$JOB"
        name="largest-$USERS"
        if ! measure "$name" 1 one_process "$JOB" --workers 2 --quiet; then
            echo "- $USERS users: failed (see $WORK/$name.stderr)" | tee -a "$REPORT"
            break
        fi
        FRIENDSHIPS=$(distinct_friendships "$WORK/largest-$USERS")
        per_friendship=$(awk -v kb="${RSS_KB[$name]}" -v fr="$FRIENDSHIPS" 'BEGIN { printf "%.1f", kb * 1024 / fr }')
        echo "| $USERS | $FRIENDSHIPS | ${WALL[$name]} | $((RSS_KB[$name] / 1024)) | $per_friendship |" | tee -a "$REPORT"
        rm -rf "$WORK/largest-$USERS"
    done
fi
log "written $REPORT"
[[ -z "${MISMATCH:-}" ]] || { log "outputs differ (see Checks)"; exit 1; }
exit 0
}

#!/usr/bin/env bash
# The cost of the shuffle test (topic_significance): the full job on a
# generated graph with shuffle_rounds = 0, 10 and 100, 2 workers, release
# build. Prints a markdown table (wall and CPU time, peak RSS, ratios to the
# first R; CPU time is the steadier figure on a shared machine) and
# writes it to target/bench-results/significance-<date>-<time>.md.
#
#   benches/significance.sh            # 100,000 users (mean degree 90, seed 7)
#   benches/significance.sh 30000      # smaller
#   REPEAT=3 benches/significance.sh   # fastest of 3 runs per R
#   SKIP_BUILD=1 / REACH_BIN=path      # measure the last build / a given binary
#   QUIET_WAIT=60                      # wait at most 60 s (default 300) for an idle machine
#
# The data is generated once into target/bench-data/USERS/ (shared with
# benches/batch.sh). Every run's output must be byte-identical to the
# R = 0 run on every table but topic_significance (checked; exit 1 if not).
set -euo pipefail

USERS="${1:-100000}"
REPEAT="${REPEAT:-1}"
ROUNDS="${ROUNDS:-0 10 100}"
[[ "$USERS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [USERS]" >&2; exit 2; }
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "REPEAT must be a positive integer" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REACH="${REACH_BIN:-$TARGET/release/reach}"
DATA="$ROOT/target/bench-data/$USERS"
OUT="$ROOT/target/bench-out/significance-$USERS"
RESULTS="$ROOT/target/bench-results"
REPORT="$RESULTS/significance-$(date +%Y-%m-%d-%H%M%S).md"
# log, need_time, busy_seconds, busy_rivals, wait_quiet (idle machine), machine_line.
source "$ROOT/benches/lib.sh"
QUIET_WAIT="${QUIET_WAIT:-300}"

need_time
if [[ -z "${REACH_BIN:-}" && "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release"
    cargo build --release --quiet
fi
[[ -x "$REACH" ]] || { echo "no binary at $REACH" >&2; exit 1; }
mkdir -p "$OUT" "$RESULTS"
cp -p "$REACH" "$OUT/reach.bin"
REACH="$OUT/reach.bin"

if [[ ! -s "$DATA/adoptions.csv" ]]; then
    log "generating $USERS users into $DATA"
    rm -rf "$DATA.tmp"
    "$REACH" generate --users "$USERS" --mean-degree 90 --seed 7 --out "$DATA.tmp" --quiet
    rm -rf "$DATA"
    mv "$DATA.tmp" "$DATA"
fi
cat "$DATA/friendships.csv" "$DATA/adoptions.csv" > /dev/null   # warm the page cache


declare -A SECS CPU RSS BUSY
for r in $ROUNDS; do
    best=""; cpu=""; peak=0
    for ((i = 0; i < REPEAT; i++)); do
        wait_quiet
        BUSY[$r]="${QUIET_BUSY:-?}"
        /usr/bin/time -v -o "$OUT/r$r.time" "$REACH" run --friendships "$DATA/friendships.csv" \
            --adoptions "$DATA/adoptions.csv" --output "$OUT/r$r" --workers 2 --quiet \
            --set "shuffle_rounds=$r"
        s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); t = 0; for (j = 1; j <= n; j++) t = t * 60 + p[j]; print t }' "$OUT/r$r.time")
        m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/r$r.time")
        c=$(awk -F': ' '/User time|System time/ { t += $2 } END { print t }' "$OUT/r$r.time")
        [[ -z "$best" ]] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$s
        [[ -z "$cpu" ]] || awk -v a="$c" -v b="$cpu" 'BEGIN { exit !(a < b) }' && cpu=$c
        ((m > peak)) && peak=$m
        log "R=$r run $((i + 1)): ${s} s wall, ${c} s CPU, ${m} KB"
    done
    SECS[$r]=$best; CPU[$r]=$cpu; RSS[$r]=$peak
done

# Every table but topic_significance is the same with the test on or off.
first=${ROUNDS%% *}
for r in $ROUNDS; do
    if ! diff -r -q -x run.json -x summary.json -x topic_significance "$OUT/r$first" "$OUT/r$r" >/dev/null; then
        echo "[bench] R=$r changed the other tables" >&2; exit 1
    fi
done

last=$(echo $ROUNDS | awk '{ print $NF }')
ROWS=0
table="$OUT/r$last/topic_significance/part-00000.csv"
[[ -f "$table" ]] && ROWS=$(( $(wc -l < "$table") - 1 ))

{
    echo "## Shuffle test cost, $USERS users, 2 workers ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "- machine: $(nproc) CPUs, $(lscpu | awk -F': *' '/Model name/ { print $2; exit }'), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)"
    echo "- revision: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)'); fastest of $REPEAT run(s) per R"
    echo "- topics with a row in topic_significance: $ROWS"
    echo
    echo "| R | wall s | ratio | CPU s (user+sys) | ratio | peak RSS MB | CPUs busy with others before the run |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    for r in $ROUNDS; do
        ratio=$(awk -v a="${SECS[$r]}" -v b="${SECS[$first]}" 'BEGIN { printf "%.2f", a / b }')
        cratio=$(awk -v a="${CPU[$r]}" -v b="${CPU[$first]}" 'BEGIN { printf "%.2f", a / b }')
        echo "| $r | ${SECS[$r]} | $ratio | ${CPU[$r]} | $cratio | $((RSS[$r] / 1024)) | ${BUSY[$r]} |"
    done
} | tee "$REPORT"

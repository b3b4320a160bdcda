#!/usr/bin/env bash
# Batch benchmark: `reach run` (1 and 2 workers) against a DuckDB yardstick.
#
# Usage:
#   benches/batch.sh [USERS]            # default USERS=1000000 (~45M friendship lines)
#
# Environment:
#   REPEAT=N            run each configuration N times (default 1): the times of
#                       the fastest run and the largest peak RSS are reported
#   CARGO_TARGET_DIR    where cargo builds (default target/); use e.g.
#                       /tmp/target-bench when another cargo holds the lock
#   SKIP_BUILD=1        use the existing release binary as is
#   REACH_BIN=PATH      measure this reach binary instead (no build), e.g. one
#                       built from `git archive HEAD` in a scratch directory
#   QUIET_WAIT=S        before each run, wait up to S seconds (default 600) for
#                       the machine to be idle (other processes using < 10% of
#                       the CPUs); other builds running at the same time make
#                       2-thread numbers meaningless. The CPU the rest of the
#                       machine used during each run is reported ("others CPU s").
#
# What it does, in one run:
#   1. cargo build --release (the binary under test);
#   2. generates the graph once into target/bench-data/USERS/ (kept between runs):
#      reach generate --users USERS --mean-degree 90 --seed 7;
#   3. measures with /usr/bin/time -v, the file cache warm:
#        reach run --friendships F --workers 1 --quiet
#        reach run --friendships F --workers 2 --quiet
#        python3 benches/duckdb_batch.py F OUT --threads 2   (DuckDB in a venv
#        under target/bench-venv, installed with pip when missing)
#      wall seconds, CPU seconds, peak RSS, friendship lines per second and
#      bytes of peak RSS per distinct friendship (counts.friendships of the
#      reach summary.json);
#   4. checks that DuckDB's users table equals reach's (user_id, friend_count,
#      tier; both sorted) and that the 1- and 2-worker outputs are identical;
#   5. prints a markdown table with the ratios and the targets, and writes it to
#      target/bench-results/batch-<date>-<time>.md.
#
# Needs: cargo, python3 (with venv), /usr/bin/time (the Debian package `time`,
# installed with apt-get when missing).

set -euo pipefail

# The whole script is one { ... } block, so bash parses it before running it:
# editing this file while a benchmark runs cannot derail the running copy.
{

USERS="${1:-1000000}"
REPEAT="${REPEAT:-1}"
[[ "$USERS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [USERS]" >&2; exit 2; }
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "REPEAT must be a positive integer" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REACH="$TARGET/release/reach"
DATA="$ROOT/target/bench-data/$USERS"
FRIENDSHIPS="$DATA/friendships.csv"
OUT="$ROOT/target/bench-out/$USERS"
RESULTS="$ROOT/target/bench-results"
VENV="$ROOT/target/bench-venv"
STAMP="$(date +%Y-%m-%d-%H%M%S)"
REPORT="$RESULTS/batch-$STAMP.md"

# Targets from the issue.
TARGET_SPEEDUP=1.6      # 2 workers at least 1.6x faster than 1
TARGET_BYTES=100        # peak RSS under 100 bytes per friendship

# log, need_time, busy_seconds, busy_rivals, wait_quiet (idle machine), machine_line.
source "$ROOT/benches/lib.sh"

# ---------------------------------------------------------------- tools
need_time

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    log "installing duckdb into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q duckdb
fi
DUCKDB_VERSION="$("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')"

# ---------------------------------------------------------------- build
if [[ -n "${REACH_BIN:-}" ]]; then
    REACH="$REACH_BIN"
elif [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "cargo build --release (target: $TARGET)"
    cargo build --release --quiet || {
        echo "[bench] build failed; SKIP_BUILD=1 measures the last binary built at $REACH" >&2
        exit 1
    }
fi
[[ -x "$REACH" ]] || { echo "no binary at $REACH" >&2; exit 1; }
# Measure a private copy: another cargo build may replace target/release/reach mid-run.
mkdir -p "$OUT"
[[ "$REACH" -ef "$OUT/reach" ]] || cp -p "$REACH" "$OUT/reach"
REACH="$OUT/reach"

# ---------------------------------------------------------------- data
if [[ ! -s "$FRIENDSHIPS" ]]; then
    log "generating $USERS users into $DATA"
    rm -rf "$DATA.tmp"
    "$REACH" generate --users "$USERS" --mean-degree 90 --seed 7 --out "$DATA.tmp" --quiet
    rm -rf "$DATA"
    mv "$DATA.tmp" "$DATA"
fi
LINES=$(( $(wc -l < "$FRIENDSHIPS") - 1 ))   # minus the header
INPUT_BYTES=$(stat -c %s "$FRIENDSHIPS")
log "input: $FRIENDSHIPS ($LINES lines, $INPUT_BYTES bytes)"
cat "$FRIENDSHIPS" > /dev/null   # warm the page cache: every run reads from memory

# ---------------------------------------------------------------- measuring
mkdir -p "$OUT" "$RESULTS"
QUIET_WAIT="${QUIET_WAIT:-600}"   # see wait_quiet in benches/lib.sh

measure reach-1w "$REACH" run --friendships "$FRIENDSHIPS" --output "$OUT/reach-1w" --workers 1 --quiet
measure reach-2w "$REACH" run --friendships "$FRIENDSHIPS" --output "$OUT/reach-2w" --workers 2 --quiet
measure duckdb-2t "$VENV/bin/python" benches/duckdb_batch.py "$FRIENDSHIPS" "$OUT/duckdb-2t" --threads 2

FRIENDSHIPS_DISTINCT=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["friendships"])' "$OUT/reach-2w/summary.json")
DUCK_FRIENDSHIPS=$("$VENV/bin/python" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["friendships"])' "$OUT/duckdb-2t.stdout")

# ---------------------------------------------------------------- checks
# users: user_id,friend_count,tier (columns 1, 2, 7), sorted, header dropped.
users_key() { tail -q -n +2 "$@" | cut -d, -f1,2,7 | LC_ALL=C sort; }
CHECKS=()
users_key "$OUT"/reach-2w/users/part-*.csv > "$OUT/reach-2w.users.sorted"
users_key "$OUT"/duckdb-2t/users.csv > "$OUT/duckdb-2t.users.sorted"
if cmp -s "$OUT/reach-2w.users.sorted" "$OUT/duckdb-2t.users.sorted"; then
    CHECKS+=("users (user_id, friend_count, tier): DuckDB = reach, $(wc -l < "$OUT/reach-2w.users.sorted") rows")
else
    CHECKS+=("users: DuckDB != reach (see diff of $OUT/{reach-2w,duckdb-2t}.users.sorted)")
    diff "$OUT/reach-2w.users.sorted" "$OUT/duckdb-2t.users.sorted" | head -10 >&2 || true
    MISMATCH=1
fi
if cmp -s <(tail -n +2 "$OUT/reach-2w/degree_distribution/part-00000.csv") \
          <(tail -n +2 "$OUT/duckdb-2t/degree_distribution.csv"); then
    CHECKS+=("degree_distribution: DuckDB = reach")
else
    CHECKS+=("degree_distribution: DuckDB != reach"); MISMATCH=1
fi
if [[ "$FRIENDSHIPS_DISTINCT" == "$DUCK_FRIENDSHIPS" ]]; then
    CHECKS+=("distinct friendships: DuckDB = reach = $FRIENDSHIPS_DISTINCT")
else
    CHECKS+=("distinct friendships: DuckDB $DUCK_FRIENDSHIPS != reach $FRIENDSHIPS_DISTINCT"); MISMATCH=1
fi
if diff -rq -x run.json "$OUT/reach-1w" "$OUT/reach-2w" > /dev/null; then
    CHECKS+=("reach --workers 1 and --workers 2 outputs: byte-identical (run.json aside)")
else
    CHECKS+=("reach --workers 1 and --workers 2 outputs differ"); MISMATCH=1
fi

# ---------------------------------------------------------------- report
row() {  # row NAME LABEL
    awk -v label="$2" -v wall="${WALL[$1]}" -v cpu="${CPU[$1]}" -v kb="${RSS_KB[$1]}" \
        -v lines="$LINES" -v fr="$FRIENDSHIPS_DISTINCT" -v others="${OTHERS[$1]}" 'BEGIN {
        printf "| %s | %.2f | %.2f | %.0f | %.2f | %.1f | %.1f |\n",
            label, wall, cpu, kb / 1024, lines / wall / 1e6, kb * 1024 / fr, others }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "NOT met") }'; }

SPEEDUP=$(ratio "${WALL[reach-1w]}" "${WALL[reach-2w]}")
VS_DUCK=$(ratio "${WALL[reach-2w]}" "${WALL[duckdb-2t]}")
BYTES_2W=$(awk -v kb="${RSS_KB[reach-2w]}" -v fr="$FRIENDSHIPS_DISTINCT" 'BEGIN { printf "%.1f", kb * 1024 / fr }')
BYTES_1W=$(awk -v kb="${RSS_KB[reach-1w]}" -v fr="$FRIENDSHIPS_DISTINCT" 'BEGIN { printf "%.1f", kb * 1024 / fr }')
GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || GIT_REV="$GIT_REV+uncommitted changes"
if [[ -n "${REACH_BIN:-}" ]]; then
    GIT_REV="given binary $REACH_BIN (work tree: $GIT_REV)"
fi

{
    echo "# reach batch benchmark, $STAMP"
    echo
    echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(free -g | awk '/Mem:/ { print $2 }') GB RAM"
    echo "- reach: $GIT_REV, binary built $(date -u -r "$REACH" +%FT%TZ) sha256 $(sha256sum "$REACH" | cut -c1-12) ($(rustc --version 2>/dev/null || echo 'rustc ?')); DuckDB $DUCKDB_VERSION (Python)"
    echo "- input: \`reach generate --users $USERS --mean-degree 90 --seed 7\`: $LINES lines ($((INPUT_BYTES / 1000000)) MB), $FRIENDSHIPS_DISTINCT distinct friendships"
    if ((REPEAT > 1)); then
        echo "- each configuration run $REPEAT times: times of the fastest run, the largest peak RSS of all; file cache warm, \`/usr/bin/time -v\`"
    else
        echo "- each configuration run once, file cache warm, \`/usr/bin/time -v\`"
    fi
    echo
    echo "| run | wall s | CPU s | peak RSS MB | M lines/s | RSS bytes/friendship | others CPU s |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    row reach-1w "reach --workers 1"
    row reach-2w "reach --workers 2"
    row duckdb-2t "DuckDB, 2 threads"
    echo
    echo "| ratio | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| reach 2w speedup over 1w | ${SPEEDUP}x | >= ${TARGET_SPEEDUP}x | $(verdict "$(awk -v s="$SPEEDUP" -v t="$TARGET_SPEEDUP" 'BEGIN { print (s >= t) }')") |"
    echo "| reach 2w time / DuckDB time | $VS_DUCK | <= 1.00 | $(verdict "$(awk -v r="${WALL[reach-2w]}" -v d="${WALL[duckdb-2t]}" 'BEGIN { print (r <= d) }')") |"
    echo "| reach 2w peak RSS per friendship | $BYTES_2W B | < $TARGET_BYTES B | $(verdict "$(awk -v b="$BYTES_2W" -v t="$TARGET_BYTES" 'BEGIN { print (b < t) }')") |"
    echo "| reach 1w peak RSS per friendship | $BYTES_1W B | < $TARGET_BYTES B | $(verdict "$(awk -v b="$BYTES_1W" -v t="$TARGET_BYTES" 'BEGIN { print (b < t) }')") |"
    echo
    for name in reach-1w reach-2w duckdb-2t; do
        # Noisy: the rest of the machine used more than 10% of the CPUs meanwhile.
        if awk -v o="${OTHERS[$name]}" -v w="${WALL[$name]}" -v n="$(nproc)" 'BEGIN { exit !(o > 0.1 * w * n) }'; then
            echo "**Noisy:** other processes used ${OTHERS[$name]} CPU s during $name (${WALL[$name]} s wall); rerun on an idle machine."
            echo
        fi
    done
    echo "Checks:"
    for c in "${CHECKS[@]}"; do echo "- $c"; done
    echo
    echo "DuckDB stages: $(tail -n 1 "$OUT/duckdb-2t.stdout")"
} | tee "$REPORT"

log "written $REPORT"
if [[ -n "${MISMATCH:-}" ]]; then
    log "the outputs do not agree (see Checks above)"
    exit 1
fi
exit 0
}

#!/usr/bin/env bash
# Text user ids against integer ids: `reach run` (all tables, 2 workers) on
# the same generated graph, once with integer ids and once with text handles
# (`reach generate --text-ids`, run with `--ids text`).
#
# Usage:
#   benches/text_ids.sh [USERS]         # default USERS=1000000 (~45M friendship lines)
#
# Environment:
#   REPEAT=N          run each configuration N times (default 1): the fastest
#                     run's times and the largest peak RSS are reported
#   BUILD=1           rebuild target/release/reach first (else built when missing)
#   REACH_BIN=PATH    measure this binary instead
#   QUIET_WAIT=S      wait up to S seconds for an idle machine before each run
#   WORKERS=N         workers of both runs (default 2)
#
# What it does, in one run:
#   1. generates the graph twice into target/bench-data/ids-USERS/{integer,text}
#      (kept between runs): reach generate --users USERS --seed 7 [--text-ids];
#      the text files hold the same graph with 13-25 byte handles;
#   2. measures with /usr/bin/time -v, the file cache warm:
#        reach run --friendships F --adoptions A --workers 2 --quiet
#        reach run --friendships F' --adoptions A' --workers 2 --quiet --ids text
#   3. checks that the tables that hold no user id (degree_distribution,
#      topics) are byte-identical and the summary counts equal;
#   4. prints the time and peak memory ratios (target: at most 1.3x each) and
#      writes them to target/bench-results/text_ids-<date>-<time>.md.
#
# Needs: cargo, /usr/bin/time (Debian package `time`, installed when missing).

set -euo pipefail
{

USERS="${1:-1000000}"
WORKERS="${WORKERS:-2}"
[[ "$USERS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [USERS]" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="$ROOT/target/bench-data/ids-$USERS"
OUT="$ROOT/target/bench-out/ids-$USERS"
RESULTS="$ROOT/target/bench-results"
STAMP="$(date +%Y-%m-%d-%H%M%S)"
REPORT="$RESULTS/text_ids-$STAMP.md"
TARGET_RATIO=1.3

source "$ROOT/benches/lib.sh"
need_time
mkdir -p "$OUT" "$RESULTS"
REACH="$(private_binary "${REACH_BIN:-$ROOT/target/release/reach}" "$OUT")"

for kind in integer text; do
    if [[ ! -s "$DATA/$kind/friendships.csv" ]]; then
        flag=(); [[ "$kind" == text ]] && flag=(--text-ids)
        log "generating $USERS users ($kind ids) into $DATA/$kind"
        rm -rf "$DATA/$kind.tmp"
        "$REACH" generate --users "$USERS" --mean-degree 90 --seed 7 "${flag[@]}" --out "$DATA/$kind.tmp" --quiet
        rm -rf "$DATA/$kind"
        mv "$DATA/$kind.tmp" "$DATA/$kind"
    fi
    cat "$DATA/$kind/friendships.csv" "$DATA/$kind/adoptions.csv" > /dev/null   # warm the cache
done
LINES=$(( $(wc -l < "$DATA/integer/friendships.csv") - 1 ))

measure integer "$REACH" run --friendships "$DATA/integer/friendships.csv" \
    --adoptions "$DATA/integer/adoptions.csv" --output "$OUT/integer" --workers "$WORKERS" --quiet
measure text "$REACH" run --ids text --friendships "$DATA/text/friendships.csv" \
    --adoptions "$DATA/text/adoptions.csv" --output "$OUT/text" --workers "$WORKERS" --quiet

CHECKS=()
for table in degree_distribution topics; do
    if cmp -s "$OUT/integer/$table/part-00000.csv" "$OUT/text/$table/part-00000.csv"; then
        CHECKS+=("$table: byte-identical")
    else
        CHECKS+=("$table: DIFFERS"); MISMATCH=1
    fi
done
counts() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"])' "$1/summary.json"; }
if [[ "$(counts "$OUT/integer")" == "$(counts "$OUT/text")" ]]; then
    CHECKS+=("summary counts equal: $(counts "$OUT/text")")
else
    CHECKS+=("summary counts differ"); MISMATCH=1
fi
for table in users user_topics topic_leaders; do
    a=$(cat "$OUT/integer/$table"/part-*.csv | wc -l); b=$(cat "$OUT/text/$table"/part-*.csv | wc -l)
    [[ "$a" == "$b" ]] && CHECKS+=("$table: $a lines in both") || { CHECKS+=("$table: $a vs $b lines"); MISMATCH=1; }
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
TIME_RATIO=$(ratio "${WALL[text]}" "${WALL[integer]}")
RSS_RATIO=$(ratio "${RSS_KB[text]}" "${RSS_KB[integer]}")
verdict() { awk -v r="$1" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t ? "met" : "NOT met") }'; }
{
    echo "# text ids against integer ids, $STAMP"
    echo
    machine_line
    echo "- input: \`reach generate --users $USERS --mean-degree 90 --seed 7\` ($LINES friendship lines), and the same with \`--text-ids\`; all tables, $WORKERS workers"
    echo
    echo "| run | wall s | CPU s | peak RSS MB | input MB |"
    echo "|---|---:|---:|---:|---:|"
    for kind in integer text; do
        mb=$(du -m --apparent-size -c "$DATA/$kind/friendships.csv" "$DATA/$kind/adoptions.csv" | tail -1 | cut -f1)
        printf '| %s ids | %.2f | %.2f | %.0f | %s |\n' "$kind" "${WALL[$kind]}" "${CPU[$kind]}" \
            "$(awk -v k="${RSS_KB[$kind]}" 'BEGIN { print k / 1024 }')" "$mb"
    done
    echo
    echo "| ratio text / integer | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| time | ${TIME_RATIO}x | <= ${TARGET_RATIO}x | $(verdict "$TIME_RATIO") |"
    echo "| peak memory | ${RSS_RATIO}x | <= ${TARGET_RATIO}x | $(verdict "$RSS_RATIO") |"
    echo
    noisy_note
    echo "Checks:"
    for c in "${CHECKS[@]}"; do echo "- $c"; done
    echo
} | tee "$REPORT"
log "written $REPORT"
[[ -z "${MISMATCH:-}" ]]
}

#!/usr/bin/env bash
# Nightly benchmark: `reach serve` over NIGHTS generated nights on the
# USERS-user graph, 2 workers, against a full batch recompute.
#
# Usage:
#   benches/nightly.sh [USERS] [NIGHTS]     # defaults 1000000 and 30
#
# Environment: REACH_BIN=PATH (measure this binary), BUILD=1 (cargo build
# --release first), QUIET_WAIT=S (wait up to S s, default 3600, for an idle
# machine before each measured run; see benches/README.md).
#
# What it does, in one run:
#   1. generates the base and NIGHTS nights once into
#      target/bench-data/USERS-nNIGHTS/ (reach generate --seed 7 --nights N:
#      each night removes ~0.3% of the friendships, adds as many, and has a
#      day of new adoptions plus a few removals and no-ops);
#   2. `reach run` of the base alone, 2 workers: the full recompute a batch
#      engine pays every night (the graph after the nights has the same size
#      within the nights' churn);
#   3. `reach serve --drain` of the base plus every night (2 workers), under
#      /usr/bin/time -v: the per-night lines give the dataflow time of each
#      night ("computed"), the time to write and publish its tables, feed and
#      checkpoint ("published") and the resident memory after it;
#   4. `reach serve --drain` again with an empty inbox: the restart time from
#      the checkpoint; checks that the final tables equal a batch
#      `reach run --deltas` over the same nights;
#   5. the one well-written thread (../shared/yardstick/one-thread
#      --incremental, YARDSTICK=PATH to override) on the same base and
#      nights: its apply and feed-write time per night and its bytes per
#      friendship, so that every ratio comes from one run;
#   6. prints a markdown report (also in target/bench-results/nightly-*.md).
#
# Per-night figures of serve come from its run.json (`nights`: computed,
# published, resident bytes), not from the log.

set -euo pipefail
{
USERS="${1:-1000000}"
NIGHTS="${2:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source benches/lib.sh

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
REACH="${REACH_BIN:-$TARGET/release/reach}"
DATA="$ROOT/target/bench-data/$USERS-n$NIGHTS"
OUT="$ROOT/target/bench-out/nightly-$USERS-n$NIGHTS"
RESULTS="$ROOT/target/bench-results"
REPORT="$RESULTS/nightly-$(date +%Y-%m-%d-%H%M%S).md"
mkdir -p "$RESULTS"

need_time
REACH_SOURCE="$REACH"
REACH="$(private_binary "$REACH" "$OUT")"

if [[ ! -d "$DATA/nights" ]]; then
    log "generating $USERS users and $NIGHTS nights into $DATA"
    rm -rf "$DATA.tmp"
    "$REACH" generate --users "$USERS" --seed 7 --nights "$NIGHTS" --out "$DATA.tmp" --quiet
    rm -rf "$DATA"; mv "$DATA.tmp" "$DATA"
fi
BASE=(--friendships "$DATA/friendships.csv" --adoptions "$DATA/adoptions.csv")
cat "$DATA/friendships.csv" "$DATA/adoptions.csv" > /dev/null

# 2. The full recompute.
measure full "$REACH" run "${BASE[@]}" --output "$OUT/full" -w 2 --quiet

# 3. Serve the base and every night.
rm -rf "$OUT/serve" "$OUT/inbox" "$OUT/applied" "$OUT/rejected"
cp -r "$DATA/nights" "$OUT/inbox"
measure serve "$REACH" serve "${BASE[@]}" --output "$OUT/serve" --inbox "$OUT/inbox" -w 2 --drain
# run.json: per night "computed published resident-MB".
python3 - "$OUT/serve/run.json" > "$OUT/nights.tsv" <<'PY'
import json, sys
for n in json.load(open(sys.argv[1]))["nights"]:
    print(f'{n["computed_seconds"]:.3f} {n["published_seconds"]:.3f} {n["resident_bytes"] // 1000000}')
PY
[[ $(wc -l < "$OUT/nights.tsv") == "$NIGHTS" ]] || { log "expected $NIGHTS nights in run.json"; cat "$OUT/serve.stdout" >&2; exit 1; }
LOADED=$(sed -n 's/.*loaded .* in \([0-9.]*\) s;.*/\1/p' "$OUT/serve.stdout")
CHECKPOINT_BYTES=$(du -sb "$OUT/serve/_checkpoint" | cut -f1)

# 4. Restart from the checkpoint; the final tables against a batch with --deltas.
measure restart "$REACH" serve "${BASE[@]}" --output "$OUT/serve" --inbox "$OUT/inbox" -w 2 --drain
RESUMED=$(sed -n 's/.*resumed .* in \([0-9.]*\) s;.*/\1/p' "$OUT/restart.stdout")
measure deltas "$REACH" run "${BASE[@]}" --deltas "$DATA/nights" --output "$OUT/deltas" -w 2 --quiet
for t in users user_topics topic_leaders degree_distribution topics; do
    cmp -s <(cat "$OUT/serve/$t"/*) <(cat "$OUT/deltas/$t"/*) || { log "$t differs from the batch"; exit 1; }
done

# 5. The one well-written thread, incremental, on the same data.
YARDSTICK="${YARDSTICK:-$ROOT/../shared/yardstick/one-thread}"
if [[ -x "$YARDSTICK" ]]; then
    measure thread "$YARDSTICK" --edges "$DATA/friendships.csv" --adoptions "$DATA/adoptions.csv" \
        --deltas "$DATA/nights" --incremental --out "$OUT/thread"
    # "timing night NAME: ... apply=S | feed-write=S"; the last "timing:" line has write=S.
    sed -n 's/^timing night [^:]*:.* apply=\([0-9.]*\)s | feed-write=\([0-9.]*\)s.*/\1 \2/p' "$OUT/thread.stderr" > "$OUT/thread.tsv"
    THREAD_WRITE=$(sed -n 's/^timing:.* write=\([0-9.]*\)s.*/\1/p' "$OUT/thread.stderr" | tail -1)
    THREAD_BYTES=$(sed -n 's/^state (after the nights):.* = \([0-9.]*\) B\/friendship.*/\1/p' "$OUT/thread.stderr")
fi

# 6. Report.
FRIENDSHIPS=$(python3 -c "import json; print(json.load(open('$OUT/full/summary.json'))['counts']['friendships'])")
{
    echo "# Nightly benchmark: $USERS users, $NIGHTS nights, 2 workers"
    echo
    machine_line
    echo
    echo "| measure | value |"
    echo "| --- | --- |"
    echo "| full recompute (reach run, base, 2 workers) | ${WALL[full]} s wall, $((RSS_KB[full] / 1024)) MB peak |"
    echo "| serve: base load + publish | $LOADED s |"
    MEDIAN=$(cut -d' ' -f1 "$OUT/nights.tsv" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    awk -v full="${WALL[full]}" -v median="$MEDIAN" '
        { c[NR] = $1; p[NR] = $2; r[NR] = $3; sc += $1; sp += $2 }
        END {
            n = NR
            printf "| night 1: computed / published | %.2f s / %.2f s |\n", c[1], p[1]
            printf "| nights 1..%d: median computed | %.2f s (full recompute / night = %.0fx) |\n", n, median, full / median
            printf "| nights 1..%d: mean computed, mean published | %.2f s, %.2f s |\n", n, sc / n, sp / n
            printf "| night computed + published vs full recompute | 1/%.0f |\n", full / ((sc + sp) / n)
            printf "| resident memory after night 1 / after night %d | %d MB / %d MB |\n", n, r[1], r[n]
        }' "$OUT/nights.tsv"
    if [[ -s "$OUT/thread.tsv" ]]; then
        paste -d' ' "$OUT/nights.tsv" "$OUT/thread.tsv" | awk -v w="$THREAD_WRITE" -v b="$THREAD_BYTES" -v f="$FRIENDSHIPS" '
            { rc += $1; rp += $2; ta += $4; tf += $5; r[NR] = $3 }
            END {
                n = NR
                printf "| one thread (yardstick, incremental): mean apply / feed write, full tables | %.2f s / %.2f s, %.2f s (%s B/friendship) |\n", ta / n, tf / n, w, b
                printf "| serve computed vs one thread applying (mean) | %.2f s vs %.2f s = %.1fx |\n", rc / n, ta / n, (rc / n) / (ta / n)
                printf "| serve whole night vs one thread (apply + feed + tables) | %.2f s vs %.2f s = %.1fx |\n", (rc + rp) / n, (ta + tf) / n + w, ((rc + rp) / n) / ((ta + tf) / n + w)
                printf "| serve resident after night 1 / %d per friendship | %.0f / %.0f B |\n", n, r[1] * 1e6 / f, r[n] * 1e6 / f
            }'
    fi
    echo "| serve peak RSS (whole run) | $((RSS_KB[serve] / 1024)) MB = $(( RSS_KB[serve] * 1024 / FRIENDSHIPS )) B/friendship |"
    echo "| checkpoint size | $((CHECKPOINT_BYTES / 1000000)) MB ($(( CHECKPOINT_BYTES / FRIENDSHIPS )) B/friendship) |"
    echo "| restart from the checkpoint (load, no night) | $RESUMED s to resume, ${WALL[restart]} s wall |"
    echo "| reach run --deltas (base + $NIGHTS nights, batch) | ${WALL[deltas]} s wall, $((RSS_KB[deltas] / 1024)) MB peak |"
    echo "| restart peak RSS (the same data, no history) | $((RSS_KB[restart] / 1024)) MB |"
    echo "| users rows changed by the first night kept in the output (feed rows / 2, of all users) | $(( $(awk 'FNR > 1' "$OUT/serve/changes/$(ls "$OUT/serve/changes" | head -1)/users"/* | wc -l) / 2 )) of $(python3 -c "import json; print(json.load(open('$OUT/full/summary.json'))['counts']['users'])") |"
    echo
    echo "Final tables of serve equal those of reach run --deltas: yes (checked)."
    noisy_note
} | tee "$REPORT"
log "report: $REPORT"
exit 0
}

#!/usr/bin/env bash
# Topical benchmark: the full `reach run` (friendships + adoptions), 1 and 2
# workers, against one well-written thread and the same job in DuckDB SQL;
# and how much of the time the topical stage takes.
#
# Usage:
#   benches/topical.sh [USERS]          # default USERS=1000000 (~45M friendship
#                                       # lines, ~5M adoption lines)
#
# Environment:
#   REPEAT=N            run each configuration N times, report the fastest (default 1)
#   REACH_BIN=PATH      measure this reach binary (default target/release/reach,
#                       honouring CARGO_TARGET_DIR)
#   BUILD=1             cargo build --release first; without it the script
#                       builds only when the binary is missing (so it never
#                       competes with a build someone else is running)
#   QUIET_WAIT=S        before each run, wait up to S seconds (default 3600)
#                       for the machine to be idle, then measure anyway (the
#                       report flags the run as noisy). Idle means: none of
#                       reach, duckdb, python, rustc, cargo among the busiest
#                       processes of `top -b -n 1 | head -15` uses CPU
#                       (re-checked every 30 s), and other processes use < 10%
#                       of the CPUs over 2 s (from /proc/stat).
#
# What it does, in one run:
#   1. uses target/release/reach (builds it only if missing or BUILD=1) and
#      copies it aside, so a cargo build replacing it mid-run changes nothing;
#   2. generates the data once into target/bench-data/USERS/ (kept between
#      runs, shared with batch.sh): reach generate --users USERS --seed 7;
#   3. measures with /usr/bin/time -v, the file cache warm, RUST_LOG=info on
#      the reach runs (per-worker `read`/`computed`/`written` log lines):
#        reach run --friendships F --adoptions A --workers 1 --quiet
#        reach run --friendships F --adoptions A --workers 2 --quiet
#        reach run --friendships F --workers 2 --quiet      (friendships only)
#        python3 benches/duckdb_topical.py F A OUT --threads 2   (DuckDB in a
#          venv under target/bench-venv, installed with pip when missing)
#        ../shared/yardstick/one-thread --edges F --adoptions A   (all tables)
#        ../shared/yardstick/one-thread --edges F --adoptions EMPTY (friendships
#          only; YARDSTICK=PATH for another copy, skipped when absent)
#      wall seconds, CPU seconds, peak RSS and bytes of peak RSS per distinct
#      friendship (counts.friendships of the reach summary.json);
#   4. checks, with DuckDB, that DuckDB's users, user_topics, topic_leaders,
#      topics and degree_distribution equal reach's (integers and text
#      exactly, credit and influence within 1e-9 relative), and that the 1- and
#      2-worker outputs are identical;
#   5. prints a markdown table with the ratios, the read/compute split and the
#      topical share of the time, and writes it to
#      target/bench-results/topical-<date>-<time>.md.
#
# Needs: python3 (with venv), /usr/bin/time (the Debian package `time`,
# installed with apt-get when missing), top (procps); cargo only to build.

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
REACH="${REACH_BIN:-$TARGET/release/reach}"
DATA="$ROOT/target/bench-data/$USERS"
FRIENDSHIPS="$DATA/friendships.csv"
ADOPTIONS="$DATA/adoptions.csv"
OUT="$ROOT/target/bench-out/topical-$USERS"
RESULTS="$ROOT/target/bench-results"
VENV="$ROOT/target/bench-venv"
STAMP="$(date +%Y-%m-%d-%H%M%S)"
REPORT="$RESULTS/topical-$STAMP.md"

# Targets.
TARGET_SPEEDUP=1.6      # 2 workers at least 1.6x faster than 1 (the batch target)
TARGET_BYTES=200        # peak RSS under 200 bytes per friendship
TARGET_THREAD=3         # the ids issue: all tables at most 3x one thread,
TARGET_THREAD_FO=1.5    # friendships only at most 1.5x,
TARGET_ISSUE_BYTES=80   # and at most 80 bytes of peak RSS per friendship
YARDSTICK="${YARDSTICK:-$ROOT/../shared/yardstick/one-thread}"
# The yardstick quoted in the issue, for reference.
ISSUE_DUCK_S=57
ISSUE_DUCK_GB=3.1

# log, need_time, busy_seconds, busy_rivals, wait_quiet (idle machine), machine_line.
source "$ROOT/benches/lib.sh"

# ---------------------------------------------------------------- tools
need_time

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    log "installing duckdb into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q duckdb
fi
PY="$VENV/bin/python"
DUCKDB_VERSION="$("$PY" -c 'import duckdb; print(duckdb.__version__)')"

# ---------------------------------------------------------------- binary
if [[ -z "${REACH_BIN:-}" ]] && { [[ "${BUILD:-0}" == 1 ]] || [[ ! -x "$REACH" ]]; }; then
    log "cargo build --release (target: $TARGET)"
    cargo build --release --quiet || { echo "[bench] build failed" >&2; exit 1; }
fi
[[ -x "$REACH" ]] || { echo "no binary at $REACH" >&2; exit 1; }
# Measure a private copy: another cargo build may replace target/release/reach mid-run.
mkdir -p "$OUT"
cp -p "$REACH" "$OUT/reach"
REACH_SOURCE="$REACH"
REACH="$OUT/reach"

# ---------------------------------------------------------------- data
if [[ ! -s "$FRIENDSHIPS" || ! -s "$ADOPTIONS" ]]; then
    log "generating $USERS users into $DATA"
    rm -rf "$DATA.tmp"
    "$REACH" generate --users "$USERS" --seed 7 --out "$DATA.tmp" --quiet
    rm -rf "$DATA"
    mv "$DATA.tmp" "$DATA"
fi
LINES=$(( $(wc -l < "$FRIENDSHIPS") - 1 ))          # minus the header
ADOPTION_LINES=$(( $(wc -l < "$ADOPTIONS") - 1 ))
INPUT_BYTES=$(stat -c %s "$FRIENDSHIPS")
ADOPTION_BYTES=$(stat -c %s "$ADOPTIONS")
log "input: $FRIENDSHIPS ($LINES lines), $ADOPTIONS ($ADOPTION_LINES lines)"
cat "$FRIENDSHIPS" "$ADOPTIONS" > /dev/null   # warm the page cache: every run reads from memory

# ---------------------------------------------------------------- measuring
mkdir -p "$OUT" "$RESULTS"



# wait_quiet: waits until no rival process shows in top (re-checking every
# 30 s) and the rest of the machine uses < 10% of the CPUs over 2 s; at most
# QUIET_WAIT seconds, then goes on regardless.
QUIET_WAIT="${QUIET_WAIT:-3600}"

export RUST_LOG=info
measure reach-1w "$REACH" run --friendships "$FRIENDSHIPS" --adoptions "$ADOPTIONS" \
    --output "$OUT/reach-1w" --workers 1 --quiet
measure reach-2w "$REACH" run --friendships "$FRIENDSHIPS" --adoptions "$ADOPTIONS" \
    --output "$OUT/reach-2w" --workers 2 --quiet
measure reach-fo-2w "$REACH" run --friendships "$FRIENDSHIPS" \
    --output "$OUT/reach-fo-2w" --workers 2 --quiet
unset RUST_LOG
measure duckdb-2t "$PY" benches/duckdb_topical.py "$FRIENDSHIPS" "$ADOPTIONS" "$OUT/duckdb-2t" --threads 2
THREAD_RUNS=()
if [[ -x "$YARDSTICK" ]]; then
    # The one well-written thread (its README): all tables, and friendships only.
    : > "$OUT/no-adoptions.csv"
    measure thread-all "$YARDSTICK" --edges "$FRIENDSHIPS" --adoptions "$ADOPTIONS" --out "$OUT/thread-all"
    measure thread-fo "$YARDSTICK" --edges "$FRIENDSHIPS" --adoptions "$OUT/no-adoptions.csv" --out "$OUT/thread-fo"
    THREAD_RUNS=(thread-all thread-fo)
else
    log "no yardstick at $YARDSTICK: the thread's rows are left out"
fi

json_get() {  # json_get FILE KEY.KEY...: a value of a JSON file (the last line for a JSON-lines file)
    "$PY" - "$@" <<'PYEOF'
import json, sys
text = open(sys.argv[1]).read().strip()
try:
    doc = json.loads(text)
except ValueError:
    doc = json.loads(text.splitlines()[-1])
for key in sys.argv[2].split("."):
    doc = doc[key]
print(doc)
PYEOF
}
FRIENDSHIPS_DISTINCT=$(json_get "$OUT/reach-2w/summary.json" counts.friendships)
ADOPTIONS_DISTINCT=$(json_get "$OUT/reach-2w/summary.json" counts.adoptions)

# ---------------------------------------------------------------- phases
# The `stages=read Xs, computed Ys, written Zs` of each process's "process
# figures" log line (seconds since the process started; run.json holds the same).
phases() {  # phases NAME: lines "process read computed written"
    sed -n 's/.*process=\([0-9]*\) .*stages=read \([0-9.]*\)s, computed \([0-9.]*\)s, written \([0-9.]*\)s.*/\1 \2 \3 \4/p' \
        "$OUT/$1.stderr" | sort -n
}
# phase_max NAME FIELD: the largest value of a field over the processes (2 read, 3 computed, 4 written).
phase_max() { phases "$1" | awk -v f="$2" 'BEGIN { m = 0 } { if ($f > m) m = $f } END { printf "%.2f", m }'; }
for name in reach-1w reach-2w reach-fo-2w; do
    if [[ -z "$(phases "$name")" ]]; then
        echo "[bench] no 'process figures ... stages=' log line in $OUT/$name.stderr (RUST_LOG=info)" >&2
        exit 1
    fi
done

# ---------------------------------------------------------------- checks
CHECKS=()
if "$PY" - "$OUT/reach-2w" "$OUT/duckdb-2t" > "$OUT/compare.json" 2> "$OUT/compare.examples" <<'PYEOF'
# Compares reach's tables with DuckDB's, in DuckDB: a full outer join on each
# table's key, one mismatch count per column (text and integers exactly,
# credit and influence within 1e-9 relative), rows present on one side only.
import json, sys
import duckdb

reach, duck = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
TABLES = {
    "users": [("user_id", "UBIGINT"), ("friend_count", "BIGINT"), ("super_connector", "BOOLEAN"),
              ("influence", "DOUBLE"), ("persuaded_total", "BIGINT"), ("top_topic", "VARCHAR"),
              ("tier", "VARCHAR")],
    "user_topics": [("user_id", "UBIGINT"), ("topic", "VARCHAR"), ("adopted", "DATE"), ("reach", "BIGINT"),
                    ("persuaded", "BIGINT"), ("credit", "DOUBLE")],
    "topic_leaders": [("topic", "VARCHAR"), ("rank", "BIGINT"), ("user_id", "UBIGINT"), ("credit", "DOUBLE"),
                      ("persuaded", "BIGINT"), ("reach", "BIGINT")],
    "topics": [("topic", "VARCHAR"), ("adopters", "BIGINT"), ("socially_explained", "BIGINT")],
    "degree_distribution": [("friend_count", "BIGINT"), ("users", "BIGINT")],
}
def read(path, cols):
    spec = ", ".join(f"'{c}': '{t}'" for c, t in cols)
    path = path.replace("'", "''")
    return f"read_csv('{path}', header = true, delim = ',', columns = {{{spec}}})"
for name, cols in TABLES.items():
    con.execute(f"CREATE TABLE r_{name} AS SELECT * FROM {read(f'{reach}/{name}/part-*.csv', cols)}")
    con.execute(f"CREATE TABLE d_{name} AS SELECT * FROM {read(f'{duck}/{name}.csv', cols)}")

exact = lambda c: f"r.{c} IS DISTINCT FROM d.{c}"
text = lambda c: f"coalesce(r.{c}, '') <> coalesce(d.{c}, '')"          # empty field = no value
close = lambda c: f"abs(r.{c} - d.{c}) > 1e-9 * greatest(abs(r.{c}), abs(d.{c}))"
CHECKS = {  # table: (key, {column: mismatch condition})
    "users": (["user_id"], {"friend_count": exact("friend_count"), "super_connector": exact("super_connector"),
                            "persuaded_total": exact("persuaded_total"), "tier": exact("tier"),
                            "top_topic": text("top_topic"), "influence": close("influence")}),
    "user_topics": (["user_id", "topic"], {"adopted": exact("adopted"), "reach": exact("reach"),
                                           "persuaded": exact("persuaded"), "credit": close("credit")}),
    "topic_leaders": (["topic", "rank"], {"user_id": exact("user_id")}),
    "topics": (["topic"], {"adopters": exact("adopters"), "socially_explained": exact("socially_explained")}),
    "degree_distribution": (["friend_count"], {"users": exact("users")}),
}
# Not mismatches, for the record: decimals that differ at all (in the last bits).
INFO = {"users": {"influence_bits_differ": exact("influence")},
        "user_topics": {"credit_bits_differ": exact("credit")},
        "topic_leaders": {"credit_bits_differ": exact("credit"), "persuaded": exact("persuaded"),
                          "reach": exact("reach")}}
result, info, failed = {}, {}, False
for table, (key, cols) in CHECKS.items():
    on = " AND ".join(f"r.{k} = d.{k}" for k in key)
    frm = f"FROM r_{table} r FULL OUTER JOIN d_{table} d ON {on}"
    both = f"r.{key[0]} IS NOT NULL AND d.{key[0]} IS NOT NULL"
    conds = {"only_reach": f"d.{key[0]} IS NULL", "only_duckdb": f"r.{key[0]} IS NULL"}
    conds.update({c: f"{both} AND ({x})" for c, x in cols.items()})
    extra = {c: f"{both} AND ({x})" for c, x in INFO.get(table, {}).items()}
    every = {**conds, **extra}
    row = con.execute(f"SELECT count(*), "
                      + ", ".join(f"count(*) FILTER (WHERE {x})" for x in every.values()) + f" {frm}").fetchone()
    counts = dict(zip(["rows", *every], row))
    result[table] = {k: counts[k] for k in ["rows", *conds]}
    if extra:
        info[table] = {k: counts[k] for k in extra}
    if any(counts[k] for k in conds):
        failed = True
        print(f"{table}: first mismatching rows (reach's columns, then DuckDB's):", file=sys.stderr)
        order = ", ".join(f"coalesce(r.{k}, d.{k})" for k in key)
        for r in con.execute(f"SELECT r.*, d.* {frm} WHERE "
                             + " OR ".join(f"({x})" for x in conds.values()) + f" ORDER BY {order} LIMIT 5").fetchall():
            print("  ", r, file=sys.stderr)
print(json.dumps({"mismatches": result, "info": info}))
sys.exit(1 if failed else 0)
PYEOF
then
    COMPARE_OK=1
else
    COMPARE_OK=0; MISMATCH=1
fi
[[ -s "$OUT/compare.json" ]] || { echo "[bench] the comparison failed:" >&2; cat "$OUT/compare.examples" >&2; exit 1; }
# One line per table: "table: N rows, mismatches: col=0 col=0 ...".
while IFS= read -r line; do CHECKS+=("$line"); done < <("$PY" - "$OUT/compare.json" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for table, counts in doc["mismatches"].items():
    cols = " ".join(f"{k}={v}" for k, v in counts.items() if k != "rows")
    note = ""
    if table in doc["info"]:
        note = "; not checked, for the record: " + " ".join(f"{k}={v}" for k, v in doc["info"][table].items())
    total = sum(v for k, v in counts.items() if k != "rows")
    verdict = "DuckDB = reach" if total == 0 else "DuckDB != reach"
    print(f"{table}: {verdict}, {counts['rows']} rows; mismatches {cols}{note}")
PYEOF
)
DUCK_FRIENDSHIPS=$(json_get "$OUT/duckdb-2t.stdout" friendships)
DUCK_ADOPTIONS=$(json_get "$OUT/duckdb-2t.stdout" adoptions)
if [[ "$FRIENDSHIPS_DISTINCT" == "$DUCK_FRIENDSHIPS" && "$ADOPTIONS_DISTINCT" == "$DUCK_ADOPTIONS" ]]; then
    CHECKS+=("distinct friendships and adoptions: DuckDB = reach = $FRIENDSHIPS_DISTINCT, $ADOPTIONS_DISTINCT")
else
    CHECKS+=("distinct friendships/adoptions: DuckDB $DUCK_FRIENDSHIPS/$DUCK_ADOPTIONS != reach $FRIENDSHIPS_DISTINCT/$ADOPTIONS_DISTINCT")
    MISMATCH=1
fi
if diff -rq -x run.json "$OUT/reach-1w" "$OUT/reach-2w" > /dev/null; then
    CHECKS+=("reach --workers 1 and --workers 2 outputs: byte-identical (run.json aside)")
else
    CHECKS+=("reach --workers 1 and --workers 2 outputs differ"); MISMATCH=1
fi
# The friendships-only run: the same friend counts as the full run.
if cmp -s <(tail -q -n +2 "$OUT"/reach-fo-2w/degree_distribution/part-*.csv) \
          <(tail -q -n +2 "$OUT"/reach-2w/degree_distribution/part-*.csv); then
    CHECKS+=("friendships-only run: same degree_distribution as the full run")
else
    CHECKS+=("friendships-only run: degree_distribution differs from the full run"); MISMATCH=1
fi

# ---------------------------------------------------------------- report
row() {  # row NAME LABEL
    awk -v label="$2" -v wall="${WALL[$1]}" -v cpu="${CPU[$1]}" -v kb="${RSS_KB[$1]}" \
        -v fr="$FRIENDSHIPS_DISTINCT" -v others="${OTHERS[$1]}" 'BEGIN {
        printf "| %s | %.2f | %.2f | %.0f | %.1f | %.1f |\n",
            label, wall, cpu, kb / 1024, kb * 1024 / fr, others }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "NOT met") }'; }
bytes_per() { awk -v kb="${RSS_KB[$1]}" -v fr="$FRIENDSHIPS_DISTINCT" 'BEGIN { printf "%.1f", kb * 1024 / fr }'; }
phase_row() {  # phase_row NAME LABEL: reading, computing, writing, rest (start-up, fingerprints, publish)
    local read computed written
    read=$(phase_max "$1" 2); computed=$(phase_max "$1" 3); written=$(phase_max "$1" 4)
    awk -v label="$2" -v wall="${WALL[$1]}" -v r="$read" -v c="$computed" -v w="$written" 'BEGIN {
        printf "| %s | %.2f | %.2f (%.0f%%) | %.2f (%.0f%%) | %.2f (%.0f%%) | %.2f (%.0f%%) |\n",
            label, wall, r, 100 * r / wall, c - r, 100 * (c - r) / wall,
            w - c, 100 * (w - c) / wall, wall - w, 100 * (wall - w) / wall }'
}

SPEEDUP=$(ratio "${WALL[reach-1w]}" "${WALL[reach-2w]}")
VS_DUCK=$(ratio "${WALL[reach-2w]}" "${WALL[duckdb-2t]}")
BYTES_2W=$(bytes_per reach-2w)
BYTES_1W=$(bytes_per reach-1w)
TOPICAL_SHARE=$(awk -v f="${WALL[reach-fo-2w]}" -v t="${WALL[reach-2w]}" 'BEGIN { printf "%.0f", 100 * (1 - f / t) }')
# The same share counted on the dataflow alone (worker start to `computed`: reading + computing).
TOPICAL_SHARE_DF=$(awk -v f="$(phase_max reach-fo-2w 3)" -v t="$(phase_max reach-2w 3)" 'BEGIN { printf "%.0f", 100 * (1 - f / t) }')
GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || GIT_REV="$GIT_REV+uncommitted changes"
[[ -n "${REACH_BIN:-}" ]] && GIT_REV="given binary $REACH_BIN (work tree: $GIT_REV)"

{
    echo "# reach topical benchmark, $STAMP"
    echo
    echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(free -g | awk '/Mem:/ { print $2 }') GB RAM"
    echo "- reach: $GIT_REV, binary $REACH_SOURCE built $(date -u -r "$REACH" +%FT%TZ) sha256 $(sha256sum "$REACH" | cut -c1-12) ($(rustc --version 2>/dev/null || echo 'rustc ?')); DuckDB $DUCKDB_VERSION (Python)"
    echo "- input: \`reach generate --users $USERS --seed 7\`: friendships $LINES lines ($((INPUT_BYTES / 1000000)) MB), $FRIENDSHIPS_DISTINCT distinct; adoptions $ADOPTION_LINES lines ($((ADOPTION_BYTES / 1000000)) MB), $ADOPTIONS_DISTINCT distinct (user, topic)"
    if ((REPEAT > 1)); then
        echo "- each configuration run $REPEAT times: times of the fastest run, the largest peak RSS of all; file cache warm, \`/usr/bin/time -v\`"
    else
        echo "- each configuration run once, file cache warm, \`/usr/bin/time -v\`"
    fi
    echo
    echo "| run | wall s | CPU s | peak RSS MB | RSS bytes/friendship | others CPU s |"
    echo "|---|---:|---:|---:|---:|---:|"
    row reach-1w "reach --workers 1"
    row reach-2w "reach --workers 2"
    row reach-fo-2w "reach --workers 2, friendships only"
    row duckdb-2t "DuckDB, 2 threads"
    if ((${#THREAD_RUNS[@]})); then
        row thread-all "one thread (yardstick), all tables"
        row thread-fo "one thread (yardstick), friendships only"
    fi
    echo
    echo "| ratio | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| reach 2w time / DuckDB time | $VS_DUCK | <= 1.00 | $(verdict "$(awk -v r="${WALL[reach-2w]}" -v d="${WALL[duckdb-2t]}" 'BEGIN { print (r <= d) }')") |"
    echo "| reach 2w speedup over 1w | ${SPEEDUP}x | >= ${TARGET_SPEEDUP}x (batch target) | $(verdict "$(awk -v s="$SPEEDUP" -v t="$TARGET_SPEEDUP" 'BEGIN { print (s >= t) }')") |"
    echo "| reach 2w peak RSS per friendship | $BYTES_2W B | < $TARGET_BYTES B | $(verdict "$(awk -v b="$BYTES_2W" -v t="$TARGET_BYTES" 'BEGIN { print (b < t) }')") |"
    echo "| reach 1w peak RSS per friendship | $BYTES_1W B | < $TARGET_BYTES B | $(verdict "$(awk -v b="$BYTES_1W" -v t="$TARGET_BYTES" 'BEGIN { print (b < t) }')") |"
    if ((${#THREAD_RUNS[@]})); then
        VS_THREAD=$(ratio "${WALL[reach-2w]}" "${WALL[thread-all]}")
        VS_THREAD_FO=$(ratio "${WALL[reach-fo-2w]}" "${WALL[thread-fo]}")
        echo "| reach 2w time / one thread, all tables | ${VS_THREAD}x | <= ${TARGET_THREAD}x | $(verdict "$(awk -v r="$VS_THREAD" -v t="$TARGET_THREAD" 'BEGIN { print (r <= t) }')") |"
        echo "| reach 2w time / one thread, friendships only | ${VS_THREAD_FO}x | <= ${TARGET_THREAD_FO}x | $(verdict "$(awk -v r="$VS_THREAD_FO" -v t="$TARGET_THREAD_FO" 'BEGIN { print (r <= t) }')") |"
        echo "| reach 2w peak RSS per friendship (the ids issue's target) | $BYTES_2W B | <= $TARGET_ISSUE_BYTES B | $(verdict "$(awk -v b="$BYTES_2W" -v t="$TARGET_ISSUE_BYTES" 'BEGIN { print (b <= t) }')") |"
    fi
    echo "| topical share of reach 2w wall time (1 - friendships-only / full) | ${TOPICAL_SHARE}% | | |"
    echo "| the same, worker start to \`computed\` only | ${TOPICAL_SHARE_DF}% | | |"
    echo
    echo "The issue's DuckDB yardstick: about ${ISSUE_DUCK_S} s and ${ISSUE_DUCK_GB} GB; measured here: ${WALL[duckdb-2t]} s and $(awk -v kb="${RSS_KB[duckdb-2t]}" 'BEGIN { printf "%.1f", kb / 1048576 }') GB."
    echo
    for name in reach-1w reach-2w reach-fo-2w duckdb-2t "${THREAD_RUNS[@]}"; do
        awk -v o="${OTHERS[$name]}" -v w="${WALL[$name]}" -v n="$(nproc)" 'BEGIN { exit !(o > 0.1 * w * n) }' &&
            echo "**Noisy:** other processes used ${OTHERS[$name]} CPU s during $name (${WALL[$name]} s wall); rerun on an idle machine." &&
            echo
    done
    echo "Where reach's time goes (the process's stages, as in run.json: reading ends when every"
    echo "worker has read and sent its share; the dataflow then computes; then the parts are written):"
    echo
    echo "| run | wall s | reading s | computing s | writing parts s | rest s (start-up, fingerprints, publish) |"
    echo "|---|---:|---:|---:|---:|---:|"
    phase_row reach-1w "reach --workers 1"
    phase_row reach-2w "reach --workers 2"
    phase_row reach-fo-2w "reach --workers 2, friendships only"
    echo
    echo "Per process, seconds since it started:"
    echo
    echo "| run | process | read | computed | written |"
    echo "|---|---:|---:|---:|---:|"
    for name in reach-1w reach-2w reach-fo-2w; do
        phases "$name" | awk -v n="$name" '{ printf "| %s | %s | %.2f | %.2f | %.2f |\n", n, $1, $2, $3, $4 }'
    done
    echo
    echo "Checks (DuckDB's tables against reach's 2-worker output):"
    for c in "${CHECKS[@]}"; do echo "- $c"; done
    if [[ "$COMPARE_OK" != 1 ]]; then
        echo
        echo '```'
        cat "$OUT/compare.examples"
        echo '```'
    fi
    echo
    echo "DuckDB stages: $(tail -n 1 "$OUT/duckdb-2t.stdout")"
    for name in "${THREAD_RUNS[@]}"; do
        echo
        echo "One thread's stages ($name): $(grep '^timing' "$OUT/$name.stderr" | tail -n 1)"
    done
} | tee "$REPORT"

log "written $REPORT"
if [[ -n "${MISMATCH:-}" ]]; then
    log "the outputs do not agree (see Checks above)"
    exit 1
fi
exit 0
}

#!/usr/bin/env bash
# Customers benchmark: what the customer tables (customers, value_matrix,
# benchmark) add to the all-tables batch, and the same job in DuckDB SQL.
#
# Usage:
#   benches/customers.sh [USERS]        # default USERS=1000000
#
# Environment:
#   REPEAT=N          run each configuration N times (default 1): the fastest
#                     run's times and the largest peak RSS are reported
#   REACH_BIN=PATH    measure this binary (default target/release/reach,
#                     honouring CARGO_TARGET_DIR)
#   BUILD=1           cargo build --release first (else built only when missing)
#   QUIET_WAIT=S      before each run, wait up to S seconds (default 3600) for
#                     an idle machine, then measure anyway (flagged as noisy)
#
# What it does, in one run:
#   1. generates the data once into target/bench-data/customers-USERS/ (kept
#      between runs): reach generate --users USERS --seed 7 --customers
#      (friendships, adoptions, identities, purchases);
#   2. measures back to back with /usr/bin/time -v, the file cache warm,
#      2 workers / 2 threads:
#        reach run --friendships F --adoptions A -w 2 --quiet        (all tables)
#        reach run ... --identities I --purchases P -w 2 --quiet     (+ customer tables)
#        python3 benches/duckdb_customers.py F A I P OUT --threads 2 (the same
#          job in DuckDB SQL: the users' tables and the customer tables)
#   3. checks (not timed) that DuckDB's customer tables equal reach's
#      (duckdb_customers.py --compare: integers, text, dates, monetary exactly,
#      other decimals within 1e-9 relative, row order of value_matrix and
#      benchmark) and that the customer inputs change no other table;
#   4. prints the ratios (the time the customer tables add to the all-tables
#      batch, target at most 25%; reach against DuckDB, whole job and customer
#      part) and writes them to target/bench-results/customers-<date>-<time>.md.
#
# Needs: python3 with duckdb (or venv, to install it), /usr/bin/time (Debian package `time`, installed
# with apt-get when missing), top (procps); cargo only to build.

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
DATA="$ROOT/target/bench-data/customers-$USERS"
OUT="$ROOT/target/bench-out/customers-$USERS"
RESULTS="$ROOT/target/bench-results"
VENV="$ROOT/target/bench-venv"
STAMP="$(date +%Y-%m-%d-%H%M%S)"
REPORT="$RESULTS/customers-$STAMP.md"
TARGET_ADDED=25         # the customer tables add at most 25% to the all-tables batch time

# log, need_time, private_binary, wait_quiet, measure, machine_line, noisy_note.
source "$ROOT/benches/lib.sh"
need_time
mkdir -p "$OUT" "$RESULTS"

# DuckDB: the venv's (as the other benches), else a python3 that has it, else a new venv.
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    PY="$VENV/bin/python"
elif python3 -c 'import duckdb' 2>/dev/null; then
    PY="$(python3 -c 'import sys; print(sys.executable)')"   # the interpreter, not a pyenv shim
else
    log "installing duckdb into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q duckdb
    PY="$VENV/bin/python"
fi
DUCKDB_VERSION="$("$PY" -c 'import duckdb; print(duckdb.__version__)')"

REACH_SOURCE="${REACH_BIN:-$TARGET/release/reach}"
REACH="$(private_binary "$REACH_SOURCE" "$OUT")"
[[ "$("$REACH" run --help)" == *--purchases* ]] ||
    { log "$REACH_SOURCE has no --purchases (build it from a tree with the customer tables)"; exit 1; }

# ---------------------------------------------------------------- data
F="$DATA/friendships.csv"; A="$DATA/adoptions.csv"; I="$DATA/identities.csv"; P="$DATA/purchases.csv"
if [[ ! -s "$F" || ! -s "$A" || ! -s "$I" || ! -s "$P" ]]; then
    log "generating $USERS users with customers into $DATA"
    rm -rf "$DATA.tmp"
    "$REACH" generate --users "$USERS" --seed 7 --customers --out "$DATA.tmp" --quiet
    rm -rf "$DATA"
    mv "$DATA.tmp" "$DATA"
fi
lines() { echo $(( $(wc -l < "$1") - 1 )); }   # minus the header
log "input: $DATA: $(lines "$F") friendships, $(lines "$A") adoptions, $(lines "$I") identities, $(lines "$P") purchases"
cat "$F" "$A" "$I" "$P" > /dev/null   # warm the page cache: every run reads from memory

# ---------------------------------------------------------------- measuring
SOCIAL=(--friendships "$F" --adoptions "$A")
CRM=(--identities "$I" --purchases "$P")
rm -rf "$OUT/reach-all" "$OUT/reach-crm" "$OUT/duckdb-crm"
measure reach-all "$REACH" run "${SOCIAL[@]}" --output "$OUT/reach-all" -w 2 --quiet
measure reach-crm "$REACH" run "${SOCIAL[@]}" "${CRM[@]}" --output "$OUT/reach-crm" -w 2 --quiet
measure duckdb-crm "$PY" benches/duckdb_customers.py "$F" "$A" "$I" "$P" "$OUT/duckdb-crm" --threads 2

# ---------------------------------------------------------------- checks
CHECKS=()
if "$PY" benches/duckdb_customers.py --compare "$OUT/duckdb-crm" --check "$OUT/reach-crm" \
        > "$OUT/compare.json" 2> "$OUT/compare.examples"; then
    CHECKS+=("customer tables: DuckDB = reach ($("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["check"]; print(", ".join(t + " " + str(c["rows"]) + " rows" for t, c in d.items()))' "$OUT/compare.json"))")
else
    CHECKS+=("customer tables: DuckDB != reach (first differences below; all counts in $OUT/compare.json)")
    MISMATCH=1
fi
# Without customer inputs nothing else changes: every other table byte-identical.
if diff -rq -x run.json -x summary.json -x customers -x value_matrix -x benchmark \
        "$OUT/reach-all" "$OUT/reach-crm" > "$OUT/other-tables.diff"; then
    CHECKS+=("the other tables: byte-identical with and without the customer inputs")
else
    CHECKS+=("the other tables differ with the customer inputs (see $OUT/other-tables.diff)")
    MISMATCH=1
fi

# ---------------------------------------------------------------- report
json_get() {  # json_get FILE KEY.KEY...: a value of a JSON file (the last line of a JSON-lines file)
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
row() {  # row NAME LABEL
    awk -v label="$2" -v wall="${WALL[$1]}" -v cpu="${CPU[$1]}" -v kb="${RSS_KB[$1]}" -v others="${OTHERS[$1]}" \
        'BEGIN { printf "| %s | %.2f | %.2f | %.0f | %.1f |\n", label, wall, cpu, kb / 1024, others }'
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
ALL=${WALL[reach-all]}; WITH=${WALL[reach-crm]}; DUCK=${WALL[duckdb-crm]}
DUCK_CRM_S=$(json_get "$OUT/duckdb-crm.stdout" customers_s)
ADDED_S=$(calc %.2f "$WITH - $ALL")
ADDED_PCT=$(calc %.1f "100 * ($WITH - $ALL) / $ALL")
ADDED_MB=$(calc %.0f "(${RSS_KB[reach-crm]} - ${RSS_KB[reach-all]}) / 1024")
VERDICT=$(awk -v p="$ADDED_PCT" -v t="$TARGET_ADDED" 'BEGIN { print (p <= t ? "met" : "NOT met") }')

{
    echo "# reach customers benchmark, $STAMP"
    echo
    machine_line
    echo "- DuckDB $DUCKDB_VERSION (Python), 2 threads; reach 2 workers"
    echo "- input: \`reach generate --users $USERS --seed 7 --customers\`: $(lines "$F") friendship lines, $(lines "$A") adoption lines, $(lines "$I") identities, $(lines "$P") purchases; $(json_get "$OUT/reach-crm/summary.json" customers.customers) customers, match rate $(calc %.3f "$(json_get "$OUT/reach-crm/summary.json" customers.match_rate)")"
    if ((REPEAT > 1)); then
        echo "- each configuration run $REPEAT times: times of the fastest run, the largest peak RSS of all; file cache warm, \`/usr/bin/time -v\`"
    else
        echo "- each configuration run once, file cache warm, \`/usr/bin/time -v\`"
    fi
    echo
    echo "| run | wall s | CPU s | peak RSS MB | others CPU s |"
    echo "|---|---:|---:|---:|---:|"
    row reach-all "reach, all tables, no customer inputs"
    row reach-crm "reach, all tables + customer tables"
    row duckdb-crm "DuckDB SQL, all tables + customer tables"
    echo
    echo "| ratio | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| customer tables' added time over the all-tables batch (reach) | +${ADDED_S} s = ${ADDED_PCT}% | <= ${TARGET_ADDED}% | $VERDICT |"
    echo "| customer tables' added peak memory (reach) | ${ADDED_MB} MB ($(calc %.2f "${RSS_KB[reach-crm]} / ${RSS_KB[reach-all]}")x) | | |"
    echo "| reach / DuckDB, whole job with customers (wall) | $(calc %.2f "$WITH / $DUCK") | | |"
    echo "| reach / DuckDB, peak memory | $(calc %.2f "${RSS_KB[reach-crm]} / ${RSS_KB[duckdb-crm]}") | | |"
    echo "| customer part: reach's added s / DuckDB's customer stages s | ${ADDED_S} / ${DUCK_CRM_S} = $(calc %.2f "($WITH - $ALL) / ($DUCK_CRM_S > 0 ? $DUCK_CRM_S : 1e-9)") | | |"
    echo
    noisy_note
    echo "Checks:"
    for c in "${CHECKS[@]}"; do echo "- $c"; done
    if [[ -s "$OUT/compare.examples" ]]; then
        echo
        echo '```'
        head -40 "$OUT/compare.examples"
        echo '```'
    fi
    echo
    echo "DuckDB stages: $(tail -n 1 "$OUT/duckdb-crm.stdout")"
} | tee "$REPORT"

log "written $REPORT"
if [[ -n "${MISMATCH:-}" ]]; then
    log "the outputs do not agree (see Checks above)"
    exit 1
fi
exit 0
}

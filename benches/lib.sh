# Shared helpers of the benchmark scripts (source it): waiting for an idle
# machine, measuring a command with /usr/bin/time -v, the machine line.
# Callers set OUT (where runs keep their files) before calling measure.

log() { printf '[bench] %s\n' "$*" >&2; }

# need_time: installs /usr/bin/time (Debian package `time`) when missing.
need_time() {
    if [[ ! -x /usr/bin/time ]]; then
        log "installing /usr/bin/time (Debian package 'time')"
        apt-get update -qq
        apt-get install -y -qq time >/dev/null
    fi
}

# private_binary BIN DIR: builds BIN if missing (or BUILD=1), copies it into
# DIR and prints the copy's path (a cargo build may replace BIN mid-run).
private_binary() {
    local bin="$1" dir="$2"
    if [[ -z "${REACH_BIN:-}" ]] && { [[ "${BUILD:-0}" == 1 ]] || [[ ! -x "$bin" ]]; }; then
        log "cargo build --release"
        cargo build --release --quiet >&2 || { log "build failed"; exit 1; }
    fi
    [[ -x "$bin" ]] || { log "no binary at $bin"; exit 1; }
    mkdir -p "$dir"
    cp -p "$bin" "$dir/reach"
    REACH_SOURCE="$bin"
    echo "$dir/reach"
}

# busy_seconds: CPU seconds the whole machine has been busy since boot.
busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

# busy_rivals: the busiest processes (top) that are reach, duckdb, python,
# rustc or cargo and use CPU.
busy_rivals() {
    top -b -n 1 | head -15 |
        awk 'NR > 7 && $9 + 0 > 0 && $12 ~ /^(reach|duckdb|python|rustc|cargo)/'
}

# wait_quiet: waits until no rival shows (re-checking every 30 s) and the
# rest of the machine uses < 10% of the CPUs over 2 s; at most QUIET_WAIT
# seconds (default 3600), then goes on regardless. QUIET_BUSY is the share
# of the CPUs others used at the last look.
wait_quiet() {
    local start=$SECONDS a b busy rivals
    while :; do
        rivals="$(busy_rivals)"
        if [[ -z "$rivals" ]]; then
            a=$(busy_seconds); sleep 2; b=$(busy_seconds)
            busy=$(awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { printf "%.2f", (b - a) / 2 / n }')
            QUIET_BUSY="$busy"
            awk -v x="$busy" 'BEGIN { exit !(x < 0.10) }' && return 0
        fi
        if ((SECONDS - start >= ${QUIET_WAIT:-3600})); then
            log "machine still busy after ${QUIET_WAIT:-3600}s; measuring anyway"
            return 0
        fi
        log "machine busy, waiting 30 s"
        sleep 30
    done
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v REPEAT times (default
# 1), each on an idle machine, and sets WALL[NAME], CPU[NAME], OTHERS[NAME]
# (CPU seconds the rest of the machine used meanwhile) from the fastest run
# and RSS_KB[NAME] to the largest peak RSS of all runs (peak memory varies
# from run to run). Keeps OUT/NAME.{stdout,stderr,time} (of the fastest run;
# stderr without colour codes) and OUT/NAME.top.I (the machine before run I).
declare -A WALL CPU RSS_KB OTHERS
measure() {
    local name="$1"; shift
    local tfile="$OUT/$name.time" best="" i wall cpu rss before after others
    for ((i = 1; i <= ${REPEAT:-1}; i++)); do
        wait_quiet
        top -b -n 1 | head -15 > "$OUT/$name.top.$i"
        log "run $name ($i/${REPEAT:-1}): $*"
        before=$(busy_seconds)
        if ! /usr/bin/time -v -o "$tfile.$i" "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr.$i"; then
            log "$name failed; stderr:"
            tail -20 "$OUT/$name.stderr.$i" >&2
            exit 1
        fi
        after=$(busy_seconds)
        # Elapsed is h:mm:ss or m:ss.ss.
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
                   n = split($2, p, ":"); s = 0
                   for (k = 1; k <= n; k++) s = s * 60 + p[k]
                   printf "%.2f", s }' "$tfile.$i")
        cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tfile.$i")
        rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tfile.$i")
        others=$(awk -v a="$before" -v b="$after" -v c="$cpu" 'BEGIN { x = b - a - c; printf "%.1f", (x < 0 ? 0 : x) }')
        log "  $name: ${wall}s wall, ${cpu}s cpu, $((rss / 1024)) MB peak RSS, others ${others}s cpu"
        if [[ -z "$best" ]] || awk -v a="$wall" -v b="${WALL[$name]}" 'BEGIN { exit !(a < b) }'; then
            best=$i; WALL[$name]=$wall; CPU[$name]=$cpu; OTHERS[$name]=$others
        fi
        if ((rss > ${RSS_KB[$name]:-0})); then RSS_KB[$name]=$rss; fi
    done
    cp "$tfile.$best" "$tfile"
    sed 's/\x1b\[[0-9;]*m//g' "$OUT/$name.stderr.$best" > "$OUT/$name.stderr"
}

# machine_line: the machine and the binary measured, as markdown bullets.
machine_line() {
    echo "- machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }'), $(free -g | awk '/Mem:/ { print $2 }') GB RAM"
    echo "- reach: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), binary ${REACH_SOURCE:-?} sha256 $(sha256sum "$REACH" | cut -c1-12)"
}

# noisy_note: a warning line for each run that shared the machine (others
# used more than 10% of the CPUs).
noisy_note() {
    local name
    for name in "${!WALL[@]}"; do
        awk -v o="${OTHERS[$name]}" -v w="${WALL[$name]}" -v n="$(nproc)" 'BEGIN { exit !(o > 0.1 * w * n) }' &&
            echo "**Noisy:** other processes used ${OTHERS[$name]} CPU s during $name (${WALL[$name]} s wall)."
    done
    return 0
}

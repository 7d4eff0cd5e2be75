#!/bin/sh
# Run the libFuzzer targets of build/fuzz (make fuzz-build), two at a time,
# each for FUZZ_SECONDS (default 60) under ASan and UBSan, from the seeds
# in tests/fuzz/seeds/<target> and the corpus kept in build/fuzz/corpus.
# Prints one line per target: executions, coverage (edges, features),
# corpus size; a crash leaves build/fuzz/crash-<target>-* and fails.
#   fuzz.sh [target-name-filter]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/fuzz
S=${FUZZ_SECONDS:-60}
filter=${1:-}
LOGS=$B/logs
mkdir -p "$LOGS"

# One target; its summary line goes to $LOGS/<name>.sum.
one() {
	n=$1
	mkdir -p "$B/corpus/$n"
	seeds=$ROOT/tests/fuzz/seeds/${n#fuzz_}
	[ -d "$seeds" ] || seeds=""
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$B/$n" -max_total_time="$S" -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=1024 -max_len=65536 -artifact_prefix="$B/crash-$n-" \
	    "$B/corpus/$n" $seeds >"$LOGS/$n.log" 2>&1
	rc=$?
	ex=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$n.log")
	last=$(grep -E "^#[0-9]+.*cov: " "$LOGS/$n.log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	res=ok
	[ "$rc" = 0 ] || res="FAILED (exit $rc, see $LOGS/$n.log)"
	printf '%-18s %10s execs  cov %5s  ft %6s  corpus %5s  %s\n' \
	    "$n" "${ex:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res" \
	    >"$LOGS/$n.sum"
}

if [ "${1:-}" = --one ]; then
	one "$2"
	exit 0
fi

targets=""
for t in "$B"/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "$n" in *"$filter"*) targets="$targets $n" ;; esac
done
if [ -z "$targets" ]; then
	[ -n "$filter" ] && exit 0	# a suite filter that names no target
	echo "fuzz.sh: no targets (make fuzz-build)"
	exit 1
fi
rm -f "$LOGS"/*.sum
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -P "${FUZZ_JOBS:-2}" -n 1 "$0" --one
failed=0
for n in $targets; do
	cat "$LOGS/$n.sum"
	grep -q "FAILED" "$LOGS/$n.sum" && failed=$((failed + 1))
done
echo "fuzz: $(echo $targets | wc -w) targets, ${S}s each, $failed failed"
[ "$failed" = 0 ]

#!/bin/sh
# Start one Elenchus instance: the background job runner (when built) and
# Kore with build/elenchus.so on HTTP_HOST:HTTP_PORT, using DATABASE_URL
# and the caller's environment.  Runs in the foreground; a signal stops
# both.
#   serve.sh CONF_DIR     (writes CONF_DIR/kore.conf)
# ELENCHUS_SAN=1 loads build/san/elenchus.so (make build SAN=1), the module
# built with ASan and UBSan, into a kore started with the ASan runtime
# preloaded; reports go to $SAN_LOG_DIR (default CONF_DIR/san).
set -eu
. "$(dirname "$0")/env.sh"

dir=$1
mkdir -p "$dir"
module=$ROOT/build/elenchus.so
[ "${ELENCHUS_SAN:-0}" = 1 ] && module=$ROOT/build/san/elenchus.so
"$ROOT/scripts/kore_conf.sh" "$ROOT/kore.conf" "$dir/kore.conf" \
    "bind=$HTTP_HOST $HTTP_PORT" "workers=$WORKERS" "load=$module" \
    "seccomp_tracing=${SECCOMP_TRACING:-no}" "pidfile=$dir/kore.pid"
# Provider-call counters the server and its job runner share (/metrics).
ELENCHUS_METRICS_FILE=$(cd "$dir" && pwd)/llm-metrics
# The trace outbox: the workers append spans, the job runner exports them.
ELENCHUS_OTEL_OUTBOX=$(cd "$dir" && pwd)/otel-outbox
export ELENCHUS_METRICS_FILE ELENCHUS_OTEL_OUTBOX
cd "$ROOT"

jobs_pid=""
kore_pid=""
stop() {
	trap - INT TERM
	[ -n "$kore_pid" ] && kill "$kore_pid" 2>/dev/null
	[ -n "$jobs_pid" ] && kill "$jobs_pid" 2>/dev/null
	wait 2>/dev/null
	exit 0
}
trap stop INT TERM

if [ -x "$ROOT/build/elenchus-jobs" ] && [ "${JOBS_DISABLED:-0}" != 1 ]; then
	"$ROOT/build/elenchus-jobs" &
	jobs_pid=$!
fi
if [ "${ELENCHUS_SAN:-0}" = 1 ]; then
	[ -f "$module" ] || { echo "serve.sh: no $module (make build SAN=1)" >&2; exit 1; }
	san=${SAN_LOG_DIR:-$dir/san}
	mkdir -p "$san"
	# Kore itself is not instrumented, so the runtime must come first.
	# Leak checking at exit is off: it needs ptrace, which the worker
	# sandbox refuses, and Kore's pools live until exit anyway.
	LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) \
	ASAN_OPTIONS="detect_leaks=0:log_path=$san/asan:abort_on_error=0" \
	UBSAN_OPTIONS="print_stacktrace=1:log_path=$san/ubsan" \
	    kore -f -n -r -c "$dir/kore.conf" &
else
	kore -f -n -r -c "$dir/kore.conf" &
fi
kore_pid=$!
wait "$kore_pid"
rc=$?
[ -n "$jobs_pid" ] && kill "$jobs_pid" 2>/dev/null
wait 2>/dev/null
exit "$rc"

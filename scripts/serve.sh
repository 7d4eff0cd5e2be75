#!/bin/sh
# Start one Elenchus instance: the background job runner (when built) and
# Kore with build/elenchus.so on HTTP_HOST:HTTP_PORT, using DATABASE_URL
# and the caller's environment.  Runs in the foreground; a signal stops
# both.
#   serve.sh CONF_DIR     (writes CONF_DIR/kore.conf)
set -eu
. "$(dirname "$0")/env.sh"

dir=$1
mkdir -p "$dir"
sed -e "s|^\tbind 127.0.0.1 8080$|\tbind $HTTP_HOST $HTTP_PORT|" \
    -e "s|^workers\t\t\t2$|workers\t\t\t$WORKERS|" \
    -e "s|^seccomp_tracing\t\tno$|seccomp_tracing\t\t${SECCOMP_TRACING:-no}|" \
    -e "s|^load\t\t./build/elenchus.so|load\t\t$ROOT/build/elenchus.so|" \
    "$ROOT/kore.conf" > "$dir/kore.conf"
echo "pidfile $dir/kore.pid" >> "$dir/kore.conf"
grep -q "bind $HTTP_HOST $HTTP_PORT" "$dir/kore.conf" ||
    { echo "serve.sh: kore.conf has no default bind line" >&2; exit 1; }
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
kore -f -n -r -c "$dir/kore.conf" &
kore_pid=$!
wait "$kore_pid"
rc=$?
[ -n "$jobs_pid" ] && kill "$jobs_pid" 2>/dev/null
wait 2>/dev/null
exit "$rc"

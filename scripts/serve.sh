#!/bin/sh
# Start one Elenchus instance: Kore with build/elenchus.so on
# HTTP_HOST:HTTP_PORT, using DATABASE_URL, with the caller's environment.
#   serve.sh CONF_DIR     (writes CONF_DIR/kore.conf, runs in foreground)
set -eu
. "$(dirname "$0")/env.sh"

dir=$1
mkdir -p "$dir"
sed -e "s|^\tbind 127.0.0.1 8080$|\tbind $HTTP_HOST $HTTP_PORT|" \
    -e "s|^workers\t\t\t2$|workers\t\t\t$WORKERS|" \
    -e "s|^seccomp_tracing\t\tno$|seccomp_tracing\t\t${SECCOMP_TRACING:-no}|" \
    -e "s|^load\t\t./build/elenchus.so|load\t\t$ROOT/build/elenchus.so|" \
    "$ROOT/kore.conf" > "$dir/kore.conf"
grep -q "bind $HTTP_HOST $HTTP_PORT" "$dir/kore.conf" ||
    { echo "serve.sh: kore.conf has no default bind line" >&2; exit 1; }
cd "$ROOT"
exec kore -f -n -r -c "$dir/kore.conf"

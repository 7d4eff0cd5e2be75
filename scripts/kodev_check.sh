#!/bin/sh
# The kodev build serves a ready server: a copy of the tree's sources with
# the conf/build.conf make writes, `make kodev-conf`, then `kodev run` on a
# free port against DATABASE_URL (migrated); /ready must answer 200, which
# it does only when the module's SCHEMA_VERSION is the newest migration's.
#   kodev_check.sh WORKDIR      (DATABASE_URL and the server's environment set)
set -u
. "$(dirname "$0")/env.sh"

work=$1
app=$work/elenchus	# kodev names the module after the directory
rm -rf "$app"
mkdir -p "$app"
cp -R "$ROOT/src" "$ROOT/assets" "$ROOT/sql" "$ROOT/scripts" \
    "$ROOT/Makefile" "$ROOT/kore.conf" "$app/"
mkdir -p "$app/conf"
cd "$app" || exit 1
make -s kodev-conf >/dev/null || exit 1
port=$(free_port)
scripts/kore_conf.sh conf/elenchus.conf conf/elenchus.conf \
    "bind=127.0.0.1 $port" || exit 1

JOBS_DISABLED=1 kodev run >"$work/kodev.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM

# Building takes a while on a loaded machine; the server answers after.
# Once it answers, give it 10 s to be ready (a first connection may fail).
n=0
answered=0
code=000
while [ "$n" -lt 1800 ] && [ "$answered" -lt 100 ]; do
	code=$(curl -s -o "$work/ready.json" -w '%{http_code}' \
	    "http://127.0.0.1:$port/ready" 2>/dev/null)
	[ "$code" = 200 ] && break
	[ "$code" != 000 ] && answered=$((answered + 1))
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
	n=$((n + 1))
done
if [ "$code" != 200 ]; then
	echo "kodev_check: /ready of the kodev build answered $code"
	cat "$work/ready.json" 2>/dev/null; echo
	tail -n 20 "$work/kodev.log"
	exit 1
fi
echo "kodev_check: kodev build answers /ready 200"
exit 0

#!/bin/sh
# make run: PostgreSQL (local cluster unless DATABASE_URL is set),
# migrations, nginx TLS front on TLS_PORT, Kore in the foreground on
# HTTP_PORT.  Ctrl-C stops everything this script started.
set -eu
. "$(dirname "$0")/env.sh"

started_pg=0
nginx_pid=""
cleanup() {
	trap - INT TERM EXIT
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
	[ -n "${kore_pid:-}" ] && kill "$kore_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	[ "$started_pg" = 1 ] && "$ROOT/scripts/pg.sh" stop || true
	echo "elenchus: stopped"
}
trap cleanup INT TERM EXIT

if [ -z "${DATABASE_URL:-}" ]; then
	"$ROOT/scripts/pg.sh" status || started_pg=1
	"$ROOT/scripts/pg.sh" start
	pg_port_refresh
	"$ROOT/scripts/pg.sh" createdb "$PG_DB"
	DATABASE_URL=$(local_db_url "$PG_DB")
	export DATABASE_URL
fi
"$ROOT/scripts/migrate.sh" "$DATABASE_URL"

"$ROOT/scripts/nginx.sh" "$RUN_DIR/nginx" "$TLS_PORT" \
    "$HTTP_HOST:$HTTP_PORT" &
nginx_pid=$!

echo "elenchus: http://$HTTP_HOST:$HTTP_PORT  https://127.0.0.1:$TLS_PORT"
"$ROOT/scripts/serve.sh" "$RUN_DIR/kore" &
kore_pid=$!
wait "$kore_pid"

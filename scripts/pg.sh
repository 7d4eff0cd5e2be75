#!/bin/sh
# The local PostgreSQL cluster under .run/pg: start (creating it on first
# use), stop, or create a database.  Listens on its unix socket and on
# 127.0.0.1:$PG_PORT only; trust authentication, development only.
set -eu
. "$(dirname "$0")/env.sh"

DATA=$PG_DIR/data
LOG=$PG_DIR/postgres.log

cmd=${1:-start}

create() {
	mkdir -p "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
	# The port is taken (another cluster, another work tree): use a free
	# one, remembered in $PG_DIR/port for the next runs.
	if python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $PG_PORT))" 2>/dev/null; then
		:
	else
		PG_PORT=$(free_port)
	fi
	echo "$PG_PORT" > "$PG_DIR/port"
	as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 \
	    --locale=C.UTF-8 >/dev/null
	cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 300
shared_buffers = 256MB
work_mem = 8MB
log_min_messages = warning
log_min_error_statement = panic
log_line_prefix = '%m [%p] '
CONF
}

running() {
	as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

case "$cmd" in
start)
	[ -f "$DATA/PG_VERSION" ] || create
	if ! running && ! python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', $PG_PORT))" 2>/dev/null; then
		# Its port was taken since (another work tree's cluster): move.
		PG_PORT=$(free_port)
		echo "port = $PG_PORT" >> "$DATA/postgresql.conf"
		echo "$PG_PORT" > "$PG_DIR/port"
		echo "pg.sh: port taken, the cluster moves to $PG_PORT" >&2
	fi
	if ! running; then
		as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
		    >/dev/null
	fi
	psql="psql -h $PG_DIR -p $PG_PORT -U postgres -X -q -v ON_ERROR_STOP=1"
	$psql -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='elenchus'" |
	    grep -q 1 || $psql -d postgres -c "CREATE ROLE elenchus LOGIN SUPERUSER"
	;;
createdb)
	db=${2:?database name}
	psql="psql -h $PG_DIR -p $PG_PORT -U postgres -X -q -v ON_ERROR_STOP=1"
	if [ "${3:-}" = fresh ]; then
		PGOPTIONS="-c client_min_messages=warning" $psql -d postgres -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
	fi
	$psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" |
	    grep -q 1 || $psql -d postgres -c "CREATE DATABASE \"$db\" OWNER elenchus"
	;;
stop)
	if running; then
		as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	fi
	;;
status)
	running
	;;
*)
	echo "usage: pg.sh start|stop|status|createdb NAME [fresh]" >&2
	exit 2
	;;
esac

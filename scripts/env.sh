# Shared settings for the scripts: sourced, not run.
# Everything can be overridden from the caller's environment.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN_DIR=${RUN_DIR:-$ROOT/.run}
PG_DIR=${PG_DIR:-$RUN_DIR/pg}
# The cluster remembers its port (another work tree may hold the default).
if [ -z "${PG_PORT:-}" ] && [ -f "$PG_DIR/port" ]; then
	PG_PORT=$(cat "$PG_DIR/port")
fi
PG_PORT=${PG_PORT:-55432}

# After scripts/pg.sh start: the port the cluster really listens on.
pg_port_refresh() {
	if [ -f "$PG_DIR/port" ]; then
		PG_PORT=$(cat "$PG_DIR/port")
		export PG_PORT
	fi
}
PG_DB=${PG_DB:-elenchus}
HTTP_HOST=${HTTP_HOST:-127.0.0.1}
HTTP_PORT=${HTTP_PORT:-8080}
TLS_PORT=${TLS_PORT:-8443}
WORKERS=${WORKERS:-2}
export ROOT RUN_DIR PG_PORT PG_DIR HTTP_HOST HTTP_PORT TLS_PORT WORKERS

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# The local cluster's address: its unix socket, the cheapest transport.
local_db_url() {
	echo "postgresql://elenchus@/${1:-$PG_DB}?host=$PG_DIR&port=$PG_PORT"
}

# Run a command as the PostgreSQL owner (postgres refuses to run as root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until url answers 200, up to $2 seconds.
wait_http() {
	_n=0
	while [ "$_n" -lt "$(( ${2:-30} * 10 ))" ]; do
		if curl -ks -o /dev/null -w '%{http_code}' "$1" 2>/dev/null |
		    grep -q '^200$'; then
			return 0
		fi
		sleep 0.1
		_n=$((_n + 1))
	done
	return 1
}

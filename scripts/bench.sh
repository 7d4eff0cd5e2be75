#!/bin/sh
# make bench: the server as `make run` starts it (production settings, all
# workers) on a seeded database, loaded with wrk on loopback, side by side
# with the FastAPI reference stack when it is there; in the same run,
# pgbench on the same single-row SELECT for the raw PostgreSQL limit, a
# login flood, and two instances behind nginx.  Prints a table and writes
# bench/RESULTS.md.
#
#   BENCH_SECONDS=10 BENCH_CONNS=64 BENCH_ROUNDS=3 make bench
#   FASTAPI_DIR=/path/to/fastapi_todo make bench   (FASTAPI_DIR= skips it)
#
# Both servers get the same data (1 user with 50 todos, 200 users with 50
# each), the same PostgreSQL cluster (a database each) and the same wrk
# parameters.  Each endpoint is run A/B, B/A ... BENCH_ROUNDS times, so
# that a neighbour's load falls on both; the tables give medians.
set -eu
. "$(dirname "$0")/env.sh"

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
FASTAPI_DIR=${FASTAPI_DIR-$ROOT/../shared/anchors/fastapi_todo}
OUT=$ROOT/bench/RESULTS.md
T=$(mktemp -d /tmp/elenchus-bench.XXXXXX)
chmod 755 "$T"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
"$ROOT/scripts/pg.sh" start
pg_port_refresh
"$ROOT/scripts/pg.sh" createdb elenchus_bench fresh
DATABASE_URL=$(local_db_url elenchus_bench)
export DATABASE_URL
"$ROOT/scripts/migrate.sh" "$DATABASE_URL" >/dev/null
PSQL="psql -X -q -v ON_ERROR_STOP=1"

PW='Bench-Passw0rd-1'
echo "== seeding: 1 user with 50 todos, 200 users with 10,000 todos, a heavy user (52,000 todos, 100,000 model calls)"
$PSQL "$DATABASE_URL" -v pw="$PW" <<'SQL'
INSERT INTO users (email, password_hash, full_name)
VALUES ('bench@elenchus.test', crypt(:'pw', gen_salt('bf', 12)), 'Bench User');
INSERT INTO users (email, password_hash, full_name)
SELECT 'other' || g || '@elenchus.test',
       (SELECT password_hash FROM users WHERE email = 'bench@elenchus.test'),
       'Other ' || g
FROM generate_series(1, 200) g;
INSERT INTO todos (user_id, title, description, priority)
SELECT u.id, 'Todo ' || g || ' of ' || u.full_name, 'Seeded for the benchmark',
       (ARRAY['high', 'medium', 'low'])[1 + g % 3]
FROM generate_series(1, 50) g, users u
WHERE u.email LIKE 'other%' OR u.email = 'bench@elenchus.test'
ORDER BY g, u.id;
-- A heavy user: the list's cost must not grow with the list.
INSERT INTO users (email, password_hash, full_name)
SELECT 'heavy@elenchus.test', password_hash, 'Heavy User'
FROM users WHERE email = 'bench@elenchus.test';
INSERT INTO todos (user_id, title, priority)
SELECT u.id, 'Heavy ' || g, 'low'
FROM generate_series(1, 52000) g, users u WHERE u.email = 'heavy@elenchus.test';
-- A heavy model user: 100,000 calls over 90 days, 3 models, 2% failed.
INSERT INTO llm_calls (user_id, kind, provider, model, prompt_tokens,
    completion_tokens, total_tokens, latency_ms, status, created_at)
SELECT u.id, (ARRAY['chat', 'chat', 'analysis'])[1 + g % 3], 'openai',
       (ARRAY['gpt-4o-mini', 'gpt-4o', 'gpt-4.1'])[1 + g % 3],
       CASE WHEN g % 50 = 0 THEN 0 ELSE 200 + g % 700 END,
       CASE WHEN g % 50 = 0 THEN 0 ELSE 50 + g % 300 END,
       CASE WHEN g % 50 = 0 THEN 0 ELSE 250 + g % 700 + g % 300 END,
       300 + g % 2000, CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'ok' END,
       now() - (g % 90) * interval '1 day' - (g % 3600) * interval '1 s'
FROM generate_series(1, 100000) g, users u
WHERE u.email = 'heavy@elenchus.test';
VACUUM ANALYZE;
SQL

HTTP_PORT=$(free_port)
export HTTP_PORT WORKERS=${WORKERS:-$(nproc)}
export ENVIRONMENT=production JWT_SECRET=bench-secret-0123456789abcdef0123456789
export BCRYPT_COST=12 RATE_LIMIT_PER_MINUTE=100000000
export AUTH_RATE_LIMIT_PER_MINUTE=10000000 LOCKOUT_THRESHOLD=1000
export JOBS_DISABLED=1 TRUSTED_PROXIES=127.0.0.1
export AI_PRICE_TABLE='gpt-4o-mini=0.15:0.6,gpt-4o=2.5:10,gpt-4.1=2:8'
"$ROOT/scripts/serve.sh" "$T/kore" >"$T/kore.log" 2>&1 &
pids="$pids $!"
BASE="http://127.0.0.1:$HTTP_PORT"
wait_http "$BASE/ready" 30 || { tail "$T/kore.log"; exit 1; }

login() {	# base email password -> body
	curl -s -H 'Content-Type: application/json' \
	    -d "{\"email\":\"$2\",\"password\":\"$3\"}" "$1/api/v1/auth/login"
}
body=$(login "$BASE" bench@elenchus.test "$PW")
TOKEN=$(echo "$body" | jq -r .data.access_token)
UID_=$(echo "$body" | jq -r .data.user.id)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "login failed: $body"; exit 1; }
TODO=$(psql "$DATABASE_URL" -XAtc "SELECT id FROM todos WHERE user_id = '$UID_' ORDER BY created_at OFFSET 24 LIMIT 1")
body=$(login "$BASE" heavy@elenchus.test "$PW")
HTOKEN=$(echo "$body" | jq -r .data.access_token)
HUID=$(echo "$body" | jq -r .data.user.id)

# ---------------------------------------------------------------- FastAPI
# The reference runs as its README says (uvicorn, 2 workers, uvloop and
# httptools), on its own database in the same cluster.
# Debian's python3, where the python3-* packages import.
FA_PY=${FASTAPI_PYTHON:-/usr/bin/python3}
FA=""
FA_NOTE=""
fa_start() {
	if [ -z "$FASTAPI_DIR" ] || [ ! -f "$FASTAPI_DIR/app.py" ]; then
		FA_NOTE="no reference at FASTAPI_DIR=${FASTAPI_DIR:-(empty)}"
		return 1
	fi
	if ! "$FA_PY" -c 'import fastapi, uvicorn, uvloop, httptools, asyncpg, passlib, bcrypt, jwt, pydantic, email_validator' 2>"$T/fa-import.txt"; then
		FA_NOTE="its Python packages are missing ($(tail -n 1 "$T/fa-import.txt")); see $FASTAPI_DIR/README.md"
		return 1
	fi
	"$ROOT/scripts/pg.sh" createdb fastapi_bench fresh
	FA_DB=$(local_db_url fastapi_bench)
	PGOPTIONS='-c client_min_messages=warning' $PSQL "$FA_DB" \
	    -f "$FASTAPI_DIR/schema.sql" >/dev/null
	FA_PORT=$(free_port)
	DATABASE_URL=$FA_DB JWT_SECRET=$JWT_SECRET "$FA_PY" -m uvicorn app:app \
	    --app-dir "$FASTAPI_DIR" --host 127.0.0.1 --port "$FA_PORT" \
	    --workers 2 --loop uvloop --http httptools --no-access-log \
	    --log-level warning >"$T/uvicorn.log" 2>&1 &
	pids="$pids $!"
	FA_BASE="http://127.0.0.1:$FA_PORT"
	if ! wait_http "$FA_BASE/health/db" 60; then
		FA_NOTE="uvicorn did not start: $(tail -n 1 "$T/uvicorn.log")"
		return 1
	fi
	FA_PW=bench-password-123
	FA_UID=$(curl -s -H 'Content-Type: application/json' -d \
	    "{\"email\":\"bench@example.com\",\"password\":\"$FA_PW\",\"full_name\":\"Bench User\"}" \
	    "$FA_BASE/api/v1/auth/register" | jq -r .id)
	$PSQL "$FA_DB" <<'SQL'
INSERT INTO users (email, password_hash, full_name)
SELECT 'user' || g || '@example.com', u.password_hash, 'User ' || g
FROM generate_series(1, 200) g, users u WHERE u.email = 'bench@example.com';
INSERT INTO todos (user_id, title, description, priority)
SELECT u.id, 'Todo ' || g || ' of ' || u.full_name, 'Seeded for the benchmark',
       (ARRAY['high', 'medium', 'low'])[1 + g % 3]
FROM generate_series(1, 50) g, users u
ORDER BY g, u.id;
VACUUM ANALYZE;
SQL
	FA_TODO=$(psql "$FA_DB" -XAtc "SELECT id FROM todos WHERE user_id = '$FA_UID' ORDER BY created_at OFFSET 24 LIMIT 1")
	FA_TOKEN=$(login "$FA_BASE" bench@example.com "$FA_PW" | jq -r .access_token)
	[ -n "$FA_TOKEN" ] && [ "$FA_TOKEN" != null ] ||
	    { FA_NOTE="login to the reference failed"; return 1; }
	# Both answer the list of 50 before either is measured.
	n=$(curl -s -H "Authorization: Bearer $FA_TOKEN" \
	    "$FA_BASE/api/v1/users/$FA_UID/todos" | jq '.todos | length')
	[ "$n" = 50 ] || { FA_NOTE="reference list has $n todos"; return 1; }
	return 0
}
if fa_start; then
	FA=1
	echo "== FastAPI reference on $FA_BASE ($FASTAPI_DIR)"
else
	echo "bench: FastAPI reference skipped: $FA_NOTE" >&2
fi

# ---------------------------------------------------------------- wrk
# Resident memory (KiB) of this instance's Kore workers.
rss() {
	parent=$(cat "$T/kore/kore.pid")
	for p in $(pgrep -P "$parent"); do
		ps -o rss= -p "$p"
	done | awk '{printf "%s%d", sep, $1; sep=" "}'
}

# wrk1 NAME CONNS URL [METHOD BODY]: one wrk run into $T/NAME.res
wrk1() {
	WRK_METHOD=${4:-GET} WRK_BODY=${5:-} WRK_TOKEN=${WRK_TOKEN:-} \
	    wrk -t "$THREADS" -c "$2" -d "${SECS}s" --timeout 10s \
	    -s "$ROOT/bench/wrk.lua" "$3" >"$T/$1.txt" 2>&1 || true
	sed -n 's/^RESULT //p' "$T/$1.txt" > "$T/$1.res"
	printf '%-34s %s\n' "$1" "$(cat "$T/$1.res")"
}
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$T/$1.res"; }

# run NAME CONNS URL [METHOD BODY]: a run that is not compared (ours)
run() {
	wrk1 "$@"
}

# side SIDE ENDPOINT: sets S_URL S_METHOD S_BODY S_CONNS WRK_TOKEN
side() {
	S_METHOD=GET S_BODY="" S_CONNS=$CONNS
	if [ "$1" = ours ]; then
		b=$BASE u=$UID_ t=$TODO WRK_TOKEN=$TOKEN q="?limit=50"
		em=bench@elenchus.test pw=$PW
	else
		b=$FA_BASE u=$FA_UID t=$FA_TODO WRK_TOKEN=$FA_TOKEN q=""
		em=bench@example.com pw=$FA_PW
	fi
	case $2 in
	health)		S_URL=$b/health WRK_TOKEN="" ;;
	todo_get)	S_URL=$b/api/v1/users/$u/todos/$t ;;
	todo_list)	S_URL=$b/api/v1/users/$u/todos$q ;;
	todo_post)	S_URL=$b/api/v1/users/$u/todos S_METHOD=POST
			S_BODY='{"title":"Benchmark todo","priority":"high"}' ;;
	todo_list_heavy) # ours only: the same page of a user with 52,000
			S_URL=$b/api/v1/users/$HUID/todos$q WRK_TOKEN=$HTOKEN ;;
	login)		S_URL=$b/api/v1/auth/login S_METHOD=POST S_CONNS=8
			S_BODY="{\"email\":\"$em\",\"password\":\"$pw\"}"
			WRK_TOKEN="" ;;
	esac
}

# Back to the seeded shape after a run that created todos.
unpost() {
	if [ "$1" = ours ]; then db=$DATABASE_URL; else db=$FA_DB; fi
	$PSQL "$db" -c "DELETE FROM todos WHERE title = 'Benchmark todo'" \
	    -c "VACUUM ANALYZE todos" >/dev/null
}

med() {	# values on stdin -> median
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a";
	    else if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ab ENDPOINT...: ours and the reference alternated ROUNDS times (the
# reference only where it has the endpoint), the endpoints in turn, in
# reverse order every other round; medians into $T/ENDPOINT.res (ours)
# and $T/ENDPOINT-fa.res.
ab() {
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		eps=$*
		[ $((r % 2)) = 0 ] && eps=$(echo "$*" | tr ' ' '\n' | tac | tr '\n' ' ')
		for e in $eps; do
			for s in $(sides "$e" "$r"); do
				side "$s" "$e"
				wrk1 "$e-$s-$r" "$S_CONNS" "$S_URL" "$S_METHOD" "$S_BODY"
				[ "$e" = todo_post ] && unpost "$s"
			done
		done
		r=$((r + 1))
	done
	for e in "$@"; do
		for s in $(sides "$e" 1); do
			name=$e
			[ "$s" = fa ] && name=$e-fa
			medians "$e-$s-" > "$T/$name.res"
		done
	done
}

# sides ENDPOINT ROUND: who runs it, in this round's order.
sides() {
	if [ -z "$FA" ] || [ "$1" = todo_list_heavy ]; then
		echo ours
	elif [ $(($2 % 2)) = 0 ]; then
		echo fa ours
	else
		echo ours fa
	fi
}

# medians PREFIX: the medians of $T/PREFIX*.res as one .res line.
medians() {
	for f in rps p50_ms p99_ms non2xx requests; do
		printf '%s=%s ' "$f" "$(cat "$T/$1"*.res |
		    sed -n "s/.*$f=\([^ ]*\).*/\1/p" | med)"
	done
	printf 'runs=%s\n' "$(cat "$T/$1"*.res |
	    sed -n 's/.*rps=\([^ ]*\).*/\1/p' | tr '\n' '/' | sed 's|/$||')"
}

# Warm-up, not recorded: each worker opens its PostgreSQL connections
# (a blocking connect in Kore 4.1) and prepares its statements once.
warm() {
	side "$1" todo_get; tok=$WRK_TOKEN; get=$S_URL
	side "$1" todo_list
	for u in "${get%%/api/*}/health" "$get" "$S_URL"; do
		WRK_TOKEN=$tok WRK_METHOD=GET wrk -t "$THREADS" -c "$CONNS" \
		    -d 2s -s "$ROOT/bench/wrk.lua" "$u" >/dev/null 2>&1 || true
	done
}
warm ours
[ -n "$FA" ] && warm fa

# Memory is compared between steady states: after the warm-up has grown
# Kore's pools to the connection count, and after the run.
RSS_BEFORE=$(rss)

echo "== wrk: $THREADS threads, $CONNS connections, ${SECS}s each, $ROUNDS rounds${FA:+, A/B with FastAPI}"
# The list of 50 and the same page of a user with 52,000, in turn: their
# ratio is only fair when a neighbour's load falls on both.
for e in health todo_get "todo_list todo_list_heavy" todo_post login; do
	ab $e
done
# Analytics of a user with 100,000 model calls, over the exact rollup.
WRK_TOKEN=$HTOKEN run usage_90d_100k_calls 16 \
    "$BASE/api/v1/analytics/usage?days=90"
WRK_TOKEN=$HTOKEN run tokens_90d_100k_calls 16 \
    "$BASE/api/v1/analytics/tokens?days=90"

# /health alone, then during a flood of 16 logins (each a bcrypt), in
# turn ROUNDS times; medians.  The flood's completed logins are counted:
# a flood that never ran would flatter the ratio.
echo "== /health p99: idle, then during a login flood (bcrypt $BCRYPT_COST), $ROUNDS rounds"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	run "health_idle-$r" 8 "$BASE/health"
	WRK_METHOD=POST WRK_BODY="{\"email\":\"bench@elenchus.test\",\"password\":\"$PW\"}" \
	    wrk -t 1 -c 16 -d "$((SECS + 2))s" --timeout 10s -s "$ROOT/bench/wrk.lua" \
	    "$BASE/api/v1/auth/login" >"$T/flood-$r.txt" 2>&1 &
	flood=$!
	sleep 1
	run "health_flood-$r" 8 "$BASE/health"
	wait "$flood" || true
	sed -n 's/^RESULT //p' "$T/flood-$r.txt" > "$T/login_flood-$r.res"
	r=$((r + 1))
done
for n in health_idle health_flood login_flood; do
	medians "$n-" > "$T/$n.res"
done

RSS_AFTER=$(rss)

echo "== pgbench: the same single-row SELECT, $CONNS connections"
cat > "$T/get.sql" <<SQL
SELECT id, user_id, title, description, priority, completed, (extract(epoch FROM created_at) * 1000000)::int8, (extract(epoch FROM updated_at) * 1000000)::int8, (extract(epoch FROM completed_at) * 1000000)::int8 FROM todos WHERE id = '$TODO' AND user_id = '$UID_';
SQL
pgb() {
	"$PGBIN/pgbench" -n -M "$1" -c "$CONNS" -j "$THREADS" -T "$SECS" \
	    -f "$T/get.sql" "$DATABASE_URL" >"$T/pgbench-$1.txt" 2>&1
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$T/pgbench-$1.txt"
}
PGB_EXT=$(pgb extended)
PGB_PREP=$(pgb prepared)
# What /usage?days=90 would cost without the rollup: the same sums read
# from the ledger's 100,000 rows through its (user_id, created_at) index.
cat > "$T/scan.sql" <<SQL
SELECT model, count(*), count(*) FILTER (WHERE status = 'ok'), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(latency_ms) FILTER (WHERE status = 'ok') FROM llm_calls WHERE user_id = '$HUID' AND created_at >= (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '89 days') AT TIME ZONE 'UTC' GROUP BY model;
SQL
"$PGBIN/pgbench" -n -M prepared -c 1 -j 1 -T 5 -f "$T/scan.sql" \
    "$DATABASE_URL" >"$T/pgbench-scan.txt" 2>&1
SCAN_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$T/pgbench-scan.txt")
echo "ledger scan for the same 90-day sums (no rollup): $SCAN_MS ms a query"
echo "pgbench extended (unprepared): $PGB_EXT tps; prepared: $PGB_PREP tps"

# A second instance, without the list's page cache (LIST_CACHE_MB=0):
# the list when every page is read from PostgreSQL, as after each write
# to the user's todos.  Then the scale-out below.
HTTP_PORT2=$(free_port)
HTTP_PORT=$HTTP_PORT2 LIST_CACHE_MB=0 "$ROOT/scripts/serve.sh" "$T/kore2" \
    >"$T/kore2.log" 2>&1 &
pids="$pids $!"
wait_http "http://127.0.0.1:$HTTP_PORT2/ready" 30 ||
    { tail "$T/kore2.log"; exit 1; }
echo "== the list without the page cache, $ROUNDS rounds"
url="http://127.0.0.1:$HTTP_PORT2/api/v1/users/$UID_/todos?limit=50"
WRK_TOKEN=$TOKEN WRK_METHOD=GET wrk -t "$THREADS" -c "$CONNS" -d 2s \
    -s "$ROOT/bench/wrk.lua" "$url" >/dev/null 2>&1 || true
r=1
while [ "$r" -le "$ROUNDS" ]; do
	WRK_TOKEN=$TOKEN wrk1 "todo_list_nocache-$r" "$CONNS" "$url"
	r=$((r + 1))
done
medians "todo_list_nocache-" > "$T/todo_list_nocache.res"

# ---------------------------------------------------------------- scale-out
# nginx (plain HTTP, keep-alive upstream) in front of one instance, then
# of two instances on the same PostgreSQL: the same single-todo GET.
NGINX_NOTE=""
if command -v nginx >/dev/null; then
	echo "== nginx in front of one instance, then two"
	NG_PORT=$(free_port)
	ngx() {	# upstream servers...
		mkdir -p "$T/nginx/logs" "$T/nginx/tmp"
		{
			echo "worker_processes 1; pid $T/nginx/nginx.pid;"
			echo "error_log $T/nginx/logs/error.log warn; daemon off;"
			[ "$(id -u)" = 0 ] && echo "user root;"
			echo "events { worker_connections 4096; }"
			echo "http { access_log off;"
			echo " client_body_temp_path $T/nginx/tmp/body;"
			echo " proxy_temp_path $T/nginx/tmp/proxy;"
			echo " upstream kore {"
			for s in "$@"; do echo "  server $s;"; done
			echo "  keepalive 64; }"
			echo " server { listen 127.0.0.1:$NG_PORT;"
			echo "  location / { proxy_pass http://kore;"
			echo "   proxy_http_version 1.1;"
			echo "   proxy_set_header Connection \"\";"
			echo "   proxy_set_header X-Forwarded-For \$remote_addr; } } }"
		} > "$T/nginx/nginx.conf"
		nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" &
		NG_PID=$!
		wait_http "http://127.0.0.1:$NG_PORT/health" 10
	}
	url="http://127.0.0.1:$NG_PORT/api/v1/users/$UID_/todos/$TODO"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for n in 1 2; do
			if [ "$n" = 1 ]; then
				ngx "127.0.0.1:$HTTP_PORT"
			else
				ngx "127.0.0.1:$HTTP_PORT" "127.0.0.1:$HTTP_PORT2"
			fi
			WRK_TOKEN=$TOKEN wrk1 "nginx$n-$r" "$CONNS" "$url"
			kill "$NG_PID"; wait "$NG_PID" 2>/dev/null || true
		done
		r=$((r + 1))
	done
	for n in 1 2; do
		printf 'rps=%s p99_ms=%s\n' \
		    "$(cat "$T/nginx$n-"*.res | sed -n 's/.*rps=\([^ ]*\).*/\1/p' | med)" \
		    "$(cat "$T/nginx$n-"*.res | sed -n 's/.*p99_ms=\([^ ]*\).*/\1/p' | med)" \
		    > "$T/nginx$n.res"
	done
else
	NGINX_NOTE="nginx not installed: no scale-out figure"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
GET_RPS=$(field todo_get rps)
R_EXT=$(ratio "$GET_RPS" "$PGB_EXT")
R_PREP=$(ratio "$GET_RPS" "$PGB_PREP")
H_IDLE=$(field health_idle p99_ms)
H_FLOOD=$(field health_flood p99_ms)
R_FLOOD=$(ratio "$H_FLOOD" "$H_IDLE")
growth=$(echo "$RSS_BEFORE|$RSS_AFTER" | awk -F'|' '{
	n = split($1, a, " "); split($2, b, " "); m = 0;
	for (i = 1; i <= n; i++) { g = (b[i] - a[i]) * 100 / a[i]; if (g > m) m = g }
	printf "%.1f", m }')
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== 200 chat requests against a provider answering in 2 s"
kill $pids 2>/dev/null || true
wait 2>/dev/null || true
pids=""
LLM_RESULT=$("$ROOT/scripts/bench_llm.sh" 200 2000 2>&1 | grep -E '^(cold|warm):')
echo "$LLM_RESULT"

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
{
	echo "# make bench — results"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $cpu, $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
	echo "- load average (1/5/15 min) at start: $LOAD_START; at the end: $LOAD_END"
	echo "- versions: kore $(dpkg-query -W -f='${Version}' kore), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), wrk $(dpkg-query -W -f='${Version}' wrk), $(uname -sr)"
	echo "- server: $WORKERS workers, ENVIRONMENT=production, BCRYPT_COST=$BCRYPT_COST, PostgreSQL over its unix socket"
	echo "- load: wrk -t $THREADS -c $CONNS -d ${SECS}s (login: -c 8), on loopback; $ROUNDS rounds, medians"
	if [ -n "$FA" ]; then
		echo "- reference: FastAPI (FASTAPI_DIR): uvicorn --workers 2 --loop uvloop --http httptools, asyncpg, bcrypt cost 12, same cluster, same data shape, A/B alternated per endpoint"
	else
		echo "- reference: skipped ($FA_NOTE)"
	fi
	echo
	echo "| endpoint | req/s | p50 ms | p99 ms | non-2xx | req/s per round |"
	echo "|---|---:|---:|---:|---:|---|"
	for n in health todo_get todo_list todo_list_nocache todo_post login \
	    todo_list_heavy usage_90d_100k_calls tokens_90d_100k_calls health_idle \
	    health_flood login_flood; do
		echo "| $n | $(field $n rps) | $(field $n p50_ms) | $(field $n p99_ms) | $(field $n non2xx) | $(field $n runs) |"
	done
	if [ -n "$FA" ]; then
		echo
		echo "| FastAPI reference | req/s | p50 ms | p99 ms | non-2xx | req/s per round |"
		echo "|---|---:|---:|---:|---:|---|"
		for n in health todo_get todo_list todo_post login; do
			echo "| $n | $(field $n-fa rps) | $(field $n-fa p50_ms) | $(field $n-fa p99_ms) | $(field $n-fa non2xx) | $(field $n-fa runs) |"
		done
	fi
	echo
	echo "| raw limit | value |"
	echo "|---|---:|"
	echo "| pgbench -M extended -c $CONNS (same SELECT) | $PGB_EXT tps |"
	echo "| pgbench -M prepared -c $CONNS (same SELECT) | $PGB_PREP tps |"
	echo "| authenticated single GET / pgbench extended | $R_EXT |"
	echo "| authenticated single GET / pgbench prepared | $R_PREP |"
	for n in health todo_get todo_list todo_post login; do
		if [ -n "$FA" ]; then
			echo "| $n / FastAPI | $(ratio "$(field $n rps)" "$(field $n-fa rps)") |"
		else
			echo "| $n / FastAPI | n/a |"
		fi
	done
	if [ -n "$FA" ]; then
		echo "| todo_list without the page cache / FastAPI | $(ratio "$(field todo_list_nocache rps)" "$(field todo_list-fa rps)") |"
	fi
	echo "| todo_list p99 / p50 | $(ratio "$(field todo_list p99_ms)" "$(field todo_list p50_ms)") |"
	echo "| 90-day sums of 100,000 model calls read from the ledger (pgbench, 1 conn, mean) | $SCAN_MS ms |"
	echo "| /analytics/usage?days=90 of that user over the rollup, p50 at 16 conns | $(field usage_90d_100k_calls p50_ms) ms |"
	echo "| todo_list of 52,000 / todo_list of 50 | $(ratio "$(field todo_list_heavy rps)" "$(field todo_list rps)") |"
	echo "| /health p99 during login flood / idle | $R_FLOOD |"
	echo "| logins completed per flood of $((SECS + 2)) s (16 conns, median) | $(field login_flood requests) |"
	if [ -z "$NGINX_NOTE" ]; then
		echo "| todo_get via nginx, 1 instance (req/s) | $(field nginx1 rps) |"
		echo "| todo_get via nginx, 2 instances (req/s) | $(field nginx2 rps) |"
		echo "| 2 instances / 1 instance behind nginx | $(ratio "$(field nginx2 rps)" "$(field nginx1 rps)") |"
	fi
	echo "| worker RSS before (KiB) | $RSS_BEFORE |"
	echo "| worker RSS after (KiB) | $RSS_AFTER |"
	echo "| largest worker RSS growth | $growth % |"
	echo
	[ -n "$NGINX_NOTE" ] && { echo "$NGINX_NOTE"; echo; }
	echo "Slow provider, many requests in flight (scripts/bench_llm.sh 200 2000:"
	echo "200 concurrent POST /api/v1/chat/chat, the stand-in answering after 2 s,"
	echo "/health sampled every 250 ms meanwhile):"
	echo
	echo "$LLM_RESULT" | sed 's/^/    /'
	echo
	echo "Commands: \`make bench\` (scripts/bench.sh); wrk script bench/wrk.lua;"
	echo "pgbench: \`pgbench -n -M {extended,prepared} -c $CONNS -j $THREADS -T $SECS -f get.sql\`"
	echo "with get.sql the server's own single-todo SELECT for one (id, user_id)."
	echo "The machine may be shared: compare the ratios of one run, not"
	echo "absolute numbers across runs.  What each lever bought, and the"
	echo "scale-out limits: docs/SCALING.md."
} > "$OUT"
echo
cat "$OUT"

#!/bin/sh
# make bench: the server as `make run` starts it (production settings, all
# workers) on a seeded database, loaded with wrk on loopback; in the same
# run, pgbench on the same single-row SELECT for the raw PostgreSQL limit.
# Prints a table and writes bench/RESULTS.md.
#   BENCH_SECONDS=10 BENCH_CONNS=64 make bench
set -eu
. "$(dirname "$0")/env.sh"

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
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

"$ROOT/scripts/pg.sh" start
pg_port_refresh
"$ROOT/scripts/pg.sh" createdb elenchus_bench fresh
DATABASE_URL=$(local_db_url elenchus_bench)
export DATABASE_URL
"$ROOT/scripts/migrate.sh" "$DATABASE_URL" >/dev/null

PW='Bench-Passw0rd-1'
echo "== seeding: 1 user with 50 todos, 200 users with 10,000 todos"
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v pw="$PW" <<'SQL'
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
FROM users u, generate_series(1, 50) g
WHERE u.email LIKE 'other%' OR u.email = 'bench@elenchus.test';
ANALYZE;
SQL

HTTP_PORT=$(free_port)
export HTTP_PORT WORKERS=${WORKERS:-$(nproc)}
export ENVIRONMENT=production JWT_SECRET=bench-secret-0123456789abcdef0123456789
export BCRYPT_COST=12 RATE_LIMIT_PER_MINUTE=100000000
export AUTH_RATE_LIMIT_PER_MINUTE=10000000 LOCKOUT_THRESHOLD=1000
export JOBS_DISABLED=1
"$ROOT/scripts/serve.sh" "$T/kore" >"$T/kore.log" 2>&1 &
pids="$pids $!"
BASE="http://127.0.0.1:$HTTP_PORT"
wait_http "$BASE/ready" 30 || { tail "$T/kore.log"; exit 1; }

login=$(curl -s -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench@elenchus.test\",\"password\":\"$PW\"}" \
    "$BASE/api/v1/auth/login")
TOKEN=$(echo "$login" | jq -r .data.access_token)
UID_=$(echo "$login" | jq -r .data.user.id)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || { echo "login failed: $login"; exit 1; }
TODO=$(psql "$DATABASE_URL" -XAtc "SELECT id FROM todos WHERE user_id = '$UID_' LIMIT 1")

# Resident memory (KiB) of this instance's Kore workers.
rss() {
	parent=$(cat "$T/kore/kore.pid")
	for p in $(pgrep -P "$parent"); do
		ps -o rss= -p "$p"
	done | awk '{printf "%s%d", sep, $1; sep=" "}'
}

# run NAME CONNS URL [METHOD BODY]
run() {
	name=$1; c=$2; url=$3
	WRK_METHOD=${4:-GET} WRK_BODY=${5:-} WRK_TOKEN=${WRK_TOKEN:-} \
	    wrk -t "$THREADS" -c "$c" -d "${SECS}s" --timeout 10s \
	    -s "$ROOT/bench/wrk.lua" "$url" >"$T/$name.txt" 2>&1 || true
	sed -n 's/^RESULT //p' "$T/$name.txt" > "$T/$name.res"
	printf '%-34s %s\n' "$name" "$(cat "$T/$name.res")"
}
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$T/$1.res"; }

# Warm-up, not recorded: each worker opens its PostgreSQL connections
# (a blocking connect in Kore 4.1) and prepares its statements once.
for path in /health "/api/v1/users/$UID_/todos/$TODO" \
    "/api/v1/users/$UID_/todos?limit=50"; do
	WRK_TOKEN=$TOKEN WRK_METHOD=GET wrk -t "$THREADS" -c "$CONNS" -d 2s \
	    -s "$ROOT/bench/wrk.lua" "$BASE$path" >/dev/null 2>&1 || true
done

# Memory is compared between steady states: after the warm-up has grown
# Kore's pools to the connection count, and after the run.
RSS_BEFORE=$(rss)

echo "== wrk: $THREADS threads, $CONNS connections, ${SECS}s each"
run health "$CONNS" "$BASE/health"
WRK_TOKEN=$TOKEN run todo_get "$CONNS" "$BASE/api/v1/users/$UID_/todos/$TODO"
WRK_TOKEN=$TOKEN run todo_list "$CONNS" "$BASE/api/v1/users/$UID_/todos?limit=50"
WRK_TOKEN=$TOKEN run todo_post "$CONNS" "$BASE/api/v1/users/$UID_/todos" POST \
    '{"title":"Benchmark todo","priority":"high"}'
run login 8 "$BASE/api/v1/auth/login" POST \
    "{\"email\":\"bench@elenchus.test\",\"password\":\"$PW\"}"

echo "== /health p99: idle, then during a login flood (bcrypt $BCRYPT_COST)"
run health_idle 8 "$BASE/health"
WRK_METHOD=POST WRK_BODY="{\"email\":\"bench@elenchus.test\",\"password\":\"$PW\"}" \
    wrk -t 1 -c 16 -d "$((SECS + 2))s" --timeout 10s -s "$ROOT/bench/wrk.lua" \
    "$BASE/api/v1/auth/login" >"$T/flood.txt" 2>&1 &
flood=$!
sleep 1
run health_flood 8 "$BASE/health"
wait "$flood" || true

RSS_AFTER=$(rss)

echo "== pgbench: the same single-row SELECT, $CONNS connections"
cat > "$T/get.sql" <<SQL
SELECT json_build_object('id', id, 'user_id', user_id, 'title', title, 'description', description, 'priority', priority, 'completed', completed, 'created_at', rfc3339(created_at), 'updated_at', rfc3339(updated_at), 'completed_at', rfc3339(completed_at)) FROM todos WHERE id = '$TODO' AND user_id = '$UID_';
SQL
pgb() {
	"$PGBIN/pgbench" -n -M "$1" -c "$CONNS" -j "$THREADS" -T "$SECS" \
	    -f "$T/get.sql" "$DATABASE_URL" >"$T/pgbench-$1.txt" 2>&1
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$T/pgbench-$1.txt"
}
PGB_EXT=$(pgb extended)
PGB_PREP=$(pgb prepared)
echo "pgbench extended (unprepared): $PGB_EXT tps; prepared: $PGB_PREP tps"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
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
	echo "- versions: kore $(dpkg-query -W -f='${Version}' kore), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), wrk $(dpkg-query -W -f='${Version}' wrk), $(uname -sr)"
	echo "- server: $WORKERS workers, ENVIRONMENT=production, BCRYPT_COST=$BCRYPT_COST, PostgreSQL over its unix socket"
	echo "- load: wrk -t $THREADS -c $CONNS -d ${SECS}s (login: -c 8), on loopback"
	echo
	echo "| endpoint | req/s | p50 ms | p99 ms | non-2xx |"
	echo "|---|---:|---:|---:|---:|"
	for n in health todo_get todo_list todo_post login health_idle health_flood; do
		echo "| $n | $(field $n rps) | $(field $n p50_ms) | $(field $n p99_ms) | $(field $n non2xx) |"
	done
	echo
	echo "| raw limit | value |"
	echo "|---|---:|"
	echo "| pgbench -M extended -c $CONNS (same SELECT) | $PGB_EXT tps |"
	echo "| pgbench -M prepared -c $CONNS (same SELECT) | $PGB_PREP tps |"
	echo "| authenticated single GET / pgbench extended | $R_EXT |"
	echo "| authenticated single GET / pgbench prepared | $R_PREP |"
	echo "| /health p99 during login flood / idle | $R_FLOOD |"
	echo "| worker RSS before (KiB) | $RSS_BEFORE |"
	echo "| worker RSS after (KiB) | $RSS_AFTER |"
	echo "| largest worker RSS growth | $growth % |"
	echo
	echo "Slow provider, many requests in flight (scripts/bench_llm.sh 200 2000:"
	echo "200 concurrent POST /api/v1/chat/chat, the stand-in answering after 2 s,"
	echo "/health sampled every 250 ms meanwhile):"
	echo
	echo "$LLM_RESULT" | sed 's/^/    /'
	echo
	echo "Commands: \`make bench\` (scripts/bench.sh); wrk script bench/wrk.lua;"
	echo "pgbench: \`pgbench -n -M {extended,prepared} -c $CONNS -j $THREADS -T $SECS -f get.sql\`"
	echo "with get.sql the server's own single-todo SELECT for one (id, user_id)."
} > "$OUT"
echo
cat "$OUT"

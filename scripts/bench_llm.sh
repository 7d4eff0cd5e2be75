#!/bin/sh
# Many slow LLM answers at once: N chat requests (default 200) against
# the LLM stand-in answering after DELAY_MS (default 2000), all started
# together, while /health is sampled.  Prints the wall time, the answer
# time distribution and /health latency.  The provider calls of a worker
# share one curl multi thread, so the wall time should stay near
# DELAY_MS plus overhead, not DELAY_MS times N / threads.
#   scripts/bench_llm.sh [N] [DELAY_MS]
set -u
. "$(dirname "$0")/env.sh"
N=${1:-200}
DELAY=${2:-2000}
T=$(mktemp -d /tmp/elenchus-bench-llm.XXXXXX)
pids=""
db=elenchus_bench_llm_$$
cleanup() {
	for p in $pids; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; done
	psql -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
	    -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

"$ROOT/scripts/pg.sh" start || exit 1
pg_port_refresh
"$ROOT/scripts/pg.sh" createdb "$db" fresh || exit 1
DATABASE_URL=$(local_db_url "$db")
export DATABASE_URL
BCRYPT_COST=4 "$ROOT/scripts/migrate.sh" "$DATABASE_URL" >/dev/null || exit 1

setsid python3 -u "$ROOT/tests/standins/llm_standin.py" --port 0 \
    --openai-key bench-key >"$T/llm.out" 2>&1 &
pids="$pids $!"
for _ in $(seq 1 50); do grep -q READY "$T/llm.out" && break; sleep 0.1; done
LLM="http://127.0.0.1:$(sed -n 's/^READY \([0-9]*\).*/\1/p' "$T/llm.out")"

HTTP_PORT=$(free_port)
export HTTP_PORT ENVIRONMENT=test BCRYPT_COST=4
export JWT_SECRET=bench-secret-0123456789abcdef0123456789
export RATE_LIMIT_PER_MINUTE=1000000 AUTH_RATE_LIMIT_PER_MINUTE=1000000
export OPENAI_BASE_URL="$LLM/v1" OPENAI_API_KEY=bench-key AI_PROVIDER=openai
export OPENAI_MODEL=gpt-bench AI_TIMEOUT_S=60
setsid "$ROOT/scripts/serve.sh" "$T/kore" >"$T/kore.log" 2>&1 &
pids="$pids $!"
B="http://127.0.0.1:$HTTP_PORT"
wait_http "$B/live" 30 || { echo "server did not start"; tail -n 20 "$T/kore.log"; exit 1; }
tok=$(curl -s -X POST "$B/api/v1/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"Str0ng-Passw0rd!","full_name":"Bench User"}' |
    jq -r .data.access_token)

cfg=$T/curl.cfg
i=1
while [ "$i" -le "$N" ]; do
	[ "$i" -gt 1 ] && echo next
	printf 'url = "%s/api/v1/chat/chat"\nheader = "authorization: Bearer %s"\n' "$B" "$tok"
	printf 'header = "content-type: application/json"\n'
	printf 'data = "{\\"content\\":\\"bench %d [[delay:%d]]\\"}"\n' "$i" "$DELAY"
	printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%{time_total}\\n"\n'
	i=$((i + 1))
done > "$cfg"

run() {	# label
	( n=0; while [ $n -lt $(( (DELAY / 250) + 8 )) ]; do sleep 0.25
	    curl -s -o /dev/null -w '%{time_total}\n' "$B/health"; n=$((n + 1)); done ) \
	    > "$T/health.out" &
	hp=$!
	s=$(date +%s.%N)
	curl -s --parallel --parallel-max "$N" --parallel-immediate -K "$cfg" \
	    > "$T/r.out" 2>/dev/null
	e=$(date +%s.%N)
	wait $hp
	ok=$(grep -c '^200 ' "$T/r.out")
	printf '%s: %d x %d ms: wall %.2f s, %d ok; ' "$1" "$N" "$DELAY" \
	    "$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')" "$ok"
	awk '{print $2}' "$T/r.out" | sort -n | awk '{a[NR]=$1} END {
	    printf "answer s: min %.2f p50 %.2f p90 %.2f max %.2f; ", a[1],
	    a[int(NR/2)], a[int(NR*0.9)], a[NR]}'
	sort -n "$T/health.out" | awk '{a[NR]=$1} END {
	    printf "/health ms: p50 %.1f max %.1f (%d samples)\n",
	    a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'
}
run cold
run warm

#!/bin/sh
# Smoke test against the REAL providers (not part of `make test`): one
# plain and one streamed chat answer through a local Elenchus instance
# for each provider whose key is in the environment.
#   GEMINI_API_KEY=... OPENAI_API_KEY=... tests/smoke/llm_smoke.sh
# Optional: OPENAI_BASE_URL, OPENAI_MODEL, GEMINI_BASE_URL, GEMINI_MODEL.
# A provider without a key is SKIPPED, and says so.  Needs the build
# (make build) and the local PostgreSQL (scripts/pg.sh).
set -u
. "$(dirname "$0")/../../scripts/env.sh"

if [ -z "${GEMINI_API_KEY:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
	echo "llm_smoke: SKIPPED: neither GEMINI_API_KEY nor OPENAI_API_KEY is set"
	exit 0
fi

T=$(mktemp -d /tmp/elenchus-smoke.XXXXXX)
kpid=""
cleanup() {
	[ -n "$kpid" ] && kill -- "-$kpid" 2>/dev/null
	psql -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
	    -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

"$ROOT/scripts/pg.sh" start || exit 1
db=elenchus_smoke_$$
"$ROOT/scripts/pg.sh" createdb "$db" fresh || exit 1
DATABASE_URL=$(local_db_url "$db")
export DATABASE_URL
BCRYPT_COST=4 "$ROOT/scripts/migrate.sh" "$DATABASE_URL" >/dev/null || exit 1

HTTP_PORT=$(free_port)
export HTTP_PORT ENVIRONMENT=development BCRYPT_COST=4
export JWT_SECRET=smoke-secret-0123456789abcdef0123456789
[ -n "${OPENAI_API_KEY:-}" ] && export AI_PROVIDER=openai
[ -z "${OPENAI_API_KEY:-}" ] && export AI_PROVIDER=gemini
setsid "$ROOT/scripts/serve.sh" "$T/kore" >"$T/kore.log" 2>&1 &
kpid=$!
B="http://127.0.0.1:$HTTP_PORT"
wait_http "$B/live" 30 || { echo "server did not start"; tail "$T/kore.log"; exit 1; }

tok=$(curl -s -X POST "$B/api/v1/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"smoke$$@example.com\",\"password\":\"Str0ng-Passw0rd!\",\"full_name\":\"Smoke Test\"}" |
    jq -r .data.access_token)
[ -n "$tok" ] && [ "$tok" != null ] || { echo "cannot register"; exit 1; }

fail=0
check() {	# provider
	p=$1
	out=$(curl -s -m 120 -X POST "$B/api/v1/chat/chat" -H "authorization: Bearer $tok" \
	    -H 'content-type: application/json' \
	    -d "{\"provider\":\"$p\",\"content\":\"In one sentence: what is consideration in contract law?\"}")
	if [ "$(echo "$out" | jq -r .success)" = true ]; then
		echo "$p plain:  ok, $(echo "$out" | jq -c .data.usage) model $(echo "$out" | jq -r .data.message.model_used)"
		echo "   $(echo "$out" | jq -r .data.message.content | head -c 200)"
	else
		echo "$p plain:  FAILED: $(echo "$out" | head -c 400)"; fail=1
	fi
	out=$(curl -s -N -m 120 -X POST "$B/api/v1/chat/chat" -H "authorization: Bearer $tok" \
	    -H 'content-type: application/json' \
	    -d "{\"provider\":\"$p\",\"stream\":true,\"content\":\"Name three remedies for breach of contract.\"}")
	nd=$(echo "$out" | grep -c '^event: delta')
	if echo "$out" | grep -q '^event: done'; then
		echo "$p stream: ok, $nd delta events, $(echo "$out" | sed -n '/^event: done/{n;s/^data: //p}' | jq -c .usage)"
	else
		echo "$p stream: FAILED: $(echo "$out" | tail -n 3 | head -c 400)"; fail=1
	fi
}
if [ -n "${OPENAI_API_KEY:-}" ]; then check openai; else echo "openai: SKIPPED (no OPENAI_API_KEY)"; fi
if [ -n "${GEMINI_API_KEY:-}" ]; then check gemini; else echo "gemini: SKIPPED (no GEMINI_API_KEY)"; fi
grep -E "seccomp|sandbox violation" "$T/kore.log" && fail=1
exit $fail

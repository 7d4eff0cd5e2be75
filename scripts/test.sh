#!/bin/sh
# make test: a fresh test database on the local cluster, the stand-in
# providers, one Kore instance with nginx in front, then every Criterion
# suite: unit first, a short smoke of every fuzz target, then end-to-end
# (one suite at a time, in any order: a suite that stops PostgreSQL or
# Kore does so to a cluster or an instance of its own).  Prints one
# summary line.
#   test.sh [all|unit|fuzz|e2e] ["suite-name-filter ..."]
# E2E_SHUFFLE=1 runs the e2e suites in a random order (printed with its
# seed); E2E_SHUFFLE=<seed> repeats one.
# ELENCHUS_SAN=1 serves build/san/elenchus.so (make build SAN=1) with the
# ASan runtime preloaded; any ASan or UBSan report fails the run.
set -u
. "$(dirname "$0")/env.sh"

what=${1:-all}
filter=${2:-}
B=$ROOT/build
T=$(mktemp -d /tmp/elenchus-test.XXXXXX)
chmod 755 "$T"	# the postgres user walks into it (clusters of suites)
export E2E_TMP=$T
pids=""
passed=0
failed=0
failures=""

dropdb_at_exit=""
pg_stop_at_exit=""
cleanup() {
	sweep "an interrupted run"
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do
		kill -TERM "-$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "$dropdb_at_exit" ]; then
		PGOPTIONS="-c client_min_messages=warning" psql -X -q \
		    -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
		    -c "DROP DATABASE IF EXISTS \"$dropdb_at_exit\" WITH (FORCE)" \
		    >/dev/null 2>&1
	fi
	[ -n "$pg_stop_at_exit" ] && "$ROOT/scripts/pg.sh" stop
	[ -n "${KEEP_TEST_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# What a suite's test process left running when it died before its stop
# (a timeout, a crash): the fixture records every process group and
# cluster it starts under $T/live (tests/e2e/fixture.c) until stopped.
sweep() {
	for f in "$T"/live/*; do
		[ -f "$f" ] || continue
		read -r kind a b <"$f"
		case $kind in
		pid)
			kill -TERM "-$a" 2>/dev/null
			sleep 1
			kill -KILL "-$a" 2>/dev/null
			;;
		pg)
			PG_DIR=$a PG_PORT=$b "$ROOT/scripts/pg.sh" stop \
			    >/dev/null 2>&1
			;;
		esac
		echo "    left running by $1, now stopped: $kind $a"
		rm -f "$f"
	done
}

# The e2e suites, in name order or shuffled (E2E_SHUFFLE).
e2e_order() {
	ls "$B"/tests/e2e/test_* 2>/dev/null | if [ -n "${E2E_SHUFFLE:-}" ]; then
		awk -v seed="$1" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' |
		    sort -n | cut -f 2
	else
		cat
	fi
}

# Run one Criterion binary; add its synthesis to the totals.
suite() {
	name=$(basename "$1")
	match=""
	for f in $filter; do
		case "$name" in *"$f"*) match=1 ;; esac
	done
	[ -n "$filter" ] && [ -z "$match" ] && return
	out=$T/$name.out
	"$1" --jobs="${CRITERION_JOBS:-2}" --timeout=120 >"$out" 2>&1
	rc=$?
	syn=$(grep "Synthesis:" "$out" | tail -n 1)
	p=$(echo "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$syn" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(echo "$syn" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	p=${p:-0}; f=${f:-0}; c=${c:-0}
	if [ -z "$syn" ] || [ "$rc" != 0 ] && [ "$f" = 0 ] && [ "$c" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f + c))
	if [ "$f" != 0 ] || [ "$c" != 0 ]; then
		failures="$failures $name"
		grep -v "^\[----\].*Running" "$out" | grep -E "\[FAIL\]|\[----\]|Assertion|CRASH|Timeout|Error|error" | head -n 60
	fi
	printf '%-28s %s\n' "$name" "${syn:-no synthesis (exit $rc)}"
	sweep "$name"
	# What a suite measured ("e2e-report: ..." lines).
	grep -h "^e2e-report:" "$out" | sed 's/^e2e-report: /    /'
}

# A check by script: one test, passed when the script exits 0.
check() {
	name=$1
	shift
	case "$name" in *"$filter"*) ;; *) return ;; esac
	if "$@" >"$T/$name.out" 2>&1; then
		passed=$((passed + 1))
		printf '%-28s %s\n' "$name" "passed"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		cat "$T/$name.out"
		printf '%-28s %s\n' "$name" "FAILED"
	fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	echo "== build checks"
	check make_parse "$ROOT/scripts/check_make.sh"
	check api_doc "$ROOT/scripts/check_api_doc.sh"
	check layers "$ROOT/scripts/check_deps.sh"
	check routes python3 "$ROOT/scripts/check_routes.py" "$B/openapi.json"
	check json_pack_types python3 "$ROOT/scripts/check_pack.py" \
	    "$ROOT"/src/*.c "$ROOT"/src/lib/*.c "$ROOT"/cmd/*/*.c
	echo "== unit suites"
	for t in "$B"/tests/unit/test_*; do
		[ -x "$t" ] && suite "$t"
	done
fi

if [ "$what" = all ] || [ "$what" = fuzz ]; then
	echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS:-5}s per target)"
	if ! FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-5} "$ROOT/scripts/fuzz.sh" \
	    "$filter"; then
		failed=$((failed + 1))
		failures="$failures fuzz"
	fi
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
	echo "== end-to-end: PostgreSQL, stand-ins, Kore, nginx"
	# A cluster this run starts, it stops (make run's stays up).
	"$ROOT/scripts/pg.sh" status || pg_stop_at_exit=1
	"$ROOT/scripts/pg.sh" start || exit 1
	pg_port_refresh
	# A database of its own per run: runs may overlap on one cluster.
	db=elenchus_test_$$
	"$ROOT/scripts/pg.sh" createdb "$db" fresh || exit 1
	dropdb_at_exit=$db
	DATABASE_URL=$(local_db_url "$db")
	export DATABASE_URL PG_DIR PG_PORT
	ADMIN_EMAIL=admin@elenchus.test ADMIN_PASSWORD='Adm1n-Passw0rd!' \
	    BCRYPT_COST=4 "$ROOT/scripts/migrate.sh" "$DATABASE_URL" \
	    >/dev/null || exit 1

	# Stand-ins for the external providers, when present.
	if [ -f "$ROOT/tests/standins/llm_standin.py" ]; then
		python3 -u "$ROOT/tests/standins/llm_standin.py" --port 0 \
		    --openai-key test-openai-key --gemini-key test-gemini-key \
		    >"$T/llm.out" 2>"$T/llm.err" &
		pids="$pids $!"
		for _ in $(seq 1 50); do
			grep -q READY "$T/llm.out" 2>/dev/null && break
			sleep 0.1
		done
		LLM_PORT=$(sed -n 's/^READY \([0-9]*\).*/\1/p' "$T/llm.out")
		export E2E_LLM="http://127.0.0.1:$LLM_PORT"
		export OPENAI_BASE_URL="$E2E_LLM/v1" OPENAI_API_KEY=test-openai-key
		export GEMINI_BASE_URL="$E2E_LLM" GEMINI_API_KEY=test-gemini-key
		export AI_PROVIDER=openai OPENAI_MODEL=gpt-test GEMINI_MODEL=gemini-test
		export AI_PRICE_TABLE="gpt-test=1.5:2.25,gemini-test=0.1:0.4"
	fi
	if [ -f "$ROOT/tests/standins/sms_standin.py" ]; then
		python3 -u "$ROOT/tests/standins/sms_standin.py" --port 0 \
		    >"$T/sms.out" 2>"$T/sms.err" &
		pids="$pids $!"
		for _ in $(seq 1 50); do
			grep -q READY "$T/sms.out" 2>/dev/null && break
			sleep 0.1
		done
		SMS_PORT=$(sed -n 's/^READY \([0-9]*\).*/\1/p' "$T/sms.out")
		export E2E_SMS="http://127.0.0.1:$SMS_PORT"
	fi
	if [ -f "$ROOT/tests/standins/smtp_standin.py" ]; then
		python3 -u "$ROOT/tests/standins/smtp_standin.py" --port 0 \
		    --user e2e-mailer --password e2e-mail-pass \
		    >"$T/smtp.out" 2>"$T/smtp.err" &
		pids="$pids $!"
		for _ in $(seq 1 50); do
			grep -q READY "$T/smtp.out" 2>/dev/null && break
			sleep 0.1
		done
		SMTP_PORT=$(sed -n 's/^READY \([0-9]*\) .*/\1/p' "$T/smtp.out")
		SMTP_HTTP=$(sed -n 's/^READY [0-9]* \([0-9]*\).*/\1/p' \
		    "$T/smtp.out")
		export E2E_SMTP="smtp://127.0.0.1:$SMTP_PORT"
		export E2E_SMTP_ADMIN="http://127.0.0.1:$SMTP_HTTP"
	fi

	# The main instance: generous limits (suites that test limits
	# start their own), cheap bcrypt, nginx as the only trusted proxy.
	HTTP_PORT=$(free_port)
	TLS_PORT=$(free_port)
	export HTTP_PORT TLS_PORT
	export ENVIRONMENT=test JWT_SECRET=e2e-secret-0123456789abcdef0123456789
	export BCRYPT_COST=4 AUTH_RATE_LIMIT_PER_MINUTE=1000000
	export RATE_LIMIT_PER_MINUTE=1000000 TRUSTED_PROXIES=127.0.0.2
	export ALLOWED_ORIGINS="https://app.elenchus.test"
	export ADMIN_EMAIL=admin@elenchus.test ADMIN_PASSWORD='Adm1n-Passw0rd!'
	export NGINX_PROXY_BIND=127.0.0.2
	# Under SAN every instance (the suites' own ones too) reports here.
	export ELENCHUS_SAN=${ELENCHUS_SAN:-0} SAN_LOG_DIR=$T/san
	[ "$ELENCHUS_SAN" = 1 ] && echo "   (module under ASan+UBSan)"
	"$ROOT/scripts/serve.sh" "$T/kore" >"$T/kore.log" 2>&1 &
	pids="$pids $!"
	"$ROOT/scripts/nginx.sh" "$T/nginx" "$TLS_PORT" \
	    "127.0.0.1:$HTTP_PORT" >"$T/nginx.out" 2>&1 &
	pids="$pids $!"
	export E2E_BASE="http://127.0.0.1:$HTTP_PORT"
	export E2E_TLS="https://127.0.0.1:$TLS_PORT"
	export E2E_SERVER_LOG="$T/kore.log"
	if ! wait_http "$E2E_BASE/live" 30 || ! wait_http "$E2E_TLS/live" 30; then
		echo "server did not start:"; tail -n 30 "$T/kore.log"
		tail -n 5 "$T/nginx.out" "$T/nginx/logs/error.log" 2>/dev/null
		exit 1
	fi
	# Suites that start their own instances run beside it, from here.
	unset HTTP_PORT
	cd "$ROOT" || exit 1

	# The kodev build of the same sources is ready against this database.
	check kodev_ready "$ROOT/scripts/kodev_check.sh" "$T/kodev"

	seed=""
	if [ -n "${E2E_SHUFFLE:-}" ]; then
		seed=$E2E_SHUFFLE
		[ "$seed" = 1 ] && seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		echo "   (suites shuffled: E2E_SHUFFLE=$seed repeats this order)"
	fi
	for t in $(e2e_order "$seed"); do
		[ -x "$t" ] && suite "$t"
	done

	# A worker killed by the sandbox or a crash fails the run.
	if grep -E "sandbox violation|seccomp violation|\) gone|hdlr .* has caused" \
	    "$T/kore.log" >/dev/null; then
		echo "server log shows a dead worker:"
		grep -E "sandbox violation|seccomp violation|\) gone|has caused" \
		    "$T/kore.log" | head
		failed=$((failed + 1))
		failures="$failures worker-deaths"
	fi

	# Any sanitizer report fails the run.
	if [ "$ELENCHUS_SAN" = 1 ] && { ls "$T/san"/* >/dev/null 2>&1 ||
	    grep -rlE "ERROR: AddressSanitizer|runtime error:" "$T" \
	    --include='*.log' >/dev/null 2>&1; }; then
		echo "sanitizer reports:"
		for f in "$T/san"/*; do
			[ -f "$f" ] && { echo "-- $f"; head -n 40 "$f"; }
		done
		grep -rhE -A5 "ERROR: AddressSanitizer|runtime error:" "$T" \
		    --include='*.log' 2>/dev/null | head -n 40
		failed=$((failed + 1))
		failures="$failures sanitizer-reports"
	elif [ "$ELENCHUS_SAN" = 1 ]; then
		echo "sanitizers: 0 reports"
	fi
fi

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

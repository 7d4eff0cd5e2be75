#!/bin/sh
# Apply the migrations in sql/ in order, each once, recorded in
# schema_migrations; then the idempotent seeds in sql/seed/ (the first
# admin from ADMIN_EMAIL / ADMIN_PASSWORD).  One psql session holding an
# advisory lock, so instances started together don't race.
set -eu
. "$(dirname "$0")/env.sh"

url=${1:-${DATABASE_URL:?DATABASE_URL}}
script=$(mktemp)
trap 'rm -f "$script"' EXIT

p() { printf '%s\n' "$*"; }

{
	p "\\set ON_ERROR_STOP 1"
	p "SET client_min_messages = warning;"
	p "SELECT pg_advisory_lock(727274) \\gset"
	p "CREATE TABLE IF NOT EXISTS schema_migrations ("
	p "    version text PRIMARY KEY, name text NOT NULL,"
	p "    applied_at timestamptz NOT NULL DEFAULT now());"
	for f in $(ls "$ROOT"/sql/*.sql | sort); do
		name=$(basename "$f" .sql)
		version=${name%%_*}
		p "SELECT NOT EXISTS (SELECT 1 FROM schema_migrations"
		p "    WHERE version = '$version') AS todo \\gset"
		p "\\if :todo"
		p "\\echo applying $name"
		p "BEGIN;"
		p "\\i $f"
		p "INSERT INTO schema_migrations (version, name)"
		p "    VALUES ('$version', '$name');"
		p "COMMIT;"
		p "\\endif"
	done
	if [ -d "$ROOT/sql/seed" ]; then
		for f in $(ls "$ROOT"/sql/seed/*.sql 2>/dev/null | sort); do
			p "\\i $f"
		done
	fi
	p "SELECT pg_advisory_unlock(727274) \\gset"
} > "$script"

psql "$url" -X -q -v ON_ERROR_STOP=1 \
    -v admin_email="${ADMIN_EMAIL:-}" \
    -v admin_password="${ADMIN_PASSWORD:-}" \
    -v bcrypt_cost="${BCRYPT_COST:-12}" \
    -f "$script"

#!/bin/sh
# Install the Debian packages the build, the server and the tests need.
# As root, installs what is missing; otherwise names it and stops.
set -eu

PKGS="kore libpq-dev libssl-dev libcurl4-openssl-dev libcriterion-dev
libjansson-dev libcrypt-dev postgresql postgresql-contrib nginx-light
libpoppler-glib-dev libzip-dev libxml2-dev pkg-config nodejs npm wrk
postgresql-client python3 curl jq openssl procps cppcheck clang-tidy strace
clang-14 libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		# nginx-light is one of several nginx flavours; any will do.
		if [ "$p" = nginx-light ] && command -v nginx >/dev/null; then
			continue
		fi
		if [ "$p" = nodejs ] && command -v node >/dev/null; then
			continue
		fi
		if [ "$p" = npm ] && command -v npm >/dev/null; then
			continue
		fi
		if [ "$p" = python3 ] && command -v python3 >/dev/null; then
			continue
		fi
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "elenchus: missing Debian packages:$missing" >&2
	echo "elenchus: run 'make run' as root once, or: apt-get install$missing" >&2
	exit 1
fi

echo "elenchus: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
# Debian starts nginx and a default PostgreSQL cluster on install; we run
# our own instances on our own ports, so theirs may stay or go.
exit 0

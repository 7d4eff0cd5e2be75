#!/bin/sh
# The Makefile must not read what packages install while make parses it:
# `make run` and `make test` parse it before scripts/deps.sh has installed
# anything, so such a value is empty on a fresh machine and the module is
# built without Kore's feature flags.  Two checks:
#  1. no line that make expands while parsing (outside a recipe, and not
#     a recursive `NAME = ...` definition) runs $(shell ...), $(wildcard
#     ...) or $(file ...) on /usr, /etc, pkg-config, pg_config, kore or dpkg;
#  2. make parsing the Makefile, traced (strace), executes none of those
#     programs and opens nothing under /usr/share/kore, /usr/include or a
#     pkgconfig directory.
#   check_make.sh [MAKEFILE]
set -u
mk=${1:-$(dirname "$0")/../Makefile}
dir=$(cd "$(dirname "$mk")" && pwd)
bad=0

# 1. Static: recipe lines start with a tab; everything else is parsed.
grep -nvE '^	|^[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\??=' "$mk" | grep -E '\$\((shell|wildcard|file)[[:space:]]' |
    grep -E '/usr/|/etc/|pkg-config|pg_config|kore|dpkg' >"${TMPDIR:-/tmp}/check_make.$$"
if [ -s "${TMPDIR:-/tmp}/check_make.$$" ]; then
	echo "check_make: the Makefile reads installed files at parse time:"
	sed 's/^/    /' "${TMPDIR:-/tmp}/check_make.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/check_make.$$"

# 2. Dynamic: trace make while it only parses (-p prints the database
# without expanding recipes or recursive variables; -q runs nothing).
if ! command -v strace >/dev/null; then
	echo "check_make: strace is missing (scripts/deps.sh installs it)"
	exit 1
fi
log=$(mktemp)
(cd "$dir" && strace -f -qq -o "$log" -e trace=execve,%file \
    make -s -p -q -f "$mk" /dev/null >/dev/null 2>&1)
hits=$(grep -E 'execve\("[^"]*/(pkg-config|pg_config|kore|kodev|dpkg[^"]*)"|"/usr/share/kore|"/usr/include/|/pkgconfig/' "$log" |
    head -n 5)
# A trace with no execve at all means strace saw nothing: not a pass.
if ! grep -q 'execve(' "$log"; then
	echo "check_make: strace recorded nothing"
	bad=1
elif [ -n "$hits" ]; then
	echo "check_make: parsing the Makefile touched installed files:"
	echo "$hits" | sed 's/^/    /'
	bad=1
fi
rm -f "$log"
[ "$bad" = 0 ] && echo "check_make: the Makefile reads nothing installed while parsed"
exit "$bad"

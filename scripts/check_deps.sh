#!/bin/sh
# The include graph of src/ goes one way.  Each file of src/ belongs to a
# layer (below, lowest first; src/lib/ is under all of them, and a file not
# named is a handler, the top layer).  A file may include headers of its
# own layer or of lower ones, never of a higher one; src/lib/ and cmd/
# include no glue header at all; and no two .c files share a base name
# (kodev names objects by it).  docs/DEVELOPING.md, "Layers", says why.
set -u
cd "$(dirname "$0")/.."

LAYERS='
cfg		cfg
db		db db_pipe dbcb metrics
clients		curltask circuit mail sms llm_client pwjob
sidedb		sidedb
revoke		revoke ratelimit
rq_ctx		rq_ctx rq_answer rq_input tracing
auth_mw		auth_mw
rq		rq rq_log
'

# "file included-header" for every quoted include.
includes() {
	for f in "$@"; do
		sed -n 's/^#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f" |
		    while read -r h; do echo "$f $h"; done
	done
}

fail=0
out=$(includes src/*.c src/*.h | awk -v layers="$LAYERS" '
function base(p) { sub(/.*\//, "", p); sub(/\.[ch]$/, "", p); return p }
function layer(p,   b) {
	if (p ~ /^(src\/)?lib\//) return 0
	b = base(p)
	return (b in L) ? L[b] : top
}
BEGIN {
	n = split(layers, line, "\n"); k = 0
	for (i = 1; i <= n; i++) {
		if (split(line[i], w, /[ \t]+/) < 2) continue
		k++; name[k] = w[1]
		for (j = 2; j in w; j++) L[w[j]] = k
	}
	top = k + 1; name[top] = "handlers"; name[0] = "lib"
}
{
	if (layer($2) > layer($1))
		printf "%s (%s) includes %s (%s)\n", $1, name[layer($1)],
		    $2, name[layer($2)]
}')
if [ -n "$out" ]; then
	echo "$out"
	fail=1
fi

# src/lib and cmd: pure code and programs, no glue header.
out=$(includes src/lib/*.c src/lib/*.h cmd/*/*.c cmd/*/*.h |
    while read -r f h; do
	[ -f "$(dirname "$f")/$h" ] || [ -f "src/lib/${h#lib/}" ] ||
	    echo "$f includes $h, which is not in src/lib"
done)
if [ -n "$out" ]; then
	echo "$out"
	fail=1
fi

dups=$(ls src/*.c src/lib/*.c | xargs -n 1 basename | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "source files sharing a base name (kodev): $dups"
	fail=1
fi

[ $fail -eq 0 ] || { echo "check_deps: the layering is broken"; exit 1; }
